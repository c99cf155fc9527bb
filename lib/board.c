/*
 * board: the store at a glance, as one JSON object: tasks in columns by
 * status and by the stage of the pipeline they are in, runs by state, open bugs counted, the queue counted.  wf board
 * prints it (--json as it is) and wf-httpd serves it at /api/board.  It
 * only reads: the store's files and the spool's directories, never taking
 * a lock (a board a moment old is as good).
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "json.h"
#include "queue.h"
#include "store.h"
#include "taskdep.h"

struct qcount {
	int root;
	long waiting, running, failed, done, cancelled;
};

static int
q_visit(const struct wf_jobref *ref, void *arg)
{
	struct qcount *q = arg;

	switch (ref->where) {
	case WF_IN_QUEUE:
	case WF_IN_DEFERRED: q->waiting++; break;
	case WF_IN_ACTIVE:
		if (wf_queue_started(q->root, ref->name))
			q->running++;
		else
			q->waiting++;
		break;
	case WF_IN_FAILED: q->failed++; break;
	case WF_IN_DONE: q->done++; break;
	case WF_IN_CANCELLED: q->cancelled++; break;
	default: break;
	}
	return 0;
}

/* A task on the board: its ids, title and priority. */
static cJSON *
task_card(const cJSON *it)
{
	cJSON *t = cJSON_CreateObject();

	cJSON_AddNumberToObject(t, "id", (double)wf_json_int(it, "id"));
	cJSON_AddNumberToObject(t, "project_id",
	    (double)wf_json_int(it, "project_id"));
	cJSON_AddStringToObject(t, "task_id",
	    wf_json_str(it, "task_id") ? wf_json_str(it, "task_id") : "");
	cJSON_AddStringToObject(t, "title",
	    wf_json_str(it, "title") ? wf_json_str(it, "title") : "");
	cJSON_AddNumberToObject(t, "priority",
	    (double)wf_json_int(it, "priority"));
	return t;
}

/* The tasks by stage, the seed's board: each with its status and, when
 * it is not ready, what it waits on.  Derived from every task and run,
 * since a project's tasks may only wait on their own. */
static void
stages(int root, int64_t project_id, cJSON *out)
{
	cJSON *col = cJSON_AddObjectToObject(out, "stages");
	cJSON *tasks = wf_store_list(root, &wf_kind_task, 0);
	cJSON *runs = wf_store_list(root, &wf_kind_run, 0);
	const cJSON *it;
	char why[1024];

	for (int i = 0; i < WF_TASKDEP_NSTAGES; i++)
		cJSON_AddArrayToObject(col, wf_taskdep_stages[i]);
	cJSON_ArrayForEach(it, tasks)
	{
		enum wf_taskdep_state s;
		cJSON *t, *r;

		if (project_id > 0 && wf_json_int(it, "project_id") != project_id)
			continue;
		t = task_card(it);
		cJSON_AddStringToObject(t, "status",
		    wf_json_str(it, "status") ? wf_json_str(it, "status") : "");
		cJSON_AddItemToObject(t, "blocked_by", cJSON_IsArray(
		    cJSON_GetObjectItem(it, "blocked_by")) ? cJSON_Duplicate(
		    cJSON_GetObjectItem(it, "blocked_by"), 1) :
		    cJSON_CreateArray());
		s = wf_taskdep_ready(tasks, runs, it, why, sizeof(why), NULL);
		r = cJSON_AddObjectToObject(t, "readiness");
		cJSON_AddStringToObject(r, "state", wf_taskdep_state_name(s));
		cJSON_AddStringToObject(r, "why", why);
		cJSON_AddItemToArray(cJSON_GetObjectItem(col,
		    wf_taskdep_stage(it, runs)), t);
	}
	cJSON_Delete(tasks);
	cJSON_Delete(runs);
}

/* The board's data as one object. */
cJSON *
wf_board_collect(int root, int64_t project_id, const cJSON *project)
{
	cJSON *out = cJSON_CreateObject(), *tasks, *runs, *bugs, *q, *all, *it;
	struct qcount qc;
	long nbug[WF_BUG_NSTATUS] = { 0 };

	if (project != NULL) {
		cJSON *p = cJSON_AddObjectToObject(out, "project");

		cJSON_AddNumberToObject(p, "id", (double)project_id);
		cJSON_AddStringToObject(p, "name",
		    wf_json_str(project, "name") ? wf_json_str(project, "name") : "");
	} else
		cJSON_AddNullToObject(out, "project");

	tasks = cJSON_AddObjectToObject(out, "tasks");
	for (int i = 0; i < WF_TASK_NSTATUS; i++)
		cJSON_AddArrayToObject(tasks, wf_store_task_status[i]);
	all = wf_store_list(root, &wf_kind_task, project_id);
	cJSON_ArrayForEach(it, all)
	{
		const char *st = wf_json_str(it, "status");
		cJSON *col, *t;

		if (st == NULL ||
		    (col = cJSON_GetObjectItem(tasks, st)) == NULL)
			continue;
		t = task_card(it);
		cJSON_AddItemToArray(col, t);
	}
	cJSON_Delete(all);
	stages(root, project_id, out);

	runs = cJSON_AddObjectToObject(out, "runs");
	for (int i = 0; wf_store_run_states[i] != NULL; i++)
		cJSON_AddArrayToObject(runs, wf_store_run_states[i]);
	all = wf_store_list(root, &wf_kind_run, project_id);
	cJSON_ArrayForEach(it, all)
	{
		const char *st = wf_json_str(it, "state"), *why;
		cJSON *col, *r;
		int waiting;

		if (st == NULL || (col = cJSON_GetObjectItem(runs, st)) == NULL)
			continue;
		waiting =
		    cJSON_IsTrue(cJSON_GetObjectItem(it, "waiting_for_human"));
		why = wf_json_str(it, "waiting_reason");
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "id", (double)wf_json_int(it, "id"));
		cJSON_AddNumberToObject(
		    r, "project_id", (double)wf_json_int(it, "project_id"));
		if (wf_json_str(it, "name") != NULL)
			cJSON_AddStringToObject(r, "name", wf_json_str(it, "name"));
		else
			cJSON_AddNullToObject(r, "name");
		cJSON_AddNumberToObject(
		    r, "iteration", (double)wf_json_int(it, "iteration"));
		cJSON_AddNumberToObject(
		    r, "tokens_in", (double)wf_json_int(it, "tokens_in"));
		cJSON_AddNumberToObject(
		    r, "tokens_out", (double)wf_json_int(it, "tokens_out"));
		cJSON_AddBoolToObject(r, "waiting_for_human", waiting);
		if (waiting && why != NULL)
			cJSON_AddStringToObject(r, "waiting_reason", why);
		else
			cJSON_AddNullToObject(r, "waiting_reason");
		cJSON_AddItemToArray(col, r);
	}
	cJSON_Delete(all);

	all = wf_store_list(root, &wf_kind_bug, project_id);
	cJSON_ArrayForEach(it, all)
	{
		const char *st = wf_json_str(it, "status");

		for (int i = 0; st != NULL && wf_store_bug_status[i] != NULL; i++)
			if (strcmp(st, wf_store_bug_status[i]) == 0)
				nbug[i]++;
	}
	cJSON_Delete(all);
	bugs = cJSON_AddObjectToObject(out, "bugs");
	for (int i = 0; wf_store_bug_status[i] != NULL; i++)
		cJSON_AddNumberToObject(bugs, wf_store_bug_status[i], nbug[i]);

	memset(&qc, 0, sizeof(qc));
	qc.root = root;
	wf_queue_walk(root, q_visit, &qc);
	q = cJSON_AddObjectToObject(out, "queue");
	cJSON_AddNumberToObject(q, "waiting", qc.waiting);
	cJSON_AddNumberToObject(q, "running", qc.running);
	cJSON_AddNumberToObject(q, "failed", qc.failed);
	cJSON_AddNumberToObject(q, "completed", qc.done);
	cJSON_AddNumberToObject(q, "cancelled", qc.cancelled);
	return out;
}
