/*
 * test_notify: what wf-notify decides without the network (lib/webhook.c
 * and the [notify] section of lib/config.c): subscription globs and the
 * seed's underscore aliases, both signatures against known values (the
 * Standard Webhooks vector of its reference libraries), secrets, the
 * retry schedule with its jitter and Retry-After, URL checks, the config
 * keys, what an attempt's end means (lib/notify.c's wf_notify_outcome),
 * and the attempt log's rotation by rename.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "notify.h"
#include "webhook.h"

static void
test_glob(void **state)
{
	(void)state;
	assert_true(wf_webhook_glob("*", "run.state_changed"));
	assert_true(wf_webhook_glob("run.*", "run.state_changed"));
	assert_true(wf_webhook_glob("run.*", "run.created"));
	assert_false(wf_webhook_glob("run.*", "bug.created"));
	assert_true(wf_webhook_glob("bug.created", "bug.created"));
	assert_false(wf_webhook_glob("bug.created", "bug.created2"));
	assert_true(wf_webhook_glob("*.created", "bug.created"));
	assert_true(wf_webhook_glob("run.?tate_changed", "run.state_changed"));
	/* The seed's names: dots as underscores. */
	assert_true(wf_webhook_glob("run_state_changed", "run.state_changed"));
	assert_true(wf_webhook_glob("bug_created", "bug.created"));
	assert_true(wf_webhook_glob("run_*", "run.ready_for_deploy"));
	assert_false(wf_webhook_glob("bug_created", "run.created"));
	assert_false(wf_webhook_glob("job_failed", "job.failedx"));
}

static void
test_match_list(void **state)
{
	cJSON *l = cJSON_Parse("[\"bug.created\",\"run_gate_failed\"]");
	cJSON *empty = cJSON_CreateArray();

	(void)state;
	assert_true(wf_webhook_match(l, "bug.created"));
	assert_true(wf_webhook_match(l, "run.gate_failed"));
	assert_false(wf_webhook_match(l, "run.created"));
	assert_false(wf_webhook_match(l, "job.failed"));
	/* No list, or an empty one: everything. */
	assert_true(wf_webhook_match(NULL, "job.failed"));
	assert_true(wf_webhook_match(empty, "job.failed"));
	cJSON_Delete(l);
	cJSON_Delete(empty);
}

static void
test_pattern_ok(void **state)
{
	(void)state;
	assert_true(wf_webhook_pattern_ok("run.*"));
	assert_true(wf_webhook_pattern_ok("bug_created"));
	assert_false(wf_webhook_pattern_ok(""));
	assert_false(wf_webhook_pattern_ok("run state"));
	assert_false(wf_webhook_pattern_ok("run/x"));
	assert_false(wf_webhook_pattern_ok("[abc]"));
}

/* The vector of the Standard Webhooks libraries (and svix's). */
static void
test_sign_standard_vector(void **state)
{
	const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	const char *body = "{\"test\": 2432232314}";
	char std[WF_WEBHOOK_SIG_MAX], hex[WF_WEBHOOK_SIG_MAX];

	(void)state;
	assert_int_equal(wf_webhook_sign(secret, strlen(secret),
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
	    std, hex), 0);
	assert_string_equal(std,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* The seed's: hex HMAC-SHA256 of the body, keyed with the string
	 * as given (computed with Python's hmac). */
	assert_string_equal(hex, "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8"
	    "514d717ec42c38a5c94c");
}

static void
test_sign_plain_secret(void **state)
{
	char a[WF_WEBHOOK_SIG_MAX], b[WF_WEBHOOK_SIG_MAX];
	char c[WF_WEBHOOK_SIG_MAX], d[WF_WEBHOOK_SIG_MAX];

	(void)state;
	/* RFC 4231 case 2: key "Jefe", "what do ya want for nothing?". */
	assert_int_equal(wf_webhook_sign("Jefe", 4, "m", 1, "what do ya want "
	    "for nothing?", 28, a, b), 0);
	assert_string_equal(b, "5bdcc146bf60754e6a042426089575c75a003f089d27"
	    "39839dec58b964ec3843");
	/* A new timestamp, a new signature; the seed's stays. */
	assert_int_equal(wf_webhook_sign("Jefe", 4, "m", 2, "what do ya want "
	    "for nothing?", 28, c, d), 0);
	assert_string_not_equal(a, c);
	assert_string_equal(b, d);
	assert_true(strncmp(a, "v1,", 3) == 0);
}

static void
test_secret_new(void **state)
{
	char s1[128], s2[128];
	unsigned char raw[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(wf_webhook_secret_new(s1, sizeof(s1)), 0);
	assert_int_equal(wf_webhook_secret_new(s2, sizeof(s2)), 0);
	assert_true(strncmp(s1, "whsec_", 6) == 0);
	assert_string_not_equal(s1, s2);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), s1 + 6,
	    strlen(s1 + 6), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(n, 32);
	assert_int_equal(wf_webhook_secret_new(s1, 20), -1);
}

static void
test_delay(void **state)
{
	(void)state;
	/* rnd 0: the low end, half the delay; the ceiling: all of it. */
	assert_int_equal(wf_webhook_delay_ms(1, 1000, 60000, 0, 0), 500);
	assert_int_equal(wf_webhook_delay_ms(1, 1000, 60000, 0, 500), 1000);
	assert_int_equal(wf_webhook_delay_ms(2, 1000, 60000, 0, 0), 1000);
	assert_int_equal(wf_webhook_delay_ms(3, 1000, 60000, 0, 0), 2000);
	assert_int_equal(wf_webhook_delay_ms(4, 1000, 60000, 0, 0), 4000);
	/* Capped at the maximum. */
	assert_int_equal(wf_webhook_delay_ms(30, 1000, 60000, 0, 0), 30000);
	assert_int_equal(wf_webhook_delay_ms(30, 1000, 60000, 0, 30000),
	    60000);
	for (uint32_t r = 0; r < 5000; r += 37) {
		int64_t d = wf_webhook_delay_ms(3, 1000, 60000, 0, r);

		assert_true(d >= 2000 && d <= 4000);
	}
	/* A longer Retry-After wins; a shorter one does not. */
	assert_int_equal(wf_webhook_delay_ms(1, 1000, 60000, 7, 0), 7000);
	assert_int_equal(wf_webhook_delay_ms(4, 1000, 60000, 1, 0), 4000);
	/* ...capped at a day. */
	assert_int_equal(wf_webhook_delay_ms(1, 1000, 60000, 10000000, 0),
	    86400000);
}

static void
test_url(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(wf_webhook_url_ok("http://127.0.0.1:8080/h", err,
	    sizeof(err)), 0);
	assert_int_equal(wf_webhook_url_ok("https://n8n.example/webhook/x",
	    err, sizeof(err)), 0);
	assert_int_equal(wf_webhook_url_ok("ftp://x/", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "http"));
	assert_int_equal(wf_webhook_url_ok("file:///etc/passwd", err,
	    sizeof(err)), -1);
	assert_int_equal(wf_webhook_url_ok("http:///x", err, sizeof(err)), -1);
	assert_int_equal(wf_webhook_url_ok("http://a b/", err, sizeof(err)),
	    -1);
	assert_int_equal(wf_webhook_url_ok("http://a/\r\nX: y", err,
	    sizeof(err)), -1);
}

static void
test_config(void **state)
{
	struct wf_config c;
	char err[512];

	(void)state;
	wf_config_defaults(&c);
	assert_int_equal(c.notify.timeout, 10);
	assert_int_equal(c.notify.max_attempts, 5);
	assert_int_equal(c.notify.backoff_base_ms, 5000);
	assert_int_equal(wf_config_parse(&c, "[notify]\nbackoff_base = 250ms\n"
	    "backoff_max = 2m\ntimeout = 3\nmax_attempts = 2\nhook_timeout = "
	    "4\nhooks_dir = /x/hooks\n", err, sizeof(err)), 0);
	assert_int_equal(c.notify.backoff_base_ms, 250);
	assert_int_equal(c.notify.backoff_max_ms, 120000);
	assert_int_equal(c.notify.timeout, 3);
	assert_int_equal(c.notify.max_attempts, 2);
	assert_int_equal(c.notify.hook_timeout, 4);
	assert_string_equal(c.notify.hooks_dir, "/x/hooks");
	assert_int_equal(wf_config_parse(&c, "[notify]\nbackoff_base = 3\n",
	    err, sizeof(err)), 0);
	assert_int_equal(c.notify.backoff_base_ms, 3000);
	assert_int_equal(wf_config_parse(&c, "[notify]\nbackoff_base = 3x\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(wf_config_parse(&c, "[notify]\nhooks_dir = rel\n",
	    err, sizeof(err)), -1);
	assert_int_equal(wf_config_parse(&c, "[notify]\nnope = 1\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "nope"));
}

static void
test_config_parallel_log_max(void **state)
{
	struct wf_config c;
	char err[512];

	(void)state;
	wf_config_defaults(&c);
	assert_int_equal(c.notify.parallel, 8);
	assert_int_equal(c.notify.log_max, 16L << 20);
	assert_int_equal(wf_config_parse(&c, "[notify]\nparallel = 1\n"
	    "log_max = 1024\n", err, sizeof(err)), 0);
	assert_int_equal(c.notify.parallel, 1);
	assert_int_equal(c.notify.log_max, 1024);
	assert_int_equal(wf_config_parse(&c, "[notify]\nparallel = 64\n",
	    err, sizeof(err)), 0);
	assert_int_equal(c.notify.parallel, 64);
	assert_int_equal(wf_config_parse(&c, "[notify]\nparallel = 0\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "parallel"));
	assert_int_equal(wf_config_parse(&c, "[notify]\nparallel = 65\n",
	    err, sizeof(err)), -1);
	assert_int_equal(wf_config_parse(&c, "[notify]\nlog_max = 1023\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "log_max"));
	assert_int_equal(wf_config_parse(&c, "[notify]\nlog_max = 1M\n",
	    err, sizeof(err)), -1);
}

static void
test_outcome(void **state)
{
	struct wf_notify_result r;
	const char *reply = "{\"error\":\"busy\"}\nsecond line";

	(void)state;
	memset(&r, 0x55, sizeof(r));
	assert_int_equal(wf_notify_outcome(CURLE_OK, 204, 0, "", 0, "", &r),
	    0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.retry_after, 0);
	assert_string_equal(r.error, "");
	/* Only the first line of the reply, for the log. */
	assert_int_equal(wf_notify_outcome(CURLE_OK, 429, 2, reply,
	    strlen(reply), "", &r), -1);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after, 2);
	assert_string_equal(r.error, "HTTP 429: {\"error\":\"busy\"}");
	/* A Retry-After date in the past: none. */
	assert_int_equal(wf_notify_outcome(CURLE_OK, 503, -5, "x\ty", 3,
	    NULL, &r), -1);
	assert_int_equal(r.retry_after, 0);
	assert_string_equal(r.error, "HTTP 503: x y");
	assert_int_equal(wf_notify_outcome(CURLE_OK, 410, 0, "", 0, NULL,
	    &r), -1);
	assert_string_equal(r.error, "HTTP 410");
	/* No answer: status 0, curl's own words when it has them. */
	assert_int_equal(wf_notify_outcome(CURLE_OPERATION_TIMEDOUT, 200, 3,
	    "", 0, "Operation timed out after 4001 milliseconds", &r), -1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.retry_after, 0);
	assert_string_equal(r.error,
	    "Operation timed out after 4001 milliseconds");
	assert_int_equal(wf_notify_outcome(CURLE_COULDNT_CONNECT, 0, 0, "", 0,
	    "", &r), -1);
	assert_string_equal(r.error, curl_easy_strerror(CURLE_COULDNT_CONNECT));
}

static void
test_log_rotate(void **state)
{
	const char *t = getenv("TMPDIR");
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct stat st, st1;
	cJSON *l = cJSON_CreateObject();
	ino_t ino;
	int root;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/wf-test-notify.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	root = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(root != -1);
	assert_int_equal(mkdirat(root, "log", 0700), 0);
	cJSON_AddStringToObject(l, "pad", "................................"
	    "................................................................");
	/* About 110 bytes a line: the tenth passes 1024. */
	for (int i = 0; i < 9; i++)
		assert_int_equal(wf_webhook_log(root, l, 1024), 0);
	assert_int_equal(fstatat(root, WF_WEBHOOK_LOG, &st, 0), 0);
	assert_true(st.st_size <= 1024);
	assert_int_equal(wf_webhook_log(root, l, 1024), 0);
	assert_int_equal(fstatat(root, WF_WEBHOOK_LOG, &st, 0), 0);
	assert_true(st.st_size > 1024);
	ino = st.st_ino;
	assert_int_equal(fstatat(root, WF_WEBHOOK_LOG ".1", &st1, 0), -1);
	/* The next line goes to a new file; the old one is .1, whole. */
	assert_int_equal(wf_webhook_log(root, l, 1024), 0);
	assert_int_equal(fstatat(root, WF_WEBHOOK_LOG ".1", &st1, 0), 0);
	assert_true(st1.st_ino == ino);
	assert_int_equal(st1.st_size, st.st_size);
	assert_int_equal(fstatat(root, WF_WEBHOOK_LOG, &st, 0), 0);
	assert_int_equal(st.st_size, st1.st_size / 10);
	/* No limit: no rotation. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(wf_webhook_log(root, l, 0), 0);
	assert_int_equal(fstatat(root, WF_WEBHOOK_LOG ".1", &st, 0), 0);
	assert_true(st.st_ino == ino);
	cJSON_Delete(l);
	snprintf(path, sizeof(path), "%s/" WF_WEBHOOK_LOG, dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/" WF_WEBHOOK_LOG ".1", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/log", dir);
	rmdir(path);
	close(root);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_match_list),
		cmocka_unit_test(test_pattern_ok),
		cmocka_unit_test(test_sign_standard_vector),
		cmocka_unit_test(test_sign_plain_secret),
		cmocka_unit_test(test_secret_new),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_parallel_log_max),
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_log_rotate),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
