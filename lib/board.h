/*
 * board: the data of wf board and of wf-httpd's /api/board, one object:
 * {"project": {id, name} or null, "tasks": {status: [task...]},
 * "stages": {stage: [task... with status, blocked_by, readiness {state,
 * why}]} (NONE PM DEV QA SEC DOCS COMPLETE, lib/taskdep), "runs":
 * {state: [run...]}, "bugs": {status: count}, "queue": {waiting, running,
 * failed, completed, cancelled}}.
 */
#ifndef WF_BOARD_H
#define WF_BOARD_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* The board of project_id (0: all projects; project is its record, or
 * NULL); the caller owns the object. */
cJSON *wf_board_collect(int root, int64_t project_id, const cJSON *project);

#endif
