/*
 * test_store: the entity store of lib/store.c on a private tree made with
 * mkdtemp.  Create, get, update, delete and list for each kind; the
 * schema's checks (unknown fields, types, read-only fields, required
 * fields, defaults, unique names, references); ids that only grow; a
 * corrupt entity file; and concurrent writers in several processes: 8 x 100
 * read-modify-writes of one counter lose none, 8 x 25 creates give 200
 * distinct ids, and concurrent updates of different fields keep them all.
 * A task's edges (blocked_by) checked by the store for every writer, and
 * 8 writers each adding one edge of a ring: exactly one is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "store.h"

#define NPROC 8

struct tree {
	char home[PATH_MAX];
	int root;
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

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
tree_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	struct tree *tr;

	if ((tr = calloc(1, sizeof(*tr))) == NULL)
		return -1;
	if (t == NULL || *t == '\0')
		t = "/tmp";
	snprintf(tr->home, sizeof(tr->home), "%s/wf-test-store.XXXXXX", t);
	if (mkdtemp(tr->home) == NULL || wf_spool_init(tr->home) == -1 ||
	    (tr->root = wf_spool_open(tr->home)) == -1) {
		rm_tree(tr->home);
		free(tr);
		return -1;
	}
	*state = tr;
	return 0;
}

static int
tree_teardown(void **state)
{
	struct tree *tr = *state;

	close(tr->root);
	rm_tree(tr->home);
	free(tr);
	return 0;
}

static cJSON *
json(const char *text)
{
	cJSON *o = cJSON_Parse(text);

	assert_non_null(o);
	return o;
}

/* Create from JSON text; the test fails unless the store takes it. */
static int64_t
make(int root, const struct wf_kind *k, const char *text, int trusted)
{
	char err[512] = "";
	int64_t id = 0;

	if (wf_store_create(root, k, json(text), trusted, &id, err,
	    sizeof(err)) == -1)
		fail_msg("%s %s: %s", k->name, text, err);
	assert_true(id > 0);
	return id;
}

/* The store refuses text with EINVAL and an error that names needle. */
static void
refused(int root, const struct wf_kind *k, const char *text, int trusted,
    const char *needle)
{
	char err[512] = "";
	int64_t id = 0;

	errno = 0;
	if (wf_store_create(root, k, json(text), trusted, &id, err,
	    sizeof(err)) != -1)
		fail_msg("%s %s: taken, as id %lld", k->name, text,
		    (long long)id);
	assert_int_equal(errno, EINVAL);
	if (strstr(err, needle) == NULL)
		fail_msg("%s %s: '%s' does not name %s", k->name, text, err,
		    needle);
}

static void
update_refused(int root, const struct wf_kind *k, int64_t id,
    const char *text, int trusted, const char *needle)
{
	char err[512] = "";
	cJSON *p = json(text);

	errno = 0;
	assert_int_equal(wf_store_update(root, k, id, p, trusted, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	if (strstr(err, needle) == NULL)
		fail_msg("%s: '%s' does not name %s", text, err, needle);
	cJSON_Delete(p);
}

static void
update(int root, const struct wf_kind *k, int64_t id, const char *text,
    int trusted)
{
	char err[512] = "";
	cJSON *p = json(text);

	if (wf_store_update(root, k, id, p, trusted, err, sizeof(err)) == -1)
		fail_msg("%s %lld %s: %s", k->name, (long long)id, text, err);
	cJSON_Delete(p);
}

static cJSON *
get(int root, const struct wf_kind *k, int64_t id)
{
	char err[512] = "";
	cJSON *o = NULL;

	if (wf_store_get(root, k, id, &o, err, sizeof(err)) == -1)
		fail_msg("%s %lld: %s", k->name, (long long)id, err);
	return o;
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static int
count(int root, const struct wf_kind *k, int64_t project_id)
{
	cJSON *all = wf_store_list(root, k, project_id);
	int n;

	assert_non_null(all);
	n = cJSON_GetArraySize(all);
	cJSON_Delete(all);
	return n;
}

static void
test_kinds(void **state)
{
	const struct wf_kind *all[] = { &wf_kind_project, &wf_kind_task,
		&wf_kind_run, &wf_kind_bug, &wf_kind_environment };
	const struct wf_field *f;

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_ptr_equal(wf_store_kind(all[i]->name), all[i]);
		f = wf_store_field(all[i], "id");
		assert_non_null(f);
		assert_true(f->flags & WF_FF_READONLY);
		assert_non_null(wf_store_field(all[i], "created_at"));
		assert_null(wf_store_field(all[i], "no_such_field"));
	}
	assert_null(wf_store_kind("nope"));
	assert_null(wf_store_kind(""));
	f = wf_store_field(&wf_kind_task, "project_id");
	assert_int_equal(f->type, WF_F_REF);
	assert_string_equal(f->ref, "project");
}

/* One kind through create, get, update, list and delete. */
static void
crud(int root, const struct wf_kind *k, const char *fields,
    const char *patch, const char *field, const char *value)
{
	char err[512];
	int64_t id;
	cJSON *o;
	int before = count(root, k, 0);

	id = make(root, k, fields, 0);
	o = get(root, k, id);
	assert_int_equal((int64_t)num(o, "id"), id);
	assert_non_null(str(o, "created_at"));
	assert_non_null(str(o, "updated_at"));
	cJSON_Delete(o);
	assert_int_equal(count(root, k, 0), before + 1);

	update(root, k, id, patch, 0);
	o = get(root, k, id);
	assert_non_null(str(o, field));
	assert_string_equal(str(o, field), value);
	assert_int_equal((int64_t)num(o, "id"), id);
	cJSON_Delete(o);

	assert_int_equal(wf_store_delete(root, k, id, err, sizeof(err)), 0);
	errno = 0;
	assert_int_equal(wf_store_get(root, k, id, &o, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(o);
	assert_non_null(strstr(err, "no such"));
	assert_int_equal(count(root, k, 0), before);
	errno = 0;
	assert_int_equal(wf_store_delete(root, k, id, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_crud(void **state)
{
	struct tree *t = *state;

	assert_int_equal(make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0),
	    1);
	crud(t->root, &wf_kind_project,
	    "{\"name\":\"q\",\"languages\":[\"c\"]}",
	    "{\"description\":\"d\"}", "description", "d");
	crud(t->root, &wf_kind_task,
	    "{\"project_id\":1,\"task_id\":\"T1\",\"title\":\"t\"}",
	    "{\"status\":\"done\"}", "status", "done");
	crud(t->root, &wf_kind_run, "{\"project_id\":1}", "{\"name\":\"r\"}",
	    "name", "r");
	crud(t->root, &wf_kind_bug, "{\"title\":\"b\",\"project_id\":1}",
	    "{\"status\":\"closed\"}", "status", "closed");
	crud(t->root, &wf_kind_environment,
	    "{\"project_id\":1,\"name\":\"prod\",\"env_type\":\"production\"}",
	    "{\"url\":\"https://x\"}", "url", "https://x");
}

static void
test_missing(void **state)
{
	struct tree *t = *state;
	char err[512];
	cJSON *o, *p = json("{\"name\":\"x\"}");

	for (int64_t id = -1; id <= 1; id++) {
		errno = 0;
		assert_int_equal(wf_store_get(t->root, &wf_kind_project, id, &o,
		    err, sizeof(err)), -1);
		assert_int_equal(errno, ENOENT);
	}
	errno = 0;
	assert_int_equal(wf_store_update(t->root, &wf_kind_project, 7, p, 0,
	    err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "no such project"));
	cJSON_Delete(p);
}

static void
test_unknown_and_types(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *P = &wf_kind_project, *T = &wf_kind_task;

	make(t->root, P, "{\"name\":\"p\"}", 0);
	refused(t->root, P, "{\"name\":\"x\",\"bogus\":1}", 0, "bogus");
	refused(t->root, P, "{\"name\":5}", 0, "name");
	refused(t->root, P, "{\"name\":\"x\",\"description\":[]}", 0,
	    "description");
	refused(t->root, P, "{\"name\":\"x\",\"languages\":\"c\"}", 0,
	    "languages");
	refused(t->root, P, "{\"name\":\"x\",\"languages\":[\"c\",1]}", 0,
	    "languages");
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"T\",\"title\":"
	    "\"t\",\"priority\":\"high\"}", 0, "priority");
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"T\",\"title\":"
	    "\"t\",\"priority\":2.5}", 0, "priority");
	refused(t->root, T, "{\"project_id\":\"1\",\"task_id\":\"T\","
	    "\"title\":\"t\"}", 0, "project_id");
	refused(t->root, T, "{\"project_id\":0,\"task_id\":\"T\","
	    "\"title\":\"t\"}", 0, "project_id");
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"T\",\"title\":"
	    "\"t\",\"status\":\"doing\"}", 0, "status");
	refused(t->root, &wf_kind_run, "{\"project_id\":1,"
	    "\"waiting_for_human\":\"yes\"}", 1, "waiting_for_human");
	refused(t->root, &wf_kind_run, "{\"project_id\":1,"
	    "\"approved_at\":\"yesterday\"}", 1, "approved_at");
	refused(t->root, &wf_kind_environment, "{\"project_id\":1,\"name\":"
	    "\"e\",\"env_type\":\"moon\"}", 0, "env_type");
	refused(t->root, P, "[1,2]", 0, "not a JSON object");
	update_refused(t->root, P, 1, "{\"nope\":true}", 0, "nope");
	update_refused(t->root, P, 1, "{\"frameworks\":{}}", 0, "frameworks");
	/* Nothing refused was written. */
	assert_int_equal(count(t->root, P, 0), 1);
	assert_int_equal(count(t->root, T, 0), 0);
	assert_int_equal(count(t->root, &wf_kind_run, 0), 0);
}

static void
test_readonly(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *R = &wf_kind_run;
	int64_t id;
	cJSON *o;

	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	refused(t->root, R, "{\"project_id\":1,\"tokens_in\":5}", 0,
	    "tokens_in");
	refused(t->root, R, "{\"project_id\":1,\"state\":\"DEV\"}", 0,
	    "state");
	refused(t->root, &wf_kind_project, "{\"name\":\"x\",\"created_at\":"
	    "\"2024-01-01T00:00:00Z\"}", 0, "created_at");
	id = make(t->root, R, "{\"project_id\":1,\"tokens_in\":5}", 1);
	update_refused(t->root, R, id, "{\"state\":\"DEV\"}", 0, "state");
	update_refused(t->root, R, id, "{\"id\":9}", 0, "id");
	update(t->root, R, id, "{\"state\":\"DEV\",\"tokens_out\":7}", 1);
	o = get(t->root, R, id);
	assert_string_equal(str(o, "state"), "DEV");
	assert_int_equal((int)num(o, "tokens_in"), 5);
	assert_int_equal((int)num(o, "tokens_out"), 7);
	cJSON_Delete(o);
}

static void
test_required(void **state)
{
	struct tree *t = *state;

	refused(t->root, &wf_kind_project, "{}", 0, "name");
	refused(t->root, &wf_kind_project, "{\"name\":\"\"}", 0, "name");
	refused(t->root, &wf_kind_project, "{\"name\":null}", 0, "name");
	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	refused(t->root, &wf_kind_task, "{\"project_id\":1,\"task_id\":\"T\"}",
	    0, "title");
	refused(t->root, &wf_kind_task, "{\"title\":\"t\",\"task_id\":\"T\"}",
	    0, "project_id");
	refused(t->root, &wf_kind_environment, "{\"project_id\":1}", 0, "name");
	refused(t->root, &wf_kind_run, "{}", 1, "project_id");
	refused(t->root, &wf_kind_bug, "{\"description\":\"d\"}", 0, "title");
	update_refused(t->root, &wf_kind_project, 1, "{\"name\":null}", 0,
	    "name");
}

static void
test_defaults(void **state)
{
	struct tree *t = *state;
	cJSON *o;
	int64_t id;

	id = make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	o = get(t->root, &wf_kind_project, id);
	assert_string_equal(str(o, "primary_branch"), "main");
	cJSON_Delete(o);

	id = make(t->root, &wf_kind_task, "{\"project_id\":1,\"task_id\":"
	    "\"T1\",\"title\":\"t\"}", 0);
	o = get(t->root, &wf_kind_task, id);
	assert_string_equal(str(o, "status"), "backlog");
	assert_int_equal((int)num(o, "priority"), 3);
	cJSON_Delete(o);
	id = make(t->root, &wf_kind_task, "{\"project_id\":1,\"task_id\":"
	    "\"T2\",\"title\":\"t\",\"priority\":1,\"status\":\"blocked\"}", 0);
	o = get(t->root, &wf_kind_task, id);
	assert_string_equal(str(o, "status"), "blocked");
	assert_int_equal((int)num(o, "priority"), 1);
	cJSON_Delete(o);

	id = make(t->root, &wf_kind_run, "{\"project_id\":1}", 0);
	o = get(t->root, &wf_kind_run, id);
	assert_string_equal(str(o, "state"), "PM");
	assert_int_equal((int)num(o, "iteration"), 1);
	assert_int_equal((int)num(o, "tokens_in"), 0);
	assert_int_equal((int)num(o, "tokens_out"), 0);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "waiting_for_human")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "results")));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(o, "history")));
	cJSON_Delete(o);

	id = make(t->root, &wf_kind_bug, "{\"title\":\"b\"}", 0);
	o = get(t->root, &wf_kind_bug, id);
	assert_string_equal(str(o, "status"), "open");
	cJSON_Delete(o);

	id = make(t->root, &wf_kind_environment, "{\"project_id\":1,"
	    "\"name\":\"dev\"}", 0);
	o = get(t->root, &wf_kind_environment, id);
	assert_string_equal(str(o, "env_type"), "development");
	cJSON_Delete(o);
}

static void
test_unique(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *P = &wf_kind_project, *T = &wf_kind_task;
	const struct wf_kind *E = &wf_kind_environment;

	assert_int_equal(make(t->root, P, "{\"name\":\"a\"}", 0), 1);
	assert_int_equal(make(t->root, P, "{\"name\":\"b\"}", 0), 2);
	refused(t->root, P, "{\"name\":\"a\"}", 0, "name 'a' is taken");
	update_refused(t->root, P, 2, "{\"name\":\"a\"}", 0, "name");
	update(t->root, P, 1, "{\"name\":\"a\",\"description\":\"x\"}", 0);

	make(t->root, T, "{\"project_id\":1,\"task_id\":\"T1\",\"title\":"
	    "\"t\"}", 0);
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"T1\",\"title\":"
	    "\"u\"}", 0, "task_id");
	/* The same task_id in another project is another task. */
	make(t->root, T, "{\"project_id\":2,\"task_id\":\"T1\",\"title\":"
	    "\"t\"}", 0);
	/* Moving it into the first project would make two T1 there. */
	update_refused(t->root, T, 2, "{\"project_id\":1}", 0, "task_id");

	make(t->root, E, "{\"project_id\":1,\"name\":\"prod\"}", 0);
	refused(t->root, E, "{\"project_id\":1,\"name\":\"prod\"}", 0, "name");
	make(t->root, E, "{\"project_id\":2,\"name\":\"prod\"}", 0);
	assert_int_equal(count(t->root, T, 0), 2);
	assert_int_equal(count(t->root, E, 0), 2);
}

static void
test_references(void **state)
{
	struct tree *t = *state;

	refused(t->root, &wf_kind_task, "{\"project_id\":9,\"task_id\":\"T1\","
	    "\"title\":\"t\"}", 0, "project_id");
	refused(t->root, &wf_kind_environment, "{\"project_id\":9,\"name\":"
	    "\"prod\"}", 0, "project_id");
	refused(t->root, &wf_kind_bug, "{\"title\":\"b\",\"project_id\":9}", 0,
	    "project_id");
	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	refused(t->root, &wf_kind_run, "{\"project_id\":1,\"task_id\":42}", 1,
	    "task_id");
	make(t->root, &wf_kind_task, "{\"project_id\":1,\"task_id\":\"T1\","
	    "\"title\":\"t\"}", 0);
	update_refused(t->root, &wf_kind_task, 1, "{\"project_id\":9}", 0,
	    "project_id");
	update_refused(t->root, &wf_kind_task, 1, "{\"run_id\":3}", 0,
	    "run_id");
	make(t->root, &wf_kind_run, "{\"project_id\":1,\"task_id\":1}", 1);
	update(t->root, &wf_kind_task, 1, "{\"run_id\":1}", 0);
}

static void
test_ids(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *P = &wf_kind_project;
	char err[512];

	assert_int_equal(make(t->root, P, "{\"name\":\"a\"}", 0), 1);
	assert_int_equal(make(t->root, P, "{\"name\":\"b\"}", 0), 2);
	assert_int_equal(make(t->root, P, "{\"name\":\"c\"}", 0), 3);
	/* A caller's id is not the id. */
	assert_int_equal(make(t->root, P, "{\"name\":\"d\",\"id\":1}", 1), 4);
	assert_int_equal(wf_store_delete(t->root, P, 4, err, sizeof(err)), 0);
	assert_int_equal(make(t->root, P, "{\"name\":\"e\"}", 0), 5);
	assert_int_equal(wf_store_delete(t->root, P, 1, err, sizeof(err)), 0);
	assert_int_equal(make(t->root, P, "{\"name\":\"a\"}", 0), 6);
	/* Each kind counts for itself. */
	assert_int_equal(make(t->root, &wf_kind_bug, "{\"title\":\"b\"}", 0),
	    1);
}

static void
test_list(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *T = &wf_kind_task;
	char text[128];
	cJSON *all, *it;
	double last = 0;

	make(t->root, &wf_kind_project, "{\"name\":\"a\"}", 0);
	make(t->root, &wf_kind_project, "{\"name\":\"b\"}", 0);
	for (int i = 0; i < 12; i++) {
		snprintf(text, sizeof(text), "{\"project_id\":%d,\"task_id\":"
		    "\"T%d\",\"title\":\"t\"}", i % 3 == 0 ? 2 : 1, i);
		make(t->root, T, text, 0);
	}
	assert_int_equal(count(t->root, T, 0), 12);
	assert_int_equal(count(t->root, T, 1), 8);
	assert_int_equal(count(t->root, T, 2), 4);
	assert_int_equal(count(t->root, T, 3), 0);
	/* In the order of the ids, as numbers: 2 before 10. */
	all = wf_store_list(t->root, T, 0);
	cJSON_ArrayForEach(it, all) {
		assert_true(num(it, "id") > last);
		last = num(it, "id");
	}
	assert_int_equal((int)last, 12);
	cJSON_Delete(all);
}

static void
write_file(int root, const char *path, const char *text)
{
	int fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_corrupt(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *P = &wf_kind_project;
	char err[512];
	cJSON *o, *p;

	make(t->root, P, "{\"name\":\"a\"}", 0);
	make(t->root, P, "{\"name\":\"b\"}", 0);
	make(t->root, P, "{\"name\":\"c\"}", 0);
	write_file(t->root, "state/projects/1.json", "{\"name\":\"a\",");
	write_file(t->root, "state/projects/2.json", "[1,2,3]");
	write_file(t->root, "state/projects/junk.json", "{}");
	write_file(t->root, "state/projects/0.json", "{\"id\":0}");

	errno = 0;
	assert_int_equal(wf_store_get(t->root, P, 1, &o, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_null(o);
	assert_non_null(strstr(err, "1.json"));
	assert_int_equal(wf_store_get(t->root, P, 2, &o, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EINVAL);
	/* The others are still there, and the store goes on. */
	assert_int_equal(count(t->root, P, 0), 1);
	p = json("{\"description\":\"d\"}");
	errno = 0;
	assert_int_equal(wf_store_update(t->root, P, 1, p, 0, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	cJSON_Delete(p);
	update(t->root, P, 3, "{\"description\":\"d\"}", 0);
	assert_int_equal(make(t->root, P, "{\"name\":\"d\"}", 0), 4);
	/* A broken counter: one past the largest id there is. */
	write_file(t->root, "state/projects/.next", "banana\n");
	assert_int_equal(make(t->root, P, "{\"name\":\"e\"}", 0), 5);
	assert_int_equal(wf_store_delete(t->root, P, 1, err, sizeof(err)), 0);
}

/* Run fn(root, i) in NPROC processes at once; each must exit 0. */
static void
in_parallel(struct tree *t, int (*fn)(int, int))
{
	pid_t pids[NPROC];
	int status;

	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			int root = wf_spool_open(t->home);

			_exit(root == -1 ? 100 : fn(root, i));
		}
	}
	for (int i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) != 0)
			fail_msg("child %d exited %d", i, WEXITSTATUS(status));
	}
}

/* 100 read-modify-writes of tokens_in under the runs' lock. */
static int
bump(int root, int who)
{
	char err[512];

	(void)who;
	for (int n = 0; n < 100; n++) {
		int lk = wf_store_lock(root, &wf_kind_run);
		cJSON *o, *v;

		if (lk == -1)
			return 1;
		if (wf_store_get_locked(root, &wf_kind_run, 1, &o, err,
		    sizeof(err)) == -1) {
			wf_store_unlock(lk);
			return 2;
		}
		v = cJSON_GetObjectItemCaseSensitive(o, "tokens_in");
		cJSON_SetNumberValue(v, v->valuedouble + 1);
		if (wf_store_put_locked(root, &wf_kind_run, 1, o, err,
		    sizeof(err)) == -1) {
			cJSON_Delete(o);
			wf_store_unlock(lk);
			return 3;
		}
		cJSON_Delete(o);
		wf_store_unlock(lk);
	}
	return 0;
}

static void
test_concurrent_counter(void **state)
{
	struct tree *t = *state;
	cJSON *o;

	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	assert_int_equal(make(t->root, &wf_kind_run, "{\"project_id\":1}", 1),
	    1);
	in_parallel(t, bump);
	o = get(t->root, &wf_kind_run, 1);
	assert_int_equal((int)num(o, "tokens_in"), NPROC * 100);
	cJSON_Delete(o);
}

/* 25 bugs, and one try at the project name everyone wants. */
static int
make_many(int root, int who)
{
	char err[512], name[64];
	int64_t id;

	for (int n = 0; n < 25; n++) {
		cJSON *f = cJSON_CreateObject();

		snprintf(name, sizeof(name), "bug %d.%d", who, n);
		cJSON_AddStringToObject(f, "title", name);
		if (wf_store_create(root, &wf_kind_bug, f, 0, &id, err,
		    sizeof(err)) == -1)
			return 1;
		if (n == 12) {
			/* Most lose: the parent counts the winners. */
			f = cJSON_CreateObject();
			cJSON_AddStringToObject(f, "name", "wanted");
			(void)wf_store_create(root, &wf_kind_project, f, 0, &id,
			    err, sizeof(err));
		}
	}
	return 0;
}

static void
test_concurrent_create(void **state)
{
	struct tree *t = *state;
	char seen[NPROC * 25 + 1] = { 0 };
	cJSON *all, *it;

	in_parallel(t, make_many);
	all = wf_store_list(t->root, &wf_kind_bug, 0);
	assert_int_equal(cJSON_GetArraySize(all), NPROC * 25);
	cJSON_ArrayForEach(it, all) {
		int id = (int)num(it, "id");

		assert_true(id >= 1 && id <= NPROC * 25);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
	}
	cJSON_Delete(all);
	/* The unique name went to exactly one of them. */
	assert_int_equal(count(t->root, &wf_kind_project, 0), 1);
}

static const char *const own_field[NPROC] = {
	"description", "repository_url", "primary_branch", "build_command",
	"test_command", "run_command", "deploy_command", "lint_command",
};

/* 25 updates of a field of one's own through wf_store_update. */
static int
update_own(int root, int who)
{
	char err[512], val[32];

	for (int n = 0; n < 25; n++) {
		cJSON *p = cJSON_CreateObject();
		int rc;

		snprintf(val, sizeof(val), "%d.%d", who, n);
		cJSON_AddStringToObject(p, own_field[who], val);
		rc = wf_store_update(root, &wf_kind_project, 1, p, 0, err,
		    sizeof(err));
		cJSON_Delete(p);
		if (rc == -1)
			return 1;
	}
	return 0;
}

static void
test_concurrent_update(void **state)
{
	struct tree *t = *state;
	char want[32];
	cJSON *o;

	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	in_parallel(t, update_own);
	o = get(t->root, &wf_kind_project, 1);
	for (int i = 0; i < NPROC; i++) {
		snprintf(want, sizeof(want), "%d.24", i);
		assert_non_null(str(o, own_field[i]));
		assert_string_equal(str(o, own_field[i]), want);
	}
	assert_string_equal(str(o, "name"), "p");
	cJSON_Delete(o);
}

/* A task's edges are checked by the store itself, for every writer
 * (the CLI, the API, an agent's PM, the pipeline; trusted or not). */
static void
test_task_edges(void **state)
{
	struct tree *t = *state;
	const struct wf_kind *T = &wf_kind_task;
	cJSON *o;

	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	make(t->root, &wf_kind_project, "{\"name\":\"q\"}", 0);
	make(t->root, T, "{\"project_id\":1,\"task_id\":\"A\",\"title\":"
	    "\"a\"}", 0);
	make(t->root, T, "{\"project_id\":1,\"task_id\":\"B\",\"title\":"
	    "\"b\",\"blocked_by\":[\"A\"]}", 0);
	make(t->root, T, "{\"project_id\":2,\"task_id\":\"Z\",\"title\":"
	    "\"z\"}", 0);
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"C\",\"title\":"
	    "\"c\",\"blocked_by\":[\"Y\"]}", 1, "no task Y in project 1");
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"C\",\"title\":"
	    "\"c\",\"blocked_by\":[\"Z\"]}", 0,
	    "Z is a task of project 2, not of project 1");
	update_refused(t->root, T, 1, "{\"blocked_by\":[\"B\"]}", 1,
	    "blocked_by: cycle A -> B -> A");
	update_refused(t->root, T, 1, "{\"task_id\":\"AA\"}", 0,
	    "B waits on A");
	refused(t->root, T, "{\"project_id\":1,\"task_id\":\"C\",\"title\":"
	    "\"c\",\"pipeline_stage\":\"DEV\"}", 0, "pipeline_stage");
	/* nothing was written by the refusals */
	o = get(t->root, T, 1);
	assert_null(cJSON_GetObjectItem(o, "blocked_by"));
	assert_string_equal(str(o, "task_id"), "A");
	cJSON_Delete(o);
	/* a status change is no write of the edges */
	update(t->root, T, 2, "{\"status\":\"cancelled\"}", 0);
	update(t->root, T, 2, "{\"blocked_by\":[]}", 0);
	update(t->root, T, 1, "{\"blocked_by\":[\"B\"]}", 0);
}

/* Task i of a ring waits on task i+1: each write alone is fine, all of
 * them would close the ring.  Under the lock, exactly one must lose. */
static int
ring_edge(int root, int who)
{
	char err[512], next[16];
	cJSON *p = cJSON_CreateObject(), *deps;
	int rc;

	deps = cJSON_AddArrayToObject(p, "blocked_by");
	snprintf(next, sizeof(next), "R%d", (who + 1) % NPROC);
	cJSON_AddItemToArray(deps, cJSON_CreateString(next));
	rc = wf_store_update(root, &wf_kind_task, who + 1, p, 0, err,
	    sizeof(err));
	cJSON_Delete(p);
	if (rc == -1)
		return strstr(err, "blocked_by: cycle") != NULL ? 0 : 2;
	return 0;
}

static void
test_concurrent_edges(void **state)
{
	struct tree *t = *state;
	char text[128];
	cJSON *all, *it;
	int edges = 0;

	make(t->root, &wf_kind_project, "{\"name\":\"p\"}", 0);
	for (int i = 0; i < NPROC; i++) {
		snprintf(text, sizeof(text), "{\"project_id\":1,\"task_id\":"
		    "\"R%d\",\"title\":\"r\"}", i);
		make(t->root, &wf_kind_task, text, 0);
	}
	in_parallel(t, ring_edge);
	all = wf_store_list(t->root, &wf_kind_task, 1);
	cJSON_ArrayForEach(it, all)
		edges += cJSON_GetArraySize(cJSON_GetObjectItem(it,
		    "blocked_by"));
	cJSON_Delete(all);
	assert_int_equal(edges, NPROC - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
#define T(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
		T(test_crud),
		T(test_missing),
		T(test_unknown_and_types),
		T(test_readonly),
		T(test_required),
		T(test_defaults),
		T(test_unique),
		T(test_references),
		T(test_ids),
		T(test_list),
		T(test_corrupt),
		T(test_concurrent_counter),
		T(test_concurrent_create),
		T(test_concurrent_update),
		T(test_task_edges),
		T(test_concurrent_edges),
#undef T
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
