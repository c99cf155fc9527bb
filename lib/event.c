/*
 * event: one event, one file, dropped into events/new by the maildir
 * protocol (events/tmp, then rename) for wf-notify to deliver.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event.h"
#include "spool.h"

static int
emit(int root, const char *id, const char *name, cJSON *payload)
{
	char iso[WF_ISO_LEN], *s;
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
	if (id != NULL && (s = cJSON_PrintUnformatted(o)) != NULL) {
		/* A promise to wf-notify: durable once dropped. */
		rc = wf_spool_write(root, "events/tmp", "events/new", id, s,
		    strlen(s), WF_SYNC_FILE | WF_SYNC_DIR);
		free(s);
	}
	cJSON_Delete(o);
	return rc;
}

int
wf_event_emit(int root, const char *name, cJSON *payload)
{
	char id[WF_NAME_MAX + 1];

	return emit(root, wf_spool_name(id, sizeof(id)) == 0 ? id : NULL, name,
	    payload);
}

int
wf_event_emit_once(int root, const char *id, const char *name,
    cJSON *payload)
{
	char path[WF_NAME_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "events/new/%s", id);
	if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto done;
	snprintf(path, sizeof(path), "events/cur/%s", id);
	if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto done;
	return emit(root, id, name, payload);
done:
	cJSON_Delete(payload);
	return 0;
}
