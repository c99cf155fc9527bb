/*
 * pipeline: the run state machine.  Each transition runs inside
 * transition(), which holds the runs' lock across read, check, write,
 * audit, event and enqueue, so that two callers never both move one run,
 * and a refused transition changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "entity.h"
#include "err.h"
#include "event.h"
#include "fault.h"
#include "job.h"
#include "handoff.h"
#include "json.h"
#include "log.h"
#include "pipeline.h"
#include "queue.h"
#include "repo.h"
#include "role.h"
#include "spool.h"
#include "store.h"
#include "worktree.h"

void
wf_pipeline_defaults(struct wf_pipeline_conf *c)
{
	const char *v = getenv("WORKFLOW_MAX_ITER");
	const char *errstr;
	long long n;

	memset(c, 0, sizeof(*c));
	c->max_iter = 3;
	if (v != NULL) {
		n = strtonum(v, 1, 100, &errstr);
		if (errstr == NULL)
			c->max_iter = (int)n;
	}
	c->auto_retry = 1;
	c->sec_block = 2; /* high */
	c->tdd = 1;
	c->agent_priority = 2;
}

int
wf_pipeline_severity(const char *s)
{
	static const struct { const char *name; int level; } sev[] = {
		{ "critical", 1 }, { "high", 2 }, { "medium", 3 },
		{ "moderate", 3 }, { "low", 4 }, { "info", 5 },
		{ "informational", 5 },
	};

	for (size_t i = 0; s != NULL && i < sizeof(sev) / sizeof(sev[0]); i++)
		if (strcasecmp(s, sev[i].name) == 0)
			return sev[i].level;
	return -1;
}

/* The role that works in a state, or NULL. */
static const char *
state_role(const char *state)
{
	if (strcmp(state, "PM") == 0)
		return "pm";
	if (strcmp(state, "DEV") == 0)
		return "dev";
	if (strcmp(state, "QA") == 0)
		return "qa";
	if (strcmp(state, "SEC") == 0)
		return "security";
	return NULL;
}

/* The state a role's pass leads to. */
static const char *
next_state(const char *state)
{
	static const char *const order[][2] = {
		{ "PM", "DEV" }, { "DEV", "QA" }, { "QA", "SEC" },
		{ "SEC", "READY_FOR_COMMIT" }, { "READY_FOR_COMMIT", "MERGED" },
		{ "MERGED", "READY_FOR_DEPLOY" },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(order[i][0], state) == 0)
			return order[i][1];
	return NULL;
}

static const char *
norm_role(const char *r)
{
	if (strcmp(r, "sec") == 0)
		return "security";
	return r;
}

int
wf_pipeline_report_parse(const char *buf, size_t len, cJSON **out,
    char *err, size_t errlen)
{
	static const char *const roles[] = { "pm", "dev", "qa", "security",
		"sec", "docs", "deploy", NULL };
	const cJSON *it;
	cJSON *o;
	int64_t rid;
	int ok = 0;

	*out = NULL;
	if (len > (1 << 20))
		return wf_err(err, errlen, "report larger than 1 MiB");
	if (wf_json_text_ok(buf, len, err, errlen) == -1)
		return -1;
	o = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return wf_err(err, errlen, "report: not a JSON object");
	}
	cJSON_ArrayForEach(it, o) {
		if (strcmp(it->string, "run_id") != 0 &&
		    strcmp(it->string, "role") != 0 &&
		    strcmp(it->string, "status") != 0 &&
		    strcmp(it->string, "summary") != 0 &&
		    strcmp(it->string, "details") != 0 &&
		    strcmp(it->string, "tokens_in") != 0 &&
		    strcmp(it->string, "tokens_out") != 0 &&
		    strcmp(it->string, "handoff") != 0) {
			wf_err(err, errlen, "report: unknown field '%.64s'",
			    it->string);
			goto bad;
		}
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "role");
	for (int i = 0; cJSON_IsString(it) && roles[i] != NULL; i++)
		if (strcmp(it->valuestring, roles[i]) == 0)
			ok = 1;
	if (!ok) {
		wf_err(err, errlen, "report: role must be "
		    "pm|dev|qa|security|docs|deploy");
		goto bad;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (!cJSON_IsString(it) || (strcmp(it->valuestring, "pass") != 0 &&
	    strcmp(it->valuestring, "fail") != 0 &&
	    strcmp(it->valuestring, "pending") != 0)) {
		wf_err(err, errlen, "report: status must be pass|fail|pending");
		goto bad;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "summary");
	if (it != NULL && !cJSON_IsString(it)) {
		wf_err(err, errlen, "report: summary must be a string");
		goto bad;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "details");
	if (it != NULL && !cJSON_IsObject(it) && !cJSON_IsNull(it)) {
		wf_err(err, errlen, "report: details must be an object");
		goto bad;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "handoff");
	if (it != NULL && !cJSON_IsObject(it)) {
		wf_err(err, errlen, "report: handoff must be an object");
		goto bad;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "run_id");
	if (it != NULL && wf_json_id(it, &rid) == -1) {
		/* Its value is not named: 1e300 as an int64 would be a
		 * run that is not the one the report meant. */
		wf_err(err, errlen, "report: run_id must be a run id (an "
		    "integer from 1 to 2^53-1)");
		goto bad;
	}
	*out = o;
	return 0;
bad:
	cJSON_Delete(o);
	return -1;
}

static int
num_field(const cJSON *o, const char *k, double *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(it))
		return -1;
	*v = it->valuedouble;
	return 0;
}

int
wf_pipeline_gate(const struct wf_pipeline_conf *c, const cJSON *report,
    char *why, size_t whylen)
{
	const cJSON *role = cJSON_GetObjectItem(report, "role");
	const cJSON *st = cJSON_GetObjectItem(report, "status");
	const cJSON *d = cJSON_GetObjectItem(report, "details");
	double run, failed, passed;

	if (!cJSON_IsString(st) || strcmp(st->valuestring, "pass") != 0)
		return 0;
	if (strcmp(role->valuestring, "qa") == 0) {
		if (num_field(d, "tests_run", &run) == -1 || run < 1)
			return wf_err(why, whylen, "QA gate: a pass needs evidence: "
			    "details.tests_run >= 1");
		if (num_field(d, "tests_failed", &failed) == -1) {
			if (num_field(d, "tests_passed", &passed) == -1)
				return wf_err(why, whylen, "QA gate: a pass needs "
				    "details.tests_failed (or tests_passed)");
			failed = run - passed;
		}
		if (failed != 0)
			return wf_err(why, whylen, "QA gate: %g of %g tests "
			    "failed", failed, run);
		return 0;
	}
	if (strcmp(norm_role(role->valuestring), "security") == 0) {
		const cJSON *fs = cJSON_GetObjectItem(d, "findings"), *f;
		int worst = 99, n = 0;

		cJSON_ArrayForEach(f, fs) {
			const cJSON *sv = cJSON_GetObjectItem(f, "severity");
			int lv = wf_pipeline_severity(cJSON_IsString(sv) ?
			    sv->valuestring : NULL);

			if (lv == -1)
				lv = 3; /* unknown counts as medium */
			if (lv <= c->sec_block)
				n++;
			if (lv < worst)
				worst = lv;
		}
		if (n > 0)
			return wf_err(why, whylen, "SEC gate: %d finding%s at or "
			    "above the blocking severity", n, n == 1 ? "" : "s");
	}
	return 0;
}

/* What a transition function does to a run, inside the lock. */
struct step {
	const char *to;         /* the new state; NULL: no change of state */
	const char *why;        /* for history and audit */
	const char *action;     /* audit action */
	int enqueue;            /* enqueue the new state's role */
	int emitted;
};

static int
set_str(cJSON *o, const char *k, const char *v)
{
	cJSON *n = v != NULL ? cJSON_CreateString(v) : cJSON_CreateNull();

	if (cJSON_GetObjectItemCaseSensitive(o, k) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(o, k, n) ? 0 : -1;
	return cJSON_AddItemToObject(o, k, n) ? 0 : -1;
}

static int
set_num(cJSON *o, const char *k, double v)
{
	cJSON *n = cJSON_CreateNumber(v);

	if (cJSON_GetObjectItemCaseSensitive(o, k) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(o, k, n) ? 0 : -1;
	return cJSON_AddItemToObject(o, k, n) ? 0 : -1;
}

static int
set_item(cJSON *o, const char *k, cJSON *n)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(o, k, n) ? 0 : -1;
	return cJSON_AddItemToObject(o, k, n) ? 0 : -1;
}

static const char *
get_str(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int64_t
get_int(const cJSON *o, const char *k)
{
	return wf_json_int(o, k);
}

static int
enqueue_role(int root, const struct wf_pipeline_conf *c, const cJSON *run,
    const char *role, const char *phase, const char *job_id, char *err,
    size_t errlen)
{
	struct wf_job j;
	char e2[256];
	int rc;

	wf_job_init(&j);
	strlcpy(j.id, job_id, sizeof(j.id));
	j.type = WF_JT_AGENT_RUN;
	j.priority = c->agent_priority;
	j.run_id = get_int(run, "id");
	j.project_id = get_int(run, "project_id");
	j.task_id = get_int(run, "task_id");
	j.request_data = cJSON_CreateObject();
	cJSON_AddNumberToObject(j.request_data, "run_id", (double)j.run_id);
	cJSON_AddStringToObject(j.request_data, "role", role);
	cJSON_AddNumberToObject(j.request_data, "iteration",
	    (double)get_int(run, "iteration"));
	if (phase != NULL)
		cJSON_AddStringToObject(j.request_data, "phase", phase);
	if (wf_job_validate(&j, e2, sizeof(e2)) == -1) {
		wf_job_free(&j);
		return wf_err(err, errlen, "agent job: %s", e2);
	}
	rc = wf_queue_submit(root, &j, 1);
	if (rc == -1)
		wf_err(err, errlen, "enqueue the %s job: %s", role,
		    strerror(errno));
	wf_job_free(&j);
	return rc;
}

/* The deploy job of an approved run: high priority, one attempt (a
 * deploy is not retried behind a human's back). */
static int
enqueue_deploy(int root, const cJSON *run, int64_t env_id, const char *job_id,
    char *err, size_t errlen)
{
	struct wf_job j;
	char e2[256];
	int rc;

	wf_job_init(&j);
	strlcpy(j.id, job_id, sizeof(j.id));
	j.type = WF_JT_DEPLOY;
	j.priority = 2;
	j.max_attempts = 1;
	j.run_id = get_int(run, "id");
	j.project_id = get_int(run, "project_id");
	j.request_data = cJSON_CreateObject();
	cJSON_AddNumberToObject(j.request_data, "run_id", (double)j.run_id);
	cJSON_AddNumberToObject(j.request_data, "environment_id",
	    (double)env_id);
	if (wf_job_validate(&j, e2, sizeof(e2)) == -1) {
		wf_job_free(&j);
		return wf_err(err, errlen, "deploy job: %s", e2);
	}
	rc = wf_queue_submit(root, &j, 1);
	if (rc == -1)
		wf_err(err, errlen, "enqueue the deploy job: %s", strerror(errno));
	wf_job_free(&j);
	return rc;
}

/*
 * What a transition tells the world (audit lines, events) waits here until
 * the run file is written: a refused or failed write tells nothing.
 */
static cJSON *notes;

static void
note(const char *audit_action, const char *event, int64_t run_id,
    cJSON *payload)
{
	cJSON *n = cJSON_CreateObject();

	if (notes == NULL)
		notes = cJSON_CreateArray();
	if (audit_action != NULL)
		cJSON_AddStringToObject(n, "audit", audit_action);
	if (event != NULL)
		cJSON_AddStringToObject(n, "event", event);
	cJSON_AddNumberToObject(n, "id", (double)run_id);
	cJSON_AddItemToObject(n, "payload", payload);
	cJSON_AddItemToArray(notes, n);
}

/* A step that refused, or changed nothing, tells nothing. */
static void
notes_drop(void)
{
	cJSON_Delete(notes);
	notes = NULL;
}

/* Record a move in the run, and note it for the audit trail and the
 * events. */
static void
moved(int root, cJSON *run, const char *from_state, const char *to,
    const char *why, const char *report_id)
{
	char iso[WF_ISO_LEN], from[32];
	cJSON *h = cJSON_GetObjectItemCaseSensitive(run, "history"), *e, *p;
	int64_t id = get_int(run, "id");
	const char *role = state_role(to);

	(void)root;
	/* from_state may point into the run's own "state", replaced below. */
	strlcpy(from, from_state, sizeof(from));
	if (!cJSON_IsArray(h)) {
		h = cJSON_CreateArray();
		set_item(run, "history", h);
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	cJSON_AddStringToObject(e, "from", from);
	cJSON_AddStringToObject(e, "to", to);
	cJSON_AddStringToObject(e, "actor", wf_audit_actor());
	if (why != NULL)
		cJSON_AddStringToObject(e, "why", why);
	if (report_id != NULL)
		cJSON_AddStringToObject(e, "report_id", report_id);
	cJSON_AddItemToArray(h, e);
	set_str(run, "state", to);

	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run_id", (double)id);
	cJSON_AddNumberToObject(p, "project_id",
	    (double)get_int(run, "project_id"));
	cJSON_AddStringToObject(p, "from_state", from);
	cJSON_AddStringToObject(p, "to_state", to);
	if (role != NULL)
		cJSON_AddStringToObject(p, "next_agent", role);
	else
		cJSON_AddNullToObject(p, "next_agent");
	if (why != NULL)
		cJSON_AddStringToObject(p, "reason", why);
	if (strcmp(to, "READY_FOR_DEPLOY") == 0)
		note(NULL, "run.ready_for_deploy", id, cJSON_Duplicate(p, 1));
	note("run.state_changed", "run.state_changed", id, p);
}

static void
wait_human(cJSON *run, const char *reason)
{
	cJSON_DeleteItemFromObjectCaseSensitive(run, "waiting_for_human");
	cJSON_AddTrueToObject(run, "waiting_for_human");
	set_str(run, "waiting_reason", reason);
}

static void
clear_wait(cJSON *run)
{
	cJSON_DeleteItemFromObjectCaseSensitive(run, "waiting_for_human");
	cJSON_AddFalseToObject(run, "waiting_for_human");
	cJSON_DeleteItemFromObjectCaseSensitive(run, "waiting_reason");
}

/*
 * A step that keeps the run in its state but starts a role again (a
 * refused commit, QA writing tests under tdd) says so here; transition()
 * enqueues it.
 */
static struct {
	char role[16];
	char phase[16];
	int keep_base; /* the same work again: its base stays */
	int64_t deploy_env; /* approved: the deploy job to this environment */
} again;

static void
start_again(const char *role, const char *phase)
{
	again.keep_base = 0;
	strlcpy(again.role, role, sizeof(again.role));
	strlcpy(again.phase, phase != NULL ? phase : "", sizeof(again.phase));
}

/*
 * A role starts: note the commit it starts from, so that the gate can
 * tell which paths its work touched.  No git repository, no base.
 */
static void
stage_begin(int root, cJSON *run)
{
	cJSON *project = NULL;
	const char *repo;
	char sha[64], err[256];

	cJSON_DeleteItemFromObjectCaseSensitive(run, "stage_base");
	if (wf_store_get(root, &wf_kind_project, get_int(run, "project_id"),
	    &project, err, sizeof(err)) == -1)
		return;
	repo = get_str(run, "worktree") != NULL ? get_str(run, "worktree") :
	    get_str(project, "repo_path");
	if (wf_repo_is_git(repo) &&
	    wf_repo_head(repo, sha, sizeof(sha), err, sizeof(err)) == 0)
		set_str(run, "stage_base", sha);
	cJSON_Delete(project);
}

/*
 * A run of a project in a git repository gets its own worktree on
 * wf/run-N, from the primary branch as it is now; the run records where
 * it is and where it began.  A project with no git repository has none,
 * and the run says so.
 */
static int
worktree_make(int root, const struct wf_pipeline_conf *c, cJSON *run,
    char *err, size_t errlen)
{
	cJSON *project = NULL;
	const char *repo;
	char path[4096], branch[64], primary[256], e2[512];
	char sha[64];
	int rc = -1;

	if (wf_store_get(root, &wf_kind_project, get_int(run, "project_id"),
	    &project, err, errlen) == -1)
		return -1;
	repo = get_str(project, "repo_path");
	if (!wf_repo_is_git(repo)) {
		cJSON_DeleteItemFromObjectCaseSensitive(run, "worktree");
		cJSON_AddNullToObject(run, "worktree");
		snprintf(e2, sizeof(e2), "%s is not a git repository: the "
		    "run's agents work in it directly, with no worktree, no "
		    "branch and no diff to review", repo != NULL ? repo :
		    "the project's repo_path");
		set_str(run, "worktree_note", e2);
		rc = 0;
		goto out;
	}
	snprintf(branch, sizeof(branch), "wf/run-%lld",
	    (long long)get_int(run, "id"));
	if (wf_worktree_path(c->workdir, get_int(run, "id"), path,
	    sizeof(path)) == -1) {
		wf_err(err, errlen, "worktree: the work directory's path is too "
		    "long");
		goto out;
	}
	if (wf_worktree_primary(project, primary, sizeof(primary), e2,
	    sizeof(e2)) == -1) {
		wf_err(err, errlen, "worktree: %s", e2);
		goto out;
	}
	if (wf_worktree_add(repo, path, branch, primary, e2, sizeof(e2)) == -1 ||
	    wf_repo_head(path, sha, sizeof(sha), e2, sizeof(e2)) == -1) {
		wf_err(err, errlen, "worktree: %s", e2);
		goto out;
	}
	set_str(run, "worktree", path);
	set_str(run, "branch", branch);
	set_str(run, "base_branch", primary);
	set_str(run, "base_commit", sha);
	rc = 0;
out:
	cJSON_Delete(project);
	return rc;
}

/* A run that ended (DEPLOYED, ABANDONED) leaves no worktree; its branch
 * stays.  A failure is logged: wf-gate's start and wf queue purge find
 * what is left. */
static void
worktree_drop(int root, const cJSON *run)
{
	cJSON *project = NULL;
	const char *wt = get_str(run, "worktree");
	char err[512];

	if (wt == NULL)
		return;
	if (wf_store_get(root, &wf_kind_project, get_int(run, "project_id"),
	    &project, err, sizeof(err)) == -1)
		project = NULL;
	if (wf_worktree_remove(get_str(project, "repo_path"), wt, err,
	    sizeof(err)) == -1)
		wf_log_warn("run %lld: %s", (long long)get_int(run, "id"), err);
	cJSON_Delete(project);
}

static int
ended(const char *state)
{
	return state != NULL && (strcmp(state, "DEPLOYED") == 0 ||
	    strcmp(state, "ABANDONED") == 0);
}

int
wf_pipeline_run_ended(int root, int64_t run_id)
{
	cJSON *run = NULL;
	char err[256];
	int e;

	if (wf_store_get(root, &wf_kind_run, run_id, &run, err,
	    sizeof(err)) == -1)
		return errno == ENOENT;
	e = ended(get_str(run, "state"));
	cJSON_Delete(run);
	return e;
}

static int
merged_or_later(const char *state)
{
	return strcmp(state, "MERGED") == 0 ||
	    strcmp(state, "READY_FOR_DEPLOY") == 0 ||
	    strcmp(state, "TESTING") == 0 || strcmp(state, "DEPLOYED") == 0 ||
	    strcmp(state, "DEPLOY_FAILED") == 0;
}

/*
 * The tasks a run works on follow it on the board: the run's own task and
 * those its PM made go from backlog to in_progress when DEV takes the run,
 * and to done once its work is merged.  A task a human has put elsewhere
 * (blocked, failed, done) is left where it is.  The run is written first:
 * a task that cannot be changed is logged, and changes nothing else.
 */
static void
tasks_follow(int root, const cJSON *run, const char *before,
    const char *after)
{
	const char *to;
	int64_t rid = get_int(run, "id"), tid = get_int(run, "task_id");
	cJSON *all, *t;
	char err[256];

	if (strcmp(after, "DEV") == 0 && strcmp(before, "DEV") != 0)
		to = "in_progress";
	else if (merged_or_later(after) && !merged_or_later(before))
		to = "done";
	else
		return;
	if ((all = wf_store_list(root, &wf_kind_task,
	    get_int(run, "project_id"))) == NULL)
		return;
	cJSON_ArrayForEach(t, all) {
		const char *st = get_str(t, "status");
		int64_t id = get_int(t, "id");

		if (id <= 0 || (get_int(t, "run_id") != rid && id != tid))
			continue;
		if (st != NULL && strcmp(st, "backlog") != 0 &&
		    !(strcmp(to, "done") == 0 && strcmp(st, "in_progress") == 0))
			continue;
		if (wf_entity_status(root, &wf_kind_task, id, to, err,
		    sizeof(err)) == -1)
			wf_log_warn("run %lld: task %lld: %s", (long long)rid,
			    (long long)id, err);
	}
	cJSON_Delete(all);
}

/*
 * Effects: what follows a change of a run (its audit lines and events,
 * the next role's job, a deploy job, its tasks on the board, the end of
 * its worktree), recorded in the run ("effects") by the same write that
 * changes it, each with an id made then, and done right after it.  Done
 * again, an effect is a no-op: a job or an event whose id exists is not
 * made again, an audit line whose id is in the trail is not written
 * again, the rest come out the same.  So a crash between the write and
 * its effects only delays them: wf-gate does what it finds recorded
 * (wf_pipeline_effects_redo), at its start and on a timer.
 */
static cJSON *
effect_new(cJSON *run, const char *what)
{
	cJSON *fx = cJSON_GetObjectItemCaseSensitive(run, "effects"), *e;
	char id[WF_NAME_MAX + 1];

	if (!cJSON_IsArray(fx)) {
		cJSON_DeleteItemFromObjectCaseSensitive(run, "effects");
		fx = cJSON_AddArrayToObject(run, "effects");
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "do", what);
	if (wf_spool_name(id, sizeof(id)) == 0)
		cJSON_AddStringToObject(e, "id", id);
	cJSON_AddItemToArray(fx, e);
	return e;
}

/* A step's notes become its effects: an audit line and an event each. */
static void
notes_to_effects(cJSON *run)
{
	const cJSON *n;
	cJSON *e;

	cJSON_ArrayForEach(n, notes) {
		const char *a = get_str(n, "audit"), *ev = get_str(n, "event");
		const cJSON *p = cJSON_GetObjectItem(n, "payload");

		if (a != NULL) {
			e = effect_new(run, "audit");
			cJSON_AddStringToObject(e, "action", a);
			cJSON_AddItemToObject(e, "details", cJSON_Duplicate(p, 1));
		}
		if (ev != NULL) {
			e = effect_new(run, "event");
			cJSON_AddStringToObject(e, "event", ev);
			cJSON_AddItemToObject(e, "payload", cJSON_Duplicate(p, 1));
		}
	}
	cJSON_Delete(notes);
	notes = NULL;
}

static int
job_exists(int root, const char *id)
{
	struct wf_jobref ref;

	return wf_queue_locate(root, id, &ref) == 0;
}

/*
 * A new run's beginning: it is said (run.created), gets its worktree
 * (where it has none yet: the run says "worktree", null for a project
 * that is not a git repository) and its first stage's base, and PM's
 * job.  With no worktree to be had, a human decides: no job.
 */
static int
begin(int root, const struct wf_pipeline_conf *c, cJSON *run,
    const cJSON *e, char *err, size_t errlen)
{
	const char *aid = get_str(e, "audit_id"), *eid = get_str(e, "event_id");
	cJSON *p = cJSON_CreateObject();
	char e2[512];

	cJSON_AddNumberToObject(p, "run_id", (double)get_int(run, "id"));
	cJSON_AddNumberToObject(p, "project_id",
	    (double)get_int(run, "project_id"));
	cJSON_AddStringToObject(p, "state", "PM");
	if ((aid != NULL && wf_audit_append_once(root, aid, "run.created",
	    "run", get_int(run, "id"), p) == -1) ||
	    (eid != NULL && wf_event_emit_once(root, eid, "run.created",
	    cJSON_Duplicate(p, 1)) == -1)) {
		cJSON_Delete(p);
		return wf_err(err, errlen, "run.created: %s", strerror(errno));
	}
	cJSON_Delete(p);
	if (cJSON_GetObjectItemCaseSensitive(run, "worktree") == NULL) {
		if (worktree_make(root, c, run, e2, sizeof(e2)) == -1) {
			/* No room of its own: no agent starts. */
			wait_human(run, e2);
			return 0;
		}
		stage_begin(root, run);
		/* The agent reads where it works from the run: written
		 * before its job exists. */
		if (wf_store_put_locked(root, &wf_kind_run, get_int(run, "id"),
		    run, err, errlen) == -1)
			return -1;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run,
	    "waiting_for_human")))
		return 0;
	if (!job_exists(root, get_str(e, "id")) && enqueue_role(root, c, run,
	    "pm", NULL, get_str(e, "id"), err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * What a writer killed between its create in a tmp/ and its rename left of
 * an effect's file: the file is named by the effect's id, made for that
 * effect alone, and the run is locked, so it is a dead try of this very
 * effect.  Dropped, so that the effect done again can write it (O_EXCL
 * would refuse it, and the run would wait for good).
 */
static void
tmp_clear(int root, const char *id)
{
	char path[WF_NAME_MAX + 40];

	if (id == NULL || !wf_spool_name_ok(id))
		return;
	snprintf(path, sizeof(path), "events/tmp/%s", id);
	unlinkat(root, path, 0);
	for (int l = 1; l <= 4; l++) {
		snprintf(path, sizeof(path), "%s/tmp/%s", wf_spool_qdir(l), id);
		unlinkat(root, path, 0);
	}
}

static int
effect_do(int root, const struct wf_pipeline_conf *c, cJSON *run,
    const cJSON *e, char *err, size_t errlen)
{
	const char *what = get_str(e, "do"), *id = get_str(e, "id");
	int64_t rid = get_int(run, "id");

	if (what == NULL || id == NULL || !wf_spool_name_ok(id))
		return wf_err(err, errlen, "run %lld: a malformed effect",
		    (long long)rid);
	tmp_clear(root, id);
	if (strcmp(what, "begin") == 0)
		tmp_clear(root, get_str(e, "event_id"));
	if (strcmp(what, "audit") == 0) {
		if (wf_audit_append_once(root, id, get_str(e, "action"), "run",
		    rid, cJSON_GetObjectItemCaseSensitive(e, "details")) == -1)
			return wf_err(err, errlen, "audit: %s",
			    strerror(errno));
	} else if (strcmp(what, "event") == 0) {
		if (wf_event_emit_once(root, id, get_str(e, "event"),
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e,
		    "payload"), 1)) == -1)
			return wf_err(err, errlen, "event %s: %s",
			    get_str(e, "event"), strerror(errno));
	} else if (strcmp(what, "begin") == 0) {
		if (begin(root, c, run, e, err, errlen) == -1)
			return -1;
	} else if (strcmp(what, "tasks") == 0) {
		tasks_follow(root, run, get_str(e, "before"),
		    get_str(e, "after"));
	} else if (strcmp(what, "worktree_drop") == 0) {
		worktree_drop(root, run);
	} else if (strcmp(what, "job") == 0) {
		if (!job_exists(root, id) && enqueue_role(root, c, run,
		    get_str(e, "role"), get_str(e, "phase"), id, err,
		    errlen) == -1)
			return -1;
	} else if (strcmp(what, "deploy") == 0) {
		if (!job_exists(root, id) && enqueue_deploy(root, run,
		    get_int(e, "environment_id"), id, err, errlen) == -1)
			return -1;
	} else
		return wf_err(err, errlen, "run %lld: an effect '%.20s' this "
		    "wf does not know", (long long)rid, what);
	return 0;
}

/*
 * Do a run's recorded effects, in order (the run is locked and written):
 * those done leave the record, which is written again.  0 when all are
 * done; -1 and the first failure's reason when some wait (they stay
 * recorded, for wf_pipeline_effects_redo).
 */
static int
effects_run(int root, const struct wf_pipeline_conf *c, cJSON *run,
    char *err, size_t errlen)
{
	cJSON *fx = cJSON_GetObjectItemCaseSensitive(run, "effects");
	char e2[256];
	int n = 0, rc = 0;

	if (!cJSON_IsArray(fx))
		return 0;
	while (cJSON_GetArraySize(fx) > 0) {
		if (effect_do(root, c, run, cJSON_GetArrayItem(fx, 0), err,
		    errlen) == -1) {
			rc = -1;
			break;
		}
		wf_fault("pipeline.effect");
		cJSON_DeleteItemFromArray(fx, 0);
		n++;
	}
	if (cJSON_GetArraySize(fx) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(run, "effects");
	if (n > 0 && wf_store_put_locked(root, &wf_kind_run, get_int(run, "id"),
	    run, e2, sizeof(e2)) == -1)
		wf_log_warn("run %lld: %s (its effects are done; they will be "
		    "seen as done again)", (long long)get_int(run, "id"), e2);
	return rc;
}

int
wf_pipeline_effects_redo(int root, const struct wf_pipeline_conf *c)
{
	cJSON *all, *r;
	int n = 0;

	if ((all = wf_store_list(root, &wf_kind_run, 0)) == NULL)
		return 0;
	cJSON_ArrayForEach(r, all) {
		cJSON *run = NULL;
		char err[512];
		int lk;

		if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r,
		    "effects")))
			continue;
		if ((lk = wf_store_lock(root, &wf_kind_run)) == -1)
			break;
		if (wf_store_get_locked(root, &wf_kind_run, get_int(r, "id"),
		    &run, err, sizeof(err)) == 0) {
			if (effects_run(root, c, run, err, sizeof(err)) == -1)
				wf_log_warn("run %lld: its effects wait: %s",
				    (long long)get_int(r, "id"), err);
			else
				n++;
		}
		cJSON_Delete(run);
		wf_store_unlock(lk);
	}
	cJSON_Delete(all);
	return n;
}

/* A step changes the run and returns 1, leaves it as it is and returns
 * 0, or refuses with -1 and a reason. */
typedef int (*step_fn)(int root, const struct wf_pipeline_conf *c,
    cJSON *run, void *arg, char *err, size_t errlen);

/*
 * The frame of every transition: lock, read, let fn change the run (it
 * calls moved() for each state it passes), write, enqueue the role of the
 * state the run ends in, unlock.  When fn refuses, nothing is written.
 */
static int
transition(int root, const struct wf_pipeline_conf *c, int64_t run_id,
    step_fn fn, void *arg, char *err, size_t errlen)
{
	cJSON *run = NULL, *fx;
	char before[32] = "", e2[512];
	const char *after, *role;
	int lk, rc = -1, changed;

	if ((lk = wf_store_lock(root, &wf_kind_run)) == -1)
		return wf_err(err, errlen, "runs: lock: %s", strerror(errno));
	if (wf_store_get_locked(root, &wf_kind_run, run_id, &run, err,
	    errlen) == -1)
		goto out;
	if (get_str(run, "state") != NULL)
		strlcpy(before, get_str(run, "state"), sizeof(before));
	notes_drop();
	again.role[0] = '\0';
	again.deploy_env = 0;
	if ((changed = fn(root, c, run, arg, err, errlen)) == -1)
		goto out;
	if (changed == 0) {
		rc = 0;
		goto out;
	}
	after = get_str(run, "state");
	role = after != NULL ? state_role(after) : NULL;
	/* Entering a role's state starts its agent. */
	if (role != NULL && strcmp(before, after) != 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(run, "phase");
		start_again(role, NULL);
	}
	if (again.role[0] != '\0' && !again.keep_base)
		stage_begin(root, run);
	/* What follows goes in the same write (effects_run does it). */
	notes_to_effects(run);
	if (strcmp(before, after) != 0) {
		fx = effect_new(run, "tasks");
		cJSON_AddStringToObject(fx, "before", before);
		cJSON_AddStringToObject(fx, "after", after);
	}
	if (ended(after) && !ended(before))
		effect_new(run, "worktree_drop");
	if (again.role[0] != '\0') {
		fx = effect_new(run, "job");
		cJSON_AddStringToObject(fx, "role", again.role);
		if (again.phase[0] != '\0')
			cJSON_AddStringToObject(fx, "phase", again.phase);
	}
	if (again.deploy_env > 0) {
		fx = effect_new(run, "deploy");
		cJSON_AddNumberToObject(fx, "environment_id",
		    (double)again.deploy_env);
	}
	if (wf_store_put_locked(root, &wf_kind_run, run_id, run, err,
	    errlen) == -1)
		goto out;
	wf_fault("pipeline.written");
	/* Committed: what is left undone is wf-gate's to do again. */
	if (effects_run(root, c, run, e2, sizeof(e2)) == -1)
		wf_log_warn("run %lld: its effects wait: %s",
		    (long long)run_id, e2);
	rc = 0;
out:
	notes_drop();
	wf_store_unlock(lk);
	cJSON_Delete(run);
	return rc;
}

/* The retry rule after a QA or SEC failure: back to DEV while iterations
 * remain (automatically when configured), else a human decides. */
static void
after_failure(const struct wf_pipeline_conf *c, int root, cJSON *run,
    const char *failed_state)
{
	int64_t it = get_int(run, "iteration");
	int64_t max = get_int(run, "max_iter");
	char why[160];

	if (max <= 0)
		max = c->max_iter;
	if (c->auto_retry && it < max) {
		set_num(run, "iteration", (double)(it + 1));
		snprintf(why, sizeof(why), "automatic retry %lld of %lld",
		    (long long)it + 1, (long long)max);
		moved(root, run, failed_state, "DEV", why, NULL);
		return;
	}
	snprintf(why, sizeof(why), "%s after %lld iteration%s (max_iter %lld): "
	    "a human decides (wf run retry, wf run reset-to-dev)",
	    failed_state, (long long)it, it == 1 ? "" : "s", (long long)max);
	wait_human(run, why);
}

struct create_arg {
	int64_t project_id, task_id;
	const char *name;
};

int
wf_pipeline_create(int root, const struct wf_pipeline_conf *c,
    int64_t project_id, int64_t task_id, const char *name, int64_t *run_id,
    char *err, size_t errlen)
{
	return wf_pipeline_create_request(root, c, project_id, task_id, name,
	    NULL, run_id, err, errlen);
}

int
wf_pipeline_create_request(int root, const struct wf_pipeline_conf *c,
    int64_t project_id, int64_t task_id, const char *name,
    const char *request, int64_t *run_id, char *err, size_t errlen)
{
	char iso[WF_ISO_LEN], nm[96], id[WF_NAME_MAX + 1];
	cJSON *f = cJSON_CreateObject(), *run, *e;
	int lk, rc = -1;

	cJSON_AddNumberToObject(f, "project_id", (double)project_id);
	if (task_id > 0)
		cJSON_AddNumberToObject(f, "task_id", (double)task_id);
	if (name == NULL) {
		snprintf(nm, sizeof(nm), "Run %s",
		    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
		name = nm;
	}
	cJSON_AddStringToObject(f, "name", name);
	cJSON_AddNumberToObject(f, "max_iter", c->max_iter);
	if (request != NULL)
		cJSON_AddStringToObject(f, "request", request);
	/* Its beginning is its first effect, written with it. */
	e = effect_new(f, "begin");
	if (wf_spool_name(id, sizeof(id)) == 0)
		cJSON_AddStringToObject(e, "audit_id", id);
	if (wf_spool_name(id, sizeof(id)) == 0)
		cJSON_AddStringToObject(e, "event_id", id);
	if (wf_store_create(root, &wf_kind_run, f, 1, run_id, err,
	    errlen) == -1)
		return -1;
	wf_fault("pipeline.created");
	if ((lk = wf_store_lock(root, &wf_kind_run)) == -1)
		return wf_err(err, errlen, "runs: lock: %s", strerror(errno));
	if (wf_store_get_locked(root, &wf_kind_run, *run_id, &run, err,
	    errlen) == -1) {
		wf_store_unlock(lk);
		return -1;
	}
	if (effects_run(root, c, run, err, errlen) == -1)
		wf_log_warn("run %lld: its effects wait: %s",
		    (long long)*run_id, err);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run,
	    "waiting_for_human")))
		/* No room of its own: a human decides. */
		wf_err(err, errlen, "%s", get_str(run, "waiting_reason"));
	else
		rc = 0;
	cJSON_Delete(run);
	wf_store_unlock(lk);
	return rc;
}

/* Under tdd, the PM state has a phase in which QA writes tests. */
static int
in_tdd(const cJSON *run)
{
	const char *st = get_str(run, "state"), *ph = get_str(run, "phase");

	return st != NULL && ph != NULL && strcmp(st, "PM") == 0 &&
	    strcmp(ph, "tdd") == 0;
}

/* The role whose report the run waits for. */
static const char *
expected_role(const cJSON *run)
{
	const char *st = get_str(run, "state");

	if (in_tdd(run))
		return "qa";
	if (st != NULL && strcmp(st, "TESTING") == 0)
		return "deploy";
	return st != NULL ? state_role(st) : NULL;
}

/* Can the gate check tests first: a git repository and a test command? */
static int
tdd_possible(int root, const struct wf_pipeline_conf *c, const cJSON *run)
{
	struct wf_role qa;
	cJSON *project = NULL;
	char err[256];
	const char *tc;
	int ok;

	if (wf_store_get(root, &wf_kind_project, get_int(run, "project_id"),
	    &project, err, sizeof(err)) == -1)
		return 0;
	tc = get_str(project, "test_command");
	ok = tc != NULL && tc[0] != '\0' &&
	    wf_repo_is_git(get_str(project, "repo_path"));
	cJSON_Delete(project);
	/* A QA that only runs the tests cannot write them first. */
	if (ok && (wf_role_load(c->roles_dir, "qa", &qa, err,
	    sizeof(err)) == -1 || (qa.backend == WF_BE_COMMAND &&
	    qa.tdd_command[0] == '\0')))
		ok = 0;
	return ok;
}

/*
 * The gate refused a role's work: the role starts again with the finding
 * in its results, while iterations remain; then a human decides.  The
 * state stays the seed's.
 */
static void
start_over(int root, const struct wf_pipeline_conf *c, cJSON *run,
    const char *role, const char *phase, const char *why,
    const char *report_id)
{
	int64_t it = get_int(run, "iteration"), max = get_int(run, "max_iter");
	const char *state = get_str(run, "state");
	char st[32], w[512];

	if (max <= 0)
		max = c->max_iter;
	strlcpy(st, state != NULL ? state : "?", sizeof(st));
	if (it < max) {
		set_num(run, "iteration", (double)(it + 1));
		snprintf(w, sizeof(w), "%s; %s starts again (iteration %lld of "
		    "%lld)", why, role, (long long)it + 1, (long long)max);
		moved(root, run, st, st, w, report_id);
		start_again(role, phase);
		/* What it touched before still counts until it is undone. */
		again.keep_base = 1;
		return;
	}
	snprintf(w, sizeof(w), "%s; after %lld iteration%s (max_iter %lld) a "
	    "human decides", why, (long long)it, it == 1 ? "" : "s",
	    (long long)max);
	wait_human(run, w);
}

struct report_arg {
	const cJSON *report;
	const char *report_id;
	const cJSON *gate;
	int applied;
	cJSON *handoff; /* the one this report left, in the run */
};

/* A role's last report, as results keeps it: its handoff is kept apart. */
static cJSON *
result_of(const cJSON *report)
{
	cJSON *r = cJSON_Duplicate(report, 1);

	cJSON_DeleteItemFromObjectCaseSensitive(r, "handoff");
	return r;
}

static int tdd_report(int, const struct wf_pipeline_conf *, cJSON *,
    struct report_arg *, int);
static int deploy_report(int, cJSON *, struct report_arg *, int);

static int
applied_before(const cJSON *run, const char *report_id)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(run, "reports"), *e;

	cJSON_ArrayForEach(e, h) {
		if (cJSON_IsString(e) && strcmp(e->valuestring, report_id) == 0)
			return 1;
	}
	return 0;
}

static int
step_report_apply(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *argp, char *err, size_t errlen)
{
	struct report_arg *a = argp;
	const char *state = get_str(run, "state");
	const char *role = norm_role(get_str(a->report, "role"));
	const char *status = get_str(a->report, "status");
	const char *want = expected_role(run);
	cJSON *results, *ids, *p;
	char why[256], gatewhy[256];
	int64_t id = get_int(run, "id");
	int pass;

	if (a->report_id != NULL && applied_before(run, a->report_id)) {
		a->applied = 0;
		return 0; /* nothing changes, nothing is written */
	}
	if (strcmp(role, "docs") != 0 &&
	    (want == NULL || strcmp(want, role) != 0))
		return wf_err(err, errlen, "run %lld is in %s: a %s report is not "
		    "expected%s%s", (long long)id, state ? state : "?", role,
		    want ? "; it waits for " : "", want ? want : "");
	results = cJSON_GetObjectItemCaseSensitive(run, "results");
	if (!cJSON_IsObject(results)) {
		results = cJSON_CreateObject();
		set_item(run, "results", results);
	}
	set_item(results, in_tdd(run) ? "qa_tdd" : role, result_of(a->report));
	if (a->gate != NULL)
		set_item(run, "gate", cJSON_Duplicate(a->gate, 1));
	/* A stage's record for the next role and for a human; a role still
	 * at work (pending) has not handed anything over yet. */
	if (strcmp(status, "pending") != 0)
		a->handoff = wf_handoff_record(run, a->report, a->gate,
		    a->report_id, NULL);
	{
		double in = 0, out = 0;

		num_field(a->report, "tokens_in", &in);
		num_field(a->report, "tokens_out", &out);
		set_num(run, "tokens_in", (double)get_int(run, "tokens_in") + in);
		set_num(run, "tokens_out",
		    (double)get_int(run, "tokens_out") + out);
	}
	if (a->report_id != NULL) {
		ids = cJSON_GetObjectItemCaseSensitive(run, "reports");
		if (!cJSON_IsArray(ids)) {
			ids = cJSON_CreateArray();
			set_item(run, "reports", ids);
		}
		cJSON_AddItemToArray(ids, cJSON_CreateString(a->report_id));
	}
	a->applied = 1;
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run_id", (double)id);
	cJSON_AddStringToObject(p, "role", role);
	cJSON_AddStringToObject(p, "status", status);
	if (get_str(a->report, "summary") != NULL)
		cJSON_AddStringToObject(p, "summary",
		    get_str(a->report, "summary"));
	note("run.report_submitted", "run.report_submitted", id, p);
	if (strcmp(role, "docs") == 0 || strcmp(status, "pending") == 0)
		return 1;

	pass = strcmp(status, "pass") == 0;
	if (in_tdd(run))
		return tdd_report(root, c, run, a, pass);
	if (strcmp(role, "deploy") == 0)
		return deploy_report(root, run, a, pass);
	if (pass && strcmp(state, "PM") == 0 && c->tdd && tdd_possible(root,
	    c, run)) {
		/* Test first: PM's pass ends with QA writing failing tests;
		 * DEV starts when the gate has seen them fail. */
		clear_wait(run);
		set_str(run, "phase", "tdd");
		moved(root, run, state, "PM", "pm passed; QA writes the failing "
		    "tests first (tdd)", a->report_id);
		start_again("qa", "tdd");
		return 1;
	}
	if (pass && wf_pipeline_gate(c, a->report, gatewhy,
	    sizeof(gatewhy)) == -1) {
		pass = 0;
		status = "fail";
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "run_id", (double)id);
		cJSON_AddStringToObject(p, "role", role);
		cJSON_AddStringToObject(p, "reason", gatewhy);
		note("run.gate_failed", "run.gate_failed", id, p);
		snprintf(why, sizeof(why), "%s", gatewhy);
		/* The handoff says what the gate made of the pass. */
		if (a->handoff != NULL) {
			set_str(a->handoff, "status", "fail");
			set_str(a->handoff, "refused", gatewhy);
		}
	} else
		snprintf(why, sizeof(why), "%s reported %s", role, status);
	clear_wait(run);
	if (pass) {
		moved(root, run, state, next_state(state), why, a->report_id);
		return 1;
	}
	if (strcmp(state, "QA") == 0 || strcmp(state, "SEC") == 0) {
		const char *failed = strcmp(state, "QA") == 0 ? "QA_FAILED" :
		    "SEC_FAILED";

		moved(root, run, state, failed, why, a->report_id);
		after_failure(c, root, run, failed);
		return 1;
	}
	/* PM or DEV failed: nothing to retry by rule; a human looks. */
	snprintf(gatewhy, sizeof(gatewhy), "%s reported fail: a human decides "
	    "(wf run %s --run-id %lld to run it again)", role,
	    strcmp(role, "pm") == 0 ? "pm" : "dev", (long long)id);
	wait_human(run, gatewhy);
	return 1;
}

/* A report, and then what came of it in its handoff. */
static int
step_report(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *argp, char *err, size_t errlen)
{
	struct report_arg *a = argp;
	int rc;

	a->handoff = NULL;
	rc = step_report_apply(root, c, run, argp, err, errlen);
	if (rc == 1)
		wf_handoff_outcome(a->handoff, run, a->report_id);
	return rc;
}

int
wf_pipeline_report(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const cJSON *report, const char *report_id,
    const cJSON *gate, int *applied, char *err, size_t errlen)
{
	struct report_arg a = { report, report_id, gate, 0, NULL };
	int rc;

	rc = transition(root, c, run_id, step_report, &a, err, errlen);
	if (applied != NULL)
		*applied = a.applied;
	return rc;
}

/*
 * QA's report under tdd.  Its pass counts only with the gate's evidence
 * that the tests it wrote fail (details.tests_failed >= 1, the gate's own
 * run); then their paths are kept and DEV starts.
 */
static int
tdd_report(int root, const struct wf_pipeline_conf *c, cJSON *run,
    struct report_arg *a, int pass)
{
	const cJSON *d = cJSON_GetObjectItem(a->report, "details");
	const cJSON *paths = cJSON_GetObjectItem(a->gate, "changed_paths");
	double failed = 0, nrun = 0;
	char why[256];
	cJSON *p;

	num_field(d, "tests_failed", &failed);
	num_field(d, "tests_run", &nrun);
	clear_wait(run);
	if (pass && failed >= 1 && cJSON_GetArraySize(paths) > 0) {
		set_item(run, "tdd_tests", cJSON_Duplicate(paths, 1));
		cJSON_DeleteItemFromObjectCaseSensitive(run, "phase");
		snprintf(why, sizeof(why), "QA wrote %d test file%s; %g of %g "
		    "tests fail as they should before DEV",
		    cJSON_GetArraySize(paths),
		    cJSON_GetArraySize(paths) == 1 ? "" : "s", failed, nrun);
		moved(root, run, "PM", "DEV", why, a->report_id);
		return 1;
	}
	if (!pass)
		snprintf(why, sizeof(why), "QA could not write the tests "
		    "(tdd): %.160s", get_str(a->report, "summary") ?
		    get_str(a->report, "summary") : "it reported fail");
	else if (cJSON_GetArraySize(paths) == 0)
		snprintf(why, sizeof(why), "tdd gate: QA's pass committed no "
		    "test");
	else
		snprintf(why, sizeof(why), "tdd gate: the new tests do not fail "
		    "(%g run, %g failed): they test nothing DEV must do", nrun,
		    failed);
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run_id", (double)get_int(run, "id"));
	cJSON_AddStringToObject(p, "role", "qa");
	cJSON_AddStringToObject(p, "reason", why);
	note("run.gate_failed", "run.gate_failed", get_int(run, "id"), p);
	start_over(root, c, run, "qa", "tdd", why, a->report_id);
	return 1;
}

struct refuse_arg {
	const cJSON *report, *gate;
	const char *report_id, *why;
	int applied;
};

static int
step_refuse(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *argp, char *err, size_t errlen)
{
	struct refuse_arg *a = argp;
	const char *role = norm_role(get_str(a->report, "role"));
	const char *want = expected_role(run), *phase = get_str(run, "phase");
	cJSON *results, *r, *ids, *p, *h;
	char ph[16];

	if (a->report_id != NULL && applied_before(run, a->report_id))
		return 0;
	if (want == NULL || strcmp(want, role) != 0)
		return wf_err(err, errlen, "run %lld is in %s: a %s report is not "
		    "expected", (long long)get_int(run, "id"),
		    get_str(run, "state") ? get_str(run, "state") : "?", role);
	strlcpy(ph, phase != NULL ? phase : "", sizeof(ph));
	results = cJSON_GetObjectItemCaseSensitive(run, "results");
	if (!cJSON_IsObject(results)) {
		results = cJSON_CreateObject();
		set_item(run, "results", results);
	}
	r = result_of(a->report);
	set_str(r, "status", "fail");
	set_str(r, "summary", a->why);
	set_str(r, "refused_by", "wf-gate");
	set_item(results, in_tdd(run) ? "qa_tdd" : role, r);
	if (a->gate != NULL)
		set_item(run, "gate", cJSON_Duplicate(a->gate, 1));
	h = wf_handoff_record(run, a->report, a->gate, a->report_id, a->why);
	if (a->report_id != NULL) {
		ids = cJSON_GetObjectItemCaseSensitive(run, "reports");
		if (!cJSON_IsArray(ids)) {
			ids = cJSON_CreateArray();
			set_item(run, "reports", ids);
		}
		cJSON_AddItemToArray(ids, cJSON_CreateString(a->report_id));
	}
	a->applied = 1;
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run_id", (double)get_int(run, "id"));
	cJSON_AddStringToObject(p, "role", role);
	cJSON_AddStringToObject(p, "reason", a->why);
	if (cJSON_GetObjectItem(a->gate, "offending_paths") != NULL)
		cJSON_AddItemToObject(p, "offending_paths", cJSON_Duplicate(
		    cJSON_GetObjectItem(a->gate, "offending_paths"), 1));
	note("run.gate_failed", "run.gate_failed", get_int(run, "id"), p);
	clear_wait(run);
	start_over(root, c, run, role, ph[0] != '\0' ? ph : NULL, a->why,
	    a->report_id);
	wf_handoff_outcome(h, run, a->report_id);
	return 1;
}

int
wf_pipeline_refuse(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const cJSON *report, const char *report_id,
    const cJSON *gate, const char *why, int *applied, char *err,
    size_t errlen)
{
	struct refuse_arg a = { report, gate, report_id, why, 0 };
	int rc;

	rc = transition(root, c, run_id, step_refuse, &a, err, errlen);
	if (applied != NULL)
		*applied = a.applied;
	return rc;
}

int
wf_pipeline_expects(const cJSON *run, const char **role, const char **phase)
{
	*role = expected_role(run);
	*phase = get_str(run, "phase");
	return *role != NULL ? 0 : -1;
}

/*
 * MERGED says the run's work is in the project's primary branch: where the
 * run has a branch of its own in a git repository, that must be true
 * before the state says so.  A project with no git repository, or a run
 * that never made its branch, has nothing to check.
 */
static int
merged_check(int root, cJSON *run, char *err, size_t errlen)
{
	cJSON *project = NULL;
	const char *repo, *into;
	char branch[64], why[256];
	int rc = 0, m;

	if (wf_store_get(root, &wf_kind_project, get_int(run, "project_id"),
	    &project, why, sizeof(why)) == -1)
		return 0;
	repo = get_str(project, "repo_path");
	/* Where the run began is where it goes back. */
	into = get_str(run, "base_branch");
	if (into == NULL || into[0] == '\0')
		into = get_str(project, "primary_branch");
	if (into == NULL || into[0] == '\0')
		into = get_str(project, "branch");
	snprintf(branch, sizeof(branch), "wf/run-%lld",
	    (long long)get_int(run, "id"));
	if (!wf_repo_is_git(repo) || into == NULL || into[0] == '\0' ||
	    !wf_repo_has_branch(repo, branch))
		goto out;
	m = wf_repo_merged(repo, branch, into, why, sizeof(why));
	if (m == 0)
		rc = wf_err(err, errlen, "%s is not merged into %s yet: merge it "
		    "(wf run merge %lld), then advance", branch, into,
		    (long long)get_int(run, "id"));
	else if (m == -1)
		rc = wf_err(err, errlen, "cannot tell whether %s is merged: %s",
		    branch, why);
out:
	cJSON_Delete(project);
	return rc;
}

static int
step_advance(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	const char *state = get_str(run, "state"), *role, *next;
	const cJSON *res;
	char why[256];

	(void)arg;
	if (state == NULL)
		return wf_err(err, errlen, "run has no state");
	if (strcmp(state, "READY_FOR_DEPLOY") == 0)
		return wf_err(err, errlen, "run is READY_FOR_DEPLOY: only a human's "
		    "approve-deploy moves it on");
	if (strcmp(state, "QA_FAILED") == 0 || strcmp(state, "SEC_FAILED") == 0)
		return wf_err(err, errlen, "run is %s: use retry or reset-to-dev",
		    state);
	if ((next = next_state(state)) == NULL)
		return wf_err(err, errlen, "run is %s: no state follows", state);
	if ((role = state_role(state)) != NULL) {
		/* Leaving a role's state needs that role's pass, through its
		 * gate. */
		res = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "results"),
		    role);
		if (res == NULL || get_str(res, "status") == NULL ||
		    strcmp(get_str(res, "status"), "pass") != 0)
			return wf_err(err, errlen, "run is %s: it needs a passing "
			    "%s report first", state, role);
		if (wf_pipeline_gate(c, res, why, sizeof(why)) == -1)
			return wf_err(err, errlen, "%s", why);
	}
	if (strcmp(next, "MERGED") == 0 && merged_check(root, run, err,
	    errlen) == -1)
		return -1;
	clear_wait(run);
	moved(root, run, state, next, "advanced by hand", NULL);
	return 1;
}

int
wf_pipeline_advance(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, char *err, size_t errlen)
{
	return transition(root, c, run_id, step_advance, NULL, err, errlen);
}

/* paths as " a, b, c" after text, into err. */
static void
paths_say(char *err, size_t errlen, const char *text, char **paths)
{
	size_t n = strlen(err);

	if (paths == NULL || paths[0] == NULL || n >= errlen)
		return;
	n += (size_t)snprintf(err + n, errlen - n, "; %s:", text);
	for (int i = 0; paths[i] != NULL && n < errlen; i++)
		n += (size_t)snprintf(err + n, errlen - n, "%s %s", i ? "," : "",
		    paths[i]);
}

static int
step_merge(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	const char *state = get_str(run, "state");
	const char *branch = get_str(run, "branch");
	const char *into = get_str(run, "base_branch");
	struct wf_worktree_merge m;
	cJSON *project = NULL, *rec;
	char msg[160], why[256], iso[WF_ISO_LEN];
	int rc = -1;

	(void)c;
	(void)arg;
	if (state == NULL || strcmp(state, "READY_FOR_COMMIT") != 0)
		return wf_err(err, errlen, "run is %s: merge needs "
		    "READY_FOR_COMMIT", state ? state : "?");
	if (branch == NULL || into == NULL)
		return wf_err(err, errlen, "run %lld has no branch of its own "
		    "(its project is not a git repository): advance it by "
		    "hand", (long long)get_int(run, "id"));
	if (wf_store_get(root, &wf_kind_project, get_int(run, "project_id"),
	    &project, err, errlen) == -1)
		return -1;
	snprintf(msg, sizeof(msg), "Merge %s (wf run %lld)", branch,
	    (long long)get_int(run, "id"));
	if (wf_worktree_merge(get_str(project, "repo_path"), branch, into, msg,
	    wf_audit_actor(), &m, err, errlen) == -1) {
		paths_say(err, errlen, "conflicts in", m.conflicts);
		paths_say(err, errlen, "uncommitted in", m.dirty);
		wf_worktree_merge_free(&m);
		goto out;
	}
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "how", m.how);
	cJSON_AddStringToObject(rec, "into", into);
	cJSON_AddStringToObject(rec, "commit", m.commit);
	if (m.where[0] != '\0')
		cJSON_AddStringToObject(rec, "checkout", m.where);
	cJSON_AddStringToObject(rec, "by", wf_audit_actor());
	cJSON_AddStringToObject(rec, "at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	note("run.merged", NULL, get_int(run, "id"), cJSON_Duplicate(rec, 1));
	set_item(run, "merge", rec);
	clear_wait(run);
	snprintf(why, sizeof(why), "%s merged into %s by %s (%s)", branch, into,
	    wf_audit_actor(), m.how);
	moved(root, run, state, "MERGED", why, NULL);
	rc = 1;
out:
	cJSON_Delete(project);
	return rc;
}

int
wf_pipeline_merge(int root, const struct wf_pipeline_conf *c, int64_t run_id,
    char *err, size_t errlen)
{
	return transition(root, c, run_id, step_merge, NULL, err, errlen);
}

static int
step_abandon(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	const char *state = get_str(run, "state");
	const char *why = arg;
	char w[320];

	(void)c;
	if (state == NULL || ended(state))
		return wf_err(err, errlen, "run is %s: it has ended already",
		    state ? state : "?");
	snprintf(w, sizeof(w), "abandoned by %s%s%.200s", wf_audit_actor(),
	    why != NULL ? ": " : "", why != NULL ? why : "");
	clear_wait(run);
	moved(root, run, state, "ABANDONED", w, NULL);
	return 1;
}

int
wf_pipeline_abandon(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *why, char *err, size_t errlen)
{
	return transition(root, c, run_id, step_abandon, (void *)why, err,
	    errlen);
}

static int
step_retry(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	const char *state = get_str(run, "state");
	int64_t it = get_int(run, "iteration");

	(void)c;
	(void)arg;
	if (state == NULL || (strcmp(state, "QA_FAILED") != 0 &&
	    strcmp(state, "SEC_FAILED") != 0))
		return wf_err(err, errlen, "run is %s: only QA_FAILED or "
		    "SEC_FAILED is retried", state ? state : "?");
	set_num(run, "iteration", (double)(it + 1));
	clear_wait(run);
	moved(root, run, state, "DEV", "retried by hand", NULL);
	return 1;
}

int
wf_pipeline_retry(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, char *err, size_t errlen)
{
	return transition(root, c, run_id, step_retry, NULL, err, errlen);
}

/* Findings of the failed report become tasks, the seed's way: severity
 * gives priority. */
static int
findings_to_tasks(int root, cJSON *run, const cJSON *report, char *err,
    size_t errlen)
{
	const cJSON *d = cJSON_GetObjectItem(report, "details"), *fs, *f;
	int64_t pid = get_int(run, "project_id"), rid = get_int(run, "id");
	int n = 0;

	fs = cJSON_GetObjectItem(d, "findings");
	if (!cJSON_IsArray(fs))
		fs = cJSON_GetObjectItem(d, "failures");
	cJSON_ArrayForEach(f, fs) {
		const char *title = cJSON_IsString(f) ? f->valuestring :
		    get_str(f, "title") ? get_str(f, "title") :
		    get_str(f, "description") ? get_str(f, "description") :
		    get_str(f, "message") ? get_str(f, "message") : "finding";
		int sev = wf_pipeline_severity(get_str(f, "severity"));
		cJSON *t = cJSON_CreateObject();
		char tid[48], tt[200];
		int64_t id;

		snprintf(tid, sizeof(tid), "R%lld-I%lld-F%d", (long long)rid,
		    (long long)get_int(run, "iteration"), ++n);
		snprintf(tt, sizeof(tt), "%s", title);
		cJSON_AddNumberToObject(t, "project_id", (double)pid);
		cJSON_AddStringToObject(t, "task_id", tid);
		cJSON_AddStringToObject(t, "title", tt);
		if (get_str(f, "description") != NULL)
			cJSON_AddStringToObject(t, "description",
			    get_str(f, "description"));
		cJSON_AddNumberToObject(t, "priority", sev > 0 ? sev : 3);
		cJSON_AddNumberToObject(t, "run_id", (double)rid);
		if (wf_store_create(root, &wf_kind_task, t, 0, &id, err,
		    errlen) == -1)
			return -1;
		wf_audit_append(root, "task.created", "task", id, NULL);
	}
	return n;
}

struct reset_arg {
	int make_tasks;
};

static int
step_reset(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *argp, char *err, size_t errlen)
{
	struct reset_arg *a = argp;
	const char *state = get_str(run, "state");
	const cJSON *res;
	char why[96];
	int n = 0;

	(void)c;
	if (state == NULL || (strcmp(state, "QA_FAILED") != 0 &&
	    strcmp(state, "SEC_FAILED") != 0))
		return wf_err(err, errlen, "run is %s: reset-to-dev works from "
		    "QA_FAILED or SEC_FAILED", state ? state : "?");
	res = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "results"),
	    strcmp(state, "QA_FAILED") == 0 ? "qa" : "security");
	if (a->make_tasks && res != NULL &&
	    (n = findings_to_tasks(root, run, res, err, errlen)) == -1)
		return -1;
	set_num(run, "iteration", (double)(get_int(run, "iteration") + 1));
	clear_wait(run);
	if (a->make_tasks)
		snprintf(why, sizeof(why), "reset to DEV, %d task%s from the "
		    "findings", n, n == 1 ? "" : "s");
	else
		snprintf(why, sizeof(why), "reset to DEV");
	moved(root, run, state, "DEV", why, NULL);
	return 1;
}

int
wf_pipeline_reset_to_dev(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, int make_tasks, char *err, size_t errlen)
{
	struct reset_arg a = { make_tasks };

	return transition(root, c, run_id, step_reset, &a, err, errlen);
}

static int
step_approve(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	const char *state = get_str(run, "state");
	int64_t env_id = *(int64_t *)arg;
	char iso[WF_ISO_LEN], why[160];
	cJSON *env = NULL;

	(void)c;
	if (state == NULL || (strcmp(state, "READY_FOR_DEPLOY") != 0 &&
	    (env_id == 0 || strcmp(state, "DEPLOY_FAILED") != 0)))
		return wf_err(err, errlen, "run is %s: approve-deploy needs "
		    "READY_FOR_DEPLOY%s", state ? state : "?",
		    env_id ? " (or DEPLOY_FAILED)" : "");
	if (env_id > 0) {
		if (wf_store_get(root, &wf_kind_environment, env_id, &env, err,
		    errlen) == -1)
			return -1;
		if (get_int(env, "project_id") != get_int(run, "project_id")) {
			cJSON_Delete(env);
			return wf_err(err, errlen, "environment %lld is not of the "
			    "run's project", (long long)env_id);
		}
		if (get_str(env, "deploy_command") == NULL) {
			cJSON_Delete(env);
			return wf_err(err, errlen, "environment %lld has no "
			    "deploy_command", (long long)env_id);
		}
		cJSON_Delete(env);
	}
	/* The approver is who ran this, by uid: never a field a caller
	 * can type. */
	set_str(run, "approved_by", wf_audit_actor());
	set_str(run, "approved_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	clear_wait(run);
	/* The approval is a line of its own, beside the transition. */
	{
		cJSON *p = cJSON_CreateObject();

		cJSON_AddNumberToObject(p, "run_id", (double)get_int(run, "id"));
		cJSON_AddNumberToObject(p, "project_id",
		    (double)get_int(run, "project_id"));
		cJSON_AddStringToObject(p, "approved_by", wf_audit_actor());
		if (env_id > 0)
			cJSON_AddNumberToObject(p, "environment_id",
			    (double)env_id);
		note("run.deploy_approved", NULL, get_int(run, "id"), p);
	}
	if (env_id > 0) {
		/* The deploy job decides: TESTING until it reports. */
		set_num(run, "deploy_environment_id", (double)env_id);
		snprintf(why, sizeof(why), "deploy to environment %lld approved "
		    "by %s", (long long)env_id, wf_audit_actor());
		moved(root, run, state, "TESTING", why, NULL);
		again.deploy_env = env_id;
		return 1;
	}
	snprintf(why, sizeof(why), "deploy approved by %s", wf_audit_actor());
	moved(root, run, state, "DEPLOYED", why, NULL);
	return 1;
}

int
wf_pipeline_approve_deploy(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, int64_t env_id, char *err, size_t errlen)
{
	return transition(root, c, run_id, step_approve, &env_id, err, errlen);
}

/* The deploy job's report: DEPLOYED, with the environment's
 * last_deploy_at; or DEPLOY_FAILED, and a human decides. */
static int
deploy_report(int root, cJSON *run, struct report_arg *a, int pass)
{
	int64_t env = get_int(run, "deploy_environment_id");
	char why[320], iso[WF_ISO_LEN], err[256];
	cJSON *patch;

	if (pass) {
		patch = cJSON_CreateObject();
		cJSON_AddStringToObject(patch, "last_deploy_at",
		    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
		if (env > 0 && wf_store_update(root, &wf_kind_environment, env,
		    patch, 1, err, sizeof(err)) == -1)
			cJSON_AddStringToObject(run, "deploy_note", err);
		cJSON_Delete(patch);
		moved(root, run, "TESTING", "DEPLOYED", "deploy, health check "
		    "and tests passed", a->report_id);
		return 1;
	}
	snprintf(why, sizeof(why), "deploy failed: %.200s%s: a human decides "
	    "(wf run approve-deploy %lld --env ID to try again)",
	    get_str(a->report, "summary") ? get_str(a->report, "summary") :
	    "the deploy job said so", cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(a->report, "details"), "rolled_back")) ?
	    "; rolled back" : "", (long long)get_int(run, "id"));
	moved(root, run, "TESTING", "DEPLOY_FAILED", why, a->report_id);
	wait_human(run, why);
	return 1;
}

struct force_arg {
	const char *state, *why;
};

static int
step_force(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *argp, char *err, size_t errlen)
{
	struct force_arg *a = argp;
	const struct wf_field *f = wf_store_field(&wf_kind_run, "state");
	const char *state = get_str(run, "state");
	char why[256];
	int ok = 0;

	(void)c;
	for (int i = 0; f->enums[i] != NULL; i++)
		if (strcmp(f->enums[i], a->state) == 0)
			ok = 1;
	if (!ok)
		return wf_err(err, errlen, "'%.32s' is not a run state", a->state);
	if (strcmp(a->state, "DEPLOYED") == 0)
		return wf_err(err, errlen, "DEPLOYED is reached only through "
		    "approve-deploy");
	snprintf(why, sizeof(why), "forced by %s%s%s", wf_audit_actor(),
	    a->why ? ": " : "", a->why ? a->why : "");
	clear_wait(run);
	{
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "from_state", state ? state : "?");
		cJSON_AddStringToObject(d, "to_state", a->state);
		if (a->why != NULL)
			cJSON_AddStringToObject(d, "why", a->why);
		note("run.state_forced", NULL, get_int(run, "id"), d);
	}
	moved(root, run, state ? state : "?", a->state, why, NULL);
	return 1;
}

int
wf_pipeline_set_state(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *state, const char *why, char *err,
    size_t errlen)
{
	struct force_arg a = { state, why };

	return transition(root, c, run_id, step_force, &a, err, errlen);
}

int
wf_pipeline_run_role(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *role, char *job_id, size_t idlen, char *err,
    size_t errlen)
{
	cJSON *run;
	const char *r = norm_role(role);
	int rc;

	if (strcmp(r, "pm") != 0 && strcmp(r, "dev") != 0 &&
	    strcmp(r, "qa") != 0 && strcmp(r, "security") != 0)
		return wf_err(err, errlen, "%.16s: not a role (pm|dev|qa|sec)",
		    role);
	if (wf_store_get(root, &wf_kind_run, run_id, &run, err, errlen) == -1)
		return -1;
	if (wf_spool_name(job_id, idlen) == -1) {
		cJSON_Delete(run);
		return wf_err(err, errlen, "a job id: %s", strerror(errno));
	}
	rc = enqueue_role(root, c, run, r, get_str(run, "phase"), job_id, err,
	    errlen);
	cJSON_Delete(run);
	return rc;
}

static int
step_budget(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	int64_t budget = *(int64_t *)arg;
	int64_t used = get_int(run, "tokens_in") + get_int(run, "tokens_out");
	const char *wr = get_str(run, "waiting_reason");
	cJSON *d = cJSON_CreateObject();

	(void)root;
	(void)c;
	if (budget < 0) {
		cJSON_Delete(d);
		return wf_err(err, errlen, "a budget is 0 (none) or more tokens");
	}
	set_num(run, "token_budget", (double)budget);
	if (wr != NULL && strstr(wr, "token budget") != NULL &&
	    (budget == 0 || used < budget))
		clear_wait(run);
	cJSON_AddNumberToObject(d, "token_budget", (double)budget);
	cJSON_AddNumberToObject(d, "tokens_used", (double)used);
	note("run.budget_set", NULL, get_int(run, "id"), d);
	return 1;
}

int
wf_pipeline_budget(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, int64_t budget, char *err, size_t errlen)
{
	return transition(root, c, run_id, step_budget, &budget, err, errlen);
}

int
wf_pipeline_over_budget(int root, int64_t run_id, char *why, size_t whylen)
{
	cJSON *run;
	char err[256];
	int64_t budget, used;

	if (wf_store_get(root, &wf_kind_run, run_id, &run, err,
	    sizeof(err)) == -1)
		return -1;
	budget = get_int(run, "token_budget");
	used = get_int(run, "tokens_in") + get_int(run, "tokens_out");
	cJSON_Delete(run);
	if (budget <= 0 || used < budget)
		return 0;
	snprintf(why, whylen, "run %lld is over its token budget (%lld of "
	    "%lld tokens): a human decides (wf run budget %lld TOKENS, then "
	    "wf queue retry)", (long long)run_id, (long long)used,
	    (long long)budget, (long long)run_id);
	return 1;
}

static int
step_hold(int root, const struct wf_pipeline_conf *c, cJSON *run,
    void *arg, char *err, size_t errlen)
{
	const char *why = arg, *wr = get_str(run, "waiting_reason");
	cJSON *p;

	(void)root;
	(void)c;
	(void)err;
	(void)errlen;
	if (wr != NULL && strcmp(wr, why) == 0)
		return 0;
	wait_human(run, why);
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run_id", (double)get_int(run, "id"));
	cJSON_AddStringToObject(p, "reason", why);
	note("run.held", "run.gate_failed", get_int(run, "id"), p);
	return 1;
}

int
wf_pipeline_hold(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *why, char *err, size_t errlen)
{
	return transition(root, c, run_id, step_hold, (void *)why, err,
	    errlen);
}

int
wf_pipeline_add_tokens(int root, int64_t run_id, int64_t in, int64_t out)
{
	cJSON *run;
	char err[256];
	int lk, rc = -1;

	if ((lk = wf_store_lock(root, &wf_kind_run)) == -1)
		return -1;
	if (wf_store_get_locked(root, &wf_kind_run, run_id, &run, err,
	    sizeof(err)) == 0) {
		set_num(run, "tokens_in", (double)(get_int(run, "tokens_in") + in));
		set_num(run, "tokens_out",
		    (double)(get_int(run, "tokens_out") + out));
		rc = wf_store_put_locked(root, &wf_kind_run, run_id, run, err,
		    sizeof(err));
		cJSON_Delete(run);
	}
	wf_store_unlock(lk);
	return rc;
}

int
wf_pipeline_submit_report(int root, const cJSON *report, char *id,
    size_t idlen)
{
	char name[WF_NAME_MAX + 1], *s;
	int rc;

	if (wf_spool_name(name, sizeof(name)) == -1)
		return -1;
	if ((s = cJSON_PrintUnformatted(report)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = wf_spool_write(root, "reports/tmp", "reports/new", name, s,
	    strlen(s), WF_SYNC_FILE | WF_SYNC_DIR);
	free(s);
	if (rc == 0 && id != NULL)
		strlcpy(id, name, idlen);
	return rc;
}

int
wf_pipeline_drop_report(int root, int64_t run_id, cJSON *rep, char *id,
    size_t idlen, char *err, size_t errlen)
{
	const cJSON *given = cJSON_GetObjectItemCaseSensitive(rep, "run_id");
	cJSON *chk = NULL;
	int64_t gid;
	char *s;

	/* A run_id of its own must be this run's: refused, not
	 * replaced. */
	if (given != NULL && (wf_json_id(given, &gid) == -1 ||
	    gid != run_id)) {
		snprintf(err, errlen, "report: run_id must be a run id, "
		    "this run's (%lld)", (long long)run_id);
		errno = EINVAL;
		return -1;
	}
	cJSON_DeleteItemFromObject(rep, "run_id");
	cJSON_AddNumberToObject(rep, "run_id", (double)run_id);
	/* Checked here too, so that the caller hears of a bad report now,
	 * not only in wf-gate's log. */
	if ((s = cJSON_PrintUnformatted(rep)) == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (wf_pipeline_report_parse(s, strlen(s), &chk, err, errlen) == -1) {
		free(s);
		errno = EINVAL;
		return -1;
	}
	free(s);
	cJSON_Delete(chk);
	if (wf_pipeline_submit_report(root, rep, id, idlen) == -1) {
		int e = errno;

		snprintf(err, errlen, "reports/new: %s", strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

int64_t
wf_pipeline_run_env(int root, int64_t run_id, const char *name, char *err,
    size_t errlen)
{
	const cJSON *e, *p;
	cJSON *run, *list;
	int64_t pid, id = -1;

	if (wf_store_get(root, &wf_kind_run, run_id, &run, err, errlen) == -1)
		return -1;
	p = cJSON_GetObjectItemCaseSensitive(run, "project_id");
	pid = cJSON_IsNumber(p) ? (int64_t)p->valuedouble : 0;
	cJSON_Delete(run);
	list = wf_store_list(root, &wf_kind_environment, pid);
	cJSON_ArrayForEach(e, list) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(e, "id");
		char num[32];

		snprintf(num, sizeof(num), "%lld",
		    cJSON_IsNumber(i) ? (long long)i->valuedouble : -1LL);
		if ((cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) ||
		    strcmp(num, name) == 0)
			id = (int64_t)i->valuedouble;
	}
	cJSON_Delete(list);
	if (id == -1)
		snprintf(err, errlen, "no such environment '%.64s' in project "
		    "%lld", name, (long long)pid);
	return id;
}
