/*
 * test_pipeline: the run state machine of lib/pipeline.c on a private tree
 * made with mkdtemp and removed afterwards.  Every transition, allowed and
 * refused: PM -> DEV -> QA -> SEC -> READY_FOR_COMMIT -> MERGED ->
 * READY_FOR_DEPLOY -> DEPLOYED, QA_FAILED and SEC_FAILED with their
 * retries; the effects of each (the run file, an audit line in
 * log/audit.jsonl, an event in events/new, the agent_run job of a role's
 * state in queue/2-high/new); that a refusal changes nothing; the gates,
 * the report parser and the severity names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "pipeline.h"
#include "spool.h"
#include "store.h"

#define QDIR "queue/2-high/new"

struct fx {
	char home[PATH_MAX];
	int root;
	int64_t project;
	struct wf_pipeline_conf c;
	int nrep; /* report ids handed out */
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

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if (t == NULL || *t == '\0')
		t = "/tmp";
	snprintf(f->home, sizeof(f->home), "%s/wf-test-pipeline.XXXXXX", t);
	if (mkdtemp(f->home) == NULL || wf_spool_init(f->home) == -1 ||
	    (f->root = wf_spool_open(f->home)) == -1) {
		free(f);
		return -1;
	}
	wf_pipeline_defaults(&f->c);
	f->c.max_iter = 3;
	f->c.auto_retry = 1;
	f->c.sec_block = 2; /* high */
	f->c.agent_priority = 2;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", "p");
	cJSON_AddStringToObject(p, "repo_path", "/nonexistent");
	if (wf_store_create(f->root, &wf_kind_project, p, 1, &f->project, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "project: %s\n", err);
		return -1;
	}
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

/* --- reading the tree --- */

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int64_t
jint(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(it) ? (int64_t)it->valuedouble : -999;
}

static cJSON *
get_run(struct fx *f, int64_t id)
{
	char err[256];
	cJSON *r = NULL;

	assert_int_equal(wf_store_get(f->root, &wf_kind_run, id, &r, err,
	    sizeof(err)), 0);
	return r;
}

/* The run's state, in a buffer that lives until the next call. */
static const char *
state_of(struct fx *f, int64_t id)
{
	static char buf[64];
	cJSON *r = get_run(f, id);

	assert_non_null(jstr(r, "state"));
	snprintf(buf, sizeof(buf), "%s", jstr(r, "state"));
	cJSON_Delete(r);
	return buf;
}

static int64_t
iter_of(struct fx *f, int64_t id)
{
	cJSON *r = get_run(f, id);
	int64_t n = jint(r, "iteration");

	cJSON_Delete(r);
	return n;
}

static int
waiting_of(struct fx *f, int64_t id)
{
	cJSON *r = get_run(f, id);
	int w = cJSON_IsTrue(cJSON_GetObjectItem(r, "waiting_for_human"));

	cJSON_Delete(r);
	return w;
}

static char *
slurp(struct fx *f, const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;

	if (wf_spool_read(f->root, path, 16 << 20, &buf, &n) == -1)
		return NULL;
	if (len != NULL)
		*len = n;
	return buf;
}

static char *
run_bytes(struct fx *f, int64_t id, size_t *len)
{
	char path[64];
	char *b;

	snprintf(path, sizeof(path), "state/runs/%lld.json", (long long)id);
	assert_non_null(b = slurp(f, path, len));
	return b;
}

/* Call fn on every parsed file of a spool directory. */
typedef void (*file_fn)(const cJSON *o, void *arg);

static int
each_file(struct fx *f, const char *dir, file_fn fn, void *arg)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(f->root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX], *buf;
		cJSON *o;

		if (de->d_name[0] == '.')
			continue;
		n++;
		if (fn == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_non_null(buf = slurp(f, path, NULL));
		o = cJSON_Parse(buf);
		assert_true(cJSON_IsObject(o));
		fn(o, arg);
		cJSON_Delete(o);
		free(buf);
	}
	closedir(d);
	return n;
}

struct jobq {
	int64_t run_id, iteration; /* iteration < 0: any */
	const char *role;
	int n;
};

static void
job_match(const cJSON *o, void *argp)
{
	struct jobq *q = argp;
	const cJSON *rd = cJSON_GetObjectItem(o, "request_data");

	if (jstr(o, "job_type") == NULL ||
	    strcmp(jstr(o, "job_type"), "agent_run") != 0)
		return;
	if (jint(rd, "run_id") != q->run_id || jstr(rd, "role") == NULL ||
	    strcmp(jstr(rd, "role"), q->role) != 0)
		return;
	if (q->iteration >= 0 && jint(rd, "iteration") != q->iteration)
		return;
	/* the job is linked to its run as well */
	assert_int_equal(jint(o, "run_id"), q->run_id);
	assert_int_equal(jint(o, "priority"), 2);
	q->n++;
}

/* agent_run jobs of a run and role waiting in queue/2-high/new. */
static int
count_jobs(struct fx *f, int64_t run_id, const char *role, int64_t iteration)
{
	struct jobq q = { run_id, iteration, role, 0 };

	each_file(f, QDIR, job_match, &q);
	return q.n;
}

static int
count_all_jobs(struct fx *f)
{
	int n = 0;

	for (int p = 1; p <= WF_NPRIO; p++) {
		char d[64];

		snprintf(d, sizeof(d), "%s/new", wf_spool_qdir(p));
		n += each_file(f, d, NULL, NULL);
	}
	return n;
}

struct evq {
	const char *name;
	int64_t run_id;
	const char *from, *to, *next; /* NULL: any */
	int n;
};

static int
str_is(const char *a, const char *b)
{
	return b == NULL || (a != NULL && strcmp(a, b) == 0);
}

static void
ev_match(const cJSON *o, void *argp)
{
	struct evq *q = argp;
	const cJSON *p = cJSON_GetObjectItem(o, "payload");

	assert_non_null(jstr(o, "timestamp"));
	if (jstr(o, "event") != NULL && strcmp(jstr(o, "event"), q->name) == 0 &&
	    (q->run_id == 0 || jint(p, "run_id") == q->run_id) &&
	    str_is(jstr(p, "from_state"), q->from) &&
	    str_is(jstr(p, "to_state"), q->to) &&
	    str_is(jstr(p, "next_agent"), q->next))
		q->n++;
}

static int
count_events(struct fx *f, const char *name, int64_t run_id)
{
	struct evq q = { name, run_id, NULL, NULL, NULL, 0 };

	each_file(f, "events/new", ev_match, &q);
	return q.n;
}

/* run.state_changed events of a run from -> to naming next_agent. */
static int
count_move_events(struct fx *f, int64_t run_id, const char *from,
    const char *to, const char *next)
{
	struct evq q = { "run.state_changed", run_id, from, to, next, 0 };

	each_file(f, "events/new", ev_match, &q);
	return q.n;
}

static int
count_all_events(struct fx *f)
{
	return each_file(f, "events/new", NULL, NULL);
}

/* Audit lines with this action (and entity id, when not 0). */
static int
count_audit(struct fx *f, const char *action, int64_t id)
{
	char *buf = slurp(f, "log/audit.jsonl", NULL), *line, *p;
	int n = 0;

	if (buf == NULL)
		return 0;
	for (p = buf; (line = strsep(&p, "\n")) != NULL;) {
		cJSON *o;

		if (*line == '\0')
			continue;
		o = cJSON_Parse(line);
		assert_true(cJSON_IsObject(o));
		assert_non_null(jstr(o, "timestamp"));
		assert_non_null(jstr(o, "actor"));
		if (strcmp(jstr(o, "action"), action) == 0 &&
		    (id == 0 || jint(o, "entity_id") == id))
			n++;
		cJSON_Delete(o);
	}
	free(buf);
	return n;
}

/* Audit lines with this action whose details have key = value. */
static int
count_audit_detail(struct fx *f, const char *action, const char *key,
    const char *value)
{
	char *buf = slurp(f, "log/audit.jsonl", NULL), *line, *p;
	int n = 0;

	for (p = buf; buf != NULL && (line = strsep(&p, "\n")) != NULL;) {
		cJSON *o;

		if (*line == '\0')
			continue;
		o = cJSON_Parse(line);
		if (strcmp(jstr(o, "action"), action) == 0 &&
		    str_is(jstr(cJSON_GetObjectItem(o, "details"), key), value))
			n++;
		cJSON_Delete(o);
	}
	free(buf);
	return n;
}

static int
audit_lines(struct fx *f)
{
	size_t len = 0;
	char *buf = slurp(f, "log/audit.jsonl", &len);
	int n = 0;

	for (size_t i = 0; buf != NULL && i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

/* The history entries of a run going from -> to. */
static int
count_moves(struct fx *f, int64_t id, const char *from, const char *to)
{
	cJSON *r = get_run(f, id);
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(r, "history")) {
		if (strcmp(jstr(e, "from"), from) == 0 &&
		    strcmp(jstr(e, "to"), to) == 0)
			n++;
	}
	cJSON_Delete(r);
	return n;
}

static int
history_len(struct fx *f, int64_t id)
{
	cJSON *r = get_run(f, id);
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(r, "history"));

	cJSON_Delete(r);
	return n;
}

/* The "why" of the last history entry, copied. */
static char *
last_why(struct fx *f, int64_t id)
{
	cJSON *r = get_run(f, id);
	const cJSON *h = cJSON_GetObjectItem(r, "history");
	const cJSON *e = cJSON_GetArrayItem(h, cJSON_GetArraySize(h) - 1);
	char *s;

	assert_non_null(e);
	s = strdup(jstr(e, "why") ? jstr(e, "why") : "");
	cJSON_Delete(r);
	return s;
}

/* A snapshot of everything a transition may touch. */
struct snap {
	char *run;
	size_t runlen;
	int jobs, events, audit;
};

static void
snap_take(struct fx *f, int64_t id, struct snap *s)
{
	s->run = run_bytes(f, id, &s->runlen);
	s->jobs = count_all_jobs(f);
	s->events = count_all_events(f);
	s->audit = audit_lines(f);
}

/* Nothing changed since the snapshot: same run bytes, no job, no event,
 * no audit line. */
static void
snap_same(struct fx *f, int64_t id, struct snap *s)
{
	size_t len;
	char *now = run_bytes(f, id, &len);

	assert_int_equal(len, s->runlen);
	assert_memory_equal(now, s->run, len);
	assert_int_equal(count_all_jobs(f), s->jobs);
	assert_int_equal(count_all_events(f), s->events);
	assert_int_equal(audit_lines(f), s->audit);
	free(now);
	free(s->run);
	s->run = NULL;
}

/* n == want, or fail saying what was counted. */
#define expect_n(n, want, what) do { \
	int n_ = (n), w_ = (want); \
	if (n_ != w_) \
		fail_msg("%s: %d, not %d", (what), n_, w_); \
} while (0)

/* --- driving the pipeline --- */

static int64_t
new_run(struct fx *f)
{
	char err[256] = "";
	int64_t id = 0;

	assert_int_equal(wf_pipeline_create(f->root, &f->c, f->project, 0,
	    "r", &id, err, sizeof(err)), 0);
	assert_true(id > 0);
	return id;
}

static cJSON *
parse_report(const char *json)
{
	char err[256] = "";
	cJSON *r = NULL;

	if (wf_pipeline_report_parse(json, strlen(json), &r, err,
	    sizeof(err)) != 0)
		fail_msg("report %s: %s", json, err);
	return r;
}

/* Apply the report json with a fresh id (or rid); returns the rc. */
static int
apply_rid(struct fx *f, int64_t id, const char *json, const char *rid,
    int *applied, char *err, size_t errlen)
{
	cJSON *r = parse_report(json);
	char name[32];
	int a = -1, rc;

	if (rid == NULL) {
		snprintf(name, sizeof(name), "rep-%d", ++f->nrep);
		rid = name;
	}
	err[0] = '\0';
	rc = wf_pipeline_report(f->root, &f->c, id, r, rid, NULL, &a, err,
	    errlen);
	if (applied != NULL)
		*applied = a;
	cJSON_Delete(r);
	return rc;
}

static void
apply_ok(struct fx *f, int64_t id, const char *json)
{
	char err[512];
	int applied;

	if (apply_rid(f, id, json, NULL, &applied, err, sizeof(err)) != 0)
		fail_msg("report %s refused: %s", json, err);
	assert_int_equal(applied, 1);
}

#define PM_PASS "{\"role\":\"pm\",\"status\":\"pass\",\"summary\":\"spec\"}"
#define DEV_PASS "{\"role\":\"dev\",\"status\":\"pass\"}"
#define QA_PASS "{\"role\":\"qa\",\"status\":\"pass\",\"details\":" \
	"{\"tests_run\":3,\"tests_failed\":0}}"
#define QA_FAIL "{\"role\":\"qa\",\"status\":\"fail\",\"details\":" \
	"{\"tests_run\":3,\"tests_failed\":1}}"
#define SEC_PASS "{\"role\":\"security\",\"status\":\"pass\",\"details\":" \
	"{\"findings\":[]}}"

/* Move a fresh run through passing reports until it is in state. */
static void
drive_to(struct fx *f, int64_t id, const char *state)
{
	static const char *const path[][2] = {
		{ "PM", PM_PASS }, { "DEV", DEV_PASS }, { "QA", QA_PASS },
		{ "SEC", SEC_PASS },
	};

	size_t i = 0;

	/* from wherever the run is on the path */
	while (i < 4 && strcmp(state_of(f, id), path[i][0]) != 0)
		i++;
	for (; i < 4; i++) {
		if (strcmp(state_of(f, id), state) == 0)
			return;
		assert_string_equal(state_of(f, id), path[i][0]);
		apply_ok(f, id, path[i][1]);
	}
	if (strcmp(state_of(f, id), state) == 0)
		return;
	for (int k = 0; k < 2; k++) {
		char err[256];

		assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
		    sizeof(err)), 0);
		if (strcmp(state_of(f, id), state) == 0)
			return;
	}
	fail_msg("cannot drive the run to %s", state);
}

/* --- the transitions --- */

static void
test_create(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f), id2;
	cJSON *r = get_run(f, id);

	assert_string_equal(jstr(r, "state"), "PM");
	assert_int_equal(jint(r, "iteration"), 1);
	assert_int_equal(jint(r, "project_id"), f->project);
	assert_int_equal(jint(r, "max_iter"), 3);
	assert_int_equal(jint(r, "tokens_in"), 0);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "waiting_for_human")));
	assert_string_equal(jstr(r, "name"), "r");
	cJSON_Delete(r);
	/* the pm agent's job, its audit line and its event */
	assert_int_equal(count_jobs(f, id, "pm", 1), 1);
	assert_int_equal(count_all_jobs(f), 1);
	assert_int_equal(count_audit(f, "run.created", id), 1);
	assert_int_equal(count_events(f, "run.created", id), 1);
	assert_int_equal(count_all_events(f), 1);
	/* a second run has its own id and job */
	id2 = new_run(f);
	assert_true(id2 != id);
	assert_int_equal(count_jobs(f, id2, "pm", 1), 1);
	assert_int_equal(count_jobs(f, id, "pm", 1), 1);
}

static void
test_create_refused(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int64_t id = 0;

	/* a run of a project that does not exist */
	assert_int_equal(wf_pipeline_create(f->root, &f->c, 999, 0, NULL, &id,
	    err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_int_equal(count_all_jobs(f), 0);
	assert_int_equal(count_all_events(f), 0);
	assert_int_equal(each_file(f, "state/runs", NULL, NULL), 0);
	/* without a name, one is made */
	assert_int_equal(wf_pipeline_create(f->root, &f->c, f->project, 0,
	    NULL, &id, err, sizeof(err)), 0);
	{
		cJSON *r = get_run(f, id);

		assert_non_null(jstr(r, "name"));
		assert_true(strncmp(jstr(r, "name"), "Run ", 4) == 0);
		cJSON_Delete(r);
	}
}

static void
test_pm_pass_to_dev(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	cJSON *r;
	const cJSON *h, *e;

	apply_ok(f, id, PM_PASS);
	r = get_run(f, id);
	assert_string_equal(jstr(r, "state"), "DEV");
	/* the report is kept, its id remembered, the move recorded */
	assert_string_equal(jstr(cJSON_GetObjectItem(cJSON_GetObjectItem(r,
	    "results"), "pm"), "summary"), "spec");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "reports")),
	    1);
	h = cJSON_GetObjectItem(r, "history");
	assert_int_equal(cJSON_GetArraySize(h), 1);
	e = cJSON_GetArrayItem(h, 0);
	assert_string_equal(jstr(e, "from"), "PM");
	assert_string_equal(jstr(e, "to"), "DEV");
	assert_string_equal(jstr(e, "report_id"), "rep-1");
	assert_non_null(jstr(e, "at"));
	assert_non_null(jstr(e, "actor"));
	cJSON_Delete(r);
	assert_int_equal(count_jobs(f, id, "dev", 1), 1);
	assert_int_equal(count_all_jobs(f), 2); /* pm's and dev's */
	assert_int_equal(count_audit(f, "run.report_submitted", id), 1);
	assert_int_equal(count_audit(f, "run.state_changed", id), 1);
	assert_int_equal(count_events(f, "run.state_changed", id), 1);
	/* the event and the audit line say where the run came from */
	expect_n(count_move_events(f, id, "PM", "DEV", "dev"), 1,
	    "run.state_changed events from_state PM to_state DEV");
	expect_n(count_audit_detail(f, "run.state_changed", "from_state", "PM"),
	    1, "run.state_changed audit lines with from_state PM");
	assert_int_equal(count_events(f, "run.report_submitted", id), 1);
}

static void
test_wrong_role_refused(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	struct snap s;
	char err[256];
	int applied = -1;

	snap_take(f, id, &s);
	assert_int_equal(apply_rid(f, id, DEV_PASS, NULL, &applied, err,
	    sizeof(err)), -1);
	assert_int_equal(applied, 0);
	assert_non_null(strstr(err, "PM"));
	assert_non_null(strstr(err, "waits for pm"));
	snap_same(f, id, &s);
	/* in DEV, a qa or a pm report is refused as well */
	apply_ok(f, id, PM_PASS);
	snap_take(f, id, &s);
	assert_int_equal(apply_rid(f, id, QA_PASS, NULL, &applied, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "waits for dev"));
	assert_int_equal(apply_rid(f, id, PM_PASS, NULL, &applied, err,
	    sizeof(err)), -1);
	snap_same(f, id, &s);
	/* a report for a run that does not exist */
	assert_int_equal(apply_rid(f, 4242, DEV_PASS, NULL, &applied, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no such"));
}

static void
test_report_in_human_states_refused(void **state)
{
	struct fx *f = *state;
	static const char *const st[] = { "READY_FOR_COMMIT", "MERGED",
		"READY_FOR_DEPLOY", "QA_FAILED", "SEC_FAILED" };
	static const char *const reps[] = { PM_PASS, DEV_PASS, QA_PASS,
		SEC_PASS };
	int64_t id = new_run(f);
	char err[256];

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		struct snap s;

		assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, st[i],
		    "test", err, sizeof(err)), 0);
		snap_take(f, id, &s);
		for (size_t k = 0; k < 4; k++)
			assert_int_equal(apply_rid(f, id, reps[k], NULL, NULL, err,
			    sizeof(err)), -1);
		snap_same(f, id, &s);
	}
}

static void
test_docs_and_pending_do_not_move(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	cJSON *r;

	apply_ok(f, id, "{\"role\":\"docs\",\"status\":\"pass\"}");
	assert_string_equal(state_of(f, id), "PM");
	apply_ok(f, id, "{\"role\":\"pm\",\"status\":\"pending\"}");
	assert_string_equal(state_of(f, id), "PM");
	assert_int_equal(history_len(f, id), 0);
	r = get_run(f, id);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "results"),
	    "docs"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "reports")),
	    2);
	cJSON_Delete(r);
	assert_int_equal(count_audit(f, "run.report_submitted", id), 2);
	assert_int_equal(count_audit(f, "run.state_changed", id), 0);
	assert_int_equal(count_all_jobs(f), 1);
}

static void
test_dev_to_qa(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);

	drive_to(f, id, "DEV");
	apply_ok(f, id, DEV_PASS);
	assert_string_equal(state_of(f, id), "QA");
	assert_int_equal(count_jobs(f, id, "qa", 1), 1);
	assert_int_equal(count_moves(f, id, "DEV", "QA"), 1);
	assert_int_equal(count_audit(f, "run.state_changed", id), 2);
}

static void
test_qa_pass_without_evidence(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	cJSON *r;
	char *why;

	drive_to(f, id, "QA");
	apply_ok(f, id, "{\"role\":\"qa\",\"status\":\"pass\"}");
	/* refused by the gate: QA_FAILED, then retried automatically */
	assert_int_equal(count_moves(f, id, "QA", "QA_FAILED"), 1);
	assert_int_equal(count_moves(f, id, "QA_FAILED", "DEV"), 1);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 2);
	assert_false(waiting_of(f, id));
	assert_int_equal(count_events(f, "run.gate_failed", id), 1);
	assert_int_equal(count_audit(f, "run.gate_failed", id), 1);
	assert_int_equal(count_jobs(f, id, "dev", 2), 1);
	why = last_why(f, id);
	assert_non_null(strstr(why, "automatic retry"));
	free(why);
	r = get_run(f, id);
	{
		const cJSON *h = cJSON_GetObjectItem(r, "history");
		const cJSON *e = cJSON_GetArrayItem(h, cJSON_GetArraySize(h) - 2);

		assert_string_equal(jstr(e, "to"), "QA_FAILED");
		assert_non_null(strstr(jstr(e, "why"), "QA gate"));
	}
	cJSON_Delete(r);
	/* with tests that ran and a failure: the same */
	apply_ok(f, id, DEV_PASS);
	apply_ok(f, id, "{\"role\":\"qa\",\"status\":\"pass\",\"details\":"
	    "{\"tests_run\":4,\"tests_failed\":2}}");
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 3);
	assert_int_equal(count_events(f, "run.gate_failed", id), 2);
}

static void
test_qa_pass_with_evidence(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);

	drive_to(f, id, "QA");
	apply_ok(f, id, QA_PASS);
	assert_string_equal(state_of(f, id), "SEC");
	assert_int_equal(count_jobs(f, id, "security", 1), 1);
	assert_int_equal(count_events(f, "run.gate_failed", id), 0);
	assert_int_equal(iter_of(f, id), 1);
	/* tests_passed stands in for tests_failed */
	id = new_run(f);
	drive_to(f, id, "QA");
	apply_ok(f, id, "{\"role\":\"qa\",\"status\":\"pass\",\"details\":"
	    "{\"tests_run\":2,\"tests_passed\":2}}");
	assert_string_equal(state_of(f, id), "SEC");
}

static void
test_qa_fail(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);

	drive_to(f, id, "QA");
	apply_ok(f, id, QA_FAIL);
	assert_int_equal(count_moves(f, id, "QA", "QA_FAILED"), 1);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 2);
	/* an honest fail is no gate failure */
	assert_int_equal(count_events(f, "run.gate_failed", id), 0);
}

static void
test_sec_high_fails(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);

	drive_to(f, id, "SEC");
	apply_ok(f, id, "{\"role\":\"security\",\"status\":\"pass\",\"details\":"
	    "{\"findings\":[{\"severity\":\"high\",\"title\":\"x\"}]}}");
	assert_int_equal(count_moves(f, id, "SEC", "SEC_FAILED"), 1);
	assert_int_equal(count_moves(f, id, "SEC_FAILED", "DEV"), 1);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 2);
	assert_int_equal(count_events(f, "run.gate_failed", id), 1);
	assert_int_equal(count_jobs(f, id, "dev", 2), 1);
}

static void
test_sec_low_passes(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	int jobs;

	drive_to(f, id, "SEC");
	jobs = count_all_jobs(f);
	/* "sec" is security's other name */
	apply_ok(f, id, "{\"role\":\"sec\",\"status\":\"pass\",\"details\":"
	    "{\"findings\":[{\"severity\":\"low\",\"title\":\"y\"},"
	    "{\"severity\":\"info\",\"title\":\"z\"}]}}");
	assert_string_equal(state_of(f, id), "READY_FOR_COMMIT");
	/* no role works in READY_FOR_COMMIT: no job */
	assert_int_equal(count_all_jobs(f), jobs);
	assert_int_equal(count_events(f, "run.gate_failed", id), 0);
	/* with sec_block low, the same low finding fails */
	f->c.sec_block = 4;
	id = new_run(f);
	drive_to(f, id, "SEC");
	apply_ok(f, id, "{\"role\":\"security\",\"status\":\"pass\",\"details\":"
	    "{\"findings\":[{\"severity\":\"low\",\"title\":\"y\"}]}}");
	assert_int_equal(count_moves(f, id, "SEC", "SEC_FAILED"), 1);
}

static void
test_advance_to_deploy(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	struct passwd *pw = getpwuid(getuid());
	struct snap s;
	char err[256];
	int64_t ms = 0;
	cJSON *r;
	char *why;

	assert_non_null(pw);
	drive_to(f, id, "READY_FOR_COMMIT");
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "MERGED");
	assert_int_equal(count_events(f, "run.ready_for_deploy", id), 0);
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "READY_FOR_DEPLOY");
	assert_int_equal(count_events(f, "run.ready_for_deploy", id), 1);
	assert_int_equal(count_moves(f, id, "READY_FOR_COMMIT", "MERGED"), 1);
	assert_int_equal(count_moves(f, id, "MERGED", "READY_FOR_DEPLOY"), 1);

	/* only a human's approve-deploy leaves READY_FOR_DEPLOY */
	snap_take(f, id, &s);
	err[0] = '\0';
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "approve-deploy"));
	snap_same(f, id, &s);

	assert_int_equal(wf_pipeline_approve_deploy(f->root, &f->c, id, 0, err,
	    sizeof(err)), 0);
	r = get_run(f, id);
	assert_string_equal(jstr(r, "state"), "DEPLOYED");
	assert_non_null(jstr(r, "approved_by"));
	assert_string_equal(jstr(r, "approved_by"), pw->pw_name);
	assert_non_null(jstr(r, "approved_at"));
	assert_int_equal(wf_clock_parse_iso(jstr(r, "approved_at"), &ms), 0);
	assert_true(ms > 0);
	cJSON_Delete(r);
	why = last_why(f, id);
	assert_non_null(strstr(why, pw->pw_name));
	free(why);
	assert_int_equal(count_moves(f, id, "READY_FOR_DEPLOY", "DEPLOYED"), 1);

	/* DEPLOYED is the end: no advance, no second approval */
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), -1);
	assert_int_equal(wf_pipeline_approve_deploy(f->root, &f->c, id, 0, err,
	    sizeof(err)), -1);
	snap_same(f, id, &s);
}

static int64_t
new_task(struct fx *f, int64_t run_id, const char *status)
{
	static int n;
	cJSON *t = cJSON_CreateObject();
	char err[256] = "", tid[16];
	int64_t id = 0;

	snprintf(tid, sizeof(tid), "T%d", ++n);
	cJSON_AddNumberToObject(t, "project_id", (double)f->project);
	cJSON_AddStringToObject(t, "task_id", tid);
	cJSON_AddStringToObject(t, "title", "a task");
	if (run_id > 0)
		cJSON_AddNumberToObject(t, "run_id", (double)run_id);
	if (status != NULL)
		cJSON_AddStringToObject(t, "status", status);
	if (wf_store_create(f->root, &wf_kind_task, t, 0, &id, err,
	    sizeof(err)) != 0)
		fail_msg("task: %s", err);
	return id;
}

static const char *
task_status(struct fx *f, int64_t id)
{
	static char buf[32];
	cJSON *t = NULL;
	char err[256];

	assert_int_equal(wf_store_get(f->root, &wf_kind_task, id, &t, err,
	    sizeof(err)), 0);
	snprintf(buf, sizeof(buf), "%s", jstr(t, "status"));
	cJSON_Delete(t);
	return buf;
}

/* A run's tasks follow it: in_progress when DEV takes it, done once it
 * is merged; a task a human put elsewhere, or another run's, stays. */
static void
test_tasks_follow(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f), other = new_run(f);
	int64_t mine = new_task(f, id, NULL), blocked = new_task(f, id,
	    "blocked"), theirs = new_task(f, other, NULL);
	char err[256];

	assert_string_equal(task_status(f, mine), "backlog");
	drive_to(f, id, "DEV");
	assert_string_equal(task_status(f, mine), "in_progress");
	assert_string_equal(task_status(f, blocked), "blocked");
	assert_string_equal(task_status(f, theirs), "backlog");
	assert_int_equal(count_audit(f, "task.status_changed", mine), 1);
	drive_to(f, id, "READY_FOR_COMMIT");
	assert_string_equal(task_status(f, mine), "in_progress");
	/* no git repository: nothing to check before MERGED */
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "MERGED");
	assert_string_equal(task_status(f, mine), "done");
	assert_string_equal(task_status(f, blocked), "blocked");
	assert_string_equal(task_status(f, theirs), "backlog");
	assert_int_equal(count_audit(f, "task.status_changed", mine), 2);
}

static void
test_advance_refused(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	struct snap s;
	char err[256];

	/* PM without a pm pass */
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "passing pm report"));
	snap_same(f, id, &s);
	/* QA whose last report is a pass without evidence: the gate holds */
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "QA", NULL,
	    err, sizeof(err)), 0);
	f->c.auto_retry = 0;
	apply_ok(f, id, "{\"role\":\"qa\",\"status\":\"pass\"}");
	assert_string_equal(state_of(f, id), "QA_FAILED");
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "retry"));
	snap_same(f, id, &s);
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "QA", NULL,
	    err, sizeof(err)), 0);
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "QA gate"));
	snap_same(f, id, &s);
	/* a run that does not exist */
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, 777, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no such"));
}

static void
test_advance_with_pass_on_record(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	char err[256];

	/* advance leaves a role's state once its pass is on record (here a
	 * pass kept while the run was moved back by hand) */
	apply_ok(f, id, PM_PASS);
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "PM",
	    "again", err, sizeof(err)), 0);
	assert_int_equal(wf_pipeline_advance(f->root, &f->c, id, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(count_moves(f, id, "PM", "DEV"), 2);
}

static void
test_approve_refused_elsewhere(void **state)
{
	struct fx *f = *state;
	static const char *const st[] = { "PM", "DEV", "QA", "SEC",
		"READY_FOR_COMMIT", "MERGED", "QA_FAILED", "SEC_FAILED",
		"TESTING", "DEPLOY_FAILED" };
	int64_t id = new_run(f);
	char err[256];

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		struct snap s;
		cJSON *r;

		assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, st[i],
		    NULL, err, sizeof(err)), 0);
		snap_take(f, id, &s);
		err[0] = '\0';
		assert_int_equal(wf_pipeline_approve_deploy(f->root, &f->c, id, 0,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "READY_FOR_DEPLOY"));
		assert_non_null(strstr(err, st[i]));
		snap_same(f, id, &s);
		r = get_run(f, id);
		assert_null(jstr(r, "approved_by"));
		cJSON_Delete(r);
	}
}

static void
test_set_state(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	struct snap s;
	char err[256], *why;

	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "DEPLOYED",
	    "ship it", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "approve-deploy"));
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "BOGUS",
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a run state"));
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "qa", NULL,
	    err, sizeof(err)), -1);
	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "", NULL,
	    err, sizeof(err)), -1);
	snap_same(f, id, &s);
	assert_int_equal(count_audit(f, "run.state_forced", id), 0);

	assert_int_equal(wf_pipeline_set_state(f->root, &f->c, id, "QA",
	    "testing", err, sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "QA");
	assert_int_equal(count_audit(f, "run.state_forced", id), 1);
	assert_int_equal(count_moves(f, id, "PM", "QA"), 1);
	assert_int_equal(count_jobs(f, id, "qa", 1), 1);
	expect_n(count_move_events(f, id, "PM", "QA", "qa"), 1,
	    "run.state_changed events from_state PM to_state QA");
	why = last_why(f, id);
	assert_non_null(strstr(why, "forced by"));
	assert_non_null(strstr(why, "testing"));
	free(why);
	/* and the run takes QA's report from there */
	apply_ok(f, id, QA_PASS);
	assert_string_equal(state_of(f, id), "SEC");
}

static void
test_retry(void **state)
{
	struct fx *f = *state;
	int64_t id;
	struct snap s;
	char err[256];

	f->c.auto_retry = 0;
	id = new_run(f);
	drive_to(f, id, "QA");
	apply_ok(f, id, QA_FAIL);
	assert_string_equal(state_of(f, id), "QA_FAILED");
	assert_true(waiting_of(f, id));
	assert_int_equal(wf_pipeline_retry(f->root, &f->c, id, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 2);
	assert_false(waiting_of(f, id));
	assert_int_equal(count_jobs(f, id, "dev", 2), 1);
	assert_int_equal(count_moves(f, id, "QA_FAILED", "DEV"), 1);

	/* not from DEV */
	snap_take(f, id, &s);
	err[0] = '\0';
	assert_int_equal(wf_pipeline_retry(f->root, &f->c, id, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "DEV"));
	snap_same(f, id, &s);

	/* from SEC_FAILED */
	apply_ok(f, id, DEV_PASS);
	apply_ok(f, id, QA_PASS);
	apply_ok(f, id, "{\"role\":\"security\",\"status\":\"fail\"}");
	assert_string_equal(state_of(f, id), "SEC_FAILED");
	assert_int_equal(wf_pipeline_retry(f->root, &f->c, id, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 3);
}

static void
test_reset_to_dev_tasks(void **state)
{
	struct fx *f = *state;
	int64_t id;
	struct snap s;
	char err[256];
	cJSON *tasks, *t0, *t1;
	char *why;

	f->c.auto_retry = 0;
	id = new_run(f);
	/* not from PM */
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_reset_to_dev(f->root, &f->c, id, 1, err,
	    sizeof(err)), -1);
	snap_same(f, id, &s);

	drive_to(f, id, "SEC");
	apply_ok(f, id, "{\"role\":\"security\",\"status\":\"fail\",\"details\":"
	    "{\"findings\":[{\"severity\":\"critical\",\"title\":\"A\"},"
	    "{\"severity\":\"low\",\"title\":\"B\"}]}}");
	assert_string_equal(state_of(f, id), "SEC_FAILED");
	assert_int_equal(wf_pipeline_reset_to_dev(f->root, &f->c, id, 1, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 2);
	assert_int_equal(count_jobs(f, id, "dev", 2), 1);
	why = last_why(f, id);
	assert_non_null(strstr(why, "2 tasks"));
	free(why);
	tasks = wf_store_list(f->root, &wf_kind_task, f->project);
	assert_int_equal(cJSON_GetArraySize(tasks), 2);
	t0 = cJSON_GetArrayItem(tasks, 0);
	t1 = cJSON_GetArrayItem(tasks, 1);
	assert_string_equal(jstr(t0, "title"), "A");
	assert_int_equal(jint(t0, "priority"), 1);
	assert_string_equal(jstr(t1, "title"), "B");
	assert_int_equal(jint(t1, "priority"), 4);
	assert_int_equal(jint(t0, "run_id"), id);
	/* the run is back in DEV: its tasks, these too, are DEV's work now */
	assert_string_equal(jstr(t0, "status"), "in_progress");
	assert_string_equal(jstr(t1, "status"), "in_progress");
	cJSON_Delete(tasks);
	assert_int_equal(count_audit(f, "task.created", 0), 2);

	/* not from DEV */
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_reset_to_dev(f->root, &f->c, id, 0, err,
	    sizeof(err)), -1);
	snap_same(f, id, &s);
}

static void
test_reset_to_dev_no_tasks(void **state)
{
	struct fx *f = *state;
	int64_t id;
	char err[256], *why, buf[256];
	cJSON *tasks;

	f->c.auto_retry = 0;
	id = new_run(f);
	drive_to(f, id, "QA");
	apply_ok(f, id, "{\"role\":\"qa\",\"status\":\"fail\",\"details\":"
	    "{\"failures\":[\"t1 broke\"]}}");
	assert_string_equal(state_of(f, id), "QA_FAILED");
	assert_int_equal(wf_pipeline_reset_to_dev(f->root, &f->c, id, 0, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "DEV");
	tasks = wf_store_list(f->root, &wf_kind_task, f->project);
	assert_int_equal(cJSON_GetArraySize(tasks), 0);
	cJSON_Delete(tasks);
	/* the history says what happened, in words */
	why = last_why(f, id);
	snprintf(buf, sizeof(buf), "%s", why);
	free(why);
	assert_non_null(strstr(buf, "reset to DEV"));
	if (strstr(buf, "DEV0") != NULL)
		fail_msg("history says '%s'", buf);
}

static void
test_reset_to_dev_qa_failures(void **state)
{
	struct fx *f = *state;
	int64_t id;
	char err[256];
	cJSON *tasks, *t;

	f->c.auto_retry = 0;
	id = new_run(f);
	drive_to(f, id, "QA");
	apply_ok(f, id, "{\"role\":\"qa\",\"status\":\"fail\",\"details\":"
	    "{\"failures\":[\"t1 broke\",{\"message\":\"t2 hangs\","
	    "\"severity\":\"high\"}]}}");
	assert_int_equal(wf_pipeline_reset_to_dev(f->root, &f->c, id, 1, err,
	    sizeof(err)), 0);
	tasks = wf_store_list(f->root, &wf_kind_task, f->project);
	assert_int_equal(cJSON_GetArraySize(tasks), 2);
	t = cJSON_GetArrayItem(tasks, 0);
	assert_string_equal(jstr(t, "title"), "t1 broke");
	assert_int_equal(jint(t, "priority"), 3); /* no severity: normal */
	t = cJSON_GetArrayItem(tasks, 1);
	assert_string_equal(jstr(t, "title"), "t2 hangs");
	assert_int_equal(jint(t, "priority"), 2);
	cJSON_Delete(tasks);
}

static void
test_reset_to_dev_tasks_twice(void **state)
{
	struct fx *f = *state;
	const char *sec = "{\"role\":\"security\",\"status\":\"fail\","
	    "\"details\":{\"findings\":[{\"severity\":\"high\",\"title\":"
	    "\"C\"}]}}";
	int64_t id;
	char err[256] = "";
	cJSON *tasks;

	/* a run that fails SEC twice, each time reset with --tasks */
	f->c.auto_retry = 0;
	id = new_run(f);
	drive_to(f, id, "SEC");
	apply_ok(f, id, sec);
	assert_int_equal(wf_pipeline_reset_to_dev(f->root, &f->c, id, 1, err,
	    sizeof(err)), 0);
	apply_ok(f, id, DEV_PASS);
	apply_ok(f, id, QA_PASS);
	apply_ok(f, id, sec);
	assert_string_equal(state_of(f, id), "SEC_FAILED");
	if (wf_pipeline_reset_to_dev(f->root, &f->c, id, 1, err,
	    sizeof(err)) != 0)
		fail_msg("second reset-to-dev --tasks refused: %s", err);
	assert_string_equal(state_of(f, id), "DEV");
	tasks = wf_store_list(f->root, &wf_kind_task, f->project);
	assert_int_equal(cJSON_GetArraySize(tasks), 2);
	cJSON_Delete(tasks);
}

static void
test_max_iter(void **state)
{
	struct fx *f = *state;
	int64_t id;
	cJSON *r;

	f->c.max_iter = 2;
	id = new_run(f);
	drive_to(f, id, "QA");
	apply_ok(f, id, QA_FAIL);
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(iter_of(f, id), 2);
	assert_false(waiting_of(f, id));
	apply_ok(f, id, DEV_PASS);
	apply_ok(f, id, QA_FAIL);
	r = get_run(f, id);
	assert_string_equal(jstr(r, "state"), "QA_FAILED");
	assert_int_equal(jint(r, "iteration"), 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "waiting_for_human")));
	assert_non_null(jstr(r, "waiting_reason"));
	assert_non_null(strstr(jstr(r, "waiting_reason"), "max_iter"));
	cJSON_Delete(r);
	assert_int_equal(count_moves(f, id, "QA_FAILED", "DEV"), 1);
	assert_int_equal(count_jobs(f, id, "dev", 3), 0);
	/* the run keeps the max_iter it was created with */
	f->c.max_iter = 10;
	{
		char err[256];

		assert_int_equal(wf_pipeline_retry(f->root, &f->c, id, err,
		    sizeof(err)), 0);
	}
	assert_false(waiting_of(f, id));
	apply_ok(f, id, DEV_PASS);
	apply_ok(f, id, QA_FAIL);
	assert_string_equal(state_of(f, id), "QA_FAILED");
	assert_true(waiting_of(f, id));
	assert_int_equal(iter_of(f, id), 3);
}

static void
test_no_auto_retry(void **state)
{
	struct fx *f = *state;
	int64_t id;
	cJSON *r;

	f->c.auto_retry = 0;
	id = new_run(f);
	drive_to(f, id, "QA");
	apply_ok(f, id, QA_FAIL);
	r = get_run(f, id);
	assert_string_equal(jstr(r, "state"), "QA_FAILED");
	assert_int_equal(jint(r, "iteration"), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "waiting_for_human")));
	assert_non_null(jstr(r, "waiting_reason"));
	cJSON_Delete(r);
	assert_int_equal(count_moves(f, id, "QA_FAILED", "DEV"), 0);
	assert_int_equal(count_jobs(f, id, "dev", 2), 0);
}

static void
test_pm_dev_fail_wait(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	int jobs;
	cJSON *r;

	jobs = count_all_jobs(f);
	apply_ok(f, id, "{\"role\":\"pm\",\"status\":\"fail\"}");
	r = get_run(f, id);
	assert_string_equal(jstr(r, "state"), "PM");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "waiting_for_human")));
	assert_non_null(strstr(jstr(r, "waiting_reason"), "pm"));
	cJSON_Delete(r);
	assert_int_equal(count_all_jobs(f), jobs);
	/* a pass afterwards clears the wait */
	apply_ok(f, id, PM_PASS);
	assert_string_equal(state_of(f, id), "DEV");
	assert_false(waiting_of(f, id));
	r = get_run(f, id);
	assert_null(jstr(r, "waiting_reason"));
	cJSON_Delete(r);
	apply_ok(f, id, "{\"role\":\"dev\",\"status\":\"fail\"}");
	assert_string_equal(state_of(f, id), "DEV");
	assert_true(waiting_of(f, id));
}

static void
test_report_idempotent(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	char err[256];
	int applied = -1, jobs, events, hist;
	char *before, *after;
	size_t blen, alen;
	int same;
	cJSON *r;

	assert_int_equal(apply_rid(f, id, PM_PASS, "same", &applied, err,
	    sizeof(err)), 0);
	assert_int_equal(applied, 1);
	jobs = count_all_jobs(f);
	events = count_all_events(f);
	hist = history_len(f, id);
	before = run_bytes(f, id, &blen);
	usleep(5000); /* a rewrite would show in updated_at */
	/* again, while the run is in DEV: a no-op, not a refusal */
	assert_int_equal(apply_rid(f, id, PM_PASS, "same", &applied, err,
	    sizeof(err)), 0);
	assert_int_equal(applied, 0);
	after = run_bytes(f, id, &alen);
	same = alen == blen && memcmp(before, after, alen) == 0;
	if (!same)
		print_error("# the run before: %s\n# the run after:  %s\n",
		    before, after);
	free(before);
	free(after);
	if (!same)
		fail_msg("a report applied before rewrote the run");
	assert_string_equal(state_of(f, id), "DEV");
	assert_int_equal(history_len(f, id), hist);
	assert_int_equal(count_all_jobs(f), jobs);
	assert_int_equal(count_all_events(f), events);
	assert_int_equal(count_audit(f, "run.report_submitted", id), 1);
	r = get_run(f, id);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "reports")),
	    1);
	cJSON_Delete(r);
	/* a pass of QA with one id, replayed after a later state: no-op too */
	apply_ok(f, id, DEV_PASS);
	assert_int_equal(apply_rid(f, id, QA_PASS, "qa-1", &applied, err,
	    sizeof(err)), 0);
	assert_string_equal(state_of(f, id), "SEC");
	assert_int_equal(apply_rid(f, id, QA_PASS, "qa-1", &applied, err,
	    sizeof(err)), 0);
	assert_int_equal(applied, 0);
	assert_string_equal(state_of(f, id), "SEC");
	assert_int_equal(count_moves(f, id, "QA", "SEC"), 1);
	/* a dev report with the same id as the pm one is a no-op as well */
	assert_int_equal(apply_rid(f, id, DEV_PASS, "same", &applied, err,
	    sizeof(err)), 0);
	assert_int_equal(applied, 0);
}

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	char err[256];
	cJSON *r;

	apply_ok(f, id, "{\"role\":\"pm\",\"status\":\"pass\",\"tokens_in\":100,"
	    "\"tokens_out\":20}");
	apply_ok(f, id, "{\"role\":\"dev\",\"status\":\"pass\",\"tokens_in\":5,"
	    "\"tokens_out\":7}");
	/* a refused report adds nothing, nor does a replayed one */
	assert_int_equal(apply_rid(f, id, "{\"role\":\"pm\",\"status\":\"pass\","
	    "\"tokens_in\":1000,\"tokens_out\":1000}", NULL, NULL, err,
	    sizeof(err)), -1);
	assert_int_equal(apply_rid(f, id, "{\"role\":\"pm\",\"status\":\"pass\","
	    "\"tokens_in\":1000,\"tokens_out\":1000}", "rep-1", NULL, err,
	    sizeof(err)), 0);
	r = get_run(f, id);
	assert_int_equal(jint(r, "tokens_in"), 105);
	assert_int_equal(jint(r, "tokens_out"), 27);
	cJSON_Delete(r);
	assert_int_equal(wf_pipeline_add_tokens(f->root, id, 10, 3), 0);
	r = get_run(f, id);
	assert_int_equal(jint(r, "tokens_in"), 115);
	assert_int_equal(jint(r, "tokens_out"), 30);
	cJSON_Delete(r);
	assert_int_equal(wf_pipeline_add_tokens(f->root, 999, 1, 1), -1);
}

static void
test_report_records_gate(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	cJSON *rep, *g, *r;
	const cJSON *gr;
	char err[256];
	int applied = 0;

	/* what wf-gate passes when its own test run disagrees with QA */
	drive_to(f, id, "QA");
	rep = parse_report("{\"role\":\"qa\",\"status\":\"fail\",\"details\":"
	    "{\"tests_run\":2,\"tests_failed\":1,\"verified_by\":\"wf-gate\"}}");
	g = cJSON_Parse("{\"role\":\"qa\",\"agrees\":false,\"agent_report\":"
	    "{\"role\":\"qa\",\"status\":\"pass\"}}");
	assert_int_equal(wf_pipeline_report(f->root, &f->c, id, rep, "g-1", g,
	    &applied, err, sizeof(err)), 0);
	assert_int_equal(applied, 1);
	r = get_run(f, id);
	gr = cJSON_GetObjectItem(r, "gate");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(gr, "agrees")));
	assert_string_equal(jstr(cJSON_GetObjectItem(gr, "agent_report"),
	    "status"), "pass");
	assert_string_equal(jstr(cJSON_GetObjectItem(cJSON_GetObjectItem(r,
	    "results"), "qa"), "status"), "fail");
	cJSON_Delete(r);
	cJSON_Delete(rep);
	cJSON_Delete(g);
	assert_int_equal(count_moves(f, id, "QA", "QA_FAILED"), 1);
}

/* Writers in several processes at once lose nothing: the runs' lock. */
static void
test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	enum { NPROC = 4, NADD = 25 };
	pid_t kids[NPROC];
	cJSON *r, *all;

	for (int i = 0; i < NPROC; i++) {
		kids[i] = fork();
		assert_true(kids[i] != -1);
		if (kids[i] == 0) {
			char err[256];
			int64_t nid;
			int bad = 0;

			for (int k = 0; k < NADD; k++)
				bad |= wf_pipeline_add_tokens(f->root, id, 1, 2);
			bad |= wf_pipeline_create(f->root, &f->c, f->project, 0,
			    NULL, &nid, err, sizeof(err));
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		int ws;

		assert_int_equal(waitpid(kids[i], &ws, 0), kids[i]);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	r = get_run(f, id);
	assert_int_equal(jint(r, "tokens_in"), NPROC * NADD);
	assert_int_equal(jint(r, "tokens_out"), 2 * NPROC * NADD);
	cJSON_Delete(r);
	/* every run got an id of its own, and its pm job */
	all = wf_store_list(f->root, &wf_kind_run, 0);
	assert_int_equal(cJSON_GetArraySize(all), NPROC + 1);
	for (int i = 0; i < NPROC + 1; i++)
		assert_int_equal(jint(cJSON_GetArrayItem(all, i), "id"), i + 1);
	cJSON_Delete(all);
	assert_int_equal(count_all_jobs(f), NPROC + 1);
	assert_int_equal(count_audit(f, "run.created", 0), NPROC + 1);
}

static void
test_run_role(void **state)
{
	struct fx *f = *state;
	int64_t id = new_run(f);
	char jid[WF_NAME_MAX + 1] = "", err[256];
	struct snap s;

	assert_int_equal(wf_pipeline_run_role(f->root, &f->c, id, "sec", jid,
	    sizeof(jid), err, sizeof(err)), 0);
	assert_true(jid[0] != '\0');
	assert_int_equal(count_jobs(f, id, "security", 1), 1);
	assert_string_equal(state_of(f, id), "PM");
	snap_take(f, id, &s);
	assert_int_equal(wf_pipeline_run_role(f->root, &f->c, id, "boss", jid,
	    sizeof(jid), err, sizeof(err)), -1);
	snap_same(f, id, &s);
	assert_int_equal(wf_pipeline_run_role(f->root, &f->c, 999, "dev", jid,
	    sizeof(jid), err, sizeof(err)), -1);
}

static void
test_submit_report(void **state)
{
	struct fx *f = *state;
	cJSON *r = parse_report("{\"run_id\":1,\"role\":\"dev\",\"status\":"
	    "\"pass\"}"), *back;
	char id[WF_NAME_MAX + 1] = "", path[128], *buf;

	assert_int_equal(wf_pipeline_submit_report(f->root, r, id, sizeof(id)),
	    0);
	assert_true(wf_spool_name_ok(id));
	snprintf(path, sizeof(path), "reports/new/%s", id);
	assert_non_null(buf = slurp(f, path, NULL));
	back = cJSON_Parse(buf);
	assert_true(cJSON_Compare(back, r, 1));
	assert_int_equal(each_file(f, "reports/tmp", NULL, NULL), 0);
	cJSON_Delete(back);
	cJSON_Delete(r);
	free(buf);
}

/* --- the parser, the gates, the severities --- */

static int
parse_fails(const char *json, const char *want)
{
	char err[256] = "";
	cJSON *r = (cJSON *)1;
	int rc = wf_pipeline_report_parse(json, strlen(json), &r, err,
	    sizeof(err));

	if (rc != -1)
		fail_msg("%s: accepted", json);
	assert_null(r);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("%s: error '%s' does not say '%s'", json, err, want);
	return 0;
}

static void
test_report_parse(void **state)
{
	char *big;
	size_t n = (1 << 20) + 64;
	cJSON *r;
	char err[256];

	(void)state;
	/* not objects */
	parse_fails("", "not a JSON object");
	parse_fails("[]", "not a JSON object");
	parse_fails("42", "not a JSON object");
	parse_fails("\"pass\"", "not a JSON object");
	parse_fails("null", "not a JSON object");
	parse_fails("{\"role\":\"qa\"", "not a JSON object");
	/* unknown fields */
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"evil\":1}",
	    "unknown field 'evil'");
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"Status\":\"x\"}",
	    "unknown field");
	/* roles */
	parse_fails("{\"status\":\"pass\"}", "role");
	parse_fails("{\"role\":\"boss\",\"status\":\"pass\"}", "role");
	parse_fails("{\"role\":\"QA\",\"status\":\"pass\"}", "role");
	parse_fails("{\"role\":7,\"status\":\"pass\"}", "role");
	/* statuses */
	parse_fails("{\"role\":\"qa\"}", "status");
	parse_fails("{\"role\":\"qa\",\"status\":\"ok\"}", "status");
	parse_fails("{\"role\":\"qa\",\"status\":true}", "status");
	/* details and the rest */
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"details\":[]}",
	    "details");
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"details\":\"x\"}",
	    "details");
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"details\":3}",
	    "details");
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"summary\":3}",
	    "summary");
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"run_id\":0}",
	    "run_id");
	parse_fails("{\"role\":\"qa\",\"status\":\"pass\",\"run_id\":\"1\"}",
	    "run_id");
	/* too large */
	assert_non_null(big = malloc(n + 1));
	memset(big, ' ', n);
	memcpy(big, "{\"role\":\"qa\",\"status\":\"pass\"}", 29);
	big[n] = '\0';
	r = (cJSON *)1;
	assert_int_equal(wf_pipeline_report_parse(big, n, &r, err,
	    sizeof(err)), -1);
	assert_null(r);
	free(big);

	/* accepted */
	r = parse_report("{\"role\":\"qa\",\"status\":\"pass\"}");
	assert_non_null(r);
	cJSON_Delete(r);
	r = parse_report("{\"run_id\":3,\"role\":\"security\",\"status\":"
	    "\"fail\",\"summary\":\"s\",\"details\":null,\"tokens_in\":1,"
	    "\"tokens_out\":2}");
	assert_int_equal(jint(r, "run_id"), 3);
	cJSON_Delete(r);
	static const char *const ok[] = { "pm", "dev", "qa", "security", "sec",
		"docs" };
	for (size_t i = 0; i < 6; i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "{\"role\":\"%s\",\"status\":"
		    "\"pending\",\"details\":{}}", ok[i]);
		cJSON_Delete(parse_report(buf));
	}
	/* the length is honoured: a valid prefix of a longer buffer */
	{
		const char *s = "{\"role\":\"qa\",\"status\":\"pass\"}garbage";

		assert_int_equal(wf_pipeline_report_parse(s, 29, &r, err,
		    sizeof(err)), 0);
		cJSON_Delete(r);
	}
}

static int
gate(const struct wf_pipeline_conf *c, const char *json, char *why,
    size_t whylen)
{
	cJSON *r = parse_report(json);
	int rc;

	why[0] = '\0';
	rc = wf_pipeline_gate(c, r, why, whylen);
	cJSON_Delete(r);
	return rc;
}

static void
test_gate(void **state)
{
	struct wf_pipeline_conf c;
	char why[256];

	(void)state;
	wf_pipeline_defaults(&c);
	c.sec_block = 2;
	/* QA: evidence */
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\"}", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "tests_run"));
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":0,\"tests_failed\":0}}", why,
	    sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":\"3\",\"tests_failed\":0}}", why,
	    sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":3}}", why, sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":3,\"tests_failed\":1}}", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "1 of 3"));
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":3,\"tests_passed\":2}}", why,
	    sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":3,\"tests_failed\":0}}", why,
	    sizeof(why)), 0);
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pass\","
	    "\"details\":{\"tests_run\":3,\"tests_passed\":3}}", why,
	    sizeof(why)), 0);
	/* the gate judges passes only */
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"fail\"}", why,
	    sizeof(why)), 0);
	assert_int_equal(gate(&c, "{\"role\":\"qa\",\"status\":\"pending\"}",
	    why, sizeof(why)), 0);
	/* other roles have no gate of evidence */
	assert_int_equal(gate(&c, "{\"role\":\"pm\",\"status\":\"pass\"}", why,
	    sizeof(why)), 0);
	assert_int_equal(gate(&c, "{\"role\":\"dev\",\"status\":\"pass\"}", why,
	    sizeof(why)), 0);
	/* SEC: findings against sec_block */
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\"}",
	    why, sizeof(why)), 0);
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[]}}", why, sizeof(why)), 0);
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"high\"}]}}", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "SEC gate: 1 finding "));
	assert_int_equal(gate(&c, "{\"role\":\"sec\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"CRITICAL\"},"
	    "{\"severity\":\"high\"},{\"severity\":\"low\"}]}}", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "2 findings"));
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"medium\"},"
	    "{\"severity\":\"low\"},{\"severity\":\"info\"}]}}", why,
	    sizeof(why)), 0);
	/* an unknown (or missing) severity counts as medium */
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"weird\"},{}]}}", why,
	    sizeof(why)), 0);
	c.sec_block = 3;
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"weird\"}]}}", why,
	    sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"title\":\"no severity\"}]}}", why,
	    sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"moderate\"}]}}", why,
	    sizeof(why)), -1);
	c.sec_block = 1;
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"high\"}]}}", why,
	    sizeof(why)), 0);
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"critical\"}]}}", why,
	    sizeof(why)), -1);
	c.sec_block = 4;
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"low\"}]}}", why,
	    sizeof(why)), -1);
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"pass\","
	    "\"details\":{\"findings\":[{\"severity\":\"info\"}]}}", why,
	    sizeof(why)), 0);
	/* a fail is a fail whatever it found */
	assert_int_equal(gate(&c, "{\"role\":\"security\",\"status\":\"fail\","
	    "\"details\":{\"findings\":[{\"severity\":\"critical\"}]}}", why,
	    sizeof(why)), 0);
}

static void
test_severity(void **state)
{
	(void)state;
	assert_int_equal(wf_pipeline_severity("critical"), 1);
	assert_int_equal(wf_pipeline_severity("high"), 2);
	assert_int_equal(wf_pipeline_severity("medium"), 3);
	assert_int_equal(wf_pipeline_severity("moderate"), 3);
	assert_int_equal(wf_pipeline_severity("low"), 4);
	assert_int_equal(wf_pipeline_severity("info"), 5);
	assert_int_equal(wf_pipeline_severity("informational"), 5);
	assert_int_equal(wf_pipeline_severity("HIGH"), 2);
	assert_int_equal(wf_pipeline_severity("Critical"), 1);
	assert_int_equal(wf_pipeline_severity("severe"), -1);
	assert_int_equal(wf_pipeline_severity(""), -1);
	assert_int_equal(wf_pipeline_severity("hig"), -1);
	assert_int_equal(wf_pipeline_severity("highest"), -1);
	assert_int_equal(wf_pipeline_severity(NULL), -1);
}

static void
test_defaults(void **state)
{
	struct wf_pipeline_conf c;

	(void)state;
	unsetenv("WORKFLOW_MAX_ITER");
	wf_pipeline_defaults(&c);
	assert_int_equal(c.max_iter, 3);
	assert_int_equal(c.auto_retry, 1);
	assert_int_equal(c.sec_block, 2);
	assert_int_equal(c.agent_priority, 2);
	setenv("WORKFLOW_MAX_ITER", "7", 1);
	wf_pipeline_defaults(&c);
	assert_int_equal(c.max_iter, 7);
	setenv("WORKFLOW_MAX_ITER", "0", 1);
	wf_pipeline_defaults(&c);
	assert_int_equal(c.max_iter, 3);
	setenv("WORKFLOW_MAX_ITER", "many", 1);
	wf_pipeline_defaults(&c);
	assert_int_equal(c.max_iter, 3);
	unsetenv("WORKFLOW_MAX_ITER");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_create_refused),
		T(test_pm_pass_to_dev),
		T(test_wrong_role_refused),
		T(test_report_in_human_states_refused),
		T(test_docs_and_pending_do_not_move),
		T(test_dev_to_qa),
		T(test_qa_pass_without_evidence),
		T(test_qa_pass_with_evidence),
		T(test_qa_fail),
		T(test_sec_high_fails),
		T(test_sec_low_passes),
		T(test_advance_to_deploy),
		T(test_advance_refused),
		T(test_tasks_follow),
		T(test_advance_with_pass_on_record),
		T(test_approve_refused_elsewhere),
		T(test_set_state),
		T(test_retry),
		T(test_reset_to_dev_tasks),
		T(test_reset_to_dev_no_tasks),
		T(test_reset_to_dev_qa_failures),
		T(test_reset_to_dev_tasks_twice),
		T(test_max_iter),
		T(test_no_auto_retry),
		T(test_pm_dev_fail_wait),
		T(test_report_idempotent),
		T(test_tokens),
		T(test_report_records_gate),
		T(test_concurrent_writers),
		T(test_run_role),
		T(test_submit_report),
		cmocka_unit_test(test_report_parse),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_defaults),
	};

	unsetenv("WORKFLOW_MAX_ITER");
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
