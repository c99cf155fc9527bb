/*
 * sandbox: the room an agent's or a project's code runs in.  bubblewrap
 * (bwrap) builds it: the whole file system read-only, the run's worktree
 * the one place written, $WF_HOME, the config, the user's home and the
 * other runs' worktrees shown as empty directories, a private /tmp and
 * /run, its own PID namespace (whatever it forks dies with it, setsid or
 * not), and no network unless the role allows it.  A program that must
 * reach its model keeps the host's network, narrowed by Landlock to TCP
 * connections to the model's one port.
 *
 * The trusted side (wf-agent committing, the gate diffing) stays outside
 * and reads what was left in the worktree; the worktree's .git file is
 * bound read-only inside, so that the code in the room cannot point git
 * at a config of its own for the trusted side to run.
 */
#ifndef WF_SANDBOX_H
#define WF_SANDBOX_H

#include <limits.h>
#include <stddef.h>

struct wf_sandbox_conf {
	int on;               /* [sandbox] sandbox = on (the default) | off */
	char bwrap[PATH_MAX]; /* the bwrap program: a path, or a name in PATH */
	int prestart;         /* prestart = on (the default): wf-dispatch makes
	                       * a command job's room ahead (lib/room.h) */
};

enum wf_sandbox_net {
	WF_NET_NONE, /* an empty network namespace: loopback only */
	WF_NET_PORT, /* the host's network, TCP connect to one port only */
	WF_NET_ALL,  /* the role says network = yes */
};

#define WF_SANDBOX_HIDE_MAX 8
#define WF_SANDBOX_RO_MAX 4

struct wf_sandbox {
	const char *rw;  /* the worktree: written, and the working directory */
	const char *hide[WF_SANDBOX_HIDE_MAX]; /* shown empty; NULL ends */
	/* shown read-only at the same path, though under a hidden one (the
	 * repository's git directory); NULL ends */
	const char *ro[WF_SANDBOX_RO_MAX];
	/* one file shown read-only at file_dst (a goose prompt), or NULL */
	const char *file_src, *file_dst;
	enum wf_sandbox_net net;
	int port;        /* WF_NET_PORT: the model's */
	/* bwrap's --json-status-fd: the child's fd that hears
	 * {"child-pid": N} once the room is made ("" none) */
	char status_fd[12];
};

void wf_sandbox_defaults(struct wf_sandbox_conf *c);

/* Where is bwrap (conf->bwrap looked up in PATH)?  0 and its path, or -1
 * and the one line that names the fix. */
int wf_sandbox_find(const struct wf_sandbox_conf *c, char *path,
    size_t pathlen, char *err, size_t errlen);

/* The argv that runs argv inside the sandbox: bwrap (its path as found)
 * and its options, then argv.  A malloc'd NULL-terminated vector of
 * pointers into bwrap, sb and argv, and static strings: free() it alone.
 * NULL with errno when it cannot be made. */
char **wf_sandbox_argv(const char *bwrap, const struct wf_sandbox *sb,
    const char *const *argv);

/* In a child about to exec the sandbox: narrow its network to TCP
 * connections to port (Landlock, and no_new_privs).  Async-signal-safe.
 * -1 with errno when the kernel has no Landlock network rules (ABI 4,
 * Linux 6.7): then the child must not go on. */
int wf_sandbox_restrict_net(int port);

/* The port of a model's base URL (http://host:port/..., its scheme's
 * default else); -1 when the URL is not http or https. */
int wf_sandbox_url_port(const char *url);

/* The hidden directories every sandbox has: $WF_HOME, the baked-in
 * default home, the config's directory, the run work directory and
 * $HOME, into hide (at most WF_SANDBOX_HIDE_MAX; duplicates and "/" left
 * out).  The strings live in store (n bytes).  Returns their number. */
int wf_sandbox_hidden(const char *workdir, const char **hide, char *store,
    size_t n);

/* Which Landlock ABI the kernel has (0: none). */
int wf_sandbox_landlock_abi(void);

/*
 * A command job that asks for the sandbox (request_data.sandbox:
 * {"rw": DIR, "ro": [DIR...], "network": false}, which wf-gate gives its
 * test runs) has its argv wrapped: 1 and *out (free() it alone; it points
 * into bwrap, rd and argv), 0 when the job asks for none or the
 * administrator turned the sandbox off (*off then says which), -1 and the
 * one line that names the fix.
 */
struct cJSON;
int wf_sandbox_job_argv(const struct wf_sandbox_conf *c, const char *workdir,
    const struct cJSON *rd, const char *const *argv, char *bwrap,
    size_t bwraplen, char *hidestore, size_t storelen, char ***out, int *off,
    char *err, size_t errlen);
/* Say whether agents run in the sandbox, never silently not: "sandbox"
 * (on, off, broken: on but bwrap is not there) and "sandbox_note", a
 * line that says why, added to out. */
void wf_sandbox_status(const struct wf_sandbox_conf *c, struct cJSON *out);
/* Is request_data.sandbox of that shape?  -1 and why if not. */
int wf_sandbox_job_check(const struct cJSON *sb, char *err, size_t errlen);

#endif
