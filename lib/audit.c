/*
 * audit: log/audit.jsonl, append-only.  Each line is built whole and
 * written with one write(2) on an O_APPEND descriptor, so that the lines
 * of concurrent writers never interleave and nothing is rewritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"

static char actor[64];

void
wf_audit_set_actor(const char *a)
{
	strlcpy(actor, a, sizeof(actor));
}

const char *
wf_audit_actor(void)
{
	struct passwd *pw;

	/* The real uid, not an environment variable a caller could set. */
	if (actor[0] == '\0') {
		if ((pw = getpwuid(getuid())) != NULL)
			strlcpy(actor, pw->pw_name, sizeof(actor));
		else
			snprintf(actor, sizeof(actor), "uid:%u",
			    (unsigned)getuid());
	}
	return actor;
}

static int
append(int root, const char *action, const char *entity_type,
    int64_t entity_id, const char *entity_name, const cJSON *details)
{
	char iso[WF_ISO_LEN], *line = NULL;
	cJSON *o;
	size_t len;
	ssize_t w;
	int fd = -1, rc = -1;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddStringToObject(o, "timestamp",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	cJSON_AddStringToObject(o, "actor", wf_audit_actor());
	cJSON_AddStringToObject(o, "action", action);
	cJSON_AddStringToObject(o, "entity_type", entity_type);
	if (entity_name != NULL)
		cJSON_AddStringToObject(o, "entity_id", entity_name);
	else if (entity_id > 0)
		cJSON_AddNumberToObject(o, "entity_id", (double)entity_id);
	else
		cJSON_AddNullToObject(o, "entity_id");
	cJSON_AddItemToObject(o, "details", details != NULL ?
	    cJSON_Duplicate(details, 1) : cJSON_CreateObject());
	if ((line = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	len = strlen(line);
	line[len] = '\n'; /* replaces the NUL: one write carries the line */
	fd = openat(root, "log/audit.jsonl",
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		goto out;
	w = write(fd, line, len + 1);
	if (w == (ssize_t)(len + 1))
		rc = 0;
	else if (w >= 0)
		errno = ENOSPC;
out:
	if (fd != -1 && close(fd) == -1)
		rc = -1;
	free(line);
	cJSON_Delete(o);
	return rc;
}

int
wf_audit_append(int root, const char *action, const char *entity_type,
    int64_t entity_id, const cJSON *details)
{
	return append(root, action, entity_type, entity_id, NULL, details);
}

int
wf_audit_append_named(int root, const char *action, const char *entity_type,
    const char *entity_id, const cJSON *details)
{
	return append(root, action, entity_type, 0, entity_id, details);
}
