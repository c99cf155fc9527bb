/*
 * daemon: a daemon's lock in the runtime tree, run/NAME.lock, held as an
 * open file description write lock for the process's lifetime with the
 * holder's pid inside, and the test of it that takes nothing
 * (F_OFD_GETLK).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

const char *const wf_daemons[] = {
	"wf-dispatch", "wf-gate", "wf-notify", "wf-httpd", NULL,
};

static int
lock_path(const char *name, char *buf, size_t len)
{
	int n;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, "run/%s.lock", name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The pid in an open lock file; 0 when there is none (yet). */
static pid_t
read_pid(int fd)
{
	char buf[32];
	const char *errstr;
	ssize_t n;
	long long v;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	v = strtonum(buf, 1, INT32_MAX, &errstr);
	return errstr != NULL ? 0 : (pid_t)v;
}

/* Does a lock on fd's file stop a writer: 1 yes, 0 no, -1 with errno. */
static int
held(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		return -1;
	return fl.l_type != F_UNLCK;
}

/* The holder's pid: it writes it just after its lock, so a twin that
 * starts in between waits a moment for it. */
static pid_t
holder_pid(int fd)
{
	pid_t pid = 0;

	for (int i = 0; i < 20 && (pid = read_pid(fd)) == 0 &&
	    held(fd) == 1; i++)
		poll(NULL, 0, 5);
	return pid;
}

int
wf_daemon_lock(int root, const char *name, pid_t *holder)
{
	struct flock fl;
	char path[128], pid[32];
	int fd, e, n;

	*holder = 0;
	if (lock_path(name, path, sizeof(path)) == -1)
		return -1;
	if (mkdirat(root, "run", 0700) == -1 && errno != EEXIST)
		return -1;
	fd = openat(root, path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		e = errno == EACCES || errno == EAGAIN ? EWOULDBLOCK : errno;
		if (e == EWOULDBLOCK)
			*holder = holder_pid(fd);
		close(fd);
		errno = e;
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
wf_daemon_start(int root, const char *home, const char *name, int *fd)
{
	pid_t pid;

	if ((*fd = wf_daemon_lock(root, name, &pid)) != -1)
		return 0;
	if (errno != EWOULDBLOCK) {
		wf_log_warn("%s/run/%s.lock: %s", home, name, strerror(errno));
		return EX_CANTCREAT;
	}
	if (pid > 0)
		wf_log_warn("%s: already running (pid %ld)", home, (long)pid);
	else
		wf_log_warn("%s: already running", home);
	return EX_TEMPFAIL;
}

int
wf_daemon_up(int root, const char *name)
{
	char path[128];
	int fd, rc;

	if (lock_path(name, path, sizeof(path)) == -1)
		return -1;
	fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	rc = held(fd);
	close(fd);
	return rc;
}

pid_t
wf_daemon_holder(int root, const char *name)
{
	char path[128];
	pid_t pid;
	int fd, h;

	if (lock_path(name, path, sizeof(path)) == -1)
		return -1;
	fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if ((h = held(fd)) != 1)
		pid = h;
	else
		pid = holder_pid(fd);
	close(fd);
	return pid;
}
