/*
 * token: the bearer tokens of wf-httpd.  A token is 32 random bytes shown
 * once, in hex, when it is made; only its BLAKE2b hash is kept, in
 * state/tokens/NAME (mode 0600, written whole under tmp/ and renamed, like
 * every state file), so that a copy of the tree gives no one a token.  A
 * request that changes something must carry one; its name is the actor of
 * what it does ("http:NAME").
 */
#ifndef WF_TOKEN_H
#define WF_TOKEN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WF_TOKEN_DIR "state/tokens"
#define WF_TOKEN_NAME_MAX 32 /* bytes of a name */
#define WF_TOKEN_HEX 65 /* the hex of 32 bytes and its NUL */

/* Is name a token name: 1..32 bytes of [A-Za-z0-9._-], no leading dot? */
int wf_token_name_ok(const char *name);
/* Make token name (refused with EEXIST when it exists); hex gets the
 * token, WF_TOKEN_HEX bytes.  -1 with err. */
int wf_token_add(
    int root, const char *name, char *hex, char *err, size_t errlen);
/* Remove token name; -1 with errno ENOENT when there is none. */
int wf_token_rm(int root, const char *name, char *err, size_t errlen);
/* The tokens as [{"name","created_at"}], sorted by name; NULL on error. */
cJSON *wf_token_list(int root);
/* Whose token is tok?  0 with its name in name (WF_TOKEN_NAME_MAX + 1
 * bytes), -1 when it is nobody's.  Every stored hash is compared, in
 * constant time, so that the answer's timing tells nothing. */
int wf_token_check(int root, const char *tok, char *name);

#endif
