/*
 * job: a job as JSON and as a struct.  The parser takes a buffer and a
 * length, validates every field by name and type, refuses unknown fields,
 * and fills the defaults of a job dropped with only the seed's enqueue
 * fields.  A job file's name is its id.
 */
#ifndef WF_JOB_H
#define WF_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "spool.h"

enum wf_jtype {
	WF_JT_LLM_COMPLETE,
	WF_JT_LLM_CHAT,
	WF_JT_LLM_QUERY,
	WF_JT_VISION_ANALYZE,
	WF_JT_AGENT_RUN,
	WF_JT_COMMAND,
	WF_JT_DEPLOY,
	WF_JT_COUNT
};

enum wf_jstatus {
	WF_JS_PENDING,
	WF_JS_RUNNING,
	WF_JS_COMPLETED,
	WF_JS_FAILED,
	WF_JS_TIMEOUT,
	WF_JS_CANCELLED,
	WF_JS_COUNT
};

#define WF_LANE_MAX 16
#define WF_TIMEOUT_MAX (7 * 24 * 3600)
#define WF_ATTEMPTS_MAX 100
#define WF_ARGV_MAX 4096

struct wf_job {
	char id[WF_NAME_MAX + 1];
	enum wf_jtype type;
	char lane[WF_LANE_MAX];
	int priority;          /* 1 critical .. 4 low */
	int timeout;           /* seconds */
	int max_attempts;      /* 0: the configured default */
	int attempt;           /* attempts made so far */
	int64_t not_before;    /* wall ms; 0: none */
	int64_t created_at;    /* wall ms */
	int64_t project_id, task_id, run_id; /* 0: none */
	cJSON *request_data;   /* owned; an object */
	enum wf_jstatus status;
	/* Outcome, set once the job has run. */
	int exit_code;         /* -1: none */
	int64_t started_at, completed_at; /* wall ms; 0: none */
	int worker_pid;
	int64_t duration_ms;
	cJSON *result_data;    /* owned; may be NULL */
	char *error_message;   /* owned; may be NULL */
};

void wf_job_init(struct wf_job *j);
void wf_job_free(struct wf_job *j);

/* Parse and validate one job object.  On error returns -1 and writes a
 * one-line reason naming the field to err. */
int wf_job_parse(struct wf_job *j, const char *buf, size_t len, char *err,
    size_t errlen);
/* A new job from a caller's object (the seed's enqueue fields, or a
 * whole job), as wf-enqueue and wf-httpd's /api/queue/enqueue take one:
 * its status is the spool's to give, so a "status" of o is dropped (o is
 * not consumed); then as wf_job_parse. */
int wf_job_new(struct wf_job *j, cJSON *o, char *err, size_t errlen);
/* Fill the defaults that depend on the type (lane, timeout) and check the
 * request_data a type needs.  wf_job_parse calls it. */
int wf_job_validate(struct wf_job *j, char *err, size_t errlen);
/* Serialise; returns a malloc'd string or NULL on memory exhaustion. */
char *wf_job_format(const struct wf_job *j);
/* Build the record as a cJSON object (owned by the caller). */
cJSON *wf_job_to_cjson(const struct wf_job *j);

int wf_job_prio_parse(const char *s);   /* 1..4, or -1 */
const char *wf_job_prio_name(int prio); /* "critical".. */
int wf_job_type_parse(const char *s);   /* enum wf_jtype, or -1 */
const char *wf_job_type_name(enum wf_jtype t);
const char *wf_job_status_name(enum wf_jstatus s);
int wf_job_status_parse(const char *s);
bool wf_job_status_terminal(enum wf_jstatus s);
const char *wf_job_default_lane(enum wf_jtype t);
int wf_job_default_timeout(enum wf_jtype t);

/* A command job's argv, a NULL-terminated malloc'd array of pointers into
 * request_data; NULL when it has none. */
const char **wf_job_argv(const struct wf_job *j);

#endif
