/*
 * test_api: lib/api.c on a private tree, without a socket.  The router
 * finds each route and refuses the rest (404, 405 with Allow, 414), ids are
 * parsed strictly (a bad one is 400, not 404), bodies are bounded (413)
 * and must be one JSON object (400 naming an unknown field); a change
 * needs a token (401 without one or with a wrong one, and nothing is
 * written), and with the right one it is done under the actor
 * "http:NAME"; /metrics needs one only from a client beyond loopback;
 * the page serves its files and refuses dot names and
 * symbolic links.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "config.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "token.h"
#include "vault.h"

struct tree {
	char home[PATH_MAX - 64], web[PATH_MAX];
	int root;
	char token[WF_TOKEN_HEX], bearer[WF_TOKEN_HEX + 16];
	struct wf_api api;
	struct wf_api_reply r;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* A runtime tree with a vault, alice's token and a page; -1 on a failure
 * (setup frees tr). */
static int
mktree(struct tree *tr)
{
	const char *t = getenv("TMPDIR");
	struct wf_config cfg;
	char err[256], path[PATH_MAX + 32];
	FILE *f;

	snprintf(tr->home, sizeof(tr->home), "%s/wf-test-api.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tr->home) == NULL || wf_spool_init(tr->home) == -1 ||
	    (tr->root = wf_spool_open(tr->home)) == -1 ||
	    wf_vault_init(tr->root, err, sizeof err) == -1 ||
	    wf_token_add(tr->root, "alice", tr->token, err, sizeof err) == -1)
		return -1;
	snprintf(tr->bearer, sizeof(tr->bearer), "Bearer %s", tr->token);
	snprintf(tr->web, sizeof(tr->web), "%s/web", tr->home);
	if (mkdir(tr->web, 0700) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/index.html", tr->web);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("<!doctype html>\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/link.js", tr->web);
	if (symlink("/etc/passwd", path) == -1)
		return -1;
	wf_config_defaults(&cfg);
	if (wf_api_init(
		&tr->api, tr->root, tr->web, &cfg, 0, err, sizeof err) == -1)
		return -1;
	tr->r.fd = -1;
	return 0;
}

static int
setup(void **state)
{
	struct tree *tr = calloc(1, sizeof(*tr));

	if (tr == NULL)
		return -1;
	if (mktree(tr) == -1) {
		free(tr);
		return -1;
	}
	*state = tr;
	return 0;
}

static int
teardown(void **state)
{
	struct tree *tr = *state;

	wf_api_reply_free(&tr->r);
	wf_api_fini(&tr->api);
	close(tr->root);
	nftw(tr->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tr);
	return 0;
}

/* One request; the status.  body NULL: none. */
static int
req(struct tree *tr, const char *method, const char *path, const char *query,
    const char *auth, const char *body)
{
	wf_api_reply_free(&tr->r);
	return wf_api_handle(&tr->api, method, path, query, auth, body,
	    body != NULL ? strlen(body) : 0, &tr->r);
}

/* The reply's JSON, parsed (the caller's). */
static cJSON *
reply(struct tree *tr)
{
	cJSON *o;

	assert_non_null(tr->r.body);
	o = cJSON_ParseWithLength(tr->r.body, tr->r.len);
	assert_non_null(o);
	return o;
}

/* The reply is an error whose one line holds what. */
static void
error_says(struct tree *tr, const char *what)
{
	cJSON *o = reply(tr);
	const cJSON *e = cJSON_GetObjectItem(o, "error");

	assert_true(cJSON_IsString(e));
	if (strstr(e->valuestring, what) == NULL)
		fail_msg("'%s' does not say '%s'", e->valuestring, what);
	/* one line */
	assert_ptr_equal(strchr(tr->r.body, '\n'), tr->r.body + tr->r.len - 1);
	cJSON_Delete(o);
}

static int
exists(struct tree *tr, const char *path)
{
	struct stat st;

	return fstatat(tr->root, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
routes(void **state)
{
	struct tree *tr = *state;
	cJSON *o;

	assert_int_equal(req(tr, "GET", "/api/health", NULL, NULL, NULL), 200);
	assert_string_equal(tr->r.ctype, "application/json");
	o = reply(tr);
	assert_string_equal(
	    cJSON_GetObjectItem(o, "status")->valuestring, "ok");
	cJSON_Delete(o);
	assert_int_equal(req(tr, "GET", "/api/board", NULL, NULL, NULL), 200);
	assert_int_equal(
	    req(tr, "GET", "/api/queue/status", "", NULL, NULL), 200);
	assert_int_equal(
	    req(tr, "GET", "/api/projects", NULL, NULL, NULL), 200);
	assert_string_equal(tr->r.body, "[]\n");
	assert_int_equal(
	    req(tr, "GET", "/api/log", "limit=5", NULL, NULL), 200);
	assert_int_equal(
	    req(tr, "GET", "/api/log", "limit=0", NULL, NULL), 400);
	/* unknown: 404; a known path with another method: 405 and Allow */
	assert_int_equal(req(tr, "GET", "/api/nosuch", NULL, NULL, NULL), 404);
	assert_int_equal(req(tr, "GET", "/api", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/api/projects/", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/api//projects", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/api/projects/1/nosuch", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/api/a/b/c/d/e/f/g/h/i/j", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "DELETE", "/api/projects", NULL, tr->bearer, NULL), 405);
	assert_string_equal(tr->r.allow, "GET");
	/* /create is not an {id}: GET of it is 405, POST only */
	assert_int_equal(
	    req(tr, "GET", "/api/projects/create", NULL, NULL, NULL), 405);
	assert_string_equal(tr->r.allow, "POST");
	assert_int_equal(
	    req(tr, "PUT", "/api/projects/1/update", NULL, NULL, NULL), 405);
	assert_string_equal(tr->r.allow, "PATCH");
	/* a path over its bound */
	{
		char longpath[WF_API_PATH_MAX + 16];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		assert_int_equal(
		    req(tr, "GET", longpath, NULL, NULL, NULL), 414);
	}
}

static void
ids(void **state)
{
	struct tree *tr = *state;
	static const char *const bad[] = {
		"/api/projects/abc",
		"/api/projects/0",
		"/api/projects/-1",
		"/api/projects/1x",
		"/api/projects/+1",
		"/api/projects/1125899906842625", /* past 2^50 */
		"/api/projects/99999999999999999999999",
		"/api/tasks/ 1",
		NULL,
	};

	for (int i = 0; bad[i] != NULL; i++) {
		if (req(tr, "GET", bad[i], NULL, NULL, NULL) != 400)
			fail_msg("%s: %d, not 400", bad[i], tr->r.status);
		error_says(tr, "not an id");
	}
	assert_int_equal(
	    req(tr, "GET", "/api/projects/7", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/api/queue/jobs/.hidden", NULL, NULL, NULL), 400);
	assert_int_equal(
	    req(tr, "GET", "/api/queue/jobs/nosuch", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/api/runs", "project_id=x", NULL, NULL), 400);
	assert_int_equal(
	    req(tr, "GET", "/api/runs", "project_id=3&other=1", NULL, NULL),
	    200);
	/* a bad id is refused before the token is asked for */
	assert_int_equal(
	    req(tr, "DELETE", "/api/projects/x/delete", NULL, NULL, NULL), 400);
}

static void
auth(void **state)
{
	struct tree *tr = *state;
	char wrong[WF_TOKEN_HEX + 16];
	const char *body = "{\"name\":\"demo\"}";
	cJSON *o;

	/* none, another scheme, a wrong token, a truncated one */
	assert_int_equal(
	    req(tr, "POST", "/api/projects/create", NULL, NULL, body), 401);
	assert_true(tr->r.auth);
	error_says(tr, "token");
	assert_int_equal(req(tr, "POST", "/api/projects/create", NULL,
			     "Basic YWxpY2U6eA==", body),
	    401);
	snprintf(wrong, sizeof(wrong), "Bearer %s", tr->token);
	wrong[7] = wrong[7] == 'a' ? 'b' : 'a';
	assert_int_equal(
	    req(tr, "POST", "/api/projects/create", NULL, wrong, body), 401);
	wrong[strlen(wrong) - 1] = '\0';
	assert_int_equal(
	    req(tr, "PATCH", "/api/projects/1/update", NULL, wrong, body), 401);
	assert_int_equal(
	    req(tr, "DELETE", "/api/projects/1/delete", NULL, "Bearer ", NULL),
	    401);
	assert_int_equal(tr->api.refused, 5);
	/* nothing written: no project, no audit line */
	assert_false(exists(tr, "state/projects/1.json"));
	assert_false(exists(tr, "log/audit.jsonl"));

	/* the right one: done, and audited under its name */
	assert_int_equal(
	    req(tr, "POST", "/api/projects/create", NULL, tr->bearer, body),
	    201);
	assert_string_equal(tr->r.actor, "http:alice");
	o = reply(tr);
	assert_int_equal(cJSON_GetObjectItem(o, "id")->valuedouble, 1);
	cJSON_Delete(o);
	assert_true(exists(tr, "state/projects/1.json"));
	assert_int_equal(req(tr, "GET", "/api/log", NULL, NULL, NULL), 200);
	assert_non_null(strstr(tr->r.body,
	    "\"actor\":\"http:alice\",\"action\":\"project.created\""));
	/* the actor is the token's for that request only */
	assert_string_equal(wf_audit_actor(), "wf-httpd");
	/* the scheme's name is case-insensitive, as RFC 9110 says */
	tr->bearer[0] = 'b';
	assert_int_equal(req(tr, "PATCH", "/api/projects/1/update", NULL,
			     tr->bearer, "{\"description\":\"d\"}"),
	    200);
	tr->bearer[0] = 'B';
	/* reads need no token on loopback, but do when remote */
	tr->api.remote = 1;
	assert_int_equal(
	    req(tr, "GET", "/api/projects", NULL, NULL, NULL), 401);
	assert_int_equal(
	    req(tr, "GET", "/api/projects", NULL, tr->bearer, NULL), 200);
	/* /metrics: open to a client on loopback even then, not to one
	 * beyond it; the rest of the API needs the token from both */
	tr->api.peer_local = 0;
	assert_int_equal(req(tr, "GET", "/metrics", NULL, NULL, NULL), 401);
	assert_int_equal(
	    req(tr, "GET", "/metrics", NULL, tr->bearer, NULL), 200);
	assert_string_equal(tr->r.ctype, WF_METRICS_CTYPE);
	assert_non_null(strstr(tr->r.body, "# TYPE wf_jobs_waiting gauge\n"));
	tr->api.peer_local = 1;
	assert_int_equal(req(tr, "GET", "/metrics", NULL, NULL, NULL), 200);
	assert_int_equal(
	    req(tr, "GET", "/api/projects", NULL, NULL, NULL), 401);
	assert_int_equal(req(tr, "POST", "/metrics", NULL, tr->bearer, NULL),
	    405);
	tr->api.remote = 0;
	tr->api.peer_local = 0;
	assert_int_equal(req(tr, "GET", "/metrics", NULL, NULL, NULL), 200);
}

static void
bodies(void **state)
{
	struct tree *tr = *state;
	char *big;
	size_t n = WF_API_BODY_MAX + 1;

	assert_int_equal(req(tr, "POST", "/api/projects/create", NULL,
			     tr->bearer, "{\"name\":"),
	    400);
	error_says(tr, "malformed JSON");
	assert_int_equal(req(tr, "POST", "/api/projects/create", NULL,
			     tr->bearer, "[\"name\"]"),
	    400);
	error_says(tr, "not a JSON object");
	assert_int_equal(req(tr, "POST", "/api/projects/create", NULL,
			     tr->bearer, "{\"name\":\"a\"}{}"),
	    400);
	assert_int_equal(req(tr, "POST", "/api/projects/create", NULL,
			     tr->bearer, "{\"name\":\"a\",\"colour\":\"red\"}"),
	    400);
	error_says(tr, "colour");
	assert_int_equal(
	    req(tr, "POST", "/api/projects/create", NULL, tr->bearer, NULL),
	    400);
	assert_int_equal(
	    req(tr, "POST", "/api/projects/create", NULL, tr->bearer,
		"{\"name\":\"a\",\"repo_path\":\"x\"}"),
	    400);
	error_says(tr, "absolute");
	/* a body over the bound: 413, nothing parsed or written */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	wf_api_reply_free(&tr->r);
	assert_int_equal(wf_api_handle(&tr->api, "POST", "/api/projects/create",
			     NULL, tr->bearer, big, n, &tr->r),
	    413);
	free(big);
	assert_false(exists(tr, "state/projects/1.json"));
	/* a field a handler does not know: named */
	assert_int_equal(req(tr, "POST", "/api/projects/create", NULL,
			     tr->bearer, "{\"name\":\"p\"}"),
	    201);
	assert_int_equal(req(tr, "POST", "/api/projects/1/execute", NULL,
			     tr->bearer, "{\"approver\":\"me\"}"),
	    400);
	error_says(tr, "approver");
	assert_false(exists(tr, "state/runs/1.json"));
	/* the path gives the project */
	assert_int_equal(
	    req(tr, "POST", "/api/projects/1/tasks/create", NULL, tr->bearer,
		"{\"title\":\"t\",\"task_id\":\"T\","
		"\"project_id\":2}"),
	    400);
	/* an illegal transition is 409 with the pipeline's reason */
	assert_int_equal(
	    req(tr, "POST", "/api/projects/1/execute", NULL, tr->bearer, NULL),
	    201);
	assert_int_equal(req(tr, "POST", "/api/runs/1/approve-deploy", NULL,
			     tr->bearer, NULL),
	    409);
	assert_int_equal(
	    req(tr, "POST", "/api/runs/2/advance", NULL, tr->bearer, NULL),
	    404);
	/* enqueue: wf-enqueue's checks */
	assert_int_equal(req(tr, "POST", "/api/queue/enqueue", NULL, tr->bearer,
			     "{\"job_type\":\"nosuch\"}"),
	    400);
	assert_int_equal(req(tr, "POST", "/api/queue/enqueue", NULL, tr->bearer,
			     "{\"job_type\":\"command\",\"request_data\":"
			     "{\"argv\":[\"true\"]},\"priority\":\"low\"}"),
	    201);
}

static void
page(void **state)
{
	struct tree *tr = *state;

	assert_int_equal(req(tr, "GET", "/", NULL, NULL, NULL), 302);
	assert_string_equal(tr->r.location, "/ui/");
	assert_int_equal(req(tr, "GET", "/ui/", NULL, NULL, NULL), 200);
	assert_true(tr->r.ui);
	assert_true(tr->r.fd != -1);
	assert_int_equal(tr->r.size, strlen("<!doctype html>\n"));
	assert_string_equal(tr->r.ctype, "text/html; charset=utf-8");
	assert_int_equal(
	    req(tr, "GET", "/ui/index.html", NULL, NULL, NULL), 200);
	assert_int_equal(
	    req(tr, "GET", "/ui/../etc/passwd", NULL, NULL, NULL), 404);
	assert_int_equal(req(tr, "GET", "/ui/.", NULL, NULL, NULL), 404);
	assert_int_equal(req(tr, "GET", "/ui//x", NULL, NULL, NULL), 404);
	assert_int_equal(
	    req(tr, "GET", "/ui/nosuch.css", NULL, NULL, NULL), 404);
	assert_int_equal(req(tr, "GET", "/ui/link.js", NULL, NULL, NULL), 403);
	assert_int_equal(
	    req(tr, "POST", "/ui/index.html", NULL, NULL, NULL), 405);
	assert_string_equal(tr->r.allow, "GET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(routes, setup, teardown),
		cmocka_unit_test_setup_teardown(ids, setup, teardown),
		cmocka_unit_test_setup_teardown(auth, setup, teardown),
		cmocka_unit_test_setup_teardown(bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(page, setup, teardown),
	};

	wf_log_init("test_api", 0);
	wf_audit_set_actor("wf-httpd");
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
