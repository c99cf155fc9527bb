/*
 * exec: the local executor.  A job runs as a child in its own process
 * group with PR_SET_PDEATHSIG, so that a timeout or a cancel can kill the
 * whole group and the dispatcher's death takes its children along.  The
 * child inherits no descriptor (all are O_CLOEXEC), a clean signal state,
 * and an environment made only of what the job needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "exec.h"


/* What the child reports through its error pipe when it cannot exec. */
struct child_err {
	int step;
	int err;
};

static const char *const steps[] = {
	"fork", "setpgid", "prctl", "open /dev/null", "dup2", "chdir", "execve",
};

static void __attribute__((noreturn))
child_fail(int efd, int step)
{
	struct child_err ce = { step, errno };

	(void)!write(efd, &ce, sizeof(ce));
	_exit(127);
}

/*
 * execvp with the PATH of the job's environment, on the stack only: the
 * child of vfork shares our memory and must not touch the heap or our
 * globals (execvp would read our own environ).
 */
void
wf_exec_path(const char *file, char *const argv[], char *const envp[])
{
	const char *path = "/usr/local/bin:/usr/bin:/bin", *p, *end;
	char buf[PATH_MAX];
	int saved = ENOENT;

	if (strchr(file, '/') != NULL) {
		execve(file, argv, envp);
		return;
	}
	for (int i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (p = path;; p = end + 1) {
		size_t dl, fl = strlen(file);

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dl = (size_t)(end - p);
		if (dl == 0) {
			buf[0] = '.';
			dl = 1;
		} else if (dl < sizeof(buf))
			memcpy(buf, p, dl);
		if (dl + 1 + fl < sizeof(buf)) {
			buf[dl] = '/';
			memcpy(buf + dl + 1, file, fl + 1);
			execve(buf, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				saved = errno;
		}
		if (*end == '\0')
			break;
	}
	errno = saved;
}

pid_t
wf_exec_start(const struct wf_exec_spec *spec, int *outfd, int *errfd)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, ip[2] = { -1, -1 };
	int rp[2] = { -1, -1 }, go = -1;
	sigset_t all, old;
	pid_t pid, parent = getpid();
	int e;

	if (pipe2(ep, O_CLOEXEC) == -1)
		return -1;
	if (!spec->devnull_out && pipe2(op, O_CLOEXEC) == -1)
		goto fail;
	if (spec->infd != NULL && pipe2(ip, O_CLOEXEC) == -1)
		goto fail;
	if (spec->relfd != NULL && pipe2(rp, O_CLOEXEC) == -1)
		goto fail;
	/* The go fd must not sit where the child's fd 3 or 4 goes. */
	if (spec->gofd != NULL &&
	    (go = fcntl(*spec->gofd, F_DUPFD_CLOEXEC, 5)) == -1)
		goto fail;
	/* Block every signal across fork so that no handler of ours runs in
	 * the child before its dispositions are reset. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* vfork: no copy of our page tables, no copy-on-write faults after;
	 * we wait (suspended) only until the child execs or _exits.  The
	 * child below only makes system calls. */
	pid = vfork();
	if (pid == 0) {
		sigset_t none;
		int nul, efd = ep[1];

		close(ep[0]);
		if (setpgid(0, 0) == -1)
			child_fail(efd, 1);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
			child_fail(efd, 2);
		if (getppid() != parent)
			_exit(127); /* the parent died before prctl */
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if ((nul = open("/dev/null", O_RDWR)) == -1)
			child_fail(efd, 3);
		if (dup2(spec->infd != NULL ? ip[0] : nul, 0) == -1)
			child_fail(efd, 4);
		if (dup2(spec->devnull_out ? nul : op[1], 1) == -1 ||
		    dup2(spec->devnull_out ? nul : op[1], 2) == -1)
			child_fail(efd, 4);
		/* fd 3 is the release pipe and fd 4 the go pipe; the error
		 * pipe must not be in their way. */
		if ((spec->relfd != NULL || go != -1) && (efd == 3 || efd == 4) &&
		    (efd = fcntl(efd, F_DUPFD_CLOEXEC, 5)) == -1)
			_exit(127);
		if (spec->relfd != NULL) {
			if (rp[1] == 3) {
				if (fcntl(3, F_SETFD, 0) == -1)
					child_fail(efd, 4);
			} else if (dup2(rp[1], 3) == -1)
				child_fail(efd, 4);
		}
		if (go != -1 && dup2(go, 4) == -1)
			child_fail(efd, 4);
		if (spec->cwd != NULL && chdir(spec->cwd) == -1)
			child_fail(efd, 5);
		wf_exec_path(spec->argv[0], (char *const *)spec->argv,
		    (char *const *)spec->envp);
		child_fail(efd, 6);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = e;
		goto fail;
	}
	/* Both sides set the group, so that a kill right after start finds
	 * it whichever runs first. */
	setpgid(pid, pid);
	if (go != -1)
		close(go);
	close(ep[1]);
	*errfd = ep[0];
	if (spec->infd != NULL) {
		close(ip[0]);
		*spec->infd = ip[1];
	}
	if (spec->relfd != NULL) {
		close(rp[1]);
		fcntl(rp[0], F_SETFL, fcntl(rp[0], F_GETFL) | O_NONBLOCK);
		*spec->relfd = rp[0];
	}
	if (!spec->devnull_out) {
		close(op[1]);
		fcntl(op[0], F_SETFL, fcntl(op[0], F_GETFL) | O_NONBLOCK);
		*outfd = op[0];
	} else if (outfd != NULL)
		*outfd = -1;
	return pid;
fail:
	e = errno;
	if (go != -1)
		close(go);
	for (int i = 0; i < 2; i++) {
		if (op[i] != -1)
			close(op[i]);
		if (ep[i] != -1)
			close(ep[i]);
		if (ip[i] != -1)
			close(ip[i]);
		if (rp[i] != -1)
			close(rp[i]);
	}
	errno = e;
	return -1;
}

int
wf_exec_failed(int errfd, const char **step, int *err)
{
	struct child_err ce;
	ssize_t r;

	/* The child has exited: its end is closed, so this never blocks. */
	do
		r = read(errfd, &ce, sizeof(ce));
	while (r == -1 && errno == EINTR);
	close(errfd);
	if (r != (ssize_t)sizeof(ce) || ce.step < 0 ||
	    ce.step >= (int)(sizeof(steps) / sizeof(steps[0])))
		return 0;
	*step = steps[ce.step];
	*err = ce.err;
	return 1;
}

int
wf_exec_kill(pid_t pgid, int sig)
{
	if (pgid <= 1)
		abort(); /* killing group 0 or 1 would hit the dispatcher */
	return kill(-pgid, sig);
}

static int
env_add(char ***vp, size_t *n, const char *k, const char *v)
{
	char **nv, *s;

	if (asprintf(&s, "%s=%s", k, v) == -1)
		return -1;
	/* A later value of the same name replaces the earlier one. */
	for (size_t i = 0; i < *n; i++) {
		size_t kl = strlen(k);

		if (strncmp((*vp)[i], k, kl) == 0 && (*vp)[i][kl] == '=') {
			free((*vp)[i]);
			(*vp)[i] = s;
			return 0;
		}
	}
	if ((nv = reallocarray(*vp, *n + 2, sizeof(*nv))) == NULL) {
		free(s);
		return -1;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*vp = nv;
	return 0;
}

int
wf_exec_env_put(char ***envp, const char *name, const char *value)
{
	size_t n = 0;

	while ((*envp)[n] != NULL)
		n++;
	return env_add(envp, &n, name, value);
}

char **
wf_exec_env(const cJSON *jobenv, const char *job_id)
{
	static const char *const keep[] = {
		"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ",
		"WF_HOME", "WF_CONFIG", "WF_BINDIR", NULL,
	};
	const cJSON *it;
	char **v;
	size_t n = 0;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	for (int i = 0; keep[i] != NULL; i++) {
		const char *val = getenv(keep[i]);

		if (val == NULL && strcmp(keep[i], "PATH") == 0)
			val = "/usr/local/bin:/usr/bin:/bin";
		if (val != NULL && env_add(&v, &n, keep[i], val) == -1)
			goto fail;
	}
	cJSON_ArrayForEach(it, jobenv) {
		if (cJSON_IsString(it) &&
		    env_add(&v, &n, it->string, it->valuestring) == -1)
			goto fail;
	}
	if (job_id != NULL && env_add(&v, &n, "WF_JOB_ID", job_id) == -1)
		goto fail;
	return v;
fail:
	wf_exec_env_free(v);
	return NULL;
}

char **
wf_exec_env_agent(const char *job_id)
{
	static const char *const model_vars[] = {
		"OLLAMA_HOST", "GOOSE_MODEL", "GOOSE_PROVIDER", "VISION_MODEL",
		"WORKFLOW_MAX_ITER", "WF_LLM_PROVIDER", "WF_LLM_BASE_URL",
		"WF_LLM_MODEL", "WF_LLM_TIMEOUT", "WF_LLM_NUM_CTX",
		"WF_LLM_MAX_TOKENS", "WF_LLM_API_KEY", "OPENAI_API_KEY",
		"OPENAI_BASE_URL",
		/* A model in the cloud may sit behind the user's proxy. */
		"http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
		"all_proxy", "NO_PROXY", "no_proxy", NULL,
	};
	cJSON *extra = cJSON_CreateObject();
	char **v;

	for (int i = 0; model_vars[i] != NULL; i++) {
		const char *val = getenv(model_vars[i]);

		if (val != NULL)
			cJSON_AddStringToObject(extra, model_vars[i], val);
	}
	v = wf_exec_env(extra, job_id);
	cJSON_Delete(extra);
	return v;
}

void
wf_exec_env_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
