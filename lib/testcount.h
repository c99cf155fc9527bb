/*
 * testcount: read how many tests ran, passed and failed from a test
 * runner's output: TAP (prove, bats), pytest, cargo test, go test -v;
 * or from a JUnit XML report.  Gates trust these counts, not an agent's
 * words.  The parsers take a buffer and a length, so that they can be
 * fuzzed.
 */
#ifndef WF_TESTCOUNT_H
#define WF_TESTCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct wf_testcount {
	long run, passed, failed; /* run = passed + failed */
	long skipped; /* junit only: neither run, passed nor failed */
	const char *format; /* "tap", "pytest", "cargo", "go", "junit"; NULL */
};

/* 0 when a known format was found, -1 otherwise (counts zero). */
int wf_testcount_parse(const char *buf, size_t len, struct wf_testcount *tc);

/*
 * A JUnit XML report: the totals of a <testsuites> or <testsuite> that
 * has a tests attribute (failed = failures + errors), else its
 * <testcase>s and their <failure>, <error> or <skipped> children.  0, or
 * -1 (counts zero) when buf is not a whole, well-nested report whose
 * root is <testsuites> or <testsuite>.
 */
int wf_testcount_junit(const char *buf, size_t len, struct wf_testcount *tc);

/*
 * Sum the JUnit reports that pattern, a glob(3) relative to the directory
 * repo (not absolute, no ".."), names: regular files inside repo, not
 * symlinks, written at or after since_ms (wall ms; 0: whenever), so that
 * a report left by an earlier run is not taken for this one's.  0, or -1
 * and a one-line reason in err.
 */
int wf_testcount_junit_files(const char *repo, const char *pattern,
    int64_t since_ms, struct wf_testcount *tc, char *err, size_t errlen);

#endif
