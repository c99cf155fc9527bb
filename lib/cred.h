/*
 * cred: credentials (state/credentials/N.json) over the vault.  A
 * credential's secret is the bytes its owner gave, sealed; when those bytes
 * are a JSON object, each of its string members is a field that can be
 * read alone ("password" of a basic_auth).  Every read of a secret is
 * audited before the secret is handed out, and none is handed out when its
 * audit line cannot be written.  Rotation re-seals every sealed value of
 * state/ (credentials, webhooks, any kind) under a new key, and drops an old
 * key only once nothing names it: no value is ever unreadable.
 */
#ifndef WF_CRED_H
#define WF_CRED_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vault.h"

/* Seal secret (len bytes) and create the credential of fields (consumed,
 * on success and on failure; checked as a caller's, untrusted); *id gets
 * its id.  Fills secret_fields when the secret is a JSON object. */
int wf_cred_create(int root, cJSON *fields, const char *secret, size_t len,
    int64_t *id, char *err, size_t errlen);

/* The seed's way to give a secret: take its NAME_encrypted members
 * (password, api_key, token, ssh_key, ssh_passphrase, database_url,
 * client_secret, refresh_token: the clear values; null or "" is none) out
 * of fields.  *secret (free it after wiping) gets the one value as it is,
 * or several as a JSON object of their NAMEs, each a field of the secret;
 * NULL when there is none.  Returns how many, or -1 with err (EINVAL: one
 * is not a string). */
int wf_cred_seed_secret(cJSON *fields, char **secret, char *err, size_t errlen);

/* wf_cred_create, then the "credential.created" audit line: what wf cred
 * add and wf-httpd do.  *rec (may be NULL) gets the record, redacted. */
int wf_cred_add(int root, cJSON *fields, const char *secret, size_t len,
    cJSON **rec, char *err, size_t errlen);
/* Delete credential id, with its "credential.deleted" audit line. */
int wf_cred_delete(int root, int64_t id, char *err, size_t errlen);

/* The id of the credential ref names: a number is an id (which must
 * belong to project_id when project_id > 0); anything else is a name in
 * project_id.  -1 with err (errno ENOENT: none, EINVAL: another project's). */
int wf_cred_find(int root, const char *ref, int64_t project_id, int64_t *id,
    char *err, size_t errlen);

/* Open credential id's secret, or one field of it (field NULL or ""),
 * after appending a "credential.read" audit line with details (not
 * consumed; may be NULL) under this process's actor.  *out is guarded
 * memory for wf_vault_free.  -1 with err: no such credential, no such
 * field, a value that does not open (tampered, wrong key), no audit. */
int wf_cred_read(int root, int64_t id, const char *field, const cJSON *details,
    char **out, size_t *outlen, char *err, size_t errlen);

/* A record fit to print: the credential without its sealed secret. */
void wf_cred_redact(cJSON *rec);

struct wf_cred_rotation {
	char oldkid[WF_VAULT_KIDLEN + 1], newkid[WF_VAULT_KIDLEN + 1];
	int resealed; /* values re-sealed under the new key */
	int failed; /* values that did not open: their keys are kept */
	int dropped; /* keys removed */
};

/* Make a new key current, re-seal every sealed value of state/ that names
 * another key, and drop every key that nothing names any longer.  With
 * values that did not open, -1 with err naming the first, after doing all
 * the rest (their keys stay). */
int wf_cred_rotate(
    int root, struct wf_cred_rotation *r, char *err, size_t errlen);

#endif
