/*
 * spool: the maildir protocol over a root directory descriptor.  A file
 * is written whole in a tmp/ with O_EXCL|O_NOFOLLOW, fsync'd when a promise
 * rests on it, and renamed into place: the rename is the commit, and the
 * directory fsync makes it durable.  A batch may write its files with no
 * name at all (O_TMPFILE in tmp/) and commit each with a link instead.
 * Nothing is rewritten in place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

const char *const wf_spool_dirs[] = {
	"tmp",
	"queue",
	"queue/1-critical", "queue/1-critical/tmp", "queue/1-critical/new",
	"queue/2-high", "queue/2-high/tmp", "queue/2-high/new",
	"queue/3-normal", "queue/3-normal/tmp", "queue/3-normal/new",
	"queue/4-low", "queue/4-low/tmp", "queue/4-low/new",
	"active", "deferred", "done", "failed", "cancelled", "output",
	"corrupt",
	"ctl", "ctl/tmp", "ctl/new",
	"reports", "reports/tmp", "reports/new", "reports/cur",
	"events", "events/tmp", "events/new", "events/cur",
	"events/deferred", "events/dead",
	"state", "state/projects", "state/tasks", "state/runs", "state/bugs",
	"state/credentials", "state/environments", "state/webhooks",
	"log", "keys",
	NULL
};

static const char *const qdirs[WF_NPRIO] = {
	"queue/1-critical", "queue/2-high", "queue/3-normal", "queue/4-low",
};

const char *
wf_spool_qdir(int prio)
{
	if (prio < 1 || prio > WF_NPRIO)
		abort();
	return qdirs[prio - 1];
}

int
wf_spool_open(const char *home)
{
	return open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
wf_spool_init(const char *home)
{
	mode_t old = umask(077);
	int rc = -1, root = -1;

	if (mkdir(home, 0700) == -1 && errno != EEXIST)
		goto fail;
	if ((root = wf_spool_open(home)) == -1)
		goto fail;
	for (int i = 0; wf_spool_dirs[i] != NULL; i++)
		if (mkdirat(root, wf_spool_dirs[i], 0700) == -1 &&
		    errno != EEXIST)
			goto fail;
	rc = 0;
fail:
	if (root != -1) {
		int e = errno;

		close(root);
		errno = e;
	}
	umask(old);
	return rc;
}

int
wf_spool_check(int root, const char **missing)
{
	struct stat st;

	for (int i = 0; wf_spool_dirs[i] != NULL; i++) {
		if (fstatat(root, wf_spool_dirs[i], &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISDIR(st.st_mode)) {
			*missing = wf_spool_dirs[i];
			return -1;
		}
	}
	return 0;
}

int
wf_spool_attach(const char *home)
{
	const char *missing;
	int root;

	if ((root = wf_spool_open(home)) == -1) {
		wf_log_warn("%s: %s (make it with: wf init)", home,
		    strerror(errno));
		return -1;
	}
	if (wf_spool_check(root, &missing) == -1) {
		wf_log_warn("%s/%s: missing (make the tree with: wf init)", home,
		    missing);
		close(root);
		return -1;
	}
	return root;
}

/*
 * The pid and the random word of a name are drawn once per process, and
 * again in a forked child: time, pid and counter already make a name
 * unique, and two system calls a name (getpid, and libbsd's arc4random
 * checking for a fork) were a third of a batch's system calls.
 */
static pid_t name_pid;
static uint32_t name_rand;

static void
name_forked(void)
{
	name_pid = 0;
}

int
wf_spool_name(char *buf, size_t len)
{
	static unsigned count;
	static int atfork;
	struct timeval tv;
	int n;

	if (!atfork) {
		if (pthread_atfork(NULL, NULL, name_forked) != 0)
			abort();
		atfork = 1;
	}
	if (name_pid == 0) {
		name_pid = getpid();
		name_rand = arc4random();
	}
	gettimeofday(&tv, NULL);
	n = snprintf(buf, len, "%lld.M%06ldP%ldQ%uR%08x",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)name_pid, count++,
	    name_rand);
	if (n < 0 || (size_t)n >= len || n > WF_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

bool
wf_spool_name_ok(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= WF_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int64_t
wf_spool_name_time_us(const char *name)
{
	int64_t sec = 0, usec = 0;
	const char *p = name;
	int n;

	for (n = 0; *p >= '0' && *p <= '9' && n < 12; p++, n++)
		sec = sec * 10 + (*p - '0');
	if (n == 0 || *p != '.')
		return -1;
	p++;
	if (*p == 'M') {
		p++;
		for (n = 0; *p >= '0' && *p <= '9' && n < 6; p++, n++)
			usec = usec * 10 + (*p - '0');
	}
	return sec * 1000000 + usec;
}

int
wf_spool_sync_dir(int root, const char *dir)
{
	int fd, rc;

	fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
wf_spool_write(int root, const char *tmpdir, const char *dstdir,
    const char *name, const void *buf, size_t len, int flags)
{
	char tpath[256], dpath[256];
	int fd = -1, e, n;

	n = snprintf(tpath, sizeof(tpath), "%s/%s", tmpdir, name);
	if (n < 0 || (size_t)n >= sizeof(tpath))
		goto toolong;
	n = snprintf(dpath, sizeof(dpath), "%s/%s", dstdir, name);
	if (n < 0 || (size_t)n >= sizeof(dpath))
		goto toolong;
	fd = openat(root, tpath,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 && errno == EEXIST) {
		/* A file of this name in tmpdir is a dead writer's: one
		 * killed between its create and its rename.  A name is its
		 * writer's own (a job's, an event's, a delivery's id, made
		 * once; written again only by the one that owns it now), so
		 * it is a try of this very write: dropped, and written anew.
		 * Refused, every later try of the same id would fail for
		 * good (found by bench/crash.sh: a record, an effect, a
		 * delivery that could never be written again). */
		if (unlinkat(root, tpath, 0) == -1 && errno != ENOENT)
			return -1;
		fd = openat(root, tpath,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd == -1)
		return -1;
	if (write_all(fd, buf, len) == -1)
		goto fail;
	if ((flags & WF_SYNC_FILE) && fsync(fd) == -1)
		goto fail;
	n = close(fd);
	fd = -1;
	if (n == -1)
		goto fail;
	if (flags & WF_NO_RENAME)
		return 0;
	if (renameat(root, tpath, root, dpath) == -1)
		goto fail;
	if ((flags & WF_SYNC_DIR) && wf_spool_sync_dir(root, dstdir) == -1)
		return -1; /* the file is in place; only durability is unsure */
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlinkat(root, tpath, 0);
	errno = e;
	return -1;
}

/*
 * An O_TMPFILE file has no name at all until linkat gives it one: a crash
 * before that leaves nothing behind, and the commit costs one directory
 * entry instead of a create in tmp/ and a rename out of it.
 */
int
wf_spool_stage(int root, const char *tmpdir, const void *buf, size_t len)
{
	int fd, e;

	fd = openat(root, tmpdir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, buf, len) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool
wf_spool_can_stage(int root, const char *tmpdir)
{
	int fd;

	/* linkat through /proc needs no privilege, unlike AT_EMPTY_PATH. */
	if (access("/proc/self/fd", X_OK) == -1)
		return false;
	fd = openat(root, tmpdir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1)
		return false;
	close(fd);
	return true;
}

int
wf_spool_link(int root, int fd, const char *dstdir, const char *name)
{
	char proc[64], dpath[256];
	int n;

	n = snprintf(dpath, sizeof(dpath), "%s/%s", dstdir, name);
	if (n < 0 || (size_t)n >= sizeof(dpath)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, root, dpath, AT_SYMLINK_FOLLOW);
}

/* Read the open fd whole (at most max bytes) and close it. */
static int
read_whole(int fd, size_t max, char **bufp, size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int e;

	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	/* Read to EOF, not to st_size: a bound, not a promise. */
	for (;;) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > (size_t)st.st_size) {
			errno = EFBIG;
			goto fail;
		}
	}
	buf[got] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = got;
	return 0;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return -1;
}

int
wf_spool_read(int root, const char *path, size_t max, char **bufp,
    size_t *lenp)
{
	int fd;

	fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return -1;
	return read_whole(fd, max, bufp, lenp);
}

/*
 * One component at a time, each opened with O_NOFOLLOW from the one
 * before: a symlink anywhere on the way fails with ELOOP (ENOTDIR for a
 * directory's place), and no later swap of a directory for a symlink can
 * lead the walk out of dfd, as a check of the path before the open could.
 */
int
wf_spool_read_beneath(int dfd, const char *path, size_t max, char **bufp,
    size_t *lenp)
{
	char part[NAME_MAX + 1];
	const char *p = path;
	int fd = dfd, next;

	if (path[0] == '/' || path[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		size_t n = strcspn(p, "/");
		int last = p[n] == '\0';

		if (n == 0 || n > NAME_MAX || (n == 2 && p[0] == '.' &&
		    p[1] == '.')) {
			errno = n > NAME_MAX ? ENAMETOOLONG : EINVAL;
			goto fail;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		next = openat(fd, part, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		    (last ? O_NONBLOCK : O_DIRECTORY));
		if (fd != dfd)
			close(fd);
		fd = dfd;
		if (next == -1)
			return -1;
		if (last)
			return read_whole(next, max, bufp, lenp);
		fd = next;
		p += n + 1;
		while (*p == '/')
			p++;
		if (*p == '\0') {
			errno = EISDIR;
			goto fail;
		}
	}
fail:
	if (fd != dfd) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

int
wf_spool_watch(int ifd, const char *home, const char *dir, uint32_t mask)
{
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", home, dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return inotify_add_watch(ifd, path, mask | IN_ONLYDIR);
}

int
wf_spool_move(int root, const char *from, const char *to)
{
	return renameat(root, from, root, to);
}

int
wf_spool_quarantine(int root, const char *path, const char *name,
    const char *why)
{
	char dst[256], wname[WF_NAME_MAX + 32], uniq[WF_NAME_MAX + 1];
	char line[1024];
	int n;

	/* Never replace an earlier corrupt file: it is evidence. */
	for (int tries = 0;; tries++) {
		n = snprintf(dst, sizeof(dst), "corrupt/%s", name);
		if (n < 0 || (size_t)n >= sizeof(dst)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (renameat2(root, path, root, dst, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST || tries > 0)
			return -1;
		if (wf_spool_name(uniq, sizeof(uniq)) == -1)
			return -1;
		name = uniq;
	}
	n = snprintf(wname, sizeof(wname), "%s.why", name);
	if (n < 0 || (size_t)n >= sizeof(wname)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(line, sizeof(line), "%s\n", why);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	return wf_spool_write(root, "tmp", "corrupt", wname, line, (size_t)n,
	    WF_SYNC_DIR);
}

/*
 * Is someone still writing the file?  A read lease is refused (EAGAIN)
 * while any process holds it open for writing; then its close will come.
 * Where leases are not ours to take (another owner), a file with bytes
 * in it is taken as whole.
 */
static int
being_written(int root, const char *path, const struct stat *st)
{
	int fd, busy;

	fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return 1;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		fcntl(fd, F_SETLEASE, F_UNLCK);
		busy = 0;
	} else
		busy = errno == EAGAIN || st->st_size == 0;
	close(fd);
	return busy;
}

static const char *
not_a_file(mode_t m)
{
	if (S_ISLNK(m))
		return "a symlink, not a file (never followed)";
	if (S_ISFIFO(m))
		return "a FIFO, not a file";
	if (S_ISDIR(m))
		return "a directory, not a file";
	if (S_ISSOCK(m))
		return "a socket, not a file";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device, not a file";
	return "not a regular file";
}

/* d_type from readdir, DT_UNKNOWN when there is none (an event). */
static int
arrived(int root, const char *dir, const char *name, unsigned char type,
    uint32_t mask, const char *prefix, char *why, size_t whylen)
{
	char path[PATH_MAX], cname[NAME_MAX + 1];
	const char *reason;
	struct stat st;
	int n;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (name[0] == '.' || name[0] == '\0')
		return 0;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	/* What readdir says is a file stays one: a rename swaps in a new
	 * entry, whose open (O_NOFOLLOW | O_NONBLOCK, fstat) is checked
	 * again by the reader. */
	if (type == DT_REG && mask == 0)
		return 1;
	if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (S_ISREG(st.st_mode))
		return !(mask & IN_CREATE) || !being_written(root, path, &st);
	reason = not_a_file(st.st_mode);
	n = snprintf(cname, sizeof(cname), "%s%s", prefix, name);
	if (n < 0 || (size_t)n >= sizeof(cname))
		strlcpy(cname, name, sizeof(cname));
	wf_log_warn("%s: %s; moved to corrupt/", path, reason);
	if (wf_spool_quarantine(root, path, cname, reason) == -1 &&
	    errno != ENOENT)
		wf_log_warn("%s: quarantine: %s", path, strerror(errno));
	if (why != NULL)
		strlcpy(why, reason, whylen);
	return -1;
}

int
wf_spool_arrived(int root, const char *dir, const char *name, uint32_t mask,
    const char *prefix, char *why, size_t whylen)
{
	return arrived(root, dir, name, DT_UNKNOWN, mask, prefix, why,
	    whylen);
}

struct entry {
	char *name;
	unsigned char type;
};

int
wf_spool_scan(int root, const char *dir, const char *prefix,
    void (*fn)(const char *name, const char *why, void *arg), void *arg)
{
	struct entry *v = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	char why[128];
	DIR *d;
	int fd, e;

	/* Names first, then the work: fn may add to the directory. */
	fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = reallocarray(v, nc, sizeof(*v));

			if (p == NULL)
				break;
			v = p;
			cap = nc;
		}
		if ((v[n].name = strdup(de->d_name)) == NULL)
			break;
		v[n++].type = de->d_type;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		switch (arrived(root, dir, v[i].name, v[i].type, 0, prefix, why,
		    sizeof(why))) {
		case 1:
			fn(v[i].name, NULL, arg);
			break;
		case -1:
			fn(v[i].name, why, arg);
			break;
		}
		free(v[i].name);
	}
	free(v);
	return 0;
}
