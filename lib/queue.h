/*
 * queue: what the CLI does with jobs, over the spool.  It finds a job by id
 * in whichever directory holds it, lists and counts them, and asks
 * wf-dispatch, the only mover of job files, to cancel or retry one by a
 * request dropped into ctl/ (the maildir protocol again).  Reading needs no
 * daemon; a request waits in ctl/new until wf-dispatch runs.
 */
#ifndef WF_QUEUE_H
#define WF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"

enum wf_where {
	WF_IN_NONE,
	WF_IN_QUEUE,    /* queue/<prio>/new */
	WF_IN_ACTIVE,
	WF_IN_DEFERRED,
	WF_IN_DONE,
	WF_IN_FAILED,
	WF_IN_CANCELLED,
};

struct wf_jobref {
	enum wf_where where;
	int prio;                 /* for WF_IN_QUEUE */
	char path[128];           /* relative to the root */
	char name[WF_NAME_MAX + 1];
};

/* Directory of a place ("active", "done"...); NULL for WF_IN_QUEUE. */
const char *wf_queue_dirname(enum wf_where w);
/*
 * A job id from what a person typed: the id itself, or a unique prefix
 * of one (ids are 35 characters).  0 and the whole id in id; -1 and a
 * one-line reason in err, errno ENOENT (no job), EINVAL (not an id) or
 * EEXIST (a prefix of several jobs: err names them).
 */
int wf_queue_resolve(int root, const char *prefix, char *id, size_t idlen,
    char *err, size_t errlen);
/* Find the job id.  0 found, -1 not found (errno ENOENT) or bad id. */
int wf_queue_locate(int root, const char *id, struct wf_jobref *ref);
/* Load the record of a located job, with its status derived from where it
 * is (the directory is the truth).  -1 and err on a bad file. */
/* Has the claimed job id started (wf-dispatch wrote its active/ID.pid)?
 * A job in active/ without one is armed: next on its lane, waiting. */
int wf_queue_started(int root, const char *id);
int wf_queue_load(int root, const struct wf_jobref *ref, struct wf_job *j,
    char *err, size_t errlen);

/* Visit every job file: the callback gets each ref; stops when it
 * returns non-zero. */
typedef int (*wf_queue_visit_fn)(const struct wf_jobref *ref, void *arg);
int wf_queue_walk(int root, wf_queue_visit_fn fn, void *arg);

/* Drop a request ("cancel" or "retry") for id into ctl/new, durably. */
int wf_queue_request(int root, const char *op, const char *id);

/* Ask for op ("cancel" or "retry") on job id after the checks the CLI and
 * wf-httpd make alike: -1 with err and errno ENOENT no such job, EBUSY a
 * cancel of a job that ended or a retry of one that did not fail, else an
 * I/O failure. */
int wf_queue_ask(int root, const char *op, const char *id, char *err,
    size_t errlen);

/* Wait until the job id sits in a terminal directory, or until timeout_ms
 * passes (-1: forever).  Uses inotify on done/, failed/ and cancelled/.
 * Returns 1 when terminal (ref filled), 0 on timeout, -1 on error. */
int wf_queue_wait(int root, const char *id, int timeout_ms,
    struct wf_jobref *ref);

/* The exit status a waiting command reports for a job's outcome:
 * 0 completed, 1 failed, 124 timeout (as timeout(1)), 125 cancelled. */
int wf_queue_exit_code(enum wf_jstatus s);

/* The counts of wf queue status: {"waiting_by_priority": {name: n},
 * "by_status": {status: n}, "by_lane": {lane: {waiting, running}},
 * "running": [{id, lane, job_type, pid, age_s, and what it runs: run_id
 * and role, or a command job's argv as one "command" string cut at
 * WF_RUNNING_CMD_MAX bytes ("command_cut": true)}]}.  A file that does not
 * parse is skipped with a warning.  NULL with errno on a walk error. */
#define WF_RUNNING_CMD_MAX 240
cJSON *wf_queue_status(int root);

/* Every job (only those of status, a status name, unless NULL), sorted by
 * creation: *jobs is a malloc'd array of *n loaded jobs, each for
 * wf_job_free.  -1 with errno on a walk error. */
int wf_queue_collect(int root, const char *status, struct wf_job **jobs,
    size_t *n);
void wf_queue_collect_free(struct wf_job *jobs, size_t n);

/* The record wf queue show prints: the job, its path, a waiting job's
 * position in its lane (aged by aging seconds a level), a running job's
 * worker pid and age. */
cJSON *wf_queue_record(int root, const struct wf_jobref *ref,
    const struct wf_job *j, int aging);

/* Enqueue a validated job: fill the id and created_at, write it into
 * its priority's queue.  With sync, durable when it returns.  */
int wf_queue_submit(int root, struct wf_job *j, int sync);

#endif
