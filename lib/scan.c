/*
 * scan: parsers of scanners' JSON (semgrep, bandit, gitleaks, npm audit,
 * trivy, SARIF 2.1) into wf findings.  Each reads only the fields a
 * finding needs, by name, so that a scanner's new fields change nothing;
 * strings are cut to a bound (at a UTF-8 boundary), and the number of
 * findings is capped: a report must fit in 1 MiB.  What a scanner matched
 * (gitleaks' Secret, Match and Line, semgrep's lines, trivy's Match and
 * Code) is never read: a finding names a secret's place, not the secret.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan.h"

#define TITLE_MAX 400
#define PATH_MAX_ 512
#define RULE_MAX 160

struct ctx {
	const char *name;
	cJSON *out; /* the findings of this call, moved over on success */
	int n, room;
	char *err;
	size_t errlen;
};

struct sevmap {
	const char *from, *to;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k)
				 : NULL;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *it = get(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int
line_of(const cJSON *o, const char *k)
{
	const cJSON *it = get(o, k);

	/* A line is a positive integer; anything else is "unknown". */
	if (!cJSON_IsNumber(it) || !(it->valuedouble >= 1) ||
	    it->valuedouble > 1e9)
		return 0;
	return (int)it->valuedouble;
}

/* Add s to o as k, at most max bytes, cut back to a UTF-8 boundary. */
static int
add_str(cJSON *o, const char *k, const char *s, size_t max)
{
	char buf[PATH_MAX_ + 1];
	size_t n;

	if (s == NULL)
		s = "";
	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	n = strnlen(s, max + 1);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cJSON_AddStringToObject(o, k, buf) != NULL ? 0 : -1;
}

static const char *
sev(const struct sevmap *m, const char *s, const char *dflt)
{
	for (; s != NULL && m->from != NULL; m++)
		if (strcasecmp(s, m->from) == 0)
			return m->to;
	return dflt;
}

static int
add(struct ctx *c, const char *severity, const char *title, const char *path,
    int line, const char *rule)
{
	cJSON *f;

	if (c->n >= c->room)
		return fail(c,
		    "%s: more than %d findings: narrow its rules or "
		    "its paths",
		    c->name, WF_SCAN_FINDINGS_MAX);
	if ((f = cJSON_CreateObject()) == NULL)
		return fail(c, "out of memory");
	cJSON_AddItemToArray(c->out, f);
	if (add_str(f, "scanner", c->name, WF_SCAN_NAME_MAX) == -1 ||
	    add_str(f, "severity", severity, 16) == -1 ||
	    add_str(f, "title", title, TITLE_MAX) == -1 ||
	    add_str(f, "path", path, PATH_MAX_) == -1 ||
	    cJSON_AddNumberToObject(f, "line", line) == NULL ||
	    add_str(f, "rule", rule, RULE_MAX) == -1)
		return fail(c, "out of memory");
	c->n++;
	return 0;
}

/* An array member k of o, required. */
static const cJSON *
need_array(struct ctx *c, const cJSON *o, const char *k, const char *what)
{
	const cJSON *a = get(o, k);

	if (!cJSON_IsArray(a)) {
		fail(c, "%s: not %s output (no %s array)", c->name, what, k);
		return NULL;
	}
	return a;
}

/* semgrep --json: results[] with check_id, path, start.line, extra. */
static int
p_semgrep(struct ctx *c, const cJSON *root)
{
	static const struct sevmap m[] = {
		{ "ERROR", "high" },
		{ "WARNING", "medium" },
		{ "INFO", "low" },
		/* the newer names some rules carry */
		{ "CRITICAL", "critical" },
		{ "HIGH", "high" },
		{ "MEDIUM", "medium" },
		{ "LOW", "low" },
		{ NULL, NULL },
	};
	const cJSON *rs = need_array(c, root, "results", "semgrep"), *r;

	if (rs == NULL)
		return -1;
	cJSON_ArrayForEach(r, rs)
	{
		const cJSON *x = get(r, "extra");

		if (add(c, sev(m, str(x, "severity"), "medium"),
			str(x, "message"), str(r, "path"),
			line_of(get(r, "start"), "line"),
			str(r, "check_id")) == -1)
			return -1;
	}
	return 0;
}

/* bandit -f json: results[] with issue_severity, test_id, filename. */
static int
p_bandit(struct ctx *c, const cJSON *root)
{
	static const struct sevmap m[] = {
		{ "HIGH", "high" },
		{ "MEDIUM", "medium" },
		{ "LOW", "low" },
		{ "UNDEFINED", "info" },
		{ NULL, NULL },
	};
	const cJSON *rs = need_array(c, root, "results", "bandit"), *r;

	if (rs == NULL)
		return -1;
	cJSON_ArrayForEach(
	    r, rs) if (add(c, sev(m, str(r, "issue_severity"), "medium"),
			   str(r, "issue_text"), str(r, "filename"),
			   line_of(r, "line_number"),
			   str(r, "test_id")) == -1) return -1;
	return 0;
}

/* gitleaks --report-format json: an array of leaks, every one high.  Its
 * Secret, Match and Line hold the secret: they are not read. */
static int
p_gitleaks(struct ctx *c, const cJSON *root)
{
	const cJSON *l;
	char title[TITLE_MAX + 1];

	if (!cJSON_IsArray(root))
		return fail(
		    c, "%s: not gitleaks output (not an array)", c->name);
	cJSON_ArrayForEach(l, root)
	{
		const char *d = str(l, "Description"), *rule = str(l, "RuleID");

		snprintf(title, sizeof(title), "secret in the repository: %s",
		    d != NULL	       ? d
			: rule != NULL ? rule
				       : "unknown rule");
		if (add(c, "high", title, str(l, "File"),
			line_of(l, "StartLine"), rule) == -1)
			return -1;
	}
	return 0;
}

/* The last component of a URL (an advisory's id), or the URL. */
static const char *
url_tail(const char *u)
{
	const char *s = u != NULL ? strrchr(u, '/') : NULL;

	return s != NULL && s[1] != '\0' ? s + 1 : u;
}

/* npm audit --json, npm 7 and later: vulnerabilities{name: {severity,
 * via[], nodes[]}}; via holds advisories (objects) or the names of the
 * vulnerable packages this one depends on (strings). */
static int
p_npm(struct ctx *c, const cJSON *root)
{
	static const struct sevmap m[] = {
		{ "critical", "critical" },
		{ "high", "high" },
		{ "moderate", "medium" },
		{ "low", "low" },
		{ "info", "info" },
		{ NULL, NULL },
	};
	const cJSON *vs = get(root, "vulnerabilities"), *v, *e;
	char title[TITLE_MAX + 1];

	if (!cJSON_IsObject(vs)) {
		const cJSON *er = get(root, "error");

		if (er != NULL)
			return fail(c, "%s: npm says: %.200s", c->name,
			    str(er, "summary") != NULL ? str(er, "summary")
						       : "an error");
		if (get(root, "advisories") != NULL)
			return fail(c,
			    "%s: npm 6's audit output: wf reads "
			    "npm 7's and later",
			    c->name);
		return fail(c,
		    "%s: not npm audit output (no vulnerabilities "
		    "object)",
		    c->name);
	}
	cJSON_ArrayForEach(v, vs)
	{
		const cJSON *via = get(v, "via"), *adv = NULL, *dep = NULL;
		const cJSON *nodes = get(v, "nodes");
		const char *path = v->string, *rule = NULL;

		cJSON_ArrayForEach(e, via)
		{
			if (adv == NULL && cJSON_IsObject(e))
				adv = e;
			if (dep == NULL && cJSON_IsString(e))
				dep = e;
		}
		if (adv != NULL) {
			snprintf(title, sizeof(title), "%s: %s", v->string,
			    str(adv, "title") != NULL
				? str(adv, "title")
				: "a known vulnerability");
			rule = url_tail(str(adv, "url"));
		} else
			snprintf(title, sizeof(title),
			    "%s: depends on the "
			    "vulnerable %s",
			    v->string,
			    dep != NULL ? dep->valuestring : "package");
		if (cJSON_IsArray(nodes) && cJSON_IsString(nodes->child))
			path = nodes->child->valuestring;
		if (add(c, sev(m, str(v, "severity"), "medium"), title, path, 0,
			rule) == -1)
			return -1;
	}
	return 0;
}

/* trivy fs --format json: Results[] with Target and Vulnerabilities[],
 * Secrets[] (their Match and Code are not read), Misconfigurations[]. */
static int
p_trivy(struct ctx *c, const cJSON *root)
{
	static const struct sevmap m[] = {
		{ "CRITICAL", "critical" },
		{ "HIGH", "high" },
		{ "MEDIUM", "medium" },
		{ "LOW", "low" },
		{ "UNKNOWN", "info" },
		{ NULL, NULL },
	};
	const cJSON *rs = get(root, "Results"), *r, *x;
	char title[TITLE_MAX + 1];

	if (!cJSON_IsObject(root))
		return fail(c, "%s: not trivy output (not an object)", c->name);
	/* Trivy leaves Results out when it found nothing to scan. */
	if (rs != NULL && !cJSON_IsArray(rs))
		return fail(c,
		    "%s: not trivy output (Results is not an "
		    "array)",
		    c->name);
	cJSON_ArrayForEach(r, rs)
	{
		const char *target = str(r, "Target");

		cJSON_ArrayForEach(x, get(r, "Vulnerabilities"))
		{
			const char *t = str(x, "Title");

			snprintf(title, sizeof(title), "%s %s: %s",
			    str(x, "PkgName") != NULL ? str(x, "PkgName") : "?",
			    str(x, "InstalledVersion") != NULL
				? str(x, "InstalledVersion")
				: "",
			    t != NULL ? t
				: str(x, "VulnerabilityID") != NULL
				? str(x, "VulnerabilityID")
				: "a known vulnerability");
			if (add(c, sev(m, str(x, "Severity"), "medium"), title,
				target, 0, str(x, "VulnerabilityID")) == -1)
				return -1;
		}
		cJSON_ArrayForEach(x, get(r, "Secrets"))
		{
			snprintf(title, sizeof(title),
			    "secret in the "
			    "repository: %s",
			    str(x, "Title") != NULL ? str(x, "Title")
						    : "unknown rule");
			if (add(c, sev(m, str(x, "Severity"), "high"), title,
				target, line_of(x, "StartLine"),
				str(x, "RuleID")) == -1)
				return -1;
		}
		cJSON_ArrayForEach(x, get(r, "Misconfigurations"))
		{
			const char *st = str(x, "Status");

			if (st != NULL && strcmp(st, "FAIL") != 0)
				continue;
			if (add(c, sev(m, str(x, "Severity"), "medium"),
				str(x, "Title"), target,
				line_of(get(x, "CauseMetadata"), "StartLine"),
				str(x, "ID")) == -1)
				return -1;
		}
	}
	return 0;
}

/* A SARIF rule's GitHub "security-severity" (a CVSS score as a string),
 * as a severity; NULL when it has none. */
static const char *
sarif_security_severity(const cJSON *rule)
{
	const char *s = str(get(rule, "properties"), "security-severity");
	double v;
	char *end;

	if (s == NULL)
		return NULL;
	v = strtod(s, &end);
	if (end == s || !(v >= 0 && v <= 10))
		return NULL;
	return v >= 9 ? "critical"
	    : v >= 7  ? "high"
	    : v >= 4  ? "medium"
	    : v > 0   ? "low"
		      : "info";
}

/* The rule of a result: rules[ruleIndex], or the first 1000 rules
 * searched by id. */
static const cJSON *
sarif_rule(const cJSON *rules, const cJSON *res, const char *id)
{
	const cJSON *ix = get(res, "ruleIndex"), *r;
	int n = 0;

	if (!cJSON_IsArray(rules))
		return NULL;
	if (cJSON_IsNumber(ix) && ix->valuedouble >= 0 &&
	    ix->valuedouble < 100000)
		return cJSON_GetArrayItem(rules, (int)ix->valuedouble);
	cJSON_ArrayForEach(r, rules)
	{
		const char *rid = str(r, "id");

		if (id != NULL && rid != NULL && strcmp(rid, id) == 0)
			return r;
		if (++n == 1000)
			break;
	}
	return NULL;
}

/* SARIF 2.1: runs[].results[] with ruleId, level, message.text and
 * locations[0].physicalLocation.{artifactLocation.uri,region.startLine}.
 * A rule's security-severity, when it has one, decides instead of the
 * level (as GitHub code scanning does). */
static int
p_sarif(struct ctx *c, const cJSON *root)
{
	static const struct sevmap m[] = {
		{ "error", "high" },
		{ "warning", "medium" },
		{ "note", "low" },
		{ "none", "info" },
		{ NULL, NULL },
	};
	const cJSON *runs = need_array(c, root, "runs", "SARIF"), *run, *res;

	if (runs == NULL)
		return -1;
	cJSON_ArrayForEach(run, runs)
	{
		const cJSON *rules =
		    get(get(get(run, "tool"), "driver"), "rules");

		cJSON_ArrayForEach(res, get(run, "results"))
		{
			const cJSON *loc = cJSON_IsArray(get(res, "locations"))
			    ? get(res, "locations")->child
			    : NULL;
			const cJSON *pl = get(loc, "physicalLocation");
			const char *id = str(res, "ruleId"), *kind, *s, *uri;

			if (id == NULL)
				id = str(get(res, "rule"), "id");
			kind = str(res, "kind");
			/* pass, notApplicable, informational...: not a fault */
			if (kind != NULL && strcmp(kind, "fail") != 0)
				continue;
			s = sarif_security_severity(sarif_rule(rules, res, id));
			if (s == NULL)
				/* SARIF's default level is warning */
				s = sev(m, str(res, "level"), "medium");
			uri = str(get(pl, "artifactLocation"), "uri");
			if (uri != NULL && strncmp(uri, "file://", 7) == 0)
				uri += 7;
			if (add(c, s, str(get(res, "message"), "text"), uri,
				line_of(get(pl, "region"), "startLine"),
				id) == -1)
				return -1;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	int (*parse)(struct ctx *, const cJSON *);
	const char *cmd;
} scanners[] = {
	{ "semgrep", p_semgrep, "semgrep --json --quiet --config auto ." },
	{ "bandit", p_bandit, "bandit -r -f json -q ." },
	{ "gitleaks", p_gitleaks,
	    "gitleaks detect --no-banner --log-level "
	    "error --report-format json --report-path /dev/stdout" },
	{ "npm-audit", p_npm, "npm audit --json" },
	{ "trivy", p_trivy, "trivy fs --quiet --format json ." },
	{ "sarif", p_sarif, NULL },
};

static int
lookup(const char *name)
{
	for (size_t i = 0;
	     name != NULL && i < sizeof(scanners) / sizeof(scanners[0]); i++)
		if (strcmp(scanners[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
wf_scan_known(const char *format)
{
	return lookup(format) != -1;
}

const char *
wf_scan_default_command(const char *name)
{
	int i = lookup(name);

	return i == -1 ? NULL : scanners[i].cmd;
}

int
wf_scan_parse_as(const char *format, const char *name, const char *buf,
    size_t len, cJSON *findings, char *err, size_t errlen)
{
	struct ctx c = { name, NULL, 0, 0, err, errlen };
	const char *end = NULL;
	cJSON *root, *f;
	int i = lookup(format), rc;

	if (i == -1)
		return fail(&c, "%.32s: no parser for '%.32s'", name, format);
	if (!cJSON_IsArray(findings))
		return fail(&c, "%s: findings is not an array", name);
	while (len > 0 &&
	    (*buf == ' ' || *buf == '\t' || *buf == '\n' || *buf == '\r')) {
		buf++;
		len--;
	}
	if (len == 0)
		return fail(&c, "%s: no output", name);
	if (len > WF_SCAN_INPUT_MAX)
		return fail(&c, "%s: output larger than %u MiB", name,
		    WF_SCAN_INPUT_MAX >> 20);
	/* Never quote the output: it may hold what a scanner matched. */
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (root == NULL)
		return fail(&c, "%s: output is not JSON (at byte %zu of %zu)",
		    name, end != NULL && end >= buf ? (size_t)(end - buf) : 0,
		    len);
	c.room = WF_SCAN_FINDINGS_MAX - cJSON_GetArraySize(findings);
	if ((c.out = cJSON_CreateArray()) == NULL) {
		cJSON_Delete(root);
		return fail(&c, "out of memory");
	}
	rc = scanners[i].parse(&c, root);
	cJSON_Delete(root);
	if (rc == -1) {
		cJSON_Delete(c.out);
		return -1;
	}
	while ((f = cJSON_DetachItemFromArray(c.out, 0)) != NULL)
		cJSON_AddItemToArray(findings, f);
	cJSON_Delete(c.out);
	return c.n;
}

int
wf_scan_parse(const char *scanner, const char *buf, size_t len, cJSON *findings,
    char *err, size_t errlen)
{
	return wf_scan_parse_as(
	    scanner, scanner, buf, len, findings, err, errlen);
}
