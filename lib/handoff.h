/*
 * handoff: the record each stage of a run leaves for the next role and
 * for a human: who worked, what it was asked (task, request, the findings
 * it was given), what it said, the commits it made and their diff stat,
 * the tests counted and the output the gate judged, and where its whole
 * log is.  wf-agent makes the agent's part as it drops the report (it
 * alone can see the worktree then); lib/pipeline, the only writer of
 * runs, adds the rest when it applies the report and keeps it in the
 * run's "handoffs", which outlive the worktree.  Every part is bounded:
 * a run file must stay far under the store's 1 MiB.
 */
#ifndef WF_HANDOFF_H
#define WF_HANDOFF_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WF_HANDOFF_KEEP 24              /* handoffs a run keeps */
#define WF_HANDOFF_ALL_MAX (256 << 10)  /* all of them, as JSON */
#define WF_HANDOFF_PROMPT_MAX (16 << 10) /* {{handoffs}} in a prompt */

/*
 * The agent's part of a role's handoff, for the report's "handoff": the
 * role and phase, the run's iteration, the job and its log
 * (output/JOB.log), what it was asked (the run's task, its request, the
 * findings of the roles before it and a gate's refusal of its own work),
 * and, in a git worktree (repo) with the run's stage_base, the commits
 * since that base and their diff stat.  NULL only when out of memory.
 */
cJSON *wf_handoff_make(const cJSON *run, const char *role, const char *phase,
    const cJSON *task, const char *repo, const char *job_id);

/*
 * Add the handoff of an applied report to the run: the agent's part
 * (report's "handoff", its fields checked and cut), the report's status,
 * summary and test counts, the gate's evidence (its test job, counts,
 * the tail of its output; a refusal's paths) and refused (the gate's
 * reason, or NULL).  The oldest go past WF_HANDOFF_KEEP or
 * WF_HANDOFF_ALL_MAX.  Returns the handoff (the run's), or NULL.
 */
cJSON *wf_handoff_record(cJSON *run, const cJSON *report, const cJSON *gate,
    const char *report_id, const char *refused);

/* The outcome of the handoff h, once the transition is made: the reason
 * the run moved (its history's line for report_id) and where to, or why
 * it waits for a human. */
void wf_handoff_outcome(cJSON *h, const cJSON *run, const char *report_id);

/*
 * The handoffs as text, oldest first, for a prompt and for wf run show
 * --handoffs.  With max > 0, the newest that fit in max bytes, and a line
 * saying how many earlier ones were left out.  A malloc'd string ("" when
 * there are none), or NULL when out of memory.
 */
char *wf_handoff_text(const cJSON *handoffs, size_t max);

#endif
