/*
 * testcount: test counts from runner output.  Line-oriented and bounded:
 * every scan stays inside [buf, buf+len), no line is copied whole.  And
 * JUnit XML reports, read with expat.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <expat.h>

#include "spool.h"
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

/* Digits at s (at most 9 of them, then not a digit), or -1. */
static long
num_at(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	for (i = 0; i < n && isdigit((unsigned char)s[i]); i++) {
		if (i == 9)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return i > 0 ? v : -1;
}

/*
 * unittest's "Ran N tests in 0.001s" (or "Ran 1 test in"): N, or -1.
 */
static long
ut_ran(const char *l, size_t n)
{
	long v;
	size_t i;

	if (!starts(l, n, "Ran ") || (v = num_at(l + 4, n - 4)) < 0)
		return -1;
	for (i = 4; i < n && isdigit((unsigned char)l[i]); i++)
		;
	if (starts(l + i, n - i, " tests in ") ||
	    starts(l + i, n - i, " test in "))
		return v;
	return -1;
}

/*
 * unittest's verdict after "Ran N": "OK", "OK (skipped=1)", "FAILED
 * (failures=1, errors=2, skipped=1, expected failures=1, unexpected
 * successes=1)" or "NO TESTS RAN".  An unexpected success fails (as
 * unittest says).  0 with *failed and *skipped, -1 when l is none.
 */
static int
ut_verdict(const char *l, size_t n, long *failed, long *skipped)
{
	size_t i;

	*failed = *skipped = 0;
	if (n == 12 && starts(l, n, "NO TESTS RAN"))
		return 0;
	if (n == 2 && starts(l, n, "OK"))
		return 0;
	if (starts(l, n, "OK ("))
		i = 4;
	else if (starts(l, n, "FAILED ("))
		i = 8;
	else
		return -1;
	if (l[n - 1] != ')')
		return -1;
	n--;
	while (i < n) {
		const char *k = l + i, *eq;
		size_t kl;
		long v;

		if ((eq = memchr(k, '=', n - i)) == NULL)
			return -1;
		kl = (size_t)(eq - k);
		i += kl + 1;
		if ((v = num_at(l + i, n - i)) < 0)
			return -1;
		while (i < n && isdigit((unsigned char)l[i]))
			i++;
		if (i < n && !starts(l + i, n - i, ", "))
			return -1;
		i += i < n ? 2 : 0;
		if ((kl == 8 && memcmp(k, "failures", 8) == 0) ||
		    (kl == 6 && memcmp(k, "errors", 6) == 0) ||
		    (kl == 20 && memcmp(k, "unexpected successes", 20) == 0))
			*failed += v;
		else if (kl == 7 && memcmp(k, "skipped", 7) == 0)
			*skipped += v;
		else if (!(kl == 17 && memcmp(k, "expected failures", 17) == 0))
			return -1;
	}
	return 0;
}

int
wf_testcount_parse(const char *buf, size_t len, struct wf_testcount *tc)
{
	long tap_ok = 0, tap_nok = 0, go_pass = 0, go_fail = 0;
	long py_pass = -1, py_fail = 0, py_err = 0;
	long cargo_pass = 0, cargo_fail = 0;
	long ut_run = 0, ut_fail = 0, ut_skip = 0, ut_pending = -1;
	int cargo = 0, ut = 0;
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
		/* unittest: "Ran N tests in Ts", a blank line, its verdict. */
		if ((v = ut_ran(l, n)) >= 0) {
			ut_pending = v;
			continue;
		}
		if (ut_pending >= 0 && n > 0) {
			long f, sk;

			if (ut_verdict(l, n, &f, &sk) == 0 &&
			    f + sk <= ut_pending) {
				ut = 1;
				ut_run += ut_pending;
				ut_fail += f;
				ut_skip += sk;
			}
			ut_pending = -1;
			continue;
		}
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
	} else if (ut) {
		/* Skipped tests are in "Ran N" but neither pass nor fail. */
		tc->failed = ut_fail;
		tc->skipped = ut_skip;
		tc->passed = ut_run - ut_fail - ut_skip;
		tc->format = "unittest";
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

/*
 * JUnit XML, read with expat.  The handlers see elements and attributes
 * only; text, comments, CDATA and processing instructions are expat's to
 * skip.  expat refuses what is not well-formed (a truncated report, text
 * after the root, a tag closed by another name), so a report is counted
 * whole or not at all.  A report has no use for entity declarations: one
 * stops the parse (no entity expansion can be made to blow up), and
 * external entities are never loaded (expat's default).
 */
#define JU_DEPTH 256
#define JU_MAX 1000000000L /* a count beyond this is not a report's */
#define JU_CHUNK (1 << 20) /* bytes per XML_Parse call */

enum ju_kind { JU_OTHER, JU_SUITES, JU_SUITE, JU_CASE, JU_FAIL, JU_SKIP };

struct ju_el {
	enum ju_kind kind;
	int counted; /* its or an ancestor's totals were taken */
	int tally; /* a testcase that counts: its children decide */
	int failed, skipped;
};

struct ju {
	XML_Parser xp;
	struct ju_el st[JU_DEPTH];
	int depth, bad;
	long tests, failed, skipped;
};

static enum ju_kind
ju_classify(const char *s)
{
	if (strcmp(s, "testsuites") == 0)
		return JU_SUITES;
	if (strcmp(s, "testsuite") == 0)
		return JU_SUITE;
	if (strcmp(s, "testcase") == 0)
		return JU_CASE;
	if (strcmp(s, "failure") == 0 || strcmp(s, "error") == 0)
		return JU_FAIL;
	if (strcmp(s, "skipped") == 0)
		return JU_SKIP;
	return JU_OTHER;
}

static int
ju_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* A count attribute: digits, maybe padded with spaces, at most JU_MAX. */
static int
ju_count(const char *s, long *v)
{
	size_t i = 0, n = strlen(s);

	while (i < n && ju_space(s[i]))
		i++;
	while (n > i && ju_space(s[n - 1]))
		n--;
	if (i == n || n - i > 10)
		return -1;
	*v = 0;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return *v <= JU_MAX ? 0 : -1;
}

/* Add n tests of which failed failed and skipped were skipped. */
static int
ju_add(struct ju *j, long n, long failed, long skipped)
{
	/* pytest counts a test that fails and errors in teardown in both
	 * failures and errors: no more failures than tests. */
	if (failed > n)
		failed = n;
	if (skipped > n - failed)
		skipped = n - failed;
	j->tests += n;
	j->failed += failed;
	j->skipped += skipped;
	return j->tests <= JU_MAX ? 0 : -1;
}

/* The report is not one: stop expat, which then returns an error. */
static void
ju_refuse(struct ju *j)
{
	j->bad = 1;
	XML_StopParser(j->xp, XML_FALSE);
}

static void XMLCALL
ju_start(void *ud, const XML_Char *name, const XML_Char **attr)
{
	struct ju *j = ud;
	struct ju_el e, *parent = j->depth > 0 ? &j->st[j->depth - 1] : NULL;
	long tests = -1, failures = 0, errors = 0, skipped = 0;

	if (j->bad)
		return;
	memset(&e, 0, sizeof(e));
	e.kind = ju_classify(name);
	if (parent == NULL && e.kind != JU_SUITES && e.kind != JU_SUITE) {
		ju_refuse(j); /* the root: a report's */
		return;
	}
	if (j->depth == JU_DEPTH) {
		ju_refuse(j);
		return;
	}
	for (size_t i = 0; (e.kind == JU_SUITES || e.kind == JU_SUITE) &&
	    attr[i] != NULL; i += 2) {
		long *slot = NULL;

		if (strcmp(attr[i], "tests") == 0)
			slot = &tests;
		else if (strcmp(attr[i], "failures") == 0)
			slot = &failures;
		else if (strcmp(attr[i], "errors") == 0)
			slot = &errors;
		else if (strcmp(attr[i], "skipped") == 0)
			slot = &skipped;
		if (slot != NULL && ju_count(attr[i + 1], slot) == -1) {
			ju_refuse(j);
			return;
		}
	}
	e.counted = parent != NULL ? parent->counted : 0;
	switch (e.kind) {
	case JU_SUITES:
	case JU_SUITE:
		/* The outermost totals win: what they hold is in them. */
		if (!e.counted && tests >= 0) {
			if (ju_add(j, tests, failures + errors, skipped) == -1) {
				ju_refuse(j);
				return;
			}
			e.counted = 1;
		}
		break;
	case JU_CASE:
		e.tally = !e.counted;
		e.counted = 1;
		break;
	case JU_FAIL:
	case JU_SKIP:
		if (parent != NULL && parent->kind == JU_CASE) {
			if (e.kind == JU_FAIL)
				parent->failed = 1;
			else
				parent->skipped = 1;
		}
		break;
	case JU_OTHER:
		break;
	}
	j->st[j->depth++] = e;
}

static void XMLCALL
ju_end(void *ud, const XML_Char *name)
{
	struct ju *j = ud;
	struct ju_el *e;

	(void)name; /* expat has matched it to its start tag */
	if (j->bad || j->depth == 0)
		return;
	e = &j->st[--j->depth];
	if (e->kind == JU_CASE && e->tally &&
	    ju_add(j, 1, e->failed ? 1 : 0, !e->failed && e->skipped) == -1)
		ju_refuse(j);
}

static void XMLCALL
ju_entity(void *ud, const XML_Char *name, int param, const XML_Char *value,
    int vlen, const XML_Char *base, const XML_Char *sysid,
    const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)param, (void)value, (void)vlen, (void)base;
	(void)sysid, (void)pubid, (void)notation;
	ju_refuse(ud);
}

int
wf_testcount_junit(const char *buf, size_t len, struct wf_testcount *tc)
{
	struct ju *j;
	int rc = -1;

	memset(tc, 0, sizeof(*tc));
	/* The stack is 256 elements deep: on the heap, not a fuzzer's. */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if ((j->xp = XML_ParserCreate(NULL)) == NULL) {
		free(j);
		return -1;
	}
	XML_SetUserData(j->xp, j);
	XML_SetElementHandler(j->xp, ju_start, ju_end);
	XML_SetEntityDeclHandler(j->xp, ju_entity);
	XML_SetParamEntityParsing(j->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	do {
		size_t n = len < JU_CHUNK ? len : JU_CHUNK;

		if (XML_Parse(j->xp, buf, (int)n, n == len) !=
		    XML_STATUS_OK || j->bad)
			goto out;
		buf += n;
		len -= n;
	} while (len > 0);
	if (j->depth != 0)
		goto out;
	tc->failed = j->failed;
	tc->skipped = j->skipped;
	tc->passed = j->tests - j->failed - j->skipped;
	tc->run = tc->passed + tc->failed;
	tc->format = "junit";
	rc = 0;
out:
	XML_ParserFree(j->xp);
	free(j);
	return rc;
}

#define JU_FILES_MAX 64
#define JU_FILE_MAX (16 << 20)
/* A file's mtime comes from the kernel's coarse clock, which may lag the
 * clock that stamped the job's start by a tick or two. */
#define JU_SLACK_MS 100

/* Is pattern a relative path with no ".." component? */
static int
junit_pattern_ok(const char *pattern)
{
	const char *p = pattern;

	if (pattern[0] == '\0' || pattern[0] == '/')
		return 0;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (p[n] == '\0')
			return 1;
		p += n + 1;
	}
}

/* Is the directory holding path (a glob's match) inside root? */
static int
junit_inside(const char *root, size_t rlen, const char *path)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL)
		return 0;
	*slash = '\0';
	if (realpath(dir, real) == NULL)
		return 0;
	return strncmp(real, root, rlen) == 0 &&
	    (real[rlen] == '\0' || real[rlen] == '/');
}

int
wf_testcount_junit_files(const char *repo, const char *pattern,
    int64_t since_ms, struct wf_testcount *tc, char *err, size_t errlen)
{
	struct wf_testcount one, sum;
	char root[PATH_MAX], pat[2 * PATH_MAX], *buf;
	size_t rlen, n = 0, len;
	glob_t g;
	int dfd = -1, rc = -1, grc, stale = 0, nread = 0;

	memset(tc, 0, sizeof(*tc));
	memset(&sum, 0, sizeof(sum));
	if (!junit_pattern_ok(pattern)) {
		snprintf(err, errlen, "junit = %.200s: not a path relative to "
		    "the repository", pattern);
		return -1;
	}
	if (repo == NULL || realpath(repo, root) == NULL ||
	    strcmp(root, "/") == 0 || (dfd = open(root, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "junit: the repository %.200s: %s",
		    repo != NULL ? repo : "(none)", strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	rlen = strlen(root);
	/* The repository's own name is no pattern: escape it. */
	for (const char *s = root; *s != '\0' && n + 2 < sizeof(pat); s++) {
		if (strchr("*?[\\", *s) != NULL)
			pat[n++] = '\\';
		pat[n++] = *s;
	}
	if (n + 1 + strlen(pattern) >= sizeof(pat)) {
		snprintf(err, errlen, "junit: the path is too long");
		close(dfd);
		return -1;
	}
	snprintf(pat + n, sizeof(pat) - n, "/%s", pattern);
	if ((grc = glob(pat, 0, NULL, &g)) != 0) {
		snprintf(err, errlen, "junit = %.200s: %s", pattern,
		    grc == GLOB_NOMATCH ? "no such file" : "cannot glob");
		close(dfd);
		return -1;
	}
	if (g.gl_pathc > JU_FILES_MAX) {
		snprintf(err, errlen, "junit = %.200s: more than %d files",
		    pattern, JU_FILES_MAX);
		goto out;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *m = g.gl_pathv[i], *rel = m + rlen + 1;
		struct stat st;
		int64_t mtime;

		if (strncmp(m, root, rlen) != 0 || m[rlen] != '/' ||
		    !junit_inside(root, rlen, m)) {
			snprintf(err, errlen, "junit: %.200s is outside the "
			    "repository", m);
			goto out;
		}
		if (fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			snprintf(err, errlen, "junit: %.200s: %s", rel,
			    strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "junit: %.200s: %s", rel,
			    S_ISLNK(st.st_mode) ? "a symlink, not a report" :
			    "not a regular file");
			goto out;
		}
		mtime = (int64_t)st.st_mtim.tv_sec * 1000 +
		    st.st_mtim.tv_nsec / 1000000;
		if (since_ms > 0 && mtime + JU_SLACK_MS < since_ms) {
			stale++;
			continue;
		}
		/* The check above is a name's; this read cannot leave
		 * the repository whatever was renamed since. */
		if (wf_spool_read_beneath(dfd, rel, JU_FILE_MAX, &buf, &len) ==
		    -1) {
			snprintf(err, errlen, "junit: %.200s: %s", rel,
			    errno == ELOOP || errno == ENOTDIR ?
			    "a symlink on its way, not a report" :
			    errno == EFBIG ? "larger than 16 MiB" :
			    strerror(errno));
			goto out;
		}
		if (wf_testcount_junit(buf, len, &one) == -1) {
			snprintf(err, errlen, "junit: %.200s: not a whole "
			    "JUnit XML report", rel);
			free(buf);
			goto out;
		}
		free(buf);
		sum.passed += one.passed;
		sum.failed += one.failed;
		sum.skipped += one.skipped;
		nread++;
	}
	if (nread == 0) {
		snprintf(err, errlen, "junit = %.200s: %d file%s, none written "
		    "by this test run", pattern, stale, stale == 1 ? "" : "s");
		goto out;
	}
	sum.run = sum.passed + sum.failed;
	sum.format = "junit";
	*tc = sum;
	rc = 0;
out:
	globfree(&g);
	close(dfd);
	return rc;
}
