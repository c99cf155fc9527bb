/*
 * err: the one-line reason a library call gives back.  Every module
 * fails the same way: -1, and the reason written into the caller's
 * buffer (err, errlen), cut to fit.
 */
#ifndef WF_ERR_H
#define WF_ERR_H

#include <stddef.h>

/* Write the reason into err (at most errlen bytes; none when err is NULL)
 * and return -1, errno as it was. */
int wf_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a refusal of the data, not an I/O failure: errno EINVAL. */
int wf_err_invalid(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
