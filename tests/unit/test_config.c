/*
 * test_config: wf.ini parsing (lib/config.c).  The defaults; a full valid
 * text sets every value and adds lanes; each error names its line and its
 * key, [llm]'s values and the back-off pairs included; wf_config_load of a missing file (required or not), of a file over
 * 64 KiB, and of real files written to a mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static void
assert_lane(const struct wf_config *c, const char *name, int concurrency,
    enum wf_runner runner)
{
	const struct wf_lane_conf *l;

	if ((l = wf_config_lane(c, name)) == NULL)
		fail_msg("no lane %s", name);
	assert_string_equal(l->name, name);
	assert_int_equal(l->concurrency, concurrency);
	assert_int_equal(l->runner, runner);
}

static void
assert_defaults(const struct wf_config *c)
{
	assert_int_equal(c->nlanes, 4);
	assert_lane(c, "llm", 1, WF_RUN_DIRECT);
	assert_lane(c, "agent", 1, WF_RUN_DIRECT);
	assert_lane(c, "vision", 1, WF_RUN_DIRECT);
	assert_lane(c, "command", 4, WF_RUN_DIRECT);
	assert_int_equal(c->aging, 300);
	assert_int_equal(c->backoff_base, 2);
	assert_int_equal(c->backoff_max, 300);
	assert_int_equal(c->kill_grace, 5);
	assert_int_equal(c->max_attempts, 3);
	assert_int_equal(c->output_max, 1L << 20);
	assert_int_equal(c->restart_max, 30);
	/* A spare on each model lane; the next job handed ahead on the
	 * lanes whose jobs only call the model. */
	assert_true(wf_config_lane(c, "llm")->prestart);
	assert_true(wf_config_lane(c, "llm")->chain);
	assert_true(wf_config_lane(c, "vision")->chain);
	assert_true(wf_config_lane(c, "agent")->prestart);
	assert_false(wf_config_lane(c, "agent")->chain);
	assert_false(wf_config_lane(c, "command")->prestart);
	assert_false(wf_config_lane(c, "command")->chain);
}

static void
test_defaults(void **state)
{
	struct wf_config c;

	(void)state;
	memset(&c, 0x55, sizeof(c));
	wf_config_defaults(&c);
	assert_defaults(&c);
	assert_null(wf_config_lane(&c, "gpu"));
	assert_null(wf_config_lane(&c, ""));
}

static const char full[] =
	"; a full config\n"
	"[queue]\n"
	"aging = 60\n"
	"backoff_base=1\n"
	"backoff_max = 10\n"
	"# another comment\n"
	"kill_grace = 2\n"
	"max_attempts = 5\n"
	"output_max = 4096\n"
	"\n"
	"[lane.llm]\n"
	"concurrency = 2\n"
	"runner = agent\n"
	"[lane.gpu]\n"
	"concurrency = 3\n"
	"[up]\n"
	"restart_max = 7\n";

static void
test_parse_full(void **state)
{
	struct wf_config c;
	char err[512] = "";

	(void)state;
	wf_config_defaults(&c);
	if (wf_config_parse(&c, full, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.aging, 60);
	assert_int_equal(c.backoff_base, 1);
	assert_int_equal(c.backoff_max, 10);
	assert_int_equal(c.kill_grace, 2);
	assert_int_equal(c.max_attempts, 5);
	assert_int_equal(c.output_max, 4096);
	assert_int_equal(c.restart_max, 7);
	assert_int_equal(c.nlanes, 5);
	assert_lane(&c, "llm", 2, WF_RUN_AGENT);
	assert_lane(&c, "gpu", 3, WF_RUN_DIRECT);
	/* The others keep their defaults. */
	assert_lane(&c, "agent", 1, WF_RUN_DIRECT);
	assert_lane(&c, "vision", 1, WF_RUN_DIRECT);
	assert_lane(&c, "command", 4, WF_RUN_DIRECT);

	/* Parsing over a config changes only what the text says. */
	if (wf_config_parse(&c, "[lane.llm]\nrunner = direct\n"
	    "[queue]\naging = 0\n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_lane(&c, "llm", 2, WF_RUN_DIRECT);
	assert_int_equal(c.aging, 0);
	if (wf_config_parse(&c, "[lane.llm]\nchain = no\nprestart = yes\n"
	    "[lane.agent]\nchain = true\n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_false(wf_config_lane(&c, "llm")->chain);
	assert_true(wf_config_lane(&c, "llm")->prestart);
	assert_true(wf_config_lane(&c, "agent")->chain);
	assert_int_equal(c.max_attempts, 5);
	assert_int_equal(c.nlanes, 5);

	/* An empty text is the defaults. */
	wf_config_defaults(&c);
	assert_int_equal(wf_config_parse(&c, "", err, sizeof(err)), 0);
	assert_defaults(&c);
}

static void
test_parse_limits(void **state)
{
	struct wf_config c;
	char text[2048], err[512] = "";
	size_t off = 0;

	(void)state;
	/* Range ends are accepted. */
	wf_config_defaults(&c);
	if (wf_config_parse(&c, "[queue]\naging=2592000\nbackoff_base=86400\n"
	    "backoff_max=604800\nkill_grace=0\nmax_attempts=100\n"
	    "output_max=1024\n[lane.a]\nconcurrency=1024\n"
	    "[lane.z_9-]\nconcurrency=1\n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.aging, 2592000);
	assert_int_equal(c.backoff_max, 604800);
	assert_int_equal(c.kill_grace, 0);
	assert_int_equal(c.max_attempts, 100);
	assert_int_equal(c.output_max, 1024);
	assert_lane(&c, "a", 1024, WF_RUN_DIRECT);
	assert_lane(&c, "z_9-", 1, WF_RUN_DIRECT);

	/* WF_LANES_MAX lanes fit, one more does not. */
	wf_config_defaults(&c);
	for (int i = c.nlanes; i < WF_LANES_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "[lane.x%d]\nconcurrency=2\n", i);
	if (wf_config_parse(&c, text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.nlanes, WF_LANES_MAX);
	assert_lane(&c, "x15", 2, WF_RUN_DIRECT);
	assert_int_equal(wf_config_parse(&c, "[lane.one_more]\nconcurrency=1\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "lanes"));
	assert_int_equal(c.nlanes, WF_LANES_MAX);
}

static const struct {
	const char *text;
	int line;
	const char *word; /* the key, or what the error is about */
} bad[] = {
	/* unknown section */
	{ "[queue]\naging=1\n[bogus]\nx=1\n", 4, "bogus" },
	{ "[lane]\nconcurrency=1\n", 2, "lane" },
	{ "[Queue]\naging=1\n", 2, "Queue" },
	{ "aging=1\n", 1, "section" }, /* no section */
	/* unknown key */
	{ "[queue]\nagin=1\n", 2, "agin" },
	{ "[queue]\naging=1\n\nconcurrency=2\n", 4, "concurrency" },
	{ "[lane.llm]\nconcurrency=1\nrunners=agent\n", 3, "runners" },
	{ "[up]\nrestart=1\n", 2, "restart" },
	/* not a yes or no */
	{ "[lane.llm]\nchain=maybe\n", 2, "chain" },
	{ "[lane.llm]\n\nprestart=1\n", 3, "prestart" },
	/* out of range */
	{ "[queue]\n\naging=-1\n", 3, "aging" },
	{ "[queue]\naging=2592001\n", 2, "aging" },
	{ "[queue]\nbackoff_base=0\n", 2, "backoff_base" },
	{ "[queue]\nbackoff_max=604801\n", 2, "backoff_max" },
	{ "[queue]\nkill_grace=3601\n", 2, "kill_grace" },
	{ "[queue]\nmax_attempts=0\n", 2, "max_attempts" },
	{ "[queue]\nmax_attempts=101\n", 2, "max_attempts" },
	{ "[queue]\noutput_max=1023\n", 2, "output_max" },
	{ "[lane.llm]\nconcurrency=0\n", 2, "concurrency" },
	{ "[lane.llm]\nconcurrency=1025\n", 2, "concurrency" },
	{ "[up]\nrestart_max=0\n", 2, "restart_max" },
	{ "[queue]\naging=99999999999999999999\n", 2, "aging" },
	/* not a number */
	{ "[queue]\nbackoff_base=ten\n", 2, "backoff_base" },
	{ "[queue]\naging=10s\n", 2, "aging" },
	{ "[queue]\naging=1.5\n", 2, "aging" },
	{ "[queue]\naging=\n", 2, "aging" },
	{ "[queue]\nkill_grace=0x10\n", 2, "kill_grace" },
	{ "[lane.llm]\nconcurrency=two\n", 2, "concurrency" },
	{ "[up]\nrestart_max=soon\n", 2, "restart_max" },
	/* bad runner */
	{ "[lane.llm]\nrunner=docker\n", 2, "runner" },
	{ "[lane.llm]\nrunner=Agent\n", 2, "runner" },
	{ "[lane.llm]\nrunner=\n", 2, "runner" },
	/* bad lane name */
	{ "[lane.A/B]\nconcurrency=1\n", 2, "lane.A/B" },
	{ "[lane.GPU]\nconcurrency=1\n", 2, "lane.GPU" },
	{ "[lane.]\nconcurrency=1\n", 2, "lane." },
	{ "[lane.abcdefghijklmnop]\nconcurrency=1\n", 2,
	    "lane.abcdefghijklmnop" },
	/* [llm]: each value as its variable would be checked, here */
	{ "[llm]\nprovider = foo\n", 2, "provider" },
	{ "[llm]\nprovider = ollama2\n", 2, "provider" },
	{ "[llm]\n\nbase_url = not a url\n", 3, "base_url" },
	{ "[llm]\nbase_url = ftp://host/\n", 2, "base_url" },
	{ "[llm]\nbase_url = http://\n", 2, "base_url" },
	{ "[llm]\nbase_url = localhost:11434\n", 2, "base_url" },
	{ "[llm]\nbase_url = http://host:0\n", 2, "base_url" },
	{ "[llm]\nbase_url = http://host:65536/\n", 2, "base_url" },
	{ "[llm]\nbase_url = http://host/a b\n", 2, "base_url" },
	{ "[llm]\ntimeout = 0\n", 2, "timeout" },
	{ "[llm]\ntimeout = 86401\n", 2, "timeout" },
	{ "[llm]\ntimeout = 5s\n", 2, "timeout" },
	{ "[llm]\nnum_ctx = -1\n", 2, "num_ctx" },
	{ "[llm]\nmax_tokens = 16777217\n", 2, "max_tokens" },
	{ "[llm]\nmodel = two words\n", 2, "model" },
	{ "[llm]\napi_key = sk-1\n", 2, "api_key" },
	/* pairs: a back-off's base above its cap, named at the later key,
	 * or at the only one set against the other's default */
	{ "[queue]\nbackoff_base = 10\nbackoff_max = 5\n", 3, "backoff_max" },
	{ "[queue]\nbackoff_max = 5\n\nbackoff_base = 10\n", 4,
	    "backoff_base: 10 is above backoff_max (5)" },
	{ "[queue]\nbackoff_base = 600\n", 2,
	    "backoff_base: 600 is above backoff_max (300, its default)" },
	{ "[queue]\nbackoff_max = 1\n", 2,
	    "backoff_max: 1 is below backoff_base (2, its default)" },
	{ "[notify]\nbackoff_base = 2h\n", 2, "[notify] backoff_base" },
	{ "[notify]\nbackoff_base = 1s\nbackoff_max = 500ms\n", 3,
	    "[notify] backoff_max: 500ms is below backoff_base (1000ms)" },
	/* [httpd] listen: an address and a port, as wf-httpd takes it */
	{ "[httpd]\nlisten = 127.0.0.1:notaport\n", 2, "listen" },
	{ "[httpd]\nlisten = localhost:8000\n", 2, "listen" },
	{ "[httpd]\nlisten = 127.0.0.1:65536\n", 2, "listen" },
	/* syntax */
	{ "[queue]\naging=1\nthis line has no equals sign\n", 3, "syntax" },
	{ "[queue\n", 1, "syntax" },
};

static void
test_parse_errors(void **state)
{
	struct wf_config c;
	char err[512], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wf_config_defaults(&c);
		strlcpy(err, "", sizeof(err));
		if (wf_config_parse(&c, bad[i].text, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].text);
		snprintf(want, sizeof(want), "line %d:", bad[i].line);
		if (strstr(err, want) == NULL ||
		    strstr(err, bad[i].word) == NULL)
			fail_msg("error for '%s' is '%s', not naming '%s' and "
			    "'%s'", bad[i].text, err, want, bad[i].word);
	}
}

/* Good [llm] values, [httpd] listen addresses and back-off pairs pass;
 * an empty [llm] value leaves its default. */
static void
test_parse_checked_ok(void **state)
{
	static const char *const good[] = {
		"[llm]\nprovider = OLLAMA\nbase_url = http://127.0.0.1:11434\n"
		"model = ai/qwen3-coder:latest\nvision_model = ai/qwen3-vl\n"
		"timeout = 1\nnum_ctx = 0\nmax_tokens = 16777216\n",
		"[llm]\nprovider = openai\nbase_url = https://api.openai.com/v1\n"
		"timeout = 86400\n",
		"[llm]\nprovider = dmr\nbase_url = http://[::1]:12434/\n",
		"[llm]\nbase_url = http://model.invalid:8080\nprovider =\n",
		"[queue]\nbackoff_base = 300\n",
		"[queue]\nbackoff_base = 5\nbackoff_max = 5\n",
		"[queue]\nbackoff_max = 1\nbackoff_base = 1\n",
		"[notify]\nbackoff_base = 1h\n",
		"[notify]\nbackoff_base = 200ms\nbackoff_max = 1s\n",
		"[httpd]\nlisten = [::1]:0\n",
		"[httpd]\nlisten = 0.0.0.0:8000\n",
	};
	struct wf_config c;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		wf_config_defaults(&c);
		if (wf_config_parse(&c, good[i], err, sizeof(err)) != 0)
			fail_msg("refused '%s': %s", good[i], err);
	}
	wf_config_defaults(&c);
	assert_int_equal(wf_config_parse(&c, good[0], err, sizeof(err)), 0);
	assert_string_equal(c.llm[0], "OLLAMA");
	assert_string_equal(c.llm[4], "1");
	wf_config_defaults(&c);
	assert_int_equal(wf_config_parse(&c, good[3], err, sizeof(err)), 0);
	assert_string_equal(c.llm[0], "");
	/* tdd is on unless the file says otherwise, as wf.ini(5), the
	 * README and etc/wf.ini say */
	wf_config_defaults(&c);
	assert_int_equal(c.pipeline.tdd, 1);
	assert_int_equal(wf_config_parse(&c, "[pipeline]\ntdd = false\n", err,
	    sizeof(err)), 0);
	assert_int_equal(c.pipeline.tdd, 0);
}

/*
 * An error after a syntax error must still carry its own line: either the
 * first error is reported (the syntax error on line 2), or the key's error
 * with the key's line (5), never the key's reason with another line.
 */
static void
test_parse_error_line_after_syntax_error(void **state)
{
	static const char text[] =
	    "[queue]\n"
	    "this line has no equals sign\n"
	    "aging = 1\n"
	    "[queue]\n"
	    "bogus = 1\n";
	struct wf_config c;
	char err[512] = "";

	(void)state;
	wf_config_defaults(&c);
	assert_int_equal(wf_config_parse(&c, text, err, sizeof(err)), -1);
	if (strstr(err, "bogus") != NULL) {
		if (strstr(err, "line 5:") == NULL)
			fail_msg("the error about line 5 says: %s", err);
	} else if (strstr(err, "line 2:") == NULL ||
	    strstr(err, "syntax") == NULL)
		fail_msg("the syntax error of line 2 is reported as: %s", err);
}

static int
make_dir(void **state)
{
	const char *t = getenv("TMPDIR");
	char *dir;

	if (t == NULL || *t == '\0')
		t = "/tmp";
	if ((dir = malloc(PATH_MAX)) == NULL)
		return -1;
	snprintf(dir, PATH_MAX, "%s/wf-test-config.XXXXXX", t);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
rm_dir(void **state)
{
	char *dir = *state;
	char path[PATH_MAX + 32];
	static const char *const files[] = {
		"wf.ini", "big.ini", "max.ini", "nul.ini", "bad.ini",
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	free(dir);
	return 0;
}

static void
write_file(const char *dir, const char *name, const void *buf, size_t len,
    char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "we"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_load(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX + 32], err[1024] = "";
	struct wf_config c;

	/* Missing and optional: the defaults, no error. */
	snprintf(path, sizeof(path), "%s/missing.ini", dir);
	wf_config_defaults(&c);
	assert_int_equal(wf_config_load(&c, path, 0, err, sizeof(err)), 0);
	assert_defaults(&c);
	/* Missing and required: an error naming the file. */
	assert_int_equal(wf_config_load(&c, path, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.ini"));
	assert_defaults(&c);

	write_file(dir, "wf.ini", full, sizeof(full) - 1, path, sizeof(path));
	wf_config_defaults(&c);
	if (wf_config_load(&c, path, 1, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.aging, 60);
	assert_lane(&c, "gpu", 3, WF_RUN_DIRECT);
	assert_lane(&c, "llm", 2, WF_RUN_AGENT);

	/* A parse error names the file and the line. */
	write_file(dir, "bad.ini", "[queue]\naging = 1\nagin = 2\n",
	    strlen("[queue]\naging = 1\nagin = 2\n"), path, sizeof(path));
	wf_config_defaults(&c);
	assert_int_equal(wf_config_load(&c, path, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.ini"));
	assert_non_null(strstr(err, "line 3"));
	assert_non_null(strstr(err, "agin"));

	/* A NUL byte is refused. */
	write_file(dir, "nul.ini", "[queue]\naging = 1\0\n", 19, path,
	    sizeof(path));
	assert_int_equal(wf_config_load(&c, path, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nul.ini"));
}

static void
test_load_size(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX + 32], err[1024] = "";
	struct wf_config c;
	char *buf;

	/* 64 KiB of comment lines of 64 bytes: accepted ... */
	assert_non_null(buf = malloc(65537));
	for (size_t i = 0; i < 65536; i += 64) {
		memset(buf + i, 'x', 64);
		buf[i] = ';';
		buf[i + 63] = '\n';
	}
	memcpy(buf, "[queue]\naging=7\n", 16);
	memset(buf + 16, 'x', 48);
	buf[16] = '#';
	buf[63] = '\n';
	write_file(dir, "max.ini", buf, 65536, path, sizeof(path));
	wf_config_defaults(&c);
	if (wf_config_load(&c, path, 1, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.aging, 7);

	/* ... one byte more is refused, and changes nothing. */
	buf[65536] = '\n';
	write_file(dir, "big.ini", buf, 65537, path, sizeof(path));
	wf_config_defaults(&c);
	assert_int_equal(wf_config_load(&c, path, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "big.ini"));
	assert_defaults(&c);
	free(buf);
}

/* wf_config_read: all of a good file, or nothing of a bad one (the
 * reload's promise: a file that does not parse keeps the config in use). */
static void
test_read(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX + 32], err[1024] = "";
	struct wf_config c;

	snprintf(path, sizeof(path), "%s/missing.ini", dir);
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(wf_config_read(&c, path, err, sizeof(err)), 0);
	assert_defaults(&c);

	write_file(dir, "wf.ini", full, sizeof(full) - 1, path, sizeof(path));
	if (wf_config_read(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.aging, 60);
	assert_lane(&c, "gpu", 3, WF_RUN_DIRECT);

	/* The first lines are good, the last is not: nothing changes,
	 * not even what the good lines set. */
	write_file(dir, "bad.ini", "[queue]\naging = 7\nagin = 2\n",
	    strlen("[queue]\naging = 7\nagin = 2\n"), path, sizeof(path));
	assert_int_equal(wf_config_read(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "agin"));
	assert_int_equal(c.aging, 60);
	assert_lane(&c, "gpu", 3, WF_RUN_DIRECT);
}

/* [httpd]'s bounds on connections and their deadlines. */
static void
test_httpd_limits(void **state)
{
	static const char *const nok[] = { "connection_limit = 0",
		"connection_limit = 16385", "per_ip_limit = -1",
		"head_timeout = 99ms", "body_timeout = 2h", "idle_timeout = x",
		NULL };
	struct wf_config c;
	char text[128], err[512] = "";

	(void)state;
	wf_config_defaults(&c);
	assert_int_equal(c.httpd.conn_limit, 1024);
	assert_int_equal(c.httpd.per_ip_limit, 512);
	assert_int_equal(c.httpd.head_ms, 10000);
	assert_int_equal(c.httpd.body_ms, 60000);
	assert_int_equal(c.httpd.idle_ms, 15000);
	if (wf_config_parse(&c, "[httpd]\nconnection_limit = 16384\n"
	    "per_ip_limit = 1\nhead_timeout = 100ms\nbody_timeout = 1h\n"
	    "idle_timeout = 2\n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.httpd.conn_limit, 16384);
	assert_int_equal(c.httpd.per_ip_limit, 1);
	assert_int_equal(c.httpd.head_ms, 100);
	assert_int_equal(c.httpd.body_ms, 3600000);
	assert_int_equal(c.httpd.idle_ms, 2000);
	for (int i = 0; nok[i] != NULL; i++) {
		wf_config_defaults(&c);
		snprintf(text, sizeof(text), "[httpd]\n%s\n", nok[i]);
		if (wf_config_parse(&c, text, err, sizeof(err)) == 0)
			fail_msg("accepted %s", nok[i]);
		assert_non_null(strstr(err, "line 2: "));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_httpd_limits),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_checked_ok),
		cmocka_unit_test(test_parse_error_line_after_syntax_error),
		cmocka_unit_test_setup_teardown(test_load, make_dir, rm_dir),
		cmocka_unit_test_setup_teardown(test_load_size, make_dir,
		    rm_dir),
		cmocka_unit_test_setup_teardown(test_read, make_dir, rm_dir),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
