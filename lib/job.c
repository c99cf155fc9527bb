/*
 * job: job JSON <-> struct wf_job.  Parsing takes a buffer and a length,
 * checks each field by name and type, refuses unknown fields and fills the
 * defaults, so that a job dropped by any tool with only the seed's enqueue
 * fields is complete once parsed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "job.h"
#include "json.h"
#include "sandbox.h"

static const char *const type_names[WF_JT_COUNT] = {
	"llm_complete", "llm_chat", "llm_query", "vision_analyze",
	"agent_run", "command", "deploy",
};

static const char *const status_names[WF_JS_COUNT] = {
	"pending", "running", "completed", "failed", "timeout", "cancelled",
};

static const char *const prio_names[WF_NPRIO] = {
	"critical", "high", "normal", "low",
};

void
wf_job_init(struct wf_job *j)
{
	memset(j, 0, sizeof(*j));
	j->type = WF_JT_COMMAND;
	j->priority = 3;
	j->exit_code = -1;
	j->status = WF_JS_PENDING;
}

void
wf_job_free(struct wf_job *j)
{
	cJSON_Delete(j->request_data);
	cJSON_Delete(j->result_data);
	free(j->error_message);
	j->request_data = j->result_data = NULL;
	j->error_message = NULL;
}

int
wf_job_prio_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < WF_NPRIO; i++)
		if (strcasecmp(s, prio_names[i]) == 0)
			return i + 1;
	if (s[0] >= '1' && s[0] <= '4' && s[1] == '\0')
		return s[0] - '0';
	return -1;
}

const char *
wf_job_prio_name(int prio)
{
	return prio >= 1 && prio <= WF_NPRIO ? prio_names[prio - 1] : "?";
}

int
wf_job_type_parse(const char *s)
{
	for (int i = 0; i < WF_JT_COUNT; i++)
		if (s != NULL && strcmp(s, type_names[i]) == 0)
			return i;
	return -1;
}

const char *
wf_job_type_name(enum wf_jtype t)
{
	return (unsigned)t < WF_JT_COUNT ? type_names[t] : "?";
}

const char *
wf_job_status_name(enum wf_jstatus s)
{
	return (unsigned)s < WF_JS_COUNT ? status_names[s] : "?";
}

int
wf_job_status_parse(const char *s)
{
	for (int i = 0; i < WF_JS_COUNT; i++)
		if (s != NULL && strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

bool
wf_job_status_terminal(enum wf_jstatus s)
{
	return s == WF_JS_COMPLETED || s == WF_JS_FAILED ||
	    s == WF_JS_TIMEOUT || s == WF_JS_CANCELLED;
}

const char *
wf_job_default_lane(enum wf_jtype t)
{
	switch (t) {
	case WF_JT_LLM_COMPLETE:
	case WF_JT_LLM_CHAT:
	case WF_JT_LLM_QUERY:
		return "llm";
	case WF_JT_VISION_ANALYZE:
		return "vision";
	case WF_JT_AGENT_RUN:
		return "agent";
	default:
		return "command";
	}
}

int
wf_job_default_timeout(enum wf_jtype t)
{
	switch (t) {
	case WF_JT_AGENT_RUN:
		return 600;
	case WF_JT_VISION_ANALYZE:
		return 120;
	case WF_JT_DEPLOY:
		return 1800;
	default:
		return 300;
	}
}

/* A JSON number that is an integer in [lo, hi]. */
static int
get_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static int
get_id(const cJSON *v, int64_t *out)
{
	if (cJSON_IsNull(v)) {
		*out = 0;
		return 0;
	}
	return get_int(v, 1, INT64_C(1) << 50, out);
}

static int
get_time(const cJSON *v, int64_t *out)
{
	if (cJSON_IsNull(v)) {
		*out = 0;
		return 0;
	}
	if (!cJSON_IsString(v))
		return -1;
	return wf_clock_parse_iso(v->valuestring, out);
}

static bool
lane_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= WF_LANE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool
envname_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	    *s == '_'))
		return false;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int
check_command(const cJSON *rd, char *err, size_t errlen)
{
	const cJSON *argv, *cwd, *env, *it;
	int n = 0;

	argv = cJSON_GetObjectItemCaseSensitive(rd, "argv");
	if (!cJSON_IsArray(argv) || cJSON_GetArraySize(argv) == 0)
		return wf_err(err, errlen,
		    "request_data.argv: a command job needs a non-empty array "
		    "of strings");
	cJSON_ArrayForEach(it, argv) {
		if (!cJSON_IsString(it))
			return wf_err(err, errlen,
			    "request_data.argv[%d]: not a string", n);
		if (++n > WF_ARGV_MAX)
			return wf_err(err, errlen,
			    "request_data.argv: more than %d arguments",
			    WF_ARGV_MAX);
	}
	cwd = cJSON_GetObjectItemCaseSensitive(rd, "cwd");
	if (cwd != NULL && !cJSON_IsNull(cwd) &&
	    (!cJSON_IsString(cwd) || cwd->valuestring[0] != '/'))
		return wf_err(err, errlen,
		    "request_data.cwd: not an absolute path");
	env = cJSON_GetObjectItemCaseSensitive(rd, "env");
	if (env != NULL && !cJSON_IsNull(env)) {
		if (!cJSON_IsObject(env))
			return wf_err(err, errlen,
			    "request_data.env: not an object");
		cJSON_ArrayForEach(it, env) {
			if (!envname_ok(it->string))
				return wf_err(err, errlen,
				    "request_data.env: bad variable name '%.64s'",
				    it->string);
			if (!cJSON_IsString(it))
				return wf_err(err, errlen,
				    "request_data.env.%.64s: not a string",
				    it->string);
		}
	}
	it = cJSON_GetObjectItemCaseSensitive(rd, "sandbox");
	if (it != NULL && !cJSON_IsNull(it) &&
	    wf_sandbox_job_check(it, err, errlen) == -1)
		return -1;
	cJSON_ArrayForEach(it, rd) {
		if (strcmp(it->string, "argv") != 0 &&
		    strcmp(it->string, "cwd") != 0 &&
		    strcmp(it->string, "env") != 0 &&
		    strcmp(it->string, "sandbox") != 0)
			return wf_err(err, errlen,
			    "request_data.%.64s: unknown field of a command job",
			    it->string);
	}
	return 0;
}

int
wf_job_validate(struct wf_job *j, char *err, size_t errlen)
{
	if ((unsigned)j->type >= WF_JT_COUNT)
		return wf_err(err, errlen, "job_type: unknown");
	if (j->lane[0] == '\0')
		strlcpy(j->lane, wf_job_default_lane(j->type), sizeof(j->lane));
	if (!lane_ok(j->lane))
		return wf_err(err, errlen, "lane: '%s' is not a lane name",
		    j->lane);
	if (j->priority < 1 || j->priority > WF_NPRIO)
		return wf_err(err, errlen, "priority: must be 1-4");
	if (j->timeout == 0)
		j->timeout = wf_job_default_timeout(j->type);
	if (j->timeout < 1 || j->timeout > WF_TIMEOUT_MAX)
		return wf_err(err, errlen, "timeout: must be 1-%d seconds",
		    WF_TIMEOUT_MAX);
	if (j->max_attempts < 0 || j->max_attempts > WF_ATTEMPTS_MAX)
		return wf_err(err, errlen, "max_attempts: must be 1-%d",
		    WF_ATTEMPTS_MAX);
	if (j->request_data == NULL &&
	    (j->request_data = cJSON_CreateObject()) == NULL)
		return wf_err(err, errlen, "out of memory");
	if (j->type == WF_JT_COMMAND)
		return check_command(j->request_data, err, errlen);
	return 0;
}

int
wf_job_parse(struct wf_job *j, const char *buf, size_t len, char *err,
    size_t errlen)
{
	const char *end = NULL;
	cJSON *root = NULL, *it;
	int64_t v;
	int rc = -1, have_type = 0;

	wf_job_init(j);
	if (len > WF_JOB_MAX) {
		wf_err(err, errlen, "job larger than %d bytes", WF_JOB_MAX);
		goto out;
	}
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (root == NULL) {
		wf_err(err, errlen, "malformed JSON near byte %zu",
		    (size_t)(cJSON_GetErrorPtr() != NULL ?
		    cJSON_GetErrorPtr() - buf : 0));
		goto out;
	}
	/* What cJSON read: a NUL or bytes not UTF-8 in it would be a
	 * string cut or stored as it came. */
	if (wf_json_text_ok(buf, end != NULL ? (size_t)(end - buf) : len,
	    err, errlen) == -1)
		goto out;
	for (; end != NULL && end < buf + len; end++)
		if (*end != ' ' && *end != '\n' && *end != '\t' &&
		    *end != '\r' && *end != '\0') {
			wf_err(err, errlen, "trailing data after the JSON object");
			goto out;
		}
	if (!cJSON_IsObject(root)) {
		wf_err(err, errlen, "a job must be a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		const char *k = it->string;

#define BAD(what) do { wf_err(err, errlen, "%s: %s", k, what); goto out; } while (0)
		if (strcmp(k, "id") == 0) {
			if (!cJSON_IsString(it) ||
			    !wf_spool_name_ok(it->valuestring))
				BAD("not a valid id");
			strlcpy(j->id, it->valuestring, sizeof(j->id));
		} else if (strcmp(k, "job_type") == 0) {
			int t;

			if (!cJSON_IsString(it))
				BAD("not a string");
			if ((t = wf_job_type_parse(it->valuestring)) < 0) {
				wf_err(err, errlen, "job_type: unknown type '%.32s'",
				    it->valuestring);
				goto out;
			}
			j->type = (enum wf_jtype)t;
			have_type = 1;
		} else if (strcmp(k, "lane") == 0) {
			if (!cJSON_IsString(it) ||
			    strlen(it->valuestring) >= sizeof(j->lane))
				BAD("not a lane name");
			strlcpy(j->lane, it->valuestring, sizeof(j->lane));
		} else if (strcmp(k, "priority") == 0) {
			if (cJSON_IsString(it))
				j->priority = wf_job_prio_parse(it->valuestring);
			else if (get_int(it, 1, WF_NPRIO, &v) == 0)
				j->priority = (int)v;
			else
				j->priority = -1;
			if (j->priority < 1)
				BAD("must be 1-4 or critical|high|normal|low");
		} else if (strcmp(k, "request_data") == 0) {
			if (!cJSON_IsObject(it))
				BAD("not an object");
		} else if (strcmp(k, "timeout") == 0) {
			if (get_int(it, 1, WF_TIMEOUT_MAX, &v) == -1)
				BAD("must be an integer of seconds, 1-604800");
			j->timeout = (int)v;
		} else if (strcmp(k, "max_attempts") == 0) {
			if (get_int(it, 1, WF_ATTEMPTS_MAX, &v) == -1)
				BAD("must be an integer, 1-100");
			j->max_attempts = (int)v;
		} else if (strcmp(k, "attempt") == 0) {
			if (get_int(it, 0, WF_ATTEMPTS_MAX * 2, &v) == -1)
				BAD("must be a small integer");
			j->attempt = (int)v;
		} else if (strcmp(k, "not_before") == 0) {
			if (get_time(it, &j->not_before) == -1)
				BAD("not an ISO 8601 UTC time");
		} else if (strcmp(k, "created_at") == 0) {
			if (get_time(it, &j->created_at) == -1)
				BAD("not an ISO 8601 UTC time");
		} else if (strcmp(k, "started_at") == 0) {
			if (get_time(it, &j->started_at) == -1)
				BAD("not an ISO 8601 UTC time");
		} else if (strcmp(k, "completed_at") == 0) {
			if (get_time(it, &j->completed_at) == -1)
				BAD("not an ISO 8601 UTC time");
		} else if (strcmp(k, "project_id") == 0) {
			if (get_id(it, &j->project_id) == -1)
				BAD("not a positive integer");
		} else if (strcmp(k, "task_id") == 0) {
			if (get_id(it, &j->task_id) == -1)
				BAD("not a positive integer");
		} else if (strcmp(k, "run_id") == 0) {
			if (get_id(it, &j->run_id) == -1)
				BAD("not a positive integer");
		} else if (strcmp(k, "status") == 0) {
			int s;

			if (!cJSON_IsString(it) ||
			    (s = wf_job_status_parse(it->valuestring)) < 0)
				BAD("not a job status");
			j->status = (enum wf_jstatus)s;
		} else if (strcmp(k, "exit_code") == 0) {
			if (cJSON_IsNull(it))
				j->exit_code = -1;
			else if (get_int(it, -1, 255, &v) == -1)
				BAD("must be an integer, 0-255");
			else
				j->exit_code = (int)v;
		} else if (strcmp(k, "worker_pid") == 0) {
			if (cJSON_IsNull(it))
				j->worker_pid = 0;
			else if (get_int(it, 0, INT32_MAX, &v) == -1)
				BAD("not a pid");
			else
				j->worker_pid = (int)v;
		} else if (strcmp(k, "duration_ms") == 0) {
			if (cJSON_IsNull(it))
				j->duration_ms = 0;
			else if (get_int(it, 0, INT64_C(1) << 50, &v) == -1)
				BAD("not a duration");
			else
				j->duration_ms = v;
		} else if (strcmp(k, "result_data") == 0) {
			cJSON_Delete(j->result_data);
			j->result_data = cJSON_Duplicate(it, 1);
			if (j->result_data == NULL)
				BAD("out of memory");
		} else if (strcmp(k, "error_message") == 0) {
			if (cJSON_IsNull(it))
				continue;
			if (!cJSON_IsString(it))
				BAD("not a string");
			free(j->error_message);
			if ((j->error_message = strdup(it->valuestring)) == NULL)
				BAD("out of memory");
		} else {
			wf_err(err, errlen, "%.64s: unknown field", k);
			goto out;
		}
#undef BAD
	}
	if (!have_type) {
		wf_err(err, errlen, "job_type: missing");
		goto out;
	}
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "request_data")) != NULL)
		j->request_data = cJSON_DetachItemViaPointer(root, it);
	rc = wf_job_validate(j, err, errlen);
out:
	cJSON_Delete(root);
	if (rc == -1)
		wf_job_free(j);
	return rc;
}

static int
add_time(cJSON *o, const char *k, int64_t ms)
{
	char iso[WF_ISO_LEN];

	if (ms == 0)
		return cJSON_AddNullToObject(o, k) != NULL ? 0 : -1;
	return cJSON_AddStringToObject(o, k, wf_clock_iso(ms, iso,
	    sizeof(iso))) != NULL ? 0 : -1;
}

static int
add_id(cJSON *o, const char *k, int64_t id)
{
	if (id == 0)
		return cJSON_AddNullToObject(o, k) != NULL ? 0 : -1;
	return cJSON_AddNumberToObject(o, k, (double)id) != NULL ? 0 : -1;
}

cJSON *
wf_job_to_cjson(const struct wf_job *j)
{
	cJSON *o, *rd;
	int bad = 0;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	bad |= cJSON_AddStringToObject(o, "id", j->id) == NULL;
	bad |= cJSON_AddStringToObject(o, "job_type",
	    wf_job_type_name(j->type)) == NULL;
	bad |= cJSON_AddStringToObject(o, "lane", j->lane) == NULL;
	bad |= cJSON_AddNumberToObject(o, "priority", j->priority) == NULL;
	bad |= cJSON_AddStringToObject(o, "status",
	    wf_job_status_name(j->status)) == NULL;
	rd = j->request_data != NULL ? cJSON_Duplicate(j->request_data, 1) :
	    cJSON_CreateObject();
	bad |= rd == NULL || !cJSON_AddItemToObject(o, "request_data", rd);
	bad |= cJSON_AddNumberToObject(o, "timeout", j->timeout) == NULL;
	if (j->max_attempts > 0)
		bad |= cJSON_AddNumberToObject(o, "max_attempts",
		    j->max_attempts) == NULL;
	bad |= cJSON_AddNumberToObject(o, "attempt", j->attempt) == NULL;
	bad |= add_time(o, "not_before", j->not_before);
	bad |= add_time(o, "created_at", j->created_at);
	bad |= add_id(o, "project_id", j->project_id);
	bad |= add_id(o, "task_id", j->task_id);
	bad |= add_id(o, "run_id", j->run_id);
	if (j->started_at != 0 || wf_job_status_terminal(j->status)) {
		bad |= add_time(o, "started_at", j->started_at);
		bad |= add_time(o, "completed_at", j->completed_at);
		if (j->exit_code >= 0)
			bad |= cJSON_AddNumberToObject(o, "exit_code",
			    j->exit_code) == NULL;
		else
			bad |= cJSON_AddNullToObject(o, "exit_code") == NULL;
		bad |= cJSON_AddNumberToObject(o, "worker_pid",
		    j->worker_pid) == NULL;
		bad |= cJSON_AddNumberToObject(o, "duration_ms",
		    (double)j->duration_ms) == NULL;
	}
	if (j->result_data != NULL) {
		cJSON *r = cJSON_Duplicate(j->result_data, 1);

		bad |= r == NULL || !cJSON_AddItemToObject(o, "result_data", r);
	}
	if (j->error_message != NULL)
		bad |= cJSON_AddStringToObject(o, "error_message",
		    j->error_message) == NULL;
	if (bad) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *
wf_job_format(const struct wf_job *j)
{
	cJSON *o = wf_job_to_cjson(j);
	char *s;

	if (o == NULL)
		return NULL;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

const char **
wf_job_argv(const struct wf_job *j)
{
	const cJSON *argv, *it;
	const char **v;
	int n, i = 0;

	argv = cJSON_GetObjectItemCaseSensitive(j->request_data, "argv");
	if (!cJSON_IsArray(argv) || (n = cJSON_GetArraySize(argv)) == 0)
		return NULL;
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL)
		return NULL;
	cJSON_ArrayForEach(it, argv) {
		if (!cJSON_IsString(it)) {
			free(v);
			return NULL;
		}
		v[i++] = it->valuestring;
	}
	return v;
}

int
wf_job_new(struct wf_job *j, cJSON *o, char *err, size_t errlen)
{
	char *s;
	int rc;

	wf_job_init(j);
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
	if ((s = cJSON_PrintUnformatted(o)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = wf_job_parse(j, s, strlen(s), err, errlen);
	free(s);
	return rc;
}
