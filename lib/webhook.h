/*
 * webhook: what a delivery needs besides HTTP itself, so that the CLI can
 * use it without loading libcurl: subscription matching, the two
 * signatures (the seed's X-Webhook-Signature and Standard Webhooks'
 * webhook-signature), secrets, the retry schedule, URL checks, the
 * delivery files of events/deferred and events/dead, and the attempt log
 * log/deliveries.jsonl (one JSON object a line, one O_APPEND write each;
 * rotated by a rename to deliveries.jsonl.1).
 */
#ifndef WF_WEBHOOK_H
#define WF_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define WF_WEBHOOK_SECRET_MAX 512 /* bytes of a secret string */
#define WF_WEBHOOK_SIG_MAX 128 /* "v1,<base64 of 32 bytes>" and hex */
#define WF_WEBHOOK_URL_MAX 2048
#define WF_WEBHOOK_BODY_MAX (1 << 20) /* largest event delivered */
#define WF_WEBHOOK_LOG "log/deliveries.jsonl"

/* Does one glob match an event name, or the seed's alias of it (its dots
 * as underscores: run_state_changed for run.state_changed)? */
bool wf_webhook_glob(const char *pattern, const char *event);
/* Does any glob of a subscription list match?  NULL or [] means all. */
bool wf_webhook_match(const cJSON *events, const char *event);
/* Is a subscription glob acceptable: 1..128 bytes of [A-Za-z0-9._*?-]? */
bool wf_webhook_pattern_ok(const char *pattern);

/* Is url an http(s) URL with a host and nothing that breaks a header?
 * -1 with the reason in err otherwise. */
int wf_webhook_url_ok(const char *url, char *err, size_t errlen);

/* A new Standard Webhooks secret: "whsec_" and the base64 of 32 random
 * bytes. */
int wf_webhook_secret_new(char *buf, size_t len);

/*
 * Sign one attempt.  std gets "v1,<base64>" of HMAC-SHA256 over
 * "msgid.ts.body" keyed with the decoded bytes of a whsec_ secret (the
 * string's own bytes when it is not one); hex gets the seed's hex
 * HMAC-SHA256 of the body keyed with the secret string as given.  Each
 * buffer takes WF_WEBHOOK_SIG_MAX bytes.
 */
int wf_webhook_sign(const char *secret, size_t secretlen, const char *msgid,
    int64_t ts, const char *body, size_t bodylen, char *std, char *hex);

/*
 * The delay before the next attempt, after attempt (1 for the first) has
 * failed: base_ms doubling each attempt up to max_ms, the upper half
 * jittered by rnd (any 32 bits); a Retry-After the receiver gave
 * (retry_after_s > 0) wins when it is longer, capped at a day.
 */
int64_t wf_webhook_delay_ms(int attempt, int64_t base_ms, int64_t max_ms,
    int64_t retry_after_s, uint32_t rnd);

/* Delivery files: events/deferred/ID and events/dead/ID, JSON objects
 * {"id","event_id","event","webhook_id","attempt","max_attempts",
 * "next_at" (wall ms),"state":"pending|dead","body","last_status",
 * "last_error","created_at"}.  A hooks delivery has "hooks": true and no
 * webhook.  wf_webhook_put writes one whole under events/tmp and renames
 * it to dir/id (the commit); flags are wf_spool_write's (WF_SYNC_*). */
int wf_webhook_put(int root, const char *dir, const cJSON *d, int flags);
/* Read and check one; NULL with the reason in err. */
cJSON *wf_webhook_get(
    int root, const char *dir, const char *id, char *err, size_t errlen);

/* A record fit to show: the sealed secret out, "has_secret" in. */
void wf_webhook_redact(cJSON *rec);
/* Create the webhook of fields (consumed; checked as a caller's: the URL
 * too), its secret sealed by the vault: secret (len bytes, NUL-ended)
 * when secret[0] is not NUL, else a new one made into it (*made = 1), to
 * be shown once.  Audited without the secret.  *id gets its id. */
int wf_webhook_create(int root, cJSON *fields, char *secret, size_t len,
    int *made, int64_t *id, char *err, size_t errlen);
/* Delete webhook id, audited. */
int wf_webhook_delete(int root, int64_t id, char *err, size_t errlen);

/* Append one attempt to log/deliveries.jsonl (not consumed).  When the
 * log holds more than max bytes (max > 0) it is first renamed to
 * log/deliveries.jsonl.1, over an older one. */
int wf_webhook_log(int root, const cJSON *line, long max);

/* The dead deliveries (events/dead), oldest first, of webhook wid (0:
 * all), without their bodies: an array, NULL when out of memory. */
cJSON *wf_webhook_dead_list(int root, int64_t wid);
/* Put dead delivery id back in events/deferred, its attempts reset, and
 * audit it.  -1 with err and errno: ENOENT no such dead delivery, EINVAL
 * not a delivery, EBUSY its webhook is gone or inactive, else the write's. */
int wf_webhook_redeliver(int root, const char *id, char *err, size_t errlen);

#endif
