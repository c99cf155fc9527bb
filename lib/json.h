/*
 * json: typed reads of a cJSON object's members, for code that takes a
 * member that is missing or of another type as absent.  The store and
 * the parsers check types where it matters; these only read.
 */
#ifndef WF_JSON_H
#define WF_JSON_H

#include <cjson/cJSON.h>

/* o's member k when it is a string, else NULL. */
const char *wf_json_str(const cJSON *o, const char *k);
/* o's member k when it is a number (cut to an integer), else 0. */
long long wf_json_int(const cJSON *o, const char *k);

#endif
