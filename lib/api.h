/*
 * api: wf-httpd's REST API (the seed's /api/...) and its static page
 * (/ui/), without a socket: a request is a method, a decoded path, a query
 * string, the Authorization header and a body; the reply is a status, a
 * JSON body (or a file of the web directory to send) and the headers that
 * go with it.  So the router and every handler can be tested and fuzzed
 * with no server.
 *
 * Every handler calls the library functions the CLI calls (store, entity,
 * pipeline, queue, cred, webhook, board, audit): wf-httpd writes nothing
 * the CLI could not.  A request that changes something (POST, PATCH,
 * DELETE) needs "Authorization: Bearer TOKEN" (lib/token); the token's
 * name, as "http:NAME", is the actor of its audit lines and the approver
 * of a deploy.  A refused request writes nothing.
 */
#ifndef WF_API_H
#define WF_API_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "pipeline.h"
#include "sandbox.h"
#include "token.h"

#define WF_API_BODY_MAX (1 << 20) /* bytes of a request body */
#define WF_API_PATH_MAX 1024 /* bytes of a path */
#define WF_API_QUERY_MAX 1024 /* bytes of a query string */
#define WF_API_FILE_MAX (8 << 20) /* bytes of a file of the page */
#define WF_API_LOG_MAX 10000 /* lines of /api/log */

struct wf_api {
	int root; /* the runtime tree */
	int webfd; /* the web directory, or -1: /ui/ is 404 */
	int remote; /* listening beyond loopback: reads need a token too */
	int aging; /* [queue] aging, for a waiting job's position */
	struct wf_pipeline_conf pipeline;
	struct wf_director_conf director; /* [director], under its state */
	struct wf_sandbox_conf sandbox; /* said in the queue's status */
	char lanes[WF_LANES_MAX][16]; /* the configured lanes' names */
	int nlanes;
	int peer_local; /* the request's client is on loopback: set by the
	                 * server before each wf_api_handle; with remote,
	                 * /metrics needs no token from it */
	struct wf_metrics *metrics; /* /metrics' state between scrapes */
	unsigned long requests, refused; /* refused: 401 */
};

struct wf_api_reply {
	int status;
	char *body; /* malloc'd, len bytes; NULL: none */
	size_t len;
	int fd; /* a file to send whole (size bytes), or -1; the reply's */
	size_t size;
	const char *ctype; /* Content-Type */
	const char *location; /* a redirect's */
	char allow[40]; /* a 405's Allow */
	int ui; /* a reply of the page: its CSP applies */
	int auth; /* a 401: ask for a Bearer token */
	char actor[WF_TOKEN_NAME_MAX + 8]; /* "http:NAME" of a change */
};

/* Serve root's API and the page of webdir (NULL or missing: no page).
 * -1 with err when webdir is there but cannot be opened. */
int wf_api_init(struct wf_api *a, int root, const char *webdir,
    const struct wf_config *cfg, int remote, char *err, size_t errlen);
/* Take the settings of a reloaded config. */
void wf_api_conf(struct wf_api *a, const struct wf_config *cfg);
void wf_api_fini(struct wf_api *a);

/*
 * Handle one request.  method "GET"...; path decoded, without the query;
 * query "k=v&k=v" (decoded values; NULL or ""); auth the Authorization
 * header or NULL; body len bytes (NULL when none).  Fills out (free it
 * with wf_api_reply_free) and returns its status.
 */
int wf_api_handle(struct wf_api *a, const char *method, const char *path,
    const char *query, const char *auth, const char *body, size_t len,
    struct wf_api_reply *out);
void wf_api_reply_free(struct wf_api_reply *r);

#endif
