/*
 * testcount: test counts from runner output.  Line-oriented and bounded:
 * every scan stays inside [buf, buf+len), no line is copied whole.  And
 * JUnit XML reports, with a small bounded tag scanner (no XML library is
 * a dependency, and only elements and attributes matter here).
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

/*
 * JUnit XML.  A tag scanner, not an XML parser: comments, CDATA,
 * processing instructions and <!DOCTYPE> are skipped whole, text and its
 * entities are skipped, attributes are read in place (never copied).
 * Every element must be closed by its own name and the root must be one
 * <testsuites> or <testsuite>, so that a truncated report is refused
 * rather than half counted.
 */
#define JU_DEPTH 256
#define JU_MAX 1000000000L /* a count beyond this is not a report's */

enum ju_kind { JU_OTHER, JU_SUITES, JU_SUITE, JU_CASE, JU_FAIL, JU_SKIP };

struct ju_el {
	const char *name;
	size_t nlen;
	enum ju_kind kind;
	int counted; /* its or an ancestor's totals were taken */
	int tally; /* a testcase that counts: its children decide */
	int failed, skipped;
};

struct ju {
	struct ju_el st[JU_DEPTH];
	int depth, roots;
	long tests, failed, skipped;
};

static int
ju_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int
ju_namech(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == ':' ||
	    ch == '-' || ch == '.';
}

static int
ju_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(s, word, n) == 0;
}

static enum ju_kind
ju_classify(const char *s, size_t n)
{
	if (ju_is(s, n, "testsuites"))
		return JU_SUITES;
	if (ju_is(s, n, "testsuite"))
		return JU_SUITE;
	if (ju_is(s, n, "testcase"))
		return JU_CASE;
	if (ju_is(s, n, "failure") || ju_is(s, n, "error"))
		return JU_FAIL;
	if (ju_is(s, n, "skipped"))
		return JU_SKIP;
	return JU_OTHER;
}

/* A count attribute: digits, maybe padded with spaces, at most JU_MAX. */
static int
ju_count(const char *s, size_t n, long *v)
{
	size_t i = 0;

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

/* An element ends (its end tag, or "/>"). */
static int
ju_end(struct ju *j, const struct ju_el *e)
{
	if (e->kind != JU_CASE || !e->tally)
		return 0;
	return ju_add(j, 1, e->failed ? 1 : 0, !e->failed && e->skipped);
}

/* A start tag; p is just past '<'.  Returns the byte after it, or NULL. */
static const char *
ju_start(struct ju *j, const char *p, const char *end)
{
	struct ju_el e, *parent = j->depth > 0 ? &j->st[j->depth - 1] : NULL;
	long tests = -1, failures = 0, errors = 0, skipped = 0;
	int self = 0;

	memset(&e, 0, sizeof(e));
	e.name = p;
	if (p >= end || !(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
		return NULL;
	while (p < end && ju_namech(*p))
		p++;
	e.nlen = (size_t)(p - e.name);
	e.kind = ju_classify(e.name, e.nlen);
	for (;;) {
		const char *an, *q, *v;
		size_t anl;
		long *slot = NULL, n;
		int ws = 0;

		while (p < end && ju_space(*p)) {
			p++;
			ws = 1;
		}
		if (p >= end)
			return NULL;
		if (*p == '>') {
			p++;
			break;
		}
		if (*p == '/') {
			if (p + 1 >= end || p[1] != '>')
				return NULL;
			p += 2;
			self = 1;
			break;
		}
		if (!ws)
			return NULL;
		for (an = p; p < end && ju_namech(*p); p++)
			;
		if ((anl = (size_t)(p - an)) == 0)
			return NULL;
		while (p < end && ju_space(*p))
			p++;
		if (p >= end || *p != '=')
			return NULL;
		for (p++; p < end && ju_space(*p); p++)
			;
		if (p >= end || (*p != '"' && *p != '\''))
			return NULL;
		v = p + 1;
		if ((q = memchr(v, *p, (size_t)(end - v))) == NULL)
			return NULL;
		p = q + 1;
		if (e.kind != JU_SUITES && e.kind != JU_SUITE)
			continue;
		if (ju_is(an, anl, "tests"))
			slot = &tests;
		else if (ju_is(an, anl, "failures"))
			slot = &failures;
		else if (ju_is(an, anl, "errors"))
			slot = &errors;
		else if (ju_is(an, anl, "skipped"))
			slot = &skipped;
		if (slot != NULL) {
			if (ju_count(v, (size_t)(q - v), &n) == -1)
				return NULL;
			*slot = n;
		}
	}
	if (parent == NULL) {
		/* The root: one, and a report's. */
		if (++j->roots > 1 ||
		    (e.kind != JU_SUITES && e.kind != JU_SUITE))
			return NULL;
	} else
		e.counted = parent->counted;
	switch (e.kind) {
	case JU_SUITES:
	case JU_SUITE:
		/* The outermost totals win: what they hold is in them. */
		if (!e.counted && tests >= 0) {
			if (ju_add(j, tests, failures + errors, skipped) == -1)
				return NULL;
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
	if (self)
		return ju_end(j, &e) == 0 ? p : NULL;
	if (j->depth == JU_DEPTH)
		return NULL;
	j->st[j->depth++] = e;
	return p;
}

/* An end tag; p is just past "</". */
static const char *
ju_close(struct ju *j, const char *p, const char *end)
{
	const char *n = p;
	struct ju_el *e;

	while (p < end && ju_namech(*p))
		p++;
	if (j->depth == 0)
		return NULL;
	e = &j->st[j->depth - 1];
	if ((size_t)(p - n) != e->nlen || memcmp(n, e->name, e->nlen) != 0)
		return NULL;
	while (p < end && ju_space(*p))
		p++;
	if (p >= end || *p != '>')
		return NULL;
	j->depth--;
	return ju_end(j, e) == 0 ? p + 1 : NULL;
}

/* Past the first "s" in [p, end), or NULL. */
static const char *
ju_past(const char *p, const char *end, const char *s)
{
	const char *q = memmem(p, (size_t)(end - p), s, strlen(s));

	return q != NULL ? q + strlen(s) : NULL;
}

static int
ju_starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

int
wf_testcount_junit(const char *buf, size_t len, struct wf_testcount *tc)
{
	struct ju *j;
	const char *p = buf, *end = buf + len;
	int rc = -1;

	memset(tc, 0, sizeof(*tc));
	/* The stack is 256 elements deep: on the heap, not a fuzzer's. */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if (ju_starts(p, end, "\xef\xbb\xbf"))
		p += 3; /* a UTF-8 byte order mark */
	while (p != NULL && p < end) {
		if (*p != '<') {
			const char *lt = memchr(p, '<', (size_t)(end - p));

			if (lt == NULL)
				lt = end;
			/* Text outside the root is not a report's. */
			for (; j->depth == 0 && p < lt; p++)
				if (!ju_space(*p))
					goto out;
			p = lt;
		} else if (ju_starts(p, end, "<!--"))
			p = ju_past(p + 4, end, "-->");
		else if (ju_starts(p, end, "<![CDATA["))
			p = j->depth > 0 ? ju_past(p + 9, end, "]]>") : NULL;
		else if (ju_starts(p, end, "<?"))
			p = ju_past(p + 2, end, "?>");
		else if (ju_starts(p, end, "<!")) {
			/* <!DOCTYPE ...>, maybe with an internal [subset]. */
			const char *gt = memchr(p, '>', (size_t)(end - p));
			const char *br = memchr(p, '[', (size_t)(end - p));

			if (j->depth > 0 || j->roots > 0)
				goto out;
			p = br != NULL && (gt == NULL || br < gt) ?
			    ju_past(br, end, "]") : p;
			p = p != NULL ? ju_past(p, end, ">") : NULL;
		} else if (ju_starts(p, end, "</"))
			p = ju_close(j, p + 2, end);
		else
			p = ju_start(j, p + 1, end);
	}
	if (p == NULL || j->depth != 0 || j->roots != 1)
		goto out;
	tc->failed = j->failed;
	tc->skipped = j->skipped;
	tc->passed = j->tests - j->failed - j->skipped;
	tc->run = tc->passed + tc->failed;
	tc->format = "junit";
	rc = 0;
out:
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
