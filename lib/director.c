/*
 * director: see director.h.  A pass reads every task and run once
 * (wf_store_list), decides from that listing, and writes each decision
 * through the same library calls the CLI makes: wf_pipeline_create_request
 * for a run, wf_store_update for a task's criteria and run_id,
 * wf_pipeline_run_role for a retry, wf_pipeline_hold for a run given up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "daemon.h"
#include "director.h"
#include "err.h"
#include "event.h"
#include "fault.h"
#include "json.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "taskdep.h"

#define DIRECTOR_LOCK "state/.director.lock"
#define SETTINGS_MAX 65536
#define CANDIDATES_MAX 4096
#define PROJECTS_MAX 1024

static const struct {
	const char *key;
	long lo, hi;
} limits[] = {
	{ "max_active", 1, 64 },
	{ "interval", 1, 86400 },
	{ "stuck_after", 1, 86400 * 7 },
	{ "retries", 0, 100 },
};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

void
wf_director_defaults(struct wf_director_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->interval = 30;
	c->max_active = 1;
	c->stuck_after = 1800;
	c->retries = 2;
}

/* The state file, or {} when there is none. */
static cJSON *
load(int root, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len;
	cJSON *o;

	if (wf_spool_read(root, WF_DIRECTOR_FILE, SETTINGS_MAX, &buf,
	    &len) == -1) {
		if (errno == ENOENT)
			return cJSON_CreateObject();
		wf_err(err, errlen, "%s: %s", WF_DIRECTOR_FILE,
		    strerror(errno));
		return NULL;
	}
	o = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		errno = EINVAL;
		wf_err(err, errlen, "%s: not a JSON object", WF_DIRECTOR_FILE);
		return NULL;
	}
	return o;
}

/* Replace the state file whole: tmp/ then rename. */
static int
save(int root, cJSON *o, char *err, size_t errlen)
{
	char name[WF_NAME_MAX + 1], tpath[WF_NAME_MAX + 8], iso[WF_ISO_LEN];
	char *s;
	int rc = -1;

	cJSON_DeleteItemFromObjectCaseSensitive(o, "updated_at");
	cJSON_AddStringToObject(o, "updated_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if ((s = cJSON_Print(o)) == NULL)
		return wf_err(err, errlen, "%s: out of memory",
		    WF_DIRECTOR_FILE);
	if (wf_spool_name(name, sizeof(name)) == -1 ||
	    wf_spool_write(root, "tmp", "tmp", name, s, strlen(s),
	    WF_SYNC_FILE) == -1)
		goto out;
	snprintf(tpath, sizeof(tpath), "tmp/%s", name);
	if (renameat(root, tpath, root, WF_DIRECTOR_FILE) == -1) {
		int e = errno;

		unlinkat(root, tpath, 0);
		errno = e;
		goto out;
	}
	rc = wf_spool_sync_dir(root, "state");
out:
	if (rc == -1)
		wf_err(err, errlen, "%s: %s", WF_DIRECTOR_FILE,
		    strerror(errno));
	free(s);
	return rc;
}

static int
lock(int root)
{
	int fd = openat(root, DIRECTOR_LOCK, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);

	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	return fd;
}

static void
apply(const cJSON *o, const struct wf_director_conf *conf, int *enabled,
    struct wf_director_conf *eff)
{
	int *dst[NLIMITS];

	*eff = *conf;
	dst[0] = &eff->max_active;
	dst[1] = &eff->interval;
	dst[2] = &eff->stuck_after;
	dst[3] = &eff->retries;
	*enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "enabled"));
	for (size_t i = 0; i < NLIMITS; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o,
		    limits[i].key);

		if (cJSON_IsNumber(v) && v->valuedouble >= limits[i].lo &&
		    v->valuedouble <= limits[i].hi)
			*dst[i] = (int)v->valuedouble;
	}
}

int
wf_director_settings(int root, const struct wf_director_conf *conf,
    int *enabled, struct wf_director_conf *eff, char *err, size_t errlen)
{
	cJSON *o = load(root, err, errlen);

	if (o == NULL)
		return -1;
	apply(o, conf, enabled, eff);
	cJSON_Delete(o);
	return 0;
}

int
wf_director_set(int root, int enabled, int max_active, int interval,
    int stuck_after, int retries, char *err, size_t errlen)
{
	int vals[NLIMITS] = { max_active, interval, stuck_after, retries };
	cJSON *o, *d;
	int fd, rc;

	for (size_t i = 0; i < NLIMITS; i++)
		if (vals[i] >= 0 && (vals[i] < limits[i].lo ||
		    vals[i] > limits[i].hi)) {
			errno = EINVAL;
			return wf_err(err, errlen, "%s: %d is not in %ld-%ld",
			    limits[i].key, vals[i], limits[i].lo,
			    limits[i].hi);
		}
	if ((fd = lock(root)) == -1)
		return wf_err(err, errlen, "%s: %s", DIRECTOR_LOCK,
		    strerror(errno));
	if ((o = load(root, err, errlen)) == NULL) {
		close(fd);
		return -1;
	}
	d = cJSON_CreateObject();
	if (enabled >= 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "enabled");
		cJSON_AddBoolToObject(o, "enabled", enabled);
		cJSON_AddBoolToObject(d, "enabled", enabled);
	}
	for (size_t i = 0; i < NLIMITS; i++) {
		if (vals[i] < 0)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(o, limits[i].key);
		cJSON_AddNumberToObject(o, limits[i].key, vals[i]);
		cJSON_AddNumberToObject(d, limits[i].key, vals[i]);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "updated_by");
	cJSON_AddStringToObject(o, "updated_by", wf_audit_actor());
	rc = save(root, o, err, errlen);
	close(fd);
	if (rc == 0)
		wf_audit_append(root, "director.settings", "director", 0, d);
	cJSON_Delete(d);
	cJSON_Delete(o);
	return rc;
}

static int
run_active(const cJSON *run)
{
	static const char *const act[] = { "PM", "DEV", "QA", "SEC",
		"QA_FAILED", "SEC_FAILED", NULL };
	const char *st = wf_json_str(run, "state");

	for (int i = 0; st != NULL && act[i] != NULL; i++)
		if (strcmp(st, act[i]) == 0)
			return 1;
	return 0;
}

/* Active runs a project: a small table, counted from the listing. */
struct counts {
	long long pid[PROJECTS_MAX];
	int n[PROJECTS_MAX];
	int len;
};

static int *
count_of(struct counts *c, long long pid)
{
	for (int i = 0; i < c->len; i++)
		if (c->pid[i] == pid)
			return &c->n[i];
	if (c->len == PROJECTS_MAX)
		return NULL;
	c->pid[c->len] = pid;
	c->n[c->len] = 0;
	return &c->n[c->len++];
}

static void
count_active(const cJSON *runs, struct counts *c)
{
	const cJSON *r;
	int *n;

	c->len = 0;
	cJSON_ArrayForEach(r, runs)
		if (run_active(r) && (n = count_of(c, wf_json_int(r,
		    "project_id"))) != NULL)
			(*n)++;
}

/* Could the task start: in the backlog, no run has ever worked on it,
 * and everything it waits on is done. */
static int
startable(const cJSON *tasks, const cJSON *runs, const cJSON *t)
{
	const char *st = wf_json_str(t, "status");

	if (st == NULL || strcmp(st, "backlog") != 0 ||
	    wf_json_int(t, "run_id") > 0 || wf_taskdep_run(t, runs) != NULL)
		return 0;
	return wf_taskdep_ready(tasks, runs, t, NULL, 0, NULL) ==
	    WF_TASKDEP_READY;
}

static int
by_priority(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a;
	const cJSON *y = *(const cJSON *const *)b;
	long long px = wf_json_int(x, "priority"), py = wf_json_int(y,
	    "priority");

	if (px <= 0)
		px = 3;
	if (py <= 0)
		py = 3;
	if (px != py)
		return px < py ? -1 : 1;
	px = wf_json_int(x, "id");
	py = wf_json_int(y, "id");
	return px < py ? -1 : px > py;
}

/* A decision: its audit line and its event. */
static void
decided(int root, const char *what, const char *type, int64_t id,
    cJSON *d)
{
	if (wf_audit_append(root, what, type, id, d) == -1)
		wf_log_warn("%s: audit: %s", what, strerror(errno));
	if (wf_event_emit(root, what, cJSON_Duplicate(d, 1)) == -1)
		wf_log_warn("%s: event: %s", what, strerror(errno));
}

/* Replace every {{key}} of line with the task's field, into out. */
static void
expand(const char *line, const cJSON *t, char *out, size_t len)
{
	size_t o = 0;

	while (*line != '\0' && o + 1 < len) {
		const char *end;

		if (strncmp(line, "{{", 2) == 0 &&
		    (end = strstr(line + 2, "}}")) != NULL && end - line < 40) {
			char key[40];
			const char *v;

			snprintf(key, sizeof(key), "%.*s",
			    (int)(end - line - 2), line + 2);
			if ((v = wf_json_str(t, key)) != NULL) {
				o += strlcpy(out + o, v, len - o);
				if (o >= len)
					o = len - 1;
				line = end + 2;
				continue;
			}
		}
		out[o++] = *line++;
	}
	out[o] = '\0';
}

/* Fill a task's missing acceptance criteria from the template: each line
 * that is not blank nor a # comment, {{title}}, {{task_id}} replaced. */
static int
fill_criteria(int root, const struct wf_director_conf *conf, const cJSON *t)
{
	const cJSON *ac = cJSON_GetObjectItemCaseSensitive(t,
	    "acceptance_criteria");
	int64_t id = wf_json_int(t, "id");
	char err[256], line[1024];
	cJSON *patch, *list, *d;
	FILE *f;
	size_t n;
	int rc = -1;

	if (cJSON_GetArraySize(ac) > 0 || conf->criteria[0] == '\0')
		return 0;
	if ((f = fopen(conf->criteria, "re")) == NULL) {
		if (errno != ENOENT)
			wf_log_warn("%s: %s", conf->criteria, strerror(errno));
		return 0;
	}
	patch = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(patch, "acceptance_criteria");
	n = 0;
	while (fgets(line, sizeof(line), f) != NULL &&
	    n < WF_DIRECTOR_TEMPLATE_MAX) {
		char out[1024], *s = line;

		n += strlen(line);
		line[strcspn(line, "\r\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#' ||
		    cJSON_GetArraySize(list) >= WF_DIRECTOR_CRITERIA_MAX)
			continue;
		expand(s, t, out, sizeof(out));
		cJSON_AddItemToArray(list, cJSON_CreateString(out));
	}
	fclose(f);
	if (cJSON_GetArraySize(list) == 0) {
		cJSON_Delete(patch);
		return 0;
	}
	if (wf_store_update(root, &wf_kind_task, id, patch, 0, err,
	    sizeof(err)) == -1)
		wf_log_warn("task %lld: criteria: %s", (long long)id, err);
	else {
		d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "project_id",
		    (double)wf_json_int(t, "project_id"));
		cJSON_AddNumberToObject(d, "task", (double)id);
		cJSON_AddStringToObject(d, "task_id",
		    wf_json_str(t, "task_id") ? wf_json_str(t, "task_id") : "");
		cJSON_AddStringToObject(d, "template", conf->criteria);
		cJSON_AddItemToObject(d, "acceptance_criteria",
		    cJSON_Duplicate(list, 1));
		decided(root, "director.criteria_filled", "task", id, d);
		cJSON_Delete(d);
		rc = 1;
	}
	cJSON_Delete(patch);
	return rc;
}

static int
link_task(int root, int64_t task, int64_t run)
{
	cJSON *patch = cJSON_CreateObject();
	char err[256];
	int rc;

	cJSON_AddNumberToObject(patch, "run_id", (double)run);
	if ((rc = wf_store_update(root, &wf_kind_task, task, patch, 0, err,
	    sizeof(err))) == -1)
		wf_log_warn("task %lld: run_id %lld: %s", (long long)task,
		    (long long)run, err);
	cJSON_Delete(patch);
	return rc;
}

/* Tasks a run names but whose run_id is not set: a crash came between
 * the run's creation and the link. */
static int
relink(int root, const cJSON *tasks, const cJSON *runs)
{
	const cJSON *t, *r;
	int n = 0;

	cJSON_ArrayForEach(t, tasks) {
		if (wf_json_int(t, "run_id") > 0 ||
		    (r = wf_taskdep_run(t, runs)) == NULL)
			continue;
		if (link_task(root, wf_json_int(t, "id"),
		    wf_json_int(r, "id")) == 0)
			n++;
	}
	return n;
}

static int
start(int root, const struct wf_director_conf *conf,
    const struct wf_pipeline_conf *pc, const cJSON *tasks, const cJSON *runs,
    struct wf_director_pass *out)
{
	const cJSON **cand, *t;
	struct counts *cnt;
	int nc = 0;

	if ((cand = calloc(CANDIDATES_MAX, sizeof(*cand))) == NULL ||
	    (cnt = calloc(1, sizeof(*cnt))) == NULL) {
		free(cand);
		return -1;
	}
	count_active(runs, cnt);
	cJSON_ArrayForEach(t, tasks)
		if (nc < CANDIDATES_MAX && startable(tasks, runs, t))
			cand[nc++] = t;
	qsort(cand, nc, sizeof(*cand), by_priority);
	for (int i = 0; i < nc; i++) {
		int64_t tid = wf_json_int(cand[i], "id"), rid = 0;
		long long pid = wf_json_int(cand[i], "project_id");
		const char *name = wf_json_str(cand[i], "task_id");
		char nm[160], err[512];
		int *n = count_of(cnt, pid), rc;
		cJSON *d;

		if (n == NULL || *n >= conf->max_active)
			continue;
		if (fill_criteria(root, conf, cand[i]) == 1)
			out->filled++;
		snprintf(nm, sizeof(nm), "%.32s: %.100s", name ? name : "?",
		    wf_json_str(cand[i], "title") ? wf_json_str(cand[i],
		    "title") : "");
		/* The run carries task_id from its first write: the claim. */
		rc = wf_pipeline_create_request(root, pc, pid, tid, nm, NULL,
		    &rid, err, sizeof(err));
		if (rc == -1 && rid <= 0) {
			wf_log_warn("task %lld: a run: %s", (long long)tid,
			    err);
			continue;
		}
		(*n)++;
		out->started++;
		wf_fault("director.created");
		link_task(root, tid, rid);
		d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "project_id", (double)pid);
		cJSON_AddNumberToObject(d, "task", (double)tid);
		cJSON_AddStringToObject(d, "task_id", name ? name : "");
		cJSON_AddNumberToObject(d, "run_id", (double)rid);
		cJSON_AddNumberToObject(d, "priority",
		    (double)wf_json_int(cand[i], "priority"));
		cJSON_AddNumberToObject(d, "active", *n);
		cJSON_AddNumberToObject(d, "max_active", conf->max_active);
		if (rc == -1)
			cJSON_AddStringToObject(d, "waiting", err);
		decided(root, "director.run_started", "run", rid, d);
		cJSON_Delete(d);
		wf_log_info("task %s (%lld): run %lld started", name ? name :
		    "?", (long long)tid, (long long)rid);
	}
	free(cnt);
	free(cand);
	return 0;
}

/* When the run last changed state (ms): its last move, else its
 * creation. */
static int64_t
since(const cJSON *run)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(run, "history");
	int n = cJSON_GetArraySize(h);
	const char *at = n > 0 ? wf_json_str(cJSON_GetArrayItem(h, n - 1),
	    "at") : wf_json_str(run, "created_at");
	int64_t ms;

	if (at == NULL || wf_clock_parse_iso(at, &ms) == -1)
		return -1;
	return ms;
}

/*
 * Stuck runs: one waiting for a role's report, not held for a human, in
 * the same state for stuck_after (since its last move, or since the last
 * retry in that state).  The retries of each run are counted in the state
 * file's "stuck" ({run: {state, moves, count, at}}), written under its
 * lock.
 */
static int
unstick(int root, const struct wf_director_conf *conf,
    const struct wf_pipeline_conf *pc, const cJSON *runs,
    struct wf_director_pass *out)
{
	int64_t now = wf_clock_wall_ms();
	cJSON *o, *book, *nbook;
	const cJSON *r;
	char err[512];
	int fd, dirty = 0;

	if ((fd = lock(root)) == -1)
		return -1;
	if ((o = load(root, err, sizeof(err))) == NULL) {
		close(fd);
		return -1;
	}
	book = cJSON_GetObjectItemCaseSensitive(o, "stuck");
	nbook = cJSON_CreateObject();
	cJSON_ArrayForEach(r, runs) {
		int64_t rid = wf_json_int(r, "id"), t0, at = 0;
		const char *role, *phase, *st = wf_json_str(r, "state");
		int moves = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		    r, "history")), count = 0;
		char key[24], why[256], job[WF_NAME_MAX + 1];
		const cJSON *e;
		cJSON *d, *ne;

		if (!run_active(r) || cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(r, "waiting_for_human")) ||
		    wf_pipeline_expects(r, &role, &phase) == -1 ||
		    (t0 = since(r)) == -1)
			continue;
		snprintf(key, sizeof(key), "%lld", (long long)rid);
		e = cJSON_GetObjectItemCaseSensitive(book, key);
		if (e != NULL && st != NULL &&
		    wf_json_str(e, "state") != NULL &&
		    strcmp(wf_json_str(e, "state"), st) == 0 &&
		    wf_json_int(e, "moves") == moves) {
			count = (int)wf_json_int(e, "count");
			at = wf_json_int(e, "at");
		} else if (e != NULL)
			dirty = 1; /* it moved since: counted anew */
		if (at > t0)
			t0 = at;
		if (now - t0 < (int64_t)conf->stuck_after * 1000) {
			if (count > 0)
				cJSON_AddItemReferenceToObject(nbook, key,
				    (cJSON *)e);
			continue;
		}
		dirty = 1;
		d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "project_id",
		    (double)wf_json_int(r, "project_id"));
		cJSON_AddNumberToObject(d, "run_id", (double)rid);
		cJSON_AddStringToObject(d, "state", st);
		cJSON_AddStringToObject(d, "role", role);
		cJSON_AddNumberToObject(d, "stuck_for", (double)(now - t0) /
		    1000);
		cJSON_AddNumberToObject(d, "retries", count);
		if (count < conf->retries) {
			if (wf_pipeline_run_role(root, pc, rid, role, job,
			    sizeof(job), err, sizeof(err)) == -1) {
				wf_log_warn("run %lld: retry %s: %s",
				    (long long)rid, role, err);
				cJSON_Delete(d);
				continue;
			}
			ne = cJSON_AddObjectToObject(nbook, key);
			cJSON_AddStringToObject(ne, "state", st);
			cJSON_AddNumberToObject(ne, "moves", moves);
			cJSON_AddNumberToObject(ne, "count", count + 1);
			cJSON_AddNumberToObject(ne, "at", (double)now);
			cJSON_ReplaceItemInObjectCaseSensitive(d, "retries",
			    cJSON_CreateNumber(count + 1));
			cJSON_AddStringToObject(d, "job_id", job);
			decided(root, "director.retried", "run", rid, d);
			wf_log_info("run %lld: stuck in %s; %s started again "
			    "(%d of %d)", (long long)rid, st, role, count + 1,
			    conf->retries);
			out->retried++;
		} else {
			snprintf(why, sizeof(why), "wf-director: stuck in %s "
			    "for %llds with no report from %s, after %d "
			    "retr%s", st, (long long)((now - t0) / 1000), role,
			    count, count == 1 ? "y" : "ies");
			if (wf_pipeline_hold(root, pc, rid, why, err,
			    sizeof(err)) == -1) {
				wf_log_warn("run %lld: hold: %s",
				    (long long)rid, err);
				cJSON_Delete(d);
				continue;
			}
			cJSON_AddStringToObject(d, "reason", why);
			decided(root, "director.gave_up", "run", rid, d);
			wf_log_info("run %lld: %s", (long long)rid, why);
			out->gave_up++;
		}
		cJSON_Delete(d);
	}
	if (cJSON_GetArraySize(nbook) != cJSON_GetArraySize(book))
		dirty = 1;
	if (dirty) {
		/* Detach the references before the old book goes. */
		cJSON *nb = cJSON_Duplicate(nbook, 1);

		cJSON_DeleteItemFromObjectCaseSensitive(o, "stuck");
		cJSON_AddItemToObject(o, "stuck", nb);
		if (save(root, o, err, sizeof(err)) == -1)
			wf_log_warn("%s", err);
	}
	cJSON_Delete(nbook);
	cJSON_Delete(o);
	close(fd);
	return 0;
}

int
wf_director_run(int root, const struct wf_director_conf *conf,
    const struct wf_pipeline_conf *pc, struct wf_director_pass *out,
    char *err, size_t errlen)
{
	struct wf_director_conf eff;
	cJSON *tasks, *runs;
	int on;

	memset(out, 0, sizeof(*out));
	if (wf_director_settings(root, conf, &on, &eff, err, errlen) == -1)
		return -1;
	if (!on)
		return 0;
	tasks = wf_store_list(root, &wf_kind_task, 0);
	runs = wf_store_list(root, &wf_kind_run, 0);
	if (tasks == NULL || runs == NULL) {
		cJSON_Delete(tasks);
		cJSON_Delete(runs);
		return wf_err(err, errlen, "tasks and runs: cannot be listed");
	}
	out->linked = relink(root, tasks, runs);
	if (unstick(root, &eff, pc, runs, out) == -1)
		wf_log_warn("stuck runs: %s", strerror(errno));
	if (start(root, &eff, pc, tasks, runs, out) == -1)
		wf_log_warn("starting runs: %s", strerror(errno));
	cJSON_Delete(tasks);
	cJSON_Delete(runs);
	return 0;
}

cJSON *
wf_director_status(int root, const struct wf_director_conf *conf, char *err,
    size_t errlen)
{
	struct wf_director_conf eff;
	struct counts *cnt;
	cJSON *o, *st, *ov, *act, *ready, *tasks, *runs;
	const cJSON *t;
	int on;

	if ((o = load(root, err, errlen)) == NULL)
		return NULL;
	apply(o, conf, &on, &eff);
	st = cJSON_CreateObject();
	cJSON_AddBoolToObject(st, "enabled", on);
	cJSON_AddNumberToObject(st, "interval", eff.interval);
	cJSON_AddNumberToObject(st, "max_active", eff.max_active);
	cJSON_AddNumberToObject(st, "stuck_after", eff.stuck_after);
	cJSON_AddNumberToObject(st, "retries", eff.retries);
	cJSON_AddStringToObject(st, "criteria", eff.criteria);
	ov = cJSON_AddObjectToObject(st, "overrides");
	for (size_t i = 0; i < NLIMITS; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o,
		    limits[i].key);

		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(ov, limits[i].key,
			    v->valuedouble);
	}
	if (wf_json_str(o, "updated_at") != NULL)
		cJSON_AddStringToObject(st, "updated_at",
		    wf_json_str(o, "updated_at"));
	if (wf_json_str(o, "updated_by") != NULL)
		cJSON_AddStringToObject(st, "updated_by",
		    wf_json_str(o, "updated_by"));
	cJSON_AddBoolToObject(st, "running",
	    wf_daemon_up(root, "wf-director") == 1);
	cJSON_Delete(o);
	act = cJSON_AddObjectToObject(st, "active");
	ready = cJSON_AddArrayToObject(st, "ready");
	tasks = wf_store_list(root, &wf_kind_task, 0);
	runs = wf_store_list(root, &wf_kind_run, 0);
	if (tasks != NULL && runs != NULL &&
	    (cnt = calloc(1, sizeof(*cnt))) != NULL) {
		count_active(runs, cnt);
		for (int i = 0; i < cnt->len; i++) {
			char k[24];

			snprintf(k, sizeof(k), "%lld", cnt->pid[i]);
			cJSON_AddNumberToObject(act, k, cnt->n[i]);
		}
		free(cnt);
		cJSON_ArrayForEach(t, tasks)
			if (startable(tasks, runs, t))
				cJSON_AddItemToArray(ready, cJSON_CreateNumber(
				    (double)wf_json_int(t, "id")));
	}
	cJSON_Delete(tasks);
	cJSON_Delete(runs);
	return st;
}
