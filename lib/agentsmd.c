/*
 * agentsmd: AGENTS.md and _spec/ of a worktree for a prompt (see
 * agentsmd.h).  A FIFO planted as AGENTS.md must not hang the agent: the
 * open does not block, and anything but a regular file is left unread.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentsmd.h"

#define SPEC_FILES_MAX 64

static const char truncated[] = "\n\xe2\x80\xa6truncated: the rest is "
    "left out (the prompt's bound)\n";

struct out {
	char *p;
	size_t n, max; /* p holds max + sizeof(truncated) + 1 */
	int cut;
};

/* Add s, within the bound; past it, cut on a character. */
static void
add(struct out *o, const char *s, size_t n)
{
	if (o->cut)
		return;
	if (o->n + n > o->max) {
		n = o->max - o->n;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		o->cut = 1;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void
addf(struct out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		add(o, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
}

/*
 * path opened beneath dfd: a symlink may lead only to somewhere under
 * it.  Where the kernel (or a seccomp filter) has no openat2, name is
 * opened in ndfd, its own directory, and no symlink is followed.
 */
static int
open_beneath(int dfd, const char *path, int ndfd, const char *name,
    int flags)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd == -1 && (errno == ENOSYS || errno == EPERM))
		fd = openat(ndfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

/* Why open_beneath failed, from errno. */
static const char *
why(void)
{
	if (errno == EXDEV)
		return "a symlink that leads outside the repository";
	if (errno == ELOOP)
		return "a symlink, not followed";
	return strerror(errno);
}

/* One file beneath rfd (name in ndfd), its content after its header
 * line. */
static void
add_file(struct out *o, int rfd, const char *path, int ndfd,
    const char *name)
{
	struct stat st;
	char buf[8192];
	ssize_t r;
	int fd;

	if ((fd = open_beneath(rfd, path, ndfd, name,
	    O_RDONLY | O_NONBLOCK)) == -1) {
		if (errno != ENOENT)
			addf(o, "--- %s: not read (%s) ---\n", path, why());
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		addf(o, "--- %s: not read (not a regular file) ---\n", path);
		close(fd);
		return;
	}
	addf(o, "--- %s ---\n", path);
	while (!o->cut && (r = read(fd, buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* A NUL would end the prompt's string: it is no text. */
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		add(o, buf, (size_t)r);
	}
	if (o->n > 0 && o->p[o->n - 1] != '\n')
		add(o, "\n", 1);
	close(fd);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
add_spec(struct out *o, int rfd)
{
	char *names[SPEC_FILES_MAX], path[NAME_MAX + 8];
	struct dirent *de;
	int dfd, n = 0, more = 0;
	DIR *d;

	if ((dfd = open_beneath(rfd, "_spec", rfd, "_spec",
	    O_RDONLY | O_DIRECTORY)) == -1) {
		if (errno != ENOENT)
			addf(o, "--- _spec/: not read (%s) ---\n", why());
		return;
	}
	/* The directory's own descriptor stays for the files in it. */
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || l < 4 ||
		    strcmp(de->d_name + l - 3, ".md") != 0)
			continue;
		if (n == SPEC_FILES_MAX) {
			more = 1;
			break;
		}
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "_spec/%s", names[i]);
		add_file(o, rfd, path, dfd, names[i]);
		free(names[i]);
	}
	closedir(d);
	if (more)
		addf(o, "--- _spec/: more than %d files; the rest are not "
		    "read ---\n", SPEC_FILES_MAX);
}

char *
wf_agentsmd_text(const char *repo, int what, size_t max)
{
	struct out o = { NULL, 0, max, 0 };
	int rfd;

	if ((o.p = malloc(max + sizeof(truncated) + 1)) == NULL)
		return NULL;
	o.p[0] = '\0';
	if (repo == NULL || (rfd = open(repo, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return o.p;
	if (what & WF_AGENTSMD_AGENTS)
		add_file(&o, rfd, "AGENTS.md", rfd, "AGENTS.md");
	if (what & WF_AGENTSMD_SPEC)
		add_spec(&o, rfd);
	close(rfd);
	if (o.cut) {
		memcpy(o.p + o.n, truncated, sizeof(truncated));
		o.n += sizeof(truncated) - 1;
	}
	return o.p;
}
