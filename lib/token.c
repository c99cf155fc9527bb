/*
 * token: bearer tokens stored as hashes in state/tokens/NAME.  A file is
 * written whole under tmp/ and renamed into place (the maildir rule of
 * every state file), so that a reader never sees half a token; it is one
 * JSON object {"name","hash","created_at"}.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "spool.h"
#include "token.h"

#define TOKEN_BYTES 32
#define HASH_BYTES 32
#define FILE_MAX 1024

int
wf_token_name_ok(const char *name)
{
	return strlen(name) <= WF_TOKEN_NAME_MAX && wf_spool_name_ok(name);
}

static int
hash_hex(const char *tok, char *hex)
{
	unsigned char h[HASH_BYTES];

	if (crypto_generichash(h, sizeof(h), (const unsigned char *)tok,
		strlen(tok), NULL, 0) != 0)
		return -1;
	sodium_bin2hex(hex, 2 * HASH_BYTES + 1, h, sizeof(h));
	return 0;
}

int
wf_token_add(int root, const char *name, char *hex, char *err, size_t errlen)
{
	unsigned char raw[TOKEN_BYTES];
	char hash[2 * HASH_BYTES + 1], iso[WF_ISO_LEN], path[128], *text = NULL;
	cJSON *o = NULL;
	struct stat st;
	int rc = -1;

	if (!wf_token_name_ok(name)) {
		snprintf(err, errlen,
		    "'%.40s': not a token name (1-%d of "
		    "A-Z a-z 0-9 . _ -, not starting with a dot)",
		    name, WF_TOKEN_NAME_MAX);
		errno = EINVAL;
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		errno = EIO;
		return -1;
	}
	if (mkdirat(root, WF_TOKEN_DIR, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, WF_TOKEN_DIR ": %s", strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), WF_TOKEN_DIR "/%s", name);
	if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(err, errlen, "token %s exists (wf token rm %s first)",
		    name, name);
		errno = EEXIST;
		return -1;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, WF_TOKEN_HEX, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	if (hash_hex(hex, hash) == -1 || (o = cJSON_CreateObject()) == NULL)
		goto nomem;
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "hash", hash);
	cJSON_AddStringToObject(o, "created_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		goto nomem;
	/* Durable: the caller is about to be shown the token, once. */
	if (wf_spool_write(root, "tmp", WF_TOKEN_DIR, name, text, strlen(text),
		WF_SYNC_FILE | WF_SYNC_DIR) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
fail:
	sodium_memzero(hex, WF_TOKEN_HEX);
out:
	cJSON_Delete(o);
	free(text);
	return rc;
}

int
wf_token_rm(int root, const char *name, char *err, size_t errlen)
{
	char path[128];

	if (!wf_token_name_ok(name)) {
		snprintf(err, errlen, "'%.40s': not a token name", name);
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), WF_TOKEN_DIR "/%s", name);
	if (unlinkat(root, path, 0) == -1) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "no such token %s", name);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* The record of one token file; NULL when it is not one. */
static cJSON *
load(int root, const char *name)
{
	char path[128], *buf;
	size_t len;
	cJSON *o;

	snprintf(path, sizeof(path), WF_TOKEN_DIR "/%s", name);
	if (wf_spool_read(root, path, FILE_MAX, &buf, &len) == -1)
		return NULL;
	o = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "hash"))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of state/tokens, sorted; NULL and *n 0 when there are none. */
static char **
names(int root, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*n = 0;
	if ((fd = openat(root, WF_TOKEN_DIR,
		 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		char *s;

		if (!wf_token_name_ok(de->d_name))
			continue;
		if (*n == cap) {
			char **nv =
			    reallocarray(v, cap ? cap * 2 : 16, sizeof(*v));

			if (nv == NULL)
				break;
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		if ((s = strdup(de->d_name)) == NULL)
			break;
		v[(*n)++] = s;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

cJSON *
wf_token_list(int root)
{
	cJSON *arr = cJSON_CreateArray();
	size_t n;
	char **v = names(root, &n);

	for (size_t i = 0; arr != NULL && i < n; i++) {
		cJSON *o = load(root, v[i]), *t;
		const cJSON *c;

		if (o == NULL || (t = cJSON_CreateObject()) == NULL) {
			cJSON_Delete(o);
			continue;
		}
		c = cJSON_GetObjectItemCaseSensitive(o, "created_at");
		cJSON_AddStringToObject(t, "name", v[i]);
		cJSON_AddStringToObject(
		    t, "created_at", cJSON_IsString(c) ? c->valuestring : "");
		cJSON_AddItemToArray(arr, t);
		cJSON_Delete(o);
	}
	free_names(v, n);
	return arr;
}

int
wf_token_check(int root, const char *tok, char *name)
{
	char want[2 * HASH_BYTES + 1];
	size_t n;
	char **v;
	int found = 0;

	/* A token is exactly what wf_token_add shows: anything else is
	 * nobody's, and costs no hashing. */
	if (strlen(tok) != WF_TOKEN_HEX - 1 || sodium_init() < 0 ||
	    hash_hex(tok, want) == -1)
		return -1;
	v = names(root, &n);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = load(root, v[i]);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hash");

		if (cJSON_IsString(h) &&
		    strlen(h->valuestring) == strlen(want) &&
		    sodium_memcmp(h->valuestring, want, strlen(want)) == 0 &&
		    !found) {
			strlcpy(name, v[i], WF_TOKEN_NAME_MAX + 1);
			found = 1;
		}
		cJSON_Delete(o);
	}
	free_names(v, n);
	sodium_memzero(want, sizeof(want));
	return found ? 0 : -1;
}
