/*
 * vault: secrets sealed with libsodium's crypto_secretbox under a key of
 * keys/ in the runtime tree.  A key is 32 random bytes in keys/<kid>, mode
 * 0600; keys/current names the one new values are sealed under.  A sealed
 * value is a JSON object {"kid","nonce","box"} (base64) that carries the id
 * of its key, so that a key rotation has no window where a value cannot be
 * opened: the new key becomes current, values are re-sealed one by one,
 * and the old key is dropped only when nothing refers to it.  Opened
 * secrets live in sodium_malloc'd memory, wiped when freed.
 */
#ifndef WF_VAULT_H
#define WF_VAULT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WF_VAULT_KIDLEN 16 /* hex digits of a key id */
#define WF_VAULT_MAX 65536 /* largest secret sealed */

/* Make the first key when the vault has none; 0 when one exists. */
int wf_vault_init(int root, char *err, size_t errlen);
/* The id of the current key, into kid (WF_VAULT_KIDLEN + 1 bytes). */
int wf_vault_current(int root, char *kid, char *err, size_t errlen);
/* Seal len bytes under the current key; NULL with err on failure. */
cJSON *wf_vault_seal(
    int root, const void *buf, size_t len, char *err, size_t errlen);
/* Open a sealed value.  *out (NUL-terminated, *outlen bytes) is guarded
 * memory for wf_vault_free.  -1 with err when the key is missing, the
 * value malformed, or the box does not open (tampered, or another key). */
int wf_vault_open(int root, const cJSON *sealed, char **out, size_t *outlen,
    char *err, size_t errlen);
void wf_vault_free(char *secret);
/* The key id a sealed value names, or NULL when it names none. */
const char *wf_vault_kid(const cJSON *sealed);
/* Rotation: make a new key and make it current.  oldkid and newkid get the
 * ids (WF_VAULT_KIDLEN + 1 bytes each).  The old key stays until
 * wf_vault_drop. */
int wf_vault_rotate(
    int root, char *oldkid, char *newkid, char *err, size_t errlen);
/* Remove a key that is not current. */
int wf_vault_drop(int root, const char *kid, char *err, size_t errlen);
/* The vault's lock, keys/.lock.  Held shared from a seal to the write of
 * the value, and from the read of a value to its open; held exclusive by
 * a rotation while it makes a key current and while it drops one, so that
 * no value is written under a key that is going, and none is read for a
 * key dropped between the read and the open.  Returns a descriptor for
 * wf_vault_unlock, or -1 with errno. */
int wf_vault_lock(int root, int exclusive);
void wf_vault_unlock(int fd);

#endif
