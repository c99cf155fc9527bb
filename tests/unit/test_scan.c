/*
 * test_scan: scanners' JSON into findings (lib/scan.c).  Each parser reads
 * a recorded output of its scanner (tests/fixtures/scan/) and must give
 * the right severities, rules, paths and lines: the SEC gate decides on
 * them.  Malformed input fails with a reason and adds nothing, a secret
 * that gitleaks or trivy matched is never copied, and the cap holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

/* a literal and its length */
#define LIT(s) (s), strlen(s)

static char *
slurp(const char *name, size_t *len)
{
	char path[256], *buf;
	FILE *f;

	snprintf(path, sizeof(path), "tests/fixtures/scan/%s", name);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Parse a fixture; the findings array, with n checked. */
static cJSON *
parse(const char *scanner, const char *fixture, int n)
{
	cJSON *fs = cJSON_CreateArray();
	char err[256] = "", *buf;
	size_t len;
	int rc;

	buf = slurp(fixture, &len);
	rc = wf_scan_parse(scanner, buf, len, fs, err, sizeof(err));
	if (rc != n)
		fprintf(stderr, "%s: %d findings (want %d): %s\n", fixture, rc,
		    n, err);
	assert_int_equal(rc, n);
	assert_int_equal(cJSON_GetArraySize(fs), n);
	free(buf);
	return fs;
}

static const char *
field(const cJSON *fs, int i, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(fs, i), k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static int
line(const cJSON *fs, int i)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(fs, i), "line");

	assert_true(cJSON_IsNumber(v));
	return (int)v->valuedouble;
}

/* finding i is {scanner, severity, rule, path, line} */
static void
is(const cJSON *fs, int i, const char *scanner, const char *sev,
    const char *rule, const char *path, int ln)
{
	assert_string_equal(field(fs, i, "scanner"), scanner);
	assert_string_equal(field(fs, i, "severity"), sev);
	assert_string_equal(field(fs, i, "rule"), rule);
	assert_string_equal(field(fs, i, "path"), path);
	assert_int_equal(line(fs, i), ln);
}

static void
no_secret(const cJSON *fs, const char *secret)
{
	char *s = cJSON_PrintUnformatted(fs);

	assert_non_null(s);
	assert_null(strstr(s, secret));
	free(s);
}

static void
test_semgrep(void **state)
{
	cJSON *fs = parse("semgrep", "semgrep.json", 3);

	(void)state;
	is(fs, 0, "semgrep", "high",
	    "python.lang.security.audit."
	    "subprocess-shell-true.subprocess-shell-true",
	    "app.py", 12);
	assert_non_null(strstr(field(fs, 0, "title"), "shell=True"));
	is(fs, 1, "semgrep", "medium",
	    "javascript.browser.security."
	    "insecure-document-method.insecure-document-method",
	    "web/handlers.js", 7);
	is(fs, 2, "semgrep", "low",
	    "python.lang.best-practice."
	    "open-never-closed.open-never-closed",
	    "app.py", 30);
	cJSON_Delete(fs);
}

static void
test_bandit(void **state)
{
	cJSON *fs = parse("bandit", "bandit.json", 2);

	(void)state;
	is(fs, 0, "bandit", "high", "B602", "./app.py", 4);
	assert_string_equal(field(fs, 0, "title"),
	    "subprocess call with "
	    "shell=True identified, security issue.");
	is(fs, 1, "bandit", "low", "B404", "./app.py", 1);
	cJSON_Delete(fs);
}

static void
test_gitleaks(void **state)
{
	cJSON *fs = parse("gitleaks", "gitleaks.json", 1);

	(void)state;
	is(fs, 0, "gitleaks", "high", "aws-access-token", "config/settings.py",
	    3);
	assert_non_null(strstr(field(fs, 0, "title"), "AWS credentials"));
	/* Secret, Match and Line hold it: none of them is copied. */
	no_secret(fs, "AKIAWFFAKESECRET7Q3Z");
	no_secret(fs, "aws_key_id");
	cJSON_Delete(fs);
	/* No leak: gitleaks prints an empty array. */
	fs = cJSON_CreateArray();
	assert_int_equal(
	    wf_scan_parse("gitleaks", LIT("[]\n"), fs, NULL, 0), 0);
	cJSON_Delete(fs);
}

static void
test_npm(void **state)
{
	cJSON *fs = parse("npm-audit", "npm-audit.json", 2);
	char err[256];

	(void)state;
	is(fs, 0, "npm-audit", "critical", "GHSA-jf85-cpcp-j695",
	    "node_modules/lodash", 0);
	assert_string_equal(
	    field(fs, 0, "title"), "lodash: Prototype Pollution in lodash");
	/* moderate is medium; a dependent names what it depends on */
	is(fs, 1, "npm-audit", "medium", "", "node_modules/express-utils", 0);
	assert_non_null(strstr(field(fs, 1, "title"), "vulnerable lodash"));
	cJSON_Delete(fs);
	/* npm's own error (no lock file) is the scanner's error */
	fs = cJSON_CreateArray();
	assert_int_equal(wf_scan_parse("npm-audit",
			     LIT("{\"error\":{\"code\":"
				 "\"ENOLOCK\",\"summary\":\"This command "
				 "requires an existing "
				 "lockfile.\"}}"),
			     fs, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "requires an existing lockfile"));
	/* npm 6's shape is refused, not read as clean */
	assert_int_equal(wf_scan_parse("npm-audit", LIT("{\"advisories\":{}}"),
			     fs, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "npm 6"));
	assert_int_equal(cJSON_GetArraySize(fs), 0);
	cJSON_Delete(fs);
}

static void
test_trivy(void **state)
{
	cJSON *fs = parse("trivy", "trivy.json", 3);

	(void)state;
	is(fs, 0, "trivy", "high", "CVE-2023-30861", "requirements.txt", 0);
	assert_non_null(strstr(field(fs, 0, "title"), "flask 2.2.2: "));
	is(fs, 1, "trivy", "info", "CVE-2024-1135", "requirements.txt", 0);
	is(fs, 2, "trivy", "high", "private-key", "deploy/key.pem", 1);
	no_secret(fs, "TRIVYFAKEKEYMATERIAL");
	cJSON_Delete(fs);
	/* nothing found: trivy leaves Results out */
	fs = cJSON_CreateArray();
	assert_int_equal(
	    wf_scan_parse("trivy", LIT("{\"SchemaVersion\":2}"), fs, NULL, 0),
	    0);
	cJSON_Delete(fs);
}

static void
test_sarif(void **state)
{
	cJSON *fs = parse("sarif", "sarif.json", 4);
	char err[256];
	int n;

	(void)state;
	/* the rule's security-severity 8.8 outranks its level warning */
	is(fs, 0, "sarif", "high", "py/sql-injection", "app/db.py", 21);
	is(fs, 1, "sarif", "low", "py/unused-import", "app/util.py", 2);
	/* the kind "pass" result is skipped; no level is a warning */
	is(fs, 2, "sarif", "medium", "custom/no-level", "main.c", 5);
	is(fs, 3, "sarif", "high", "SC2086", "deploy.sh", 9);
	cJSON_Delete(fs);
	/* under its configured name */
	fs = cJSON_CreateArray();
	n = wf_scan_parse_as("sarif", "codeql",
	    LIT("{\"runs\":[{\"results\":[{"
		"\"level\":\"note\",\"ruleId\":\"r\"}]}]}"),
	    fs, err, sizeof(err));
	assert_int_equal(n, 1);
	is(fs, 0, "codeql", "low", "r", "", 0);
	cJSON_Delete(fs);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *scanner, *text, *why;
	} bad[] = {
		{ "semgrep", "", "no output" },
		{ "semgrep", "  \n", "no output" },
		{ "semgrep", "Traceback (most recent call last):", "not JSON" },
		{ "semgrep", "{\"results\":[{\"check_id\":", "not JSON" },
		{ "semgrep", "{\"errors\":[]}", "no results array" },
		{ "bandit", "[]", "no results array" },
		{ "gitleaks", "{\"RuleID\":\"x\"}", "not an array" },
		{ "npm-audit", "[1]", "no vulnerabilities" },
		{ "trivy", "[]", "not an object" },
		{ "trivy", "{\"Results\":{}}", "not an array" },
		{ "sarif", "{\"version\":\"2.1.0\"}", "no runs array" },
		{ "nessus", "{}", "no parser" },
	};
	cJSON *fs = cJSON_CreateArray();
	char err[256];

	(void)state;
	cJSON_AddItemToArray(fs, cJSON_CreateString("kept"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(wf_scan_parse(bad[i].scanner, bad[i].text,
				     strlen(bad[i].text), fs, err, sizeof(err)),
		    -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s '%s': '%s' lacks '%s'", bad[i].scanner,
			    bad[i].text, err, bad[i].why);
		/* a failed parse adds nothing */
		assert_int_equal(cJSON_GetArraySize(fs), 1);
	}
	/* The reason never quotes the output (it may hold a secret). */
	assert_int_equal(
	    wf_scan_parse("gitleaks", LIT("[{\"Secret\":\"hunter2\""), fs, err,
		sizeof(err)),
	    -1);
	assert_null(strstr(err, "hunter2"));
	/* len bounds the read: the same bytes, cut, do not parse */
	assert_int_equal(
	    wf_scan_parse("gitleaks", "[]", 1, fs, err, sizeof(err)), -1);
	cJSON_Delete(fs);
}

/* Odd but valid shapes: wrong types are read as "unknown". */
static void
test_odd_fields(void **state)
{
	static const char in[] =
	    "{\"results\":[{\"check_id\":7,\"path\":"
	    "null,\"start\":{\"line\":-3},\"extra\":{\"severity\":\"BOGUS\","
	    "\"message\":[]}},5]}";
	cJSON *fs = cJSON_CreateArray();

	(void)state;
	assert_int_equal(
	    wf_scan_parse("semgrep", in, sizeof(in) - 1, fs, NULL, 0), 2);
	/* an unknown severity is medium, as the gate counts it */
	is(fs, 0, "semgrep", "medium", "", "", 0);
	is(fs, 1, "semgrep", "medium", "", "", 0);
	cJSON_Delete(fs);
}

/* More than WF_SCAN_FINDINGS_MAX fails: a cut list could hide a high. */
static void
test_cap(void **state)
{
	size_t cap = 32 * (WF_SCAN_FINDINGS_MAX + 2), n = 0;
	char *buf = malloc(cap), err[256];
	cJSON *fs = cJSON_CreateArray();
	char title[600];

	(void)state;
	n += (size_t)snprintf(buf + n, cap - n, "[");
	for (int i = 0; i <= WF_SCAN_FINDINGS_MAX; i++)
		n += (size_t)snprintf(buf + n, cap - n,
		    "%s{\"RuleID\":\"r%d\"}", i ? "," : "", i);
	n += (size_t)snprintf(buf + n, cap - n, "]");
	assert_int_equal(
	    wf_scan_parse("gitleaks", buf, n, fs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	assert_int_equal(cJSON_GetArraySize(fs), 0);
	free(buf);
	/* A long title is cut, at a UTF-8 boundary. */
	memset(title, 0, sizeof(title));
	for (int i = 0; i + 2 < 590; i += 2)
		memcpy(title + i, "\xc3\xa9", 2);
	buf = malloc(700);
	n = (size_t)snprintf(
	    buf, 700, "{\"results\":[{\"issue_text\":\"%s\"}]}", title);
	assert_int_equal(
	    wf_scan_parse("bandit", buf, n, fs, err, sizeof(err)), 1);
	assert_true(strlen(field(fs, 0, "title")) <= 400);
	assert_true(strlen(field(fs, 0, "title")) % 2 == 0);
	free(buf);
	cJSON_Delete(fs);
}

static void
test_defaults(void **state)
{
	(void)state;
	assert_true(wf_scan_known("semgrep"));
	assert_true(wf_scan_known("sarif"));
	assert_false(wf_scan_known("Semgrep"));
	assert_non_null(strstr(
	    wf_scan_default_command("gitleaks"), "--report-format json"));
	assert_non_null(strstr(wf_scan_default_command("bandit"), "-f json"));
	assert_null(wf_scan_default_command("sarif"));
	assert_null(wf_scan_default_command("nessus"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semgrep),
		cmocka_unit_test(test_bandit),
		cmocka_unit_test(test_gitleaks),
		cmocka_unit_test(test_npm),
		cmocka_unit_test(test_trivy),
		cmocka_unit_test(test_sarif),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_odd_fields),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_defaults),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
