/*
 * event: state-change events dropped into events/new by the maildir
 * protocol, for wf-notify.  The body is the seed's webhook body:
 * {"event","timestamp","payload":{...}}.
 */
#ifndef WF_EVENT_H
#define WF_EVENT_H

#include <cjson/cJSON.h>

/* Drop one event; payload is consumed. */
int wf_event_emit(int root, const char *name, cJSON *payload);
/* The same under the id given (a spool name), once: when an event of
 * that id is already in events/new or events/cur, nothing is dropped and
 * 0 is returned.  payload is consumed. */
int wf_event_emit_once(int root, const char *id, const char *name,
    cJSON *payload);

#endif
