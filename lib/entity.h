/*
 * entity: what changing an entity of the store means beyond the store's
 * own checks, for wf project|task|bug|env and wf-httpd alike: the checks
 * the schema does not say (a repo_path made absolute and a directory, a
 * task's priority 1-5), an audit line for every change, the bug.created
 * event, the refusal to delete what another entity refers to, and a
 * project's whole context for an orchestrator.
 *
 * The functions that fail return -1 with a one-line reason in err and
 * errno saying why, as the store does: EINVAL refused, ENOENT no such
 * entity, EBUSY still referred to, anything else an I/O failure.
 */
#ifndef WF_ENTITY_H
#define WF_ENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"

/* Check a caller's fields (untrusted, as for an update: required fields
 * are create's to check); a relative repo_path is made absolute. */
int wf_entity_check(
    const struct wf_kind *k, cJSON *fields, char *err, size_t errlen);
/* Create from fields (consumed); *rec (may be NULL) gets the record. */
int wf_entity_create(int root, const struct wf_kind *k, cJSON *fields,
    cJSON **rec, char *err, size_t errlen);
/* Change the fields of patch (not consumed; checked); *after (may be
 * NULL) gets the record as it is now. */
int wf_entity_update(int root, const struct wf_kind *k, int64_t id,
    cJSON *patch, cJSON **after, char *err, size_t errlen);
int wf_entity_delete(
    int root, const struct wf_kind *k, int64_t id, char *err, size_t errlen);
/* Set a task's or a bug's status (no change and no audit line when it
 * has it already). */
int wf_entity_status(int root, const struct wf_kind *k, int64_t id,
    const char *status, char *err, size_t errlen);
/* Keep the records of arr whose status is status (wf task list --status,
 * wf-httpd's ?status=). */
void wf_entity_keep_status(cJSON *arr, const char *status);
/* Add to each task of arr (records of any projects) what is derived
 * from the other tasks and the runs: pipeline_stage and readiness (see
 * lib/taskdep). */
void wf_entity_task_derive(int root, cJSON *arr);
/* Keep the tasks of arr (derived) that could start now: in the backlog,
 * and ready (wf task list --ready, wf-httpd's ?ready=1). */
void wf_entity_keep_ready(cJSON *arr);
/* {"project","tasks","environments" (their secret-named fields left
 * out),"latest_run" (or null),"bugs" (neither resolved nor closed)}. */
cJSON *wf_entity_context(
    int root, int64_t project_id, char *err, size_t errlen);

#endif
