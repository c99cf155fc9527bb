/*
 * test_role: role configs and path ownership (lib/role.c).  The shipped
 * roles load; a directory entry owns what is under it, a glob without a
 * slash matches a path's last component, "*" owns what no other role
 * owns, and a role with no owns (SEC) may touch nothing.  junit names a
 * path inside the repository, never outside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "role.h"

static struct wf_role all[4];

static int
load(void **state)
{
	static const char *const names[] = { "pm", "dev", "qa", "security" };
	char err[512];

	(void)state;
	for (int i = 0; i < 4; i++)
		if (wf_role_load("etc/roles", names[i], &all[i], err,
			sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	return 0;
}

static int
may(int who, const char *path, const char **owner)
{
	return wf_role_may_touch(all, 4, &all[who], path, owner);
}

static void
shipped_roles(void **state)
{
	const char *o;

	(void)state;
	/* DEV: the code, not the tests, not the spec. */
	assert_int_equal(may(1, "calc.sh", &o), 1);
	assert_int_equal(may(1, "src/lib/a.c", &o), 1);
	assert_int_equal(may(1, "tests/test_a.py", &o), 0);
	assert_string_equal(o, "qa");
	assert_int_equal(may(1, "pkg/x_test.go", &o), 0);
	assert_string_equal(o, "qa");
	assert_int_equal(may(1, "test_calc.sh", &o), 0);
	assert_int_equal(may(1, "_spec/brief.md", &o), 0);
	assert_string_equal(o, "pm");
	/* "tests/" is a directory: "testsuite.c" is not under it. */
	assert_int_equal(may(1, "testsuite.c", &o), 1);
	/* QA: its tests only. */
	assert_int_equal(may(2, "tests/a/b.sh", &o), 1);
	assert_int_equal(may(2, "web/app.spec.ts", &o), 1);
	assert_int_equal(may(2, "calc.sh", &o), 0);
	assert_null(o);
	/* PM: _spec/ only. */
	assert_int_equal(may(0, "_spec/a.md", &o), 1);
	assert_int_equal(may(0, "README.md", &o), 0);
	/* SEC: nothing. */
	assert_int_equal(may(3, "README.md", &o), 0);
	assert_int_equal(may(3, "tests/x", &o), 0);
	assert_string_equal(o, "qa");
}

static void
tdd_keys(void **state)
{
	struct wf_role r;
	char err[512];
	FILE *f;

	(void)state;
	f = fopen("obj-role-test.ini", "w");
	assert_non_null(f);
	fputs("[role]\nbackend = command\ncommand = true\n"
	      "tdd_command = touch tests/new\nowns = tests/, *\n",
	    f);
	fclose(f);
	assert_int_equal(
	    wf_role_load(".", "obj-role-test", &r, err, sizeof(err)), 0);
	assert_string_equal(r.tdd_command, "touch tests/new");
	assert_int_equal(r.nowns, 2);
	assert_true(wf_role_owns(&r, "tests/x"));
	assert_false(wf_role_owns(&r, "x")); /* "*" is no one's in particular */
	remove("obj-role-test.ini");
	f = fopen("obj-role-test.ini", "w");
	assert_non_null(f);
	/* A long command continues on indented lines. */
	fputs("[role]\nbackend = command\ncommand = printf one\n"
	    "  two\n  three\nowns = tests/\n", f);
	fclose(f);
	assert_int_equal(wf_role_load(".", "obj-role-test", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.command, "printf one two three");
	f = fopen("obj-role-test.ini", "w");
	assert_non_null(f);
	fputs("[role]\nbackend = command\ncommand = true\nowner = me\n", f);
	fclose(f);
	assert_int_equal(
	    wf_role_load(".", "obj-role-test", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "owner"));
	remove("obj-role-test.ini");
}

/* Write obj-role-test.ini with text, load it: wf_role_load's result. */
static int
load_text(const char *text, struct wf_role *r, char *err, size_t errlen)
{
	FILE *f = fopen("obj-role-test.ini", "w");
	int rc;

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	rc = wf_role_load(".", "obj-role-test", r, err, errlen);
	remove("obj-role-test.ini");
	return rc;
}

static void
junit_key(void **state)
{
	static const char *const bad[] = { "/tmp/report.xml", "..",
		"../report.xml", "build/../../x.xml", "build/.." };
	struct wf_role r;
	char err[512], text[512];

	(void)state;
	assert_int_equal(load_text("[role]\nbackend = command\ncommand = "
	    "true\njunit = build/test-results/*.xml\n", &r, err, sizeof(err)),
	    0);
	assert_string_equal(r.junit, "build/test-results/*.xml");
	assert_int_equal(load_text("[role]\nbackend = command\ncommand = "
	    "true\n", &r, err, sizeof(err)), 0);
	assert_string_equal(r.junit, "");
	/* A name with dots in it is no way out. */
	assert_int_equal(load_text("[role]\nbackend = command\ncommand = "
	    "true\njunit = out/..report.xml\n", &r, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[role]\nbackend = command\n"
		    "command = true\njunit = %s\n", bad[i]);
		assert_int_equal(load_text(text, &r, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "not a path inside the "
		    "repository"));
	}
}

/* backend = scan: scanners = NAME[:FORMAT], scanner.NAME = CMD (before or
 * after), unscanned; and the shipped SEC role. */
static void
scan_keys(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "backend = scan\n", "needs scanners" },
		{ "backend = scan\nscanners = semgrep, nessus\n",
		    "no parser for 'nessus'" },
		{ "backend = scan\nscanners = codeql:sarif\n",
		    "give it scanner.codeql" },
		{ "backend = scan\nscanners = semgrep\nscanner.semgerp = x\n",
		    "semgerp is not in scanners" },
		{ "backend = scan\nscanners = semgrep, semgrep\n", "twice" },
		{ "backend = scan\nscanners = Semgrep\n", "not a name" },
		{ "backend = scan\nscanners = semgrep\nunscanned = maybe\n",
		    "not fail or pass" },
		{ "backend = scan\nscanners = a:sarif,b:sarif,c:sarif,d:sarif,"
		  "e:sarif,f:sarif,g:sarif,h:sarif,i:sarif\n", "more than 8" },
	};
	struct wf_role r;
	char err[512], text[512];

	(void)state;
	assert_int_equal(load_text("[role]\nscanner.codeql = sh codeql.sh\n"
	    "backend = scan\nscanners = semgrep , codeql:sarif,gitleaks\n"
	    "scanner.gitleaks = gitleaks dir -f json .\n", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.backend, WF_BE_SCAN);
	assert_int_equal(r.nscanners, 3);
	assert_int_equal(r.unscanned_pass, 0); /* strict unless told */
	assert_string_equal(r.scanners[0].name, "semgrep");
	assert_string_equal(r.scanners[0].format, "semgrep");
	assert_string_equal(r.scanners[0].command,
	    "semgrep --json --quiet --config auto .");
	assert_string_equal(r.scanners[1].name, "codeql");
	assert_string_equal(r.scanners[1].format, "sarif");
	assert_string_equal(r.scanners[1].command, "sh codeql.sh");
	assert_string_equal(r.scanners[2].command, "gitleaks dir -f json .");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[role]\n%s", bad[i].text);
		err[0] = '\0';
		assert_int_equal(load_text(text, &r, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("'%s': '%s' lacks '%s'", bad[i].text, err,
			    bad[i].why);
	}
	/* The shipped SEC role scans, and passes visibly on nothing. */
	assert_int_equal(all[3].backend, WF_BE_SCAN);
	assert_true(all[3].nscanners >= 1);
	assert_int_equal(all[3].unscanned_pass, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_roles),
		cmocka_unit_test(tdd_keys),
		cmocka_unit_test(junit_key),
		cmocka_unit_test(scan_keys),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, load, NULL);
}
