/*
 * webhook: matching, signing, the retry schedule and the delivery files
 * of wf-notify.  Crypto, base64 and randomness are libsodium's.  A
 * delivery file changes only by a whole new file renamed over it, so a
 * reader sees the old state or the new one; the attempt log takes one
 * O_APPEND write a line, so concurrent writers never mix their lines,
 * and is rotated by one rename to deliveries.jsonl.1, never rewritten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "clock.h"
#include "spool.h"
#include "store.h"
#include "vault.h"
#include "webhook.h"

#define B64 sodium_base64_VARIANT_ORIGINAL
#define DAY_MS (INT64_C(86400) * 1000)

bool
wf_webhook_glob(const char *pattern, const char *event)
{
	char alias[WF_NAME_MAX * 2 + 1];
	size_t i;

	if (fnmatch(pattern, event, 0) == 0)
		return true;
	for (i = 0; i < sizeof(alias) - 1 && event[i] != '\0'; i++)
		alias[i] = event[i] == '.' ? '_' : event[i];
	alias[i] = '\0';
	return event[i] == '\0' && fnmatch(pattern, alias, 0) == 0;
}

bool
wf_webhook_match(const cJSON *events, const char *event)
{
	const cJSON *it;

	if (events == NULL || cJSON_IsNull(events) ||
	    (cJSON_IsArray(events) && cJSON_GetArraySize(events) == 0))
		return true;
	cJSON_ArrayForEach(it, events)
	{
		if (cJSON_IsString(it) &&
		    wf_webhook_glob(it->valuestring, event))
			return true;
	}
	return false;
}

bool
wf_webhook_pattern_ok(const char *p)
{
	size_t n = strlen(p);

	return n > 0 && n <= 128 &&
	    strspn(p,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._*?-") == n;
}

int
wf_webhook_url_ok(const char *url, char *err, size_t errlen)
{
	const char *host;
	size_t n = strlen(url);

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		snprintf(err, errlen,
		    "url: '%.64s' is not an http:// or "
		    "https:// URL",
		    url);
		return -1;
	}
	if (n > WF_WEBHOOK_URL_MAX) {
		snprintf(err, errlen, "url: longer than %d bytes",
		    WF_WEBHOOK_URL_MAX);
		return -1;
	}
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen,
			    "url: contains a space or a "
			    "control character");
			return -1;
		}
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' ||
	    *host == '#') {
		snprintf(err, errlen, "url: '%.64s' has no host", url);
		return -1;
	}
	return 0;
}

int
wf_webhook_secret_new(char *buf, size_t len)
{
	unsigned char raw[32];

	if (sodium_init() < 0 ||
	    len < 6 + sodium_base64_ENCODED_LEN(sizeof(raw), B64))
		return -1;
	randombytes_buf(raw, sizeof(raw));
	memcpy(buf, "whsec_", 6);
	sodium_bin2base64(buf + 6, len - 6, raw, sizeof(raw), B64);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

static void
hmac(const unsigned char *key, size_t keylen, const void *a, size_t alen,
    const void *b, size_t blen, unsigned char out[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, a, alen);
	if (b != NULL)
		crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int
wf_webhook_sign(const char *secret, size_t secretlen, const char *msgid,
    int64_t ts, const char *body, size_t bodylen, char *std, char *hex)
{
	unsigned char key[WF_WEBHOOK_SECRET_MAX], mac[32];
	const unsigned char *k = (const unsigned char *)secret;
	size_t klen = secretlen;
	char head[WF_NAME_MAX * 2 + 32];
	int n;

	if (sodium_init() < 0 || secretlen > WF_WEBHOOK_SECRET_MAX)
		return -1;
	/* Standard Webhooks: the key is the secret's decoded bytes. */
	if (secretlen > 6 && memcmp(secret, "whsec_", 6) == 0 &&
	    sodium_base642bin(key, sizeof(key), secret + 6, secretlen - 6, NULL,
		&klen, NULL, B64) == 0 &&
	    klen > 0)
		k = key;
	else
		klen = secretlen;
	n = snprintf(head, sizeof(head), "%s.%lld.", msgid, (long long)ts);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	hmac(k, klen, head, (size_t)n, body, bodylen, mac);
	sodium_memzero(key, sizeof(key));
	memcpy(std, "v1,", 3);
	sodium_bin2base64(
	    std + 3, WF_WEBHOOK_SIG_MAX - 3, mac, sizeof(mac), B64);
	/* The seed's: the body alone, keyed with the string as given. */
	hmac((const unsigned char *)secret, secretlen, body, bodylen, NULL, 0,
	    mac);
	sodium_bin2hex(hex, WF_WEBHOOK_SIG_MAX, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return 0;
}

int64_t
wf_webhook_delay_ms(int attempt, int64_t base_ms, int64_t max_ms,
    int64_t retry_after_s, uint32_t rnd)
{
	int64_t d = base_ms > 0 ? base_ms : 1;

	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* Equal jitter: at least half the delay, so that the schedule still
	 * backs off, and the rest spread so that receivers that failed
	 * together are not all retried at once. */
	d = d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
	if (retry_after_s > 0) {
		int64_t ra =
		    retry_after_s > 86400 ? DAY_MS : retry_after_s * 1000;

		if (ra > d)
			d = ra;
	}
	return d;
}

int
wf_webhook_put(int root, const char *dir, const cJSON *d, int flags)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
	char *s;
	int rc;

	if (!cJSON_IsString(id) || !wf_spool_name_ok(id->valuestring)) {
		errno = EINVAL;
		return -1;
	}
	if ((s = cJSON_PrintUnformatted(d)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	/* A file of this name in events/tmp is a dead try of this very
	 * delivery (its id is its own, and one wf-notify writes it): a
	 * writer killed between its create and its rename.  Dropped, or
	 * O_EXCL would refuse the delivery, and its event, for good. */
	{
		char tpath[WF_NAME_MAX + 16];

		snprintf(tpath, sizeof(tpath), "events/tmp/%s",
		    id->valuestring);
		unlinkat(root, tpath, 0);
	}
	rc = wf_spool_write(
	    root, "events/tmp", dir, id->valuestring, s, strlen(s), flags);
	free(s);
	return rc;
}

cJSON *
wf_webhook_get(
    int root, const char *dir, const char *id, char *err, size_t errlen)
{
	char path[WF_NAME_MAX + 32], *buf;
	const cJSON *v;
	cJSON *d;
	size_t len;

	if (!wf_spool_name_ok(id)) {
		snprintf(err, errlen, "%.64s: not a delivery id", id);
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (wf_spool_read(
		root, path, WF_WEBHOOK_BODY_MAX + 65536, &buf, &len) == -1) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path,
		    e == ENOENT ? "no such delivery" : strerror(e));
		errno = e;
		return NULL;
	}
	d = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsObject(d) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "body")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "event")) ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(d, "next_at")) ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(d, "attempt")) ||
	    !(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "hooks")) ||
		cJSON_IsNumber(
		    cJSON_GetObjectItemCaseSensitive(d, "webhook_id")))) {
		snprintf(err, errlen, "%s: not a delivery", path);
		cJSON_Delete(d);
		errno = EINVAL;
		return NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(d, "id");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, id) != 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(d, "id");
		cJSON_AddStringToObject(d, "id", id);
	}
	return d;
}

static int
log_open(int root)
{
	return openat(root, WF_WEBHOOK_LOG,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/*
 * A log past max moves to .1 whole, the older .1 going.  The rename is
 * made only while the name is still the file we measured: another writer
 * (wf-notify --test beside the daemon) that rotated first must not have
 * its fresh log moved over the one it just kept.
 */
static int
log_rotate(int root, int fd, long max)
{
	struct stat st, cur;

	if (max <= 0 || fstat(fd, &st) == -1 || st.st_size <= max)
		return fd;
	if (fstatat(root, WF_WEBHOOK_LOG, &cur, AT_SYMLINK_NOFOLLOW) == -1 ||
	    cur.st_ino != st.st_ino || cur.st_dev != st.st_dev ||
	    renameat(root, WF_WEBHOOK_LOG, root, WF_WEBHOOK_LOG ".1") == -1)
		return fd; /* the line goes to the file as it is */
	close(fd);
	return log_open(root);
}

int
wf_webhook_log(int root, const cJSON *line, long max)
{
	char *s;
	size_t n;
	ssize_t w;
	int fd, rc = -1;

	if ((s = cJSON_PrintUnformatted(line)) == NULL)
		return -1;
	n = strlen(s);
	s[n] = '\n'; /* over the NUL: one write, one line */
	if ((fd = log_open(root)) != -1)
		fd = log_rotate(root, fd, max);
	if (fd != -1) {
		w = write(fd, s, n + 1);
		rc = w == (ssize_t)(n + 1) ? 0 : -1;
		close(fd);
	}
	free(s);
	return rc;
}

void
wf_webhook_redact(cJSON *rec)
{
	int had = cJSON_GetObjectItemCaseSensitive(rec, "secret") != NULL;

	cJSON_DeleteItemFromObjectCaseSensitive(rec, "secret");
	cJSON_AddBoolToObject(rec, "has_secret", had);
}

static void
audit_webhook(int root, const char *action, int64_t id, const cJSON *fields)
{
	cJSON *d = fields != NULL ? cJSON_Duplicate(fields, 1) : NULL;

	if (d != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(d, "secret");
	wf_audit_append(root, action, "webhook", id, d);
	cJSON_Delete(d);
}

int
wf_webhook_create(int root, cJSON *fields, char *secret, size_t len,
    int *made, int64_t *id, char *err, size_t errlen)
{
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(fields, "url");
	const cJSON *ev;
	cJSON *sealed, *copy = NULL;
	int rc = -1, vl = -1;

	*made = 0;
	if (cJSON_IsString(url) &&
	    wf_webhook_url_ok(url->valuestring, err, errlen) == -1) {
		errno = EINVAL;
		goto fail;
	}
	/* The same rule for every door: the CLI's --events, the API's
	 * body. */
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(fields,
	    "events")) {
		if (!cJSON_IsString(ev) || !wf_webhook_pattern_ok(ev->valuestring)) {
			snprintf(err, errlen, "events: '%.64s' is not a name or a "
			    "glob of [A-Za-z0-9._*?-]", cJSON_IsString(ev) ?
			    ev->valuestring : "(not a string)");
			errno = EINVAL;
			goto fail;
		}
	}
	if (wf_store_check(&wf_kind_webhook, fields, 1, 0, err, errlen) == -1)
		goto fail;
	if (secret[0] == '\0') {
		if (wf_webhook_secret_new(secret, len) == -1) {
			snprintf(err, errlen, "cannot make a secret");
			errno = EIO;
			goto fail;
		}
		*made = 1;
	}
	/* A key rotation must not slip between the seal and the write. */
	vl = wf_vault_lock(root, 0);
	if ((sealed = wf_vault_seal(root, secret, strlen(secret), err,
		 errlen)) == NULL)
		goto fail;
	cJSON_DeleteItemFromObjectCaseSensitive(fields, "secret");
	cJSON_AddItemToObject(fields, "secret", sealed);
	copy = cJSON_Duplicate(fields, 1);
	rc = wf_store_create(root, &wf_kind_webhook, fields, 1, id, err,
	    errlen);
	fields = NULL; /* the store's */
	wf_vault_unlock(vl);
	vl = -1;
	if (rc == 0)
		audit_webhook(root, "webhook.created", *id, copy);
fail:
	wf_vault_unlock(vl);
	cJSON_Delete(fields);
	cJSON_Delete(copy);
	return rc;
}

int
wf_webhook_delete(int root, int64_t id, char *err, size_t errlen)
{
	if (wf_store_delete(root, &wf_kind_webhook, id, err, errlen) == -1)
		return -1;
	audit_webhook(root, "webhook.deleted", id, NULL);
	return 0;
}

cJSON *
wf_webhook_dead_list(int root, int64_t wid)
{
	cJSON *arr = cJSON_CreateArray(), *d;
	struct dirent **names = NULL;
	char err[256];
	int n;

	if (arr == NULL)
		return NULL;
	n = scandirat(root, "events/dead", &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    (d = wf_webhook_get(root, "events/dead", names[i]->d_name,
			 err, sizeof(err))) != NULL) {
			const cJSON *w = cJSON_GetObjectItem(d, "webhook_id");

			cJSON_DeleteItemFromObjectCaseSensitive(d, "body");
			if (wid == 0 ||
			    (cJSON_IsNumber(w) &&
				(int64_t)w->valuedouble == wid))
				cJSON_AddItemToArray(arr, d);
			else
				cJSON_Delete(d);
		}
		free(names[i]);
	}
	free(names);
	return arr;
}

int
wf_webhook_redeliver(int root, const char *id, char *err, size_t errlen)
{
	char path[WF_NAME_MAX + 32], why[256];
	cJSON *d, *wh = NULL;
	const cJSON *w;
	int rc = -1, e = 0;

	if ((d = wf_webhook_get(root, "events/dead", id, err, errlen)) == NULL)
		return -1;
	w = cJSON_GetObjectItemCaseSensitive(d, "webhook_id");
	if (cJSON_IsNumber(w) &&
	    wf_store_get(root, &wf_kind_webhook, (int64_t)w->valuedouble, &wh,
		why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		e = EBUSY;
		goto out;
	}
	if (wh != NULL &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(wh, "active"))) {
		snprintf(err, errlen,
		    "webhook %lld is inactive: wf webhook update %lld "
		    "--active first",
		    (long long)w->valuedouble, (long long)w->valuedouble);
		e = EBUSY;
		goto out;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(
	    d, "attempt", cJSON_CreateNumber(0));
	cJSON_ReplaceItemInObjectCaseSensitive(
	    d, "next_at", cJSON_CreateNumber((double)wf_clock_wall_ms()));
	cJSON_DeleteItemFromObjectCaseSensitive(d, "state");
	cJSON_AddStringToObject(d, "state", "pending");
	/* The rename into deferred/ commits; wf-notify drops the old copy
	 * in dead/ if we die before we do. */
	if (wf_webhook_put(
		root, "events/deferred", d, WF_SYNC_FILE | WF_SYNC_DIR) == -1) {
		e = errno;
		snprintf(err, errlen, "events/deferred/%s: %s", id,
		    strerror(e));
		goto out;
	}
	snprintf(path, sizeof(path), "events/dead/%s", id);
	(void)unlinkat(root, path, 0);
	wf_audit_append(root, "webhook.redeliver", "webhook",
	    cJSON_IsNumber(w) ? (int64_t)w->valuedouble : 0, NULL);
	rc = 0;
out:
	cJSON_Delete(wh);
	cJSON_Delete(d);
	if (rc == -1)
		errno = e;
	return rc;
}
