/*
 * audit: the append-only trail, log/audit.jsonl, one JSON object a line
 * ({timestamp, actor, action, entity_type, entity_id, details}) written
 * with a single O_APPEND write so that lines of concurrent writers never
 * mix.  The actor is the OS user for the CLI, a daemon's name, or a role.
 */
#ifndef WF_AUDIT_H
#define WF_AUDIT_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* The actor of this process: set by daemons ("wf-gate"); by default the
 * login name of the real uid. */
void wf_audit_set_actor(const char *actor);
const char *wf_audit_actor(void);
/* Append one line; details may be NULL (it is not consumed). */
int wf_audit_append(int root, const char *action, const char *entity_type,
    int64_t entity_id, const cJSON *details);
/* The same for an entity whose id is a name (a job): entity_id is that
 * string. */
int wf_audit_append_named(int root, const char *action,
    const char *entity_type, const char *entity_id, const cJSON *details);

/* The same once: details get "effect_id": effect_id, and when a line
 * with it is already in the trail's last 1 MiB nothing is written (a
 * transition's effect done again after a crash; lib/pipeline). */
int wf_audit_append_once(int root, const char *effect_id, const char *action,
    const char *entity_type, int64_t entity_id, const cJSON *details);

/* Which lines a reader wants (wf log's flags, wf-httpd's /api/log): all
 * that are set must hold.  run and project also take the lines whose
 * details name them (run_id, project_id). */
struct wf_audit_filter {
	int64_t run, project;    /* 0: any */
	const char *etype, *eid; /* one entity, "credential", "3"; NULL: any */
	int64_t since;           /* wall ms; 0: all */
};

int wf_audit_match(const cJSON *line, const struct wf_audit_filter *f);

#define WF_AUDIT_TAIL_BYTES (8 << 20) /* of the trail a tail reads */
/* The last limit lines that f matches, oldest first, as an array, from
 * the last WF_AUDIT_TAIL_BYTES of the trail (a line that is not a JSON
 * object is skipped).  An empty array when there is no trail; NULL with
 * errno on a read error. */
cJSON *wf_audit_tail(int root, const struct wf_audit_filter *f, int limit);

#endif
