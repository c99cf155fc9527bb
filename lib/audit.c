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
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "spool.h"

#define AUDIT_TAIL (1 << 20) /* where a redone effect's line is looked for */

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

/* Is "effect_id":"id" in the last 1 MiB of the trail? */
static int
has_effect(int root, const char *id)
{
	char needle[WF_NAME_MAX + 32], *buf = NULL;
	struct stat st;
	off_t off;
	ssize_t n;
	int fd, found = 0;

	snprintf(needle, sizeof(needle), "\"effect_id\":\"%s\"", id);
	if ((fd = openat(root, "log/audit.jsonl",
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	if (fstat(fd, &st) == -1 || (buf = malloc(AUDIT_TAIL + 1)) == NULL)
		goto out;
	off = st.st_size > AUDIT_TAIL ? st.st_size - AUDIT_TAIL : 0;
	if ((n = pread(fd, buf, AUDIT_TAIL, off)) > 0) {
		buf[n] = '\0';
		found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
	}
out:
	free(buf);
	close(fd);
	return found;
}

int
wf_audit_append_once(int root, const char *effect_id, const char *action,
    const char *entity_type, int64_t entity_id, const cJSON *details)
{
	cJSON *d;
	int rc;

	if (has_effect(root, effect_id))
		return 0;
	d = details != NULL ? cJSON_Duplicate(details, 1) :
	    cJSON_CreateObject();
	if (d == NULL) {
		errno = ENOMEM;
		return -1;
	}
	cJSON_AddStringToObject(d, "effect_id", effect_id);
	rc = append(root, action, entity_type, entity_id, NULL, d);
	cJSON_Delete(d);
	return rc;
}

int
wf_audit_append_named(int root, const char *action, const char *entity_type,
    const char *entity_id, const cJSON *details)
{
	return append(root, action, entity_type, 0, entity_id, details);
}

static int
num_is(const cJSON *v, int64_t n)
{
	return cJSON_IsNumber(v) && (int64_t)v->valuedouble == n;
}

static int
entity_is(const cJSON *o, const char *type, const char *id)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "entity_type");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "entity_id");
	char buf[32];

	if (!cJSON_IsString(t) || strcmp(t->valuestring, type) != 0)
		return 0;
	if (cJSON_IsString(i))
		return strcmp(i->valuestring, id) == 0;
	if (!cJSON_IsNumber(i))
		return 0;
	snprintf(buf, sizeof buf, "%lld", (long long)i->valuedouble);
	return strcmp(buf, id) == 0;
}

static int
related(const cJSON *o, const char *type, int64_t id, const char *field)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "details");
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", (long long)id);
	return entity_is(o, type, buf) ||
	    num_is(cJSON_GetObjectItemCaseSensitive(d, field), id);
}

int
wf_audit_match(const cJSON *o, const struct wf_audit_filter *f)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
	int64_t ms;

	if (f->since > 0 &&
	    (!cJSON_IsString(ts) ||
		wf_clock_parse_iso(ts->valuestring, &ms) == -1 || ms < f->since))
		return 0;
	if (f->run > 0 && !related(o, "run", f->run, "run_id"))
		return 0;
	if (f->project > 0 && !related(o, "project", f->project, "project_id"))
		return 0;
	if (f->etype != NULL && !entity_is(o, f->etype, f->eid))
		return 0;
	return 1;
}

cJSON *
wf_audit_tail(int root, const struct wf_audit_filter *f, int limit)
{
	cJSON *out = NULL;
	char *buf = NULL, *p, *end;
	struct stat st;
	off_t from;
	size_t len = 0;
	ssize_t r;
	int fd, n = 0;

	if ((fd = openat(root, "log/audit.jsonl",
		 O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? cJSON_CreateArray() : NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto fail;
	from = st.st_size > WF_AUDIT_TAIL_BYTES
	    ? st.st_size - WF_AUDIT_TAIL_BYTES : 0;
	if ((buf = malloc(WF_AUDIT_TAIL_BYTES + 1)) == NULL)
		goto fail;
	while (len < WF_AUDIT_TAIL_BYTES &&
	    (r = pread(fd, buf + len, WF_AUDIT_TAIL_BYTES - len,
		 from + (off_t)len)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if ((out = cJSON_CreateArray()) == NULL)
		goto fail;
	p = buf;
	/* A read from the middle starts inside a line: skip to the next. */
	if (from > 0 && (p = memchr(buf, '\n', len)) != NULL)
		p++;
	for (; p != NULL && p < buf + len; p = end + 1) {
		cJSON *o;

		if ((end = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			break; /* a line being written */
		o = cJSON_ParseWithLength(p, (size_t)(end - p));
		if (!cJSON_IsObject(o) || !wf_audit_match(o, f)) {
			cJSON_Delete(o);
			continue;
		}
		cJSON_AddItemToArray(out, o);
		if (++n > limit) {
			cJSON_DeleteItemFromArray(out, 0);
			n--;
		}
	}
	free(buf);
	close(fd);
	return out;
fail:
	free(buf);
	close(fd);
	return NULL;
}
