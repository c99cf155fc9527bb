/*
 * store: the entities of Workflow Hub (projects, tasks, runs, bugs,
 * environments, credentials) as flat JSON files, state/<kind>s/<id>.json.  Each kind
 * has a schema: a field table that says each field's type, whether it is
 * required, read-only, unique, or one of a set of values.  Writes replace a
 * file whole (tmp/ then rename); read-modify-write happens under a flock of
 * the kind's stable companion state/<kind>s/.lock, never of the replaced
 * file, so that concurrent writers lose nothing.  Ids are integers from a
 * counter kept under the same lock.
 *
 * The functions that fail return -1 with a one-line reason in err and
 * errno saying why: EINVAL the data was refused (a check, a unique value
 * taken, a reference to nothing, a corrupt file), ENOENT no such entity,
 * anything else an I/O failure.
 */
#ifndef WF_STORE_H
#define WF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum wf_ftype {
	WF_F_STR,     /* a string */
	WF_F_TEXT,    /* a long string */
	WF_F_INT,     /* an integer */
	WF_F_BOOL,
	WF_F_STRLIST, /* an array of strings */
	WF_F_ENUM,    /* a string out of enums */
	WF_F_REF,     /* the id of another entity (ref names its kind) */
	WF_F_TIME,    /* ISO 8601 UTC, set by wf */
	WF_F_JSON,    /* any JSON value, set by wf */
};

#define WF_FF_REQUIRED 0x1 /* must be given at create */
#define WF_FF_READONLY 0x2 /* set by wf, never by a caller */
#define WF_FF_UNIQUE 0x4   /* no two entities of the kind share it (within
                            * the same project when the kind has one) */

struct wf_field {
	const char *name;
	enum wf_ftype type;
	int flags;
	const char *const *enums; /* WF_F_ENUM: NULL-terminated */
	const char *ref;          /* WF_F_REF: the kind */
	const char *dflt;         /* default, as JSON text; NULL: none */
	const char *help;
};

struct wf_kind {
	const char *name;  /* "project" */
	const char *dir;   /* "state/projects" */
	const struct wf_field *fields;
};

extern const struct wf_kind wf_kind_project, wf_kind_task, wf_kind_run,
    wf_kind_bug, wf_kind_environment, wf_kind_credential;
extern const struct wf_kind wf_kind_webhook;

/* The values of a task's status, a bug's status and a run's state, in the
 * board's order (a run's failures last); NULL-terminated. */
#define WF_TASK_NSTATUS 6
#define WF_BUG_NSTATUS 4
extern const char *const wf_store_task_status[WF_TASK_NSTATUS + 1];
extern const char *const wf_store_bug_status[WF_BUG_NSTATUS + 1];
extern const char *const wf_store_run_states[];

/* The kind named name ("project", "task"...), or NULL. */
const struct wf_kind *wf_store_kind(const char *name);
const struct wf_field *wf_store_field(const struct wf_kind *k,
    const char *name);

/* Check fields against the schema: unknown names and wrong types are
 * refused with the field's name.  creating: required fields must be there
 * and defaults are filled in.  trusted: read-only fields may be set (the
 * pipeline, not a caller). */
int wf_store_check(const struct wf_kind *k, cJSON *obj, int creating,
    int trusted, char *err, size_t errlen);

/* Lock a kind for read-modify-write; returns a descriptor for unlock. */
int wf_store_lock(int root, const struct wf_kind *k);
void wf_store_unlock(int fd);

/* Create an entity from fields (consumed on success and failure); *id gets
 * its id.  Adds id, created_at, updated_at. */
int wf_store_create(int root, const struct wf_kind *k, cJSON *fields,
    int trusted, int64_t *id, char *err, size_t errlen);
/* Read one entity; *out is the caller's. -1 with errno ENOENT if none. */
int wf_store_get(int root, const struct wf_kind *k, int64_t id, cJSON **out,
    char *err, size_t errlen);
/* Merge patch's fields into the entity (under the lock). */
int wf_store_update(int root, const struct wf_kind *k, int64_t id,
    const cJSON *patch, int trusted, char *err, size_t errlen);
/* Replace an entity whole; the caller holds the kind's lock. */
int wf_store_put_locked(int root, const struct wf_kind *k, int64_t id,
    cJSON *obj, char *err, size_t errlen);
int wf_store_get_locked(int root, const struct wf_kind *k, int64_t id,
    cJSON **out, char *err, size_t errlen);
int wf_store_delete(int root, const struct wf_kind *k, int64_t id,
    char *err, size_t errlen);
/* What an update changed, for the audit trail: {field: {"from": old,
 * "to": new}} for each field of patch whose value differs. */
cJSON *wf_store_changes(const cJSON *patch, const cJSON *before,
    const cJSON *after);
/* Every entity of a kind, sorted by id, as a cJSON array; with
 * project_id > 0, only those of that project. */
cJSON *wf_store_list(int root, const struct wf_kind *k, int64_t project_id);

#endif
