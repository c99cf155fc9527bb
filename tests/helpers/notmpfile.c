/*
 * notmpfile.c: an LD_PRELOAD shim for a file system without O_TMPFILE
 * (some network and FUSE file systems): openat with O_TMPFILE fails with
 * EOPNOTSUPP, as the kernel says there, and the file $NOTMPFILE_MARK (when
 * set) is made to show that it was asked.  Everything else passes through.
 *
 *   cc -shared -fPIC -o notmpfile.so notmpfile.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

int
openat(int dfd, const char *path, int flags, ...)
{
	static int (*real_openat)(int, const char *, int, ...);
	const char *mark = getenv("NOTMPFILE_MARK");
	mode_t mode = 0;
	va_list ap;

	if (real_openat == NULL)
		real_openat = (int (*)(int, const char *, int, ...))dlsym(
		    RTLD_NEXT, "openat");
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		if (mark != NULL) {
			int fd = real_openat(AT_FDCWD, mark,
			    O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

			if (fd != -1)
				close(fd);
		}
		errno = EOPNOTSUPP;
		return -1;
	}
	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return real_openat(dfd, path, flags, mode);
}
