/*
 * deploy: the steps of a deploy job, the seed's way.  The environment's
 * deploy command, then its health check (an HTTP GET of the health URL
 * until a 2xx or the time-out, or a health check command), then its test
 * command; when a step fails, its rollback command.  Commands run with
 * /bin/sh in the given directory, their output on ours (the job's log).
 */
#ifndef WF_DEPLOY_H
#define WF_DEPLOY_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* GET url until it answers 2xx or timeout seconds pass, trying again
 * every half second.  0 on a 2xx; -1 with the last status or error in
 * err. */
int wf_deploy_health(
    const char *url, int timeout, long *status, char *err, size_t errlen);

/* Run the steps of environment env (a stored environment) in cwd (NULL:
 * the current directory).  steps gets one object per step run ({step,
 * command|url, exit_code|http_status, ok, ms}).  1 all passed; 0 a step
 * failed (and the rollback ran when there is one: *rolled_back); -1 the
 * environment has no deploy command. */
int wf_deploy_run(const cJSON *env, const char *cwd, cJSON *steps,
    int *rolled_back, char *why, size_t whylen);
/* The same, each command run in the sandbox sb through bwrap (the path
 * of bubblewrap) when sb is not NULL: for an environment that says
 * "sandbox": true. */
struct wf_sandbox;
int wf_deploy_run_in(const cJSON *env, const char *cwd, const char *bwrap,
    const struct wf_sandbox *sb, cJSON *steps, int *rolled_back, char *why,
    size_t whylen);

#endif
