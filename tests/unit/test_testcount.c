/*
 * test_testcount: test counts read from runner output (lib/testcount.c):
 * TAP, pytest, cargo test and go test -v, and output with no counts.
 * Gates decide on these numbers, so each format is checked with passes
 * and failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testcount.h"

static void
check(const char *out, int rc, const char *fmt, long run, long passed,
    long failed)
{
	struct wf_testcount tc;

	assert_int_equal(wf_testcount_parse(out, strlen(out), &tc), rc);
	if (rc == -1) {
		assert_null(tc.format);
		assert_int_equal(tc.run, 0);
		return;
	}
	assert_string_equal(tc.format, fmt);
	assert_int_equal(tc.run, run);
	assert_int_equal(tc.passed, passed);
	assert_int_equal(tc.failed, failed);
}

static void
test_tap(void **state)
{
	(void)state;
	check("1..3\nok 1 - a\nnot ok 2 - b\nok 3 # SKIP c\n", 0, "tap", 3, 2,
	    1);
	check("TAP version 13\n1..2\nok 1\nok 2\n", 0, "tap", 2, 2, 0);
	check("ok\r\nnot ok\r\n", 0, "tap", 2, 1, 1);
	/* Indented subtests and prose are not results. */
	check("  ok 1 - inner\nlooks ok to me\n", -1, NULL, 0, 0, 0);
}

static void
test_pytest(void **state)
{
	(void)state;
	check("collected 6 items\n\n==== 5 passed, 1 failed in 0.12s ====\n", 0,
	    "pytest", 6, 5, 1);
	check("============ 12 passed in 1.03s ============\n", 0, "pytest", 12,
	    12, 0);
	check("=== 2 failed, 3 passed, 1 error in 2s ===\n", 0, "pytest", 6, 3,
	    3);
}

static void
test_cargo(void **state)
{
	(void)state;
	check("running 4 tests\ntest result: ok. 4 passed; 0 failed; 0 ignored\n"
	    "test result: FAILED. 1 passed; 2 failed; 0 ignored\n", 0, "cargo",
	    7, 5, 2);
}

static void
test_go(void **state)
{
	(void)state;
	check("=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n"
	    "--- FAIL: TestB (0.00s)\nFAIL\n", 0, "go", 2, 1, 1);
}

static void
test_none(void **state)
{
	(void)state;
	check("", -1, NULL, 0, 0, 0);
	check("all good\nnothing to see\n", -1, NULL, 0, 0, 0);
	check("okay\n", -1, NULL, 0, 0, 0);
}

static void
test_bounds(void **state)
{
	struct wf_testcount tc;
	char buf[8] = { 'o', 'k', ' ', '1', '\n', 'o', 'k', ' ' };

	(void)state;
	/* No NUL anywhere: the parser must stay inside the length. */
	assert_int_equal(wf_testcount_parse(buf, sizeof(buf), &tc), 0);
	assert_int_equal(tc.passed, 2);
	assert_int_equal(wf_testcount_parse(buf, 4, &tc), 0);
	assert_int_equal(tc.passed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_pytest),
		cmocka_unit_test(test_cargo),
		cmocka_unit_test(test_go),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_bounds),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
