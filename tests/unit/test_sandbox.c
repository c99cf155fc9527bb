/*
 * test_sandbox: the sandbox's command line and its checks (lib/sandbox.c).
 * The order of bwrap's options is the order of its mounts: the hidden
 * places first, the worktree after them (so that no hiding covers it), its
 * .git file read-only on top, the read-only places last.  No network is
 * an empty network namespace; a model's port keeps the host's network.
 * The model's port is read from its URL; a job's sandbox field is checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sandbox.h"

static char tmp[64];

static int
mk(void **state)
{
	char p[128];

	(void)state;
	strlcpy(tmp, "/tmp/test_sandbox.XXXXXX", sizeof(tmp));
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/home", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/wt", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/wt/.git", tmp);
	fclose(fopen(p, "w"));
	snprintf(p, sizeof(p), "%s/git", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/wf.ini", tmp);
	fclose(fopen(p, "w"));
	return 0;
}

static int
rm(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* The index of the first word w at or after from, or -1. */
static int
at(char **v, const char *w, int from)
{
	for (int i = from; v[i] != NULL; i++)
		if (strcmp(v[i], w) == 0)
			return i;
	return -1;
}

/* The index of the triple "opt a b", or -1. */
static int
triple(char **v, const char *opt, const char *a, const char *b)
{
	for (int i = 0; v[i] != NULL && v[i + 1] != NULL; i++)
		if (strcmp(v[i], opt) == 0 && strcmp(v[i + 1], a) == 0 &&
		    (b == NULL || (v[i + 2] != NULL && strcmp(v[i + 2], b) == 0)))
			return i;
	return -1;
}

static void
argv_order(void **state)
{
	char home[128], wt[128], dotgit[140], git[128], ini[128];
	const char *cmd[] = { "/bin/sh", "-c", "make check", NULL };
	struct wf_sandbox sb;
	char **v;
	int n, hide, ini_at, rw, gitf, ro, dd;

	(void)state;
	snprintf(home, sizeof(home), "%s/home", tmp);
	snprintf(wt, sizeof(wt), "%s/wt", tmp);
	snprintf(dotgit, sizeof(dotgit), "%s/wt/.git", tmp);
	snprintf(git, sizeof(git), "%s/git", tmp);
	snprintf(ini, sizeof(ini), "%s/wf.ini", tmp);
	memset(&sb, 0, sizeof(sb));
	sb.rw = wt;
	sb.hide[0] = home;
	sb.hide[1] = ini;
	sb.hide[2] = "/nonexistent/dir"; /* not there: left out */
	sb.ro[0] = git;
	sb.net = WF_NET_NONE;
	strlcpy(sb.status_fd, "9", sizeof(sb.status_fd));
	v = wf_sandbox_argv("/usr/bin/bwrap", &sb, cmd);
	assert_non_null(v);
	for (n = 0; v[n] != NULL; n++)
		;
	assert_string_equal(v[0], "/usr/bin/bwrap");
	assert_true(triple(v, "--json-status-fd", "9", NULL) == 1);
	assert_true(at(v, "--unshare-net", 0) > 0);
	assert_true(at(v, "--unshare-pid", 0) > 0);
	assert_true(at(v, "--die-with-parent", 0) > 0);
	assert_true(triple(v, "--ro-bind", "/", "/") > 0);
	assert_true(triple(v, "--tmpfs", "/tmp", NULL) > 0);
	assert_true(triple(v, "--tmpfs", "/run", NULL) > 0);
	/* a directory is hidden by an empty tmpfs, a file by /dev/null */
	hide = triple(v, "--tmpfs", home, NULL);
	ini_at = triple(v, "--ro-bind", "/dev/null", ini);
	assert_true(hide > 0 && ini_at > 0);
	assert_int_equal(at(v, "/nonexistent/dir", 0), -1);
	/* the worktree after the hidden places, its .git read-only on top,
	 * the git directory read-only after it */
	rw = triple(v, "--bind", wt, wt);
	gitf = triple(v, "--ro-bind", dotgit, dotgit);
	ro = triple(v, "--ro-bind", git, git);
	assert_true(rw > hide && rw > ini_at);
	assert_true(gitf > rw);
	assert_true(ro > rw);
	assert_true(triple(v, "--chdir", wt, NULL) > rw);
	/* then the command, whole, after "--" */
	dd = at(v, "--", 0);
	assert_true(dd > ro && dd > gitf);
	assert_int_equal(n, dd + 4);
	assert_string_equal(v[dd + 1], "/bin/sh");
	assert_string_equal(v[dd + 3], "make check");
	free(v);

	/* wf's programs under a directory the room makes private (a build
	 * in /tmp): their checkout is shown read-only after the tmpfs */
	setenv("WF_BINDIR", "/tmp/wf-checkout/bin", 1);
	v = wf_sandbox_argv("/usr/bin/bwrap", &sb, cmd);
	assert_non_null(v);
	assert_true(triple(v, "--ro-bind", "/tmp/wf-checkout",
	    "/tmp/wf-checkout") > triple(v, "--tmpfs", "/tmp", NULL));
	free(v);
	setenv("WF_BINDIR", "/usr/lib/wf", 1);
	v = wf_sandbox_argv("/usr/bin/bwrap", &sb, cmd);
	assert_int_equal(at(v, "/usr/lib", 0), -1);
	free(v);
	unsetenv("WF_BINDIR");

	/* a model's port, or network = yes: the host's network */
	sb.net = WF_NET_PORT;
	sb.port = 11434;
	sb.status_fd[0] = '\0';
	v = wf_sandbox_argv("bwrap", &sb, cmd);
	assert_int_equal(at(v, "--unshare-net", 0), -1);
	assert_int_equal(at(v, "--json-status-fd", 0), -1);
	free(v);
	sb.net = WF_NET_ALL;
	v = wf_sandbox_argv("bwrap", &sb, cmd);
	assert_int_equal(at(v, "--unshare-net", 0), -1);
	free(v);
}

static void
url_port(void **state)
{
	(void)state;
	assert_int_equal(wf_sandbox_url_port("http://127.0.0.1:11434"), 11434);
	assert_int_equal(wf_sandbox_url_port("http://localhost:8080/v1"), 8080);
	assert_int_equal(wf_sandbox_url_port("http://gpu-box/api"), 80);
	assert_int_equal(wf_sandbox_url_port("https://api.example.org"), 443);
	assert_int_equal(wf_sandbox_url_port("http://[::1]:12434/engines"),
	    12434);
	assert_int_equal(wf_sandbox_url_port("http://[::1]/x"), 80);
	assert_int_equal(wf_sandbox_url_port("ftp://host:21"), -1);
	assert_int_equal(wf_sandbox_url_port("http://host:99999"), -1);
	assert_int_equal(wf_sandbox_url_port("http://host:12ab"), -1);
	assert_int_equal(wf_sandbox_url_port("http://host:"), -1);
	assert_int_equal(wf_sandbox_url_port(NULL), -1);
}

static void
job_check(void **state)
{
	static const char *const good[] = {
		"{\"rw\":\"/w\"}",
		"{\"rw\":\"/w\",\"ro\":[\"/g\"],\"network\":false}",
		"{}",
	};
	static const char *const bad[] = {
		"[]", "{\"rw\":\"w\"}", "{\"rw\":1}", "{\"ro\":[\"g\"]}",
		"{\"ro\":[\"/a\",\"/b\",\"/c\",\"/d\",\"/e\"]}",
		"{\"network\":\"no\"}", "{\"colour\":\"red\"}",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cJSON *o = cJSON_Parse(good[i]);

		assert_int_equal(wf_sandbox_job_check(o, err, sizeof(err)), 0);
		cJSON_Delete(o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *o = cJSON_Parse(bad[i]);

		assert_int_equal(wf_sandbox_job_check(o, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "request_data.sandbox"));
		cJSON_Delete(o);
	}
}

static void
find_and_status(void **state)
{
	struct wf_sandbox_conf c;
	char path[4096], err[512];
	cJSON *o;

	(void)state;
	wf_sandbox_defaults(&c);
	assert_int_equal(c.on, 1);
	strlcpy(c.bwrap, "/nonexistent/bwrap", sizeof(c.bwrap));
	assert_int_equal(wf_sandbox_find(&c, path, sizeof(path), err,
	    sizeof(err)), -1);
	/* one line that names the fix */
	assert_non_null(strstr(err, "install bubblewrap"));
	assert_non_null(strstr(err, "sandbox = off"));
	assert_null(strchr(err, '\n'));
	o = cJSON_CreateObject();
	wf_sandbox_status(&c, o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o,
	    "sandbox")), "broken");
	c.on = 0;
	wf_sandbox_status(&c, o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o,
	    "sandbox")), "off");
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o,
	    "sandbox_note")), "OFF"));
	assert_int_equal(cJSON_GetArraySize(o), 2);
	cJSON_Delete(o);
	/* a path to a program that is there */
	strlcpy(c.bwrap, "/bin/sh", sizeof(c.bwrap));
	assert_int_equal(wf_sandbox_find(&c, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_string_equal(path, "/bin/sh");
}

static void
hidden(void **state)
{
	const char *hide[WF_SANDBOX_HIDE_MAX];
	char store[4096];
	int n;

	(void)state;
	setenv("WF_HOME", "/srv/wf", 1);
	setenv("WF_CONFIG", "/etc/wf/wf.ini", 1);
	setenv("HOME", "/", 1); /* the root is never hidden */
	n = wf_sandbox_hidden("/srv/wf", hide, store, sizeof(store));
	assert_true(n >= 2 && n < WF_SANDBOX_HIDE_MAX);
	assert_string_equal(hide[0], "/srv/wf");
	for (int i = 0; i < n; i++) {
		assert_string_not_equal(hide[i], "/");
		for (int k = 0; k < i; k++)
			assert_string_not_equal(hide[i], hide[k]);
	}
	assert_null(hide[n]);
	setenv("HOME", "/home/alice", 1);
	assert_int_equal(wf_sandbox_hidden("/srv/wf", hide, store,
	    sizeof(store)), n + 1);
	assert_string_equal(hide[n], "/home/alice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(argv_order),
		cmocka_unit_test(url_port),
		cmocka_unit_test(job_check),
		cmocka_unit_test(find_and_status),
		cmocka_unit_test(hidden),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, mk, rm);
}
