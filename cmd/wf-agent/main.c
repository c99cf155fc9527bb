/*
 * wf-agent: run ONE job and exit.  wf-dispatch starts it with the job's id
 * once the job sits in active/; wf-agent reads it there, does the work, and
 * writes its outcome whole beside it as active/<id>.result (tmp/ then
 * rename) before it exits.  It never moves the job file: that is
 * wf-dispatch's job, which finalises from the result even after a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "agentsmd.h"
#include "audit.h"
#include "clock.h"
#include "config.h"
#include "deploy.h"
#include "cred.h"
#include "exec.h"
#include "handoff.h"
#include "home.h"
#include "job.h"
#include "json.h"
#include "llm.h"
#include "log.h"
#include "pipeline.h"
#include "repo.h"
#include "role.h"
#include "room.h"
#include "sandbox.h"
#include "scan.h"
#include "spool.h"
#include "store.h"
#include "testcount.h"
#include "worktree.h"

#define CAPTURE_MAX (1 << 20)

static struct wf_config cfg;

/*
 * The room a role's programs run in (lib/sandbox): made once per job by
 * room_open, used by every program the role runs.  failed says that
 * bubblewrap could not make it (no child ever started).
 */
static struct {
	int on;
	struct wf_sandbox sb;
	char bwrap[PATH_MAX];
	char gitdir[PATH_MAX];
	char hide[4 * PATH_MAX];
	int failed;
} room;
#define STATUS_FD 9 /* bwrap's --json-status-fd in the child */

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-agent [-c config] ID\n"
	    "       wf-agent [-c config] --stdin\n"
	    "       wf-agent --room\n"
	    "Run the job ID, which must sit in $WF_HOME/active/, and write its\n"
	    "outcome to active/ID.result.  wf-dispatch runs it; by hand it is\n"
	    "a way to re-run a claimed job in the foreground.  With --stdin it\n"
	    "starts, loads what it needs, and then waits for the id on its\n"
	    "standard input: wf-dispatch keeps one such worker ready on a\n"
	    "model lane, so that the model never waits for a process start.\n"
	    "With --room it is the stub of a sandbox made ahead of its job:\n"
	    "it reads the job's argv and environment from its standard input\n"
	    "(written by wf-dispatch) and execs it in place.\n"
	    "Job types: command; llm_complete, llm_chat, llm_query and\n"
	    "vision_analyze (one call to the configured provider: [llm] in\n"
	    "wf.ini, or OLLAMA_HOST, GOOSE_MODEL, VISION_MODEL, WF_LLM_*);\n"
	    "agent_run, one role of a run (etc/roles/ROLE.ini) through its\n"
	    "backend: command (the role's program, in the project's\n"
	    "repository), llm (the rendered prompt to the provider; PM's\n"
	    "tasks and DEV's files are taken from the reply), goose (goose\n"
	    "run --no-session -i PROMPTFILE with GOOSE_MODE=auto) or scan\n"
	    "(the role's scanners, their findings read from their JSON); the\n"
	    "report goes to reports/new for wf-gate.\n"
	    "Exit status: 0 the job completed, 1 it failed, 65 the job file is\n"
	    "bad, 73 its start could not be recorded (nothing was done), 75\n"
	    "the result could not be written.\n");
	exit(code);
}

static pid_t child;
static int relfd = -1;
static int gofd = -1;
static volatile sig_atomic_t waiting; /* for its turn, on gofd */
static int go_root = -1;               /* the spool, and the job that */
static char go_id[WF_NAME_MAX + 1];    /* waits: its start is ours to say */
#define RELEASED_NICE 10 /* after the lane is released */

/*
 * Tell wf-dispatch that the model is free (a byte on the release pipe it
 * gave us as fd 3): the lane's next job may start while this one still
 * writes its result.  Once only.  What is left of this job is
 * bookkeeping, so it steps back (a higher nice value, which needs no
 * privilege): on a busy machine the CPU goes first to the dispatcher and
 * the worker that hand the model its next request.
 */
static void
release_lane(void)
{
	if (relfd == -1)
		return;
	/* First step back, then wake the dispatcher: it and the next
	 * worker must not find this process still ahead of them. */
	(void)setpriority(PRIO_PROCESS, 0, RELEASED_NICE);
	(void)!write(relfd, "r", 1);
	close(relfd);
	relfd = -1;
}

/*
 * A worker handed its job ahead of time (wf-dispatch's chain) got, as
 * fd 4, the read end of the release pipe of the job before it: it has
 * read its job and built its request meanwhile, and starts once that
 * pipe has its byte or its end (the job before released the model, or
 * died).  The byte is the dispatcher's to read: only poll.  Once only.
 */
static void
await_go(void)
{
	struct pollfd p;

	if (gofd == -1)
		return;
	p.fd = gofd;
	p.events = POLLIN;
	waiting = 1;
	while (poll(&p, 1, -1) == -1 && errno == EINTR)
		;
	waiting = 0;
	close(gofd);
	gofd = -1;
	/* Its attempt is spent from here on: active/ID.pid says so before
	 * anything leaves (after a crash, wf-dispatch counts it).  Unsaid,
	 * nothing is done, and wf-dispatch puts the job back (73). */
	if (go_root != -1) {
		char name[WF_NAME_MAX + 8], line[64], iso[WF_ISO_LEN];
		int n;

		snprintf(name, sizeof(name), "%s.pid", go_id);
		n = snprintf(line, sizeof(line), "%d %s\n", (int)getpid(),
		    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
		if (n < 0 || (size_t)n >= sizeof(line) ||
		    wf_spool_write(go_root, "tmp", "active", name, line,
		    (size_t)n, 0) == -1) {
			wf_log_warn("%s: cannot record its start: %s; nothing "
			    "was done", go_id, strerror(errno));
			exit(EX_CANTCREAT);
		}
	}
}

static void
forward(int sig)
{
	/* Nothing has started yet: nothing to finish. */
	if (waiting)
		_exit(128 + sig);
	if (child > 0)
		kill(child, sig);
}

/* Run a command job's argv with its cwd and env; output is ours (the
 * dispatcher's pipe, or the terminal by hand). */
static int
run_command(struct wf_job *j, cJSON *res)
{
	const char **argv = wf_job_argv(j);
	const cJSON *cwd, *env;
	char **envp = NULL, *msg = NULL, **sbargv = NULL, sberr[512];
	pid_t pid;
	int ws, rc = -1, sboff = 0;

	cwd = cJSON_GetObjectItemCaseSensitive(j->request_data, "cwd");
	env = cJSON_GetObjectItemCaseSensitive(j->request_data, "env");
	if (argv == NULL || (envp = wf_exec_env(env, j->id)) == NULL) {
		cJSON_AddStringToObject(res, "error_message", "out of memory");
		goto out;
	}
	/* A test run of a run's code (wf-gate's): in the sandbox. */
	switch (wf_sandbox_job_argv(&cfg.sandbox, cfg.pipeline.workdir,
	    j->request_data, argv, room.bwrap, sizeof(room.bwrap), room.hide,
	    sizeof(room.hide), &sbargv, &sboff, sberr, sizeof(sberr))) {
	case -1:
		cJSON_AddStringToObject(res, "error_message", sberr);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	case 1:
		free(argv);
		argv = (const char **)sbargv;
		sbargv = NULL;
		break;
	}
	if (sboff)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(res,
		    "result_data"), "sandbox", "off");
	/* In our own group already (the dispatcher made it): the child
	 * stays in it, so that a kill of the group reaches both. */
	if ((pid = fork()) == -1) {
		cJSON_AddStringToObject(res, "error_message", "fork failed");
		goto out;
	}
	if (pid == 0) {
		extern char **environ;

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (cJSON_IsString(cwd) && chdir(cwd->valuestring) == -1) {
			fprintf(stderr, "wf-agent: chdir %s: %s\n",
			    cwd->valuestring, strerror(errno));
			_exit(126);
		}
		environ = envp;
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "wf-agent: cannot execute '%s': %s\n", argv[0],
		    strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	child = pid;
	while (waitpid(pid, &ws, 0) == -1)
		if (errno != EINTR)
			goto out;
	child = 0;
	if (WIFEXITED(ws)) {
		cJSON_AddNumberToObject(res, "exit_code", WEXITSTATUS(ws));
		if (WEXITSTATUS(ws) == 0)
			rc = 0;
		else if (asprintf(&msg, "exit status %d", WEXITSTATUS(ws)) > 0)
			cJSON_AddStringToObject(res, "error_message", msg);
		if (WEXITSTATUS(ws) == 127 || WEXITSTATUS(ws) == 126)
			cJSON_AddTrueToObject(res, "permanent");
	} else if (WIFSIGNALED(ws) &&
	    asprintf(&msg, "killed by signal %d", WTERMSIG(ws)) > 0)
		cJSON_AddStringToObject(res, "error_message", msg);
out:
	free(msg);
	free(argv);
	wf_exec_env_free(envp);
	return rc;
}

/* The last line of out that is a JSON object with a "status": the
 * report a role's program prints. */
static cJSON *
find_report(char *out, size_t len)
{
	char *end = out + len;

	while (end > out) {
		char *start = end;
		cJSON *o;

		while (start > out && start[-1] != '\n')
			start--;
		if (*start == '{') {
			o = cJSON_ParseWithLength(start, (size_t)(end - start));
			if (cJSON_IsObject(o) &&
			    cJSON_IsString(cJSON_GetObjectItem(o, "status")))
				return o;
			cJSON_Delete(o);
		}
		end = start > out ? start - 1 : out;
	}
	return NULL;
}

/*
 * A role's credentials (env = NAME:cred:REF[.FIELD]), opened for one run
 * into "NAME=secret" strings of guarded memory.  They go into the agent's
 * environment and nowhere else: not the job, its result, its log, an
 * event or the audit line of the read.
 */
struct secrets {
	char *kv[WF_ROLE_ENV_MAX];
	int n;
};

static void
secrets_free(struct secrets *s)
{
	for (int i = 0; i < s->n; i++)
		sodium_free(s->kv[i]);
	s->n = 0;
}

static int
secrets_open(int root, const struct wf_role *role, const cJSON *run,
    const struct wf_job *j, struct secrets *s, char *err, size_t errlen)
{
	const cJSON *pid = cJSON_GetObjectItem(run, "project_id");
	const cJSON *rid = cJSON_GetObjectItem(run, "id");
	char e2[768], *sec;
	size_t len, vl;
	int64_t id;
	cJSON *d;
	int rc;

	s->n = 0;
	if (role->nenv > 0 && sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return -1;
	}
	for (int i = 0; i < role->nenv; i++) {
		const struct wf_role_env *e = &role->env[i];

		if (wf_cred_find(root, e->ref, cJSON_IsNumber(pid) ?
		    (int64_t)pid->valuedouble : 0, &id, e2, sizeof e2) == -1)
			goto fail;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "role", role->name);
		cJSON_AddNumberToObject(d, "run_id", cJSON_IsNumber(rid) ?
		    rid->valuedouble : 0);
		cJSON_AddNumberToObject(d, "project_id", cJSON_IsNumber(pid) ?
		    pid->valuedouble : 0);
		cJSON_AddStringToObject(d, "job_id", j->id);
		cJSON_AddStringToObject(d, "env", e->var);
		/* The role reads it: the role is the actor. */
		wf_audit_set_actor(role->name);
		rc = wf_cred_read(root, id, e->field, d, &sec, &len, e2,
		    sizeof e2);
		wf_audit_set_actor("wf-agent");
		cJSON_Delete(d);
		if (rc == -1)
			goto fail;
		if (memchr(sec, '\0', len) != NULL) {
			wf_vault_free(sec);
			snprintf(e2, sizeof e2, "credential %lld holds a NUL "
			    "byte: it cannot be an environment variable",
			    (long long)id);
			goto fail;
		}
		vl = strlen(e->var);
		if ((s->kv[s->n] = sodium_malloc(vl + len + 2)) == NULL) {
			wf_vault_free(sec);
			snprintf(e2, sizeof e2, "out of memory");
			goto fail;
		}
		memcpy(s->kv[s->n], e->var, vl);
		s->kv[s->n][vl] = '=';
		memcpy(s->kv[s->n] + vl + 1, sec, len + 1);
		s->n++;
		wf_vault_free(sec);
		continue;
fail:
		snprintf(err, errlen, "role %s: env %s: %s", role->name,
		    e->var, e2);
		secrets_free(s);
		return -1;
	}
	return 0;
}

/* envp with the secrets added (a secret's name replaces the same name);
 * the array is the caller's to free, its strings are not. */
static char **
secrets_env(char **envp, const struct secrets *s)
{
	size_t n = 0, k = 0;
	char **all;

	while (envp[n] != NULL)
		n++;
	if ((all = calloc(n + (size_t)s->n + 1, sizeof(*all))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int shadowed = 0;

		for (int m = 0; m < s->n && !shadowed; m++) {
			size_t vl = strcspn(s->kv[m], "=");

			shadowed = strncmp(envp[i], s->kv[m], vl + 1) == 0;
		}
		if (!shadowed)
			all[k++] = envp[i];
	}
	for (int m = 0; m < s->n; m++)
		all[k++] = s->kv[m];
	return all;
}

/* Off while a scanner runs: its stdout may hold what it matched (a
 * secret), and the job's log is no place for that. */
static int tee_role_stdout = 1;

/*
 * Run a role's program in the project's repository, tee its stdout into
 * our own (the job's log) while keeping up to CAPTURE_MAX of it, and
 * return its wait status.  A QA command's stderr goes with its stdout.
 */
static int
run_role_command(const struct wf_role *role, const char *cmdline,
    const cJSON *extra, const cJSON *run, const cJSON *project,
    const struct secrets *sec, char **outp,
    size_t *lenp, int *ws)
{
	const char *repo = wf_json_str(project, "repo_path");
	const char *tc = wf_json_str(project, "test_command");
	char runid[32], pid[32], iter[32], **envp, **all = NULL;
	char **sbargv = NULL;
	cJSON *env = cJSON_CreateObject();
	char *buf = malloc(CAPTURE_MAX + 1);
	size_t len = 0;
	int p[2], sp[2] = { -1, -1 };
	pid_t c;

	snprintf(runid, sizeof(runid), "%d",
	    (int)cJSON_GetObjectItem(run, "id")->valuedouble);
	snprintf(pid, sizeof(pid), "%d",
	    (int)cJSON_GetObjectItem(run, "project_id")->valuedouble);
	snprintf(iter, sizeof(iter), "%d", cJSON_IsNumber(cJSON_GetObjectItem(
	    run, "iteration")) ? (int)cJSON_GetObjectItem(run,
	    "iteration")->valuedouble : 1);
	cJSON_AddStringToObject(env, "WF_RUN_ID", runid);
	cJSON_AddStringToObject(env, "WF_PROJECT_ID", pid);
	cJSON_AddStringToObject(env, "WF_ROLE", role->name);
	cJSON_AddStringToObject(env, "WF_ITERATION", iter);
	cJSON_AddStringToObject(env, "WF_REPO_PATH", repo ? repo : "");
	cJSON_AddStringToObject(env, "WF_TEST_COMMAND", tc ? tc : "");
	cJSON_AddStringToObject(env, "WF_REQUEST",
	    wf_json_str(run, "request") ? wf_json_str(run, "request") : "");
	for (const cJSON *e = extra != NULL ? extra->child : NULL; e != NULL;
	    e = e->next)
		cJSON_AddStringToObject(env, e->string, e->valuestring);
	envp = wf_exec_env(env, NULL);
	cJSON_Delete(env);
	if (envp != NULL)
		all = secrets_env(envp, sec);
	if (room.on) {
		const char *sh[] = { "/bin/sh", "-c", cmdline, NULL };

		snprintf(room.sb.status_fd, sizeof(room.sb.status_fd), "%d",
		    STATUS_FD);
		sbargv = wf_sandbox_argv(room.bwrap, &room.sb, sh);
	}
	if (buf == NULL || all == NULL || (room.on && sbargv == NULL) ||
	    pipe2(p, O_CLOEXEC) == -1 ||
	    (room.on && pipe2(sp, O_CLOEXEC) == -1)) {
		free(buf);
		free(all);
		free(sbargv);
		wf_exec_env_free(envp);
		return -1;
	}
	if ((c = fork()) == 0) {
		extern char **environ;

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		dup2(p[1], 1);
		/* QA's counts are read from both: python -m unittest
		 * prints its summary on stderr. */
		if (role->backend == WF_BE_COMMAND &&
		    strcmp(role->name, "qa") == 0)
			dup2(p[1], 2);
		if (repo != NULL && chdir(repo) == -1) {
			fprintf(stderr, "wf-agent: chdir %s: %s\n", repo,
			    strerror(errno));
			_exit(126);
		}
		environ = all;
		if (room.on) {
			/* The room says through this fd that it is made. */
			if (sp[1] == STATUS_FD ? fcntl(STATUS_FD, F_SETFD, 0) ==
			    -1 : dup2(sp[1], STATUS_FD) == -1)
				_exit(126);
			if (room.sb.net == WF_NET_PORT &&
			    wf_sandbox_restrict_net(room.sb.port) == -1) {
				fprintf(stderr, "wf-agent: sandbox: Landlock: "
				    "%s\n", strerror(errno));
				_exit(126);
			}
			execv(sbargv[0], sbargv);
			fprintf(stderr, "wf-agent: %s: %s\n", sbargv[0],
			    strerror(errno));
			_exit(126);
		}
		execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (sp[1] != -1)
		close(sp[1]);
	free(sbargv);
	child = c;
	for (;;) {
		char chunk[8192];
		ssize_t r = read(p[0], chunk, sizeof(chunk));

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (tee_role_stdout)
			(void)!write(STDOUT_FILENO, chunk, (size_t)r);
		if (len + (size_t)r <= CAPTURE_MAX) {
			memcpy(buf + len, chunk, (size_t)r);
			len += (size_t)r;
		}
	}
	close(p[0]);
	while (c > 0 && waitpid(c, ws, 0) == -1 && errno == EINTR)
		;
	child = 0;
	if (sp[0] != -1) {
		char st[256];
		ssize_t r;

		/* No {"child-pid": N} from bwrap: the room was never made,
		 * and nothing the role asked for ran. */
		fcntl(sp[0], F_SETFL, O_NONBLOCK);
		r = read(sp[0], st, sizeof(st) - 1);
		st[r > 0 ? r : 0] = '\0';
		if (strstr(st, "child-pid") == NULL)
			room.failed = 1;
		close(sp[0]);
	}
	free(all);
	wf_exec_env_free(envp);
	buf[len] = '\0';
	*outp = buf;
	*lenp = len;
	return c > 0 ? 0 : -1;
}

/*
 * Make ready the room for the programs of a role that runs any (command,
 * goose, scan): the worktree (or, for a project with no git repository,
 * the project's own directory) written, the repository's git directory
 * shown read-only, the rest as lib/sandbox hides it.  Unless the
 * administrator turned it off, a room that cannot be had fails the job
 * with the fix.
 */
static int
room_open(const struct wf_role *role, const char *repo, cJSON *res)
{
	char err[512];

	memset(&room.sb, 0, sizeof(room.sb));
	room.on = room.failed = 0;
	if (!cfg.sandbox.on)
		return 0;
	if (wf_sandbox_find(&cfg.sandbox, room.bwrap, sizeof(room.bwrap), err,
	    sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		return -1;
	}
	room.sb.rw = repo;
	if (wf_repo_is_git(repo) && wf_worktree_gitdir(repo, room.gitdir,
	    sizeof(room.gitdir), err, sizeof(err)) == 0)
		room.sb.ro[0] = room.gitdir;
	wf_sandbox_hidden(cfg.pipeline.workdir, room.sb.hide, room.hide,
	    sizeof(room.hide));
	room.sb.net = role->network ? WF_NET_ALL : WF_NET_NONE;
	room.on = 1;
	return 0;
}

/*
 * llm_complete, llm_chat, llm_query, vision_analyze: one call to the
 * configured provider.  The result records the model, the token counts
 * the server reported and the latency; a run's tokens add up on the run.
 */
static int
run_llm(int root, struct wf_job *j, cJSON *res)
{
	struct wf_llm_conf conf;
	struct wf_llm_opts opts;
	struct wf_llm_result r;
	cJSON *msgs = NULL;
	char err[1024];
	int rc = -1;

	wf_llm_result_init(&r);
	wf_config_llm_env(&cfg);
	if (wf_llm_conf_from_env(&conf, err, sizeof(err)) == -1 ||
	    wf_llm_request_from_job(wf_job_type_name(j->type), j->request_data,
	    &msgs, &opts, err, sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	/* The provider's own deadline falls inside the job's. */
	if (conf.timeout >= j->timeout)
		conf.timeout = j->timeout > 2 ? j->timeout - 1 : 1;
	err[0] = '\0';
	opts.done = release_lane;
	opts.go = await_go;
	rc = wf_llm_call(&conf, msgs, &opts, &r, err, sizeof(err));
	release_lane();
	wf_llm_outcome(&r, conf.provider, err, res);
	if (j->run_id > 0 && (r.prompt_tokens > 0 || r.completion_tokens > 0))
		wf_pipeline_add_tokens(root, j->run_id,
		    r.prompt_tokens > 0 ? r.prompt_tokens : 0,
		    r.completion_tokens > 0 ? r.completion_tokens : 0);
out:
	wf_llm_result_free(&r);
	cJSON_Delete(msgs);
	return rc;
}

/* Append text to a growing buffer, bounded. */
struct sbuf {
	char *p;
	size_t n, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->n + n + 1)
			cap *= 2;
		if (cap > (8u << 20) || (np = realloc(b->p, cap)) == NULL)
			return; /* a prompt past 8 MiB is cut */
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_json(struct sbuf *b, const cJSON *o)
{
	char *s = o != NULL ? cJSON_Print(o) : NULL;

	if (s != NULL) {
		sb_add(b, s, strlen(s));
		free(s);
	}
}

/* What agentsmd reads of the worktree, as a prompt's part. */
static void
sb_agentsmd(struct sbuf *b, const char *repo, int what, size_t max)
{
	char *t = wf_agentsmd_text(repo, what, max);

	if (t != NULL)
		sb_add(b, t, strlen(t));
	free(t);
}

/*
 * Fill a role's prompt template: {{role}}, {{project}}, {{task}},
 * {{request}} (the run's free-text request; empty when none), {{spec}}
 * (_spec/'s .md files, 64 KiB), {{agents}} (AGENTS.md and those, 16 KiB),
 * {{reports}}, {{findings}}, {{iteration}}, {{test_command}},
 * {{handoffs}} (the stages' handoffs so far, the newest that fit in
 * WF_HANDOFF_PROMPT_MAX).
 */
static char *
render(const char *tpl, const char *role, const cJSON *run,
    const cJSON *project, const cJSON *task)
{
	const char *repo = wf_json_str(project, "repo_path"), *p = tpl;
	const cJSON *results = cJSON_GetObjectItem(run, "results");
	struct sbuf b = { NULL, 0, 0 };

	sb_add(&b, "", 0);
	while (*p != '\0') {
		const char *open = strstr(p, "{{"), *close;
		char key[32];

		if (open == NULL || (close = strstr(open, "}}")) == NULL ||
		    close - open - 2 >= (ptrdiff_t)sizeof(key)) {
			sb_add(&b, p, strlen(p));
			break;
		}
		sb_add(&b, p, (size_t)(open - p));
		snprintf(key, sizeof(key), "%.*s", (int)(close - open - 2),
		    open + 2);
		p = close + 2;
		if (strcmp(key, "role") == 0)
			sb_add(&b, role, strlen(role));
		else if (strcmp(key, "project") == 0)
			sb_json(&b, project);
		else if (strcmp(key, "task") == 0)
			sb_json(&b, task);
		else if (strcmp(key, "spec") == 0)
			sb_agentsmd(&b, repo, WF_AGENTSMD_SPEC,
			    WF_AGENTSMD_SPEC_MAX);
		else if (strcmp(key, "agents") == 0)
			sb_agentsmd(&b, repo, WF_AGENTSMD_AGENTS |
			    WF_AGENTSMD_SPEC, WF_AGENTSMD_MAX);
		else if (strcmp(key, "reports") == 0)
			sb_json(&b, results);
		else if (strcmp(key, "findings") == 0) {
			const cJSON *f;

			f = cJSON_GetObjectItem(cJSON_GetObjectItem(
			    cJSON_GetObjectItem(results, "security"), "details"),
			    "findings");
			sb_json(&b, f);
			f = cJSON_GetObjectItem(cJSON_GetObjectItem(
			    cJSON_GetObjectItem(results, "qa"), "details"),
			    "failures");
			sb_json(&b, f);
		} else if (strcmp(key, "iteration") == 0) {
			char it[24];

			snprintf(it, sizeof(it), "%d", cJSON_IsNumber(
			    cJSON_GetObjectItem(run, "iteration")) ?
			    (int)cJSON_GetObjectItem(run,
			    "iteration")->valuedouble : 1);
			sb_add(&b, it, strlen(it));
		} else if (strcmp(key, "request") == 0) {
			const char *rq = wf_json_str(run, "request");

			if (rq != NULL)
				sb_add(&b, rq, strlen(rq));
		} else if (strcmp(key, "handoffs") == 0) {
			char *h = wf_handoff_text(cJSON_GetObjectItem(run,
			    "handoffs"), WF_HANDOFF_PROMPT_MAX);

			if (h != NULL)
				sb_add(&b, h[0] != '\0' ? h : "(none yet)",
				    h[0] != '\0' ? strlen(h) : 10);
			free(h);
		} else if (strcmp(key, "test_command") == 0) {
			const char *tc = wf_json_str(project, "test_command");

			if (tc != NULL)
				sb_add(&b, tc, strlen(tc));
		} else {
			sb_add(&b, "{{", 2);
			sb_add(&b, key, strlen(key));
			sb_add(&b, "}}", 2);
		}
	}
	return b.p;
}

/* The report in a model's reply: the last JSON object in it that has a
 * "status" (fenced or not). */
static cJSON *
reply_report(const char *reply)
{
	size_t n = strlen(reply);
	int tries = 0;

	for (size_t i = n; i > 0 && tries < 256; i--) {
		const char *end;
		cJSON *o;

		if (reply[i - 1] != '{')
			continue;
		tries++;
		o = cJSON_ParseWithOpts(reply + i - 1, &end, 0);
		if (cJSON_IsObject(o) &&
		    cJSON_IsString(cJSON_GetObjectItem(o, "status")))
			return o;
		cJSON_Delete(o);
	}
	return NULL;
}

/* PM's reply creates tasks: details.tasks [{task_id,title,description,
 * acceptance_criteria,blocked_by}]. */
#define PM_TASKS_MAX 64

static void
pm_tasks(int root, const cJSON *run, cJSON *details)
{
	const cJSON *tasks = cJSON_GetObjectItem(details, "tasks"), *t;
	cJSON *made = cJSON_CreateArray();
	int n = 0;

	cJSON_ArrayForEach(t, tasks) {
		cJSON *f;
		char err[256], tid[32];
		int64_t id;

		/* A PM's report is an agent's words: bounded, like its size. */
		if (n == PM_TASKS_MAX) {
			wf_log_warn("PM task: more than %d; the rest are left out",
			    PM_TASKS_MAX);
			cJSON_AddTrueToObject(details, "tasks_cut");
			break;
		}
		if (!cJSON_IsObject(t)) {
			n++;
			continue;
		}
		f = cJSON_CreateObject();
		snprintf(tid, sizeof(tid), "T%d", ++n);
		cJSON_AddNumberToObject(f, "project_id",
		    cJSON_GetObjectItem(run, "project_id")->valuedouble);
		cJSON_AddStringToObject(f, "task_id", wf_json_str(t, "task_id") ?
		    wf_json_str(t, "task_id") : tid);
		cJSON_AddStringToObject(f, "title", wf_json_str(t, "title") ?
		    wf_json_str(t, "title") : "untitled");
		if (wf_json_str(t, "description") != NULL)
			cJSON_AddStringToObject(f, "description",
			    wf_json_str(t, "description"));
		if (cJSON_IsArray(cJSON_GetObjectItem(t, "acceptance_criteria")))
			cJSON_AddItemToObject(f, "acceptance_criteria",
			    cJSON_Duplicate(cJSON_GetObjectItem(t,
			    "acceptance_criteria"), 1));
		/* Its dependencies, the task_ids of tasks of the same reply,
		 * as PM gave them: the store judges them. */
		if (cJSON_IsArray(cJSON_GetObjectItem(t, "blocked_by"))) {
			cJSON *bb = cJSON_AddArrayToObject(f, "blocked_by");
			const cJSON *e;
			int nb = 0;

			cJSON_ArrayForEach(e, cJSON_GetObjectItem(t,
			    "blocked_by")) {
				if (cJSON_IsString(e) && nb++ < PM_TASKS_MAX)
					cJSON_AddItemToArray(bb,
					    cJSON_CreateString(e->valuestring));
			}
		}
		cJSON_AddNumberToObject(f, "run_id",
		    cJSON_GetObjectItem(run, "id")->valuedouble);
		if (wf_store_create(root, &wf_kind_task, f, 0, &id, err,
		    sizeof(err)) == 0) {
			cJSON_AddItemToArray(made, cJSON_CreateNumber((double)id));
			wf_audit_append(root, "task.created", "task", id, NULL);
		} else
			wf_log_warn("PM task: %s", err);
	}
	cJSON_AddItemToObject(details, "tasks_created", made);
}

/*
 * DEV's reply carries whole files as ```file:PATH blocks.  They are
 * written inside the repository only, and committed on wf/run-N.  A path
 * that is refused fails the report, with the paths and reasons.
 */
static void
dev_files(const cJSON *run, const char *repo, const char *reply,
    cJSON *report)
{
	cJSON *details = cJSON_GetObjectItem(report, "details");
	cJSON *written = cJSON_CreateArray(), *refused = cJSON_CreateArray();
	struct wf_repo_block *bl;
	const char **paths;
	char err[512], branch[64], msg[128], gitdir[PATH_MAX];
	int n, k = 0;

	n = wf_repo_blocks(reply, strlen(reply), &bl);
	if (n <= 0 || repo == NULL) {
		cJSON_Delete(written);
		cJSON_Delete(refused);
		return;
	}
	paths = calloc((size_t)n + 1, sizeof(*paths));
	for (int i = 0; i < n && paths != NULL; i++) {
		if (wf_repo_write(repo, bl[i].path, bl[i].data, bl[i].len, err,
		    sizeof(err)) == -1) {
			cJSON *r = cJSON_CreateObject();

			cJSON_AddStringToObject(r, "path", bl[i].path);
			cJSON_AddStringToObject(r, "reason", err);
			cJSON_AddItemToArray(refused, r);
			wf_log_warn("refused: %s", err);
			continue;
		}
		paths[k++] = bl[i].path;
		cJSON_AddItemToArray(written, cJSON_CreateString(bl[i].path));
	}
	cJSON_AddItemToObject(details, "files_written", written);
	if (cJSON_GetArraySize(refused) > 0) {
		cJSON_AddItemToObject(details, "files_refused", refused);
		cJSON_ReplaceItemInObject(report, "status",
		    cJSON_CreateString("fail"));
		cJSON_DeleteItemFromObject(report, "summary");
		cJSON_AddStringToObject(report, "summary", "DEV's reply tried "
		    "to write outside the repository; refused");
	} else
		cJSON_Delete(refused);
	snprintf(gitdir, sizeof(gitdir), "%s/.git", repo);
	if (k > 0 && paths != NULL && access(gitdir, F_OK) == 0) {
		int rid = (int)cJSON_GetObjectItem(run, "id")->valuedouble;

		snprintf(branch, sizeof(branch), "wf/run-%d", rid);
		snprintf(msg, sizeof(msg), "wf run %d: dev", rid);
		if (wf_repo_commit(repo, branch, paths, msg, err,
		    sizeof(err)) == -1)
			cJSON_AddStringToObject(details, "commit_error", err);
		else
			cJSON_AddStringToObject(details, "branch", branch);
	}
	free(paths);
	wf_repo_blocks_free(bl, n);
}

/* A role's prompt: its template (prompt =, or <role>.prompt in the roles'
 * directory) rendered with the run's context.  NULL, with the job's error,
 * when it cannot be had. */
static char *
role_prompt(int root, const struct wf_role *role, const cJSON *run,
    const cJSON *project, cJSON *res)
{
	char err[1024], path[PATH_MAX], *tpl = NULL, *prompt = NULL;
	const cJSON *tid = cJSON_GetObjectItem(run, "task_id");
	cJSON *task = NULL;
	size_t len;
	int n, dfd;

	if (role->prompt[0] == '\0')
		n = snprintf(path, sizeof(path), "%s/%s.prompt", cfg.roles_dir,
		    role->name);
	else if (role->prompt[0] == '/')
		n = snprintf(path, sizeof(path), "%s", role->prompt);
	else
		n = snprintf(path, sizeof(path), "%s/%s", cfg.roles_dir,
		    role->prompt);
	if (n < 0 || n >= (int)sizeof(path)) {
		cJSON_AddStringToObject(res, "error_message",
		    "the prompt's path is too long");
		cJSON_AddTrueToObject(res, "permanent");
		return NULL;
	}
	dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || wf_spool_read(dfd, path + 1, 1 << 20, &tpl,
	    &len) == -1) {
		snprintf(err, sizeof(err), "%.900s: %s", path, strerror(errno));
		if (dfd != -1)
			close(dfd);
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		return NULL;
	}
	close(dfd);
	if (cJSON_IsNumber(tid))
		wf_store_get(root, &wf_kind_task, (int64_t)tid->valuedouble,
		    &task, err, sizeof(err));
	if ((prompt = render(tpl, role->name, run, project, task)) == NULL) {
		cJSON_AddStringToObject(res, "error_message", "out of memory");
		cJSON_AddTrueToObject(res, "permanent");
	}
	cJSON_Delete(task);
	free(tpl);
	return prompt;
}

/* The llm backend of a role: the rendered prompt to the model, its reply's
 * report (and PM's tasks, DEV's files) back. */
static int
run_role_llm(int root, const struct wf_role *role, struct wf_job *j,
    const cJSON *run, const cJSON *project, cJSON **reportp, cJSON *res)
{
	struct wf_llm_conf conf;
	struct wf_llm_opts opts;
	struct wf_llm_result r;
	cJSON *msgs = NULL, *m, *report = NULL, *details;
	char err[1024], *prompt = NULL;
	int rc = -1, called;

	wf_llm_result_init(&r);
	if ((prompt = role_prompt(root, role, run, project, res)) == NULL)
		goto out;
	wf_config_llm_env(&cfg);
	if (wf_llm_conf_from_env(&conf, err, sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	if (conf.timeout >= j->timeout)
		conf.timeout = j->timeout > 2 ? j->timeout - 1 : 1;
	wf_llm_opts_init(&opts);
	msgs = cJSON_CreateArray();
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", prompt);
	cJSON_AddItemToArray(msgs, m);
	err[0] = '\0';
	opts.done = release_lane;
	called = wf_llm_call(&conf, msgs, &opts, &r, err, sizeof(err));
	release_lane();
	if (called == -1) {
		wf_llm_outcome(&r, conf.provider, err, res);
		goto out;
	}
	if ((report = reply_report(r.content)) == NULL) {
		report = cJSON_CreateObject();
		cJSON_AddStringToObject(report, "status", "fail");
		cJSON_AddStringToObject(report, "summary", "the model's reply "
		    "held no report JSON with a status");
	}
	details = cJSON_GetObjectItem(report, "details");
	if (!cJSON_IsObject(details)) {
		cJSON_DeleteItemFromObject(report, "details");
		details = cJSON_AddObjectToObject(report, "details");
	}
	if (strcmp(role->name, "pm") == 0)
		pm_tasks(root, run, details);
	if (strcmp(role->name, "dev") == 0)
		dev_files(run, wf_json_str(project, "repo_path"), r.content, report);
	cJSON_DeleteItemFromObject(report, "tokens_in");
	cJSON_DeleteItemFromObject(report, "tokens_out");
	cJSON_AddNumberToObject(report, "tokens_in",
	    (double)(r.prompt_tokens > 0 ? r.prompt_tokens : 0));
	cJSON_AddNumberToObject(report, "tokens_out",
	    (double)(r.completion_tokens > 0 ? r.completion_tokens : 0));
	cJSON_AddStringToObject(details, "model", r.model);
	*reportp = report;
	rc = 0;
out:
	wf_llm_result_free(&r);
	cJSON_Delete(msgs);
	free(prompt);
	return rc;
}

/* Set name in env to the agent's own value of it, else to dflt. */
static void
pass_env(cJSON *env, const char *name, const char *dflt)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		v = dflt;
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(env, name, v);
}

/*
 * The goose backend: the rendered prompt in a private file of the spool,
 * and `goose run --no-session -i FILE` in the repository with
 * GOOSE_MODE=auto and the settings goose reads (GOOSE_PROVIDER,
 * GOOSE_MODEL, OLLAMA_HOST: the agent's own, else the [llm] config).
 * Goose edits the files itself; what it changed is committed on the run's
 * branch, so that the gate sees it as the role's work.  Its output is the
 * job's log, and the report is read from it as for a command.
 */
static int
run_role_goose(int root, const struct wf_role *role, const cJSON *phase,
    const cJSON *run, const cJSON *project, const struct secrets *sec,
    char **outp, size_t *lenp, int *ws, cJSON *res)
{
	struct wf_llm_conf conf;
	char name[WF_NAME_MAX + 1], file[WF_NAME_MAX + 16], path[PATH_MAX];
	char cmd[sizeof(role->command) + PATH_MAX + 64], err[512], msg[96];
	const char *repo = wf_json_str(project, "repo_path");
	char *prompt;
	cJSON *env = NULL;
	int rc = -1, written = 0;

	if ((prompt = role_prompt(root, role, run, project, res)) == NULL)
		return -1;
	if (wf_spool_name(name, sizeof(name)) == -1 ||
	    snprintf(file, sizeof(file), "tmp/%s", name) >= (int)sizeof(file) ||
	    snprintf(path, sizeof(path), "%s/%s", wf_home_dir(), file) >=
	    (int)sizeof(path) ||
	    wf_spool_write(root, "tmp", "tmp", name, prompt, strlen(prompt),
	    WF_NO_RENAME) == -1) {
		snprintf(err, sizeof(err), "goose: write the prompt: %s",
		    strerror(errno));
		cJSON_AddStringToObject(res, "error_message", err);
		goto out;
	}
	written = 1;
	if (room.on) {
		/* The spool is hidden in the room: the prompt is shown alone. */
		room.sb.file_src = path;
		room.sb.file_dst = "/tmp/wf-goose-prompt";
	}
	if (snprintf(cmd, sizeof(cmd), "exec %s run --no-session -i %s",
	    role->command[0] != '\0' ? role->command : "goose",
	    room.on ? room.sb.file_dst : path) >= (int)sizeof(cmd)) {
		cJSON_AddStringToObject(res, "error_message",
		    "goose: the command line is too long");
		goto out;
	}
	wf_config_llm_env(&cfg);
	if (wf_llm_conf_from_env(&conf, err, sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	if (room.on && !role->network) {
		/* Its model, and nothing else. */
		room.sb.net = WF_NET_PORT;
		if ((room.sb.port = wf_sandbox_url_port(conf.base_url)) == -1) {
			snprintf(err, sizeof(err), "goose: sandbox: the model's "
			    "address '%.200s' is not an http(s) URL",
			    conf.base_url);
			cJSON_AddStringToObject(res, "error_message", err);
			cJSON_AddTrueToObject(res, "permanent");
			goto out;
		}
		if (wf_sandbox_landlock_abi() < 4) {
			cJSON_AddStringToObject(res, "error_message", "goose: "
			    "sandbox: this kernel has no Landlock network rules "
			    "(Linux 6.7 or later) to hold goose to its model: "
			    "give the role network = yes, or set [sandbox] "
			    "sandbox = off");
			cJSON_AddTrueToObject(res, "permanent");
			goto out;
		}
	}
	env = cJSON_CreateObject();
	cJSON_AddStringToObject(env, "GOOSE_MODE", "auto");
	if (phase != NULL)
		cJSON_AddItemToObject(env, "WF_PHASE",
		    cJSON_Duplicate(cJSON_GetObjectItem(phase, "WF_PHASE"), 1));
	pass_env(env, "GOOSE_PROVIDER",
	    conf.provider == WF_LLM_OPENAI ? "openai" : "ollama");
	pass_env(env, "GOOSE_MODEL", conf.model);
	pass_env(env, "OLLAMA_HOST", conf.base_url);
	if (conf.provider == WF_LLM_OPENAI)
		pass_env(env, "OPENAI_HOST", conf.base_url);
	if (run_role_command(role, cmd, env, run, project, sec, outp, lenp,
	    ws) == -1) {
		cJSON_AddStringToObject(res, "error_message",
		    "goose: cannot run it");
		goto out;
	}
	if (wf_repo_is_git(repo)) {
		int rid = (int)cJSON_GetObjectItem(run, "id")->valuedouble;
		char branch[64];

		snprintf(branch, sizeof(branch), "wf/run-%d", rid);
		snprintf(msg, sizeof(msg), "wf run %d: %s (goose)", rid,
		    role->name);
		if (wf_repo_commit_all(repo, branch, msg, err,
		    sizeof(err)) == -1)
			wf_log_warn("goose: commit: %s", err);
	}
	rc = 0;
out:
	if (written)
		unlinkat(root, file, 0);
	cJSON_Delete(env);
	free(prompt);
	return rc;
}

/*
 * The scan backend: each of the role's scanners in the repository, its
 * JSON read by lib/scan into findings, and the report made here: pass
 * unless a scanner failed (the SEC gate judges the severities), and fail
 * when no scanner ran at all (unless the role says unscanned = pass; the
 * report then says details.scanned false): a pass must not rest on
 * nothing having been looked at.  A scanner that is not installed (the
 * shell's 127 and no output) is noted and skipped.  Scanners' stdout is
 * not teed to the job's log and is wiped after parsing: it may hold the
 * secrets they matched, which the findings never copy.
 */
static cJSON *
run_role_scan(const struct wf_role *role, const cJSON *run,
    const cJSON *project, const struct secrets *sec, cJSON *res)
{
	static const char *const sevs[] = { "critical", "high", "medium",
		"low", "info" };
	cJSON *report = cJSON_CreateObject(), *details, *findings, *scanners;
	char err[512], why[768], ran[512] = "", missing[512] = "";
	char failed[768] = "", summary[2048];
	int nran = 0, nfail = 0, count[5] = { 0 }, total, off;
	const cJSON *f;

	details = cJSON_AddObjectToObject(report, "details");
	findings = cJSON_AddArrayToObject(details, "findings");
	scanners = cJSON_AddArrayToObject(details, "scanners");
	if (findings == NULL || scanners == NULL) {
		cJSON_Delete(report);
		cJSON_AddStringToObject(res, "error_message", "out of memory");
		return NULL;
	}
	for (int i = 0; i < role->nscanners; i++) {
		const struct wf_role_scanner *sc = &role->scanners[i];
		cJSON *e = cJSON_CreateObject();
		char *out = NULL;
		size_t len = 0, sp;
		int ws = 0, code, n = -1, rc;

		cJSON_AddItemToArray(scanners, e);
		cJSON_AddStringToObject(e, "name", sc->name);
		tee_role_stdout = 0;
		rc = run_role_command(role, sc->command, NULL, run, project,
		    sec, &out, &len, &ws);
		tee_role_stdout = 1;
		code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		sp = out != NULL ? strspn(out, " \t\r\n") : 0;
		if (rc == -1)
			snprintf(why, sizeof(why), "cannot run it");
		else if (WIFSIGNALED(ws))
			snprintf(why, sizeof(why), "killed by signal %d",
			    WTERMSIG(ws));
		else if (code == 127 && sp == len)
			snprintf(why, sizeof(why), "not installed");
		else if ((n = wf_scan_parse_as(sc->format, sc->name, out, len,
		    findings, err, sizeof(err))) == -1) {
			size_t nl = strlen(sc->name);
			const char *e2 = err;

			/* The entry names the scanner already. */
			if (strncmp(err, sc->name, nl) == 0 &&
			    strncmp(err + nl, ": ", 2) == 0)
				e2 += nl + 2;
			snprintf(why, sizeof(why), "%s%s (exit %d)", e2,
			    len + 8192 > CAPTURE_MAX ? ", output cut at 1 MiB" :
			    "", code);
		}
		if (rc == 0)
			cJSON_AddNumberToObject(e, "exit_code", code);
		else
			cJSON_AddNullToObject(e, "exit_code");
		cJSON_AddNumberToObject(e, "findings", n > 0 ? n : 0);
		if (n >= 0) {
			cJSON_AddNullToObject(e, "error");
			nran++;
			off = (int)strlen(ran);
			snprintf(ran + off, sizeof(ran) - (size_t)off, "%s%s",
			    off ? ", " : "", sc->name);
		} else if (strcmp(why, "not installed") == 0) {
			cJSON_AddStringToObject(e, "error", why);
			off = (int)strlen(missing);
			snprintf(missing + off, sizeof(missing) - (size_t)off,
			    "%s%s", off ? ", " : "", sc->name);
		} else {
			cJSON_AddStringToObject(e, "error", why);
			nfail++;
			off = (int)strlen(failed);
			snprintf(failed + off, sizeof(failed) - (size_t)off,
			    "%s%s: %.300s", off ? "; " : "", sc->name, why);
		}
		if (out != NULL) {
			explicit_bzero(out, len);
			free(out);
		}
	}
	cJSON_ArrayForEach(f, findings) {
		const cJSON *sv = cJSON_GetObjectItem(f, "severity");

		for (int k = 0; k < 5; k++)
			if (cJSON_IsString(sv) &&
			    strcmp(sv->valuestring, sevs[k]) == 0)
				count[k]++;
	}
	total = cJSON_GetArraySize(findings);
	cJSON_AddBoolToObject(details, "scanned", nran > 0);
	if (nran == 0 && nfail == 0) {
		cJSON_AddStringToObject(report, "status",
		    role->unscanned_pass ? "pass" : "fail");
		snprintf(summary, sizeof(summary), "%s: no scanner ran (not "
		    "installed: %s)", role->unscanned_pass ? "nothing scanned" :
		    "SEC cannot pass", missing);
	} else {
		cJSON_AddStringToObject(report, "status",
		    nfail > 0 ? "fail" : "pass");
		if (nran > 0)
			off = snprintf(summary, sizeof(summary), "%d finding%s",
			    total, total == 1 ? "" : "s");
		else
			off = snprintf(summary, sizeof(summary), "SEC cannot "
			    "pass: no scanner ran");
		for (int k = 0, first = 1; k < 5 && nran > 0; k++) {
			if (count[k] == 0)
				continue;
			off += snprintf(summary + off, sizeof(summary) - (size_t)off,
			    "%s%d %s", first ? " (" : ", ", count[k], sevs[k]);
			first = 0;
			if (off >= (int)sizeof(summary))
				break;
		}
		if (off < (int)sizeof(summary) && total > 0)
			off += snprintf(summary + off,
			    sizeof(summary) - (size_t)off, ")");
		if (off < (int)sizeof(summary) && nran > 0)
			off += snprintf(summary + off,
			    sizeof(summary) - (size_t)off, " from %s", ran);
		if (off < (int)sizeof(summary) && missing[0] != '\0')
			off += snprintf(summary + off,
			    sizeof(summary) - (size_t)off, "; not installed: %s",
			    missing);
		if (off < (int)sizeof(summary) && nfail > 0)
			snprintf(summary + off, sizeof(summary) - (size_t)off,
			    "; failed: %s", failed);
	}
	cJSON_AddStringToObject(report, "summary", summary);
	return report;
}

/*
 * deploy: an approved run's deploy to one environment (request_data
 * run_id, environment_id): its steps, each audited, and a report with
 * role "deploy" for wf-gate, which moves the run to DEPLOYED or
 * DEPLOY_FAILED.  The job completes when the steps ran, whatever they
 * found: the report carries the verdict.
 */
static int
run_deploy(int root, struct wf_job *j, cJSON *res)
{
	const cJSON *rd = j->request_data, *st;
	const cJSON *rid = cJSON_GetObjectItem(rd, "run_id");
	const cJSON *eid = cJSON_GetObjectItem(rd, "environment_id");
	cJSON *run = NULL, *project = NULL, *env = NULL, *report, *details,
	    *steps;
	char err[512], why[512], repid[WF_NAME_MAX + 1];
	const char *repo;
	int ok, rolled = 0, rc = -1;

	if (!cJSON_IsNumber(rid) || !cJSON_IsNumber(eid)) {
		cJSON_AddStringToObject(res, "error_message",
		    "deploy needs request_data.run_id and .environment_id");
		cJSON_AddTrueToObject(res, "permanent");
		return -1;
	}
	if (wf_store_get(root, &wf_kind_run, (int64_t)rid->valuedouble, &run,
	    err, sizeof(err)) == -1 ||
	    wf_store_get(root, &wf_kind_project, (int64_t)cJSON_GetObjectItem(
	    run, "project_id")->valuedouble, &project, err, sizeof(err)) == -1 ||
	    wf_store_get(root, &wf_kind_environment, (int64_t)eid->valuedouble,
	    &env, err, sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	repo = wf_json_str(project, "repo_path");
	/* An environment that asks for it deploys from the sandbox: the
	 * project's directory written, the network kept. */
	if (cJSON_IsTrue(cJSON_GetObjectItem(env, "sandbox")) && cfg.sandbox.on) {
		memset(&room.sb, 0, sizeof(room.sb));
		if (repo == NULL || repo[0] != '/' ||
		    wf_sandbox_find(&cfg.sandbox, room.bwrap, sizeof(room.bwrap),
		    err, sizeof(err)) == -1) {
			if (repo == NULL || repo[0] != '/')
				snprintf(err, sizeof(err), "deploy: sandbox: "
				    "the project has no repo_path");
			cJSON_AddStringToObject(res, "error_message", err);
			cJSON_AddTrueToObject(res, "permanent");
			goto out;
		}
		room.sb.rw = repo;
		if (wf_repo_is_git(repo) && wf_worktree_gitdir(repo,
		    room.gitdir, sizeof(room.gitdir), err, sizeof(err)) == 0)
			room.sb.ro[0] = room.gitdir;
		wf_sandbox_hidden(cfg.pipeline.workdir, room.sb.hide, room.hide,
		    sizeof(room.hide));
		room.sb.net = WF_NET_ALL;
		room.on = 1;
	}
	report = cJSON_CreateObject();
	details = cJSON_AddObjectToObject(report, "details");
	steps = cJSON_AddArrayToObject(details, "steps");
	ok = wf_deploy_run_in(env, repo != NULL && repo[0] == '/' ? repo : NULL,
	    room.on ? room.bwrap : NULL, room.on ? &room.sb : NULL, steps,
	    &rolled, why, sizeof(why));
	if (cJSON_IsTrue(cJSON_GetObjectItem(env, "sandbox")))
		cJSON_AddStringToObject(details, "sandbox", room.on ? "bwrap" :
		    "off");
	cJSON_ArrayForEach(st, steps) {
		cJSON *d = cJSON_Duplicate(st, 1);

		cJSON_AddNumberToObject(d, "run_id", rid->valuedouble);
		wf_audit_append(root, "deploy.step", "environment",
		    (int64_t)eid->valuedouble, d);
		cJSON_Delete(d);
	}
	cJSON_AddNumberToObject(report, "run_id", rid->valuedouble);
	cJSON_AddStringToObject(report, "role", "deploy");
	cJSON_AddStringToObject(report, "status", ok == 1 ? "pass" : "fail");
	cJSON_AddStringToObject(report, "summary", why);
	cJSON_AddNumberToObject(details, "environment_id", eid->valuedouble);
	cJSON_AddBoolToObject(details, "rolled_back", rolled);
	rc = wf_pipeline_submit_report(root, report, repid, sizeof(repid));
	if (rc == -1) {
		snprintf(err, sizeof(err), "drop the report: %s",
		    strerror(errno));
		cJSON_AddStringToObject(res, "error_message", err);
	} else {
		cJSON *rdat = cJSON_AddObjectToObject(res, "result_data");

		cJSON_AddStringToObject(rdat, "report_id", repid);
		cJSON_AddStringToObject(rdat, "report_status",
		    ok == 1 ? "pass" : "fail");
		cJSON_AddStringToObject(rdat, "summary", why);
	}
	cJSON_Delete(report);
out:
	cJSON_Delete(run);
	cJSON_Delete(project);
	cJSON_Delete(env);
	return rc;
}

/*
 * A command role's view of the handoffs before it: the run's "handoffs"
 * as a JSON array in a private file of the spool, named by WF_HANDOFFS
 * in its environment (env), and shown alone, read-only, in its room (the
 * spool is hidden there).  file gets the spool's name of it, for the
 * caller to remove.
 */
static int
handoffs_file(int root, const cJSON *run, cJSON *env, char *file,
    size_t filelen)
{
	static char path[PATH_MAX];
	char name[WF_NAME_MAX + 1], *js;
	const cJSON *h = cJSON_GetObjectItem(run, "handoffs");
	cJSON *empty = NULL;
	int rc = -1;

	if (!cJSON_IsArray(h))
		h = empty = cJSON_CreateArray();
	js = cJSON_PrintUnformatted(h);
	if (js != NULL && wf_spool_name(name, sizeof(name)) == 0 &&
	    snprintf(file, filelen, "tmp/%s", name) < (int)filelen &&
	    snprintf(path, sizeof(path), "%s/%s", wf_home_dir(), file) <
	    (int)sizeof(path) &&
	    wf_spool_write(root, "tmp", "tmp", name, js, strlen(js),
	    WF_NO_RENAME) == 0) {
		if (room.on) {
			room.sb.file_src = path;
			room.sb.file_dst = "/tmp/wf-handoffs.json";
		}
		cJSON_AddStringToObject(env, "WF_HANDOFFS", room.on ?
		    room.sb.file_dst : path);
		rc = 0;
	} else
		file[0] = '\0';
	free(js);
	cJSON_Delete(empty);
	return rc;
}

/*
 * Every role of a run works in the run's worktree, on wf/run-N: from
 * here on the project's repo_path is that worktree, made again if a crash
 * lost it.  A run that ended has no role to run; a run of a git project
 * that has no worktree (made before wf had them) is not run in the
 * user's checkout.
 */
static int
run_room(const cJSON *run, cJSON *project, cJSON *res)
{
	const char *state = wf_json_str(run, "state");
	const char *wt = wf_json_str(run, "worktree");
	const char *repo = wf_json_str(project, "repo_path");
	char err[768];

	if (state != NULL && (strcmp(state, "DEPLOYED") == 0 ||
	    strcmp(state, "ABANDONED") == 0)) {
		snprintf(err, sizeof(err), "run %d is %s: it has no role to run",
		    (int)wf_json_int(run, "id"), state);
		goto fail;
	}
	if (wt == NULL) {
		if (cJSON_GetObjectItem(run, "worktree") != NULL ||
		    !wf_repo_is_git(repo))
			return 0; /* no git repository: it works in place */
		snprintf(err, sizeof(err), "run %d has no worktree (it was "
		    "made before wf gave runs their own): abandon it (wf run "
		    "abandon %d) and start a new one", (int)wf_json_int(run,
		    "id"), (int)wf_json_int(run, "id"));
		goto fail;
	}
	if (wf_json_str(run, "branch") == NULL ||
	    wf_json_str(run, "base_commit") == NULL ||
	    wf_worktree_add(repo, wt, wf_json_str(run, "branch"),
	    wf_json_str(run, "base_commit"), err, sizeof(err)) == -1) {
		if (wf_json_str(run, "branch") == NULL)
			snprintf(err, sizeof(err), "run %d: no branch recorded",
			    (int)wf_json_int(run, "id"));
		goto fail;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(project, "repo_path",
	    cJSON_CreateString(wt));
	return 0;
fail:
	cJSON_AddStringToObject(res, "error_message", err);
	cJSON_AddTrueToObject(res, "permanent");
	return -1;
}

/* agent_run: one role of one run.  The outcome of the job is whether the
 * role ran; what it found is its report, which wf-gate applies. */
static int
run_agent(int root, struct wf_job *j, cJSON *res)
{
	const cJSON *rd = j->request_data;
	const cJSON *rid = cJSON_GetObjectItem(rd, "run_id");
	const char *rname = wf_json_str(rd, "role");
	cJSON *run = NULL, *project = NULL, *report = NULL, *details;
	cJSON *phase = NULL; /* WF_PHASE for the role's program */
	cJSON *extra = NULL; /* and the rest of its environment */
	cJSON *task = NULL, *handoff;
	char hfile[WF_NAME_MAX + 16] = "";
	struct wf_role role;
	struct wf_testcount tc;
	struct secrets sec = { { NULL }, 0 };
	char err[1024], repid[WF_NAME_MAX + 1], *out = NULL;
	size_t len = 0;
	int ws = 0, rc = -1;
	int64_t since;

	if (!cJSON_IsNumber(rid) || rname == NULL) {
		cJSON_AddStringToObject(res, "error_message",
		    "agent_run needs request_data.run_id and .role");
		cJSON_AddTrueToObject(res, "permanent");
		return -1;
	}
	if (wf_store_get(root, &wf_kind_run, (int64_t)rid->valuedouble, &run,
	    err, sizeof(err)) == -1 ||
	    wf_store_get(root, &wf_kind_project, (int64_t)cJSON_GetObjectItem(
	    run, "project_id")->valuedouble, &project, err, sizeof(err)) == -1 ||
	    wf_role_load(cfg.roles_dir, rname, &role, err, sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	if (run_room(run, project, res) == -1)
		goto out;
	/* Under tdd, QA's first job writes the failing tests. */
	if (wf_json_str(rd, "phase") != NULL && strcmp(wf_json_str(rd, "phase"), "tdd") == 0) {
		if (role.tdd_command[0] != '\0')
			strlcpy(role.command, role.tdd_command,
			    sizeof(role.command));
		if (role.tdd_prompt[0] != '\0')
			strlcpy(role.prompt, role.tdd_prompt,
			    sizeof(role.prompt));
		phase = cJSON_CreateObject();
		cJSON_AddStringToObject(phase, "WF_PHASE", "tdd");
	}
	if (secrets_open(root, &role, run, j, &sec, err, sizeof(err)) == -1) {
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	if (role.backend != WF_BE_LLM && room_open(&role,
	    wf_json_str(project, "repo_path"), res) == -1)
		goto out;
	if (cJSON_IsNumber(cJSON_GetObjectItem(run, "task_id")))
		(void)wf_store_get(root, &wf_kind_task, wf_json_int(run,
		    "task_id"), &task, err, sizeof(err));
	if (role.backend == WF_BE_COMMAND) {
		extra = phase != NULL ? cJSON_Duplicate(phase, 1) :
		    cJSON_CreateObject();
		if (handoffs_file(root, run, extra, hfile, sizeof(hfile)) == -1)
			wf_log_warn("%s: the handoffs file: %s", rname,
			    strerror(errno));
	}
	/* A JUnit report older than this is not this run's. */
	since = wf_clock_wall_ms();
	if (role.backend == WF_BE_LLM) {
		/* No child: the provider's variables are read from ours. */
		for (int i = 0; i < sec.n; i++) {
			char *eq = strchr(sec.kv[i], '=');

			*eq = '\0';
			setenv(sec.kv[i], eq + 1, 1);
			*eq = '=';
		}
		if (run_role_llm(root, &role, j, run, project, &report,
		    res) == -1)
			goto out;
	} else if (role.backend == WF_BE_GOOSE) {
		if (run_role_goose(root, &role, phase, run, project, &sec, &out,
		    &len, &ws, res) == -1)
			goto out;
	} else if (role.backend == WF_BE_SCAN) {
		if ((report = run_role_scan(&role, run, project, &sec,
		    res)) == NULL)
			goto out;
	} else if (run_role_command(&role, role.command, extra, run, project,
	    &sec, &out, &len, &ws) == -1) {
		cJSON_AddStringToObject(res, "error_message",
		    "cannot run the role's command");
		goto out;
	}
	if (room.failed) {
		cJSON_AddStringToObject(res, "error_message", "sandbox: "
		    "bubblewrap could not make the room (its error is in the "
		    "job's log): let it make user namespaces (sysctl "
		    "kernel.unprivileged_userns_clone=1; under systemd, see "
		    "the README), or set [sandbox] sandbox = off");
		cJSON_AddTrueToObject(res, "permanent");
		goto out;
	}
	/* What a command left in the worktree is the role's work: the
	 * trusted side commits it on the run's branch (in the room, the
	 * repository's git directory is read-only). */
	if (role.backend == WF_BE_COMMAND && wf_json_str(run, "worktree") !=
	    NULL && wf_json_str(run, "branch") != NULL) {
		char msg[96];

		snprintf(msg, sizeof(msg), "wf run %d: %s", (int)wf_json_int(run,
		    "id"), rname);
		if (wf_repo_commit_all(wf_json_str(project, "repo_path"),
		    wf_json_str(run, "branch"), msg, err, sizeof(err)) == -1)
			wf_log_warn("%s: commit: %s", rname, err);
	}
	if (report == NULL && (report = find_report(out, len)) == NULL) {
		/* No report printed: the exit status and the counts in the
		 * output speak for it. */
		report = cJSON_CreateObject();
		cJSON_AddStringToObject(report, "status",
		    WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? "pass" : "fail");
		snprintf(err, sizeof(err), "%s's command exited %d", rname,
		    WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
		cJSON_AddStringToObject(report, "summary", err);
	}
	details = cJSON_GetObjectItem(report, "details");
	if (!cJSON_IsObject(details)) {
		cJSON_DeleteItemFromObject(report, "details");
		details = cJSON_AddObjectToObject(report, "details");
	}
	/* PM's tasks, whatever its backend (llm made them already). */
	if (strcmp(rname, "pm") == 0 && role.backend != WF_BE_LLM &&
	    cJSON_IsArray(cJSON_GetObjectItem(details, "tasks")))
		pm_tasks(root, run, details);
	/* QA's counts: its JUnit report when it names one (and then only
	 * that: a missing report is not made up for by the output), else
	 * the runner's output. */
	if (strcmp(rname, "qa") == 0 &&
	    cJSON_GetObjectItem(details, "tests_run") == NULL &&
	    (role.junit[0] != '\0' ? wf_testcount_junit_files(wf_json_str(project,
	    "repo_path"), role.junit, since, &tc, err, sizeof(err)) :
	    out != NULL ? wf_testcount_parse(out, len, &tc) : -1) == 0) {
		cJSON_AddNumberToObject(details, "tests_run", tc.run);
		cJSON_AddNumberToObject(details, "tests_passed", tc.passed);
		cJSON_AddNumberToObject(details, "tests_failed", tc.failed);
		if (tc.skipped > 0)
			cJSON_AddNumberToObject(details, "tests_skipped",
			    tc.skipped);
		cJSON_AddStringToObject(details, "format", tc.format);
	} else if (strcmp(rname, "qa") == 0 && role.junit[0] != '\0' &&
	    cJSON_GetObjectItem(details, "tests_run") == NULL)
		cJSON_AddStringToObject(details, "junit_error", err);
	cJSON_DeleteItemFromObject(report, "run_id");
	cJSON_DeleteItemFromObject(report, "role");
	cJSON_AddNumberToObject(report, "run_id", rid->valuedouble);
	cJSON_AddStringToObject(report, "role", rname);
	/* The stage's handoff is the trusted side's account of the work,
	 * never the agent's own. */
	cJSON_DeleteItemFromObject(report, "handoff");
	if ((handoff = wf_handoff_make(run, rname, wf_json_str(rd, "phase"),
	    task, wf_json_str(project, "repo_path"), j->id)) != NULL)
		cJSON_AddItemToObject(report, "handoff", handoff);
	if (wf_pipeline_submit_report(root, report, repid, sizeof(repid)) == -1) {
		snprintf(err, sizeof(err), "drop the report: %s", strerror(errno));
		cJSON_AddStringToObject(res, "error_message", err);
		goto out;
	}
	{
		cJSON *rdat = cJSON_AddObjectToObject(res, "result_data");

		cJSON_AddStringToObject(rdat, "report_id", repid);
		cJSON_AddStringToObject(rdat, "report_status",
		    wf_json_str(report, "status"));
		cJSON_AddNumberToObject(rdat, "exit_code",
		    WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
		if (role.backend != WF_BE_LLM)
			cJSON_AddStringToObject(rdat, "sandbox", room.on ?
			    "bwrap" : "off");
	}
	rc = 0;
out:
	if (hfile[0] != '\0')
		unlinkat(root, hfile, 0);
	secrets_free(&sec);
	free(out);
	cJSON_Delete(report);
	cJSON_Delete(run);
	cJSON_Delete(task);
	cJSON_Delete(extra);
	cJSON_Delete(phase);
	cJSON_Delete(project);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stdin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char path[WF_NAME_MAX + 16], rname[WF_NAME_MAX + 16], err[512];
	char iso[WF_ISO_LEN], *buf = NULL, *out = NULL, cfgerr[512] = "";
	const char *id;
	struct wf_job j;
	cJSON *res = NULL;
	size_t len;
	const char *cfgpath = NULL;
	char idbuf[WF_NAME_MAX + 2];
	int c, root, rc, code = EX_SOFTWARE, from_stdin = 0;

	wf_log_init("wf-agent", 0);
	/* In a room made ahead (lib/room.h): the job comes on stdin. */
	if (argc == 2 && strcmp(argv[1], "--room") == 0) {
		if ((rc = wf_room_exec(0, err, sizeof(err))) != 0)
			wf_log_warn("%s", err);
		return rc;
	}
	/* The release pipe is ours alone: no child of ours may hold it
	 * open. */
	if (getenv("WF_RELEASE_FD") != NULL &&
	    strcmp(getenv("WF_RELEASE_FD"), "3") == 0 &&
	    fcntl(3, F_SETFD, FD_CLOEXEC) == 0)
		relfd = 3;
	unsetenv("WF_RELEASE_FD");
	if (getenv("WF_GO_FD") != NULL && strcmp(getenv("WF_GO_FD"), "4") == 0 &&
	    fcntl(4, F_SETFD, FD_CLOEXEC) == 0)
		gofd = 4;
	unsetenv("WF_GO_FD");
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfgpath = optarg;
			break;
		case 's':
			from_stdin = 1;
			break;
		case 'h':
			usage(0);
			break;
		case 'V':
			printf("wf-agent %s\n", WF_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (argc - optind != (from_stdin ? 0 : 1))
		usage(EX_USAGE);
	/* A config that does not parse (changed since the dispatcher read
	 * it) fails the job with its own line: the file, the line and the
	 * key, not a variable it was exported as.  Not for good: the job's
	 * next attempt reads the file again. */
	if (wf_config_read(&cfg, wf_home_config(cfgpath),
	    cfgerr, sizeof(cfgerr)) == -1)
		wf_log_warn("%s", cfgerr);
	if (wf_llm_init() == -1) {
		wf_log_warn("libcurl: cannot initialise");
		return EX_SOFTWARE;
	}
	atexit(wf_llm_cleanup);
	if ((root = wf_spool_open(wf_home_dir())) == -1) {
		wf_log_warn("%s: %s", wf_home_dir(), strerror(errno));
		return EX_CONFIG;
	}
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	if (from_stdin) {
		/*
		 * Ready before the id comes: everything above is done, and
		 * the time zone is read now, not on the job's first
		 * timestamp.  The dispatcher writes the id and its newline
		 * in one write(2), so one read(2) usually has it all.
		 */
		ssize_t n = 0, r;
		char *nl = NULL;

		tzset();
		while (nl == NULL && n < (ssize_t)sizeof(idbuf) - 1 &&
		    (r = read(STDIN_FILENO, idbuf + n,
		    sizeof(idbuf) - 1 - (size_t)n)) != 0) {
			if (r == -1) {
				if (errno == EINTR)
					continue;
				return EX_IOERR;
			}
			nl = memchr(idbuf + n, '\n', (size_t)r);
			n += r;
		}
		if (n == 0)
			return 0; /* closed without a job: not needed */
		if (nl == NULL) {
			wf_log_warn("--stdin: no job id line");
			return EX_USAGE;
		}
		*nl = '\0';
		id = idbuf;
	} else
		id = argv[optind];
	if (!wf_spool_name_ok(id)) {
		wf_log_warn("%.80s: not a job id", id);
		return EX_USAGE;
	}

	wf_job_init(&j);
	snprintf(path, sizeof(path), "active/%s", id);
	if (wf_spool_read(root, path, WF_JOB_MAX, &buf, &len) == -1) {
		if (cfgerr[0] != '\0')
			return EX_CONFIG; /* said above */
		wf_log_warn("%s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_DATAERR;
	}
	if (wf_job_parse(&j, buf, len, err, sizeof(err)) == -1) {
		wf_log_warn("%s: %s", path, err);
		free(buf);
		return EX_DATAERR;
	}
	strlcpy(j.id, id, sizeof(j.id));
	go_root = root;
	strlcpy(go_id, id, sizeof(go_id));
	if ((res = cJSON_CreateObject()) == NULL)
		goto fail;
	/* A model call builds its request before it waits for its turn;
	 * any other job waits here. */
	if (cfgerr[0] == '\0' && j.type != WF_JT_LLM_COMPLETE &&
	    j.type != WF_JT_LLM_CHAT && j.type != WF_JT_LLM_QUERY &&
	    j.type != WF_JT_VISION_ANALYZE)
		await_go();
	cJSON_AddStringToObject(res, "started_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if (cfgerr[0] == '\0' && j.run_id > 0 && j.type != WF_JT_COMMAND &&
	    j.type != WF_JT_DEPLOY && wf_pipeline_over_budget(root, j.run_id,
	    cfgerr, sizeof(cfgerr)) == 1) {
		/* A run over its token budget asks no model any more: the
		 * job fails for good, and wf-gate, which sees it end, holds
		 * the run for a human. */
		cJSON_AddTrueToObject(res, "permanent");
		cJSON_AddTrueToObject(cJSON_AddObjectToObject(res,
		    "result_data"), "over_budget");
	}
	if (cfgerr[0] != '\0') {
		cJSON_AddStringToObject(res, "error_message", cfgerr);
		rc = -1;
	} else switch (j.type) {
	case WF_JT_COMMAND:
		rc = run_command(&j, res);
		break;
	case WF_JT_AGENT_RUN:
		wf_audit_set_actor("wf-agent");
		rc = run_agent(root, &j, res);
		break;
	case WF_JT_LLM_COMPLETE:
	case WF_JT_LLM_CHAT:
	case WF_JT_LLM_QUERY:
	case WF_JT_VISION_ANALYZE:
		rc = run_llm(root, &j, res);
		break;
	case WF_JT_DEPLOY:
		wf_audit_set_actor("wf-agent");
		rc = run_deploy(root, &j, res);
		break;
	default:
		snprintf(err, sizeof(err), "job_type '%s' is not supported by "
		    "this build of wf-agent (only 'command' is)",
		    wf_job_type_name(j.type));
		cJSON_AddStringToObject(res, "error_message", err);
		cJSON_AddTrueToObject(res, "permanent");
		rc = -1;
		break;
	}
	cJSON_AddStringToObject(res, "status", rc == 0 ? "completed" : "failed");
	cJSON_AddStringToObject(res, "completed_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if ((out = cJSON_PrintUnformatted(res)) == NULL)
		goto fail;
	/* The result is a promise to the dispatcher: durable before exit. */
	snprintf(rname, sizeof(rname), "%s.result", id);
	if (wf_spool_write(root, "tmp", "active", rname, out, strlen(out),
	    WF_SYNC_FILE | WF_SYNC_DIR) == -1) {
		wf_log_warn("%s: write result: %s", id, strerror(errno));
		code = EX_TEMPFAIL;
		goto fail;
	}
	code = rc == 0 ? 0 : 1;
fail:
	free(out);
	free(buf);
	cJSON_Delete(res);
	wf_job_free(&j);
	close(root);
	return code;
}
