/*
 * http: the proxy exceptions of every handle.  libcurl reads NO_PROXY
 * itself only when CURLOPT_NOPROXY is not set; setting it, we take the
 * user's list and add this machine's names.
 */
#include <stdio.h>
#include <stdlib.h>

#include "http.h"

int
wf_http_noproxy(CURL *h)
{
	const char *u = getenv("NO_PROXY");
	char list[2048];
	int n;

	if (u == NULL || *u == '\0')
		u = getenv("no_proxy");
	if (u != NULL && u[0] == '*' && u[1] == '\0')
		return curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK
		    ? 0
		    : -1;
	n = snprintf(list, sizeof(list), "%s%slocalhost,127.0.0.1,::1",
	    u != NULL ? u : "", u != NULL && *u != '\0' ? "," : "");
	if (n < 0 || n >= (int)sizeof(list))
		return -1;
	/* libcurl copies the string. */
	return curl_easy_setopt(h, CURLOPT_NOPROXY, list) == CURLE_OK ? 0 : -1;
}
