/*
 * testcount: read how many tests ran, passed and failed from a test
 * runner's output: TAP (prove, bats), pytest, cargo test, go test -v,
 * python -m unittest; or from a JUnit XML report (read with expat).  Gates trust these counts, not an agent's
 * words.  The parsers take a buffer and a length, so that they can be
 * fuzzed.
 */
#ifndef WF_TESTCOUNT_H
#define WF_TESTCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct wf_testcount {
	long run, passed, failed; /* run = passed + failed */
	long skipped; /* junit, unittest: neither run, passed nor failed */
	const char *format; /* "tap", "pytest", "cargo", "unittest", "go",
			     * "junit"; NULL */
};

/*
 * 0 when a known format was found, -1 otherwise (counts zero).  When
 * output holds more than one, the first of pytest, cargo, unittest, TAP
 * and go wins.  unittest's "Ran N tests" counts only with the verdict
 * after it ("OK", "FAILED (failures=1, errors=2)", ...): failures,
 * errors and unexpected successes fail, skipped tests are skipped.
 */
int wf_testcount_parse(const char *buf, size_t len, struct wf_testcount *tc);

/*
 * A JUnit XML report: the totals of a <testsuites> or <testsuite> that
 * has a tests attribute (failed = failures + errors), else its
 * <testcase>s and their <failure>, <error> or <skipped> children.  0, or
 * -1 (counts zero) when buf is not a whole, well-formed XML document
 * whose root is <testsuites> or <testsuite>, or when it declares an
 * entity.
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
