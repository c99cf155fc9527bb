/*
 * role: parse a role's ini file with inih.  [role] backend, command,
 * prompt, timeout, owns, env (one mapping a line, several allowed),
 * junit, scanners, scanner.NAME, unscanned; anything else is an error
 * with its line.
 */
#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "role.h"
#include "scan.h"

/* NAME:cred:REF[.FIELD]; NAME a variable name that is not wf's own. */
static int
parse_env(const char *value, struct wf_role_env *e, char *err, size_t errlen)
{
	const char *p = strchr(value, ':'), *ref, *dot;
	size_t n;

	if (p == NULL || strncmp(p, ":cred:", 6) != 0) {
		snprintf(err, errlen, "env: '%.80s' is not NAME:cred:REF", value);
		return -1;
	}
	n = (size_t)(p - value);
	if (n == 0 || n >= sizeof(e->var) ||
	    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") != n || (value[0] >= '0' && value[0] <= '9')) {
		snprintf(err, errlen, "env: '%.*s' is not a variable name",
		    (int)(n > 64 ? 64 : n), value);
		return -1;
	}
	if (strncmp(value, "WF_", 3) == 0 || (n == 4 &&
	    strncmp(value, "PATH", 4) == 0) || strncmp(value, "LD_", 3) == 0) {
		snprintf(err, errlen, "env: %.*s is wf's or the loader's, not "
		    "a credential's", (int)n, value);
		return -1;
	}
	memcpy(e->var, value, n);
	e->var[n] = '\0';
	ref = p + 6;
	dot = strchr(ref, '.');
	n = dot != NULL ? (size_t)(dot - ref) : strlen(ref);
	if (n == 0 || n >= sizeof(e->ref) || (dot != NULL && (dot[1] == '\0' ||
	    strlen(dot + 1) >= sizeof(e->field)))) {
		snprintf(err, errlen, "env: '%.80s': REF[.FIELD] is empty or "
		    "too long", value);
		return -1;
	}
	memcpy(e->ref, ref, n);
	e->ref[n] = '\0';
	strlcpy(e->field, dot != NULL ? dot + 1 : "", sizeof(e->field));
	return 0;
}

/* A scanner.NAME = CMD line: kept until the end of the file, as it may
 * come before the scanners line that names NAME. */
struct scmd {
	char name[32];
	char command[512];
};

struct ctx {
	struct wf_role *r;
	char *err;
	size_t errlen;
	int failed;
	char last[32]; /* the key of the line before */
	struct scmd cmd[WF_ROLE_SCANNERS_MAX];
	int ncmd;
};

/*
 * inih reads lines of at most 199 bytes, and hands an indented line on to
 * the key above it: a long command continues that way, joined with a
 * space.
 */
static int
set_long(char *dst, size_t size, const char *value, int more)
{
	if (more && dst[0] != '\0')
		return strlcat(dst, " ", size) < size &&
		    strlcat(dst, value, size) < size ? 0 : -1;
	return strlcpy(dst, value, size) < size ? 0 : -1;
}

static int
scanner_name_ok(const char *s, size_t n)
{
	return n > 0 && n < sizeof(((struct scmd *)0)->name) &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") >= n;
}

/* scanners = NAME[:FORMAT][, ...] */
static int
parse_scanners(const char *value, struct wf_role *r, char *err, size_t errlen)
{
	char buf[1024], *p = buf, *tok, *fmt;

	if (strlcpy(buf, value, sizeof(buf)) >= sizeof(buf)) {
		snprintf(err, errlen, "scanners: too long");
		return -1;
	}
	r->nscanners = 0;
	while ((tok = strsep(&p, ",")) != NULL) {
		struct wf_role_scanner *s;

		tok += strspn(tok, " \t");
		tok[strcspn(tok, " \t")] = '\0';
		if (*tok == '\0')
			continue;
		if ((fmt = strchr(tok, ':')) != NULL)
			*fmt++ = '\0';
		if (!scanner_name_ok(tok, strlen(tok))) {
			snprintf(err, errlen, "scanners: '%.40s' is not a "
			    "name ([a-z0-9_-], at most 31)", tok);
			return -1;
		}
		if (fmt == NULL)
			fmt = tok;
		if (!wf_scan_known(fmt)) {
			snprintf(err, errlen, "scanners: %s: no parser for "
			    "'%.40s' (semgrep, bandit, gitleaks, npm-audit, "
			    "trivy, sarif; or NAME:FORMAT)", tok, fmt);
			return -1;
		}
		for (int i = 0; i < r->nscanners; i++)
			if (strcmp(r->scanners[i].name, tok) == 0) {
				snprintf(err, errlen, "scanners: %s is named "
				    "twice", tok);
				return -1;
			}
		if (r->nscanners == WF_ROLE_SCANNERS_MAX) {
			snprintf(err, errlen, "scanners: more than %d",
			    WF_ROLE_SCANNERS_MAX);
			return -1;
		}
		s = &r->scanners[r->nscanners++];
		strlcpy(s->name, tok, sizeof(s->name));
		strlcpy(s->format, fmt, sizeof(s->format));
		s->command[0] = '\0';
	}
	return 0;
}

/* Give each scanner its command: its scanner.NAME line, else its
 * default; a scanner.NAME for a NAME not in scanners is an error (a
 * typo would otherwise leave the default running unnoticed). */
static int
resolve_scanners(struct ctx *c, const char *path)
{
	struct wf_role *r = c->r;

	for (int k = 0; k < c->ncmd; k++) {
		int found = 0;

		for (int i = 0; i < r->nscanners; i++)
			if (strcmp(r->scanners[i].name, c->cmd[k].name) == 0) {
				strlcpy(r->scanners[i].command,
				    c->cmd[k].command,
				    sizeof(r->scanners[i].command));
				found = 1;
			}
		if (!found) {
			snprintf(c->err, c->errlen, "%s: scanner.%s: %s is not "
			    "in scanners", path, c->cmd[k].name,
			    c->cmd[k].name);
			return -1;
		}
	}
	for (int i = 0; i < r->nscanners; i++) {
		struct wf_role_scanner *s = &r->scanners[i];
		const char *d = wf_scan_default_command(s->name);

		if (s->command[0] != '\0')
			continue;
		if (d == NULL) {
			snprintf(c->err, c->errlen, "%s: scanner %s has no "
			    "default command: give it scanner.%s = CMD", path,
			    s->name, s->name);
			return -1;
		}
		strlcpy(s->command, d, sizeof(s->command));
	}
	if (r->backend == WF_BE_SCAN && r->nscanners == 0) {
		snprintf(c->err, c->errlen, "%s: a scan role needs scanners =",
		    path);
		return -1;
	}
	return 0;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *c = user;
	struct wf_role *r = c->r;
	const char *errstr;

#define ERR(...) do { snprintf(c->err, c->errlen, __VA_ARGS__); \
	c->failed = 1; return 0; } while (0)
	int more;

	if (c->failed)
		return 0;
	if (strcmp(section, "role") != 0)
		ERR("unknown section [%s]", section);
	more = strcmp(c->last, name) == 0;
	strlcpy(c->last, name, sizeof(c->last));
	if (strcmp(name, "backend") == 0) {
		if (strcmp(value, "command") == 0)
			r->backend = WF_BE_COMMAND;
		else if (strcmp(value, "llm") == 0)
			r->backend = WF_BE_LLM;
		else if (strcmp(value, "goose") == 0)
			r->backend = WF_BE_GOOSE;
		else if (strcmp(value, "scan") == 0)
			r->backend = WF_BE_SCAN;
		else
			ERR("backend: '%s' is not command, llm, goose or scan",
			    value);
	} else if (strcmp(name, "command") == 0) {
		if (set_long(r->command, sizeof(r->command), value, more) == -1)
			ERR("command: longer than %zu bytes",
			    sizeof(r->command) - 1);
	} else if (strcmp(name, "prompt") == 0) {
		if (strlcpy(r->prompt, value, sizeof(r->prompt)) >=
		    sizeof(r->prompt))
			ERR("prompt: too long");
	} else if (strcmp(name, "tdd_command") == 0) {
		if (set_long(r->tdd_command, sizeof(r->tdd_command), value,
		    more) == -1)
			ERR("tdd_command: longer than %zu bytes",
			    sizeof(r->tdd_command) - 1);
	} else if (strcmp(name, "tdd_prompt") == 0) {
		if (strlcpy(r->tdd_prompt, value, sizeof(r->tdd_prompt)) >=
		    sizeof(r->tdd_prompt))
			ERR("tdd_prompt: longer than %zu bytes",
			    sizeof(r->tdd_prompt) - 1);
	} else if (strcmp(name, "junit") == 0) {
		/* Read inside the repository only: no way out of it. */
		if (value[0] == '/' || strcmp(value, "..") == 0 ||
		    strncmp(value, "../", 3) == 0 || strstr(value, "/../") ||
		    (strlen(value) >= 3 &&
		    strcmp(value + strlen(value) - 3, "/..") == 0))
			ERR("junit: '%.80s' is not a path inside the "
			    "repository", value);
		if (strlcpy(r->junit, value, sizeof(r->junit)) >=
		    sizeof(r->junit))
			ERR("junit: longer than %zu bytes",
			    sizeof(r->junit) - 1);
	} else if (strcmp(name, "timeout") == 0) {
		r->timeout = (int)strtonum(value, 1, 7 * 86400, &errstr);
		if (errstr != NULL)
			ERR("timeout: '%s' is %s", value, errstr);
	} else if (strcmp(name, "owns") == 0) {
		char buf[4096], *p = buf, *tok;

		strlcpy(buf, value, sizeof(buf));
		r->nowns = 0;
		while ((tok = strsep(&p, ",")) != NULL) {
			while (*tok == ' ')
				tok++;
			if (*tok == '\0')
				continue;
			if (r->nowns == WF_ROLE_OWNS_MAX)
				ERR("owns: more than %d paths", WF_ROLE_OWNS_MAX);
			strlcpy(r->owns[r->nowns++], tok, sizeof(r->owns[0]));
		}
	} else if (strcmp(name, "env") == 0) {
		if (r->nenv == WF_ROLE_ENV_MAX)
			ERR("env: more than %d mappings", WF_ROLE_ENV_MAX);
		if (parse_env(value, &r->env[r->nenv], c->err, c->errlen) == -1) {
			c->failed = 1;
			return 0;
		}
		for (int i = 0; i < r->nenv; i++)
			if (strcmp(r->env[i].var, r->env[r->nenv].var) == 0)
				ERR("env: %s is mapped twice", r->env[i].var);
		r->nenv++;
	} else if (strcmp(name, "scanners") == 0) {
		if (parse_scanners(value, r, c->err, c->errlen) == -1) {
			c->failed = 1;
			return 0;
		}
	} else if (strncmp(name, "scanner.", 8) == 0) {
		struct scmd *sc;

		if (!scanner_name_ok(name + 8, strlen(name + 8)))
			ERR("%s: '%s' is not a scanner's name", name, name + 8);
		for (int i = 0; i < c->ncmd; i++)
			if (strcmp(c->cmd[i].name, name + 8) == 0)
				ERR("%s: given twice", name);
		if (c->ncmd == WF_ROLE_SCANNERS_MAX)
			ERR("%s: more than %d scanner commands", name,
			    WF_ROLE_SCANNERS_MAX);
		if (value[0] == '\0')
			ERR("%s: an empty command", name);
		sc = &c->cmd[c->ncmd++];
		strlcpy(sc->name, name + 8, sizeof(sc->name));
		if (strlcpy(sc->command, value, sizeof(sc->command)) >=
		    sizeof(sc->command))
			ERR("%s: longer than %zu bytes", name,
			    sizeof(sc->command) - 1);
	} else if (strcmp(name, "unscanned") == 0) {
		if (strcmp(value, "fail") == 0)
			r->unscanned_pass = 0;
		else if (strcmp(value, "pass") == 0)
			r->unscanned_pass = 1;
		else
			ERR("unscanned: '%s' is not fail or pass", value);
	} else if (strcmp(name, "network") == 0) {
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			r->network = 1;
		else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0)
			r->network = 0;
		else
			ERR("network: '%s' is not yes or no", value);
	} else
		ERR("[role] has no key '%s'", name);
	return 1;
#undef ERR
}

int
wf_role_load(const char *dir, const char *name, struct wf_role *r,
    char *err, size_t errlen)
{
	struct ctx c;
	char path[1024], tmp[2048];
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.err = err;
	c.errlen = errlen;
	strlcpy(r->name, name, sizeof(r->name));
	r->timeout = 600;
	if (strchr(name, '/') != NULL || name[0] == '.') {
		snprintf(err, errlen, "%s: not a role name", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.ini", dir, name);
	rc = ini_parse(path, handler, &c);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (rc != 0 || c.failed) {
		snprintf(tmp, sizeof(tmp), "%.900s: line %d: %.900s", path, rc,
		    c.failed ? err : "syntax error (a line holds at most 199 "
		    "bytes: continue a long value on indented lines)");
		strlcpy(err, tmp, errlen);
		return -1;
	}
	if (resolve_scanners(&c, path) == -1)
		return -1;
	if (r->backend == WF_BE_COMMAND && r->command[0] == '\0') {
		snprintf(err, errlen, "%s: a command role needs command =", path);
		return -1;
	}
	return 0;
}

int
wf_role_qa_evidence(const struct wf_role *r, const char *test_command,
    char *why, size_t whylen, char *fix, size_t fixlen)
{
	static const char set[] = "give the project its test command "
	    "(wf project update ID --test-command 'python -m unittest', "
	    "'pytest', 'make check', ...)";

	if (test_command != NULL && test_command[0] != '\0')
		return 1;
	if (r->backend == WF_BE_COMMAND &&
	    strstr(r->command, "WF_TEST_COMMAND") != NULL) {
		snprintf(why, whylen, "the project has no test command, and the "
		    "QA role's command runs it ($WF_TEST_COMMAND): QA would "
		    "count no test, and the QA gate refuses a pass without "
		    "evidence");
		snprintf(fix, fixlen, "%s, or give the QA role a command of "
		    "its own (command = in qa.ini)", set);
		return 0;
	}
	if (r->backend == WF_BE_SCAN) {
		snprintf(why, whylen, "the project has no test command, and the "
		    "QA role is a scan role: scanners report findings, not "
		    "tests, and the QA gate refuses a pass without evidence");
		snprintf(fix, fixlen, "%s, or give the QA role a command or an "
		    "agent that runs the tests (backend = in qa.ini)", set);
		return 0;
	}
	return 1;
}

/* Does one owns entry, other than "*", cover path? */
static int
covers(const char *pat, const char *path)
{
	size_t n = strlen(pat);
	const char *base;

	if (n > 0 && pat[n - 1] == '/')
		return strncmp(path, pat, n) == 0;
	if (strchr(pat, '/') != NULL)
		return fnmatch(pat, path, FNM_PATHNAME) == 0;
	base = strrchr(path, '/');
	return fnmatch(pat, base != NULL ? base + 1 : path, 0) == 0;
}

int
wf_role_owns(const struct wf_role *r, const char *path)
{
	for (int i = 0; i < r->nowns; i++)
		if (strcmp(r->owns[i], "*") != 0 && covers(r->owns[i], path))
			return 1;
	return 0;
}

int
wf_role_may_touch(const struct wf_role *all, int n, const struct wf_role *r,
    const char *path, const char **owner)
{
	int rest = 0;

	*owner = NULL;
	if (wf_role_owns(r, path))
		return 1;
	for (int i = 0; i < r->nowns; i++)
		if (strcmp(r->owns[i], "*") == 0)
			rest = 1;
	for (int i = 0; i < n; i++)
		if (strcmp(all[i].name, r->name) != 0 &&
		    wf_role_owns(&all[i], path)) {
			*owner = all[i].name;
			return 0;
		}
	return rest;
}
