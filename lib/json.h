/*
 * json: typed reads of a cJSON object's members, for code that takes a
 * member that is missing or of another type as absent; and the check of
 * JSON text before cJSON parses it, since cJSON keeps a string as a C
 * string (a NUL, raw or \u0000, would cut it) and copies bytes that are
 * not UTF-8 as they are.  Input is refused, never altered.
 */
#ifndef WF_JSON_H
#define WF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The largest id: every integer up to it is exact in a double. */
#define WF_JSON_ID_MAX 9007199254740991.0 /* 2^53 - 1 */

/* o's member k when it is a string, else NULL. */
const char *wf_json_str(const cJSON *o, const char *k);
/* o's member k when it is a number (cut to an integer) within
 * +-WF_JSON_ID_MAX, else 0. */
long long wf_json_int(const cJSON *o, const char *k);
/* it as an id (an integer 1 to WF_JSON_ID_MAX) in id: 0, else -1. */
int wf_json_id(const cJSON *it, int64_t *id);
/* Is s[0..n) UTF-8 (RFC 3629: no overlong form, no surrogate)? */
int wf_json_utf8_ok(const char *s, size_t n);
/* Is buf[0..len) free of NUL bytes, raw or as \u0000 in a string, and
 * all UTF-8?  0, or -1 and "FIELD: what in a string, refused" in err,
 * FIELD the member whose value (or name) holds it, or "body". */
int wf_json_text_ok(const char *buf, size_t len, char *err, size_t errlen);

#endif
