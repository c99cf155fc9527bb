/*
 * output: a job's captured stdout and stderr, output/<id>.log, capped at a
 * size.  Past the cap the output is read and dropped so that the job never
 * blocks on a full pipe, and one line says how much was cut.
 */
#ifndef WF_OUTPUT_H
#define WF_OUTPUT_H

#include <stddef.h>
#include <sys/types.h>

struct wf_output {
	int fd;        /* the log, or -1 */
	long written;  /* bytes kept */
	long dropped;  /* bytes past the cap */
	long max;
};

/* Open output/<id>.log for appending and write an attempt header. */
int wf_output_open(struct wf_output *o, int root, const char *id,
    int attempt, long max);
/* Read what is in pipe fd and keep it; returns 0 at EOF, 1 when more may
 * come, -1 on a read error. */
int wf_output_pump(struct wf_output *o, int fd);
/* Write the cut notice, close the log. */
void wf_output_close(struct wf_output *o);

#endif
