/*
 * testcount: read how many tests ran, passed and failed from a test
 * runner's output: TAP (prove, bats), pytest, cargo test, go test -v.
 * Gates trust these counts, not an agent's words.  Takes a buffer and a
 * length, so that it can be fuzzed.
 */
#ifndef WF_TESTCOUNT_H
#define WF_TESTCOUNT_H

#include <stddef.h>

struct wf_testcount {
	long run, passed, failed;
	const char *format; /* "tap", "pytest", "cargo", "go"; NULL: none */
};

/* 0 when a known format was found, -1 otherwise (counts zero). */
int wf_testcount_parse(const char *buf, size_t len, struct wf_testcount *tc);

#endif
