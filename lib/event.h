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

#endif
