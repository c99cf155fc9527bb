/*
 * config: etc/wf.ini through inih.  The parser takes a NUL-terminated
 * buffer so that it can be fuzzed; unknown sections and keys are refused
 * with their line, so that a typo never passes silently.
 */
#ifndef WF_CONFIG_H
#define WF_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <sys/socket.h>

#include "director.h"
#include "pipeline.h"
#include "sandbox.h"

#define WF_LANES_MAX 16

enum wf_runner { WF_RUN_DIRECT, WF_RUN_AGENT };

struct wf_lane_conf {
	char name[16];
	int concurrency;
	enum wf_runner runner; /* command jobs: exec'd by wf-dispatch itself,
	                        * or through wf-agent */
	int prestart;          /* keep a wf-agent started, waiting for the
	                        * lane's next job id */
	int chain;             /* with prestart and concurrency 1: hand the
	                        * next job to the ready wf-agent while the
	                        * current one runs; it starts on the current
	                        * one's release, with no hop through
	                        * wf-dispatch */
};

struct wf_config {
	struct wf_lane_conf lanes[WF_LANES_MAX];
	int nlanes;
	int aging;        /* seconds a waiting job takes to rise one level; 0 off */
	int backoff_base; /* seconds before the first retry */
	int backoff_max;  /* cap on the delay between retries */
	int kill_grace;   /* seconds between SIGTERM and SIGKILL */
	int max_attempts; /* default for jobs that do not say */
	long output_max;  /* bytes of a job's output kept */
	int restart_max;  /* wf up: cap of its restart back-off, seconds */
	struct wf_pipeline_conf pipeline;
	/* [llm]: defaults for the environment variables the model calls
	 * read (an exported variable wins); see wf_config_llm_env. */
	char llm[8][256];
	char roles_dir[PATH_MAX]; /* etc/roles beside the config by default */
	struct wf_notify_conf {
		int timeout;          /* s: an attempt of a webhook that
		                       * does not say */
		int max_attempts;     /* of a webhook that does not say */
		long backoff_base_ms; /* before the first retry, doubling */
		long backoff_max_ms;
		int hook_timeout;     /* s: a hook is killed after this */
		int parallel;         /* webhook attempts at once, 1-64 */
		long log_max;         /* bytes: deliveries.jsonl rotates */
		char hooks_dir[PATH_MAX]; /* hooks.d beside the config */
	} notify;
	struct wf_httpd_conf {
		char listen[128];      /* ADDR:PORT; [v6]:PORT */
		char web_dir[PATH_MAX]; /* /ui/'s files; "" the built-in */
		int allow_remote;      /* listen beyond loopback */
		int conn_limit;        /* connections at once */
		int per_ip_limit;      /* of them from one address */
		long head_ms;          /* a request's head, whole */
		long body_ms;          /* its body and reply, after the head */
		long idle_ms;          /* keep-alive: the next head, whole */
	} httpd;
	struct wf_sandbox_conf sandbox; /* [sandbox] */
	struct wf_director_conf director; /* [director] */
};

void wf_config_defaults(struct wf_config *c);
/* Parse text over the defaults already in c.  -1 and a one-line reason in
 * err on error. */
int wf_config_parse(struct wf_config *c, const char *text, char *err,
    size_t errlen);
/* Load a file (and set roles_dir beside it unless the file says); a
 * missing file leaves the defaults (ENOENT is not an error
 * unless required). */
int wf_config_load(struct wf_config *c, const char *path, int required,
    char *err, size_t errlen);
/* The defaults, then path over them (wf_config_load, not required), into
 * c only when all of it is good: at start-up as at a reload, a file that
 * does not parse leaves c as it was.  -1 and a one-line reason in err. */
int wf_config_read(struct wf_config *c, const char *path, char *err,
    size_t errlen);
/* Export the [llm] settings as the defaults of their environment
 * variables (WF_LLM_PROVIDER, WF_LLM_BASE_URL, ...), never overriding
 * one already set. */
void wf_config_llm_env(const struct wf_config *c);

/* Parse a listen address, ADDR:PORT or [V6]:PORT, into ss (NULL: only
 * check it), *v6 saying which (may be NULL).  -1 and a one-line reason
 * naming "listen" in err. */
int wf_config_listen(const char *s, struct sockaddr_storage *ss, int *v6,
    char *err, size_t errlen);

/* The lane named name, or NULL. */
const struct wf_lane_conf *wf_config_lane(const struct wf_config *c,
    const char *name);

#endif
