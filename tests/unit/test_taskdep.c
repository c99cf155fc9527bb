/*
 * test_taskdep: lib/taskdep on tasks and runs given as JSON text.  The
 * write checks (unknown ids, ids of another project, a repeated id, a
 * cycle with its path, a renamed task_id others wait on); readiness
 * (ready, waiting, blocked by a failed, cancelled, abandoned or deleted
 * dependency, and what a human's retry or dropped edge makes of it);
 * the stage a task's run puts it in; and the annotation a reader gets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "taskdep.h"

static cJSON *
json(const char *text)
{
	cJSON *o = cJSON_Parse(text);

	if (o == NULL)
		fail_msg("not JSON: %s", text);
	return o;
}

/* Three tasks of project 1 in a chain T-5 -> T-3 -> T-1, one of
 * project 2. */
static const char chain[] = "["
    "{\"id\":1,\"project_id\":1,\"task_id\":\"T-1\",\"status\":\"backlog\"},"
    "{\"id\":2,\"project_id\":1,\"task_id\":\"T-3\",\"status\":\"backlog\","
    "\"blocked_by\":[\"T-1\"]},"
    "{\"id\":3,\"project_id\":1,\"task_id\":\"T-5\",\"status\":\"backlog\","
    "\"blocked_by\":[\"T-3\"]},"
    "{\"id\":4,\"project_id\":2,\"task_id\":\"T-9\",\"status\":\"done\"}]";

/* check() of task against chain: 0, or -1 with EINVAL and err naming
 * needle. */
static void
check(const char *task, const char *needle)
{
	cJSON *tasks = json(chain), *t = json(task);
	char err[256] = "";
	int rc;

	errno = 0;
	rc = wf_taskdep_check(tasks, t, err, sizeof(err));
	if (needle == NULL && rc != 0)
		fail_msg("%s: refused: %s", task, err);
	if (needle != NULL) {
		if (rc != -1)
			fail_msg("%s: taken", task);
		assert_int_equal(errno, EINVAL);
		if (strcmp(err, needle) != 0)
			fail_msg("%s: '%s', not '%s'", task, err, needle);
	}
	cJSON_Delete(tasks);
	cJSON_Delete(t);
}

static void
test_check(void **state)
{
	(void)state;
	/* new tasks */
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[\"T-5\","
	    "\"T-1\"]}", NULL);
	check("{\"project_id\":1,\"task_id\":\"T-7\"}", NULL);
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[]}", NULL);
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[\"T-8\"]}",
	    "blocked_by: no task T-8 in project 1");
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[\"T-9\"]}",
	    "blocked_by: T-9 is a task of project 2, not of project 1");
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[\"T-7\"]}",
	    "blocked_by: cycle T-7 -> T-7");
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[\"T-1\","
	    "\"T-3\",\"T-1\"]}", "blocked_by: T-1 is listed twice");
	check("{\"project_id\":1,\"task_id\":\"T-7\",\"blocked_by\":[\"\"]}",
	    "blocked_by: entry 1 is not a task id");
	/* updates of T-1 (id 1): waiting on T-5 closes the chain */
	check("{\"id\":1,\"project_id\":1,\"task_id\":\"T-1\",\"blocked_by\":"
	    "[\"T-5\"]}", "blocked_by: cycle T-1 -> T-5 -> T-3 -> T-1");
	check("{\"id\":2,\"project_id\":1,\"task_id\":\"T-3\",\"blocked_by\":"
	    "[\"T-1\",\"T-5\"]}", "blocked_by: cycle T-3 -> T-5 -> T-3");
	/* T-5 may wait on T-1 directly too: a diamond is no cycle */
	check("{\"id\":3,\"project_id\":1,\"task_id\":\"T-5\",\"blocked_by\":"
	    "[\"T-3\",\"T-1\"]}", NULL);
	/* dropping an edge is always allowed */
	check("{\"id\":2,\"project_id\":1,\"task_id\":\"T-3\",\"blocked_by\":"
	    "[]}", NULL);
	/* T-3 renamed while T-5 waits on it */
	check("{\"id\":2,\"project_id\":1,\"task_id\":\"T-33\",\"blocked_by\":"
	    "[\"T-1\"]}", "task_id: T-5 waits on T-3; drop that edge first");
	/* T-5 renamed: nobody waits on it */
	check("{\"id\":3,\"project_id\":1,\"task_id\":\"T-55\",\"blocked_by\":"
	    "[\"T-3\"]}", NULL);
}

static void
test_check_bounds(void **state)
{
	cJSON *tasks = json(chain), *t = json("{\"project_id\":1,"
	    "\"task_id\":\"T-7\",\"blocked_by\":[]}");
	cJSON *deps = cJSON_GetObjectItem(t, "blocked_by");
	char err[256] = "", id[16];

	(void)state;
	for (int i = 0; i <= WF_TASKDEP_MAX; i++) {
		cJSON *x = cJSON_CreateObject();

		snprintf(id, sizeof(id), "X%d", i);
		cJSON_AddNumberToObject(x, "id", 100 + i);
		cJSON_AddNumberToObject(x, "project_id", 1);
		cJSON_AddStringToObject(x, "task_id", id);
		cJSON_AddItemToArray(tasks, x);
		cJSON_AddItemToArray(deps, cJSON_CreateString(id));
		/* at the bound, it holds */
		if (i == WF_TASKDEP_MAX - 1)
			assert_int_equal(wf_taskdep_check(tasks, t, err,
			    sizeof(err)), 0);
	}
	assert_int_equal(wf_taskdep_check(tasks, t, err, sizeof(err)), -1);
	assert_string_equal(err, "blocked_by: more than 64 tasks");
	cJSON_Delete(t);
	/* a graph that held a cycle before these checks: no endless loop */
	cJSON_Delete(tasks);
	tasks = json("[{\"id\":1,\"project_id\":1,\"task_id\":\"A\","
	    "\"blocked_by\":[\"B\"]},{\"id\":2,\"project_id\":1,\"task_id\":"
	    "\"B\",\"blocked_by\":[\"A\"]}]");
	t = json("{\"project_id\":1,\"task_id\":\"C\",\"blocked_by\":[\"A\"]}");
	assert_int_equal(wf_taskdep_check(tasks, t, err, sizeof(err)), 0);
	cJSON_Delete(t);
	cJSON_Delete(tasks);
}

/* The readiness of the task with id in tasks. */
static enum wf_taskdep_state
ready(const char *tasks_text, const char *runs_text, int id, char *why,
    size_t len)
{
	cJSON *tasks = json(tasks_text), *runs = runs_text ?
	    json(runs_text) : NULL, *t, *waits = NULL;
	enum wf_taskdep_state s = WF_TASKDEP_READY;
	int found = 0;

	cJSON_ArrayForEach(t, tasks) {
		if (cJSON_GetObjectItem(t, "id")->valueint != id)
			continue;
		s = wf_taskdep_ready(tasks, runs, t, why, len, &waits);
		assert_true(cJSON_IsArray(waits));
		assert_int_equal(cJSON_GetArraySize(waits), cJSON_GetArraySize(
		    cJSON_GetObjectItem(t, "blocked_by")));
		found = 1;
	}
	assert_true(found);
	cJSON_Delete(waits);
	cJSON_Delete(tasks);
	cJSON_Delete(runs);
	return s;
}

#define TASKS(s1, s3, deps5) "[" \
    "{\"id\":1,\"project_id\":1,\"task_id\":\"T-1\",\"status\":\"" s1 "\"}," \
    "{\"id\":2,\"project_id\":1,\"task_id\":\"T-3\",\"status\":\"" s3 "\"," \
    "\"run_id\":7}," \
    "{\"id\":3,\"project_id\":1,\"task_id\":\"T-5\",\"status\":\"backlog\"," \
    "\"blocked_by\":" deps5 "}]"

static void
test_ready(void **state)
{
	char why[512];

	(void)state;
	assert_int_equal(ready(TASKS("backlog", "backlog", "[]"), NULL, 3, why,
	    sizeof(why)), WF_TASKDEP_READY);
	assert_string_equal(why, "waits on nothing");
	assert_int_equal(ready(TASKS("done", "done", "[\"T-1\",\"T-3\"]"),
	    NULL, 3, why, sizeof(why)), WF_TASKDEP_READY);
	assert_string_equal(why, "done: T-1, T-3");
	assert_int_equal(ready(TASKS("done", "in_progress",
	    "[\"T-1\",\"T-3\"]"), "[{\"id\":7,\"state\":\"QA\"}]", 3, why,
	    sizeof(why)), WF_TASKDEP_WAITING);
	assert_string_equal(why, "waits on T-3 (in_progress, at QA)");
	assert_int_equal(ready(TASKS("backlog", "backlog",
	    "[\"T-1\",\"T-3\"]"), NULL, 3, why, sizeof(why)),
	    WF_TASKDEP_WAITING);
	assert_string_equal(why, "waits on T-1 (backlog); T-3 (backlog)");
	/* fail closed: failed, cancelled, abandoned, gone */
	assert_int_equal(ready(TASKS("failed", "backlog", "[\"T-1\",\"T-3\"]"),
	    NULL, 3, why, sizeof(why)), WF_TASKDEP_BLOCKED);
	assert_string_equal(why, "blocked: T-1 failed; a human decides: retry "
	    "it, drop the edge, or cancel this task");
	assert_int_equal(ready(TASKS("done", "cancelled", "[\"T-1\",\"T-3\"]"),
	    NULL, 3, why, sizeof(why)), WF_TASKDEP_BLOCKED);
	assert_non_null(strstr(why, "T-3 was cancelled"));
	assert_int_equal(ready(TASKS("done", "in_progress", "[\"T-3\"]"),
	    "[{\"id\":7,\"state\":\"ABANDONED\"}]", 3, why, sizeof(why)),
	    WF_TASKDEP_BLOCKED);
	assert_non_null(strstr(why, "T-3's run 7 was abandoned"));
	assert_int_equal(ready(TASKS("done", "done", "[\"T-4\"]"), NULL, 3,
	    why, sizeof(why)), WF_TASKDEP_BLOCKED);
	assert_non_null(strstr(why, "T-4 is gone"));
	/* a human's decisions: the failed one retried (back in the
	 * backlog) waits again; the edge dropped makes it ready */
	assert_int_equal(ready(TASKS("backlog", "done", "[\"T-1\",\"T-3\"]"),
	    NULL, 3, why, sizeof(why)), WF_TASKDEP_WAITING);
	assert_int_equal(ready(TASKS("failed", "done", "[\"T-3\"]"), NULL, 3,
	    why, sizeof(why)), WF_TASKDEP_READY);
	/* a failure beats a wait: the human is needed either way */
	assert_int_equal(ready(TASKS("backlog", "failed", "[\"T-1\",\"T-3\"]"),
	    NULL, 3, why, sizeof(why)), WF_TASKDEP_BLOCKED);
	assert_string_equal(wf_taskdep_state_name(WF_TASKDEP_WAITING),
	    "waiting");
}

static const char *
stage(const char *task, const char *runs_text)
{
	static char buf[16];
	cJSON *t = json(task), *runs = json(runs_text);

	strlcpy(buf, wf_taskdep_stage(t, runs), sizeof(buf));
	cJSON_Delete(t);
	cJSON_Delete(runs);
	return buf;
}

static void
test_stage(void **state)
{
	static const struct {
		const char *state, *stage;
	} m[] = {
		{ "PM", "PM" }, { "DEV", "DEV" }, { "QA", "QA" },
		{ "QA_FAILED", "DEV" }, { "SEC", "SEC" }, { "SEC_FAILED", "DEV" },
		{ "READY_FOR_COMMIT", "COMPLETE" }, { "MERGED", "COMPLETE" },
		{ "DEPLOYED", "COMPLETE" }, { "ABANDONED", "NONE" },
	};
	char runs[256];

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		/* the run found through the task's run_id */
		snprintf(runs, sizeof(runs), "[{\"id\":4,\"state\":\"%s\"}]",
		    m[i].state);
		assert_string_equal(stage("{\"id\":2,\"run_id\":4,\"status\":"
		    "\"in_progress\"}", runs), m[i].stage);
		/* and through the run's task_id */
		snprintf(runs, sizeof(runs), "[{\"id\":5,\"task_id\":2,"
		    "\"state\":\"%s\"}]", m[i].state);
		assert_string_equal(stage("{\"id\":2,\"status\":\"backlog\"}",
		    runs), m[i].stage);
	}
	assert_string_equal(stage("{\"id\":2,\"status\":\"backlog\"}", "[]"),
	    "NONE");
	assert_string_equal(stage("{\"id\":2,\"status\":\"done\"}", "[]"),
	    "COMPLETE");
	/* test first: QA writes the tests while the run is in PM */
	assert_string_equal(stage("{\"id\":2,\"run_id\":4}", "[{\"id\":4,"
	    "\"state\":\"PM\",\"phase\":\"tdd\"}]"), "QA");
	/* the newest run wins: a retry after an abandoned one */
	assert_string_equal(stage("{\"id\":2,\"run_id\":4}", "[{\"id\":4,"
	    "\"state\":\"ABANDONED\"},{\"id\":9,\"task_id\":2,\"state\":"
	    "\"SEC\"}]"), "SEC");
	assert_string_equal(wf_taskdep_stages[0], "NONE");
	assert_string_equal(wf_taskdep_stages[WF_TASKDEP_NSTAGES - 1],
	    "COMPLETE");
	assert_null(wf_taskdep_stages[WF_TASKDEP_NSTAGES]);
}

static void
test_annotate(void **state)
{
	cJSON *tasks = json(TASKS("done", "in_progress", "[\"T-1\",\"T-3\"]"));
	cJSON *runs = json("[{\"id\":7,\"state\":\"DEV\"}]");
	cJSON *arr = cJSON_Duplicate(tasks, 1), *t5, *r, *w;

	(void)state;
	cJSON_AddStringToObject(cJSON_GetArrayItem(arr, 2), "pipeline_stage",
	    "stale");
	wf_taskdep_annotate(arr, tasks, runs);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1),
	    "pipeline_stage")->valuestring, "DEV");
	t5 = cJSON_GetArrayItem(arr, 2);
	assert_string_equal(cJSON_GetObjectItem(t5, "pipeline_stage")
	    ->valuestring, "NONE");
	r = cJSON_GetObjectItem(t5, "readiness");
	assert_string_equal(cJSON_GetObjectItem(r, "state")->valuestring,
	    "waiting");
	w = cJSON_GetObjectItem(r, "waits_on");
	assert_int_equal(cJSON_GetArraySize(w), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 0),
	    "state")->valuestring, "done");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 1),
	    "status")->valuestring, "in_progress");
	/* twice gives the same, not a second copy */
	wf_taskdep_annotate(arr, tasks, runs);
	assert_int_equal(cJSON_GetArraySize(t5), 7);
	cJSON_Delete(arr);
	cJSON_Delete(tasks);
	cJSON_Delete(runs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_bounds),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_annotate),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
