/*
 * wf-notify: delivers the events of events/new to the webhooks that
 * subscribe to them and to the hooks of hooks_dir.
 *
 * The spool rules it keeps:
 *  - An event becomes deliveries before it is claimed: one file per
 *    matching webhook (and one for the hooks) is written whole into
 *    events/deferred under a name made of the event's and the webhook's
 *    (EVENT.wN, EVENT.hooks), fsync'd, and only then is the event renamed
 *    from events/new to events/cur.  That rename commits the fan-out: a
 *    crash before it does the fan-out again onto the same names (nothing
 *    was attempted yet, so nothing is sent twice); a crash after it finds
 *    the deliveries in events/deferred.
 *  - A delivery changes state only by a whole new file renamed over
 *    events/deferred/ID (the next attempt and its time), by its unlink
 *    (delivered), or by a rename to events/dead/ID, done in two steps that
 *    each survive a crash: the file is first rewritten with state "dead",
 *    then moved; a start-up finds a dead one left in deferred/ and moves
 *    it.  A delivery is sent at least once: only the attempts in flight
 *    when the daemon dies or stops are sent again, with the same
 *    webhook-id.  An attempt changes no file until it ends, so SIGTERM
 *    may drop those in flight unanswered.
 *  - Every attempt that ends is one line of log/deliveries.jsonl (one
 *    O_APPEND write); past [notify] log_max the log is first renamed
 *    whole to deliveries.jsonl.1, never rewritten.
 * Webhook attempts run side by side on one libcurl multi handle, in the
 * one poll loop that also serves the signals and inotify: at most
 * [notify] parallel, one per webhook, so that a receiver that hangs holds
 * back nobody else.  Hooks run one at a time, in the loop, as before.
 * One wf-notify per runtime tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "fault.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "sdnotify.h"
#include "spool.h"
#include "store.h"
#include "vault.h"
#include "webhook.h"

#define EVENT_NAME_MAX 48 /* an event's file name, leaving room for .wN */
#define FLY_MAX 64 /* the most [notify] parallel allows */
#define IDLE_MS 3600000 /* a wait with nothing to deliver; the fds end it */

struct pend {
	char id[WF_NAME_MAX + 1];
	int64_t next_at; /* wall ms */
	int64_t wid; /* its webhook; 0 for the hooks */
	int busy; /* its attempt is in flight */
};

/* A webhook attempt in flight: its easy handle and its delivery. */
struct fly {
	CURL *h;
	cJSON *d;
	int64_t wid;
	int max;
};

static struct {
	const char *cfgpath;
	struct wf_config cfg;
	int root, ifd, sfd, wd_new, wd_def, stop;
	struct pend *p;
	size_t np, cap;
	CURLM *multi;
	struct fly fly[FLY_MAX];
	int nfly;
	unsigned long events, delivered, retried, dead, hooks;
	/* A fan-out that could not be written (a full disk): the events
	 * wait in events/new, taken again with backoff; said once. */
	int held, hold_ms, failed;
	int64_t retry_at; /* mono ms; 0: nothing waits */
} G = { .root = -1, .ifd = -1, .sfd = -1 };
#define HOLD_MIN_MS 250
#define HOLD_MAX_MS 8000

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-notify [-v] [-c config]\n"
	    "       wf-notify --test ID [-c config] [--json]\n"
	    "Deliver the events of $WF_HOME/events/new to the webhooks that\n"
	    "subscribe to them (wf webhook) and to the executables of the\n"
	    "hooks directory ([notify] hooks_dir; hooks.d beside the config).\n"
	    "\n"
	    "A delivery is a POST of the event's JSON, signed with the\n"
	    "webhook's secret two ways: X-Webhook-Signature (hex HMAC-SHA256\n"
	    "of the body) and Standard Webhooks' webhook-id, "
	    "webhook-timestamp\n"
	    "and webhook-signature.  A 2xx is success; anything else is tried\n"
	    "again after a back-off that doubles from [notify] backoff_base\n"
	    "(with jitter; a longer Retry-After wins), until the webhook's\n"
	    "max_attempts, after which the delivery goes to events/dead (wf\n"
	    "webhook deliveries --dead; wf webhook redeliver).  A 410 turns\n"
	    "the webhook off.  Each hook gets the event on stdin and is "
	    "killed\n"
	    "after [notify] hook_timeout seconds.  Up to [notify] parallel\n"
	    "attempts run at once, one per webhook.  Every attempt is a line\n"
	    "of log/deliveries.jsonl, renamed to .1 past [notify] log_max.\n"
	    "SIGHUP reloads the config; SIGTERM drops the attempts in flight,\n"
	    "sent again after the next start.\n"
	    "\n"
	    "  -c, --config FILE  config file (default: $WF_CONFIG or %s)\n"
	    "  -v, --verbose      log every attempt\n"
	    "      --test ID      send a webhook.test event to webhook ID "
	    "now,\n"
	    "                     print the outcome and exit: 0 on a 2xx, 1\n"
	    "                     otherwise\n"
	    "      --json         with --test, the outcome as JSON\n",
	    wf_home_config(NULL));
	exit(code);
}

static struct pend *
pend_find(const char *id)
{
	for (size_t i = 0; i < G.np; i++)
		if (strcmp(G.p[i].id, id) == 0)
			return &G.p[i];
	return NULL;
}

static void
pend_set(const char *id, int64_t next_at, int64_t wid)
{
	struct pend *p = pend_find(id);

	if (p == NULL) {
		if (G.np == G.cap) {
			size_t nc = G.cap ? G.cap * 2 : 64;
			void *n = reallocarray(G.p, nc, sizeof(*G.p));

			if (n == NULL) {
				/* Still on disk: the next start finds it. */
				wf_log_warn("delivery %s: out of memory", id);
				return;
			}
			G.p = n;
			G.cap = nc;
		}
		p = &G.p[G.np++];
		strlcpy(p->id, id, sizeof(p->id));
		p->busy = 0;
	}
	/* A stale inotify event for one in flight changes its time only;
	 * its end sets the real one. */
	p->next_at = next_at;
	p->wid = wid;
}

static void
pend_del(const char *id)
{
	struct pend *p = pend_find(id);

	if (p != NULL)
		*p = G.p[--G.np];
}

static const char *
get_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t
get_int(const cJSON *o, const char *k, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	/* An event is anyone's drop: nothing out of range is cast. */
	return cJSON_IsNumber(v) && fabs(v->valuedouble) <= WF_JSON_ID_MAX
	    ? (int64_t)v->valuedouble : dflt;
}

static void
set_num(cJSON *o, const char *k, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddNumberToObject(o, k, v);
}

static void
set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
}

static void
quarantine(const char *dir, const char *name, const char *why)
{
	char path[NAME_MAX + 32], cname[NAME_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(cname, sizeof(cname), "%s-%s",
	    strcmp(dir, "events/new") == 0 ? "event" : "delivery", name);
	wf_log_warn("%s: %s; moved to corrupt/", path, why);
	if (wf_spool_quarantine(G.root, path, cname, why) == -1)
		wf_log_warn("%s: quarantine: %s", path, strerror(errno));
}

/* The delivery reached its end without being delivered. */
static void
to_dead(cJSON *d, const char *why)
{
	const char *id = get_str(d, "id");
	char src[WF_NAME_MAX + 32], dst[WF_NAME_MAX + 32];

	set_str(d, "state", "dead");
	set_num(d, "dead_at", (double)wf_clock_wall_ms());
	if (why != NULL)
		set_str(d, "last_error", why);
	snprintf(src, sizeof(src), "events/deferred/%s", id);
	snprintf(dst, sizeof(dst), "events/dead/%s", id);
	/* Two commits, each whole: the state, then the place. */
	if (wf_webhook_put(G.root, "events/deferred", d, 0) == -1 ||
	    wf_spool_move(G.root, src, dst) == -1)
		wf_log_warn(
		    "delivery %s: to events/dead: %s", id, strerror(errno));
	else
		wf_log_info(
		    "delivery %s is dead: %s", id, why != NULL ? why : "");
	G.dead++;
	pend_del(id);
}

/* A delivery file appeared or changed in events/deferred. */
static void
load_deferred(const char *id)
{
	char err[512], path[WF_NAME_MAX + 32];
	const char *st;
	cJSON *d;

	if (id[0] == '.')
		return;
	if ((d = wf_webhook_get(
		 G.root, "events/deferred", id, err, sizeof(err))) == NULL) {
		if (errno == ENOENT)
			pend_del(id);
		else if (errno == EINVAL || errno == EFBIG || errno == ELOOP) {
			pend_del(id);
			quarantine("events/deferred", id, err);
		} else
			wf_log_warn("%s", err);
		return;
	}
	st = get_str(d, "state");
	if (st != NULL && strcmp(st, "dead") == 0) {
		to_dead(d, NULL); /* a move cut short by a crash */
		G.dead--;
	} else {
		/* A redeliver cut short leaves its old copy in dead/. */
		snprintf(path, sizeof(path), "events/dead/%s", id);
		unlinkat(G.root, path, 0);
		pend_set(
		    id, get_int(d, "next_at", 0), get_int(d, "webhook_id", 0));
	}
	cJSON_Delete(d);
}

static void
scan(const char *dir, void (*fn)(const char *))
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	/* Names first, then the work: fn may add to the directory. */
	fd = openat(G.root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		wf_log_warn("%s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = reallocarray(names, nc, sizeof(*names));

			if (p == NULL)
				break;
			names = p;
			cap = nc;
		}
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		fn(names[i]);
		free(names[i]);
	}
	free(names);
}

static void take_event(const char *);

static void
scanned(const char *name, const char *why, void *arg)
{
	(void)arg;
	if (why == NULL)
		take_event(name);
}

/* events/new as lib/spool reads a new/ directory: what is not a file
 * goes to corrupt/. */
static void
scan_new(void)
{
	if (wf_spool_scan(G.root, "events/new", "event-", scanned, NULL) == -1)
		wf_log_warn("events/new: %s", strerror(errno));
}

static cJSON *
delivery(const char *id, const char *event_id, const char *event,
    const char *body, int64_t now)
{
	char iso[WF_ISO_LEN];
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddStringToObject(d, "event_id", event_id);
	cJSON_AddStringToObject(d, "event", event);
	cJSON_AddNumberToObject(d, "attempt", 0);
	cJSON_AddNumberToObject(d, "next_at", (double)now);
	cJSON_AddStringToObject(d, "state", "pending");
	cJSON_AddStringToObject(
	    d, "created_at", wf_clock_iso(now, iso, sizeof(iso)));
	cJSON_AddStringToObject(d, "body", body);
	return d;
}

static int
event_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= WF_NAME_MAX &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-") == n;
}

/* Turn one event of events/new into its deliveries, then claim it. */
static void
take_event(const char *name)
{
	char path[NAME_MAX + 32], cur[NAME_MAX + 32], id[WF_NAME_MAX + 1];
	char *buf = NULL, *body = NULL;
	cJSON *ev = NULL, *hooks = NULL, *all = NULL, *made, *it;
	const char *evname;
	int64_t now = wf_clock_wall_ms();
	size_t len;
	int bad = 0;

	if (name[0] == '.')
		return;
	snprintf(path, sizeof(path), "events/new/%s", name);
	if (!wf_spool_name_ok(name) || strlen(name) > EVENT_NAME_MAX) {
		/* A name of wf's own, so that EVENT.wN is a name too. */
		char to[WF_NAME_MAX + 32];

		if (wf_spool_name(id, sizeof(id)) == -1)
			return;
		snprintf(to, sizeof(to), "events/new/%s", id);
		if (wf_spool_move(G.root, path, to) == 0)
			take_event(id);
		return;
	}
	if (wf_spool_read(G.root, path, WF_WEBHOOK_BODY_MAX, &buf, &len) ==
	    -1) {
		if (errno != ENOENT)
			quarantine("events/new", name,
			    errno == ELOOP	 ? "a symlink, not an event"
				: errno == EFBIG ? "larger than 1 MiB"
						 : strerror(errno));
		return;
	}
	ev = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsObject(ev) || (evname = get_str(ev, "event")) == NULL ||
	    !event_name_ok(evname)) {
		quarantine("events/new", name,
		    "not an event: a JSON object "
		    "with an \"event\" name of [A-Za-z0-9._-] is needed");
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(ev, "payload") == NULL)
		cJSON_AddItemToObject(ev, "payload", cJSON_CreateObject());
	if ((body = cJSON_PrintUnformatted(ev)) == NULL)
		goto out;
	made = cJSON_CreateArray();
	all = wf_store_list(G.root, &wf_kind_webhook, 0);
	cJSON_ArrayForEach(it, all)
	{
		int64_t wid = get_int(it, "id", 0);
		cJSON *d;

		if (!cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(it, "active")) ||
		    !wf_webhook_match(
			cJSON_GetObjectItemCaseSensitive(it, "events"), evname))
			continue;
		snprintf(id, sizeof(id), "%s.w%lld", name, (long long)wid);
		d = delivery(id, name, evname, body, now);
		cJSON_AddNumberToObject(d, "webhook_id", (double)wid);
		if (wf_webhook_put(
			G.root, "events/deferred", d, WF_SYNC_FILE) == -1) {
			wf_log_warn("delivery %s: %s", id, strerror(errno));
			bad = 1;
		} else
			cJSON_AddItemToArray(made, cJSON_CreateString(id));
		cJSON_Delete(d);
	}
	if (wf_notify_has_hooks(G.cfg.notify.hooks_dir)) {
		snprintf(id, sizeof(id), "%s.hooks", name);
		hooks = delivery(id, name, evname, body, now);
		cJSON_AddBoolToObject(hooks, "hooks", 1);
		if (wf_webhook_put(
			G.root, "events/deferred", hooks, WF_SYNC_FILE) == -1) {
			wf_log_warn("delivery %s: %s", id, strerror(errno));
			bad = 1;
		} else
			cJSON_AddItemToArray(made, cJSON_CreateString(id));
	}
	/* The deliveries are durable before the event leaves new/: the
	 * claim below is the commit of the fan-out. */
	if (bad || wf_spool_sync_dir(G.root, "events/deferred") == -1) {
		if (!G.held)
			wf_log_warn("event %s: its deliveries could not be "
			    "written; events wait in events/new, taken again "
			    "with backoff", name);
		G.held = G.failed = 1;
		G.hold_ms = G.hold_ms == 0 ? HOLD_MIN_MS :
		    G.hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS : G.hold_ms * 2;
		G.retry_at = wf_clock_mono_ms() + G.hold_ms;
		cJSON_Delete(made);
		goto out;
	}
	wf_fault("notify.fanout");
	snprintf(cur, sizeof(cur), "events/cur/%s", name);
	if (wf_spool_move(G.root, path, cur) == -1 && errno != ENOENT)
		wf_log_warn("event %s: claim: %s", name, strerror(errno));
	G.events++;
	cJSON_ArrayForEach(it, made)
	{
		const char *w = strrchr(it->valuestring, '.');

		pend_set(it->valuestring, now,
		    w != NULL && w[1] == 'w' ? strtoll(w + 2, NULL, 10) : 0);
	}
	wf_log_debug("event %s (%s): %d deliveries", name, evname,
	    cJSON_GetArraySize(made));
	cJSON_Delete(made);
out:
	cJSON_Delete(ev);
	cJSON_Delete(hooks);
	cJSON_Delete(all);
	free(body);
}

static void
log_attempt(const cJSON *d, int64_t wid, const struct wf_notify_result *r,
    const char *outcome)
{
	char iso[WF_ISO_LEN];
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(
	    l, "timestamp", wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	cJSON_AddStringToObject(l, "delivery", get_str(d, "id"));
	cJSON_AddNumberToObject(l, "webhook_id", (double)wid);
	cJSON_AddStringToObject(l, "event", get_str(d, "event"));
	if (get_str(d, "event_id") != NULL)
		cJSON_AddStringToObject(l, "event_id", get_str(d, "event_id"));
	cJSON_AddNumberToObject(l, "attempt", (double)get_int(d, "attempt", 0));
	cJSON_AddNumberToObject(l, "status", (double)r->status);
	cJSON_AddNumberToObject(l, "latency_ms", (double)r->latency_ms);
	if (r->error[0] != '\0')
		cJSON_AddStringToObject(l, "error", r->error);
	if (r->retry_after > 0)
		cJSON_AddNumberToObject(
		    l, "retry_after", (double)r->retry_after);
	cJSON_AddStringToObject(l, "outcome", outcome);
	if (wf_webhook_log(G.root, l, G.cfg.notify.log_max) == -1)
		wf_log_warn("%s: %s", WF_WEBHOOK_LOG, strerror(errno));
	cJSON_Delete(l);
}

static void
hook_done(void *arg, const char *hook, int status, int timed_out,
    int64_t latency_ms, const char *output)
{
	const cJSON *d = arg;
	char iso[WF_ISO_LEN];
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(
	    l, "timestamp", wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	cJSON_AddStringToObject(l, "delivery", get_str(d, "id"));
	cJSON_AddStringToObject(l, "hook", hook);
	cJSON_AddStringToObject(l, "event", get_str(d, "event"));
	cJSON_AddStringToObject(l, "event_id", get_str(d, "event_id"));
	cJSON_AddNumberToObject(l, "exit", status);
	cJSON_AddBoolToObject(l, "timed_out", timed_out);
	cJSON_AddNumberToObject(l, "latency_ms", (double)latency_ms);
	if (output[0] != '\0')
		cJSON_AddStringToObject(l, "output", output);
	if (wf_webhook_log(G.root, l, G.cfg.notify.log_max) == -1)
		wf_log_warn("%s: %s", WF_WEBHOOK_LOG, strerror(errno));
	cJSON_Delete(l);
	G.hooks++;
	if (status != 0 || timed_out)
		wf_log_warn("hook %s (%s): %s %d%s%s", hook,
		    get_str(d, "event"),
		    timed_out ? "killed after the timeout, status"
			      : "exit status",
		    status, output[0] ? ": " : "", output);
	else
		wf_log_debug("hook %s (%s): ok in %lld ms", hook,
		    get_str(d, "event"), (long long)latency_ms);
}

/* Record what the webhook's last attempt said; trusted fields. */
static void
note_webhook(int64_t wid, long status, int disable, const char *why)
{
	char iso[WF_ISO_LEN], err[512];
	cJSON *patch = cJSON_CreateObject();

	cJSON_AddNumberToObject(patch, "last_status", (double)status);
	cJSON_AddStringToObject(patch, "last_delivery_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if (disable) {
		cJSON_AddBoolToObject(patch, "active", 0);
		cJSON_AddStringToObject(patch, "disabled_reason", why);
	}
	if (wf_store_update(G.root, &wf_kind_webhook, wid, patch, 1, err,
		sizeof(err)) == -1 &&
	    errno != ENOENT)
		wf_log_warn("%s", err);
	else if (disable) {
		cJSON *a = cJSON_CreateObject();

		cJSON_AddStringToObject(a, "reason", why);
		wf_audit_append(G.root, "webhook.disabled", "webhook", wid, a);
		cJSON_Delete(a);
	}
	cJSON_Delete(patch);
}

/* What the outcome r of an attempt of d (to webhook wid, of max) means. */
static void
settle(cJSON *d, int64_t wid, int max, const struct wf_notify_result *r)
{
	const char *id = get_str(d, "id");
	char reason[512];
	int64_t next;
	int attempt;

	attempt = (int)get_int(d, "attempt", 0) + 1;
	set_num(d, "attempt", attempt);
	set_num(d, "last_status", (double)r->status);
	if (r->status >= 200 && r->status <= 299) {
		char path[WF_NAME_MAX + 32];

		log_attempt(d, wid, r, "delivered");
		wf_fault("notify.delivered");
		snprintf(path, sizeof(path), "events/deferred/%s", id);
		if (unlinkat(G.root, path, 0) == -1 && errno != ENOENT)
			wf_log_warn("%s: %s", path, strerror(errno));
		pend_del(id);
		G.delivered++;
		wf_log_debug("delivery %s: HTTP %ld in %lld ms (attempt %d)",
		    id, r->status, (long long)r->latency_ms, attempt);
		note_webhook(wid, r->status, 0, NULL);
		return;
	}
	wf_log_info(
	    "delivery %s: attempt %d of %d: %s", id, attempt, max, r->error);
	if (r->status == 410) {
		char iso[WF_ISO_LEN];

		log_attempt(d, wid, r, "gone");
		snprintf(reason, sizeof(reason),
		    "HTTP 410 Gone at %s "
		    "(delivery %s)",
		    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)), id);
		note_webhook(wid, r->status, 1, reason);
		wf_log_warn(
		    "webhook %lld: %s; turned off", (long long)wid, reason);
		to_dead(d, r->error);
		return;
	}
	if (r->status != 0)
		note_webhook(wid, r->status, 0, NULL);
	if (attempt >= max) {
		log_attempt(d, wid, r, "dead");
		to_dead(d, r->error);
		return;
	}
	next = wf_clock_wall_ms() +
	    wf_webhook_delay_ms(attempt, G.cfg.notify.backoff_base_ms,
		G.cfg.notify.backoff_max_ms, r->retry_after,
		randombytes_random());
	set_num(d, "next_at", (double)next);
	set_str(d, "last_error", r->error);
	log_attempt(d, wid, r, "retry");
	/* The new attempt count and time replace the file whole. */
	if (wf_webhook_put(G.root, "events/deferred", d, 0) == -1)
		wf_log_warn("delivery %s: %s", id, strerror(errno));
	pend_set(id, next, wid);
	G.retried++;
}

/*
 * Start one POST of a webhook delivery on the multi handle; 1 when d went
 * with it (reap settles it), 0 when it was settled or put to rest here.
 */
static int
send_one(cJSON *d)
{
	struct wf_notify_result r = { 0 };
	const char *id = get_str(d, "id"), *url, *why;
	int64_t wid = get_int(d, "webhook_id", 0);
	char err[512], *secret = NULL, reason[512];
	struct pend *p;
	cJSON *wh = NULL;
	CURL *h = NULL;
	size_t slen = 0;
	int max, timeout, rc = 0;

	if (wf_store_get(
		G.root, &wf_kind_webhook, wid, &wh, err, sizeof(err)) == -1) {
		if (errno == ENOENT) {
			snprintf(reason, sizeof(reason),
			    "webhook %lld was "
			    "removed",
			    (long long)wid);
			to_dead(d, reason);
		} else
			wf_log_warn("delivery %s: %s", id, err);
		goto out;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(wh, "active"))) {
		why = get_str(wh, "disabled_reason");
		snprintf(reason, sizeof(reason), "webhook %lld is inactive%s%s",
		    (long long)wid, why != NULL ? ": " : "", why ? why : "");
		to_dead(d, reason);
		goto out;
	}
	max = (int)get_int(wh, "max_attempts", G.cfg.notify.max_attempts);
	timeout = (int)get_int(wh, "timeout", G.cfg.notify.timeout);
	if (max < 1)
		max = 1;
	if (timeout < 1 || timeout > 3600)
		timeout = G.cfg.notify.timeout;
	url = get_str(wh, "url");
	if (url == NULL)
		snprintf(r.error, sizeof(r.error), "the webhook has no url");
	else if (wf_vault_open(G.root,
		     cJSON_GetObjectItemCaseSensitive(wh, "secret"), &secret,
		     &slen, err, sizeof(err)) == -1)
		snprintf(r.error, sizeof(r.error), "its secret: %.200s", err);
	else
		h = wf_notify_start(url, get_str(d, "event"), id,
		    get_str(d, "body"), secret, slen, timeout, &r);
	wf_vault_free(secret);
	if (h != NULL && curl_multi_add_handle(G.multi, h) != CURLM_OK) {
		wf_notify_finish(h, CURLE_OK, NULL);
		h = NULL;
		snprintf(r.error, sizeof(r.error), "libcurl refused it");
	}
	if (h == NULL) {
		settle(d, wid, max, &r);
		goto out;
	}
	G.fly[G.nfly++] = (struct fly){ h, d, wid, max };
	if ((p = pend_find(id)) != NULL)
		p->busy = 1;
	rc = 1;
out:
	cJSON_Delete(wh);
	return rc;
}

/* Settle the attempts that have ended. */
static void
reap(void)
{
	struct wf_notify_result r;
	struct pend *p;
	struct fly f;
	CURLMsg *m;
	CURLcode cc;
	CURL *h;
	int left, i;

	while ((m = curl_multi_info_read(G.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m is curl's until the handle leaves: copy it first. */
		h = m->easy_handle;
		cc = m->data.result;
		for (i = 0; i < G.nfly && G.fly[i].h != h; i++)
			;
		curl_multi_remove_handle(G.multi, h);
		if (i == G.nfly) {
			wf_notify_finish(h, cc, NULL); /* not ours: cannot be */
			continue;
		}
		f = G.fly[i];
		G.fly[i] = G.fly[--G.nfly];
		wf_notify_finish(h, cc, &r);
		if ((p = pend_find(get_str(f.d, "id"))) != NULL)
			p->busy = 0;
		settle(f.d, f.wid, f.max, &r);
		cJSON_Delete(f.d);
	}
}

/*
 * SIGTERM: the attempts in flight are dropped unanswered.  Their files
 * are as before the attempt, so the next start sends them again, with
 * the same webhook-id.
 */
static void
abandon(void)
{
	for (int i = 0; i < G.nfly; i++) {
		curl_multi_remove_handle(G.multi, G.fly[i].h);
		wf_notify_finish(G.fly[i].h, CURLE_OK, NULL);
		cJSON_Delete(G.fly[i].d);
	}
	if (G.nfly > 0)
		wf_log_info(
		    "%d attempts in flight left for the next start", G.nfly);
	G.nfly = 0;
}

/* May a delivery of webhook wid start now? */
static int
fly_room(int64_t wid)
{
	if (wid == 0)
		return 1; /* the hooks take no slot */
	if (G.nfly >= G.cfg.notify.parallel || G.nfly >= FLY_MAX)
		return 0;
	/* One at a time per webhook: a receiver that hangs holds one slot,
	 * and its deliveries keep their order. */
	for (int i = 0; i < G.nfly; i++)
		if (G.fly[i].wid == wid)
			return 0;
	return 1;
}

static void
attempt(const char *id)
{
	char err[512], path[WF_NAME_MAX + 32], name[WF_NAME_MAX + 1];
	cJSON *d;

	strlcpy(name, id, sizeof(name)); /* id is in G.p, which moves */
	if ((d = wf_webhook_get(
		 G.root, "events/deferred", name, err, sizeof(err))) == NULL) {
		pend_del(name);
		if (errno == EINVAL || errno == EFBIG || errno == ELOOP)
			quarantine("events/deferred", name, err);
		else if (errno != ENOENT)
			wf_log_warn("%s", err);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "hooks"))) {
		/* Hooks run once: their exit status is logged, not
		 * retried. */
		wf_notify_hooks(G.cfg.notify.hooks_dir, get_str(d, "event"),
		    get_str(d, "event_id"), get_str(d, "body"),
		    G.cfg.notify.hook_timeout, hook_done, d);
		snprintf(path, sizeof(path), "events/deferred/%s", name);
		if (unlinkat(G.root, path, 0) == -1 && errno != ENOENT)
			wf_log_warn("%s: %s", path, strerror(errno));
		pend_del(name);
	} else if (send_one(d))
		return; /* d is in flight */
	cJSON_Delete(d);
}

static void
signals(void)
{
	struct signalfd_siginfo si;
	char err[512];

	while (read(G.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (wf_config_read(&G.cfg, G.cfgpath, err,
			    sizeof(err)) == -1)
				wf_log_warn(
				    "reload: %s; keeping the old config", err);
			else
				wf_log_info("reloaded %s", G.cfgpath);
		} else
			G.stop = 1;
	}
}

/* Start every delivery that is due and has room, earliest first; -1 or
 * the ms until the next one.  Those without room wait for a transfer's
 * end, which comes back here. */
static int
run_due(void)
{
	for (;;) {
		int64_t now = wf_clock_wall_ms(), best = INT64_MAX;
		size_t bi = 0;
		int found = 0;

		signals();
		if (G.stop)
			return -1;
		for (size_t i = 0; i < G.np; i++)
			if (!G.p[i].busy && G.p[i].next_at < best &&
			    fly_room(G.p[i].wid)) {
				best = G.p[i].next_at;
				bi = i;
				found = 1;
			}
		if (!found)
			return -1;
		if (best > now)
			return best - now > INT_MAX ? INT_MAX
						    : (int)(best - now);
		attempt(G.p[bi].id);
	}
}

static void
status(void)
{
	char s[200];

	snprintf(s, sizeof(s),
	    "STATUS=%lu events, %lu delivered, %lu retried, "
	    "%lu dead, %lu hook runs, %zu waiting, %d in flight",
	    G.events, G.delivered, G.retried, G.dead, G.hooks, G.np, G.nfly);
	wf_sd_notify(s);
}

/* wf-notify --test ID: one webhook.test delivery, now. */
static int
test_webhook(const char *arg, int json)
{
	struct wf_notify_result r = { 0 };
	char err[512], id[WF_NAME_MAX + 1], iso[WF_ISO_LEN], *secret = NULL;
	char *body = NULL;
	const char *errstr, *url;
	cJSON *wh = NULL, *ev = NULL, *p, *d = NULL;
	size_t slen = 0;
	int64_t wid;
	int rc = EX_UNAVAILABLE;

	wid = strtonum(arg, 1, INT64_C(1) << 50, &errstr);
	if (errstr != NULL) {
		wf_log_warn("--test %.40s: not a webhook id", arg);
		return EX_USAGE;
	}
	if (wf_store_get(
		G.root, &wf_kind_webhook, wid, &wh, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	if (wf_vault_open(G.root,
		cJSON_GetObjectItemCaseSensitive(wh, "secret"), &secret, &slen,
		err, sizeof(err)) == -1) {
		wf_log_warn(
		    "webhook %lld: its secret: %s", (long long)wid, err);
		rc = EX_CONFIG;
		goto out;
	}
	url = get_str(wh, "url");
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "event", "webhook.test");
	cJSON_AddStringToObject(ev, "timestamp",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	p = cJSON_AddObjectToObject(ev, "payload");
	cJSON_AddNumberToObject(p, "webhook_id", (double)wid);
	cJSON_AddStringToObject(p, "name", get_str(wh, "name"));
	cJSON_AddStringToObject(p, "message", "a test delivery from wf");
	if (wf_spool_name(id, sizeof(id)) == -1 || url == NULL ||
	    (body = cJSON_PrintUnformatted(ev)) == NULL) {
		rc = EX_SOFTWARE;
		goto out;
	}
	wf_notify_post(url, "webhook.test", id, body, secret, slen,
	    (int)get_int(wh, "timeout", G.cfg.notify.timeout), &r);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddStringToObject(d, "event", "webhook.test");
	cJSON_AddNumberToObject(d, "attempt", 1);
	log_attempt(d, wid, &r,
	    r.status >= 200 && r.status <= 299 ? "delivered" : "failed");
	note_webhook(wid, r.status, 0, NULL);
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s;

		cJSON_AddNumberToObject(o, "webhook_id", (double)wid);
		cJSON_AddStringToObject(o, "delivery", id);
		cJSON_AddNumberToObject(o, "status", (double)r.status);
		cJSON_AddNumberToObject(o, "latency_ms", (double)r.latency_ms);
		cJSON_AddBoolToObject(
		    o, "ok", r.status >= 200 && r.status <= 299);
		if (r.error[0] != '\0')
			cJSON_AddStringToObject(o, "error", r.error);
		if ((s = cJSON_PrintUnformatted(o)) != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else if (r.status >= 200 && r.status <= 299)
		printf("webhook %lld: HTTP %ld in %lld ms\n", (long long)wid,
		    r.status, (long long)r.latency_ms);
	else
		printf("webhook %lld: failed in %lld ms: %s\n", (long long)wid,
		    (long long)r.latency_ms, r.error);
	rc = r.status >= 200 && r.status <= 299 ? 0 : 1;
out:
	wf_vault_free(secret);
	free(body);
	cJSON_Delete(d);
	cJSON_Delete(ev);
	cJSON_Delete(wh);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "test", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home, *test = NULL;
	char err[512];
	sigset_t mask;
	int c, verbose = 0, json = 0, rc = EX_OSERR, lockfd;

	wf_log_init("wf-notify", 0);
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': G.cfgpath = optarg; break;
		case 'v': verbose = 1; break;
		case 'T': test = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(0); break;
		case 'V': printf("wf-notify %s\n", WF_VERSION); return 0;
		default: usage(EX_USAGE);
		}
	}
	if (optind != argc || (json && test == NULL))
		usage(EX_USAGE);
	wf_log_init("wf-notify", verbose);
	wf_audit_set_actor("wf-notify");
	G.cfgpath = wf_home_config(G.cfgpath);
	if (wf_config_read(&G.cfg, G.cfgpath, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	home = wf_home_dir();
	if ((G.root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	/* One per tree, and a test delivery (--test) counts as none: it
	 * reads the spool and takes nothing from it. */
	if (test == NULL &&
	    (c = wf_daemon_start(G.root, home, "wf-notify", &lockfd)) != 0)
		return c;
	if (sodium_init() < 0 || wf_notify_init() == -1 ||
	    (test == NULL && (G.multi = curl_multi_init()) == NULL)) {
		wf_log_warn("libsodium or libcurl cannot start");
		return EX_SOFTWARE;
	}
	/* A hook that does not read its stdin must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (test != NULL) {
		rc = test_webhook(test, json);
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((G.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (G.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		wf_log_warn("signalfd/inotify: %s", strerror(errno));
		goto out;
	}
	if ((G.wd_new = wf_spool_watch(G.ifd, home, "events/new",
	    WF_SPOOL_NEW_EVENTS)) == -1 ||
	    (G.wd_def = wf_spool_watch(G.ifd, home, "events/deferred",
	    IN_MOVED_TO)) == -1) {
		wf_log_warn("inotify %s/events: %s", home, strerror(errno));
		goto out;
	}
	/* Deliveries first: an event left in new/ by a crash before its
	 * claim is fanned out again onto the same names. */
	scan("events/deferred", load_deferred);
	scan_new();
	wf_sd_notify("READY=1");
	wf_log_info("ready: %s (%zu deliveries waiting)", home, G.np);

	/* One loop, no threads: curl's sockets and timers, the signals and
	 * the events all wake the one poll of curl_multi_poll. */
	while (!G.stop) {
		char buf[16384]
		    __attribute__((aligned(__alignof__(struct inotify_event))));
		struct curl_waitfd xfd[2] = { { G.sfd, CURL_WAIT_POLLIN, 0 },
			{ G.ifd, CURL_WAIT_POLLIN, 0 } };
		CURLMcode mc;
		ssize_t n;
		int wait, running;

		wait = run_due();
		status();
		if (G.stop)
			break;
		if (G.retry_at != 0) {
			int64_t t = G.retry_at - wf_clock_mono_ms();

			if (t <= 0) {
				/* Events held for room: taken again. */
				G.retry_at = 0;
				G.failed = 0;
				scan_new();
				if (!G.failed && G.held) {
					wf_log_info("events are taken again");
					G.held = 0;
					G.hold_ms = 0;
				}
				continue;
			}
			if (wait < 0 || t < wait)
				wait = (int)t;
		}
		mc = curl_multi_poll(
		    G.multi, xfd, 2, wait < 0 ? IDLE_MS : wait, NULL);
		if (mc == CURLM_OK)
			mc = curl_multi_perform(G.multi, &running);
		if (mc != CURLM_OK) {
			/* Not a spin: the next turn waits a little. */
			wf_log_warn("libcurl: %s", curl_multi_strerror(mc));
			poll(NULL, 0, 100);
		}
		reap();
		signals();
		while ((n = read(G.ifd, buf, sizeof(buf))) > 0) {
			for (char *p = buf; p < buf + n;) {
				struct inotify_event *ev =
				    (struct inotify_event *)p;

				p += sizeof(*ev) + ev->len;
				if (ev->mask & IN_Q_OVERFLOW) {
					scan("events/deferred", load_deferred);
					scan_new();
					continue;
				}
				if (ev->len == 0)
					continue;
				if (ev->wd == G.wd_new &&
				    wf_spool_arrived(G.root, "events/new",
				    ev->name, ev->mask, "event-", NULL, 0) == 1)
					take_event(ev->name);
				else if (ev->wd == G.wd_def)
					load_deferred(ev->name);
			}
		}
	}
	wf_sd_notify("STOPPING=1");
	abandon();
	wf_log_info("stopped");
	rc = 0;
out:
	if (G.multi != NULL)
		curl_multi_cleanup(G.multi);
	free(G.p);
	if (G.ifd != -1)
		close(G.ifd);
	if (G.sfd != -1)
		close(G.sfd);
	close(G.root);
	wf_notify_fini();
	return rc;
}
