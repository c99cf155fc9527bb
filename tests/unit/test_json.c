/*
 * test_json: the check of JSON text before cJSON parses it (lib/json.c):
 * NUL bytes, raw or escaped, and bytes that are not UTF-8 are refused
 * with the member they sit in; escapes that only look like a NUL, and
 * all of UTF-8, pass.  Ids: integers 1 to 2^53-1, nothing cast beyond.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "json.h"

static int
check(const char *s, size_t n, char *err, size_t errlen)
{
	err[0] = '\0';
	return wf_json_text_ok(s, n, err, errlen);
}

static void
test_text_refused(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		const char *err;
	} cases[] = {
		{ "{\"title\":\"a\\u0000b\"}", 0,
		    "title: a NUL (\\u0000) in a string, refused" },
		{ "{\"title\":\"a\0b\"}", 16,
		    "title: a NUL byte in a string, refused" },
		{ "{\"a\":{\"deep\":[\"x\xff\"]}}", 0,
		    "deep: not UTF-8 in a string, refused" },
		{ "{\"t\":\"\xc0\xaf\"}", 0, "t: not UTF-8 in a string, refused" },
		{ "{\"t\":\"\xed\xa0\x80\"}", 0, "t: not UTF-8 in a string, "
		    "refused" },
		{ "{\"t\":\"\xf4\x90\x80\x80\"}", 0, "t: not UTF-8 in a string, "
		    "refused" },
		{ "{\"t\":\"\xe2\x82\"}", 0, "t: not UTF-8 in a string, "
		    "refused" },
		{ "\"x\\u0000\"", 0, "body: a NUL (\\u0000) in a string, "
		    "refused" },
		{ "{\"t\":\"x\"}\0", 10, "body: a NUL byte, refused" },
		{ "{\"t\":1}\xff", 0, "body: not UTF-8, refused" },
	};
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);

		if (check(cases[i].s, n, err, sizeof(err)) != -1)
			fail_msg("case %zu passed", i);
		assert_string_equal(err, cases[i].err);
	}
}

static void
test_text_passes(void **state)
{
	static const char *const ok[] = {
		"{\"t\":\"lit\\\\u0000\"}", /* a backslash, then u0000 */
		"{\"t\":\"\\u0001 \\u00e9 \\ud83d\\ude00\"}",
		"{\"t\":\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"}",
		"{\"t\":\"\\\"\",\"u\":[1,2.5e3,null,true]}",
		"",
	};
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (check(ok[i], strlen(ok[i]), err, sizeof(err)) != 0)
			fail_msg("%s: %s", ok[i], err);
	assert_true(wf_json_utf8_ok("caf\xc3\xa9", 5));
	assert_false(wf_json_utf8_ok("caf\xe9", 4));
	assert_false(wf_json_utf8_ok("\xc3", 1)); /* cut short */
}

static void
test_ids(void **state)
{
	static const char *const bad[] = { "1e300", "-1e300", "0", "-1",
		"1.5", "9007199254740992", NULL };
	cJSON *o;
	int64_t id = 0;

	(void)state;
	for (int i = 0; bad[i] != NULL; i++) {
		o = cJSON_Parse(bad[i]);
		assert_non_null(o);
		if (wf_json_id(o, &id) != -1)
			fail_msg("%s taken as id %lld", bad[i], (long long)id);
		cJSON_Delete(o);
	}
	o = cJSON_Parse("9007199254740991");
	assert_int_equal(wf_json_id(o, &id), 0);
	assert_int_equal(id, 9007199254740991LL);
	cJSON_Delete(o);
	assert_int_equal(wf_json_id(NULL, &id), -1);
	o = cJSON_Parse("{\"a\":1e300,\"b\":-7,\"c\":\"7\"}");
	assert_int_equal(wf_json_int(o, "a"), 0);
	assert_int_equal(wf_json_int(o, "b"), -7);
	assert_int_equal(wf_json_int(o, "c"), 0);
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_refused),
		cmocka_unit_test(test_text_passes),
		cmocka_unit_test(test_ids),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
