/*
 * err: the one-line reason of a failed library call (see err.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
wf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e; /* the cause, for a caller that maps it */
	return -1;
}

int
wf_err_invalid(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = EINVAL;
	return -1;
}
