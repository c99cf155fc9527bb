/*
 * json: typed reads of a cJSON object's members, and the check of JSON
 * text that cJSON would otherwise alter (see json.h).  It keeps no spool
 * rule: it only reads what a caller has parsed or is about to.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

const char *
wf_json_str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

long long
wf_json_int(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	/* Beyond what a double holds exactly the cast would be undefined
	 * (1e300): such a number is no integer of ours. */
	if (!cJSON_IsNumber(it) || !(fabs(it->valuedouble) <= WF_JSON_ID_MAX))
		return 0;
	return (long long)it->valuedouble;
}

int
wf_json_id(const cJSON *it, int64_t *id)
{
	double v;

	if (!cJSON_IsNumber(it))
		return -1;
	v = it->valuedouble;
	if (!(v >= 1 && v <= WF_JSON_ID_MAX) || v != floor(v))
		return -1;
	*id = (int64_t)v;
	return 0;
}

/* The length of the UTF-8 sequence at p (at most n bytes), 0 if none:
 * no overlong form, no surrogate, nothing past U+10FFFF (RFC 3629). */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

int
wf_json_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k;

	while (n > 0) {
		if ((k = utf8_seq(p, n)) == 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

int
wf_json_text_ok(const char *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)buf, *e = p + len;
	const unsigned char *s0 = NULL, *q;
	char key[64] = "";
	const char *why;
	size_t k;

	while (p < e) {
		if (*p == '\0') {
			why = "a NUL byte";
			goto bad;
		}
		if (s0 == NULL) {
			if (*p == '"')
				s0 = p + 1;
			if ((k = utf8_seq(p, (size_t)(e - p))) == 0) {
				why = "not UTF-8";
				goto bad;
			}
			p += k;
			continue;
		}
		if (*p == '\\') {
			if (e - p >= 6 && p[1] == 'u' &&
			    memcmp(p + 2, "0000", 4) == 0) {
				why = "a NUL (\\u0000)";
				goto bad;
			}
			p += p + 1 < e ? 2 : 1;
			continue;
		}
		if (*p == '"') {
			/* A member's name: what the errors that follow
			 * name. */
			for (q = p + 1; q < e && strchr(" \t\r\n", *q) != NULL &&
			    *q != '\0'; q++)
				;
			if (q < e && *q == ':') {
				k = (size_t)(p - s0);
				if (k >= sizeof(key))
					k = sizeof(key) - 1;
				memcpy(key, s0, k);
				key[k] = '\0';
			}
			s0 = NULL;
			p++;
			continue;
		}
		if ((k = utf8_seq(p, (size_t)(e - p))) == 0) {
			why = "not UTF-8";
			goto bad;
		}
		p += k;
	}
	return 0;
bad:
	/* key is UTF-8 (checked as it was read) but may hold a quote or
	 * a backslash: cut there, as the message is quoted JSON. */
	key[strcspn(key, "\"\\")] = '\0';
	if (s0 == NULL) /* between values: no member's */
		snprintf(err, errlen, "body: %s, refused", why);
	else
		snprintf(err, errlen, "%s: %s in a string, refused",
		    key[0] != '\0' ? key : "body", why);
	return -1;
}
