/*
 * notify: one webhook attempt over libcurl (a signed POST of an event's
 * body), on its own or as an easy handle of the caller's multi handle,
 * and one run of the hooks of hooks_dir.  Only wf-notify links it,
 * so that nothing else loads libcurl for it.
 */
#ifndef WF_NOTIFY_H
#define WF_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

struct wf_notify_result {
	long status; /* the HTTP status; 0 when none came */
	int64_t latency_ms; /* of the whole attempt, monotonic */
	int64_t retry_after; /* seconds the receiver asked for; 0 none */
	char error[256]; /* why, when not a 2xx */
};

/* Once per process, before any thread. */
int wf_notify_init(void);
void wf_notify_fini(void);

/*
 * POST body to url with the headers of a delivery: Content-Type,
 * User-Agent, webhook-id (msgid), webhook-timestamp (now),
 * webhook-signature and X-Webhook-Signature made with secret, and
 * X-Webhook-Event.  Redirects are not followed; loopback never goes
 * through a proxy.  0 on a 2xx, else -1 with r filled in.
 */
int wf_notify_post(const char *url, const char *event, const char *msgid,
    const char *body, const char *secret, size_t secretlen, int timeout,
    struct wf_notify_result *r);

/*
 * The same attempt in two halves, for a multi handle: wf_notify_start
 * makes the easy handle (the body is copied; its CURLOPT_PRIVATE is
 * notify's own), or returns NULL with r filled in when it cannot.  Once
 * the transfer is done with cc, wf_notify_finish fills r as
 * wf_notify_post would and returns the same; with r NULL it abandons the
 * attempt.  Either way it frees the handle, which the caller has taken
 * out of its multi handle.
 */
CURL *wf_notify_start(const char *url, const char *event, const char *msgid,
    const char *body, const char *secret, size_t secretlen, int timeout,
    struct wf_notify_result *r);
int wf_notify_finish(CURL *h, CURLcode cc, struct wf_notify_result *r);

/*
 * What an attempt's end means: cc and status as curl gave them, the
 * Retry-After seconds (<= 0 none), the head of the reply and curl's error
 * buffer (or NULL).  Fills r but its latency; 0 for a 2xx, else -1.
 */
int wf_notify_outcome(CURLcode cc, long status, long long retry_after,
    const char *reply, size_t len, const char *ebuf,
    struct wf_notify_result *r);

/*
 * Run every executable of dir (dotfiles and non-executables skipped), in
 * name order, one at a time, each in its own process group with the body
 * on its stdin, WF_EVENT and WF_EVENT_ID in its environment, killed after
 * timeout seconds.  Each run is reported through cb (name, exit status or
 * -signal, latency, a short excerpt of its output).  Returns how many ran.
 */
typedef void (*wf_notify_hook_cb)(void *arg, const char *hook, int status,
    int timed_out, int64_t latency_ms, const char *output);
int wf_notify_hooks(const char *dir, const char *event, const char *event_id,
    const char *body, int timeout, wf_notify_hook_cb cb, void *arg);
/* Does dir hold at least one hook? */
int wf_notify_has_hooks(const char *dir);

#endif
