/*
 * taskdep: the edges between a project's tasks (blocked_by), checked
 * when written and judged when read.  Nothing here is stored: readiness
 * and the stage are derived on each read from the tasks and the runs, so
 * that they can never disagree with the records they come from.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "err.h"
#include "taskdep.h"

#define LIST_MAX 512 /* a why's list of dependencies, cut beyond */

const char *const wf_taskdep_stages[WF_TASKDEP_NSTAGES + 1] = {
	"NONE", "PM", "DEV", "QA", "SEC", "DOCS", "COMPLETE", NULL,
};

static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The task of project pid whose task_id is tid, or NULL. */
static const cJSON *
find(const cJSON *tasks, long long pid, const char *tid)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tasks) {
		if (wf_json_int(t, "project_id") == pid &&
		    same(wf_json_str(t, "task_id"), tid))
			return t;
	}
	return NULL;
}

/*
 * The cycle search.  The graph is the project's tasks with the written
 * task's edges replaced by its new ones; a cycle the write makes goes
 * through the written task, so a search from it for itself finds any.
 * Marks keep a graph that held a cycle before these checks from looping.
 */
struct graph {
	const cJSON *tasks, *self;
	long long pid;
	const char **seen; /* task_ids visited */
	size_t nseen, cap;
	const char *path[WF_TASKDEP_DEPTH];
	size_t depth;
};

static const cJSON *
deps_of(struct graph *g, const char *tid)
{
	const cJSON *t;

	if (same(tid, wf_json_str(g->self, "task_id")))
		return cJSON_GetObjectItem(g->self, "blocked_by");
	if ((t = find(g->tasks, g->pid, tid)) == NULL ||
	    wf_json_int(t, "id") == wf_json_int(g->self, "id"))
		return NULL; /* gone, or the written task's old record */
	return cJSON_GetObjectItem(t, "blocked_by");
}

static int
visited(struct graph *g, const char *tid)
{
	for (size_t i = 0; i < g->nseen; i++)
		if (strcmp(g->seen[i], tid) == 0)
			return 1;
	if (g->nseen == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 64;
		const char **p = reallocarray(g->seen, nc, sizeof(*p));

		if (p == NULL)
			return -1;
		g->seen = p;
		g->cap = nc;
	}
	g->seen[g->nseen++] = tid;
	return 0;
}

/* 1 when a path from tid leads back to the written task (g->path holds
 * it), 0 when none, -1 when out of memory or too deep. */
static int
search(struct graph *g, const char *tid)
{
	const char *self = wf_json_str(g->self, "task_id");
	const cJSON *d;
	int rc;

	if (g->depth == WF_TASKDEP_DEPTH)
		return -1;
	g->path[g->depth++] = tid;
	if (g->depth > 1 && same(tid, self))
		return 1;
	if ((rc = visited(g, tid)) != 0)
		goto back;
	cJSON_ArrayForEach(d, deps_of(g, tid)) {
		if (!cJSON_IsString(d))
			continue;
		if ((rc = search(g, d->valuestring)) != 0)
			return rc;
	}
back:
	g->depth--;
	return rc == -1 ? -1 : 0;
}

static int
cycle(const cJSON *tasks, const cJSON *task, long long pid, char *err,
    size_t errlen)
{
	struct graph g;
	char path[1024] = "";
	int rc;

	memset(&g, 0, sizeof(g));
	g.tasks = tasks;
	g.self = task;
	g.pid = pid;
	rc = search(&g, wf_json_str(task, "task_id"));
	free(g.seen);
	if (rc == 0)
		return 0;
	if (rc == -1)
		return wf_err_invalid(err, errlen, "blocked_by: a chain longer than "
		    "%d tasks (or out of memory)", WF_TASKDEP_DEPTH);
	for (size_t i = 0; i < g.depth; i++) {
		if (i > 0)
			strlcat(path, " -> ", sizeof(path));
		strlcat(path, g.path[i], sizeof(path));
	}
	return wf_err_invalid(err, errlen, "blocked_by: cycle %s", path);
}

/* The task_id of an existing task renamed while others wait on it. */
static int
renamed(const cJSON *tasks, const cJSON *task, long long pid, char *err,
    size_t errlen)
{
	long long id = wf_json_int(task, "id");
	const char *now = wf_json_str(task, "task_id"), *was = NULL;
	const cJSON *t, *d;

	cJSON_ArrayForEach(t, tasks) {
		if (id > 0 && wf_json_int(t, "id") == id)
			was = wf_json_str(t, "task_id");
	}
	if (was == NULL || same(was, now))
		return 0;
	cJSON_ArrayForEach(t, tasks) {
		if (wf_json_int(t, "project_id") != pid ||
		    wf_json_int(t, "id") == id)
			continue;
		cJSON_ArrayForEach(d, cJSON_GetObjectItem(t, "blocked_by")) {
			if (cJSON_IsString(d) && same(d->valuestring, was))
				return wf_err_invalid(err, errlen, "task_id: %.64s "
				    "waits on %.64s; drop that edge first",
				    wf_json_str(t, "task_id"), was);
		}
	}
	return 0;
}

int
wf_taskdep_check(const cJSON *tasks, const cJSON *task, char *err,
    size_t errlen)
{
	const cJSON *deps = cJSON_GetObjectItem(task, "blocked_by"), *d, *e;
	long long pid = wf_json_int(task, "project_id");
	const char *self = wf_json_str(task, "task_id");
	int n = 0;

	if (self == NULL)
		return wf_err_invalid(err, errlen, "task: task_id is required");
	if (renamed(tasks, task, pid, err, errlen) == -1)
		return -1;
	if (deps == NULL || cJSON_IsNull(deps))
		return 0;
	if (!cJSON_IsArray(deps))
		return wf_err_invalid(err, errlen, "blocked_by: not an array of "
		    "task ids");
	cJSON_ArrayForEach(d, deps) {
		const cJSON *t;

		if (!cJSON_IsString(d) || d->valuestring[0] == '\0')
			return wf_err_invalid(err, errlen, "blocked_by: entry %d is "
			    "not a task id", n + 1);
		if (++n > WF_TASKDEP_MAX)
			return wf_err_invalid(err, errlen, "blocked_by: more than %d "
			    "tasks", WF_TASKDEP_MAX);
		for (e = deps->child; e != d; e = e->next)
			if (cJSON_IsString(e) &&
			    strcmp(e->valuestring, d->valuestring) == 0)
				return wf_err_invalid(err, errlen, "blocked_by: "
				    "%.64s is listed twice", d->valuestring);
		if (strcmp(d->valuestring, self) == 0)
			continue; /* the cycle search says it */
		if (find(tasks, pid, d->valuestring) != NULL)
			continue;
		cJSON_ArrayForEach(t, tasks) {
			if (same(wf_json_str(t, "task_id"), d->valuestring))
				return wf_err_invalid(err, errlen, "blocked_by: %.64s "
				    "is a task of project %lld, not of "
				    "project %lld", d->valuestring,
				    wf_json_int(t, "project_id"), pid);
		}
		return wf_err_invalid(err, errlen, "blocked_by: no task %.64s in "
		    "project %lld", d->valuestring, pid);
	}
	return cycle(tasks, task, pid, err, errlen);
}

const char *
wf_taskdep_state_name(enum wf_taskdep_state s)
{
	switch (s) {
	case WF_TASKDEP_READY: return "ready";
	case WF_TASKDEP_WAITING: return "waiting";
	case WF_TASKDEP_BLOCKED: return "blocked";
	}
	return "?";
}

const cJSON *
wf_taskdep_run(const cJSON *task, const cJSON *runs)
{
	long long id = wf_json_int(task, "id"), rid = wf_json_int(task,
	    "run_id");
	const cJSON *r, *best = NULL;

	cJSON_ArrayForEach(r, runs) {
		long long n = wf_json_int(r, "id");

		if (n <= 0 || (n != rid && (id <= 0 ||
		    wf_json_int(r, "task_id") != id)))
			continue;
		if (best == NULL || n > wf_json_int(best, "id"))
			best = r;
	}
	return best;
}

const char *
wf_taskdep_stage(const cJSON *task, const cJSON *runs)
{
	static const struct {
		const char *state, *stage;
	} map[] = {
		{ "PM", "PM" }, { "DEV", "DEV" }, { "QA_FAILED", "DEV" },
		{ "SEC_FAILED", "DEV" }, { "QA", "QA" }, { "SEC", "SEC" },
		{ "READY_FOR_COMMIT", "COMPLETE" }, { "MERGED", "COMPLETE" },
		{ "READY_FOR_DEPLOY", "COMPLETE" }, { "TESTING", "COMPLETE" },
		{ "DEPLOYED", "COMPLETE" }, { "DEPLOY_FAILED", "COMPLETE" },
	};
	const cJSON *run;
	const char *st;

	if (same(wf_json_str(task, "status"), "done"))
		return "COMPLETE";
	if ((run = wf_taskdep_run(task, runs)) == NULL ||
	    (st = wf_json_str(run, "state")) == NULL)
		return "NONE";
	/* Test first: in PM's state, QA is the role at work. */
	if (strcmp(st, "PM") == 0 && same(wf_json_str(run, "phase"), "tdd"))
		return "QA";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(st, map[i].state) == 0)
			return map[i].stage;
	return "NONE"; /* ABANDONED: back in the backlog */
}

/* One dependency: its state, and a few words on it into buf. */
static enum wf_taskdep_state
one(const cJSON *tasks, const cJSON *runs, long long pid, const char *tid,
    const cJSON **tp, char *buf, size_t len)
{
	const cJSON *t = find(tasks, pid, tid), *run;
	const char *st, *stage;

	*tp = t;
	if (t == NULL) {
		snprintf(buf, len, "%.64s is gone", tid);
		return WF_TASKDEP_BLOCKED;
	}
	st = wf_json_str(t, "status");
	if (same(st, "done")) {
		snprintf(buf, len, "%.64s is done", tid);
		return WF_TASKDEP_READY;
	}
	if (same(st, "failed") || same(st, "cancelled")) {
		snprintf(buf, len, "%.64s %s", tid, same(st, "failed") ?
		    "failed" : "was cancelled");
		return WF_TASKDEP_BLOCKED;
	}
	run = wf_taskdep_run(t, runs);
	if (run != NULL && same(wf_json_str(run, "state"), "ABANDONED")) {
		snprintf(buf, len, "%.64s's run %lld was abandoned", tid,
		    wf_json_int(run, "id"));
		return WF_TASKDEP_BLOCKED;
	}
	stage = wf_taskdep_stage(t, runs);
	if (strcmp(stage, "NONE") == 0)
		snprintf(buf, len, "%.64s (%s)", tid, st != NULL ? st : "?");
	else
		snprintf(buf, len, "%.64s (%s, at %s)", tid, st != NULL ? st :
		    "?", stage);
	return WF_TASKDEP_WAITING;
}

enum wf_taskdep_state
wf_taskdep_ready(const cJSON *tasks, const cJSON *runs, const cJSON *task,
    char *why, size_t whylen, cJSON **waits)
{
	const cJSON *deps = cJSON_GetObjectItem(task, "blocked_by"), *d;
	long long pid = wf_json_int(task, "project_id");
	char wait[LIST_MAX] = "", block[LIST_MAX] = "", done[LIST_MAX] = "";
	char buf[160];
	enum wf_taskdep_state worst = WF_TASKDEP_READY, s;
	cJSON *arr = NULL;

	if (waits != NULL)
		*waits = arr = cJSON_CreateArray();
	cJSON_ArrayForEach(d, deps) {
		const cJSON *t;
		char *list;
		cJSON *o;

		if (!cJSON_IsString(d))
			continue;
		s = one(tasks, runs, pid, d->valuestring, &t, buf,
		    sizeof(buf));
		if (s > worst)
			worst = s;
		list = s == WF_TASKDEP_BLOCKED ? block :
		    s == WF_TASKDEP_WAITING ? wait : done;
		if (list[0] != '\0')
			strlcat(list, s == WF_TASKDEP_READY ? ", " : "; ",
			    LIST_MAX);
		strlcat(list, s == WF_TASKDEP_READY ? d->valuestring : buf,
		    LIST_MAX);
		if (arr == NULL || (o = cJSON_CreateObject()) == NULL)
			continue;
		cJSON_AddStringToObject(o, "task_id", d->valuestring);
		if (t != NULL) {
			cJSON_AddNumberToObject(o, "id",
			    (double)wf_json_int(t, "id"));
			cJSON_AddStringToObject(o, "status",
			    wf_json_str(t, "status") ? wf_json_str(t,
			    "status") : "?");
		} else {
			cJSON_AddNullToObject(o, "id");
			cJSON_AddNullToObject(o, "status");
		}
		cJSON_AddStringToObject(o, "state", s == WF_TASKDEP_READY ?
		    "done" : wf_taskdep_state_name(s));
		cJSON_AddStringToObject(o, "why", buf);
		cJSON_AddItemToArray(arr, o);
	}
	if (why == NULL)
		return worst;
	switch (worst) {
	case WF_TASKDEP_READY:
		if (done[0] == '\0')
			snprintf(why, whylen, "waits on nothing");
		else
			snprintf(why, whylen, "done: %s", done);
		break;
	case WF_TASKDEP_WAITING:
		snprintf(why, whylen, "waits on %s", wait);
		break;
	case WF_TASKDEP_BLOCKED:
		snprintf(why, whylen, "blocked: %s; a human decides: retry "
		    "it, drop the edge, or cancel this task", block);
		break;
	}
	return worst;
}

void
wf_taskdep_annotate(cJSON *arr, const cJSON *tasks, const cJSON *runs)
{
	cJSON *t, *r, *waits;
	char why[1024];
	enum wf_taskdep_state s;

	cJSON_ArrayForEach(t, arr) {
		cJSON_DeleteItemFromObjectCaseSensitive(t, "pipeline_stage");
		cJSON_AddStringToObject(t, "pipeline_stage",
		    wf_taskdep_stage(t, runs));
		s = wf_taskdep_ready(tasks, runs, t, why, sizeof(why), &waits);
		cJSON_DeleteItemFromObjectCaseSensitive(t, "readiness");
		if ((r = cJSON_AddObjectToObject(t, "readiness")) == NULL) {
			cJSON_Delete(waits);
			continue;
		}
		cJSON_AddStringToObject(r, "state", wf_taskdep_state_name(s));
		cJSON_AddStringToObject(r, "why", why);
		if (waits != NULL)
			cJSON_AddItemToObject(r, "waits_on", waits);
	}
}
