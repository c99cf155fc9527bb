/*
 * output: copy a job's output pipe into output/<id>.log, keeping at most
 * max bytes per attempt.  The log is opened with O_APPEND and O_NOFOLLOW;
 * each attempt starts with a header line so that retries stay apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "output.h"
#include "spool.h"

static void
put(struct wf_output *o, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(o->fd, buf, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			/* A full disk must not stop the job: count the rest
			 * as dropped. */
			o->dropped += (long)n;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

int
wf_output_open(struct wf_output *o, int root, const char *id, int attempt,
    long max)
{
	char path[WF_NAME_MAX + 16], iso[WF_ISO_LEN], hdr[128];
	int n;

	o->fd = -1;
	o->written = o->dropped = 0;
	o->max = max;
	n = snprintf(path, sizeof(path), "output/%s.log", id);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	o->fd = openat(root, path,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (o->fd == -1)
		return -1;
	n = snprintf(hdr, sizeof(hdr), "--- wf: attempt %d at %s ---\n",
	    attempt, wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if (n > 0 && (size_t)n < sizeof(hdr))
		put(o, hdr, (size_t)n);
	return 0;
}

int
wf_output_pump(struct wf_output *o, int fd)
{
	char buf[16384];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -1;
		}
		if (r == 0)
			return 0;
		if (o->fd == -1 || o->written >= o->max) {
			o->dropped += r;
			continue;
		}
		if (o->written + r > o->max) {
			long keep = o->max - o->written;

			o->dropped += r - keep;
			r = keep;
		}
		put(o, buf, (size_t)r);
		o->written += r;
	}
}

void
wf_output_close(struct wf_output *o)
{
	char line[128];
	int n;

	if (o->fd == -1)
		return;
	if (o->dropped > 0) {
		n = snprintf(line, sizeof(line),
		    "\n--- wf: output cut at %ld bytes, %ld more dropped ---\n",
		    o->max, o->dropped);
		if (n > 0 && (size_t)n < sizeof(line))
			put(o, line, (size_t)n);
	}
	close(o->fd);
	o->fd = -1;
}
