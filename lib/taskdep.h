/*
 * taskdep: what a task waits on.  A task's blocked_by names task_ids of
 * its own project that must be done before it starts.  This module
 * checks such a list when it is written (no unknown id, no id of another
 * project, no cycle), says whether a task is ready, and derives the
 * stage of the pipeline a task is in from the run that works on it.
 *
 * Everything here works on records already read (cJSON arrays of tasks
 * and runs as wf_store_list gives them): it reads no file and takes no
 * lock, so that the store can check under its lock, and the CLI, the
 * API, the board and a director can judge readiness from one listing.
 *
 * Fail closed: a dependency that failed, was cancelled, whose run was
 * abandoned, or that no longer exists never satisfies an edge.  The task
 * stays blocked until a human retries the dependency, drops the edge or
 * cancels the task.
 */
#ifndef WF_TASKDEP_H
#define WF_TASKDEP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WF_TASKDEP_MAX 64     /* entries of one blocked_by */
#define WF_TASKDEP_DEPTH 1024 /* the longest chain followed */

enum wf_taskdep_state {
	WF_TASKDEP_READY,   /* everything it waits on is done */
	WF_TASKDEP_WAITING, /* something it waits on is still under way */
	WF_TASKDEP_BLOCKED, /* something it waits on failed, was cancelled,
	                     * abandoned or is gone: a human decides */
};

/* The stages of the pipeline a task goes through, in order;
 * NULL-terminated. */
#define WF_TASKDEP_NSTAGES 7
extern const char *const wf_taskdep_stages[WF_TASKDEP_NSTAGES + 1];

/*
 * Check task's blocked_by (the task as it will be written: its "id" 0 or
 * absent when new) against tasks, every task of the store (any project).
 * Refused (-1, errno EINVAL, a line in err): an entry that is not a
 * task_id of the task's project ("blocked_by: no task T-9 in project
 * 1", or "... T-9 is a task of project 2, not of project 1"), one listed
 * twice, more than WF_TASKDEP_MAX, and a cycle, with its path
 * ("blocked_by: cycle T-3 -> T-5 -> T-3").  A task_id renamed while
 * another task waits on the old one is refused too.  0 when it holds.
 */
int wf_taskdep_check(const cJSON *tasks, const cJSON *task, char *err,
    size_t errlen);

/*
 * Is task ready to start?  tasks: its project's tasks (others are
 * ignored); runs: the runs (may be NULL: no run is then known to be
 * abandoned).  why (may be NULL) gets one line: what it waits on, or
 * why it is blocked and what a human may do.  waits (may be NULL) gets
 * an array, one object a dependency: {"task_id", "id" (null when gone),
 * "status", "state": "done"|"waiting"|"blocked", "why"}; the caller's.
 */
enum wf_taskdep_state wf_taskdep_ready(const cJSON *tasks,
    const cJSON *runs, const cJSON *task, char *why, size_t whylen,
    cJSON **waits);

/* "ready", "waiting" or "blocked". */
const char *wf_taskdep_state_name(enum wf_taskdep_state s);

/* The run that works on task (the highest id among its run_id and the
 * runs whose task_id is the task's), or NULL. */
const cJSON *wf_taskdep_run(const cJSON *task, const cJSON *runs);

/* The task's stage, one of wf_taskdep_stages: COMPLETE once it is done,
 * else from its run's state (PM; DEV, and a failed QA or SEC going back
 * to DEV; QA, and QA writing tests first; SEC; COMPLETE from
 * READY_FOR_COMMIT on), NONE with no run or an abandoned one.  wf has no
 * DOCS role: no run is ever there. */
const char *wf_taskdep_stage(const cJSON *task, const cJSON *runs);

/* Add to each task of arr what is derived, for a reader: pipeline_stage
 * (replacing a stored one) and "readiness": {"state", "why", "waits_on"
 * (as waits above)}. */
void wf_taskdep_annotate(cJSON *arr, const cJSON *tasks, const cJSON *runs);

#endif
