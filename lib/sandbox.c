/*
 * sandbox: bubblewrap's command line for the room an agent's code runs
 * in, and Landlock's network rule for a program that must reach its
 * model.  Nothing here runs bwrap: the caller execs the argv made here
 * (after wf_sandbox_restrict_net in the child, when the net is one port).
 *
 * The order of bwrap's options is the order of its mounts: first every
 * hidden directory becomes an empty tmpfs, then what must show through
 * (the wf programs, when they sit under a hidden home) is bound
 * read-only, then the hidden places inside those are hidden again, then
 * the worktree is bound read-write with its .git file read-only on top,
 * so that no hiding covers it, and last the read-only places (the
 * repository's git directory), so that one inside the worktree stays
 * read-only.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "home.h"
#include "sandbox.h"

#ifndef WF_DEFAULT_HOME
#define WF_DEFAULT_HOME "/var/spool/wf"
#endif
#ifndef WF_DEFAULT_CONFIG
#define WF_DEFAULT_CONFIG "/etc/wf/wf.ini"
#endif

/*
 * Landlock's ABI as of Linux 6.7 (network rules) and 6.12 (scopes),
 * spelled out here: Debian 12's kernel headers predate both.
 */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LL_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define LL_RULE_NET_PORT 2
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

void
wf_sandbox_defaults(struct wf_sandbox_conf *c)
{
	c->on = 1;
	c->prestart = 1;
	strlcpy(c->bwrap, "bwrap", sizeof(c->bwrap));
}

int
wf_sandbox_find(const struct wf_sandbox_conf *c, char *path, size_t pathlen,
    char *err, size_t errlen)
{
	const char *p, *end, *dirs = getenv("PATH");

	if (strchr(c->bwrap, '/') != NULL) {
		if (access(c->bwrap, X_OK) == 0 &&
		    strlcpy(path, c->bwrap, pathlen) < pathlen)
			return 0;
		goto none;
	}
	if (dirs == NULL || dirs[0] == '\0')
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (p = dirs;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if (end > p && snprintf(path, pathlen, "%.*s/%s", (int)(end - p),
		    p, c->bwrap) < (int)pathlen && access(path, X_OK) == 0)
			return 0;
		if (*end == '\0')
			break;
	}
none:
	snprintf(err, errlen, "sandbox: %s not found: install bubblewrap "
	    "(apt install bubblewrap, or make deps), or set [sandbox] "
	    "sandbox = off in wf.ini to run agents with wf's own rights",
	    c->bwrap);
	return -1;
}

/* Is p the directory d or under it? */
static int
under(const char *p, const char *d)
{
	size_t n = strlen(d);

	while (n > 1 && d[n - 1] == '/')
		n--;
	return strncmp(p, d, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

char **
wf_sandbox_argv(const char *bwrap, const struct wf_sandbox *sb,
    const char *const *argv)
{
	static const char *const tmpfs[] = { "/tmp", "/var/tmp", "/run", NULL };
	const char *show = NULL;
	const char *bindir = wf_home_bindir();
	char **v;
	size_t n = 0, max, na = 0;
	struct stat st;

	while (argv[na] != NULL)
		na++;
	/* 34 fixed words, 4 a hidden path, 3 a shown one, and the rest. */
	max = 48 + 4 * 2 * WF_SANDBOX_HIDE_MAX + 3 * WF_SANDBOX_RO_MAX + na;
	if ((v = calloc(max, sizeof(*v))) == NULL)
		return NULL;
#define A(s) (v[n++] = (char *)(s))
	A(bwrap);
	if (sb->status_fd[0] != '\0') {
		A("--json-status-fd");
		A(sb->status_fd);
	}
	A("--die-with-parent");
	A("--new-session");
	/* No UTS or cgroup namespace: in a user namespace of its own the
	 * room cannot change the host's name anyway, and each namespace is
	 * one more thing for wf-dispatch's unit to allow. */
	A("--unshare-pid");
	A("--unshare-ipc");
	if (sb->net != WF_NET_ALL && sb->net != WF_NET_PORT)
		A("--unshare-net");
	A("--ro-bind");
	A("/");
	A("/");
	A("--dev");
	A("/dev");
	A("--proc");
	A("/proc");
	for (int i = 0; tmpfs[i] != NULL; i++) {
		A("--tmpfs");
		A(tmpfs[i]);
	}
	for (int i = 0; i < WF_SANDBOX_HIDE_MAX && sb->hide[i] != NULL; i++) {
		if (stat(sb->hide[i], &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			A("--tmpfs");
			A(sb->hide[i]);
		} else {
			A("--ro-bind");
			A("/dev/null");
			A(sb->hide[i]);
		}
		/* wf's own programs (an uninstalled build under a hidden
		 * home) stay in sight: a role may run a script beside them. */
		if (bindir != NULL && under(bindir, sb->hide[i]) &&
		    bindir[strlen(sb->hide[i])] != '\0')
			show = bindir;
	}
	/* So does a build under a directory the room makes private. */
	for (int i = 0; bindir != NULL && tmpfs[i] != NULL; i++)
		if (under(bindir, tmpfs[i]))
			show = bindir;
	if (show != NULL) {
		static char top[4096];
		char *slash;

		/* The checkout: the directory holding bin/. */
		strlcpy(top, show, sizeof(top));
		if ((slash = strrchr(top, '/')) != NULL && slash != top)
			*slash = '\0';
		A("--ro-bind");
		A(top);
		A(top);
		for (int i = 0; i < WF_SANDBOX_HIDE_MAX && sb->hide[i] != NULL;
		    i++) {
			if (!under(sb->hide[i], top) ||
			    stat(sb->hide[i], &st) == -1)
				continue;
			A(S_ISDIR(st.st_mode) ? "--tmpfs" : "--ro-bind");
			if (!S_ISDIR(st.st_mode))
				A("/dev/null");
			A(sb->hide[i]);
		}
	}
	if (sb->rw != NULL) {
		static char dotgit[4096];

		A("--bind");
		A(sb->rw);
		A(sb->rw);
		if (snprintf(dotgit, sizeof(dotgit), "%s/.git", sb->rw) <
		    (int)sizeof(dotgit) && lstat(dotgit, &st) == 0) {
			A("--ro-bind");
			A(dotgit);
			A(dotgit);
		}
		A("--chdir");
		A(sb->rw);
	}
	/* After the worktree: a git directory inside it stays read-only. */
	for (int i = 0; i < WF_SANDBOX_RO_MAX && sb->ro[i] != NULL; i++) {
		A("--ro-bind");
		A(sb->ro[i]);
		A(sb->ro[i]);
	}
	if (sb->file_src != NULL && sb->file_dst != NULL) {
		A("--ro-bind");
		A(sb->file_src);
		A(sb->file_dst);
	}
	A("--");
	for (size_t i = 0; i < na; i++)
		A(argv[i]);
	v[n] = NULL;
#undef A
	return v;
}

int
wf_sandbox_restrict_net(int port)
{
	struct ll_ruleset_attr ra;
	struct ll_net_port_attr pa;
	long abi;
	int fd, e;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	if (abi < 4) {
		errno = ENOSYS;
		return -1;
	}
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_net = LL_ACCESS_NET_BIND_TCP |
	    LL_ACCESS_NET_CONNECT_TCP;
	/* From ABI 6 on, abstract unix sockets and signals outside the
	 * room are out of reach too. */
	if (abi >= 6)
		ra.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
	fd = (int)syscall(SYS_landlock_create_ruleset, &ra,
	    abi >= 6 ? sizeof(ra) : offsetof(struct ll_ruleset_attr, scoped), 0);
	if (fd == -1)
		return -1;
	memset(&pa, 0, sizeof(pa));
	pa.allowed_access = LL_ACCESS_NET_CONNECT_TCP;
	pa.port = (uint64_t)port;
	if (syscall(SYS_landlock_add_rule, fd, LL_RULE_NET_PORT, &pa, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

int
wf_sandbox_url_port(const char *url)
{
	const char *h, *end, *colon;
	long p = -1;
	int https;

	if (url == NULL)
		return -1;
	if (strncmp(url, "http://", 7) == 0) {
		https = 0;
		h = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		https = 1;
		h = url + 8;
	} else
		return -1;
	end = h + strcspn(h, "/?#");
	if (*h == '[') { /* [v6]:port */
		const char *rb = memchr(h, ']', (size_t)(end - h));

		colon = rb != NULL && rb + 1 < end && rb[1] == ':' ? rb + 1 :
		    NULL;
	} else
		colon = memchr(h, ':', (size_t)(end - h));
	if (colon == NULL)
		return https ? 443 : 80;
	p = 0;
	for (const char *c = colon + 1; c < end; c++) {
		if (*c < '0' || *c > '9' || (p = p * 10 + (*c - '0')) > 65535)
			return -1;
	}
	return colon + 1 < end && p > 0 ? (int)p : -1;
}

/* Add s (a copy, in store) to hide unless it is there, "/" or empty. */
static int
hide_add(const char **hide, int n, const char *s, char **store, size_t *left)
{
	size_t l;

	if (s == NULL || s[0] != '/' || s[1] == '\0' ||
	    n >= WF_SANDBOX_HIDE_MAX)
		return n;
	for (int i = 0; i < n; i++)
		if (strcmp(hide[i], s) == 0)
			return n;
	if ((l = strlen(s) + 1) > *left)
		return n;
	memcpy(*store, s, l);
	hide[n] = *store;
	*store += l;
	*left -= l;
	return n + 1;
}

int
wf_sandbox_hidden(const char *workdir, const char **hide, char *store,
    size_t left)
{
	int n = 0;

	n = hide_add(hide, n, wf_home_dir(), &store, &left);
	n = hide_add(hide, n, WF_DEFAULT_HOME, &store, &left);
	n = hide_add(hide, n, workdir, &store, &left);
	/* The config file, not its directory (which may be /etc). */
	n = hide_add(hide, n, wf_home_config(NULL), &store, &left);
	n = hide_add(hide, n, WF_DEFAULT_CONFIG, &store, &left);
	n = hide_add(hide, n, getenv("HOME"), &store, &left);
	if (n < WF_SANDBOX_HIDE_MAX)
		hide[n] = NULL;
	return n;
}

int
wf_sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

int
wf_sandbox_job_check(const cJSON *sb, char *err, size_t errlen)
{
	const cJSON *it, *e;
	int n = 0;

	if (!cJSON_IsObject(sb)) {
		snprintf(err, errlen, "request_data.sandbox: not an object");
		return -1;
	}
	cJSON_ArrayForEach(it, sb) {
		if (strcmp(it->string, "rw") == 0) {
			if (!cJSON_IsString(it) || it->valuestring[0] != '/')
				goto bad;
		} else if (strcmp(it->string, "ro") == 0) {
			if (!cJSON_IsArray(it))
				goto bad;
			cJSON_ArrayForEach(e, it)
				if (!cJSON_IsString(e) || e->valuestring[0] != '/' ||
				    ++n > WF_SANDBOX_RO_MAX)
					goto bad;
		} else if (strcmp(it->string, "network") == 0) {
			if (!cJSON_IsBool(it))
				goto bad;
		} else {
			snprintf(err, errlen, "request_data.sandbox.%.64s: "
			    "unknown field", it->string);
			return -1;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "request_data.sandbox.%.64s: rw is an absolute "
	    "path, ro at most %d of them, network true or false", it->string,
	    WF_SANDBOX_RO_MAX);
	return -1;
}

int
wf_sandbox_job_argv(const struct wf_sandbox_conf *c, const char *workdir,
    const cJSON *rd, const char *const *argv, char *bwrap, size_t bwraplen,
    char *hidestore, size_t storelen, char ***out, int *off, char *err,
    size_t errlen)
{
	const cJSON *sbj = cJSON_GetObjectItemCaseSensitive(rd, "sandbox");
	const cJSON *rw, *ro, *e;
	struct wf_sandbox sb;
	int n = 0;

	*out = NULL;
	*off = 0;
	if (sbj == NULL || cJSON_IsNull(sbj))
		return 0;
	if (!c->on) {
		*off = 1;
		return 0;
	}
	if (wf_sandbox_job_check(sbj, err, errlen) == -1 ||
	    wf_sandbox_find(c, bwrap, bwraplen, err, errlen) == -1)
		return -1;
	memset(&sb, 0, sizeof(sb));
	rw = cJSON_GetObjectItemCaseSensitive(sbj, "rw");
	sb.rw = cJSON_IsString(rw) ? rw->valuestring : NULL;
	ro = cJSON_GetObjectItemCaseSensitive(sbj, "ro");
	cJSON_ArrayForEach(e, ro)
		if (n < WF_SANDBOX_RO_MAX)
			sb.ro[n++] = e->valuestring;
	sb.net = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sbj,
	    "network")) ? WF_NET_ALL : WF_NET_NONE;
	wf_sandbox_hidden(workdir, sb.hide, hidestore, storelen);
	if ((*out = wf_sandbox_argv(bwrap, &sb, argv)) == NULL) {
		snprintf(err, errlen, "sandbox: out of memory");
		return -1;
	}
	return 1;
}

void
wf_sandbox_status(const struct wf_sandbox_conf *c, cJSON *out)
{
	char err[512], path[PATH_MAX], note[700];
	const char *st = "on";

	if (!c->on) {
		st = "off";
		snprintf(note, sizeof(note), "OFF: agents and tests run with "
		    "wf's own rights ([sandbox] sandbox = off)");
	} else if (wf_sandbox_find(c, path, sizeof(path), err,
	    sizeof(err)) == -1) {
		st = "broken";
		snprintf(note, sizeof(note), "on, but jobs that need it fail: "
		    "%s", err);
	} else
		snprintf(note, sizeof(note), "on (%.600s)", path);
	cJSON_DeleteItemFromObjectCaseSensitive(out, "sandbox");
	cJSON_DeleteItemFromObjectCaseSensitive(out, "sandbox_note");
	cJSON_AddStringToObject(out, "sandbox", st);
	cJSON_AddStringToObject(out, "sandbox_note", note);
}
