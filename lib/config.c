/*
 * config: wf.ini through inih.  Known sections are [queue], [up],
 * [llm], [pipeline], [notify], [httpd] and [lane.NAME]; any other
 * section or key is an error with its line number, so that a typo in a
 * config never silently does nothing.  Every value is checked here, as
 * wf.ini(5) says, and so are the pairs that must agree (a back-off's base
 * and its cap): a program refuses the file at start, and a daemon keeps
 * its old config on SIGHUP, rather than fail later in a job that cannot
 * say where the value came from.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "llm.h"
#include "spool.h"

/* The text inih reads, a line at a time, and the line being read: the
 * handler names it in the errors found after the parse (a pair of keys). */
struct reader {
	const char *p;
	int line, next;
};

/* Lines of the keys checked together after the parse; 0 not in the text. */
enum { L_QBASE, L_QMAX, L_NBASE, L_NMAX, L_N };

struct parse_ctx {
	struct wf_config *c;
	char *err;
	size_t errlen;
	int failed;
	struct reader *rd;
	int line[L_N];
};

static struct wf_lane_conf *
lane_get(struct wf_config *c, const char *name)
{
	struct wf_lane_conf *l;

	for (int i = 0; i < c->nlanes; i++)
		if (strcmp(c->lanes[i].name, name) == 0)
			return &c->lanes[i];
	if (c->nlanes == WF_LANES_MAX)
		return NULL;
	l = &c->lanes[c->nlanes++];
	memset(l, 0, sizeof(*l));
	strlcpy(l->name, name, sizeof(l->name));
	l->concurrency = 1;
	l->runner = WF_RUN_DIRECT;
	return l;
}

void
wf_config_defaults(struct wf_config *c)
{
	memset(c, 0, sizeof(*c));
	wf_director_defaults(&c->director);
	c->aging = 300;
	c->backoff_base = 2;
	c->backoff_max = 300;
	c->kill_grace = 5;
	c->max_attempts = 3;
	c->output_max = 1L << 20;
	c->restart_max = 30;
	wf_pipeline_defaults(&c->pipeline);
	wf_sandbox_defaults(&c->sandbox);
	c->notify.timeout = 10;
	c->notify.max_attempts = 5;
	c->notify.backoff_base_ms = 5000;
	c->notify.backoff_max_ms = 3600 * 1000;
	c->notify.hook_timeout = 30;
	c->notify.parallel = 8;
	c->notify.log_max = 16L << 20;
	strlcpy(c->httpd.listen, "127.0.0.1:8000", sizeof(c->httpd.listen));
	c->httpd.conn_limit = 1024;
	c->httpd.per_ip_limit = 512;
	c->httpd.head_ms = 10000;
	c->httpd.body_ms = 60000;
	c->httpd.idle_ms = 15000;
	lane_get(c, "llm")->prestart = 1;
	lane_get(c, "agent")->prestart = 1;
	lane_get(c, "vision")->prestart = 1;
	lane_get(c, "llm")->chain = 1;
	lane_get(c, "vision")->chain = 1;
	lane_get(c, "command")->concurrency = 4;
}

/* [llm] keys and the variables they stand for. */
static const char *const llm_keys[8][2] = {
	{ "provider", "WF_LLM_PROVIDER" },
	{ "base_url", "WF_LLM_BASE_URL" },
	{ "model", "WF_LLM_MODEL" },
	{ "vision_model", "VISION_MODEL" },
	{ "timeout", "WF_LLM_TIMEOUT" },
	{ "num_ctx", "WF_LLM_NUM_CTX" },
	{ "max_tokens", "WF_LLM_MAX_TOKENS" },
	{ "api_key_env", NULL }, /* reserved: the key comes from the vault */
};

void
wf_config_llm_env(const struct wf_config *c)
{
	for (int i = 0; i < 8; i++)
		if (llm_keys[i][1] != NULL && c->llm[i][0] != '\0')
			setenv(llm_keys[i][1], c->llm[i], 0);
}

static int
num(const char *v, long long lo, long long hi, long long *out)
{
	const char *errstr;

	*out = strtonum(v, lo, hi, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* A yes or no: true, yes, false, no. */
static int
boolean(const char *v, int *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* "250ms", "2s", "2" (seconds), "5m", "1h" into milliseconds. */
static int
duration_ms(const char *v, long long lo, long long hi, long long *out)
{
	char digits[32];
	size_t n = strspn(v, "0123456789");
	long long mul;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	if (v[n] == '\0' || strcmp(v + n, "s") == 0)
		mul = 1000;
	else if (strcmp(v + n, "ms") == 0)
		mul = 1;
	else if (strcmp(v + n, "m") == 0)
		mul = 60000;
	else if (strcmp(v + n, "h") == 0)
		mul = 3600000;
	else
		return -1;
	memcpy(digits, v, n);
	digits[n] = '\0';
	if (num(digits, 0, hi / mul + 1, out) == -1)
		return -1;
	*out *= mul;
	return *out < lo || *out > hi ? -1 : 0;
}

/* [notify]: wf-notify's delivery and hooks. */
static int
notify_key(struct parse_ctx *p, const char *name, const char *value)
{
	struct wf_notify_conf *n = &p->c->notify;
	long long v;

#define ERR(...) do { snprintf(p->err, p->errlen, __VA_ARGS__); \
	p->failed = 1; return 0; } while (0)
	if (strcmp(name, "timeout") == 0 || strcmp(name, "hook_timeout") == 0) {
		if (num(value, 1, 3600, &v) == -1)
			ERR("%s: '%s' is not in 1-3600", name, value);
		*(name[0] == 't' ? &n->timeout : &n->hook_timeout) = (int)v;
	} else if (strcmp(name, "max_attempts") == 0) {
		if (num(value, 1, 100, &v) == -1)
			ERR("max_attempts: '%s' is not in 1-100", value);
		n->max_attempts = (int)v;
	} else if (strcmp(name, "parallel") == 0) {
		if (num(value, 1, 64, &v) == -1)
			ERR("parallel: '%s' is not in 1-64", value);
		n->parallel = (int)v;
	} else if (strcmp(name, "log_max") == 0) {
		if (num(value, 1024, 1LL << 34, &v) == -1)
			ERR("log_max: '%s' is not a byte count (1024 or more)",
			    value);
		n->log_max = (long)v;
	} else if (strcmp(name, "backoff_base") == 0 ||
	    strcmp(name, "backoff_max") == 0) {
		if (duration_ms(value, 1, 7LL * 86400 * 1000, &v) == -1)
			ERR("%s: '%s' is not a duration (250ms, 5s, 1h) of "
			    "at most 7 days", name, value);
		*(name[8] == 'b' ? &n->backoff_base_ms : &n->backoff_max_ms) =
		    (long)v;
		p->line[name[8] == 'b' ? L_NBASE : L_NMAX] = p->rd->line;
	} else if (strcmp(name, "hooks_dir") == 0) {
		if (value[0] != '/')
			ERR("hooks_dir: '%s' is not an absolute path", value);
		strlcpy(n->hooks_dir, value, sizeof(n->hooks_dir));
	} else
		ERR("[notify] has no key '%s'", name);
	return 1;
#undef ERR
}

/* An http or https URL with a host, an optional port and path: what the
 * model calls can be sent to.  A value of the environment may be a bare
 * host:port (OLLAMA_HOST); the file says what it means. */
static int
url_ok(const char *v)
{
	static const char re[] =
	    "^https?://([A-Za-z0-9._~-]+|\\[[0-9A-Fa-f:.]+\\])"
	    "(:([0-9]{1,5}))?(/[^[:space:][:cntrl:]]*)?$";
	regex_t rx;
	regmatch_t m[4];
	const char *errstr;
	char port[8];
	int ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_ICASE) != 0)
		return 0;
	ok = regexec(&rx, v, 4, m, 0) == 0;
	regfree(&rx);
	if (ok && m[3].rm_so != -1) {
		size_t n = (size_t)(m[3].rm_eo - m[3].rm_so);

		memcpy(port, v + m[3].rm_so, n);
		port[n] = '\0';
		strtonum(port, 1, 65535, &errstr);
		ok = errstr == NULL;
	}
	return ok;
}

/* A name as a model server takes it: printable, no space. */
static int
model_ok(const char *v)
{
	for (const unsigned char *s = (const unsigned char *)v; *s; s++)
		if (!isgraph(*s))
			return 0;
	return 1;
}

/* [llm]: the defaults of the model calls' variables, each checked as the
 * call would check its variable (lib/llm), so that a value of the file
 * is refused here, with its line, and never in a job. */
static int
llm_key(struct parse_ctx *p, const char *name, const char *value)
{
	struct wf_config *c = p->c;
	const char *errstr;
	int i;

#define ERR(...) do { snprintf(p->err, p->errlen, __VA_ARGS__); \
	p->failed = 1; return 0; } while (0)
	for (i = 0; i < 7; i++)
		if (strcmp(name, llm_keys[i][0]) == 0)
			break;
	if (i == 7)
		ERR("[llm] has no key '%s'", name);
	if (strlcpy(c->llm[i], value, sizeof(c->llm[i])) >= sizeof(c->llm[i]))
		ERR("%s: longer than 255 bytes", name);
	/* Empty: the key is not set, its default holds. */
	if (value[0] == '\0')
		return 1;
	if (strcmp(name, "provider") == 0) {
		static const char *const names[] = WF_LLM_PROVIDER_NAMES;
		size_t k;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcasecmp(value, names[k]) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			ERR("provider: '%s' is not ollama, openai or dmr", value);
	} else if (strcmp(name, "base_url") == 0) {
		if (!url_ok(value))
			ERR("base_url: '%s' is not an http:// or https:// URL "
			    "(http://localhost:11434)", value);
	} else if (strcmp(name, "model") == 0 ||
	    strcmp(name, "vision_model") == 0) {
		if (!model_ok(value))
			ERR("%s: '%s' is not a model name (no space or "
			    "control character)", name, value);
	} else if (strcmp(name, "timeout") == 0) {
		strtonum(value, 1, WF_LLM_TIMEOUT_MAX, &errstr);
		if (errstr != NULL)
			ERR("timeout: '%s' is not in 1-%d", value,
			    WF_LLM_TIMEOUT_MAX);
	} else {
		strtonum(value, 0, 1 << 24, &errstr);
		if (errstr != NULL)
			ERR("%s: '%s' is not in 0-%d", name, value, 1 << 24);
	}
	return 1;
#undef ERR
}

int
wf_config_listen(const char *s, struct sockaddr_storage *ss, int *v6,
    char *err, size_t errlen)
{
	struct sockaddr_storage tmp;
	char host[64];
	const char *colon = strrchr(s, ':'), *errstr;
	size_t hl;
	long long port;

	if (ss == NULL)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	if (colon == NULL)
		goto bad;
	port = strtonum(colon + 1, 0, 65535, &errstr);
	if (errstr != NULL)
		goto bad;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) ==
	    1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		if (v6 != NULL)
			*v6 = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		if (v6 != NULL)
			*v6 = 1;
		return 0;
	}
bad:
	snprintf(err, errlen, "listen: '%.80s' is not ADDR:PORT "
	    "(127.0.0.1:8000, [::1]:8000)", s);
	return -1;
}

/* [httpd]: wf-httpd's socket and page. */
static int
httpd_key(struct parse_ctx *p, const char *name, const char *value)
{
	struct wf_httpd_conf *h = &p->c->httpd;
	long long v;

#define ERR(...) do { snprintf(p->err, p->errlen, __VA_ARGS__); \
	p->failed = 1; return 0; } while (0)
	if (strcmp(name, "listen") == 0) {
		if (wf_config_listen(value, NULL, NULL, p->err, p->errlen) ==
		    -1) {
			p->failed = 1;
			return 0;
		}
		if (strlcpy(h->listen, value, sizeof(h->listen)) >=
		    sizeof(h->listen))
			ERR("listen: '%s' is not ADDR:PORT", value);
	} else if (strcmp(name, "web_dir") == 0) {
		if (value[0] != '/')
			ERR("web_dir: '%s' is not an absolute path", value);
		strlcpy(h->web_dir, value, sizeof(h->web_dir));
	} else if (strcmp(name, "allow_remote") == 0) {
		if (boolean(value, &h->allow_remote) == -1)
			ERR("allow_remote: '%s' is not yes or no", value);
	} else if (strcmp(name, "connection_limit") == 0) {
		if (num(value, 1, 16384, &v) == -1)
			ERR("connection_limit: '%s' is not 1-16384", value);
		h->conn_limit = (int)v;
	} else if (strcmp(name, "per_ip_limit") == 0) {
		if (num(value, 1, 16384, &v) == -1)
			ERR("per_ip_limit: '%s' is not 1-16384", value);
		h->per_ip_limit = (int)v;
	} else if (strcmp(name, "head_timeout") == 0 ||
	    strcmp(name, "body_timeout") == 0 ||
	    strcmp(name, "idle_timeout") == 0) {
		if (duration_ms(value, 100, 3600 * 1000, &v) == -1)
			ERR("%s: '%s' is not a duration of 100ms to 1h",
			    name, value);
		*(name[0] == 'h' ? &h->head_ms : name[0] == 'b' ? &h->body_ms
		    : &h->idle_ms) = (long)v;
	} else
		ERR("[httpd] has no key '%s'", name);
	return 1;
#undef ERR
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	struct wf_config *c = p->c;
	long long v;

#define ERR(...) do { snprintf(p->err, p->errlen, __VA_ARGS__); \
	p->failed = 1; return 0; } while (0)
	if (p->failed)
		return 0;
	if (name == NULL)
		return 1; /* a section header alone */
	if (strcmp(section, "queue") == 0) {
		struct { const char *k; int *dst; long long lo, hi; } ints[] = {
			{ "aging", &c->aging, 0, 86400 * 30 },
			{ "backoff_base", &c->backoff_base, 1, 86400 },
			{ "backoff_max", &c->backoff_max, 1, 86400 * 7 },
			{ "kill_grace", &c->kill_grace, 0, 3600 },
			{ "max_attempts", &c->max_attempts, 1, 100 },
		};
		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			if (strcmp(name, ints[i].k) != 0)
				continue;
			if (num(value, ints[i].lo, ints[i].hi, &v) == -1)
				ERR("%s: '%s' is not in %lld-%lld",
				    name, value, ints[i].lo, ints[i].hi);
			*ints[i].dst = (int)v;
			if (strncmp(name, "backoff_", 8) == 0)
				p->line[name[8] == 'b' ? L_QBASE : L_QMAX] =
				    p->rd->line;
			return 1;
		}
		if (strcmp(name, "output_max") == 0) {
			if (num(value, 1024, 1LL << 34, &v) == -1)
				ERR("output_max: '%s' is not a byte "
				    "count (1024 or more)", value);
			c->output_max = (long)v;
			return 1;
		}
		ERR("[queue] has no key '%s'", name);
	}
	if (strcmp(section, "up") == 0) {
		if (strcmp(name, "restart_max") == 0) {
			if (num(value, 1, 3600, &v) == -1)
				ERR("restart_max: '%s' is not in 1-3600",
				    value);
			c->restart_max = (int)v;
			return 1;
		}
		ERR("[up] has no key '%s'", name);
	}
	if (strcmp(section, "llm") == 0)
		return llm_key(p, name, value);
	if (strcmp(section, "pipeline") == 0) {
		struct wf_pipeline_conf *pc = &c->pipeline;

		if (strcmp(name, "max_iter") == 0) {
			if (num(value, 1, 100, &v) == -1)
				ERR("max_iter: '%s' is not in 1-100", value);
			pc->max_iter = (int)v;
		} else if (strcmp(name, "auto_retry") == 0 ||
		    strcmp(name, "tdd") == 0) {
			int b;

			if (boolean(value, &b) == -1)
				ERR("%s: '%s' is not true or false", name, value);
			if (name[0] == 'a')
				pc->auto_retry = b;
			else
				pc->tdd = b;
		} else if (strcmp(name, "sec_block") == 0) {
			if ((pc->sec_block = wf_pipeline_severity(value)) < 1)
				ERR("sec_block: '%s' is not critical, high, "
				    "medium or low", value);
		} else if (strcmp(name, "agent_priority") == 0) {
			if (num(value, 1, 4, &v) == -1)
				ERR("agent_priority: '%s' is not in 1-4", value);
			pc->agent_priority = (int)v;
		} else if (strcmp(name, "roles_dir") == 0) {
			if (value[0] != '/')
				ERR("roles_dir: '%s' is not an absolute path",
				    value);
			strlcpy(c->roles_dir, value, sizeof(c->roles_dir));
		} else if (strcmp(name, "workdir") == 0) {
			if (value[0] != '/' || strlcpy(pc->workdir, value,
			    sizeof(pc->workdir)) >= sizeof(pc->workdir))
				ERR("workdir: '%s' is not an absolute path",
				    value);
		} else
			ERR("[pipeline] has no key '%s'", name);
		return 1;
	}
	if (strcmp(section, "sandbox") == 0) {
		if (strcmp(name, "sandbox") == 0) {
			if (strcmp(value, "on") == 0)
				c->sandbox.on = 1;
			else if (strcmp(value, "off") == 0)
				c->sandbox.on = 0;
			else
				ERR("sandbox: '%s' is not on or off", value);
		} else if (strcmp(name, "bwrap") == 0) {
			if (value[0] == '\0' || strlcpy(c->sandbox.bwrap, value,
			    sizeof(c->sandbox.bwrap)) >= sizeof(c->sandbox.bwrap))
				ERR("bwrap: '%s' is not a program", value);
		} else if (strcmp(name, "prestart") == 0) {
			if (strcmp(value, "on") == 0)
				c->sandbox.prestart = 1;
			else if (strcmp(value, "off") == 0)
				c->sandbox.prestart = 0;
			else
				ERR("prestart: '%s' is not on or off", value);
		} else
			ERR("[sandbox] has no key '%s'", name);
		return 1;
	}
	if (strcmp(section, "director") == 0) {
		struct { const char *k; int *dst; long long lo, hi; } ints[] = {
			{ "interval", &c->director.interval, 1, 86400 },
			{ "max_active", &c->director.max_active, 1, 64 },
			{ "stuck_after", &c->director.stuck_after, 1, 86400 * 7 },
			{ "retries", &c->director.retries, 0, 100 },
		};
		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			if (strcmp(name, ints[i].k) != 0)
				continue;
			if (num(value, ints[i].lo, ints[i].hi, &v) == -1)
				ERR("%s: '%s' is not in %lld-%lld",
				    name, value, ints[i].lo, ints[i].hi);
			*ints[i].dst = (int)v;
			return 1;
		}
		if (strcmp(name, "criteria") == 0) {
			if (value[0] != '/' || strlcpy(c->director.criteria,
			    value, sizeof(c->director.criteria)) >=
			    sizeof(c->director.criteria))
				ERR("criteria: '%s' is not an absolute path",
				    value);
			return 1;
		}
		ERR("[director] has no key '%s'", name);
	}
	if (strcmp(section, "notify") == 0)
		return notify_key(p, name, value);
	if (strcmp(section, "httpd") == 0)
		return httpd_key(p, name, value);
	if (strncmp(section, "lane.", 5) == 0) {
		const char *ln = section + 5;
		struct wf_lane_conf *l;
		size_t n = strlen(ln);

		if (n == 0 || n >= sizeof(l->name) ||
		    strspn(ln, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
			ERR("[%s]: bad lane name", section);
		if ((l = lane_get(c, ln)) == NULL)
			ERR("more than %d lanes", WF_LANES_MAX);
		if (strcmp(name, "concurrency") == 0) {
			if (num(value, 1, 1024, &v) == -1)
				ERR("concurrency: '%s' is not in 1-1024",
				    value);
			l->concurrency = (int)v;
			return 1;
		}
		if (strcmp(name, "prestart") == 0 || strcmp(name, "chain") == 0) {
			if (boolean(value, name[0] == 'p' ? &l->prestart :
			    &l->chain) == -1)
				ERR("%s: '%s' is not true or false", name, value);
			return 1;
		}
		if (strcmp(name, "runner") == 0) {
			if (strcmp(value, "direct") == 0)
				l->runner = WF_RUN_DIRECT;
			else if (strcmp(value, "agent") == 0)
				l->runner = WF_RUN_AGENT;
			else
				ERR("runner: '%s' is not direct or "
				    "agent", value);
			return 1;
		}
		ERR("[%s] has no key '%s'", section, name);
	}
	ERR("unknown section [%s]", section);
#undef ERR
}

static int
accept_all(void *user, const char *section, const char *name,
    const char *value)
{
	(void)user;
	(void)section;
	(void)name;
	(void)value;
	return 1;
}

/* inih's reader over a string (ini_parse_string's own), counting lines:
 * a chunk of a line longer than inih's buffer keeps the line's number. */
static char *
read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	int n = 0;

	if (*r->p == '\0' || num < 2)
		return NULL;
	r->line = r->next;
	while (n < num - 1 && *r->p != '\0') {
		char ch = *r->p++;

		str[n++] = ch;
		if (ch == '\n') {
			r->next++;
			break;
		}
	}
	str[n] = '\0';
	return str;
}

/*
 * A back-off's base above its cap: the error names the line of the later
 * of the two keys (the one that made them disagree), or of the only one
 * the text sets, the other being its default.
 */
static int
pair(struct parse_ctx *p, const char *what, long long base, long long max,
    int lbase, int lmax, const char *unit)
{
	if (base <= max || (lbase == 0 && lmax == 0))
		return 0;
	if (lbase > lmax)
		snprintf(p->err, p->errlen, "line %d: %sbackoff_base: %lld%s is "
		    "above backoff_max (%lld%s%s)", lbase, what, base, unit,
		    max, unit, lmax == 0 ? ", its default" : "");
	else
		snprintf(p->err, p->errlen, "line %d: %sbackoff_max: %lld%s is "
		    "below backoff_base (%lld%s%s)", lmax, what, max, unit,
		    base, unit, lbase == 0 ? ", its default" : "");
	return -1;
}

int
wf_config_parse(struct wf_config *c, const char *text, char *err,
    size_t errlen)
{
	struct reader rd = { text, 0, 1 };
	struct parse_ctx p = { c, err, errlen, 0, &rd, { 0 } };
	int rc;

	/* inih reads on past an error and returns the first bad line, which
	 * may be a syntax error before the key the handler refused.  So the
	 * syntax is checked alone first; then the only errors are the
	 * handler's, and the line inih returns is the one it refused. */
	rc = ini_parse_string(text, accept_all, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "line %d: syntax error", rc);
		return -1;
	}
	rc = ini_parse_stream(read_line, &rd, handler, &p);
	if (p.failed) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "line %d: %s", rc, err);
		strlcpy(err, tmp, errlen);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "line %d: syntax error", rc);
		return -1;
	}
	if (pair(&p, "", c->backoff_base, c->backoff_max, p.line[L_QBASE],
	    p.line[L_QMAX], "") == -1 ||
	    pair(&p, "[notify] ", c->notify.backoff_base_ms,
	    c->notify.backoff_max_ms, p.line[L_NBASE], p.line[L_NMAX],
	    "ms") == -1)
		return -1;
	return 0;
}

int
wf_config_load(struct wf_config *c, const char *path, int required,
    char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (c->roles_dir[0] == '\0') {
		const char *slash = strrchr(path, '/');

		if (slash != NULL)
			snprintf(c->roles_dir, sizeof(c->roles_dir), "%.*s/roles",
			    (int)(slash - path), path);
	}
	strlcpy(c->pipeline.roles_dir, c->roles_dir,
	    sizeof(c->pipeline.roles_dir));
	if (c->director.criteria[0] == '\0') {
		const char *slash = strrchr(path, '/');

		if (slash != NULL)
			snprintf(c->director.criteria,
			    sizeof(c->director.criteria),
			    "%.*s/director/criteria.txt", (int)(slash - path),
			    path);
	}
	if (c->notify.hooks_dir[0] == '\0') {
		const char *slash = strrchr(path, '/');

		if (slash != NULL)
			snprintf(c->notify.hooks_dir,
			    sizeof(c->notify.hooks_dir), "%.*s/hooks.d",
			    (int)(slash - path), path);
	}
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !required)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(65537)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	len = fread(buf, 1, 65537, f);
	if (ferror(f) || len > 65536) {
		snprintf(err, errlen, "%s: %s", path,
		    ferror(f) ? "read error" : "larger than 64 KiB");
		goto fail;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		goto fail;
	}
	if (wf_config_parse(c, buf, err, errlen) == -1) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		strlcpy(err, tmp, errlen);
		goto fail;
	}
	strlcpy(c->pipeline.roles_dir, c->roles_dir,
	    sizeof(c->pipeline.roles_dir));
	rc = 0;
fail:
	free(buf);
	fclose(f);
	return rc;
}

int
wf_config_read(struct wf_config *c, const char *path, char *err,
    size_t errlen)
{
	struct wf_config n;

	wf_config_defaults(&n);
	if (wf_config_load(&n, path, 0, err, errlen) == -1)
		return -1;
	*c = n;
	return 0;
}

const struct wf_lane_conf *
wf_config_lane(const struct wf_config *c, const char *name)
{
	for (int i = 0; i < c->nlanes; i++)
		if (strcmp(c->lanes[i].name, name) == 0)
			return &c->lanes[i];
	return NULL;
}
