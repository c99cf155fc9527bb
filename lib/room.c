/*
 * room: the sandbox made ahead of its job, and the stub that runs in it
 * (see room.h).  The stub reads its job from a pipe that wf-dispatch
 * writes once and closes: nothing of the spool is ever in the room, only
 * the argv and environment the job would have been started with.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "exec.h"
#include "room.h"

#define ROOM_MAX_AGE_MS 60000 /* older, a room is made anew */
#define ROOM_HOLD_MS 5000     /* after one that could not be made */

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

/* The directory a room works in (bwrap's --chdir), or NULL. */
static const char *
room_dir(const char *key, size_t keylen)
{
	const char *p, *end = key + keylen;

	for (p = key + strlen(key) + 1; p < end; p += strlen(p) + 1)
		if (strcmp(p, "--chdir") == 0 && p + strlen(p) + 1 < end)
			return p + strlen(p) + 1;
	return NULL;
}

void
wf_room_slot_init(struct wf_room_slot *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->infd = rs->outfd = rs->errfd = -1;
}

static void
slot_close(struct wf_room_slot *rs)
{
	if (rs->infd != -1)
		close(rs->infd);
	if (rs->outfd != -1)
		close(rs->outfd);
	if (rs->errfd != -1)
		close(rs->errfd);
	free(rs->key);
	rs->key = NULL;
	rs->pid = 0;
	rs->infd = rs->outfd = rs->errfd = -1;
	rs->retiring = 0;
}

void
wf_room_slot_retire(struct wf_room_slot *rs)
{
	if (rs->pid > 0 && rs->infd != -1) {
		close(rs->infd);
		rs->infd = -1;
		rs->retiring = 1;
	}
}

void
wf_room_slot_want(struct wf_room_slot *rs, char *key, size_t keylen)
{
	free(rs->want);
	rs->want = key;
	rs->wantlen = keylen;
}

int
wf_room_slot_fill(struct wf_room_slot *rs, const char *agent)
{
	int64_t now = wf_clock_mono_ms();
	struct wf_exec_spec spec;
	const char *stub[3], *cwd, *dir;
	char **argv, **envp;
	struct stat st;

	if (rs->pid > 0 || rs->want == NULL || now < rs->hold_until)
		return 0;
	stub[0] = agent;
	stub[1] = "--room";
	stub[2] = NULL;
	argv = wf_room_argv(rs->want, rs->wantlen, stub);
	envp = wf_exec_env(NULL, NULL);
	if (argv == NULL || envp == NULL) {
		free(argv);
		wf_exec_env_free(envp);
		return 0;
	}
	cwd = wf_room_key_cwd(rs->want);
	memset(&spec, 0, sizeof(spec));
	spec.argv = (const char *const *)argv;
	spec.envp = (const char *const *)envp;
	spec.cwd = cwd[0] != '\0' ? cwd : NULL;
	spec.infd = &rs->infd;
	rs->pid = wf_exec_start(&spec, &rs->outfd, &rs->errfd);
	free(argv);
	wf_exec_env_free(envp);
	if (rs->pid == -1) {
		rs->pid = 0;
		rs->hold_until = now + ROOM_HOLD_MS;
		return -1;
	}
	rs->key = rs->want;
	rs->keylen = rs->wantlen;
	rs->want = NULL;
	rs->started = now;
	rs->dev = 0;
	rs->ino = 0;
	if ((dir = room_dir(rs->key, rs->keylen)) != NULL &&
	    stat(dir, &st) == 0) {
		rs->dev = st.st_dev;
		rs->ino = st.st_ino;
	}
	return 1;
}

int
wf_room_slot_take(struct wf_room_slot *rs, const char *key, size_t keylen,
    const char *const *argv, const char *const *envp, pid_t *pid,
    int *outfd, int *errfd)
{
	const char *dir;
	struct stat st;
	char *pack;
	size_t len;
	ssize_t n;

	if (rs->pid <= 0 || rs->infd == -1)
		return 0;
	if (rs->keylen != keylen || memcmp(rs->key, key, keylen) != 0 ||
	    wf_clock_mono_ms() - rs->started > ROOM_MAX_AGE_MS ||
	    ((dir = room_dir(key, keylen)) != NULL &&
	    (stat(dir, &st) == -1 || st.st_dev != rs->dev ||
	    st.st_ino != rs->ino))) {
		wf_room_slot_retire(rs);
		return 0;
	}
	if ((pack = wf_room_pack(argv, envp, &len)) == NULL)
		return 0;
	/* One write into an empty pipe of at least WF_ROOM_PACK_MAX: it is
	 * whole at once, or the room is gone. */
	n = write(rs->infd, pack, len);
	free(pack);
	if (n != (ssize_t)len) {
		wf_exec_kill(rs->pid, SIGKILL);
		wf_room_slot_retire(rs);
		return 0;
	}
	*pid = rs->pid;
	*outfd = rs->outfd;
	*errfd = rs->errfd;
	close(rs->infd);
	free(rs->key);
	rs->key = NULL;
	rs->pid = 0;
	rs->infd = rs->outfd = rs->errfd = -1;
	rs->failing = 0;
	return 1;
}

int
wf_room_slot_reaped(struct wf_room_slot *rs, pid_t pid, int quiet,
    char *why, size_t whylen)
{
	ssize_t n = -1;
	int rc = 1;

	if (rs->pid != pid)
		return 0;
	why[0] = '\0';
	if (!rs->retiring && !quiet) {
		if (!rs->failing) {
			if (rs->outfd != -1)
				n = read(rs->outfd, why, whylen - 1);
			why[n > 0 ? n : 0] = '\0';
			why[strcspn(why, "\n")] = '\0';
			rc = 2;
		}
		rs->failing = 1;
		rs->hold_until = wf_clock_mono_ms() + ROOM_HOLD_MS;
	}
	slot_close(rs);
	return rc;
}
