/*
 * event: one event, one file, dropped into events/new by the maildir
 * protocol (events/tmp, then rename) for wf-notify to deliver.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event.h"
#include "spool.h"

int
wf_event_emit(int root, const char *name, cJSON *payload)
{
	char id[WF_NAME_MAX + 1], iso[WF_ISO_LEN], *s;
	cJSON *o;
	int rc = -1;

	if ((o = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(payload);
		return -1;
	}
	cJSON_AddStringToObject(o, "event", name);
	cJSON_AddStringToObject(o, "timestamp",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	cJSON_AddItemToObject(o, "payload",
	    payload != NULL ? payload : cJSON_CreateObject());
	if (wf_spool_name(id, sizeof(id)) == 0 &&
	    (s = cJSON_PrintUnformatted(o)) != NULL) {
		/* A promise to wf-notify: durable once dropped. */
		rc = wf_spool_write(root, "events/tmp", "events/new", id, s,
		    strlen(s), WF_SYNC_FILE | WF_SYNC_DIR);
		free(s);
	}
	cJSON_Delete(o);
	return rc;
}
