/*
 * store: entities as flat JSON files under state/, checked against a
 * schema per kind.  A write replaces the file whole by rename; a
 * read-modify-write holds the flock of the kind's companion .lock file,
 * which is never replaced, so that the lock guards what it means to.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "json.h"
#include "spool.h"
#include "store.h"
#include "taskdep.h"

#define ENTITY_MAX (1 << 20)

const char *const wf_store_task_status[WF_TASK_NSTATUS + 1] = {
	"backlog", "in_progress", "blocked", "done", "failed", "cancelled",
	NULL,
};
const char *const wf_store_bug_status[WF_BUG_NSTATUS + 1] = {
	"open", "in_progress", "resolved", "closed", NULL,
};
static const char *const env_types[] = {
	"local", "development", "staging", "production", "testing", "ci_cd",
	"other", NULL,
};
static const char *const cred_types[] = {
	"api_key", "token", "basic_auth", "ssh_key", "database", "oauth",
	"certificate", "other", NULL,
};
const char *const wf_store_run_states[] = {
	"PM", "DEV", "QA", "SEC", "READY_FOR_COMMIT", "MERGED",
	"READY_FOR_DEPLOY", "TESTING", "DEPLOYED", "QA_FAILED", "SEC_FAILED",
	"DEPLOY_FAILED", "ABANDONED", NULL,
};

#define COMMON \
	{ "id", WF_F_INT, WF_FF_READONLY, NULL, NULL, NULL, "its id" }, \
	{ "created_at", WF_F_TIME, WF_FF_READONLY, NULL, NULL, NULL, NULL }, \
	{ "updated_at", WF_F_TIME, WF_FF_READONLY, NULL, NULL, NULL, NULL }

static const struct wf_field project_fields[] = {
	COMMON,
	{ "name", WF_F_STR, WF_FF_REQUIRED | WF_FF_UNIQUE, NULL, NULL, NULL,
	    "a unique name" },
	{ "description", WF_F_TEXT, 0, NULL, NULL, NULL,
	    "what the project is" },
	{ "repo_path", WF_F_STR, 0, NULL, NULL, NULL,
	    "the repository on this machine" },
	{ "repository_url", WF_F_STR, 0, NULL, NULL, NULL,
	    "where the repository is hosted" },
	{ "primary_branch", WF_F_STR, 0, NULL, NULL, "\"main\"",
	    "the branch work is merged into" },
	{ "languages", WF_F_STRLIST, 0, NULL, NULL, NULL,
	    "the languages of its code" },
	{ "frameworks", WF_F_STRLIST, 0, NULL, NULL, NULL,
	    "the frameworks it uses" },
	{ "key_files", WF_F_STRLIST, 0, NULL, NULL, NULL,
	    "the files an agent reads first" },
	{ "build_command", WF_F_STR, 0, NULL, NULL, NULL,
	    "how to build it, run in repo_path" },
	{ "test_command", WF_F_STR, 0, NULL, NULL, NULL,
	    "run by the QA gate; its result decides" },
	{ "run_command", WF_F_STR, 0, NULL, NULL, NULL, "how to run it" },
	{ "deploy_command", WF_F_STR, 0, NULL, NULL, NULL, "how to deploy it" },
	{ "lint_command", WF_F_STR, 0, NULL, NULL, NULL, "how to lint it" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct wf_field task_fields[] = {
	COMMON,
	{ "project_id", WF_F_REF, WF_FF_REQUIRED, NULL, "project", NULL,
	    "the project it belongs to" },
	{ "task_id", WF_F_STR, WF_FF_REQUIRED | WF_FF_UNIQUE, NULL, NULL, NULL,
	    "a short name such as T1, unique in its project" },
	{ "title", WF_F_STR, WF_FF_REQUIRED, NULL, NULL, NULL,
	    "one line: what to do" },
	{ "description", WF_F_TEXT, 0, NULL, NULL, NULL, "the details" },
	{ "status", WF_F_ENUM, 0, wf_store_task_status, NULL, "\"backlog\"",
	    "where it stands" },
	{ "priority", WF_F_INT, 0, NULL, NULL, "3",
	    "1 (critical) to 5 (lowest)" },
	{ "acceptance_criteria", WF_F_STRLIST, 0, NULL, NULL, NULL,
	    "what must hold for it to be done" },
	{ "blocked_by", WF_F_STRLIST, 0, NULL, NULL, NULL,
	    "task_ids of its project that must be done first" },
	{ "pipeline_stage", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL,
	    "the stage of the pipeline it is in, from its run (when read)" },
	{ "run_id", WF_F_REF, 0, NULL, "run", NULL, "the run working on it" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct wf_field run_fields[] = {
	COMMON,
	{ "project_id", WF_F_REF, WF_FF_REQUIRED, NULL, "project", NULL, NULL },
	{ "name", WF_F_STR, 0, NULL, NULL, NULL, NULL },
	{ "task_id", WF_F_REF, 0, NULL, "task", NULL, "the task it works on" },
	{ "request", WF_F_TEXT, 0, NULL, NULL, NULL,
	    "a user's free-text request, for PM" },
	{ "state", WF_F_ENUM, WF_FF_READONLY, wf_store_run_states, NULL, "\"PM\"", NULL },
	{ "iteration", WF_F_INT, WF_FF_READONLY, NULL, NULL, "1", NULL },
	{ "max_iter", WF_F_INT, 0, NULL, NULL, NULL,
	    "retries before a human is needed" },
	{ "token_budget", WF_F_INT, 0, NULL, NULL, NULL, NULL },
	{ "tokens_in", WF_F_INT, WF_FF_READONLY, NULL, NULL, "0", NULL },
	{ "tokens_out", WF_F_INT, WF_FF_READONLY, NULL, NULL, "0", NULL },
	{ "results", WF_F_JSON, WF_FF_READONLY, NULL, NULL, "{}",
	    "the last report of each role" },
	{ "gate", WF_F_JSON, WF_FF_READONLY, NULL, NULL, NULL,
	    "what the gate saw when it disagreed" },
	{ "waiting_for_human", WF_F_BOOL, WF_FF_READONLY, NULL, NULL, "false",
	    NULL },
	{ "waiting_reason", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL, NULL },
	{ "approved_by", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL, NULL },
	{ "approved_at", WF_F_TIME, WF_FF_READONLY, NULL, NULL, NULL, NULL },
	{ "history", WF_F_JSON, WF_FF_READONLY, NULL, NULL, "[]", NULL },
	{ "reports", WF_F_JSON, WF_FF_READONLY, NULL, NULL, "[]",
	    "ids of the reports applied, so none applies twice" },
	{ "deploy_environment_id", WF_F_INT, WF_FF_READONLY, NULL, NULL, NULL,
	    "the environment of the approved deploy" },
	{ "deploy_note", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL, NULL },
	{ "phase", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL,
	    "inside a state: \"tdd\" while QA writes the failing tests" },
	{ "stage_base", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL,
	    "the commit the current role started from" },
	{ "tdd_tests", WF_F_JSON, WF_FF_READONLY, NULL, NULL, NULL,
	    "the failing tests QA wrote before DEV started" },
	{ "effects", WF_F_JSON, WF_FF_READONLY, NULL, NULL, NULL,
	    "what follows its last change (jobs, events, audit lines), "
	    "until done" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct wf_field bug_fields[] = {
	COMMON,
	{ "title", WF_F_STR, WF_FF_REQUIRED, NULL, NULL, NULL,
	    "one line: what is wrong" },
	{ "description", WF_F_TEXT, 0, NULL, NULL, NULL,
	    "what happened, and how to make it happen again" },
	{ "url", WF_F_STR, 0, NULL, NULL, NULL, "the page where it happened" },
	{ "app_name", WF_F_STR, 0, NULL, NULL, NULL,
	    "the application that reported it" },
	{ "status", WF_F_ENUM, 0, wf_store_bug_status, NULL, "\"open\"",
	    "where it stands" },
	{ "project_id", WF_F_REF, 0, NULL, "project", NULL,
	    "the project it belongs to" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct wf_field env_fields[] = {
	COMMON,
	{ "project_id", WF_F_REF, WF_FF_REQUIRED, NULL, "project", NULL,
	    "the project it belongs to" },
	{ "name", WF_F_STR, WF_FF_REQUIRED | WF_FF_UNIQUE, NULL, NULL, NULL,
	    "a name unique in its project, such as prod" },
	{ "env_type", WF_F_ENUM, 0, env_types, NULL, "\"development\"",
	    "what the environment is for" },
	{ "url", WF_F_STR, 0, NULL, NULL, NULL, "where it answers" },
	{ "ssh_host", WF_F_STR, 0, NULL, NULL, NULL, "the host deployed to" },
	{ "ssh_user", WF_F_STR, 0, NULL, NULL, NULL, "the user logged in as" },
	{ "ssh_port", WF_F_INT, 0, NULL, NULL, NULL, "the SSH port" },
	{ "deploy_command", WF_F_STR, 0, NULL, NULL, NULL,
	    "how to deploy to it" },
	{ "health_check_url", WF_F_STR, 0, NULL, NULL, NULL,
	    "answers 2xx when it is healthy" },
	{ "health_check_command", WF_F_STR, 0, NULL, NULL, NULL,
	    "exits 0 when it is healthy" },
	{ "test_command", WF_F_STR, 0, NULL, NULL, NULL,
	    "the tests run against it after a deploy" },
	{ "rollback_command", WF_F_STR, 0, NULL, NULL, NULL,
	    "how to undo a deploy" },
	{ "health_check_timeout", WF_F_INT, 0, NULL, NULL, NULL,
	    "seconds the health URL has to answer 2xx (default 60)" },
	{ "sandbox", WF_F_BOOL, 0, NULL, NULL, "false",
	    "its steps run in the sandbox (the project's directory written, "
	    "the network kept)" },
	{ "last_deploy_at", WF_F_TIME, WF_FF_READONLY, NULL, NULL, NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct wf_field webhook_fields[] = {
	COMMON,
	{ "name", WF_F_STR, WF_FF_REQUIRED | WF_FF_UNIQUE, NULL, NULL, NULL,
	    "a unique name" },
	{ "url", WF_F_STR, WF_FF_REQUIRED, NULL, NULL, NULL,
	    "the http:// or https:// address events are POSTed to" },
	{ "events", WF_F_STRLIST, 0, NULL, NULL, "[\"*\"]",
	    "globs of the event names it gets (run.*, bug.created)" },
	{ "active", WF_F_BOOL, 0, NULL, NULL, "true",
	    "false: it gets nothing" },
	{ "secret", WF_F_JSON, WF_FF_READONLY, NULL, NULL, NULL,
	    "the signing secret, sealed by the vault" },
	{ "timeout", WF_F_INT, 0, NULL, NULL, NULL,
	    "seconds an attempt may take ([notify] timeout)" },
	{ "max_attempts", WF_F_INT, 0, NULL, NULL, NULL,
	    "attempts before a delivery is dead ([notify] max_attempts)" },
	{ "project_id", WF_F_REF, 0, NULL, "project", NULL,
	    "the project it belongs to" },
	{ "description", WF_F_TEXT, 0, NULL, NULL, NULL, "what it is for" },
	{ "last_status", WF_F_INT, WF_FF_READONLY, NULL, NULL, NULL,
	    "the HTTP status of its last attempt (0: none came)" },
	{ "last_delivery_at", WF_F_TIME, WF_FF_READONLY, NULL, NULL, NULL,
	    NULL },
	{ "disabled_reason", WF_F_STR, WF_FF_READONLY, NULL, NULL, NULL,
	    "why wf turned it off (a 410)" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

/* The secret itself is a sealed value (lib/vault), set only by wf cred:
 * read-only, so that no caller can type one in. */
static const struct wf_field cred_fields[] = {
	COMMON,
	{ "project_id", WF_F_REF, WF_FF_REQUIRED, NULL, "project", NULL,
	    "the project it belongs to" },
	{ "name", WF_F_STR, WF_FF_REQUIRED | WF_FF_UNIQUE, NULL, NULL, NULL,
	    "a name unique in its project, such as github" },
	{ "credential_type", WF_F_ENUM, WF_FF_REQUIRED, cred_types, NULL, NULL,
	    "what kind of secret it is" },
	{ "service", WF_F_STR, 0, NULL, NULL, NULL,
	    "the service it opens, such as github.com" },
	{ "description", WF_F_TEXT, 0, NULL, NULL, NULL, "what it is for" },
	{ "username", WF_F_STR, 0, NULL, NULL, NULL,
	    "the user it logs in as (not secret)" },
	{ "secret_fields", WF_F_STRLIST, WF_FF_READONLY, NULL, NULL, NULL,
	    "the fields of a secret that is a JSON object" },
	{ "secret", WF_F_JSON, WF_FF_READONLY, NULL, NULL, NULL,
	    "the secret, sealed" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL },
};

const struct wf_kind wf_kind_project = { "project", "state/projects",
	project_fields };
const struct wf_kind wf_kind_task = { "task", "state/tasks", task_fields };
const struct wf_kind wf_kind_run = { "run", "state/runs", run_fields };
const struct wf_kind wf_kind_bug = { "bug", "state/bugs", bug_fields };
const struct wf_kind wf_kind_environment = { "environment",
	"state/environments", env_fields };
const struct wf_kind wf_kind_webhook = { "webhook", "state/webhooks",
	webhook_fields };
const struct wf_kind wf_kind_credential = { "credential",
	"state/credentials", cred_fields };

static const struct wf_kind *const kinds[] = {
	&wf_kind_project, &wf_kind_task, &wf_kind_run, &wf_kind_bug,
	&wf_kind_environment, &wf_kind_webhook, &wf_kind_credential, NULL,
};

const struct wf_kind *
wf_store_kind(const char *name)
{
	for (int i = 0; kinds[i] != NULL; i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

const struct wf_field *
wf_store_field(const struct wf_kind *k, const char *name)
{
	for (const struct wf_field *f = k->fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static int
is_int(const cJSON *v, double lo, double hi)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	    v->valuedouble == floor(v->valuedouble) && v->valuedouble >= lo &&
	    v->valuedouble <= hi;
}

static int
check_value(const struct wf_kind *k, const struct wf_field *f,
    const cJSON *v, char *err, size_t errlen)
{
	const cJSON *it;
	int64_t ms;

	if (cJSON_IsNull(v)) {
		if (f->flags & WF_FF_REQUIRED)
			return wf_err_invalid(err, errlen, "%s: %s is required",
			    k->name, f->name);
		return 0;
	}
	switch (f->type) {
	case WF_F_STR:
	case WF_F_TEXT:
		if (!cJSON_IsString(v))
			return wf_err_invalid(err, errlen, "%s: %s must be a string",
			    k->name, f->name);
		if (strlen(v->valuestring) > (f->type == WF_F_STR ? 4096 :
		    65536))
			return wf_err_invalid(err, errlen, "%s: %s is too long",
			    k->name, f->name);
		/* Stored as it came or not at all: every reader of the
		 * file expects UTF-8 JSON. */
		if (!wf_json_utf8_ok(v->valuestring, strlen(v->valuestring)))
			return wf_err_invalid(err, errlen,
			    "%s: %s is not UTF-8",
			    k->name, f->name);
		if ((f->flags & WF_FF_REQUIRED) && v->valuestring[0] == '\0')
			return wf_err_invalid(err, errlen, "%s: %s must not be empty",
			    k->name, f->name);
		return 0;
	case WF_F_INT:
		if (!is_int(v, -9e15, 9e15))
			return wf_err_invalid(err, errlen, "%s: %s must be an integer",
			    k->name, f->name);
		return 0;
	case WF_F_REF:
		if (!is_int(v, 1, 9e15))
			return wf_err_invalid(err, errlen, "%s: %s must be a %s id",
			    k->name, f->name, f->ref);
		return 0;
	case WF_F_BOOL:
		if (!cJSON_IsBool(v))
			return wf_err_invalid(err, errlen,
			    "%s: %s must be true or false", k->name, f->name);
		return 0;
	case WF_F_STRLIST:
		if (!cJSON_IsArray(v))
			return wf_err_invalid(err, errlen,
			    "%s: %s must be an array of strings", k->name,
			    f->name);
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsString(it))
				return wf_err_invalid(err, errlen,
				    "%s: %s must be an array of strings",
				    k->name, f->name);
			if (!wf_json_utf8_ok(it->valuestring,
			    strlen(it->valuestring)))
				return wf_err_invalid(err, errlen,
				    "%s: %s is not UTF-8", k->name, f->name);
		}
		return 0;
	case WF_F_ENUM:
		if (cJSON_IsString(v))
			for (int i = 0; f->enums[i] != NULL; i++)
				if (strcmp(v->valuestring, f->enums[i]) == 0)
					return 0;
		{
			char list[512] = "";

			for (int i = 0; f->enums[i] != NULL; i++) {
				if (i > 0)
					strlcat(list, "|", sizeof(list));
				strlcat(list, f->enums[i], sizeof(list));
			}
			return wf_err_invalid(err, errlen, "%s: %s must be one of %s",
			    k->name, f->name, list);
		}
	case WF_F_TIME:
		if (!cJSON_IsString(v) ||
		    wf_clock_parse_iso(v->valuestring, &ms) == -1)
			return wf_err_invalid(err, errlen, "%s: %s must be an ISO "
			    "8601 UTC time", k->name, f->name);
		return 0;
	case WF_F_JSON:
		return 0;
	}
	abort();
}

int
wf_store_check(const struct wf_kind *k, cJSON *obj, int creating,
    int trusted, char *err, size_t errlen)
{
	const struct wf_field *f;
	cJSON *it;

	if (!cJSON_IsObject(obj))
		return wf_err_invalid(err, errlen, "%s: not a JSON object", k->name);
	cJSON_ArrayForEach(it, obj) {
		if ((f = wf_store_field(k, it->string)) == NULL)
			return wf_err_invalid(err, errlen, "%s: unknown field '%.64s'",
			    k->name, it->string);
		if ((f->flags & WF_FF_READONLY) && !trusted)
			return wf_err_invalid(err, errlen, "%s: %s is set by wf, "
			    "not by hand", k->name, f->name);
		if (check_value(k, f, it, err, errlen) == -1)
			return -1;
	}
	if (!creating)
		return 0;
	for (f = k->fields; f->name != NULL; f++) {
		if (cJSON_GetObjectItemCaseSensitive(obj, f->name) != NULL)
			continue;
		if (f->flags & WF_FF_REQUIRED)
			return wf_err_invalid(err, errlen, "%s: %s is required",
			    k->name, f->name);
		if (f->dflt != NULL)
			cJSON_AddItemToObject(obj, f->name, cJSON_Parse(f->dflt));
	}
	return 0;
}

int
wf_store_lock(int root, const struct wf_kind *k)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", k->dir);
	fd = openat(root, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	return fd;
}

void
wf_store_unlock(int fd)
{
	if (fd != -1)
		close(fd); /* drops the flock */
}

static int
entity_path(const struct wf_kind *k, int64_t id, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%lld.json", k->dir, (long long)id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
wf_store_get_locked(int root, const struct wf_kind *k, int64_t id,
    cJSON **out, char *err, size_t errlen)
{
	char path[128], *buf;
	size_t len;

	*out = NULL;
	if (id < 1 || entity_path(k, id, path, sizeof(path)) == -1) {
		errno = ENOENT;
		return wf_err(err, errlen, "%s %lld: no such %s", k->name,
		    (long long)id, k->name);
	}
	if (wf_spool_read(root, path, ENTITY_MAX, &buf, &len) == -1) {
		int e = errno;

		if (e == ENOENT)
			wf_err(err, errlen, "%s %lld: no such %s", k->name,
			    (long long)id, k->name);
		else
			wf_err(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	*out = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		errno = EINVAL;
		return wf_err(err, errlen, "%s: not a JSON object", path);
	}
	return 0;
}

int
wf_store_get(int root, const struct wf_kind *k, int64_t id, cJSON **out,
    char *err, size_t errlen)
{
	/* Whole files replaced by rename: a read needs no lock. */
	return wf_store_get_locked(root, k, id, out, err, errlen);
}

/* Write path whole: tmp/<unique> then rename, durable. */
static int
replace(int root, const char *path, const char *text)
{
	char name[WF_NAME_MAX + 1], tpath[WF_NAME_MAX + 8];
	const char *slash = strrchr(path, '/');
	char dir[128];
	int rc;

	if (wf_spool_name(name, sizeof(name)) == -1 || slash == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	rc = wf_spool_write(root, "tmp", "tmp", name, text, strlen(text),
	    WF_SYNC_FILE);
	if (rc == -1)
		return -1;
	snprintf(tpath, sizeof(tpath), "tmp/%s", name);
	if (renameat(root, tpath, root, path) == -1) {
		int e = errno;

		unlinkat(root, tpath, 0);
		errno = e;
		return -1;
	}
	return wf_spool_sync_dir(root, dir);
}

int
wf_store_put_locked(int root, const struct wf_kind *k, int64_t id,
    cJSON *obj, char *err, size_t errlen)
{
	char path[128], iso[WF_ISO_LEN], *s;
	int rc;

	if (entity_path(k, id, path, sizeof(path)) == -1)
		return wf_err(err, errlen, "%s: bad id", k->name);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "updated_at");
	cJSON_AddStringToObject(obj, "updated_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if ((s = cJSON_PrintUnformatted(obj)) == NULL) {
		errno = ENOMEM;
		return wf_err(err, errlen, "out of memory");
	}
	rc = replace(root, path, s);
	free(s);
	if (rc == -1)
		return wf_err(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

static int64_t
next_id(int root, const struct wf_kind *k)
{
	char path[128], *buf = NULL, num[32];
	const char *errstr;
	size_t len;
	int64_t id = 0;

	snprintf(path, sizeof(path), "%s/.next", k->dir);
	if (wf_spool_read(root, path, 64, &buf, &len) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		id = strtonum(buf, 1, INT64_C(1) << 50, &errstr);
		if (errstr != NULL)
			id = 0;
		free(buf);
	}
	if (id == 0) {
		/* No counter yet (or a broken one): one past the largest
		 * id there is. */
		cJSON *all = wf_store_list(root, k, 0), *it;

		id = 1;
		cJSON_ArrayForEach(it, all) {
			const cJSON *v = cJSON_GetObjectItem(it, "id");

			if (cJSON_IsNumber(v) && v->valuedouble >= (double)id)
				id = (int64_t)v->valuedouble + 1;
		}
		cJSON_Delete(all);
	}
	snprintf(num, sizeof(num), "%lld\n", (long long)id + 1);
	if (replace(root, path, num) == -1)
		return -1;
	return id;
}

/* Is a unique field's value taken by another entity (of the same
 * project, when the kind has projects)? */
static int
taken(int root, const struct wf_kind *k, const cJSON *obj, int64_t self,
    char *err, size_t errlen)
{
	const cJSON *pid = cJSON_GetObjectItem(obj, "project_id");
	cJSON *all, *it;
	int rc = 0;

	all = wf_store_list(root, k, k == &wf_kind_project ? 0 :
	    cJSON_IsNumber(pid) ? (int64_t)pid->valuedouble : 0);
	for (const struct wf_field *f = k->fields; f->name != NULL && rc == 0;
	    f++) {
		const cJSON *v = cJSON_GetObjectItem(obj, f->name);

		if (!(f->flags & WF_FF_UNIQUE) || !cJSON_IsString(v))
			continue;
		cJSON_ArrayForEach(it, all) {
			const cJSON *o = cJSON_GetObjectItem(it, f->name);
			const cJSON *oid = cJSON_GetObjectItem(it, "id");

			if (cJSON_IsString(o) &&
			    strcmp(o->valuestring, v->valuestring) == 0 &&
			    cJSON_IsNumber(oid) && oid->valuedouble != self) {
				rc = wf_err_invalid(err, errlen, "%s: %s '%.64s' is "
				    "taken by %s %d", k->name, f->name,
				    v->valuestring, k->name,
				    (int)oid->valuedouble);
				break;
			}
		}
	}
	cJSON_Delete(all);
	return rc;
}

/* A task's edges (blocked_by) checked against every task, under the
 * kind's lock so that two writers cannot make a cycle between them. */
static int
deps_hold(int root, const struct wf_kind *k, const cJSON *obj, char *err,
    size_t errlen)
{
	cJSON *all;
	int rc;

	if (k != &wf_kind_task)
		return 0;
	if ((all = wf_store_list(root, k, 0)) == NULL)
		return wf_err(err, errlen, "%s: out of memory", k->dir);
	rc = wf_taskdep_check(all, obj, err, errlen);
	cJSON_Delete(all);
	return rc;
}

static int
refs_exist(int root, const struct wf_kind *k, const cJSON *obj, char *err,
    size_t errlen)
{
	for (const struct wf_field *f = k->fields; f->name != NULL; f++) {
		const cJSON *v = cJSON_GetObjectItem(obj, f->name);
		const struct wf_kind *rk;
		cJSON *o;
		char e2[256];

		if (f->type != WF_F_REF || !cJSON_IsNumber(v))
			continue;
		if ((rk = wf_store_kind(f->ref)) == NULL)
			abort();
		if (wf_store_get(root, rk, (int64_t)v->valuedouble, &o, e2,
		    sizeof(e2)) == -1) {
			/* A reference to nothing is bad data; a failed read
			 * keeps its errno. */
			if (errno == ENOENT || errno == EINVAL)
				return wf_err_invalid(err, errlen, "%s: %s: %s",
				    k->name, f->name, e2);
			return wf_err(err, errlen, "%s: %s: %s", k->name,
			    f->name, e2);
		}
		cJSON_Delete(o);
	}
	return 0;
}

int
wf_store_create(int root, const struct wf_kind *k, cJSON *fields,
    int trusted, int64_t *idp, char *err, size_t errlen)
{
	char iso[WF_ISO_LEN];
	int64_t id;
	int lk = -1, rc = -1;

	cJSON_DeleteItemFromObjectCaseSensitive(fields, "id");
	if (wf_store_check(k, fields, 1, trusted, err, errlen) == -1)
		goto out;
	if (refs_exist(root, k, fields, err, errlen) == -1)
		goto out;
	if ((lk = wf_store_lock(root, k)) == -1) {
		wf_err(err, errlen, "%s: lock: %s", k->dir, strerror(errno));
		goto out;
	}
	if (taken(root, k, fields, 0, err, errlen) == -1 ||
	    deps_hold(root, k, fields, err, errlen) == -1)
		goto out;
	if ((id = next_id(root, k)) == -1) {
		wf_err(err, errlen, "%s: id counter: %s", k->dir, strerror(errno));
		goto out;
	}
	cJSON_AddNumberToObject(fields, "id", (double)id);
	cJSON_DeleteItemFromObjectCaseSensitive(fields, "created_at");
	cJSON_AddStringToObject(fields, "created_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if (wf_store_put_locked(root, k, id, fields, err, errlen) == -1)
		goto out;
	*idp = id;
	rc = 0;
out:
	wf_store_unlock(lk);
	cJSON_Delete(fields);
	return rc;
}

int
wf_store_update(int root, const struct wf_kind *k, int64_t id,
    const cJSON *patch, int trusted, char *err, size_t errlen)
{
	cJSON *obj = NULL, *p = NULL, *it;
	int lk = -1, rc = -1;

	if ((p = cJSON_Duplicate(patch, 1)) == NULL) {
		wf_err(err, errlen, "out of memory");
		goto out;
	}
	if (wf_store_check(k, p, 0, trusted, err, errlen) == -1)
		goto out;
	if (refs_exist(root, k, p, err, errlen) == -1)
		goto out;
	if ((lk = wf_store_lock(root, k)) == -1) {
		wf_err(err, errlen, "%s: lock: %s", k->dir, strerror(errno));
		goto out;
	}
	if (wf_store_get_locked(root, k, id, &obj, err, errlen) == -1)
		goto out;
	cJSON_ArrayForEach(it, p) {
		cJSON *v = cJSON_Duplicate(it, 1);

		if (cJSON_GetObjectItemCaseSensitive(obj, it->string) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(obj, it->string,
			    v);
		else
			cJSON_AddItemToObject(obj, it->string, v);
	}
	if (taken(root, k, obj, id, err, errlen) == -1)
		goto out;
	/* Only a write of the edges or of a name is checked: a status
	 * change must not fail for an edge to a task deleted since. */
	if ((cJSON_GetObjectItem(p, "blocked_by") != NULL ||
	    cJSON_GetObjectItem(p, "task_id") != NULL) &&
	    deps_hold(root, k, obj, err, errlen) == -1)
		goto out;
	rc = wf_store_put_locked(root, k, id, obj, err, errlen);
out:
	wf_store_unlock(lk);
	cJSON_Delete(obj);
	cJSON_Delete(p);
	return rc;
}

int
wf_store_delete(int root, const struct wf_kind *k, int64_t id, char *err,
    size_t errlen)
{
	char path[128];
	int lk, rc = 0;

	if (entity_path(k, id, path, sizeof(path)) == -1)
		return wf_err(err, errlen, "%s: bad id", k->name);
	if ((lk = wf_store_lock(root, k)) == -1)
		return wf_err(err, errlen, "%s: lock: %s", k->dir, strerror(errno));
	if (unlinkat(root, path, 0) == -1)
		rc = wf_err(err, errlen, "%s %lld: %s", k->name, (long long)id,
		    errno == ENOENT ? "no such entity" : strerror(errno));
	else
		wf_spool_sync_dir(root, k->dir);
	wf_store_unlock(lk);
	return rc;
}

static int
by_id(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	double i = cJSON_GetObjectItem(x, "id")->valuedouble;
	double j = cJSON_GetObjectItem(y, "id")->valuedouble;

	return i < j ? -1 : i > j;
}

cJSON *
wf_store_list(int root, const struct wf_kind *k, int64_t project_id)
{
	cJSON *arr = cJSON_CreateArray(), **v = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	fd = openat(root, k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return arr;
	}
	while ((de = readdir(d)) != NULL) {
		const char *errstr;
		char num[32];
		size_t len = strlen(de->d_name);
		long long id;
		cJSON *o;
		const cJSON *idv, *pid;
		char e2[256];

		if (len < 6 || len > 25 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		snprintf(num, sizeof(num), "%.*s", (int)(len - 5), de->d_name);
		id = strtonum(num, 1, INT64_C(1) << 50, &errstr);
		if (errstr != NULL ||
		    wf_store_get(root, k, id, &o, e2, sizeof(e2)) == -1)
			continue;
		idv = cJSON_GetObjectItem(o, "id");
		pid = cJSON_GetObjectItem(o, "project_id");
		if (!cJSON_IsNumber(idv) || (project_id > 0 &&
		    (!cJSON_IsNumber(pid) ||
		    (int64_t)pid->valuedouble != project_id))) {
			cJSON_Delete(o);
			continue;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = reallocarray(v, nc, sizeof(*v));

			if (p == NULL) {
				cJSON_Delete(o);
				break;
			}
			v = p;
			cap = nc;
		}
		v[n++] = o;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), by_id);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, v[i]);
	free(v);
	return arr;
}

cJSON *
wf_store_changes(const cJSON *patch, const cJSON *before, const cJSON *after)
{
	cJSON *d = cJSON_CreateObject(), *c;
	const cJSON *it, *b, *a;

	cJSON_ArrayForEach(it, patch) {
		b = cJSON_GetObjectItemCaseSensitive(before, it->string);
		a = cJSON_GetObjectItemCaseSensitive(after, it->string);
		if (a != NULL && b != NULL && cJSON_Compare(a, b, 1))
			continue;
		if ((c = cJSON_AddObjectToObject(d, it->string)) == NULL)
			continue;
		cJSON_AddItemToObject(c, "from", b != NULL ?
		    cJSON_Duplicate(b, 1) : cJSON_CreateNull());
		cJSON_AddItemToObject(c, "to", a != NULL ?
		    cJSON_Duplicate(a, 1) : cJSON_CreateNull());
	}
	return d;
}
