/*
 * director: the loop that takes a project's backlog into the pipeline by
 * itself (wf-director).  Each pass starts a run for every ready backlog
 * task (lib/taskdep), in priority order, up to max_active active runs a
 * project; fills a task's missing acceptance criteria from a template
 * file before its run starts; and retries a run that stayed in one state
 * past stuck_after, up to retries times, before it holds the run for a
 * human with the reason.  Every decision is an audit line and an event
 * (director.run_started, director.criteria_filled, director.retried,
 * director.gave_up).
 *
 * Its settings (on or off, and limits over those of [director] in
 * wf.ini) are state/director.json, written whole by rename under
 * state/.director.lock, by wf director, by /api/director and by the
 * daemon for what it counts (the retries of each run); they survive a
 * restart.  Off when the file is missing.
 *
 * One run a task, whatever crashes: a run is created with its task_id in
 * the same write (the run file is the claim), and a task that any run
 * names, or whose run_id is set, is never started again; the task's
 * run_id is linked after, and again by a later pass when a crash came
 * between.
 */
#ifndef WF_DIRECTOR_H
#define WF_DIRECTOR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pipeline.h"

#define WF_DIRECTOR_FILE "state/director.json"
#define WF_DIRECTOR_CRITERIA_MAX 16   /* lines of a template taken */
#define WF_DIRECTOR_TEMPLATE_MAX 8192 /* bytes of a template read */

/* [director] of wf.ini: the defaults the state file may override. */
struct wf_director_conf {
	int interval;        /* s between passes */
	int max_active;      /* active runs a project, 1-64 */
	int stuck_after;     /* s in one state before a retry */
	int retries;         /* retries of a stuck run before a human */
	char criteria[PATH_MAX]; /* the acceptance criteria template;
	                          * "" etc/director/criteria.txt beside
	                          * the config */
};

void wf_director_defaults(struct wf_director_conf *c);

/* The settings in force: conf, with the state file's over it.  *enabled
 * 1 on, 0 off.  -1 with err when the file cannot be read. */
int wf_director_settings(int root, const struct wf_director_conf *conf,
    int *enabled, struct wf_director_conf *eff, char *err, size_t errlen);

/* Change the settings: enabled -1 keeps it; each of max_active,
 * interval, stuck_after, retries < 0 keeps it, else overrides wf.ini's.
 * Audited (director.settings) as the caller's actor.  -1 with err
 * (errno EINVAL: a value out of range). */
int wf_director_set(int root, int enabled, int max_active, int interval,
    int stuck_after, int retries, char *err, size_t errlen);

/* The status, for wf director status and GET /api/director: {"enabled",
 * "interval", "max_active", "stuck_after", "retries", "overrides": {...},
 * "running": wf-director's lock held, "active": {project_id: n},
 * "ready": [task ids that the next pass would consider]}. */
cJSON *wf_director_status(int root, const struct wf_director_conf *conf,
    char *err, size_t errlen);

/* What a pass did. */
struct wf_director_pass {
	int started, filled, retried, gave_up, linked;
};

/* One pass, when on (nothing when off).  -1 with err only when nothing
 * could be read; a decision that failed is logged and left for the next
 * pass. */
int wf_director_run(int root, const struct wf_director_conf *conf,
    const struct wf_pipeline_conf *pc, struct wf_director_pass *out,
    char *err, size_t errlen);

#endif
