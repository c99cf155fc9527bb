/*
 * entity: changes to the store's entities with their audit lines and
 * events.  Every write goes through lib/store (whole files renamed into
 * place under the kind's lock); an audit line follows each change that
 * happened, and a bug's creation drops a bug.created event into
 * events/new for wf-notify (the maildir protocol).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "entity.h"
#include "event.h"
#include "log.h"
#include "taskdep.h"

/* Bounds the schema does not say. */
static const struct range {
	const char *kind, *field;
	long long lo, hi;
} ranges[] = {
	{ "task", "priority", 1, 5 },
	{ "environment", "ssh_port", 1, 65535 },
};

static int refuse(int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* repo_path is an absolute path to a directory that exists. */
static int
absolute_repo(const struct wf_kind *k, cJSON *obj, char *err, size_t errlen)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "repo_path");
	char path[PATH_MAX];
	struct stat st;

	if (wf_store_field(k, "repo_path") == NULL || !cJSON_IsString(v))
		return 0;
	if (realpath(v->valuestring, path) == NULL)
		return refuse(EINVAL, err, errlen, "repo_path: '%.200s': %s",
		    v->valuestring, strerror(errno));
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return refuse(EINVAL, err, errlen,
		    "repo_path: '%.200s': not a directory", v->valuestring);
	cJSON_ReplaceItemInObjectCaseSensitive(
	    obj, "repo_path", cJSON_CreateString(path));
	return 0;
}

static int
check_ranges(
    const struct wf_kind *k, const cJSON *obj, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range *r = &ranges[i];
		const cJSON *v;

		if (strcmp(r->kind, k->name) != 0)
			continue;
		v = cJSON_GetObjectItemCaseSensitive(obj, r->field);
		if (cJSON_IsNumber(v) &&
		    (v->valuedouble < (double)r->lo ||
			v->valuedouble > (double)r->hi))
			return refuse(EINVAL, err, errlen,
			    "%s: %s must be %lld to %lld", k->name, r->field,
			    r->lo, r->hi);
	}
	return 0;
}

int
wf_entity_check(
    const struct wf_kind *k, cJSON *fields, char *err, size_t errlen)
{
	if (!cJSON_IsObject(fields))
		return refuse(
		    EINVAL, err, errlen, "%s: not a JSON object", k->name);
	if (absolute_repo(k, fields, err, errlen) == -1 ||
	    check_ranges(k, fields, err, errlen) == -1)
		return -1;
	return wf_store_check(k, fields, 0, 0, err, errlen);
}

static void
audit(int root, const struct wf_kind *k, const char *what, int64_t id,
    const cJSON *details)
{
	char action[64];

	snprintf(action, sizeof(action), "%s.%s", k->name, what);
	if (wf_audit_append(root, action, k->name, id, details) == -1)
		wf_log_warn("log/audit.jsonl: %s (%s %lld is changed, but its "
			    "audit line is missing)",
		    strerror(errno), k->name, (long long)id);
}

int
wf_entity_create(int root, const struct wf_kind *k, cJSON *fields, cJSON **rec,
    char *err, size_t errlen)
{
	cJSON *r = NULL;
	int64_t id;

	if (rec != NULL)
		*rec = NULL;
	if (wf_entity_check(k, fields, err, errlen) == -1) {
		cJSON_Delete(fields);
		return -1;
	}
	/* The store takes fields, on success and on failure. */
	if (wf_store_create(root, k, fields, 0, &id, err, errlen) == -1 ||
	    wf_store_get(root, k, id, &r, err, errlen) == -1)
		return -1;
	audit(root, k, "created", id, r);
	if (k == &wf_kind_bug &&
	    wf_event_emit(root, "bug.created", cJSON_Duplicate(r, 1)) == -1)
		wf_log_warn("events: %s (bug %lld is made; its bug.created "
			    "event is not)",
		    strerror(errno), (long long)id);
	if (rec != NULL)
		*rec = r;
	else
		cJSON_Delete(r);
	return 0;
}

int
wf_entity_update(int root, const struct wf_kind *k, int64_t id, cJSON *patch,
    cJSON **after, char *err, size_t errlen)
{
	cJSON *before = NULL, *now = NULL, *d;
	int rc = -1;

	if (after != NULL)
		*after = NULL;
	if (wf_entity_check(k, patch, err, errlen) == -1 ||
	    wf_store_get(root, k, id, &before, err, errlen) == -1 ||
	    wf_store_update(root, k, id, patch, 0, err, errlen) == -1 ||
	    wf_store_get(root, k, id, &now, err, errlen) == -1)
		goto fail;
	d = wf_store_changes(patch, before, now);
	audit(root, k, "updated", id, d);
	cJSON_Delete(d);
	if (after != NULL) {
		*after = now;
		now = NULL;
	}
	rc = 0;
fail:
	cJSON_Delete(before);
	cJSON_Delete(now);
	return rc;
}

/* How many entities of kind k have field f == id. */
static int
count_refs(
    int root, const struct wf_kind *k, const struct wf_field *f, int64_t id)
{
	cJSON *all = wf_store_list(root, k, 0);
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, all)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, f->name);

		if (cJSON_IsNumber(v) && (int64_t)v->valuedouble == id)
			n++;
	}
	cJSON_Delete(all);
	return n;
}

/* Refuse to delete what another entity refers to. */
static int
referenced(
    int root, const struct wf_kind *kind, int64_t id, char *err, size_t errlen)
{
	static const char *const names[] = {
		"project",
		"task",
		"run",
		"bug",
		"environment",
		"webhook",
		"credential",
		NULL,
	};
	char what[256] = "", one[64];

	for (int i = 0; names[i] != NULL; i++) {
		const struct wf_kind *k = wf_store_kind(names[i]);

		for (const struct wf_field *f = k->fields; f->name != NULL;
		     f++) {
			int n;

			if (f->type != WF_F_REF || strcmp(f->ref, kind->name))
				continue;
			if ((n = count_refs(root, k, f, id)) == 0)
				continue;
			snprintf(one, sizeof(one), "%d %s%s", n, k->name,
			    n == 1 ? "" : "s");
			if (what[0] != '\0')
				strlcat(what, ", ", sizeof(what));
			strlcat(what, one, sizeof(what));
		}
	}
	if (what[0] == '\0')
		return 0;
	return refuse(EBUSY, err, errlen,
	    "%s %lld: in use by %s; delete those first", kind->name,
	    (long long)id, what);
}

/* Refuse to delete a task that another waits on: the edge would point
 * at nothing, and the task behind it would be blocked for good. */
static int
waited_on(int root, const struct wf_kind *k, const cJSON *rec, char *err,
    size_t errlen)
{
	const char *tid = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(rec, "task_id"));
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(rec, "project_id");
	cJSON *all;
	const cJSON *t, *d;
	int rc = 0;

	if (k != &wf_kind_task || tid == NULL || !cJSON_IsNumber(pid))
		return 0;
	all = wf_store_list(root, k, (int64_t)pid->valuedouble);
	cJSON_ArrayForEach(t, all)
	{
		cJSON_ArrayForEach(d, cJSON_GetObjectItem(t, "blocked_by"))
		{
			const char *w = cJSON_GetStringValue(
			    cJSON_GetObjectItem(t, "task_id"));

			if (rc == 0 && cJSON_IsString(d) &&
			    strcmp(d->valuestring, tid) == 0)
				rc = refuse(EBUSY, err, errlen,
				    "task %.64s: %.64s waits on it; drop that "
				    "edge first",
				    tid, w != NULL ? w : "a task");
		}
	}
	cJSON_Delete(all);
	return rc;
}

int
wf_entity_delete(
    int root, const struct wf_kind *k, int64_t id, char *err, size_t errlen)
{
	cJSON *rec = NULL;
	int rc = -1;

	if (wf_store_get(root, k, id, &rec, err, errlen) == -1 ||
	    referenced(root, k, id, err, errlen) == -1 ||
	    waited_on(root, k, rec, err, errlen) == -1 ||
	    wf_store_delete(root, k, id, err, errlen) == -1)
		goto fail;
	audit(root, k, "deleted", id, rec);
	rc = 0;
fail:
	cJSON_Delete(rec);
	return rc;
}

int
wf_entity_status(int root, const struct wf_kind *k, int64_t id, const char *to,
    char *err, size_t errlen)
{
	const cJSON *from;
	cJSON *rec = NULL, *patch = NULL, *d = NULL;
	int rc = -1;

	if (wf_store_get(root, k, id, &rec, err, errlen) == -1)
		return -1;
	from = cJSON_GetObjectItemCaseSensitive(rec, "status");
	if (!cJSON_IsString(from) || strcmp(from->valuestring, to) != 0) {
		patch = cJSON_CreateObject();
		cJSON_AddStringToObject(patch, "status", to);
		if (wf_store_update(root, k, id, patch, 0, err, errlen) == -1)
			goto fail;
		d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "from",
		    from != NULL ? cJSON_Duplicate(from, 1)
				 : cJSON_CreateNull());
		cJSON_AddStringToObject(d, "to", to);
		audit(root, k, "status_changed", id, d);
	}
	rc = 0;
fail:
	cJSON_Delete(rec);
	cJSON_Delete(patch);
	cJSON_Delete(d);
	return rc;
}

/* Would a field of this name hold a secret?  A context goes into an
 * agent's prompt: such fields stay out of it. */
static int
is_secret(const char *name)
{
	static const char *const words[] = {
		"password",
		"passwd",
		"secret",
		"token",
		"key",
		"credential",
		NULL,
	};

	if (strcmp(name, "key_files") == 0)
		return 0;
	for (int i = 0; words[i] != NULL; i++)
		if (strcasestr(name, words[i]) != NULL)
			return 1;
	return 0;
}

static void
drop_secrets(cJSON *arr)
{
	cJSON *e, *it, *next;

	cJSON_ArrayForEach(e, arr)
	{
		for (it = e->child; it != NULL; it = next) {
			next = it->next;
			if (it->string != NULL && is_secret(it->string))
				cJSON_Delete(cJSON_DetachItemViaPointer(e, it));
		}
	}
}

/* A project's bugs neither resolved nor closed. */
static cJSON *
open_bugs(int root, int64_t id)
{
	cJSON *bugs = wf_store_list(root, &wf_kind_bug, id), *it, *next;

	for (it = bugs != NULL ? bugs->child : NULL; it != NULL; it = next) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "status");

		next = it->next;
		if (cJSON_IsString(s) &&
		    (strcmp(s->valuestring, "resolved") == 0 ||
			strcmp(s->valuestring, "closed") == 0))
			cJSON_Delete(cJSON_DetachItemViaPointer(bugs, it));
	}
	return bugs;
}

/* The run of the project with the highest id, or null. */
static cJSON *
latest_run(int root, int64_t id)
{
	cJSON *runs = wf_store_list(root, &wf_kind_run, id), *last;
	int n = cJSON_GetArraySize(runs);

	last =
	    n > 0 ? cJSON_DetachItemFromArray(runs, n - 1) : cJSON_CreateNull();
	cJSON_Delete(runs);
	return last;
}

cJSON *
wf_entity_context(int root, int64_t id, char *err, size_t errlen)
{
	cJSON *ctx, *project, *envs;

	if (wf_store_get(root, &wf_kind_project, id, &project, err, errlen) ==
	    -1)
		return NULL;
	if ((ctx = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(project);
		refuse(ENOMEM, err, errlen, "out of memory");
		return NULL;
	}
	cJSON_AddItemToObject(ctx, "project", project);
	cJSON_AddItemToObject(
	    ctx, "tasks", wf_store_list(root, &wf_kind_task, id));
	envs = wf_store_list(root, &wf_kind_environment, id);
	drop_secrets(envs);
	cJSON_AddItemToObject(ctx, "environments", envs);
	cJSON_AddItemToObject(ctx, "latest_run", latest_run(root, id));
	cJSON_AddItemToObject(ctx, "bugs", open_bugs(root, id));
	return ctx;
}

void
wf_entity_keep_status(cJSON *arr, const char *status)
{
	cJSON *it, *next;

	for (it = arr != NULL ? arr->child : NULL; it != NULL; it = next) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "status");

		next = it->next;
		if (!cJSON_IsString(s) || strcmp(s->valuestring, status) != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, it));
	}
}

void
wf_entity_task_derive(int root, cJSON *arr)
{
	cJSON *tasks = wf_store_list(root, &wf_kind_task, 0);
	cJSON *runs = wf_store_list(root, &wf_kind_run, 0);

	wf_taskdep_annotate(arr, tasks, runs);
	cJSON_Delete(tasks);
	cJSON_Delete(runs);
}

void
wf_entity_keep_ready(cJSON *arr)
{
	cJSON *it, *next;

	for (it = arr != NULL ? arr->child : NULL; it != NULL; it = next) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "status");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(it, "readiness"), "state");

		next = it->next;
		if (!cJSON_IsString(s) || strcmp(s->valuestring, "backlog") != 0 ||
		    !cJSON_IsString(r) || strcmp(r->valuestring, "ready") != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, it));
	}
}
