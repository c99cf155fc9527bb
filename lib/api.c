/*
 * api: the router and handlers of wf-httpd.  It keeps the rules of the
 * tree by writing only through the library: entities through lib/store
 * and lib/entity (whole files renamed into place under the kind's lock),
 * runs only through lib/pipeline's transitions, jobs into their queue by
 * the maildir protocol (lib/queue, durable before the id is returned),
 * cancel and retry as requests into ctl/ for wf-dispatch (the one mover
 * of job files), reports into reports/new for wf-gate.  A request is
 * checked whole (route, token, body) before anything is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "board.h"
#include "clock.h"
#include "director.h"
#include "cred.h"
#include "entity.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "spool.h"
#include "store.h"
#include "worktree.h"
#include "vault.h"
#include "webhook.h"

#define ID_MAX (INT64_C(1) << 50) /* the store's largest id */
#define NSEG 8 /* segments of a route */

enum { M_GET = 1, M_POST = 2, M_PATCH = 4, M_DELETE = 8 };

struct req {
	struct wf_api *a;
	const char *query;
	cJSON *body; /* the body's object; NULL when there was none */
	int64_t id; /* the route's {id} */
	const char *job; /* the route's {job} */
	struct wf_api_reply *out;
	char err[512];
	char jobid[WF_NAME_MAX + 1]; /* the id a unique {job} prefix names */
};

typedef int (*handler_fn)(struct req *);

struct route {
	int method;
	const char *path; /* "/api/projects/{id}/tasks"; {id} a number,
	                   * {job} a job's name */
	handler_fn fn;
};

/*
 * Replies.
 */

static int
reply_json(struct req *r, int status, cJSON *o)
{
	char *s = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
	size_t n;

	cJSON_Delete(o);
	if (s == NULL) {
		status = 500;
		s = strdup("{\"error\":\"out of memory\"}");
		if (s == NULL)
			return r->out->status = 500;
	}
	/* One line, as the CLI's --json prints it. */
	n = strlen(s);
	free(r->out->body);
	if ((r->out->body = realloc(s, n + 2)) == NULL) {
		r->out->body = s;
		r->out->len = n;
	} else {
		r->out->body[n] = '\n';
		r->out->body[n + 1] = '\0';
		r->out->len = n + 1;
	}
	r->out->ctype = "application/json";
	return r->out->status = status;
}

static int fail(struct req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct req *r, int status, const char *fmt, ...)
{
	char msg[600];
	cJSON *o = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever the reason held. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	cJSON_AddStringToObject(o, "error", msg);
	return reply_json(r, status, o);
}

/* A library failure, by its errno (lib/store's convention). */
static int
fail_errno(struct req *r, int e)
{
	switch (e) {
	case ENOENT: return fail(r, 404, "%s", r->err);
	case EINVAL: return fail(r, 400, "%s", r->err);
	case EBUSY:
	case EEXIST: return fail(r, 409, "%s", r->err);
	default: return fail(r, 500, "%s", r->err);
	}
}

/* A pipeline refusal: no such run (404), or an illegal move (409). */
static int
fail_pipeline(struct req *r)
{
	return fail(
	    r, strstr(r->err, "no such") != NULL ? 404 : 409, "%s", r->err);
}

/*
 * Requests.
 */

/* The value of key in the query into buf; 0 absent, 1 there, -1 too long. */
static int
qget(const char *query, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = query; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, "&");

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vn = n - klen - 1;

			if (vn >= len)
				return -1;
			memcpy(buf, p + klen + 1, vn);
			buf[vn] = '\0';
			return 1;
		}
		p += n + (p[n] == '&');
	}
	return 0;
}

/* Digits only: strtonum alone would take " 1" and "+1". */
static int
parse_id(const char *s, int64_t *id)
{
	const char *errstr;

	*id = 0;
	if (s[0] == '\0' || s[strspn(s, "0123456789")] != '\0')
		return -1;
	*id = strtonum(s, 1, ID_MAX, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* An id of the query: 0 absent (*id 0), 1 there, -1 bad (400 sent). */
static int
qid(struct req *r, const char *key, int64_t *id)
{
	char buf[32];
	int rc = qget(r->query, key, buf, sizeof(buf));

	*id = 0;
	if (rc == 0)
		return 0;
	if (rc == -1 || parse_id(buf, id) == -1) {
		fail(r, 400, "%s: not an id (a positive integer)", key);
		return -1;
	}
	return 1;
}

/* Refuse a body field outside names (NULL-terminated): 400 naming it. */
static int
only(struct req *r, const char *const *names)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, r->body)
	{
		int ok = 0;

		for (int i = 0; names[i] != NULL; i++)
			if (strcmp(it->string, names[i]) == 0)
				ok = 1;
		if (!ok) {
			fail(r, 400, "unknown field '%.64s'", it->string);
			return -1;
		}
	}
	return 0;
}

static int
need_body(struct req *r)
{
	if (r->body == NULL) {
		fail(r, 400, "a JSON object is needed in the body");
		return -1;
	}
	return 0;
}

static const char *
body_str(struct req *r, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A string field of the body that must be a string when given. */
static int
opt_str(struct req *r, const char *k, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, k);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		fail(r, 400, "%s: not a string", k);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

/* An integer field of the body in lo..hi; 0 when absent. */
static int
opt_int(struct req *r, const char *k, int64_t lo, int64_t hi, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, k);

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	/* The range first: casting 1e300 to int64_t is undefined. */
	if (!cJSON_IsNumber(v) ||
	    !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi &&
	    v->valuedouble <= WF_JSON_ID_MAX) ||
	    v->valuedouble != floor(v->valuedouble)) {
		fail(r, 400, "%s: not an integer in %lld-%lld", k,
		    (long long)lo, (long long)hi);
		return -1;
	}
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* The body's fields for an entity of the project in the path: a
 * project_id of the body is the path's to give. */
static cJSON *
fields_in_project(struct req *r)
{
	cJSON *f;

	if (need_body(r) == -1)
		return NULL;
	if (cJSON_GetObjectItemCaseSensitive(r->body, "project_id") != NULL) {
		fail(r, 400, "project_id: the path gives it");
		return NULL;
	}
	f = cJSON_Duplicate(r->body, 1);
	cJSON_AddNumberToObject(f, "project_id", (double)r->id);
	return f;
}

/*
 * Handlers.
 */

static int
h_health(struct req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	cJSON_AddStringToObject(o, "version", WF_VERSION);
	return reply_json(r, 200, o);
}

static int
h_board(struct req *r)
{
	cJSON *project = NULL, *b;
	int64_t pid;

	if (qid(r, "project_id", &pid) == -1)
		return r->out->status;
	if (pid > 0 &&
	    wf_store_get(r->a->root, &wf_kind_project, pid, &project, r->err,
		sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	b = wf_board_collect(r->a->root, pid, project);
	cJSON_Delete(project);
	if (b != NULL)
		wf_sandbox_status(&r->a->sandbox, b);
	return reply_json(r, 200, b);
}

/* wf director status. */
static int
h_director(struct req *r)
{
	cJSON *st = wf_director_status(r->a->root, &r->a->director, r->err,
	    sizeof(r->err));

	if (st == NULL)
		return fail(r, 500, "%s", r->err);
	return reply_json(r, 200, st);
}

/* wf director on|off with its limits: body {"enabled", "max_active",
 * "interval", "stuck_after", "retries"}, each optional. */
static int
h_director_set(struct req *r)
{
	static const char *const names[] = { "enabled", "max_active",
		"interval", "stuck_after", "retries", NULL };
	static const struct {
		const char *k;
		int64_t lo, hi;
	} lim[] = { { "max_active", 1, 64 }, { "interval", 1, 86400 },
		{ "stuck_after", 1, 86400 * 7 }, { "retries", 0, 100 } };
	const cJSON *en;
	int v[4], enabled = -1;
	int64_t n;

	if (need_body(r) == -1 || only(r, names) == -1)
		return r->out->status;
	en = cJSON_GetObjectItemCaseSensitive(r->body, "enabled");
	if (en != NULL && !cJSON_IsBool(en))
		return fail(r, 400, "enabled: not true or false");
	if (en != NULL)
		enabled = cJSON_IsTrue(en);
	for (int i = 0; i < 4; i++) {
		v[i] = -1;
		if (cJSON_GetObjectItemCaseSensitive(r->body, lim[i].k) ==
		    NULL)
			continue;
		if (opt_int(r, lim[i].k, lim[i].lo, lim[i].hi, &n) == -1)
			return r->out->status;
		v[i] = (int)n;
	}
	if (wf_director_set(r->a->root, enabled, v[0], v[1], v[2], v[3],
	    r->err, sizeof(r->err)) == -1)
		return fail(r, errno == EINVAL ? 400 : 500, "%s", r->err);
	return h_director(r);
}

static int
h_log(struct req *r)
{
	struct wf_audit_filter f;
	char buf[16];
	const char *errstr;
	long long limit = 100;
	cJSON *lines;
	int rc;

	memset(&f, 0, sizeof(f));
	if (qid(r, "run_id", &f.run) == -1 ||
	    qid(r, "project_id", &f.project) == -1)
		return r->out->status;
	if ((rc = qget(r->query, "limit", buf, sizeof(buf))) != 0) {
		limit = rc == 1 ? strtonum(buf, 1, WF_API_LOG_MAX, &errstr) : 0;
		if (rc == -1 || errstr != NULL)
			return fail(
			    r, 400, "limit: not in 1-%d", WF_API_LOG_MAX);
	}
	if ((lines = wf_audit_tail(r->a->root, &f, (int)limit)) == NULL)
		return fail(r, 500, "log/audit.jsonl: %s", strerror(errno));
	return reply_json(r, 200, lines);
}

static int
h_queue_status(struct req *r)
{
	cJSON *o = wf_queue_status(r->a->root);

	if (o == NULL)
		return fail(r, 500, "queue: %s", strerror(errno));
	wf_sandbox_status(&r->a->sandbox, o);
	return reply_json(r, 200, o);
}

static int
h_queue_jobs(struct req *r)
{
	char status[16];
	struct wf_job *jobs;
	size_t n;
	cJSON *arr;
	int rc;

	if ((rc = qget(r->query, "status", status, sizeof(status))) == -1 ||
	    (rc == 1 && wf_job_status_parse(status) < 0))
		return fail(r, 400, "status: not a job status");
	if (wf_queue_collect(r->a->root, rc == 1 ? status : NULL, &jobs, &n) ==
	    -1)
		return fail(r, 500, "queue: %s", strerror(errno));
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, wf_job_to_cjson(&jobs[i]));
	wf_queue_collect_free(jobs, n);
	return reply_json(r, 200, arr);
}

/* The route's {job}: an id or a unique prefix of one.  0, or -1 after
 * the reply (404 none, 409 several: named, 400 not an id). */
static int
resolve_job(struct req *r)
{
	if (wf_queue_resolve(r->a->root, r->job, r->jobid, sizeof(r->jobid),
	    r->err, sizeof(r->err)) == -1) {
		fail(r, errno == ENOENT ? 404 : errno == EEXIST ? 409 : 400, "%s",
		    r->err);
		return -1;
	}
	r->job = r->jobid;
	return 0;
}

static int
h_queue_job(struct req *r)
{
	struct wf_jobref ref;
	struct wf_job j;
	cJSON *o;

	if (resolve_job(r) == -1)
		return r->out->status;
	if (wf_queue_locate(r->a->root, r->job, &ref) == -1)
		return fail(r, 404, "no such job %s", r->job);
	if (wf_queue_load(r->a->root, &ref, &j, r->err, sizeof(r->err)) == -1)
		return fail(r, 500, "%s", r->err);
	o = wf_queue_record(r->a->root, &ref, &j, r->a->aging);
	wf_job_free(&j);
	return reply_json(r, 200, o);
}

static void
audit_job(struct req *r, const char *action, const char *id, cJSON *d)
{
	if (wf_audit_append_named(r->a->root, action, "job", id, d) == -1)
		wf_log_warn("log/audit.jsonl: %s (job %s: its audit line is "
			    "missing)",
		    strerror(errno), id);
	cJSON_Delete(d);
}

static int
h_enqueue(struct req *r)
{
	struct wf_job j;
	cJSON *o, *d;

	if (need_body(r) == -1)
		return r->out->status;
	/* The same checks as wf-enqueue's JSON on stdin. */
	if (wf_job_new(&j, r->body, r->err, sizeof(r->err)) == -1) {
		wf_job_free(&j);
		return fail(r, 400, "%s", r->err);
	}
	if (wf_queue_submit(r->a->root, &j, 1) == -1) {
		int e = errno;

		wf_job_free(&j);
		return fail(r, e == ENOSPC || e == EDQUOT ? 503 : 500,
		    "queue: %s", strerror(e));
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "job_type", wf_job_type_name(j.type));
	cJSON_AddNumberToObject(d, "priority", j.priority);
	audit_job(r, "job.enqueued", j.id, d);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", j.id);
	cJSON_AddStringToObject(o, "status", "pending");
	wf_job_free(&j);
	return reply_json(r, 201, o);
}

/* cancel and retry: requests for wf-dispatch, which alone moves job
 * files; 202, since it applies them on its own time. */
static int
queue_request(struct req *r, const char *op)
{
	cJSON *o;

	if (resolve_job(r) == -1)
		return r->out->status;
	if (wf_queue_ask(r->a->root, op, r->job, r->err, sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	audit_job(r,
	    strcmp(op, "cancel") == 0 ? "job.cancel_requested"
				      : "job.retry_requested",
	    r->job, NULL);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", r->job);
	cJSON_AddStringToObject(o, "requested", op);
	return reply_json(r, 202, o);
}

static int
h_cancel(struct req *r)
{
	return queue_request(r, "cancel");
}

static int
h_retry_job(struct req *r)
{
	return queue_request(r, "retry");
}

/* Entities. */

static int
list_of(struct req *r, const struct wf_kind *k, int64_t pid)
{
	const struct wf_field *st = wf_store_field(k, "status");
	char status[32];
	cJSON *all;
	int rc = 0;

	if (st != NULL &&
	    (rc = qget(r->query, "status", status, sizeof(status))) != 0) {
		int ok = 0;

		for (int i = 0; rc == 1 && st->enums[i] != NULL; i++)
			if (strcmp(status, st->enums[i]) == 0)
				ok = 1;
		if (!ok)
			return fail(r, 400, "status: not a %s status", k->name);
	}
	if ((all = wf_store_list(r->a->root, k, pid)) == NULL)
		return fail(r, 500, "%s: out of memory", k->dir);
	if (rc == 1)
		wf_entity_keep_status(all, status);
	if (k == &wf_kind_task) {
		char ready[8];

		wf_entity_task_derive(r->a->root, all);
		if ((rc = qget(r->query, "ready", ready, sizeof(ready))) ==
		    -1 || (rc == 1 && strcmp(ready, "1") != 0 &&
		    strcmp(ready, "0") != 0)) {
			cJSON_Delete(all);
			return fail(r, 400, "ready: 1 or 0");
		}
		if (rc == 1 && strcmp(ready, "1") == 0)
			wf_entity_keep_ready(all);
	}
	return reply_json(r, 200, all);
}

/* The project of the path must be there. */
static int
project_exists(struct req *r)
{
	cJSON *p;

	if (wf_store_get(r->a->root, &wf_kind_project, r->id, &p, r->err,
		sizeof(r->err)) == -1) {
		fail_errno(r, errno);
		return -1;
	}
	cJSON_Delete(p);
	return 0;
}

static int
show(struct req *r, const struct wf_kind *k)
{
	cJSON *rec;

	if (wf_store_get(r->a->root, k, r->id, &rec, r->err, sizeof(r->err)) ==
	    -1)
		return fail_errno(r, errno);
	if (k == &wf_kind_credential)
		wf_cred_redact(rec);
	if (k == &wf_kind_task) {
		/* As wf task show --json derives it. */
		cJSON *one = cJSON_CreateArray();

		cJSON_AddItemToArray(one, rec);
		wf_entity_task_derive(r->a->root, one);
		rec = cJSON_DetachItemFromArray(one, 0);
		cJSON_Delete(one);
	}
	return reply_json(r, 200, rec);
}

static int
create(struct req *r, const struct wf_kind *k, cJSON *fields)
{
	cJSON *rec;

	if (fields == NULL)
		return r->out->status;
	/* A path relative to the daemon's directory means nothing to the
	 * caller. */
	if (k == &wf_kind_project) {
		const char *rp = NULL;

		if (opt_str(r, "repo_path", &rp) == -1) {
			cJSON_Delete(fields);
			return r->out->status;
		}
		if (rp != NULL && rp[0] != '/') {
			cJSON_Delete(fields);
			return fail(r, 400, "repo_path: not an absolute path");
		}
	}
	if (wf_entity_create(
		r->a->root, k, fields, &rec, r->err, sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	return reply_json(r, 201, rec);
}

static int
update(struct req *r, const struct wf_kind *k)
{
	cJSON *after;

	if (need_body(r) == -1)
		return r->out->status;
	if (cJSON_GetArraySize(r->body) == 0)
		return fail(r, 400, "nothing to change");
	if (k == &wf_kind_project) {
		const char *rp = NULL;

		if (opt_str(r, "repo_path", &rp) == -1)
			return r->out->status;
		if (rp != NULL && rp[0] != '/')
			return fail(r, 400, "repo_path: not an absolute path");
	}
	if (wf_entity_update(r->a->root, k, r->id, r->body, &after, r->err,
		sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	return reply_json(r, 200, after);
}

static int
deleted(struct req *r, int rc)
{
	cJSON *o;

	if (rc == -1)
		return fail_errno(r, errno);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "deleted", (double)r->id);
	return reply_json(r, 200, o);
}

static int
set_status(struct req *r, const struct wf_kind *k)
{
	static const char *const names[] = { "status", NULL };
	const char *to;
	cJSON *rec;

	if (need_body(r) == -1 || only(r, names) == -1)
		return r->out->status;
	if ((to = body_str(r, "status")) == NULL)
		return fail(r, 400, "status: a string is needed");
	if (wf_entity_status(
		r->a->root, k, r->id, to, r->err, sizeof(r->err)) == -1 ||
	    wf_store_get(r->a->root, k, r->id, &rec, r->err, sizeof(r->err)) ==
		-1)
		return fail_errno(r, errno);
	return reply_json(r, 200, rec);
}

static int
h_projects(struct req *r)
{
	return list_of(r, &wf_kind_project, 0);
}

static int
h_project_create(struct req *r)
{
	if (need_body(r) == -1)
		return r->out->status;
	return create(r, &wf_kind_project, cJSON_Duplicate(r->body, 1));
}

static int
h_project(struct req *r)
{
	return show(r, &wf_kind_project);
}

static int
h_project_update(struct req *r)
{
	return update(r, &wf_kind_project);
}

static int
h_project_delete(struct req *r)
{
	return deleted(r,
	    wf_entity_delete(
		r->a->root, &wf_kind_project, r->id, r->err, sizeof(r->err)));
}

static int
h_context(struct req *r)
{
	cJSON *ctx =
	    wf_entity_context(r->a->root, r->id, r->err, sizeof(r->err));

	if (ctx == NULL)
		return fail_errno(r, errno);
	return reply_json(r, 200, ctx);
}

/* Runs. */

static int
reply_run(struct req *r, int status, int64_t id)
{
	cJSON *run;

	if (wf_store_get(r->a->root, &wf_kind_run, id, &run, r->err,
		sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	return reply_json(r, status, run);
}

/* A new run of project pid (for task tid when > 0), as wf run create and
 * wf pipeline --detach: body {"name", "task_id", "token_budget"}. */
static int
new_run(struct req *r, int64_t pid, int64_t tid)
{
	static const char *const names[] = { "name", "task_id", "token_budget",
		"request", NULL };
	const char *name = NULL, *request = NULL;
	int64_t id, budget = 0, btid = 0;

	if (only(r, names) == -1 || opt_str(r, "name", &name) == -1 ||
	    opt_str(r, "request", &request) == -1 ||
	    opt_int(r, "task_id", 1, ID_MAX, &btid) == -1 ||
	    opt_int(r, "token_budget", 0, INT64_C(1) << 50, &budget) == -1)
		return r->out->status;
	if (tid > 0 && btid > 0 && btid != tid)
		return fail(r, 400, "task_id: the path gives it");
	if (tid == 0)
		tid = btid;
	/* Blank: no request. */
	if (request != NULL && request[strspn(request, " \t\r\n")] == '\0')
		request = NULL;
	if (request != NULL && strlen(request) > WF_PIPELINE_REQUEST_MAX)
		return fail(r, 400, "request: longer than %d bytes",
		    WF_PIPELINE_REQUEST_MAX);
	if (wf_pipeline_create_request(r->a->root, &r->a->pipeline, pid, tid,
		name, request, &id, r->err, sizeof(r->err)) == -1)
		return fail_pipeline(r);
	if (budget > 0 &&
	    wf_pipeline_budget(r->a->root, &r->a->pipeline, id, budget, r->err,
		sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 201, id);
}

static int
h_execute(struct req *r)
{
	return new_run(r, r->id, 0);
}

static int
h_task_execute(struct req *r)
{
	const cJSON *pid;
	cJSON *task;
	int rc;

	if (wf_store_get(r->a->root, &wf_kind_task, r->id, &task, r->err,
		sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	pid = cJSON_GetObjectItemCaseSensitive(task, "project_id");
	rc = new_run(
	    r, cJSON_IsNumber(pid) ? (int64_t)pid->valuedouble : 0, r->id);
	cJSON_Delete(task);
	return rc;
}

static int
h_runs(struct req *r)
{
	int64_t pid;

	if (qid(r, "project_id", &pid) == -1)
		return r->out->status;
	return list_of(r, &wf_kind_run, pid);
}

static int
h_run(struct req *r)
{
	return show(r, &wf_kind_run);
}

/* A report for wf-gate, as wf run report drops it: checked now, so that
 * the caller hears of a bad one, and applied by wf-gate. */
static int
h_report(struct req *r)
{
	char id[WF_NAME_MAX + 1];
	cJSON *rep, *o, *run;
	int rc, e;

	if (need_body(r) == -1)
		return r->out->status;
	if (wf_store_get(r->a->root, &wf_kind_run, r->id, &run, r->err,
		sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	cJSON_Delete(run);
	rep = cJSON_Duplicate(r->body, 1);
	rc = wf_pipeline_drop_report(
	    r->a->root, r->id, rep, id, sizeof(id), r->err, sizeof(r->err));
	e = errno;
	cJSON_Delete(rep);
	if (rc == -1)
		return fail(r, e == EINVAL ? 400 : 500, "%s", r->err);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "report_id", id);
	cJSON_AddNumberToObject(o, "run_id", (double)r->id);
	return reply_json(r, 202, o);
}

static int
no_fields(struct req *r)
{
	static const char *const none[] = { NULL };

	return only(r, none);
}

static int
h_advance(struct req *r)
{
	if (no_fields(r) == -1)
		return r->out->status;
	if (wf_pipeline_advance(r->a->root, &r->a->pipeline, r->id, r->err,
		sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 200, r->id);
}

static int
h_retry(struct req *r)
{
	if (no_fields(r) == -1)
		return r->out->status;
	if (wf_pipeline_retry(r->a->root, &r->a->pipeline, r->id, r->err,
		sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 200, r->id);
}

static int
h_reset(struct req *r)
{
	static const char *const names[] = { "tasks", NULL };
	const cJSON *t;

	if (only(r, names) == -1)
		return r->out->status;
	t = cJSON_GetObjectItemCaseSensitive(r->body, "tasks");
	if (t != NULL && !cJSON_IsBool(t))
		return fail(r, 400, "tasks: not true or false");
	if (wf_pipeline_reset_to_dev(r->a->root, &r->a->pipeline, r->id,
		cJSON_IsTrue(t), r->err, sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 200, r->id);
}

/* Only a human approves: the approver is the token's name, which the
 * caller cannot choose by a field of the body. */
static int
h_approve(struct req *r)
{
	static const char *const names[] = { "env", NULL };
	const char *env = NULL;
	int64_t env_id = 0;

	if (only(r, names) == -1 || opt_str(r, "env", &env) == -1)
		return r->out->status;
	if (env != NULL &&
	    (env_id = wf_pipeline_run_env(
		 r->a->root, r->id, env, r->err, sizeof(r->err))) == -1)
		return fail(r, 404, "%s", r->err);
	if (wf_pipeline_approve_deploy(r->a->root, &r->a->pipeline, r->id,
		env_id, r->err, sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 200, r->id);
}

/* What the run changed since it began, as the page shows it before its
 * actions: the stat and the patch. */
static int
h_run_diff(struct req *r)
{
	cJSON *run = NULL, *project = NULL, *o = NULL;
	char *stat = NULL, *patch = NULL;
	size_t sl, pl;
	int rc;

	if (wf_store_get(r->a->root, &wf_kind_run, r->id, &run, r->err,
		sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	if (!cJSON_IsString(cJSON_GetObjectItem(run, "branch"))) {
		rc = fail(r, 409, "run %lld has no branch of its own (%s)",
		    (long long)r->id, cJSON_IsString(cJSON_GetObjectItem(run,
		    "worktree_note")) ? cJSON_GetObjectItem(run,
		    "worktree_note")->valuestring : "made before runs had "
		    "worktrees");
		goto out;
	}
	if (wf_store_get(r->a->root, &wf_kind_project, (int64_t)
		cJSON_GetObjectItem(run, "project_id")->valuedouble, &project,
		r->err, sizeof(r->err)) == -1) {
		rc = fail_errno(r, errno);
		goto out;
	}
#define RS(k) cJSON_GetStringValue(cJSON_GetObjectItem(run, k))
	if (wf_worktree_diff(cJSON_GetStringValue(cJSON_GetObjectItem(project,
		"repo_path")), RS("base_commit"), RS("branch"), 1, &stat, &sl,
		r->err, sizeof(r->err)) == -1 ||
	    wf_worktree_diff(cJSON_GetStringValue(cJSON_GetObjectItem(project,
		"repo_path")), RS("base_commit"), RS("branch"), 0, &patch, &pl,
		r->err, sizeof(r->err)) == -1) {
		rc = fail(r, 409, "%s", r->err);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "run_id", (double)r->id);
	cJSON_AddStringToObject(o, "branch", RS("branch"));
	cJSON_AddStringToObject(o, "base_branch", RS("base_branch"));
	cJSON_AddStringToObject(o, "base_commit", RS("base_commit"));
#undef RS
	cJSON_AddStringToObject(o, "stat", stat);
	cJSON_AddStringToObject(o, "diff", patch);
	rc = reply_json(r, 200, o);
out:
	free(stat);
	free(patch);
	cJSON_Delete(run);
	cJSON_Delete(project);
	return rc;
}

/* A human merges the run's branch (wf run merge): the token's name is
 * the actor, as for approve-deploy. */
static int
h_run_merge(struct req *r)
{
	if (no_fields(r) == -1)
		return r->out->status;
	if (wf_pipeline_merge(r->a->root, &r->a->pipeline, r->id, r->err,
		sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 200, r->id);
}

static int
h_run_abandon(struct req *r)
{
	static const char *const names[] = { "why", NULL };
	const char *why = NULL;

	if (only(r, names) == -1 || opt_str(r, "why", &why) == -1)
		return r->out->status;
	if (wf_pipeline_abandon(r->a->root, &r->a->pipeline, r->id, why,
		r->err, sizeof(r->err)) == -1)
		return fail_pipeline(r);
	return reply_run(r, 200, r->id);
}

static int
h_run_create(struct req *r)
{
	return new_run(r, r->id, 0);
}

/* Tasks, bugs, environments. */

static int
h_tasks(struct req *r)
{
	if (project_exists(r) == -1)
		return r->out->status;
	return list_of(r, &wf_kind_task, r->id);
}

static int
h_task_create(struct req *r)
{
	return create(r, &wf_kind_task, fields_in_project(r));
}

static int
h_task(struct req *r)
{
	return show(r, &wf_kind_task);
}

static int
h_task_status(struct req *r)
{
	return set_status(r, &wf_kind_task);
}

static int
h_task_update(struct req *r)
{
	return update(r, &wf_kind_task);
}

static int
h_bugs(struct req *r)
{
	int64_t pid;

	if (qid(r, "project_id", &pid) == -1)
		return r->out->status;
	return list_of(r, &wf_kind_bug, pid);
}

static int
h_bug_create(struct req *r)
{
	if (need_body(r) == -1)
		return r->out->status;
	return create(r, &wf_kind_bug, cJSON_Duplicate(r->body, 1));
}

static int
h_bug(struct req *r)
{
	return show(r, &wf_kind_bug);
}

static int
h_bug_status(struct req *r)
{
	return set_status(r, &wf_kind_bug);
}

static int
h_envs(struct req *r)
{
	if (project_exists(r) == -1)
		return r->out->status;
	return list_of(r, &wf_kind_environment, r->id);
}

static int
h_env_create(struct req *r)
{
	return create(r, &wf_kind_environment, fields_in_project(r));
}

static int
h_env_update(struct req *r)
{
	return update(r, &wf_kind_environment);
}

static int
h_env_delete(struct req *r)
{
	return deleted(r,
	    wf_entity_delete(r->a->root, &wf_kind_environment, r->id, r->err,
		sizeof(r->err)));
}

/* Credentials: the secret goes in, sealed; it never comes out. */

static int
h_creds(struct req *r)
{
	cJSON *all, *it;

	if (project_exists(r) == -1)
		return r->out->status;
	if ((all = wf_store_list(r->a->root, &wf_kind_credential, r->id)) ==
	    NULL)
		return fail(r, 500, "out of memory");
	cJSON_ArrayForEach(it, all) wf_cred_redact(it);
	return reply_json(r, 200, all);
}

/* The secret is "secret" (a string, or an object whose string members
 * are its fields, as wf cred add takes a JSON secret), or the seed's own
 * body: api_key_encrypted or another of its NAME_encrypted fields, the
 * clear value for the server to seal. */
static int
h_cred_create(struct req *r)
{
	cJSON *fields, *secret, *rec;
	char *text;
	int n, rc;

	if ((fields = fields_in_project(r)) == NULL)
		return r->out->status;
	if ((n = wf_cred_seed_secret(fields, &text, r->err, sizeof(r->err))) ==
	    -1) {
		cJSON_Delete(fields);
		return fail(r, 400, "%s", r->err);
	}
	secret = cJSON_DetachItemFromObjectCaseSensitive(fields, "secret");
	/* The fields first: an unknown one is named, whatever the secret. */
	if (wf_store_check(&wf_kind_credential, fields, 0, 0, r->err,
		sizeof(r->err)) == -1) {
		int e = errno;

		if (text != NULL)
			explicit_bzero(text, strlen(text));
		free(text);
		cJSON_Delete(secret);
		cJSON_Delete(fields);
		return fail_errno(r, e);
	}
	if (n > 0 && secret != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
		cJSON_Delete(secret);
		cJSON_Delete(fields);
		return fail(r, 400,
		    "secret: given twice (secret, and the seed's "
		    "*_encrypted fields): give one");
	}
	if (n == 0 && !cJSON_IsString(secret) && !cJSON_IsObject(secret)) {
		cJSON_Delete(secret);
		cJSON_Delete(fields);
		return fail(r, 400,
		    "secret: a string or an object is needed (or the "
		    "seed's api_key_encrypted, password_encrypted, ...)");
	}
	if (n == 0) {
		/* An object's string members are fields of the secret. */
		text = cJSON_IsString(secret) ? strdup(secret->valuestring)
					      : cJSON_PrintUnformatted(secret);
		cJSON_Delete(secret);
	}
	if (text == NULL || text[0] == '\0' || strlen(text) > WF_VAULT_MAX) {
		free(text);
		cJSON_Delete(fields);
		return fail(r, 400, "secret: 1-%d bytes", WF_VAULT_MAX);
	}
	rc = wf_cred_add(r->a->root, fields, text, strlen(text), &rec, r->err,
	    sizeof(r->err));
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc == -1)
		return fail_errno(r, errno);
	return reply_json(r, 201, rec);
}

static int
h_cred_delete(struct req *r)
{
	return deleted(
	    r, wf_cred_delete(r->a->root, r->id, r->err, sizeof(r->err)));
}

/* Webhooks: a secret made here is shown once, in the reply of create. */

static int
h_webhooks(struct req *r)
{
	cJSON *all = wf_store_list(r->a->root, &wf_kind_webhook, 0), *it;

	if (all == NULL)
		return fail(r, 500, "out of memory");
	cJSON_ArrayForEach(it, all) wf_webhook_redact(it);
	return reply_json(r, 200, all);
}

static int
h_webhook_create(struct req *r)
{
	char secret[WF_WEBHOOK_SECRET_MAX + 1] = "";
	const char *given = NULL;
	cJSON *fields, *rec;
	int64_t id;
	int made;

	if (need_body(r) == -1 || opt_str(r, "secret", &given) == -1)
		return r->out->status;
	if (given != NULL &&
	    (given[0] == '\0' ||
		strlcpy(secret, given, sizeof(secret)) >= sizeof(secret)))
		return fail(
		    r, 400, "secret: 1-%d bytes", WF_WEBHOOK_SECRET_MAX);
	fields = cJSON_Duplicate(r->body, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(fields, "secret");
	if (wf_webhook_create(r->a->root, fields, secret, sizeof(secret), &made,
		&id, r->err, sizeof(r->err)) == -1) {
		explicit_bzero(secret, sizeof(secret));
		return fail_errno(r, errno);
	}
	if (wf_store_get(r->a->root, &wf_kind_webhook, id, &rec, r->err,
		sizeof(r->err)) == -1) {
		explicit_bzero(secret, sizeof(secret));
		return fail_errno(r, errno);
	}
	wf_webhook_redact(rec);
	if (made)
		cJSON_AddStringToObject(rec, "secret", secret);
	explicit_bzero(secret, sizeof(secret));
	return reply_json(r, 201, rec);
}

static int
h_webhook_delete(struct req *r)
{
	return deleted(
	    r, wf_webhook_delete(r->a->root, r->id, r->err, sizeof(r->err)));
}

/* Dead deliveries: listed without their bodies (a webhook's secret is
 * never in one), redelivered through lib/webhook as wf webhook redeliver. */
static int
h_deliveries(struct req *r)
{
	char buf[8];
	int64_t wid;
	int rc;
	cJSON *arr;

	if ((rc = qget(r->query, "dead", buf, sizeof(buf))) != 1 ||
	    strcmp(buf, "1") != 0)
		return fail(r, 400,
		    "dead=1 is needed: only the dead deliveries are served "
		    "(wf webhook deliveries shows the attempts)");
	if (qid(r, "webhook_id", &wid) == -1)
		return r->out->status;
	if ((arr = wf_webhook_dead_list(r->a->root, wid)) == NULL)
		return fail(r, 500, "out of memory");
	return reply_json(r, 200, arr);
}

static int
h_redeliver(struct req *r)
{
	cJSON *o;

	if (wf_webhook_redeliver(r->a->root, r->job, r->err,
	    sizeof(r->err)) == -1)
		return fail_errno(r, errno);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", r->job);
	return reply_json(r, 200, o);
}

/* Every dead delivery: those redelivered, and those refused with why. */
static int
h_redeliver_all(struct req *r)
{
	cJSON *dead = wf_webhook_dead_list(r->a->root, 0), *it, *o, *ok, *no;

	if (dead == NULL)
		return fail(r, 500, "out of memory");
	o = cJSON_CreateObject();
	ok = cJSON_AddArrayToObject(o, "redelivered");
	no = cJSON_AddArrayToObject(o, "failed");
	cJSON_ArrayForEach(it, dead) {
		const char *id = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "id"));
		cJSON *f;

		if (id == NULL)
			continue;
		if (wf_webhook_redeliver(r->a->root, id, r->err,
		    sizeof(r->err)) == 0) {
			cJSON_AddItemToArray(ok, cJSON_CreateString(id));
			continue;
		}
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "id", id);
		cJSON_AddStringToObject(f, "error", r->err);
		cJSON_AddItemToArray(no, f);
	}
	cJSON_Delete(dead);
	return reply_json(r, 200, o);
}

/*
 * GET /metrics: the tree in the Prometheus text format (lib/metrics).  Its
 * state between scrapes is the server's, made at the first scrape.
 */
static int
h_metrics(struct req *r)
{
	const char *lanes[WF_LANES_MAX];
	char *s;
	size_t n;

	if (r->a->metrics == NULL &&
	    (r->a->metrics = wf_metrics_new()) == NULL)
		return fail(r, 500, "metrics: out of memory");
	for (int i = 0; i < r->a->nlanes; i++)
		lanes[i] = r->a->lanes[i];
	if (wf_metrics_render(r->a->metrics, r->a->root, lanes, r->a->nlanes,
	    wf_clock_wall_ms(), &s, &n) == -1)
		return fail(r, 500, "metrics: %s", strerror(errno));
	free(r->out->body);
	r->out->body = s;
	r->out->len = n;
	r->out->ctype = WF_METRICS_CTYPE;
	return r->out->status = 200;
}

static const struct route routes[] = {
	{ M_GET, "/metrics", h_metrics },
	{ M_GET, "/api/health", h_health },
	{ M_GET, "/api/board", h_board },
	{ M_GET, "/api/log", h_log },
	{ M_GET, "/api/director", h_director },
	{ M_POST, "/api/director", h_director_set },
	{ M_GET, "/api/queue/status", h_queue_status },
	{ M_GET, "/api/queue/jobs", h_queue_jobs },
	{ M_GET, "/api/queue/jobs/{job}", h_queue_job },
	{ M_POST, "/api/queue/enqueue", h_enqueue },
	{ M_POST, "/api/queue/jobs/{job}/cancel", h_cancel },
	{ M_POST, "/api/queue/jobs/{job}/retry", h_retry_job },
	{ M_GET, "/api/projects", h_projects },
	{ M_POST, "/api/projects/create", h_project_create },
	{ M_GET, "/api/projects/{id}", h_project },
	{ M_PATCH, "/api/projects/{id}/update", h_project_update },
	{ M_DELETE, "/api/projects/{id}/delete", h_project_delete },
	{ M_GET, "/api/projects/{id}/context", h_context },
	{ M_POST, "/api/projects/{id}/execute", h_execute },
	{ M_GET, "/api/projects/{id}/credentials", h_creds },
	{ M_POST, "/api/projects/{id}/credentials/create", h_cred_create },
	{ M_DELETE, "/api/credentials/{id}/delete", h_cred_delete },
	{ M_GET, "/api/projects/{id}/environments", h_envs },
	{ M_POST, "/api/projects/{id}/environments/create", h_env_create },
	{ M_PATCH, "/api/environments/{id}/update", h_env_update },
	{ M_DELETE, "/api/environments/{id}/delete", h_env_delete },
	{ M_GET, "/api/projects/{id}/tasks", h_tasks },
	{ M_POST, "/api/projects/{id}/tasks/create", h_task_create },
	{ M_GET, "/api/tasks/{id}", h_task },
	{ M_POST, "/api/tasks/{id}/status", h_task_status },
	{ M_PATCH, "/api/tasks/{id}/update", h_task_update },
	{ M_POST, "/api/tasks/{id}/execute", h_task_execute },
	{ M_GET, "/api/runs", h_runs },
	{ M_POST, "/api/projects/{id}/runs/create", h_run_create },
	{ M_GET, "/api/runs/{id}", h_run },
	{ M_POST, "/api/runs/{id}/report", h_report },
	{ M_POST, "/api/runs/{id}/advance", h_advance },
	{ M_POST, "/api/runs/{id}/retry", h_retry },
	{ M_POST, "/api/runs/{id}/reset-to-dev", h_reset },
	{ M_POST, "/api/runs/{id}/approve-deploy", h_approve },
	{ M_GET, "/api/runs/{id}/diff", h_run_diff },
	{ M_POST, "/api/runs/{id}/merge", h_run_merge },
	{ M_POST, "/api/runs/{id}/abandon", h_run_abandon },
	{ M_GET, "/api/bugs", h_bugs },
	{ M_POST, "/api/bugs/create", h_bug_create },
	{ M_GET, "/api/bugs/{id}", h_bug },
	{ M_POST, "/api/bugs/{id}/status", h_bug_status },
	{ M_GET, "/api/webhooks", h_webhooks },
	{ M_POST, "/api/webhooks/create", h_webhook_create },
	{ M_DELETE, "/api/webhooks/{id}/delete", h_webhook_delete },
	{ M_GET, "/api/webhooks/deliveries", h_deliveries },
	{ M_POST, "/api/webhooks/deliveries/{job}/redeliver", h_redeliver },
	{ M_POST, "/api/webhooks/deliveries/redeliver-all", h_redeliver_all },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/*
 * The router.
 */

/* Split path into at most NSEG segments (pointers into buf); -1 when
 * there are more, or an empty one. */
static int
split(char *buf, char **seg)
{
	int n = 0;
	char *p = buf;

	if (*p != '/')
		return -1;
	while (*p == '/') {
		char *s = ++p;

		if (n == NSEG)
			return -1;
		p += strcspn(p, "/");
		if (p == s)
			return -1;
		seg[n++] = s;
	}
	return n;
}

/* Does the route's pattern match the segments?  Its score is how many of
 * its segments are literal (the most literal match wins: /create is not
 * an {id}); -1 when it does not match. */
static int
match(const char *pattern, char *const *seg, const size_t *len, int n)
{
	const char *p = pattern + 1;
	int i = 0, score = 0;

	for (; *p != '\0' && i < n; i++) {
		size_t pl = strcspn(p, "/");

		if (p[0] != '{') {
			if (pl != len[i] || strncmp(p, seg[i], pl) != 0)
				return -1;
			score++;
		}
		p += pl + (p[pl] == '/');
	}
	return *p == '\0' && i == n ? score : -1;
}

static int
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	if (strcmp(m, "PATCH") == 0)
		return M_PATCH;
	if (strcmp(m, "DELETE") == 0)
		return M_DELETE;
	return 0;
}

static void
allow_of(int methods, char *buf, size_t len)
{
	static const char *const names[] = { "GET", "POST", "PATCH", "DELETE" };

	buf[0] = '\0';
	for (int i = 0; i < 4; i++)
		if (methods & (1 << i)) {
			if (buf[0] != '\0')
				strlcat(buf, ", ", len);
			strlcat(buf, names[i], len);
		}
}

/* Whose token does the Authorization header carry?  0 with the actor
 * set; -1 with a 401 sent. */
static int
authorize(struct req *r, const char *method, const char *path, const char *auth)
{
	char name[WF_TOKEN_NAME_MAX + 1];
	const char *tok;

	r->out->auth = 1;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		/* Anonymous callers go to the log, not the audit trail. */
		wf_log_warn("401 %s %.200s: no token", method, path);
		r->a->refused++;
		fail(r, 401,
		    "a token is needed: Authorization: Bearer TOKEN "
		    "(wf token add NAME makes one)");
		return -1;
	}
	for (tok = auth + 7; *tok == ' '; tok++)
		;
	if (wf_token_check(r->a->root, tok, name) == -1) {
		wf_log_warn(
		    "401 %s %.200s: a token that is no one's", method, path);
		r->a->refused++;
		fail(r, 401, "the token is not valid");
		return -1;
	}
	r->out->auth = 0;
	snprintf(r->out->actor, sizeof(r->out->actor), "http:%s", name);
	return 0;
}

/*
 * The page.
 */

static const char *
ctype_of(const char *name)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]);
	     i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

static int
ui_fail(struct req *r, int status, const char *msg)
{
	size_t n = strlen(msg);

	free(r->out->body);
	if ((r->out->body = malloc(n + 2)) != NULL) {
		memcpy(r->out->body, msg, n);
		r->out->body[n] = '\n';
		r->out->body[n + 1] = '\0';
		r->out->len = n + 1;
	}
	r->out->ctype = "text/plain; charset=utf-8";
	return r->out->status = status;
}

/* /ui/NAME[/NAME...]: each name a plain one (no dot first: no "..", no
 * hidden file), each directory opened without following a symlink, the
 * file too; a regular file only, of a bounded size. */
static int
ui_file(struct req *r, const char *rel)
{
	char buf[WF_API_PATH_MAX], *p, *next;
	int dfd = -1, fd = -1, e;
	struct stat st;

	r->out->ui = 1;
	if (r->a->webfd == -1)
		return ui_fail(
		    r, 404, "no page: wf-httpd has no web directory");
	if (*rel == '\0')
		rel = "index.html";
	if (strlcpy(buf, rel, sizeof(buf)) >= sizeof(buf))
		return ui_fail(r, 404, "not found");
	if ((dfd = dup(r->a->webfd)) == -1)
		return ui_fail(r, 500, "out of descriptors");
	for (p = buf; p != NULL; p = next) {
		int last, nfd;

		if ((next = strchr(p, '/')) != NULL)
			*next++ = '\0';
		last = next == NULL;
		if (!wf_spool_name_ok(p)) {
			close(dfd);
			return ui_fail(r, 404, "not found");
		}
		nfd = openat(dfd, p,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
			(last ? 0 : O_DIRECTORY));
		/* A symbolic link, to a file (ELOOP) or where a directory
		 * was wanted (ENOTDIR), is refused as such. */
		e = errno;
		if (nfd == -1 && (e == ELOOP || e == ENOTDIR) &&
		    fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		close(dfd);
		dfd = -1;
		if (nfd == -1)
			return e == ELOOP
			    ? ui_fail(r, 403, "forbidden: a symbolic link")
			    : ui_fail(r, 404, "not found");
		if (last)
			fd = nfd;
		else
			dfd = nfd;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ui_fail(r, 404, "not found");
	}
	if (st.st_size > WF_API_FILE_MAX) {
		close(fd);
		return ui_fail(r, 403, "forbidden: too large");
	}
	r->out->fd = fd;
	r->out->size = (size_t)st.st_size;
	r->out->ctype = ctype_of(rel[0] != '\0' ? rel : "index.html");
	return r->out->status = 200;
}

/*
 * The entry.
 */

int
wf_api_handle(struct wf_api *a, const char *method, const char *path,
    const char *query, const char *auth, const char *body, size_t len,
    struct wf_api_reply *out)
{
	char buf[WF_API_PATH_MAX + 1], *seg[NSEG];
	size_t seglen[NSEG];
	const struct route *best[NROUTES];
	int n, nbest = 0, score = -1, mbit = method_bit(method), allowed = 0;
	struct req r;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	memset(&r, 0, sizeof(r));
	r.a = a;
	r.out = out;
	r.query = query != NULL ? query : "";
	a->requests++;

	if (strlen(path) > WF_API_PATH_MAX)
		return fail(
		    &r, 414, "path longer than %d bytes", WF_API_PATH_MAX);
	if (strlen(r.query) > WF_API_QUERY_MAX)
		return fail(
		    &r, 414, "query longer than %d bytes", WF_API_QUERY_MAX);
	if (strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0) {
		if (mbit != M_GET) {
			strlcpy(out->allow, "GET", sizeof(out->allow));
			return ui_fail(&r, 405, "method not allowed");
		}
		out->location = "/ui/";
		return ui_fail(&r, 302, "/ui/");
	}
	if (strncmp(path, "/ui/", 4) == 0) {
		if (mbit != M_GET) {
			out->ui = 1;
			strlcpy(out->allow, "GET", sizeof(out->allow));
			return ui_fail(&r, 405, "method not allowed");
		}
		return ui_file(&r, path + 4);
	}

	strlcpy(buf, path, sizeof(buf));
	if ((n = split(buf, seg)) == -1)
		return fail(&r, 404, "no such resource");
	for (int i = 0; i < n; i++) {
		seglen[i] = strcspn(seg[i], "/");
		seg[i][seglen[i]] = '\0';
	}
	for (size_t i = 0; i < NROUTES; i++) {
		int s = match(routes[i].path, seg, seglen, n);

		if (s < 0 || s < score)
			continue;
		if (s > score) {
			score = s;
			nbest = 0;
		}
		best[nbest++] = &routes[i];
	}
	if (nbest == 0)
		return fail(&r, 404, "no such resource");
	for (int i = 0; i < nbest; i++)
		allowed |= best[i]->method;
	if (!(allowed & mbit)) {
		allow_of(allowed, out->allow, sizeof(out->allow));
		return fail(&r, 405,
		    "method %.16s not allowed here (allowed: "
		    "%s)",
		    method, out->allow);
	}
	for (int i = 0; i < nbest; i++) {
		const struct route *rt = best[i];
		const char *p = rt->path + 1;
		handler_fn fn = rt->fn;
		int rc;

		if (rt->method != mbit)
			continue;
		/* The parameters: a bad id is the caller's error (400),
		 * before anything else is looked at. */
		for (int k = 0; k < n; k++) {
			size_t pl = strcspn(p, "/");

			if (strncmp(p, "{id}", 4) == 0 &&
			    parse_id(seg[k], &r.id) == -1)
				return fail(&r, 400,
				    "'%.40s': not an id (a "
				    "positive integer)",
				    seg[k]);
			if (strncmp(p, "{job}", 5) == 0) {
				if (!wf_spool_name_ok(seg[k]))
					return fail(&r, 400,
					    "'%.80s': not a "
					    "job id",
					    seg[k]);
				r.job = seg[k];
			}
			p += pl + (p[pl] == '/');
		}
		/* Reads are open on loopback; beyond it (allow_remote)
		 * they need a token, but /metrics from a client on
		 * loopback, so that a local Prometheus scrapes it. */
		if ((mbit != M_GET || (a->remote &&
		    !(fn == h_metrics && a->peer_local))) &&
		    authorize(&r, method, path, auth) == -1)
			return out->status;
		if (mbit != M_GET && len > WF_API_BODY_MAX)
			return fail(&r, 413, "body larger than %d bytes",
			    WF_API_BODY_MAX);
		if (mbit != M_GET && body != NULL && len > 0) {
			const char *end = NULL;
			char why[160];

			if (wf_json_text_ok(body, len, why, sizeof(why)) == -1)
				return fail(&r, 400, "%s", why);
			r.body = cJSON_ParseWithLengthOpts(body, len, &end, 0);
			if (r.body == NULL) {
				const char *at = cJSON_GetErrorPtr();

				return fail(&r, 400,
				    "body: malformed JSON "
				    "near byte %zu",
				    at != NULL && at >= body && at <= body + len
					? (size_t)(at - body)
					: 0);
			}
			if (!cJSON_IsObject(r.body)) {
				cJSON_Delete(r.body);
				return fail(&r, 400, "body: not a JSON object");
			}
			/* Trailing bytes other than blanks: not one
			 * document. */
			for (; end < body + len; end++)
				if (strchr(" \t\r\n", *end) == NULL ||
				    *end == '\0') {
					cJSON_Delete(r.body);
					return fail(&r, 400,
					    "body: more than "
					    "one JSON value");
				}
		}
		if (out->actor[0] != '\0')
			wf_audit_set_actor(out->actor);
		rc = fn(&r);
		if (out->actor[0] != '\0')
			wf_audit_set_actor("wf-httpd");
		cJSON_Delete(r.body);
		return rc;
	}
	return fail(&r, 500, "no handler"); /* not reached */
}

void
wf_api_reply_free(struct wf_api_reply *r)
{
	free(r->body);
	r->body = NULL;
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

void
wf_api_conf(struct wf_api *a, const struct wf_config *cfg)
{
	a->pipeline = cfg->pipeline;
	a->director = cfg->director;
	a->sandbox = cfg->sandbox;
	a->aging = cfg->aging;
	a->nlanes = 0;
	for (int i = 0; i < cfg->nlanes && i < WF_LANES_MAX; i++)
		strlcpy(a->lanes[a->nlanes++], cfg->lanes[i].name,
		    sizeof(a->lanes[0]));
}

int
wf_api_init(struct wf_api *a, int root, const char *webdir,
    const struct wf_config *cfg, int remote, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->root = root;
	a->webfd = -1;
	a->remote = remote;
	wf_api_conf(a, cfg);
	if (webdir != NULL && webdir[0] != '\0' &&
	    (a->webfd = open(webdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		-1 &&
	    errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", webdir, strerror(errno));
		return -1;
	}
	return 0;
}

void
wf_api_fini(struct wf_api *a)
{
	wf_metrics_free(a->metrics);
	a->metrics = NULL;
	if (a->webfd != -1)
		close(a->webfd);
	a->webfd = -1;
}
