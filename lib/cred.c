/*
 * cred: credentials over the vault, and the vault's key rotation.  A
 * secret is sealed and its entity written under the vault's shared lock;
 * a rotation takes it exclusive to make a new key current and again to
 * drop an old one, so that no value is written under, or read for, a key
 * that goes away.  Values are re-sealed file by file under each kind's own
 * lock (state/<kind>s/.lock), each file replaced whole (tmp/ then rename).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "cred.h"
#include "log.h"
#include "spool.h"
#include "store.h"

#define ENTITY_MAX (1 << 20) /* as lib/store */
#define KINDS_MAX 32 /* directories of state/ a rotation locks */

static int verr(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
verr(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* Wipe the strings of a parsed secret before cJSON frees them. */
static void
wipe(cJSON *v)
{
	cJSON *it;

	if (v == NULL)
		return;
	if (cJSON_IsString(v) && v->valuestring != NULL)
		sodium_memzero(v->valuestring, strlen(v->valuestring));
	cJSON_ArrayForEach(it, v) wipe(it);
}

static void
wipe_delete(cJSON *v)
{
	wipe(v);
	cJSON_Delete(v);
}

/* The secret as a JSON object of fields, or NULL when it is not one. */
static cJSON *
as_fields(const char *secret, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(secret, len);

	if (!cJSON_IsObject(o)) {
		wipe_delete(o);
		return NULL;
	}
	return o;
}

/* The seed's secret columns (Workflow Hub's Credential model), each
 * given as NAME_encrypted: the clear value, for the server to encrypt. */
static const char *const seed_secrets[] = { "password", "api_key", "token",
	"ssh_key", "ssh_passphrase", "database_url", "client_secret",
	"refresh_token", NULL };

int
wf_cred_seed_secret(cJSON *fields, char **secret, char *err, size_t errlen)
{
	cJSON *got, *v, *one = NULL;
	char key[64];
	int n = 0;

	*secret = NULL;
	if ((got = cJSON_CreateObject()) == NULL)
		return verr(err, errlen, ENOMEM, "out of memory");
	for (int i = 0; seed_secrets[i] != NULL; i++) {
		snprintf(key, sizeof(key), "%s_encrypted", seed_secrets[i]);
		v = cJSON_DetachItemFromObjectCaseSensitive(fields, key);
		if (v == NULL || cJSON_IsNull(v) ||
		    (cJSON_IsString(v) && v->valuestring[0] == '\0')) {
			/* the seed's "none" */
			cJSON_Delete(v);
			continue;
		}
		if (!cJSON_IsString(v)) {
			cJSON_Delete(v);
			wipe_delete(got);
			return verr(err, errlen, EINVAL,
			    "%s: a string is needed (the secret in the clear)",
			    key);
		}
		cJSON_AddItemToObject(got, seed_secrets[i], v);
		one = v;
		n++;
	}
	if (n == 1)
		*secret = strdup(one->valuestring);
	else if (n > 1)
		*secret = cJSON_PrintUnformatted(got);
	wipe_delete(got);
	if (n > 0 && *secret == NULL)
		return verr(err, errlen, ENOMEM, "out of memory");
	return n;
}

int
wf_cred_create(int root, cJSON *fields, const char *secret, size_t len,
    int64_t *id, char *err, size_t errlen)
{
	cJSON *sealed = NULL, *obj, *names, *it;
	int lk = -1, rc = -1;

	if (wf_store_check(&wf_kind_credential, fields, 0, 0, err, errlen) ==
	    -1)
		goto fail;
	if (len == 0) {
		verr(err, errlen, EINVAL, "credential: the secret is empty");
		goto fail;
	}
	if ((obj = as_fields(secret, len)) != NULL) {
		names = cJSON_AddArrayToObject(fields, "secret_fields");
		cJSON_ArrayForEach(it, obj)
		{
			if (cJSON_IsString(it))
				cJSON_AddItemToArray(
				    names, cJSON_CreateString(it->string));
		}
		wipe_delete(obj);
	}
	/* Shared from the seal to the write: a rotation cannot drop the
	 * key in between. */
	if ((lk = wf_vault_lock(root, 0)) == -1) {
		verr(err, errlen, errno, "keys/.lock: %s", strerror(errno));
		goto fail;
	}
	if ((sealed = wf_vault_seal(root, secret, len, err, errlen)) == NULL) {
		errno = EIO;
		goto fail;
	}
	cJSON_AddItemToObject(fields, "secret", sealed);
	/* The caller's fields were checked above as untrusted; trusted now
	 * only for what wf added. */
	rc = wf_store_create(
	    root, &wf_kind_credential, fields, 1, id, err, errlen);
	fields = NULL;
fail:
	wf_vault_unlock(lk);
	cJSON_Delete(fields);
	return rc;
}

int
wf_cred_find(int root, const char *ref, int64_t project_id, int64_t *id,
    char *err, size_t errlen)
{
	const char *errstr;
	cJSON *all, *it, *rec;
	long long n;
	int rc = -1;

	n = strtonum(ref, 1, INT64_C(1) << 50, &errstr);
	if (errstr == NULL) {
		const cJSON *pid;

		if (wf_store_get(
			root, &wf_kind_credential, n, &rec, err, errlen) == -1)
			return -1;
		pid = cJSON_GetObjectItemCaseSensitive(rec, "project_id");
		if (project_id > 0 &&
		    (!cJSON_IsNumber(pid) ||
			(int64_t)pid->valuedouble != project_id))
			rc = verr(err, errlen, EINVAL,
			    "credential %lld "
			    "belongs to another project than %lld",
			    n, (long long)project_id);
		else {
			*id = n;
			rc = 0;
		}
		cJSON_Delete(rec);
		return rc;
	}
	all = wf_store_list(root, &wf_kind_credential, project_id);
	cJSON_ArrayForEach(it, all)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *iv = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (cJSON_IsString(nm) && strcmp(nm->valuestring, ref) == 0 &&
		    cJSON_IsNumber(iv)) {
			*id = (int64_t)iv->valuedouble;
			rc = 0;
			break;
		}
	}
	cJSON_Delete(all);
	if (rc == -1)
		verr(err, errlen, ENOENT,
		    "no credential named '%.64s' in "
		    "project %lld",
		    ref, (long long)project_id);
	return rc;
}

/* One field of an opened secret, into guarded memory. */
static int
pick_field(char **secret, size_t *len, const char *field, int64_t id, char *err,
    size_t errlen)
{
	cJSON *o = as_fields(*secret, *len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	char *m;
	size_t n;
	int rc = -1;

	if (o == NULL) {
		verr(err, errlen, EINVAL,
		    "credential %lld: its secret is not "
		    "a JSON object: it has no field '%.64s'",
		    (long long)id, field);
		goto fail;
	}
	if (!cJSON_IsString(v)) {
		verr(err, errlen, EINVAL,
		    "credential %lld: no string field "
		    "'%.64s' in its secret",
		    (long long)id, field);
		goto fail;
	}
	n = strlen(v->valuestring);
	if ((m = sodium_malloc(n + 1)) == NULL) {
		verr(err, errlen, ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(m, v->valuestring, n + 1);
	wf_vault_free(*secret);
	*secret = m;
	*len = n;
	rc = 0;
fail:
	wipe_delete(o);
	return rc;
}

int
wf_cred_read(int root, int64_t id, const char *field, const cJSON *details,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	cJSON *rec = NULL, *d = NULL;
	char *s = NULL;
	size_t len = 0;
	int lk, rc = -1;

	*out = NULL;
	/* Shared from the read to the open: the key the value names cannot
	 * be dropped in between. */
	if ((lk = wf_vault_lock(root, 0)) == -1)
		return verr(
		    err, errlen, errno, "keys/.lock: %s", strerror(errno));
	if (wf_store_get(root, &wf_kind_credential, id, &rec, err, errlen) ==
		0 &&
	    wf_vault_open(root, cJSON_GetObjectItemCaseSensitive(rec, "secret"),
		&s, &len, err, errlen) == -1) {
		char e2[512];

		snprintf(
		    e2, sizeof e2, "credential %lld: %s", (long long)id, err);
		verr(err, errlen, EINVAL, "%s", e2);
	}
	wf_vault_unlock(lk);
	if (s == NULL)
		goto fail;
	if (field != NULL && *field != '\0' &&
	    pick_field(&s, &len, field, id, err, errlen) == -1)
		goto fail;
	d = details != NULL ? cJSON_Duplicate(details, 1)
			    : cJSON_CreateObject();
	if (field != NULL && *field != '\0')
		cJSON_AddStringToObject(d, "field", field);
	if (wf_audit_append(root, "credential.read", "credential", id, d) ==
	    -1) {
		verr(err, errlen, errno,
		    "log/audit.jsonl: %s (a read of a "
		    "secret is audited or refused)",
		    strerror(errno));
		goto fail;
	}
	*out = s;
	*outlen = len;
	s = NULL;
	rc = 0;
fail:
	wf_vault_free(s);
	cJSON_Delete(rec);
	cJSON_Delete(d);
	return rc;
}

void
wf_cred_redact(cJSON *rec)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "secret");
}

/*
 * Rotation.
 */

/* A sealed value: an object of exactly kid, nonce and box. */
static int
is_sealed(const cJSON *v)
{
	return cJSON_IsObject(v) && cJSON_GetArraySize(v) == 3 &&
	    wf_vault_kid(v) != NULL &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "nonce")) &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "box"));
}

struct walk {
	int root;
	const char *cur; /* the current key's id */
	struct wf_cred_rotation *r;
	char (*kids)[WF_VAULT_KIDLEN + 1]; /* the keys still named */
	size_t nkids;
	char *err;
	size_t errlen;
	const char *file;
};

static void
named(struct walk *w, const char *kid)
{
	void *p;

	for (size_t i = 0; i < w->nkids; i++)
		if (strcmp(w->kids[i], kid) == 0)
			return;
	if ((p = reallocarray(w->kids, w->nkids + 1, sizeof(*w->kids))) == NULL)
		return; /* then the key is not dropped: safe */
	w->kids = p;
	strlcpy(w->kids[w->nkids++], kid, sizeof(*w->kids));
}

/* Re-seal v (a sealed value under another key) in place.  1 re-sealed,
 * 0 left as it was (it did not open: its key is kept). */
static int
reseal(struct walk *w, cJSON *v)
{
	char e2[512], *s = NULL;
	cJSON *n, *it;
	size_t len;

	if (wf_vault_open(w->root, v, &s, &len, e2, sizeof e2) == -1 ||
	    (n = wf_vault_seal(w->root, s, len, e2, sizeof e2)) == NULL) {
		wf_vault_free(s);
		if (w->r->failed++ == 0)
			snprintf(w->err, w->errlen, "%s: %s", w->file, e2);
		named(w, wf_vault_kid(v));
		return 0;
	}
	wf_vault_free(s);
	while (v->child != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(v, v->child));
	while ((it = n->child) != NULL)
		cJSON_AddItemToObject(
		    v, it->string, cJSON_DetachItemViaPointer(n, it));
	cJSON_Delete(n);
	w->r->resealed++;
	return 1;
}

/* Every sealed value under v; returns how many were re-sealed. */
static int
walk_value(struct walk *w, cJSON *v)
{
	cJSON *it;
	int n = 0;

	if (is_sealed(v)) {
		if (strcmp(wf_vault_kid(v), w->cur) == 0)
			return 0;
		return reseal(w, v);
	}
	cJSON_ArrayForEach(it, v) n += walk_value(w, it);
	return n;
}

/* Replace dir/name whole: a unique name in tmp/, then rename. */
static int
replace(int root, const char *dir, const char *name, const char *text)
{
	char tname[WF_NAME_MAX + 1], tpath[WF_NAME_MAX + 8], path[512];

	if (wf_spool_name(tname, sizeof tname) == -1 ||
	    wf_spool_write(root, "tmp", "tmp", tname, text, strlen(text),
		WF_SYNC_FILE | WF_NO_RENAME) == -1)
		return -1;
	snprintf(tpath, sizeof tpath, "tmp/%s", tname);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (renameat(root, tpath, root, path) == -1) {
		int e = errno;

		unlinkat(root, tpath, 0);
		errno = e;
		return -1;
	}
	return wf_spool_sync_dir(root, dir);
}

/* Re-seal the values of every JSON file of dir (its lock held). */
static int
walk_dir(struct walk *w, const char *dir)
{
	char path[512], *buf, *text;
	struct dirent *de;
	cJSON *o;
	size_t len;
	DIR *d;
	int fd, rc = 0;

	if ((fd = openat(w->root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		-1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n < 6 ||
		    strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (wf_spool_read(w->root, path, ENTITY_MAX, &buf, &len) == -1)
			continue;
		o = cJSON_ParseWithLength(buf, len);
		free(buf);
		w->file = path;
		if (o != NULL && walk_value(w, o) > 0) {
			if ((text = cJSON_PrintUnformatted(o)) == NULL ||
			    replace(w->root, dir, de->d_name, text) == -1) {
				snprintf(w->err, w->errlen, "%s: %s", path,
				    strerror(errno));
				rc = -1;
			}
			free(text);
		}
		/* What stays sealed under another key keeps that key. */
		cJSON_Delete(o);
		if (rc == -1)
			break;
	}
	closedir(d);
	return rc;
}

static int
lock_dir(int root, const char *dir)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/.lock", dir);
	if ((fd = openat(root, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		 0600)) == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	return fd;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories of state/ (every kind, those of other modules too),
 * sorted: locks are always taken in this order. */
static int
kind_dirs(int root, char *dirs[KINDS_MAX], int *n)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	*n = 0;
	if ((fd = openat(root, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		-1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL && *n < KINDS_MAX) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			-1 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (asprintf(&dirs[*n], "state/%s", de->d_name) == -1)
			break;
		(*n)++;
	}
	closedir(d);
	qsort(dirs, (size_t)*n, sizeof(*dirs), by_name);
	return 0;
}

/* Drop every key of keys/ but the current one and those still named. */
static void
drop_unnamed(struct walk *w)
{
	char e2[256];
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(
		 w->root, "keys", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int keep = strlen(de->d_name) != WF_VAULT_KIDLEN ||
		    strcmp(de->d_name, w->cur) == 0;

		for (size_t i = 0; !keep && i < w->nkids; i++)
			keep = strcmp(w->kids[i], de->d_name) == 0;
		if (!keep &&
		    wf_vault_drop(w->root, de->d_name, e2, sizeof e2) == 0)
			w->r->dropped++;
	}
	closedir(d);
}

int
wf_cred_rotate(int root, struct wf_cred_rotation *r, char *err, size_t errlen)
{
	struct walk w = { root, r->newkid, r, NULL, 0, err, errlen, "" };
	char *dirs[KINDS_MAX];
	int locks[KINDS_MAX], n = 0, nl, lk, rc = -1, i;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	/* Exclusive: a writer holding a value sealed under the old key
	 * writes it before the new key is current. */
	if ((lk = wf_vault_lock(root, 1)) == -1)
		return verr(
		    err, errlen, errno, "keys/.lock: %s", strerror(errno));
	rc = wf_vault_rotate(root, r->oldkid, r->newkid, err, errlen);
	wf_vault_unlock(lk);
	if (rc == -1)
		return -1;
	rc = -1;
	if (kind_dirs(root, dirs, &n) == -1) {
		verr(err, errlen, errno, "state: %s", strerror(errno));
		return -1;
	}
	/* One kind at a time: the others stay writable meanwhile. */
	for (i = 0; i < n; i++) {
		if ((locks[i] = lock_dir(root, dirs[i])) == -1) {
			verr(err, errlen, errno, "%s/.lock: %s", dirs[i],
			    strerror(errno));
			goto out;
		}
		if (walk_dir(&w, dirs[i]) == -1) {
			wf_store_unlock(locks[i]);
			goto out;
		}
		wf_store_unlock(locks[i]);
	}
	/* Then everything at once: what a writer that took no vault lock
	 * sealed under the old key meanwhile is re-sealed, and the keys
	 * nothing names go. */
	r->failed = 0;
	w.nkids = 0;
	err[0] = '\0';
	if ((lk = wf_vault_lock(root, 1)) == -1) {
		verr(err, errlen, errno, "keys/.lock: %s", strerror(errno));
		goto out;
	}
	for (nl = 0; nl < n; nl++)
		if ((locks[nl] = lock_dir(root, dirs[nl])) == -1)
			break;
	if (nl < n)
		verr(err, errlen, errno, "%s/.lock: %s", dirs[nl],
		    strerror(errno));
	else {
		for (i = 0; i < n; i++)
			if (walk_dir(&w, dirs[i]) == -1)
				break;
		if (i == n) {
			drop_unnamed(&w);
			if (r->failed == 0)
				rc = 0;
		}
	}
	while (nl-- > 0)
		wf_store_unlock(locks[nl]);
	wf_vault_unlock(lk);
out:
	for (i = 0; i < n; i++)
		free(dirs[i]);
	free(w.kids);
	return rc;
}

static void
audit_cred(int root, const char *action, int64_t id, const cJSON *details)
{
	if (wf_audit_append(root, action, "credential", id, details) == -1)
		wf_log_warn("log/audit.jsonl: %s (credential %lld: its audit "
			    "line is missing)",
		    strerror(errno), (long long)id);
}

int
wf_cred_add(int root, cJSON *fields, const char *secret, size_t len,
    cJSON **rec, char *err, size_t errlen)
{
	cJSON *r;
	int64_t id;

	if (rec != NULL)
		*rec = NULL;
	if (wf_cred_create(root, fields, secret, len, &id, err, errlen) == -1 ||
	    wf_store_get(root, &wf_kind_credential, id, &r, err, errlen) == -1)
		return -1;
	wf_cred_redact(r);
	audit_cred(root, "credential.created", id, r);
	if (rec != NULL)
		*rec = r;
	else
		cJSON_Delete(r);
	return 0;
}

int
wf_cred_delete(int root, int64_t id, char *err, size_t errlen)
{
	cJSON *rec;
	int rc = -1;

	if (wf_store_get(root, &wf_kind_credential, id, &rec, err, errlen) ==
	    -1)
		return -1;
	wf_cred_redact(rec);
	if (wf_store_delete(root, &wf_kind_credential, id, err, errlen) == 0) {
		audit_cred(root, "credential.deleted", id, rec);
		rc = 0;
	}
	cJSON_Delete(rec);
	return rc;
}
