/*
 * role: parse a role's ini file with inih.  [role] backend, command,
 * prompt, timeout, owns; anything else is an error with its line.
 */
#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "role.h"

struct ctx {
	struct wf_role *r;
	char *err;
	size_t errlen;
	int failed;
};

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *c = user;
	struct wf_role *r = c->r;
	const char *errstr;

#define ERR(...) do { snprintf(c->err, c->errlen, __VA_ARGS__); \
	c->failed = 1; return 0; } while (0)
	if (c->failed)
		return 0;
	if (strcmp(section, "role") != 0)
		ERR("unknown section [%s]", section);
	if (strcmp(name, "backend") == 0) {
		if (strcmp(value, "command") == 0)
			r->backend = WF_BE_COMMAND;
		else if (strcmp(value, "llm") == 0)
			r->backend = WF_BE_LLM;
		else if (strcmp(value, "goose") == 0)
			r->backend = WF_BE_GOOSE;
		else
			ERR("backend: '%s' is not command, llm or goose", value);
	} else if (strcmp(name, "command") == 0) {
		if (strlcpy(r->command, value, sizeof(r->command)) >=
		    sizeof(r->command))
			ERR("command: longer than %zu bytes", sizeof(r->command));
	} else if (strcmp(name, "prompt") == 0) {
		if (strlcpy(r->prompt, value, sizeof(r->prompt)) >=
		    sizeof(r->prompt))
			ERR("prompt: too long");
	} else if (strcmp(name, "tdd_command") == 0) {
		if (strlcpy(r->tdd_command, value, sizeof(r->tdd_command)) >=
		    sizeof(r->tdd_command))
			ERR("tdd_command: longer than %zu bytes",
			    sizeof(r->tdd_command) - 1);
	} else if (strcmp(name, "tdd_prompt") == 0) {
		if (strlcpy(r->tdd_prompt, value, sizeof(r->tdd_prompt)) >=
		    sizeof(r->tdd_prompt))
			ERR("tdd_prompt: longer than %zu bytes",
			    sizeof(r->tdd_prompt) - 1);
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
	} else
		ERR("[role] has no key '%s'", name);
	return 1;
#undef ERR
}

int
wf_role_load(const char *dir, const char *name, struct wf_role *r,
    char *err, size_t errlen)
{
	struct ctx c = { r, err, errlen, 0 };
	char path[1024], tmp[2048];
	int rc;

	memset(r, 0, sizeof(*r));
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
		    c.failed ? err : "syntax error");
		strlcpy(err, tmp, errlen);
		return -1;
	}
	if (r->backend == WF_BE_COMMAND && r->command[0] == '\0') {
		snprintf(err, errlen, "%s: a command role needs command =", path);
		return -1;
	}
	return 0;
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
