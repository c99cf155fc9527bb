/*
 * test_director: one pass of lib/director at a time on a private tree
 * made with mkdtemp and removed afterwards: off does nothing; ready tasks
 * start in priority order, at most max_active a project, never one that
 * waits; criteria filled from the template; a task a run already names
 * is linked, never started again; a stuck run retried, then held; the
 * settings' ranges, and that they persist.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "director.h"
#include "pipeline.h"
#include "spool.h"
#include "store.h"

struct fx {
	char home[PATH_MAX];
	int root;
	int64_t project;
	struct wf_pipeline_conf pc;
	struct wf_director_conf dc;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int
fx_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char err[256];
	struct fx *f;
	cJSON *p;
	FILE *fp;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if (t == NULL || *t == '\0')
		t = "/tmp";
	snprintf(f->home, sizeof(f->home), "%s/wf-test-director.XXXXXX", t);
	if (mkdtemp(f->home) == NULL || wf_spool_init(f->home) == -1 ||
	    (f->root = wf_spool_open(f->home)) == -1) {
		free(f);
		return -1;
	}
	wf_pipeline_defaults(&f->pc);
	wf_director_defaults(&f->dc);
	if (strlcpy(f->dc.criteria, f->home, sizeof(f->dc.criteria)) >=
	    sizeof(f->dc.criteria) - 16)
		return -1;
	strlcat(f->dc.criteria, "/criteria.txt", sizeof(f->dc.criteria));
	if ((fp = fopen(f->dc.criteria, "w")) == NULL)
		return -1;
	fputs("# a comment\n\n{{task_id}} does {{title}}\n  tested\n", fp);
	fclose(fp);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", "p");
	cJSON_AddStringToObject(p, "repo_path", "/nonexistent");
	if (wf_store_create(f->root, &wf_kind_project, p, 1, &f->project, err,
	    sizeof(err)) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	close(f->root);
	nftw(f->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A task of the project: its id. */
static int64_t
task(struct fx *f, const char *tid, int prio, const char *after)
{
	cJSON *t = cJSON_CreateObject();
	char err[256];
	int64_t id;

	cJSON_AddNumberToObject(t, "project_id", (double)f->project);
	cJSON_AddStringToObject(t, "task_id", tid);
	cJSON_AddStringToObject(t, "title", tid);
	cJSON_AddNumberToObject(t, "priority", prio);
	if (after != NULL)
		cJSON_AddItemToObject(t, "blocked_by",
		    cJSON_CreateStringArray(&after, 1));
	assert_int_equal(wf_store_create(f->root, &wf_kind_task, t, 0, &id,
	    err, sizeof(err)), 0);
	return id;
}

static int64_t
field(struct fx *f, const struct wf_kind *k, int64_t id, const char *name)
{
	cJSON *o = NULL;
	char err[256];
	int64_t v = -1;

	assert_int_equal(wf_store_get(f->root, k, id, &o, err, sizeof(err)), 0);
	if (cJSON_IsNumber(cJSON_GetObjectItem(o, name)))
		v = (int64_t)cJSON_GetObjectItem(o, name)->valuedouble;
	cJSON_Delete(o);
	return v;
}

/* The runs whose task_id is task. */
static int
runs_of(struct fx *f, int64_t task_id)
{
	cJSON *runs = wf_store_list(f->root, &wf_kind_run, 0), *r;
	int n = 0;

	cJSON_ArrayForEach(r, runs)
		if (cJSON_GetObjectItem(r, "task_id") != NULL &&
		    cJSON_GetObjectItem(r, "task_id")->valuedouble ==
		    (double)task_id)
			n++;
	cJSON_Delete(runs);
	return n;
}

static void
pass(struct fx *f, struct wf_director_pass *p)
{
	char err[256];

	assert_int_equal(wf_director_run(f->root, &f->dc, &f->pc, p, err,
	    sizeof(err)), 0);
}

static void
test_off(void **state)
{
	struct fx *f = *state;
	struct wf_director_pass p;
	int64_t a = task(f, "A", 1, NULL);

	pass(f, &p);
	assert_int_equal(p.started, 0);
	assert_int_equal(runs_of(f, a), 0);
}

static void
test_order_and_limit(void **state)
{
	struct fx *f = *state;
	struct wf_director_pass p;
	char err[256];
	int64_t a = task(f, "A", 3, NULL), b = task(f, "B", 1, NULL);
	int64_t c = task(f, "C", 2, NULL), d = task(f, "D", 1, "B");
	cJSON *t = NULL;

	assert_int_equal(wf_director_set(f->root, 1, 2, -1, -1, -1, err,
	    sizeof(err)), 0);
	pass(f, &p);
	assert_int_equal(p.started, 2);
	assert_int_equal(p.filled, 2);
	/* B (1) first, then C (2); A waits for a slot, D for B */
	assert_int_equal(field(f, &wf_kind_task, b, "run_id"), 1);
	assert_int_equal(field(f, &wf_kind_task, c, "run_id"), 2);
	assert_int_equal(runs_of(f, a), 0);
	assert_int_equal(runs_of(f, d), 0);
	assert_int_equal(wf_store_get(f->root, &wf_kind_task, b, &t, err,
	    sizeof(err)), 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(t,
	    "acceptance_criteria"), 0)->valuestring, "B does B");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(t,
	    "acceptance_criteria"), 1)->valuestring, "tested");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t,
	    "acceptance_criteria")), 2);
	cJSON_Delete(t);
	/* again: nothing new */
	pass(f, &p);
	assert_int_equal(p.started, 0);
	/* B's run at READY_FOR_COMMIT frees a slot: A starts; D still
	 * waits, B not done */
	assert_int_equal(wf_pipeline_set_state(f->root, &f->pc, 1,
	    "READY_FOR_COMMIT", "test", err, sizeof(err)), 0);
	pass(f, &p);
	assert_int_equal(p.started, 1);
	assert_int_equal(runs_of(f, a), 1);
	assert_int_equal(runs_of(f, d), 0);
	assert_int_equal(runs_of(f, b), 1);
	assert_int_equal(runs_of(f, c), 1);
}

static void
test_relink(void **state)
{
	struct fx *f = *state;
	struct wf_director_pass p;
	char err[256];
	int64_t a = task(f, "A", 1, NULL), rid;

	/* a run made for A, its task not linked: a crash came between */
	assert_int_equal(wf_pipeline_create(f->root, &f->pc, f->project, a,
	    "x", &rid, err, sizeof(err)), 0);
	assert_int_equal(wf_director_set(f->root, 1, -1, -1, -1, -1, err,
	    sizeof(err)), 0);
	pass(f, &p);
	assert_int_equal(p.started, 0);
	assert_int_equal(p.linked, 1);
	assert_int_equal(runs_of(f, a), 1);
	assert_int_equal(field(f, &wf_kind_task, a, "run_id"), rid);
}

static void
test_stuck(void **state)
{
	struct fx *f = *state;
	struct wf_director_pass p;
	char err[256];
	cJSON *r = NULL;

	task(f, "A", 1, NULL);
	f->dc.stuck_after = 1;
	assert_int_equal(wf_director_set(f->root, 1, -1, -1, -1, 1, err,
	    sizeof(err)), 0);
	pass(f, &p);
	assert_int_equal(p.started, 1);
	assert_int_equal(p.retried, 0);
	sleep(1);
	usleep(100000);
	pass(f, &p);
	assert_int_equal(p.retried, 1);
	pass(f, &p);
	assert_int_equal(p.retried + p.gave_up, 0);
	sleep(1);
	usleep(100000);
	pass(f, &p);
	assert_int_equal(p.gave_up, 1);
	assert_int_equal(wf_store_get(f->root, &wf_kind_run, 1, &r, err,
	    sizeof(err)), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "waiting_for_human")));
	assert_non_null(strstr(cJSON_GetObjectItem(r,
	    "waiting_reason")->valuestring, "after 1 retry"));
	cJSON_Delete(r);
	/* held: the human's */
	sleep(1);
	usleep(100000);
	pass(f, &p);
	assert_int_equal(p.retried + p.gave_up, 0);
}

static void
test_settings(void **state)
{
	struct fx *f = *state;
	struct wf_director_conf eff;
	char err[256];
	int on;

	assert_int_equal(wf_director_settings(f->root, &f->dc, &on, &eff, err,
	    sizeof(err)), 0);
	assert_int_equal(on, 0);
	assert_int_equal(eff.max_active, 1);
	errno = 0;
	assert_int_equal(wf_director_set(f->root, 1, 65, -1, -1, -1, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "max_active"));
	assert_int_equal(wf_director_set(f->root, 1, 4, 5, 6, 0, err,
	    sizeof(err)), 0);
	assert_int_equal(wf_director_set(f->root, 0, -1, -1, -1, -1, err,
	    sizeof(err)), 0);
	assert_int_equal(wf_director_settings(f->root, &f->dc, &on, &eff, err,
	    sizeof(err)), 0);
	assert_int_equal(on, 0);
	assert_int_equal(eff.max_active, 4);
	assert_int_equal(eff.interval, 5);
	assert_int_equal(eff.stuck_after, 6);
	assert_int_equal(eff.retries, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_off, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_order_and_limit, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_relink, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_stuck, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_settings, fx_setup,
		    fx_teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
