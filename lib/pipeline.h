/*
 * pipeline: the run state machine of Workflow Hub and its gates.
 *
 *   PM -> DEV -> QA -> SEC -> READY_FOR_COMMIT -> MERGED -> READY_FOR_DEPLOY
 *      -> DEPLOYED, with QA_FAILED and SEC_FAILED, which go back to DEV.
 *
 * Every transition is one function here, done under the runs' lock, and
 * has three effects: the new run file (atomic replace), an audit line and
 * an event; entering PM, DEV, QA or SEC also enqueues that role's
 * agent_run job.  The CLI, wf-gate and wf-httpd all call these; nothing
 * else writes a run.  An illegal transition is refused with its reason and
 * changes nothing.
 */
#ifndef WF_PIPELINE_H
#define WF_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct wf_pipeline_conf {
	int max_iter;         /* automatic retries before a human decides */
	int auto_retry;       /* retry a failed QA/SEC by itself */
	int sec_block;        /* a finding at or above this severity fails
	                       * SEC: 1 critical .. 4 low */
	int tdd;              /* PM ends with QA writing failing tests */
	int agent_priority;   /* the queue priority of agent jobs */
	char roles_dir[4096]; /* the roles' configs: may QA write tests? */
	char workdir[4096];   /* the runs' worktrees; "" $WF_HOME/work */
};

void wf_pipeline_defaults(struct wf_pipeline_conf *c);

/* Severity names to 1 (critical) .. 4 (low); -1 when unknown. */
int wf_pipeline_severity(const char *s);

/* Check a report {"role","status","summary","details"} (buffer and length,
 * so that it can be fuzzed).  On success *out is the parsed object. */
int wf_pipeline_report_parse(const char *buf, size_t len, cJSON **out,
    char *err, size_t errlen);

/* Gates, on a report alone: does a QA pass carry evidence (tests_run >= 1,
 * tests_failed == 0)?  Does a SEC pass hold no finding at or above
 * sec_block?  0 passes; -1 with the reason. */
int wf_pipeline_gate(const struct wf_pipeline_conf *c, const cJSON *report,
    char *why, size_t whylen);

/* The transitions.  Each returns 0, or -1 with a one-line reason. */
int wf_pipeline_create(int root, const struct wf_pipeline_conf *c,
    int64_t project_id, int64_t task_id, const char *name, int64_t *run_id,
    char *err, size_t errlen);
/* The longest request a run keeps, in bytes (the API's and the CLI's
 * bound alike). */
#define WF_PIPELINE_REQUEST_MAX 65536

/* The same, with a user's free-text request (NULL: none) kept on the run
 * as "request" before PM's job is queued: PM's prompt has it as
 * {{request}}, a command role's environment as WF_REQUEST. */
int wf_pipeline_create_request(int root, const struct wf_pipeline_conf *c,
    int64_t project_id, int64_t task_id, const char *name,
    const char *request, int64_t *run_id, char *err, size_t errlen);
/* Apply a checked report.  report_id makes it idempotent: a report
 * already applied to the run is a no-op (*applied = 0). */
int wf_pipeline_report(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const cJSON *report, const char *report_id,
    const cJSON *gate, int *applied, char *err, size_t errlen);
/* The gate refused a role's work (why, with what it saw in gate, e.g.
 * offending_paths): record it, and start the role again with the finding
 * while iterations remain; then a human decides.  Idempotent like
 * wf_pipeline_report. */
int wf_pipeline_refuse(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const cJSON *report, const char *report_id,
    const cJSON *gate, const char *why, int *applied, char *err,
    size_t errlen);
/* The role whose report a run waits for, and the phase of its state
 * ("tdd" while QA writes the failing tests; NULL otherwise).  -1 when it
 * waits for no role. */
int wf_pipeline_expects(const cJSON *run, const char **role,
    const char **phase);
int wf_pipeline_advance(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, char *err, size_t errlen);
int wf_pipeline_retry(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, char *err, size_t errlen);
int wf_pipeline_reset_to_dev(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, int make_tasks, char *err, size_t errlen);
/* A human approves: without an environment the run is DEPLOYED; with one
 * (env_id > 0) it goes to TESTING and a deploy job runs the environment's
 * deploy, health check and tests, whose report makes it DEPLOYED or
 * DEPLOY_FAILED (rolled back; a human decides). */
int wf_pipeline_approve_deploy(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, int64_t env_id, char *err, size_t errlen);
int wf_pipeline_set_state(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *state, const char *why, char *err,
    size_t errlen);
/* A human merges the run's branch into the branch it began from (a
 * fast-forward where it can, else a merge commit): READY_FOR_COMMIT ->
 * MERGED.  A conflict, or the user's uncommitted work where the merge
 * would write, is refused with the paths, and nothing changes. */
int wf_pipeline_merge(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, char *err, size_t errlen);
/* A human gives a run up: ABANDONED, its worktree removed, its branch
 * kept. */
int wf_pipeline_abandon(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *why, char *err, size_t errlen);
/* Has the run ended (DEPLOYED, ABANDONED) or is it gone?  For the clean-up
 * of worktrees. */
int wf_pipeline_run_ended(int root, int64_t run_id);

/* Enqueue the agent job of a role now (wf run pm|dev|qa|sec). */
int wf_pipeline_run_role(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *role, char *job_id, size_t idlen, char *err,
    size_t errlen);
/* Drop a report into reports/new (the maildir protocol) for wf-gate;
 * durable when it returns.  id (may be NULL) gets its name. */
int wf_pipeline_submit_report(int root, const cJSON *report, char *id,
    size_t idlen);

/* A caller's report for run_id (rep: not consumed; its run_id is set to
 * run_id), checked as wf-gate will check it, then dropped: what wf run
 * report and wf-httpd do.  -1 with err: errno EINVAL a bad report, else
 * an I/O failure. */
int wf_pipeline_drop_report(int root, int64_t run_id, cJSON *rep, char *id,
    size_t idlen, char *err, size_t errlen);
/* The id of the environment name (or id, as text) of the run's project,
 * for approve-deploy; -1 with err ("no such ...") when there is none. */
int64_t wf_pipeline_run_env(int root, int64_t run_id, const char *name,
    char *err, size_t errlen);

/* Set a run's token budget (0: none).  A run held for its budget whose
 * new budget is above what it used stops waiting. */
int wf_pipeline_budget(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, int64_t budget, char *err, size_t errlen);
/* Is the run over its budget?  1 yes, with the reason in why; 0 no or no
 * budget; -1 no such run. */
int wf_pipeline_over_budget(int root, int64_t run_id, char *why,
    size_t whylen);
/* Hold a run for a human (the dispatcher, for the budget): the state
 * stays, waiting_for_human says why. */
int wf_pipeline_hold(int root, const struct wf_pipeline_conf *c,
    int64_t run_id, const char *why, char *err, size_t errlen);

/* Add tokens a job used to the run's totals. */
/* Do the effects recorded in runs but not done (a crash came between a
 * run's write and what follows it): wf-gate, at its start and on a
 * timer.  Returns the runs whose effects are now all done. */
int wf_pipeline_effects_redo(int root, const struct wf_pipeline_conf *c);
int wf_pipeline_add_tokens(int root, int64_t run_id, int64_t in, int64_t out);

#endif
