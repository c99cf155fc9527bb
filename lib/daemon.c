/*
 * daemon: a daemon's marker in the runtime tree, run/NAME.lock, held as an
 * open file description read lock for the process's lifetime, and the
 * test of it that takes nothing (F_OFD_GETLK).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

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

int
wf_daemon_mark(int root, const char *name)
{
	struct flock fl;
	char path[128];
	int fd, e;

	if (lock_path(name, path, sizeof(path)) == -1)
		return -1;
	if (mkdirat(root, "run", 0700) == -1 && errno != EEXIST)
		return -1;
	fd = openat(root, path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
wf_daemon_up(int root, const char *name)
{
	struct flock fl;
	char path[128];
	int fd, rc;

	if (lock_path(name, path, sizeof(path)) == -1)
		return -1;
	fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK; /* would a writer wait?  Then a reader holds it */
	fl.l_whence = SEEK_SET;
	rc = fcntl(fd, F_OFD_GETLK, &fl) == -1 ? -1 : fl.l_type != F_UNLCK;
	close(fd);
	return rc;
}
