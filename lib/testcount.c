/*
 * testcount: test counts from runner output.  Line-oriented and bounded:
 * every scan stays inside [buf, buf+len), no line is copied whole.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "testcount.h"

/* The number just before word (e.g. "3 passed"), searching a line. */
static long
num_before(const char *line, size_t n, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 1; i + wl <= n; i++) {
		size_t j;
		long v = 0, mult = 1;

		if (memcmp(line + i, word, wl) != 0 || line[i - 1] != ' ')
			continue;
		j = i - 1;
		if (j == 0 || !isdigit((unsigned char)line[j - 1]))
			continue;
		while (j > 0 && isdigit((unsigned char)line[j - 1]) &&
		    mult < 1000000000L) {
			v += (line[j - 1] - '0') * mult;
			mult *= 10;
			j--;
		}
		return v;
	}
	return -1;
}

static int
starts(const char *line, size_t n, const char *p)
{
	size_t pl = strlen(p);

	return n >= pl && memcmp(line, p, pl) == 0;
}

int
wf_testcount_parse(const char *buf, size_t len, struct wf_testcount *tc)
{
	long tap_ok = 0, tap_nok = 0, go_pass = 0, go_fail = 0;
	long py_pass = -1, py_fail = 0, py_err = 0;
	long cargo_pass = 0, cargo_fail = 0;
	int cargo = 0;
	const char *p = buf, *end = buf + len;

	memset(tc, 0, sizeof(*tc));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *l = p;
		long v;

		p = nl != NULL ? nl + 1 : end;
		if (n > 0 && l[n - 1] == '\r')
			n--;
		/* TAP: "ok N", "not ok N"; a "# SKIP" counts as run. */
		if (starts(l, n, "ok ") || (n == 2 && starts(l, n, "ok")))
			tap_ok++;
		else if (starts(l, n, "not ok"))
			tap_nok++;
		/* go test -v */
		else if (starts(l, n, "--- PASS:"))
			go_pass++;
		else if (starts(l, n, "--- FAIL:"))
			go_fail++;
		/* cargo: "test result: ok. 3 passed; 1 failed; ..." */
		else if (starts(l, n, "test result:")) {
			cargo = 1;
			if ((v = num_before(l, n, "passed")) >= 0)
				cargo_pass += v;
			if ((v = num_before(l, n, "failed")) >= 0)
				cargo_fail += v;
		} else if (memchr(l, '=', n) != NULL &&
		    (num_before(l, n, "passed") >= 0 ||
		    num_before(l, n, "failed") >= 0) &&
		    (starts(l, n, "=") || starts(l, n, "FAILED") ||
		    starts(l, n, "PASSED"))) {
			/* pytest: "==== 5 passed, 1 failed in 0.1s ====" */
			py_pass = (v = num_before(l, n, "passed")) >= 0 ? v : 0;
			py_fail = (v = num_before(l, n, "failed")) >= 0 ? v : 0;
			py_err = (v = num_before(l, n, "error")) >= 0 ? v : 0;
		}
	}
	if (py_pass >= 0) {
		tc->passed = py_pass;
		tc->failed = py_fail + py_err;
		tc->format = "pytest";
	} else if (cargo) {
		tc->passed = cargo_pass;
		tc->failed = cargo_fail;
		tc->format = "cargo";
	} else if (tap_ok + tap_nok > 0) {
		tc->passed = tap_ok;
		tc->failed = tap_nok;
		tc->format = "tap";
	} else if (go_pass + go_fail > 0) {
		tc->passed = go_pass;
		tc->failed = go_fail;
		tc->format = "go";
	} else
		return -1;
	tc->run = tc->passed + tc->failed;
	return 0;
}
