/*
 * http: what every libcurl handle of wf is given alike.  A model, a
 * health check or a webhook on this machine is never reached through a
 * proxy: localhost, 127.0.0.1 and ::1 are added to the proxy exceptions
 * (NO_PROXY, no_proxy), which are kept.
 */
#ifndef WF_HTTP_H
#define WF_HTTP_H

#include <curl/curl.h>

/* Set the proxy exceptions on h; -1 when they do not fit. */
int wf_http_noproxy(CURL *h);

#endif
