/*
 * test_testcount: test counts read from runner output (lib/testcount.c):
 * TAP, pytest, cargo test, go test -v and python -m unittest, and output
 * with no counts;
 * JUnit XML reports as pytest, Maven surefire and others write them, and
 * broken ones.  Gates decide on these numbers, so each format is checked
 * with passes and failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* unittest's skipped count, beside check()'s. */
static void
check_skipped(const char *out, long skipped)
{
	struct wf_testcount tc;

	assert_int_equal(wf_testcount_parse(out, strlen(out), &tc), 0);
	assert_int_equal(tc.skipped, skipped);
}

static void
test_unittest(void **state)
{
	static const char *fail =
	    "..F.E\n"
	    "======================================================"
	    "================\n"
	    "FAIL: test_b (test_x.T.test_b)\n"
	    "------------------------------------------------------"
	    "----------------\n"
	    "AssertionError: 1 != 2\n\n"
	    "------------------------------------------------------"
	    "----------------\n"
	    "Ran 5 tests in 0.003s\n\n"
	    "FAILED (failures=1, errors=2)\n";

	(void)state;
	check("....\n------------------\nRan 4 tests in 0.001s\n\nOK\n", 0,
	    "unittest", 4, 4, 0);
	check(fail, 0, "unittest", 5, 2, 3);
	check("Ran 1 test in 0.000s\r\n\r\nOK\r\n", 0, "unittest", 1, 1,
	    0);
	/* Skipped tests are in "Ran N" but neither pass nor fail. */
	check("Ran 3 tests in 0.1s\n\nOK (skipped=1)\n", 0, "unittest", 2,
	    2, 0);
	check_skipped("Ran 3 tests in 0.1s\n\nOK (skipped=1)\n", 1);
	/* Expected failures pass; unexpected successes fail. */
	check("Ran 6 tests in 0.001s\n\nFAILED (failures=1, errors=1, "
	    "skipped=1, expected failures=1, unexpected successes=1)\n", 0,
	    "unittest", 5, 2, 3);
	check("Ran 2 tests in 0.001s\n\nOK (expected failures=1)\n", 0,
	    "unittest", 2, 2, 0);
	/* Two runs in one output are summed. */
	check("Ran 2 tests in 0s\n\nOK\nRan 3 tests in 0s\n\n"
	    "FAILED (failures=3)\n", 0, "unittest", 5, 2, 3);
	/* Python 3.12 says so when nothing ran. */
	check("\n------------------\nRan 0 tests in 0.000s\n\n"
	    "NO TESTS RAN\n", 0, "unittest", 0, 0, 0);
	/* "Ran N" without its verdict (the runner died) is no count; nor
	 * is a verdict with no "Ran N" before it, nor a garbled one. */
	check("Ran 4 tests in 0.001s\n", -1, NULL, 0, 0, 0);
	check("Ran 4 tests in 0.001s\n\nKilled\nOK\n", -1, NULL, 0, 0, 0);
	check("OK\nFAILED (failures=1)\n", -1, NULL, 0, 0, 0);
	check("Ran 4 tests in 0s\n\nFAILED (failures=x)\n", -1, NULL, 0, 0,
	    0);
	check("Ran 4 tests in 0s\n\nFAILED (failures=1, bogus=2)\n", -1,
	    NULL, 0, 0, 0);
	check("Ran 4 tests in 0s\n\nFAILED (failures=9)\n", -1, NULL, 0, 0,
	    0);
	check("Ran 4 tests in 0s\n\nFAILED (failures=1\n", -1, NULL, 0, 0,
	    0);
	check("Ran many tests in 0s\n\nOK\n", -1, NULL, 0, 0, 0);
	/* pytest's own summary wins when pytest ran unittest tests. */
	check("Ran 2 tests in 0s\n\nOK\n=== 3 passed in 0.1s ===\n", 0,
	    "pytest", 3, 3, 0);
	/* TAP around a unittest summary: the summary is the count. */
	check("ok 1 - x\nRan 2 tests in 0s\n\nFAILED (errors=1)\n", 0,
	    "unittest", 2, 1, 1);
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

/* wf_testcount_junit on a C string; run is always passed + failed. */
static void
junit(const char *xml, int rc, long run, long passed, long failed,
    long skipped)
{
	struct wf_testcount tc;

	assert_int_equal(wf_testcount_junit(xml, strlen(xml), &tc), rc);
	if (rc == -1) {
		assert_null(tc.format);
		assert_int_equal(tc.run, 0);
		return;
	}
	assert_string_equal(tc.format, "junit");
	assert_int_equal(tc.run, run);
	assert_int_equal(tc.passed, passed);
	assert_int_equal(tc.failed, failed);
	assert_int_equal(tc.skipped, skipped);
}

static void
test_junit_pytest(void **state)
{
	(void)state;
	/* pytest --junitxml (xunit2): an attribute-less <testsuites>. */
	junit("<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	    "<testsuites><testsuite name=\"pytest\" errors=\"1\" "
	    "failures=\"1\" skipped=\"1\" tests=\"5\" time=\"0.051\" "
	    "timestamp=\"2024-05-01T10:00:00.1\" hostname=\"h\">"
	    "<testcase classname=\"test_x\" name=\"test_a\" time=\"0.001\" />"
	    "<testcase classname=\"test_x\" name=\"test_b\" time=\"0.002\">"
	    "<failure message=\"assert 1 == 2\">def test_b():\n&gt;  assert "
	    "1 == 2\nE  assert 1 == 2</failure></testcase>"
	    "<testcase classname=\"test_x\" name=\"test_c\" time=\"0\">"
	    "<error message=\"failed on setup with &quot;x&quot;\">"
	    "fixture 'y' not found</error></testcase>"
	    "<testcase classname=\"test_x\" name=\"test_d\" time=\"0\">"
	    "<skipped type=\"pytest.skip\" message=\"no db\">x.py:3: no db"
	    "</skipped></testcase>"
	    "<testcase classname=\"test_x\" name=\"test_e\" time=\"0\" />"
	    "</testsuite></testsuites>\n", 0, 4, 2, 2, 1);
	/* A test that fails and errors in teardown is in both counts. */
	junit("<testsuites><testsuite tests=\"1\" failures=\"1\" errors=\"1\">"
	    "<testcase name=\"t\"><failure/><error/></testcase></testsuite>"
	    "</testsuites>", 0, 1, 0, 1, 0);
}

static void
test_junit_surefire(void **state)
{
	(void)state;
	/* Maven surefire: a <testsuite> root, properties, CDATA output
	 * holding markup, a flaky failure that is not a failure. */
	junit("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuite xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
	    " xsi:noNamespaceSchemaLocation=\"https://maven.apache.org/"
	    "surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd\""
	    " version=\"3.0\" name=\"com.example.AppTest\" time=\"0.042\" "
	    "tests=\"4\" errors=\"0\" skipped=\"1\" failures=\"1\">\n"
	    "  <properties>\n"
	    "    <property name=\"java.version\" value=\"17.0.9\"/>\n"
	    "    <property name='line.separator' value='&#10;'/>\n"
	    "  </properties>\n"
	    "  <testcase name=\"ok\" classname=\"com.example.AppTest\" "
	    "time=\"0.001\"/>\n"
	    "  <testcase name=\"flaky\" classname=\"com.example.AppTest\" "
	    "time=\"0.001\"><flakyFailure message=\"once\" type=\"x\"/>"
	    "</testcase>\n"
	    "  <testcase name=\"bad\" classname=\"com.example.AppTest\" "
	    "time=\"0.003\">\n"
	    "    <failure message=\"expected: &lt;1&gt; but was: &lt;2&gt;\" "
	    "type=\"org.opentest4j.AssertionFailedError\"><![CDATA[at "
	    "AppTest.bad(AppTest.java:20) </testcase></testsuite> <x>]]>"
	    "</failure>\n"
	    "    <system-out><![CDATA[<testcase name=\"fake\"/>]]>"
	    "</system-out>\n"
	    "  </testcase>\n"
	    "  <!-- <testcase name=\"commented out\"/> -->\n"
	    "  <testcase name=\"later\" classname=\"com.example.AppTest\" "
	    "time=\"0\"><skipped message=\"@Disabled\"/></testcase>\n"
	    "</testsuite>\n", 0, 3, 2, 1, 1);
}

static void
test_junit_totals(void **state)
{
	(void)state;
	/* The root's totals win over its suites' (they are in them). */
	junit("<testsuites tests=\"10\" failures=\"2\" errors=\"1\" "
	    "skipped=\"2\"><testsuite name=\"a\" tests=\"6\" failures=\"2\">"
	    "</testsuite><testsuite name=\"b\" tests=\"4\" errors=\"1\" "
	    "skipped=\"2\"><testcase name=\"x\"/></testsuite></testsuites>",
	    0, 8, 5, 3, 2);
	/* No totals at the root: the suites are summed. */
	junit("<testsuites name=\"all\"><testsuite tests='3' failures='0'/>"
	    "<testsuite tests='2' failures='1' errors='0'/></testsuites>", 0,
	    5, 4, 1, 0);
	/* Counts padded with spaces; a suite of none. */
	junit("<testsuite tests=\" 2 \" failures=\"0\"></testsuite>", 0, 2, 2,
	    0, 0);
	junit("<testsuite tests=\"0\"/>", 0, 0, 0, 0, 0);
	/* A nested suite with totals inside one without. */
	junit("<testsuites><testsuite name=\"outer\"><testsuite tests=\"2\">"
	    "<testcase/><testcase/></testsuite><testcase name=\"loose\">"
	    "<error/></testcase></testsuite></testsuites>", 0, 3, 2, 1, 0);
}

static void
test_junit_cases(void **state)
{
	(void)state;
	/* No counts on any suite: the testcases and their children. */
	junit("<testsuites>\n<testsuite name=\"a\">\n"
	    "<testcase name=\"1\"/>\n"
	    "<testcase name=\"2\"><failure message=\"boom\"/></testcase>\n"
	    "<testcase name=\"3\"><error>trace</error></testcase>\n"
	    "<testcase name=\"4\"><skipped/></testcase>\n"
	    "<testcase name=\"5\"><system-out>ok</system-out></testcase>\n"
	    "</testsuite>\n<testsuite name=\"b\"><testcase name=\"6\">"
	    "</testcase></testsuite>\n</testsuites>\n", 0, 5, 3, 2, 1);
	/* A failure that is not a testcase's child counts nothing. */
	junit("<testsuite><failure/><testcase/></testsuite>", 0, 1, 1, 0, 0);
	/* Element names are exact: <testcases> is no <testcase>. */
	junit("<testsuite><testcases/><testcase/></testsuite>", 0, 1, 1, 0, 0);
}

static void
test_junit_broken(void **state)
{
	static const char *bad[] = {
		"",
		"   \n",
		"not xml at all",
		"<html><body>3 tests</body></html>",
		"<testsuite tests=\"3\">",
		"<testsuite tests=\"3\"></testsuites>",
		"<testsuite tests=\"3\"/><testsuite tests=\"1\"/>",
		"<testsuite tests=\"3\"/>trailing",
		"<testsuite tests=\"3\"><testcase></testsuite></testcase>",
		"<testsuite tests=\"3",
		"<testsuite tests=\"3\"",
		"<testsuite tests='3\">",
		"<testsuite tests=3/>",
		"<testsuite tests=\"three\"/>",
		"<testsuite tests=\"-1\"/>",
		"<testsuite tests=\"\"/>",
		"<testsuite tests=\"1\"failures=\"0\"/>",
		"<testsuite tests=\"99999999999\"/>",
		"<testsuite tests=\"2000000000\"/>",
		"<testsuites><testsuite tests=\"600000000\"/>"
		"<testsuite tests=\"600000000\"/></testsuites>",
		"<testsuite><!-- unterminated </testsuite>",
		"<testsuite><![CDATA[ unterminated </testsuite>",
		"<?xml version=\"1.0\"",
		"<testsuite>< testcase/></testsuite>",
		"<testsuite></>",
		"<testsuite/",
		"<![CDATA[x]]><testsuite/>",
		"<testsuite><!DOCTYPE x></testsuite>",
		"</testsuite>",
	};
	struct wf_testcount tc;
	const char *full = "<testsuite tests=\"2\" failures=\"1\"><testcase/>"
	    "<testcase><failure/></testcase></testsuite>";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (wf_testcount_junit(bad[i], strlen(bad[i]), &tc) != -1)
			fail_msg("bad[%zu] was counted", i);
		assert_null(tc.format);
		assert_int_equal(tc.run, 0);
	}
	/* Every truncation of a good report is refused, in a buffer of
	 * exactly that length (no NUL to stop at). */
	for (size_t n = 0; n < strlen(full); n++) {
		char *b = malloc(n + 1);

		assert_non_null(b);
		memcpy(b, full, n);
		assert_int_equal(wf_testcount_junit(b, n, &tc), -1);
		free(b);
	}
	junit(full, 0, 2, 1, 1, 0);
	/* A DOCTYPE and a byte order mark are allowed before the root. */
	junit("\xef\xbb\xbf<!DOCTYPE testsuite [ <!ELEMENT testsuite ANY> ]>"
	    "<testsuite tests=\"1\"/>", 0, 1, 1, 0, 0);
	junit("<!DOCTYPE testsuite SYSTEM \"junit.dtd\"><testsuite tests=\"1\"/>",
	    0, 1, 1, 0, 0);
	/* An entity declaration is not a report's: refused, so that no
	 * expansion (a billion laughs) nor an external file is read. */
	junit("<!DOCTYPE testsuite [ <!ENTITY a \"b\"> ]>"
	    "<testsuite tests=\"1\"/>", -1, 0, 0, 0, 0);
	junit("<!DOCTYPE t [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;"
	    "&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;"
	    "&b;\">]><testsuite tests=\"1\"><testcase name=\"&c;\"/>"
	    "</testsuite>", -1, 0, 0, 0, 0);
	junit("<!DOCTYPE testsuite [ <!ENTITY x SYSTEM \"/etc/passwd\"> ]>"
	    "<testsuite tests=\"1\">&x;</testsuite>", -1, 0, 0, 0, 0);
	/* Character references and UTF-16 are XML's, and read as such. */
	junit("<testsuite tests=\"&#50;\"/>", 0, 2, 2, 0, 0);
	{
		static const char u16[] = "\xff\xfe<\0t\0e\0s\0t\0s\0u\0i\0"
		    "t\0e\0 \0t\0e\0s\0t\0s\0=\0\"\0\x34\0\"\0/\0>\0";

		assert_int_equal(wf_testcount_junit(u16, sizeof(u16) - 1, &tc),
		    0);
		assert_int_equal(tc.run, 4);
	}
}

static void
test_junit_huge(void **state)
{
	size_t big = 4 << 20;
	char *buf = malloc(big + 256);
	struct wf_testcount tc;
	size_t n;
	int depth;

	(void)state;
	assert_non_null(buf);
	/* A 4 MiB failure message is skipped, not copied. */
	n = (size_t)snprintf(buf, 256, "<testsuite><testcase><failure "
	    "message=\"");
	memset(buf + n, 'A', big);
	n += big;
	n += (size_t)snprintf(buf + n, 256, "\"/></testcase></testsuite>");
	assert_int_equal(wf_testcount_junit(buf, n, &tc), 0);
	assert_int_equal(tc.run, 1);
	assert_int_equal(tc.failed, 1);
	/* A count that is a 4 MiB number is refused. */
	n = (size_t)snprintf(buf, 256, "<testsuite tests=\"");
	memset(buf + n, '9', big);
	n += big;
	n += (size_t)snprintf(buf + n, 256, "\"/>");
	assert_int_equal(wf_testcount_junit(buf, n, &tc), -1);
	/* So is a quote that never closes, at the very end of the buffer. */
	assert_int_equal(wf_testcount_junit(buf, n - 3, &tc), -1);
	/* Nesting deeper than the scanner keeps is refused, not overflowed. */
	n = (size_t)snprintf(buf, 256, "<testsuite>");
	for (depth = 0; depth < 100000; depth++) {
		memcpy(buf + n, "<a>", 3);
		n += 3;
	}
	assert_int_equal(wf_testcount_junit(buf, n, &tc), -1);
	free(buf);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_junit_files(void **state)
{
	char dir[] = "/tmp/wf-junit-XXXXXX", out[] = "/tmp/wf-out-XXXXXX";
	char path[512], err[512], cmd[1200];
	struct wf_testcount tc;
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(out));
	snprintf(path, sizeof(path), "%s/build", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(dir, "build/a.xml", "<testsuite tests=\"2\"/>");
	put(dir, "build/b.xml", "<testsuite tests=\"3\" failures=\"1\"/>");
	put(dir, "report.xml", "<testsuite tests=\"1\"/>");
	put(out, "secret.xml", "<testsuite tests=\"9\"/>");

	/* A glob sums its files. */
	assert_int_equal(wf_testcount_junit_files(dir, "build/*.xml", 0, &tc,
	    err, sizeof(err)), 0);
	assert_string_equal(tc.format, "junit");
	assert_int_equal(tc.run, 5);
	assert_int_equal(tc.failed, 1);
	assert_int_equal(wf_testcount_junit_files(dir, "report.xml", 0, &tc,
	    err, sizeof(err)), 0);
	assert_int_equal(tc.run, 1);
	/* Nothing there; absolute; "..". */
	assert_int_equal(wf_testcount_junit_files(dir, "none/*.xml", 0, &tc,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no such file"));
	assert_null(tc.format);
	assert_int_equal(wf_testcount_junit_files(dir, out, 0, &tc, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a path relative"));
	assert_int_equal(wf_testcount_junit_files(dir, "build/../report.xml",
	    0, &tc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a path relative"));
	/* A symlink to a file outside, a symlinked directory outside. */
	snprintf(path, sizeof(path), "%s/secret.xml", out);
	snprintf(cmd, sizeof(cmd), "%s/link.xml", dir);
	assert_int_equal(symlink(path, cmd), 0);
	assert_int_equal(wf_testcount_junit_files(dir, "link.xml", 0, &tc,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symlink"));
	snprintf(cmd, sizeof(cmd), "%s/out", dir);
	assert_int_equal(symlink(out, cmd), 0);
	assert_int_equal(wf_testcount_junit_files(dir, "out/*.xml", 0, &tc,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside the repository"));
	/* A broken report fails the lot. */
	put(dir, "build/c.xml", "<testsuite tests=\"2\">");
	assert_int_equal(wf_testcount_junit_files(dir, "build/*.xml", 0, &tc,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "build/c.xml"));
	/* A report older than the test run is not this run's. */
	snprintf(path, sizeof(path), "%s/report.xml", dir);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_int_equal(wf_testcount_junit_files(dir, "report.xml",
	    1000 * 1000 + 5000, &tc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "none written by this test run"));
	assert_int_equal(wf_testcount_junit_files(dir, "report.xml",
	    1000 * 1000, &tc, err, sizeof(err)), 0);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, out);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_pytest),
		cmocka_unit_test(test_cargo),
		cmocka_unit_test(test_go),
		cmocka_unit_test(test_unittest),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_junit_pytest),
		cmocka_unit_test(test_junit_surefire),
		cmocka_unit_test(test_junit_totals),
		cmocka_unit_test(test_junit_cases),
		cmocka_unit_test(test_junit_broken),
		cmocka_unit_test(test_junit_huge),
		cmocka_unit_test(test_junit_files),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
