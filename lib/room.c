/*
 * room: the sandbox made ahead of its job, and the stub that runs in it
 * (see room.h).  The stub reads its job from a pipe that wf-dispatch
 * writes once and closes: nothing of the spool is ever in the room, only
 * the argv and environment the job would have been started with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "room.h"

#define ROOM_WORDS_MAX 8192 /* argv or envp entries, each */

char *
wf_room_key(const char *const *sbargv, const char *cwd, size_t *len)
{
	size_t n = 0, end = 0, off = 0;
	char *key;

	if (cwd == NULL)
		cwd = "";
	n = strlen(cwd) + 1;
	/* bwrap's option values are fixed words, fds and absolute paths:
	 * the first bare "--" is its end of options. */
	for (size_t i = 0; sbargv[i] != NULL; i++) {
		n += strlen(sbargv[i]) + 1;
		if (i > 0 && strcmp(sbargv[i], "--") == 0) {
			end = i;
			break;
		}
	}
	if (end == 0 || (key = malloc(n)) == NULL)
		return NULL;
	memcpy(key, cwd, strlen(cwd) + 1);
	off = strlen(cwd) + 1;
	for (size_t i = 0; i <= end; i++) {
		size_t l = strlen(sbargv[i]) + 1;

		memcpy(key + off, sbargv[i], l);
		off += l;
	}
	*len = off;
	return key;
}

const char *
wf_room_key_cwd(const char *key)
{
	return key;
}

char **
wf_room_argv(const char *key, size_t keylen, const char *const *stub)
{
	size_t nw = 0, ns = 0, k = 0;
	const char *p, *end = key + keylen;
	char **v;

	for (p = key + strlen(key) + 1; p < end; p += strlen(p) + 1)
		nw++;
	while (stub[ns] != NULL)
		ns++;
	if ((v = calloc(nw + ns + 1, sizeof(*v))) == NULL)
		return NULL;
	for (p = key + strlen(key) + 1; p < end; p += strlen(p) + 1)
		v[k++] = (char *)p;
	for (size_t i = 0; i < ns; i++)
		v[k++] = (char *)stub[i];
	v[k] = NULL;
	return v;
}

/* Append a word and its NUL; -1 past the bound. */
static int
put(char *buf, size_t *off, const char *s)
{
	size_t l = strlen(s) + 1;

	if (l > WF_ROOM_PACK_MAX - *off)
		return -1;
	memcpy(buf + *off, s, l);
	*off += l;
	return 0;
}

static int
put_words(char *buf, size_t *off, const char *const *w)
{
	char count[24];
	size_t n = 0;

	while (w[n] != NULL)
		n++;
	if (n > ROOM_WORDS_MAX)
		return -1;
	snprintf(count, sizeof(count), "%zu", n);
	if (put(buf, off, count) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (put(buf, off, w[i]) == -1)
			return -1;
	return 0;
}

char *
wf_room_pack(const char *const *argv, const char *const *envp, size_t *len)
{
	char *buf;
	size_t off = 0;

	if ((buf = malloc(WF_ROOM_PACK_MAX)) == NULL)
		return NULL;
	if (put_words(buf, &off, argv) == -1 ||
	    put_words(buf, &off, envp) == -1) {
		free(buf);
		errno = E2BIG;
		return NULL;
	}
	*len = off;
	return buf;
}

/* The next NUL-ended word at *off, or NULL when the buffer ends first. */
static const char *
word(const char *buf, size_t len, size_t *off)
{
	const char *w = buf + *off, *nul;

	if (*off >= len || (nul = memchr(w, '\0', len - *off)) == NULL)
		return NULL;
	*off += (size_t)(nul - w) + 1;
	return w;
}

static int
get_words(const char *buf, size_t len, size_t *off, char ***out,
    const char *what, char *err, size_t errlen)
{
	const char *c, *w;
	char *end;
	unsigned long n;
	char **v;

	if ((c = word(buf, len, off)) == NULL) {
		snprintf(err, errlen, "room: the job ends before its %s", what);
		return -1;
	}
	errno = 0;
	n = strtoul(c, &end, 10);
	if (c[0] < '0' || c[0] > '9' || *end != '\0' || errno != 0 ||
	    n > ROOM_WORDS_MAX) {
		snprintf(err, errlen, "room: bad %s count '%.20s'", what, c);
		return -1;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "room: out of memory");
		return -1;
	}
	for (unsigned long i = 0; i < n; i++) {
		if ((w = word(buf, len, off)) == NULL) {
			snprintf(err, errlen, "room: the job's %s is cut short",
			    what);
			free(v);
			return -1;
		}
		v[i] = (char *)w;
	}
	*out = v;
	return 0;
}

int
wf_room_unpack(const char *buf, size_t len, char ***argv, char ***envp,
    char *err, size_t errlen)
{
	size_t off = 0;

	*argv = *envp = NULL;
	if (get_words(buf, len, &off, argv, "argv", err, errlen) == -1)
		return -1;
	if ((*argv)[0] == NULL || (*argv)[0][0] == '\0') {
		snprintf(err, errlen, "room: the job has no program");
		goto fail;
	}
	if (get_words(buf, len, &off, envp, "environment", err, errlen) == -1)
		goto fail;
	if (off != len) {
		snprintf(err, errlen, "room: %zu bytes after the job",
		    len - off);
		goto fail;
	}
	return 0;
fail:
	free(*argv);
	free(*envp);
	*argv = *envp = NULL;
	return -1;
}

int
wf_room_exec(int fd, char *err, size_t errlen)
{
	char *buf, **argv = NULL, **envp = NULL;
	size_t len = 0;
	ssize_t n;
	int nul, rc = 127;

	if ((buf = malloc(WF_ROOM_PACK_MAX + 1)) == NULL) {
		snprintf(err, errlen, "room: out of memory");
		return 127;
	}
	while (len <= WF_ROOM_PACK_MAX) {
		n = read(fd, buf + len, WF_ROOM_PACK_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "room: read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == 0) {
		rc = 0;
		goto out;
	}
	if (len > WF_ROOM_PACK_MAX) {
		snprintf(err, errlen, "room: the job is over %d bytes",
		    WF_ROOM_PACK_MAX);
		goto out;
	}
	if (wf_room_unpack(buf, len, &argv, &envp, err, errlen) == -1)
		goto out;
	if ((nul = open("/dev/null", O_RDONLY)) == -1 || dup2(nul, 0) == -1) {
		snprintf(err, errlen, "room: /dev/null: %s", strerror(errno));
		goto out;
	}
	if (nul != 0)
		close(nul);
	if (fd != 0)
		close(fd);
	wf_exec_path(argv[0], argv, envp);
	snprintf(err, errlen, "cannot run '%.200s': %s", argv[0],
	    strerror(errno));
out:
	free(argv);
	free(envp);
	free(buf);
	return rc;
}
