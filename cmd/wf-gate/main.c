/*
 * wf-gate: applies agent reports to their runs.  It consumes reports/new
 * by the maildir protocol: each report is checked, applied through
 * lib/pipeline (the only writer of runs), and then moved to reports/cur.
 * A report that is not valid goes to corrupt/ with its reason and an audit
 * line.  Applying is idempotent (a run remembers the reports it took), so
 * a gate killed between applying and moving applies nothing twice when it
 * comes back.  Gates trust evidence: a QA pass of a project that has a
 * test command is believed only once the gate has run that command itself,
 * as a command job, and counted its tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "fault.h"
#include "home.h"
#include "job.h"
#include "log.h"
#include "pipeline.h"
#include "queue.h"
#include "repo.h"
#include "role.h"
#include "sdnotify.h"
#include "spool.h"
#include "store.h"
#include "testcount.h"
#include "worktree.h"

#define PENDING_MAX 256
#define EFFECTS_EVERY_MS 10000 /* effects left undone are looked for */
#define GATE_OUTPUT_MAX 4096 /* of its test run's output, kept in the run */

/* A QA pass waiting for the gate's own run of the tests. */
struct pending {
	char report[WF_NAME_MAX + 1];
	char job[WF_NAME_MAX + 1];
	int tdd;        /* the tests must fail: QA wrote them first */
	cJSON *changed; /* the paths QA's work touched */
};

static struct {
	const char *cfgpath;
	struct wf_config cfg;
	int root, ifd, sfd;
	int wd_new, wd_term[3];
	struct pending pend[PENDING_MAX];
	int npend;
	unsigned long applied, rejected;
	/* A full disk: the reports that could not be filed wait in
	 * reports/new, and are taken again with backoff. */
	int held, hold_ms;
	int64_t retry_at; /* mono ms; 0: nothing waits */
} G;
#define HOLD_MIN_MS 250
#define HOLD_MAX_MS 8000

/* A failure that room on the disk would mend. */
static int
no_room(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* Leave a report where it is, to be taken again once there is room; said
 * once until one is filed again. */
static void
hold(const char *name, const char *why)
{
	if (!G.held)
		wf_log_warn("report %s: %s; reports wait in reports/new, "
		    "taken again once there is room", name, why);
	G.held = 1;
	G.hold_ms = G.hold_ms == 0 ? HOLD_MIN_MS :
	    G.hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS : G.hold_ms * 2;
	G.retry_at = wf_clock_mono_ms() + G.hold_ms;
}

/* A report was filed: the disk has room again. */
static void
unhold(void)
{
	if (G.held)
		wf_log_info("reports are filed again");
	G.held = 0;
	G.hold_ms = 0;
}

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-gate [-v] [-c config]\n"
	    "Apply the agents' reports in $WF_HOME/reports/new to their runs,\n"
	    "enforcing the gates: QA's pass needs tests that ran and passed\n"
	    "(re-run by the gate when the project has a test command); SEC's\n"
	    "pass needs no finding at or above [pipeline] sec_block; a role's\n"
	    "commits may touch only the paths it owns (etc/roles/*.ini owns);\n"
	    "under tdd, QA's new tests must fail before DEV starts.  Invalid\n"
	    "reports go to corrupt/.  SIGHUP reloads the config.\n"
	    "  -c, --config FILE  config file (default: $WF_CONFIG or %s)\n"
	    "  -v, --verbose      log every report\n",
	    wf_home_config(NULL));
	exit(code);
}

/* A report went to corrupt/: the audit line and the count. */
static void
rejected(const char *name, const char *why)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "report", name);
	cJSON_AddStringToObject(d, "reason", why);
	wf_audit_append(G.root, "report.rejected", "report", 0, d);
	cJSON_Delete(d);
	G.rejected++;
}

static void
reject(const char *name, const char *why)
{
	char path[NAME_MAX + 16], cname[NAME_MAX + 16];

	snprintf(path, sizeof(path), "reports/new/%s", name);
	snprintf(cname, sizeof(cname), "report-%s", name);
	wf_log_warn("report %s: %s; moved to corrupt/", name, why);
	if (wf_spool_quarantine(G.root, path, cname, why) == -1)
		wf_log_warn("report %s: quarantine: %s", name, strerror(errno));
	rejected(name, why);
}

static void
done_with(const char *name)
{
	char src[NAME_MAX + 16], dst[NAME_MAX + 16];

	snprintf(src, sizeof(src), "reports/new/%s", name);
	snprintf(dst, sizeof(dst), "reports/cur/%s", name);
	if (wf_spool_move(G.root, src, dst) == -1 && errno != ENOENT)
		wf_log_warn("report %s: %s", name, strerror(errno));
}

static void
apply(const char *name, const cJSON *report, const cJSON *gate)
{
	const cJSON *rid = cJSON_GetObjectItem(report, "run_id");
	char err[512];
	int applied;

	if (wf_pipeline_report(G.root, &G.cfg.pipeline,
	    (int64_t)rid->valuedouble, report, name, gate, &applied, err,
	    sizeof(err)) == -1) {
		if (no_room(errno))
			hold(name, err);
		else
			reject(name, err);
		return;
	}
	unhold();
	if (applied) {
		G.applied++;
		wf_log_debug("report %s applied to run %lld", name,
		    (long long)rid->valuedouble);
	} else
		wf_log_info("report %s was applied before; not again", name);
	wf_fault("gate.applied");
	done_with(name);
}

static int
is_pending(const char *report)
{
	for (int i = 0; i < G.npend; i++)
		if (strcmp(G.pend[i].report, report) == 0)
			return 1;
	return 0;
}

/*
 * The run's project as the gate sees it: a run with a worktree of its own
 * is checked there, never in the user's checkout.
 */
static int
project_of(const cJSON *run, cJSON **project, char *err, size_t errlen)
{
	const cJSON *wt = cJSON_GetObjectItem(run, "worktree");

	if (wf_store_get(G.root, &wf_kind_project, (int64_t)cJSON_GetObjectItem(
	    run, "project_id")->valuedouble, project, err, errlen) == -1)
		return -1;
	if (cJSON_IsString(wt))
		cJSON_ReplaceItemInObjectCaseSensitive(*project, "repo_path",
		    cJSON_CreateString(wt->valuestring));
	return 0;
}

/* Enqueue the project's test command as the gate's own evidence. */
static int
verify(const char *name, const cJSON *project, int64_t run_id, int tdd,
    const cJSON *changed)
{
	const cJSON *tc = cJSON_GetObjectItem(project, "test_command");
	const cJSON *repo = cJSON_GetObjectItem(project, "repo_path");
	struct wf_job j;
	char err[256];
	cJSON *argv;

	if (G.npend == PENDING_MAX)
		return -1;
	wf_job_init(&j);
	j.type = WF_JT_COMMAND;
	j.priority = 2;
	j.max_attempts = 1;
	j.run_id = run_id;
	j.request_data = cJSON_CreateObject();
	argv = cJSON_AddArrayToObject(j.request_data, "argv");
	cJSON_AddItemToArray(argv, cJSON_CreateString("/bin/sh"));
	cJSON_AddItemToArray(argv, cJSON_CreateString("-c"));
	cJSON_AddItemToArray(argv, cJSON_CreateString(tc->valuestring));
	if (cJSON_IsString(repo) && repo->valuestring[0] == '/') {
		char gitdir[PATH_MAX];
		cJSON *sb, *ro;

		cJSON_AddStringToObject(j.request_data, "cwd", repo->valuestring);
		/* The project's tests are its code: they run in the room,
		 * the worktree written, no network. */
		sb = cJSON_AddObjectToObject(j.request_data, "sandbox");
		cJSON_AddStringToObject(sb, "rw", repo->valuestring);
		ro = cJSON_AddArrayToObject(sb, "ro");
		if (wf_repo_is_git(repo->valuestring) &&
		    wf_worktree_gitdir(repo->valuestring, gitdir,
		    sizeof(gitdir), err, sizeof(err)) == 0)
			cJSON_AddItemToArray(ro, cJSON_CreateString(gitdir));
		cJSON_AddFalseToObject(sb, "network");
	}
	if (wf_job_validate(&j, err, sizeof(err)) == -1) {
		wf_log_warn("report %s: cannot enqueue the test command: %s",
		    name, err);
		wf_job_free(&j);
		return -1;
	}
	if (wf_queue_submit(G.root, &j, 1) == -1) {
		int e = errno;

		snprintf(err, sizeof(err), "cannot enqueue the test command: "
		    "%s", strerror(e));
		wf_job_free(&j);
		/* Not judged without its evidence: it waits. */
		if (no_room(e)) {
			hold(name, err);
			return 1;
		}
		wf_log_warn("report %s: %s", name, err);
		return -1;
	}
	strlcpy(G.pend[G.npend].report, name, sizeof(G.pend[0].report));
	strlcpy(G.pend[G.npend].job, j.id, sizeof(G.pend[0].job));
	G.pend[G.npend].tdd = tdd;
	G.pend[G.npend].changed = changed != NULL ?
	    cJSON_Duplicate(changed, 1) : NULL;
	G.npend++;
	wf_log_info("report %s: QA says pass%s; running the tests (job %s)",
	    name, tdd ? " (tdd: they must fail)" : "", j.id);
	wf_job_free(&j);
	return 0;
}

static cJSON *
read_report(const char *name, char *why, size_t whylen)
{
	char path[NAME_MAX + 16], *buf;
	cJSON *r = NULL;
	size_t len;

	snprintf(path, sizeof(path), "reports/new/%s", name);
	if (wf_spool_read(G.root, path, 1 << 20, &buf, &len) == -1) {
		if (errno == ENOENT)
			why[0] = '\0';
		else
			snprintf(why, whylen, "%s", errno == ELOOP ?
			    "a symlink, not a report" : errno == EFBIG ?
			    "larger than 1 MiB" : strerror(errno));
		return NULL;
	}
	if (wf_pipeline_report_parse(buf, len, &r, why, whylen) == 0 &&
	    !cJSON_IsNumber(cJSON_GetObjectItem(r, "run_id"))) {
		snprintf(why, whylen, "report: run_id is missing");
		cJSON_Delete(r);
		r = NULL;
	}
	free(buf);
	return r;
}

/*
 * Which paths did the role's work touch since its stage began, and which
 * of them does it not own?  NULL when there is nothing to check (no git
 * repository, no base, roles that do not load); else an object with
 * changed_paths and offending_paths ([{path, owner}]).
 */
static cJSON *
ownership(const cJSON *run, const cJSON *project, const char *role)
{
	static const char *const names[] = { "pm", "dev", "qa", "security" };
	struct wf_role all[4], *me = NULL;
	const cJSON *base = cJSON_GetObjectItem(run, "stage_base");
	const cJSON *repo = cJSON_GetObjectItem(project, "repo_path");
	char err[512], **paths = NULL;
	cJSON *o = NULL, *ch, *off;
	int n;

	if (!cJSON_IsString(base) || !cJSON_IsString(repo) ||
	    !wf_repo_is_git(repo->valuestring))
		return NULL;
	for (int i = 0; i < 4; i++) {
		if (wf_role_load(G.cfg.roles_dir, names[i], &all[i], err,
		    sizeof(err)) == -1) {
			wf_log_warn("ownership not checked: %s", err);
			return NULL;
		}
		if (strcmp(names[i], role) == 0)
			me = &all[i];
	}
	if (me == NULL)
		return NULL;
	if ((n = wf_repo_changed(repo->valuestring, base->valuestring, &paths,
	    err, sizeof(err))) == -1) {
		wf_log_warn("ownership not checked: %s", err);
		return NULL;
	}
	o = cJSON_CreateObject();
	ch = cJSON_AddArrayToObject(o, "changed_paths");
	off = cJSON_AddArrayToObject(o, "offending_paths");
	for (int i = 0; i < n; i++) {
		const char *owner;

		cJSON_AddItemToArray(ch, cJSON_CreateString(paths[i]));
		if (!wf_role_may_touch(all, 4, me, paths[i], &owner)) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "path", paths[i]);
			if (owner != NULL)
				cJSON_AddStringToObject(e, "owner", owner);
			else
				cJSON_AddNullToObject(e, "owner");
			cJSON_AddItemToArray(off, e);
		}
	}
	cJSON_AddStringToObject(o, "base", base->valuestring);
	cJSON_AddStringToObject(o, "role", role);
	wf_repo_paths_free(paths);
	return o;
}

/* A role touched what it does not own: the run goes back to it. */
static void
refuse(const char *name, const cJSON *report, const cJSON *gate)
{
	const cJSON *off = cJSON_GetObjectItem(gate, "offending_paths"), *e;
	const cJSON *rid = cJSON_GetObjectItem(report, "run_id");
	const char *role = cJSON_GetObjectItem(report, "role")->valuestring;
	char why[512], err[512];
	size_t n;
	int applied;

	n = (size_t)snprintf(why, sizeof(why), "ownership gate: %s touched "
	    "paths it does not own:", role);
	cJSON_ArrayForEach(e, off) {
		const cJSON *p = cJSON_GetObjectItem(e, "path");
		const cJSON *w = cJSON_GetObjectItem(e, "owner");

		if (n < sizeof(why))
			n += (size_t)snprintf(why + n, sizeof(why) - n,
			    " %s (%s's)", p->valuestring, cJSON_IsString(w) ?
			    w->valuestring : "no role");
	}
	if (wf_pipeline_refuse(G.root, &G.cfg.pipeline,
	    (int64_t)rid->valuedouble, report, name, gate, why, &applied, err,
	    sizeof(err)) == -1) {
		if (no_room(errno))
			hold(name, err);
		else
			reject(name, err);
		return;
	}
	unhold();
	wf_log_info("report %s: %s", name, why);
	done_with(name);
}

static void
process(const char *name)
{
	cJSON *r, *run = NULL, *project = NULL, *own = NULL;
	const cJSON *role, *st, *tc;
	const char *want, *phase;
	char why[512];
	int tdd;

	if (name[0] == '.' || is_pending(name))
		return;
	if (!wf_spool_name_ok(name)) {
		reject(name, "a bad name in reports/new");
		return;
	}
	if ((r = read_report(name, why, sizeof(why))) == NULL) {
		if (why[0] != '\0')
			reject(name, why);
		return;
	}
	role = cJSON_GetObjectItem(r, "role");
	st = cJSON_GetObjectItem(r, "status");
	if (wf_store_get(G.root, &wf_kind_run, (int64_t)cJSON_GetObjectItem(r,
	    "run_id")->valuedouble, &run, why, sizeof(why)) == -1 ||
	    project_of(run, &project, why, sizeof(why)) == -1 ||
	    wf_pipeline_expects(run, &want, &phase) == -1 ||
	    strcmp(want, strcmp(role->valuestring, "sec") == 0 ? "security" :
	    role->valuestring) != 0 || strcmp(st->valuestring, "pending") == 0)
		goto apply; /* the pipeline says what is wrong, if anything */
	tdd = phase != NULL && strcmp(phase, "tdd") == 0;
	own = ownership(run, project, want);
	if (own != NULL && cJSON_GetArraySize(cJSON_GetObjectItem(own,
	    "offending_paths")) > 0) {
		refuse(name, r, own);
		goto out;
	}
	if (strcmp(want, "qa") == 0 && strcmp(st->valuestring, "pass") == 0 &&
	    cJSON_IsString(tc = cJSON_GetObjectItem(project, "test_command")) &&
	    tc->valuestring[0] != '\0') {
		if (tdd && cJSON_GetArraySize(cJSON_GetObjectItem(own,
		    "changed_paths")) == 0)
			goto apply; /* no test written: the pipeline refuses */
		if (verify(name, project, (int64_t)cJSON_GetObjectItem(run,
		    "id")->valuedouble, tdd, cJSON_GetObjectItem(own,
		    "changed_paths")) >= 0)
			goto out;
	}
apply:
	apply(name, r, own);
out:
	cJSON_Delete(own);
	cJSON_Delete(r);
	cJSON_Delete(run);
	cJSON_Delete(project);
}

/*
 * When the QA role names a JUnit report (junit =), the gate counts that,
 * as the role's run wrote it anew in the project's repository, instead of
 * the job's output.  1 when it names one (tc filled, or zero and the
 * reason in err), 0 when it does not.
 */
static int
gate_junit(const cJSON *report, int64_t since, struct wf_testcount *tc,
    char *err, size_t errlen)
{
	struct wf_role qa;
	cJSON *run = NULL, *project = NULL;
	const cJSON *repo = NULL;

	if (wf_role_load(G.cfg.roles_dir, "qa", &qa, err, errlen) == -1 ||
	    qa.junit[0] == '\0')
		return 0;
	if (wf_store_get(G.root, &wf_kind_run, (int64_t)cJSON_GetObjectItem(
	    report, "run_id")->valuedouble, &run, err, errlen) == -1 ||
	    project_of(run, &project, err, errlen) == -1 ||
	    !cJSON_IsString(repo = cJSON_GetObjectItem(project, "repo_path")) ||
	    wf_testcount_junit_files(repo->valuestring, qa.junit, since, tc,
	    err, errlen) == -1) {
		if (project != NULL && !cJSON_IsString(repo))
			snprintf(err, errlen, "junit: the project has no "
			    "repo_path");
		memset(tc, 0, sizeof(*tc));
	}
	cJSON_Delete(run);
	cJSON_Delete(project);
	return 1;
}

/*
 * The gate's test job ended: count its tests and decide.  The agent's
 * report and the gate's evidence are both kept in the run.
 */
static void
verified(int i, const struct wf_jobref *ref)
{
	struct pending p = G.pend[i];
	struct wf_testcount tc;
	struct wf_job j;
	char err[512], log[WF_NAME_MAX + 16], *out = NULL, sum[256];
	char jerr[512] = "";
	cJSON *r, *gate, *eff, *d, *tail = NULL;
	size_t len = 0;
	int ok;

	G.pend[i] = G.pend[--G.npend];
	if ((r = read_report(p.report, err, sizeof(err))) == NULL) {
		cJSON_Delete(p.changed);
		return;
	}
	if (wf_queue_load(G.root, ref, &j, err, sizeof(err)) == -1) {
		wf_log_warn("gate job %s: %s", p.job, err);
		cJSON_Delete(p.changed);
		cJSON_Delete(r);
		return;
	}
	snprintf(log, sizeof(log), "output/%s.log", p.job);
	if (gate_junit(r, j.started_at > 0 ? j.started_at : j.created_at, &tc,
	    jerr, sizeof(jerr)) == 1) {
		if (tc.format == NULL)
			wf_log_info("report %s: %s", p.report, jerr);
		else
			jerr[0] = '\0';
	} else if (wf_spool_read(G.root, log, 64 << 20, &out, &len) == -1 ||
	    wf_testcount_parse(out, len, &tc) == -1)
		memset(&tc, 0, sizeof(tc));
	/* What it judged, for the run's handoff: the end of the output,
	 * where the runners put their verdict. */
	if (out != NULL) {
		size_t from = len > GATE_OUTPUT_MAX ? len - GATE_OUTPUT_MAX : 0;

		while (from < len && ((unsigned char)out[from] & 0xc0) == 0x80)
			from++;
		out[len] = '\0';
		if (memchr(out + from, '\0', len - from) == NULL)
			tail = cJSON_CreateString(out + from);
	}
	free(out);
	if (p.tdd)
		ok = tc.format != NULL && tc.failed >= 1;
	else
		ok = j.status == WF_JS_COMPLETED && tc.format != NULL &&
		    tc.run >= 1 && tc.failed == 0;
	gate = cJSON_CreateObject();
	cJSON_AddStringToObject(gate, "role", "qa");
	cJSON_AddStringToObject(gate, "job_id", p.job);
	cJSON_AddStringToObject(gate, "job_status",
	    wf_job_status_name(j.status));
	if (j.exit_code >= 0)
		cJSON_AddNumberToObject(gate, "exit_code", j.exit_code);
	cJSON_AddNumberToObject(gate, "tests_run", tc.run);
	cJSON_AddNumberToObject(gate, "tests_passed", tc.passed);
	cJSON_AddNumberToObject(gate, "tests_failed", tc.failed);
	cJSON_AddStringToObject(gate, "format", tc.format ? tc.format : "none");
	if (jerr[0] != '\0')
		cJSON_AddStringToObject(gate, "junit_error", jerr);
	cJSON_AddStringToObject(gate, "agent_said", "pass");
	/* Its handoff goes into the run's handoffs, not twice. */
	cJSON_AddItemToObject(gate, "agent_report", cJSON_Duplicate(r, 1));
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(gate, "agent_report"),
	    "handoff");
	cJSON_AddBoolToObject(gate, "agrees", ok);
	if (p.tdd)
		cJSON_AddTrueToObject(gate, "tdd");
	if (p.changed != NULL)
		cJSON_AddItemToObject(gate, "changed_paths", p.changed);
	if (tail != NULL)
		cJSON_AddItemToObject(gate, "output", tail);
	/* The report the pipeline decides on carries the gate's counts. */
	eff = cJSON_Duplicate(r, 1);
	cJSON_DeleteItemFromObject(eff, "details");
	d = cJSON_AddObjectToObject(eff, "details");
	cJSON_AddNumberToObject(d, "tests_run", tc.run);
	cJSON_AddNumberToObject(d, "tests_passed", tc.passed);
	cJSON_AddNumberToObject(d, "tests_failed", tc.failed);
	if (tc.format != NULL)
		cJSON_AddStringToObject(d, "format", tc.format);
	cJSON_AddStringToObject(d, "verified_by", "wf-gate");
	if (p.tdd) {
		/* The pipeline decides on the counts: the tests must fail. */
		snprintf(sum, sizeof(sum), "tdd: QA's tests, run by wf-gate: "
		    "%ld run, %ld failed (%s)", tc.run, tc.failed,
		    ok ? "they fail, as they must before DEV" :
		    "they must fail before DEV");
	} else if (!ok) {
		cJSON_ReplaceItemInObject(eff, "status", cJSON_CreateString("fail"));
		snprintf(sum, sizeof(sum), "QA gate: the agent said pass, but the "
		    "project's tests say %s (%ld run, %ld failed, job %s)",
		    tc.format == NULL ? "nothing countable" :
		    j.status != WF_JS_COMPLETED ? "fail" : "otherwise", tc.run,
		    tc.failed, wf_job_status_name(j.status));
		wf_log_info("report %s: %s", p.report, sum);
	} else
		snprintf(sum, sizeof(sum), "%s (verified by wf-gate: %ld tests "
		    "ran, none failed)", cJSON_IsString(cJSON_GetObjectItem(r,
		    "summary")) ? cJSON_GetObjectItem(r, "summary")->valuestring :
		    "qa passed", tc.run);
	cJSON_DeleteItemFromObject(eff, "summary");
	cJSON_AddStringToObject(eff, "summary", sum);
	apply(p.report, eff, gate);
	cJSON_Delete(eff);
	cJSON_Delete(gate);
	cJSON_Delete(r);
	wf_job_free(&j);
}

/*
 * A deploy job that ended without its report (killed at its time-out,
 * cancelled, a crash) must not leave its run in TESTING: the run goes to
 * DEPLOY_FAILED, and a human decides.  The job's id makes it idempotent.
 */
static void
deploy_lost(const char *name)
{
	struct wf_jobref ref;
	struct wf_job j;
	char err[512], sum[512], rid[WF_NAME_MAX + 8];
	cJSON *r, *d;
	int applied;

	if (wf_queue_locate(G.root, name, &ref) == -1 ||
	    ref.where < WF_IN_FAILED ||
	    wf_queue_load(G.root, &ref, &j, err, sizeof(err)) == -1)
		return;
	if (j.type != WF_JT_DEPLOY || j.run_id <= 0) {
		wf_job_free(&j);
		return;
	}
	snprintf(sum, sizeof(sum), "the deploy job %s ended %s without its "
	    "report: %.300s; no rollback ran, look at the environment", name,
	    wf_job_status_name(j.status), j.error_message ? j.error_message :
	    "no reason given");
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "run_id", (double)j.run_id);
	cJSON_AddStringToObject(r, "role", "deploy");
	cJSON_AddStringToObject(r, "status", "fail");
	cJSON_AddStringToObject(r, "summary", sum);
	d = cJSON_AddObjectToObject(r, "details");
	cJSON_AddStringToObject(d, "job_id", name);
	cJSON_AddFalseToObject(d, "rolled_back");
	snprintf(rid, sizeof(rid), "job-%s", name);
	if (wf_pipeline_report(G.root, &G.cfg.pipeline, j.run_id, r, rid, NULL,
	    &applied, err, sizeof(err)) == -1)
		wf_log_debug("deploy job %s: %s", name, err);
	else if (applied)
		wf_log_info("run %lld: %s", (long long)j.run_id, sum);
	cJSON_Delete(r);
	wf_job_free(&j);
}

/*
 * A run's job that wf-agent refused because the run is over its token
 * budget: the run waits for a human (wf run budget, then wf queue retry).
 * Holding it twice is a no-op.
 */
static int
budget_held(const char *name)
{
	struct wf_jobref ref;
	struct wf_job j;
	char err[512];
	int held = 0;

	if (wf_queue_locate(G.root, name, &ref) == -1 ||
	    ref.where != WF_IN_FAILED ||
	    wf_queue_load(G.root, &ref, &j, err, sizeof(err)) == -1)
		return 0;
	if (j.run_id > 0 && j.error_message != NULL &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j.result_data,
	    "over_budget"))) {
		held = 1;
		if (wf_pipeline_hold(G.root, &G.cfg.pipeline, j.run_id,
		    j.error_message, err, sizeof(err)) == -1)
			wf_log_warn("run %lld: %s", (long long)j.run_id, err);
	}
	wf_job_free(&j);
	return held;
}

/*
 * A role's agent_run job that failed for good (its attempts spent: its
 * agent or wf-dispatch killed each time) leaves no report, and its run
 * would wait in that role's state for a job that is no more.  It is
 * reported as the role's failure, so that the run goes back to DEV or to
 * a human as any failure does.  The job's id makes it idempotent, and a
 * run that moved on meanwhile refuses it.  (A cancelled job is a human's
 * doing: not reported.)
 */
static void
agent_lost(const char *name)
{
	struct wf_jobref ref;
	struct wf_job j;
	char err[512], sum[512], rid[WF_NAME_MAX + 8];
	const cJSON *role;
	cJSON *r, *d;
	int applied;

	if (wf_queue_locate(G.root, name, &ref) == -1 ||
	    ref.where != WF_IN_FAILED ||
	    wf_queue_load(G.root, &ref, &j, err, sizeof(err)) == -1)
		return;
	role = cJSON_GetObjectItemCaseSensitive(j.request_data, "role");
	if (j.type != WF_JT_AGENT_RUN || j.run_id <= 0 ||
	    !cJSON_IsString(role)) {
		wf_job_free(&j);
		return;
	}
	snprintf(sum, sizeof(sum), "%s's job %s ended %s without its report "
	    "after %d attempt%s: %.300s", role->valuestring, name,
	    wf_job_status_name(j.status), j.attempt, j.attempt == 1 ? "" : "s",
	    j.error_message ? j.error_message : "no reason given");
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "run_id", (double)j.run_id);
	cJSON_AddStringToObject(r, "role", role->valuestring);
	cJSON_AddStringToObject(r, "status", "fail");
	cJSON_AddStringToObject(r, "summary", sum);
	d = cJSON_AddObjectToObject(r, "details");
	cJSON_AddStringToObject(d, "job_id", name);
	snprintf(rid, sizeof(rid), "job-%s", name);
	if (wf_pipeline_report(G.root, &G.cfg.pipeline, j.run_id, r, rid, NULL,
	    &applied, err, sizeof(err)) == -1)
		wf_log_debug("agent job %s: %s", name, err);
	else if (applied)
		wf_log_info("run %lld: %s", (long long)j.run_id, sum);
	cJSON_Delete(r);
	wf_job_free(&j);
}

static void
job_ended(const char *name, int failed)
{
	struct wf_jobref ref;

	for (int i = 0; i < G.npend; i++)
		if (strcmp(G.pend[i].job, name) == 0) {
			if (wf_queue_locate(G.root, name, &ref) == 0 &&
			    ref.where >= WF_IN_DONE)
				verified(i, &ref);
			return;
		}
	if (failed) {
		deploy_lost(name);
		/* Held for its budget, it is not lost. */
		if (!budget_held(name))
			agent_lost(name);
	}
}

/* One entry of reports/new, as lib/spool's scan found it. */
static void
scanned(const char *name, const char *why, void *arg)
{
	(void)arg;
	if (why != NULL)
		rejected(name, why);
	else
		process(name);
}

/* One entry of reports/new, as an event named it. */
static void
arrived(const char *name, uint32_t mask)
{
	char why[128];

	switch (wf_spool_arrived(G.root, "reports/new", name, mask, "report-",
	    why, sizeof(why))) {
	case 1:
		process(name);
		break;
	case -1:
		rejected(name, why);
		break;
	}
}

static void
scan_new(void)
{
	if (wf_spool_scan(G.root, "reports/new", "report-", scanned, NULL) ==
	    -1)
		wf_log_warn("reports/new: %s", strerror(errno));
	/* Gate jobs that ended while we did not watch. */
	for (int i = G.npend - 1; i >= 0; i--)
		job_ended(G.pend[i].job, 0);
}

static void
status(void)
{
	char s[160];

	snprintf(s, sizeof(s), "STATUS=%lu applied, %lu rejected, %d awaiting "
	    "the gate's test run", G.applied, G.rejected, G.npend);
	wf_sd_notify(s);
}

static int
run_gone(int64_t run_id, void *arg)
{
	(void)arg;
	return wf_pipeline_run_ended(G.root, run_id);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const term[] = { "done", "failed", "cancelled" };
	const char *home;
	char err[512];
	sigset_t mask;
	int64_t next_redo;
	int gone, wait;
	int c, verbose = 0, stop = 0, lockfd;

	wf_log_init("wf-gate", 0);
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			G.cfgpath = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(0);
			break;
		case 'V':
			printf("wf-gate %s\n", WF_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	wf_log_init("wf-gate", verbose);
	wf_audit_set_actor("wf-gate");

	G.cfgpath = wf_home_config(G.cfgpath);
	if (wf_config_read(&G.cfg, G.cfgpath, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	home = wf_home_dir();
	if ((G.root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	/* One gate per tree: a lock the kernel drops with us (lib/daemon;
	 * /metrics' wf_daemon_up). */
	if ((c = wf_daemon_start(G.root, home, "wf-gate", &lockfd)) != 0)
		return c;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((G.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (G.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		wf_log_warn("signalfd/inotify: %s", strerror(errno));
		return EX_OSERR;
	}
	if ((G.wd_new = wf_spool_watch(G.ifd, home, "reports/new",
	    WF_SPOOL_NEW_EVENTS)) == -1) {
		wf_log_warn("inotify %s/reports/new: %s", home, strerror(errno));
		return EX_OSERR;
	}
	for (int i = 0; i < 3; i++)
		if ((G.wd_term[i] = wf_spool_watch(G.ifd, home, term[i],
		    IN_MOVED_TO)) == -1) {
			wf_log_warn("inotify %s/%s: %s", home, term[i],
			    strerror(errno));
			return EX_OSERR;
		}
	/* Worktrees of runs that ended or went while no gate ran. */
	if ((gone = wf_worktree_gc(G.cfg.pipeline.workdir, run_gone,
	    NULL)) > 0)
		wf_log_info("removed %d worktree%s of runs gone", gone,
		    gone == 1 ? "" : "s");
	/* What a crash left between a run's write and its effects. */
	if ((gone = wf_pipeline_effects_redo(G.root, &G.cfg.pipeline)) > 0)
		wf_log_info("did the effects of %d run%s left undone", gone,
		    gone == 1 ? "" : "s");
	scan_new();
	wf_sd_notify("READY=1");
	wf_log_info("ready: %s", home);

	next_redo = wf_clock_mono_ms() + EFFECTS_EVERY_MS;
	while (!stop) {
		char buf[16384]
		    __attribute__((aligned(__alignof__(struct inotify_event))));
		struct pollfd pfd[2] = { { G.sfd, POLLIN, 0 },
			{ G.ifd, POLLIN, 0 } };
		struct signalfd_siginfo si;
		ssize_t n;

		status();
		wait = EFFECTS_EVERY_MS;
		if (G.retry_at != 0) {
			int64_t t = G.retry_at - wf_clock_mono_ms();

			wait = t < 0 ? 0 : t < wait ? (int)t : wait;
		}
		if ((n = poll(pfd, 2, wait)) == -1 && errno != EINTR)
			continue;
		/* Reports held for room: taken again. */
		if (G.retry_at != 0 && wf_clock_mono_ms() >= G.retry_at) {
			G.retry_at = 0;
			scan_new();
		}
		/* Effects that failed (a full disk) are done again. */
		if (n == 0 || wf_clock_mono_ms() >= next_redo) {
			wf_pipeline_effects_redo(G.root, &G.cfg.pipeline);
			next_redo = wf_clock_mono_ms() + EFFECTS_EVERY_MS;
		}
		while (read(G.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				if (wf_config_read(&G.cfg, G.cfgpath, err,
				    sizeof(err)) == -1)
					wf_log_warn("reload: %s; keeping the old "
					    "config", err);
				else
					wf_log_info("reloaded %s", G.cfgpath);
			} else
				stop = 1;
		}
		while ((n = read(G.ifd, buf, sizeof(buf))) > 0) {
			for (char *p = buf; p < buf + n;) {
				struct inotify_event *ev =
				    (struct inotify_event *)p;

				p += sizeof(*ev) + ev->len;
				if (ev->mask & IN_Q_OVERFLOW) {
					scan_new();
					continue;
				}
				if (ev->len == 0)
					continue;
				if (ev->wd == G.wd_new)
					arrived(ev->name, ev->mask);
				else
					job_ended(ev->name,
					    ev->wd != G.wd_term[0]);
			}
		}
	}
	wf_log_info("stopped");
	return 0;
}
