/*
 * vault: crypto_secretbox under keys/<kid>.  Keys and keys/current are
 * written whole in tmp/ and renamed into keys/ (the rename is the commit),
 * so that a crash leaves either the old current key or the new one, never
 * half a key.  A key file that anyone but its owner may read is refused.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "spool.h"
#include "vault.h"

#define KEYDIR "keys"
#define B64 sodium_base64_VARIANT_ORIGINAL

static int
verr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
ready(char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return verr(err, errlen, "vault: libsodium cannot start");
	return 0;
}

static int
kid_ok(const char *kid)
{
	size_t i;

	for (i = 0; kid[i] != '\0'; i++)
		if (!((kid[i] >= '0' && kid[i] <= '9') ||
			(kid[i] >= 'a' && kid[i] <= 'f')))
			return 0;
	return i == WF_VAULT_KIDLEN;
}

/* Read keys/<kid> into key (guarded memory of crypto_secretbox_KEYBYTES). */
static int
key_read(
    int root, const char *kid, unsigned char *key, char *err, size_t errlen)
{
	char path[64];
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if (!kid_ok(kid))
		return verr(err, errlen, "vault: bad key id");
	snprintf(path, sizeof path, KEYDIR "/%s", kid);
	if ((fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1) {
		verr(err, errlen, "vault: key %s: %s", kid, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		verr(err, errlen, "vault: key %s: not a regular file", kid);
		goto fail;
	}
	if (st.st_mode & 077) {
		verr(err, errlen, "vault: key %s: mode %03o, must be 0600", kid,
		    (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	n = read(fd, key, crypto_secretbox_KEYBYTES);
	if (n != crypto_secretbox_KEYBYTES ||
	    st.st_size != crypto_secretbox_KEYBYTES) {
		verr(err, errlen, "vault: key %s: not %d bytes", kid,
		    crypto_secretbox_KEYBYTES);
		goto fail;
	}
	rc = 0;
fail:
	close(fd);
	return rc;
}

int
wf_vault_current(int root, char *kid, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (wf_spool_read(root, KEYDIR "/current", 64, &buf, &len) == -1)
		return verr(err, errlen, "vault: %s: %s (wf init makes a key)",
		    KEYDIR "/current", strerror(errno));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (!kid_ok(buf)) {
		verr(err, errlen, "vault: %s: not a key id", KEYDIR "/current");
		goto fail;
	}
	memcpy(kid, buf, WF_VAULT_KIDLEN + 1);
	rc = 0;
fail:
	free(buf);
	return rc;
}

/* Make a key, write it, and make it current. */
static int
key_new(int root, char *kid, char *err, size_t errlen)
{
	unsigned char *key, id[WF_VAULT_KIDLEN / 2];
	char line[WF_VAULT_KIDLEN + 2];
	int rc = -1;

	if ((key = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL)
		return verr(err, errlen, "vault: out of memory");
	if (mkdirat(root, KEYDIR, 0700) == -1 && errno != EEXIST) {
		verr(err, errlen, "vault: %s: %s", KEYDIR, strerror(errno));
		goto fail;
	}
	crypto_secretbox_keygen(key);
	randombytes_buf(id, sizeof id);
	sodium_bin2hex(kid, WF_VAULT_KIDLEN + 1, id, sizeof id);
	if (wf_spool_write(root, "tmp", KEYDIR, kid, key,
		crypto_secretbox_KEYBYTES, WF_SYNC_FILE | WF_SYNC_DIR) == -1) {
		verr(err, errlen, "vault: write key: %s", strerror(errno));
		goto fail;
	}
	snprintf(line, sizeof line, "%s\n", kid);
	if (wf_spool_write(root, "tmp", KEYDIR, "current", line, strlen(line),
		WF_SYNC_FILE | WF_SYNC_DIR) == -1) {
		verr(err, errlen, "vault: write %s/current: %s", KEYDIR,
		    strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	sodium_free(key);
	return rc;
}

int
wf_vault_init(int root, char *err, size_t errlen)
{
	char kid[WF_VAULT_KIDLEN + 1];
	struct stat st;

	if (ready(err, errlen) == -1)
		return -1;
	if (fstatat(root, KEYDIR "/current", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return verr(err, errlen, "vault: %s/current: %s", KEYDIR,
		    strerror(errno));
	return key_new(root, kid, err, errlen);
}

cJSON *
wf_vault_seal(int root, const void *buf, size_t len, char *err, size_t errlen)
{
	unsigned char nonce[crypto_secretbox_NONCEBYTES], *key = NULL,
							  *box = NULL;
	char kid[WF_VAULT_KIDLEN + 1], *b64 = NULL, nb64[64];
	size_t blen = len + crypto_secretbox_MACBYTES, b64len;
	cJSON *o = NULL;

	if (ready(err, errlen) == -1)
		return NULL;
	if (len > WF_VAULT_MAX) {
		verr(err, errlen, "vault: secret over %d bytes", WF_VAULT_MAX);
		return NULL;
	}
	if (wf_vault_current(root, kid, err, errlen) == -1)
		return NULL;
	if ((key = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL ||
	    (box = malloc(blen)) == NULL) {
		verr(err, errlen, "vault: out of memory");
		goto fail;
	}
	if (key_read(root, kid, key, err, errlen) == -1)
		goto fail;
	randombytes_buf(nonce, sizeof nonce);
	crypto_secretbox_easy(box, buf, len, nonce, key);
	b64len = sodium_base64_ENCODED_LEN(blen, B64);
	if ((b64 = malloc(b64len)) == NULL) {
		verr(err, errlen, "vault: out of memory");
		goto fail;
	}
	sodium_bin2base64(b64, b64len, box, blen, B64);
	sodium_bin2base64(nb64, sizeof nb64, nonce, sizeof nonce, B64);
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "kid", kid) == NULL ||
	    cJSON_AddStringToObject(o, "nonce", nb64) == NULL ||
	    cJSON_AddStringToObject(o, "box", b64) == NULL) {
		cJSON_Delete(o);
		o = NULL;
		verr(err, errlen, "vault: out of memory");
	}
fail:
	sodium_free(key);
	free(box);
	free(b64);
	return o;
}

const char *
wf_vault_kid(const cJSON *sealed)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(sealed, "kid");

	return cJSON_IsString(k) && kid_ok(k->valuestring) ? k->valuestring
							   : NULL;
}

static int
unb64(const cJSON *sealed, const char *name, unsigned char *bin, size_t max,
    size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sealed, name);

	if (!cJSON_IsString(v))
		return -1;
	return sodium_base642bin(bin, max, v->valuestring,
	    strlen(v->valuestring), NULL, len, NULL, B64);
}

int
wf_vault_open(int root, const cJSON *sealed, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	unsigned char nonce[crypto_secretbox_NONCEBYTES], *key = NULL,
							  *box = NULL;
	const char *kid;
	size_t nlen, blen, max = WF_VAULT_MAX + crypto_secretbox_MACBYTES;
	char *m = NULL;
	int rc = -1;

	*out = NULL;
	if (ready(err, errlen) == -1)
		return -1;
	if ((kid = wf_vault_kid(sealed)) == NULL)
		return verr(err, errlen, "vault: sealed value names no key");
	if ((key = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL ||
	    (box = malloc(max)) == NULL) {
		verr(err, errlen, "vault: out of memory");
		goto fail;
	}
	if (unb64(sealed, "nonce", nonce, sizeof nonce, &nlen) == -1 ||
	    nlen != sizeof nonce ||
	    unb64(sealed, "box", box, max, &blen) == -1 ||
	    blen < crypto_secretbox_MACBYTES) {
		verr(err, errlen, "vault: malformed sealed value");
		goto fail;
	}
	if (key_read(root, kid, key, err, errlen) == -1)
		goto fail;
	if ((m = sodium_malloc(blen - crypto_secretbox_MACBYTES + 1)) == NULL) {
		verr(err, errlen, "vault: out of memory");
		goto fail;
	}
	if (crypto_secretbox_open_easy(
		(unsigned char *)m, box, blen, nonce, key) != 0) {
		verr(err, errlen,
		    "vault: secret does not open under key %s "
		    "(tampered, or sealed under another key)",
		    kid);
		goto fail;
	}
	m[blen - crypto_secretbox_MACBYTES] = '\0';
	*out = m;
	*outlen = blen - crypto_secretbox_MACBYTES;
	m = NULL;
	rc = 0;
fail:
	sodium_free(m);
	sodium_free(key);
	free(box);
	return rc;
}

void
wf_vault_free(char *secret)
{
	sodium_free(secret);
}

int
wf_vault_rotate(int root, char *oldkid, char *newkid, char *err, size_t errlen)
{
	if (ready(err, errlen) == -1 ||
	    wf_vault_current(root, oldkid, err, errlen) == -1)
		return -1;
	return key_new(root, newkid, err, errlen);
}

int
wf_vault_drop(int root, const char *kid, char *err, size_t errlen)
{
	char cur[WF_VAULT_KIDLEN + 1], path[64];

	if (!kid_ok(kid))
		return verr(err, errlen, "vault: bad key id");
	if (wf_vault_current(root, cur, err, errlen) == -1)
		return -1;
	if (strcmp(cur, kid) == 0)
		return verr(err, errlen, "vault: key %s is current", kid);
	snprintf(path, sizeof path, KEYDIR "/%s", kid);
	if (unlinkat(root, path, 0) == -1 && errno != ENOENT)
		return verr(err, errlen, "vault: remove key %s: %s", kid,
		    strerror(errno));
	return wf_spool_sync_dir(root, KEYDIR);
}

int
wf_vault_lock(int root, int exclusive)
{
	int fd;

	/* keys/.lock is never replaced: a flock on it means what it says. */
	if (mkdirat(root, KEYDIR, 0700) == -1 && errno != EEXIST)
		return -1;
	fd = openat(root, KEYDIR "/.lock",
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) == -1)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	return fd;
}

void
wf_vault_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}
