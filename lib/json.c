/*
 * json: typed reads of a cJSON object's members (see json.h).  It keeps
 * no spool rule: it only reads what a caller has parsed.
 */
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

	return cJSON_IsNumber(it) ? (long long)it->valuedouble : 0;
}
