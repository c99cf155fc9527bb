/*
 * enospc.c: an LD_PRELOAD shim that makes the disk look full, for the
 * end-to-end tests where mounting a tiny tmpfs is not permitted.  A write()
 * to a file under a tmp/ directory of $WF_HOME writes half of what it is
 * given the first time (a disk that fills up mid-file), then fails with
 * ENOSPC.  Everything else passes through.  With WF_ENOSPC_WHILE=PATH,
 * the disk is full only while PATH exists (a test frees it by removing
 * PATH).
 *
 *   cc -shared -fPIC -o enospc.so enospc.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFD 4096

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);
static unsigned char partial[NFD];

static int
full(int fd)
{
	char link[64], path[PATH_MAX];
	const char *home = getenv("WF_HOME");
	const char *flag = getenv("WF_ENOSPC_WHILE");
	size_t hl;
	ssize_t n;

	if (home == NULL || *home == '\0' || fd < 0)
		return 0;
	if (flag != NULL && *flag != '\0' && access(flag, F_OK) == -1)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	hl = strlen(home);
	return strncmp(path, home, hl) == 0 && path[hl] == '/' &&
	    strstr(path + hl, "/tmp/") != NULL;
}

ssize_t
write(int fd, const void *buf, size_t count)
{
	if (real_write == NULL)
		real_write = (ssize_t (*)(int, const void *, size_t))
		    dlsym(RTLD_NEXT, "write");
	if (count > 0 && full(fd)) {
		if (fd < NFD && !partial[fd] && count > 1) {
			partial[fd] = 1;
			return real_write(fd, buf, count / 2);
		}
		errno = ENOSPC;
		return -1;
	}
	return real_write(fd, buf, count);
}

int
close(int fd)
{
	if (real_close == NULL)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	if (fd >= 0 && fd < NFD)
		partial[fd] = 0;
	return real_close(fd);
}
