/*
 * exec: the executor seam of wf-dispatch (start, kill; reaping is the
 * caller's waitpid).  The local executor runs a job as a child in its own
 * process group, with PR_SET_PDEATHSIG, a clean signal state, an
 * environment made only of what the job needs, stdin from /dev/null and
 * stdout+stderr into one pipe.  Another executor (a cluster's sbatch and
 * scancel) would keep this contract.
 */
#ifndef WF_EXEC_H
#define WF_EXEC_H

#include <stddef.h>
#include <sys/types.h>

struct wf_exec_spec {
	const char *const *argv; /* argv[0] is looked up in PATH */
	const char *const *envp; /* the child's whole environment */
	const char *cwd;         /* NULL: stay */
	int devnull_out;         /* 1: stdout/stderr to /dev/null, no pipe */
	int *infd;               /* non-NULL: stdin is a pipe whose write end
	                          * is returned here (a pre-started worker
	                          * reads its job id from it) */
	int *relfd;              /* non-NULL: the child's fd 3 is a pipe whose
	                          * read end (non-blocking) is returned here:
	                          * wf-agent writes to it when it no longer
	                          * holds its lane's resource (the model) */
	const int *gofd;         /* non-NULL: the child's fd 4 is a copy of
	                          * this fd, the read end of the release pipe
	                          * of the job it follows: a wf-agent handed
	                          * its job early (armed) starts on it only
	                          * once that pipe has a byte or its end */
};

/* Start a child.  Returns its pid (also its process group) and, unless
 * devnull_out, the read end of its output pipe in *outfd (O_CLOEXEC,
 * non-blocking).  The parent does not wait for the exec: *errfd is the
 * read end of a pipe on which the child reports a failed set-up or exec,
 * read with wf_exec_failed once the child has exited.  -1 with errno when
 * no child could be made. */
pid_t wf_exec_start(const struct wf_exec_spec *spec, int *outfd, int *errfd);
/* After the child exited: did its set-up or exec fail?  1 with *step
 * ("chdir", "execve"...) and *err (an errno), else 0.  Closes errfd. */
int wf_exec_failed(int errfd, const char **step, int *err);
/* execve with argv[0] looked up in the PATH of envp (a default PATH when
 * it has none), never our own environ; returns only on failure, errno
 * set.  Safe in the child of a vfork. */
void wf_exec_path(const char *file, char *const argv[], char *const envp[]);
/* Signal a job's whole process group. */
int wf_exec_kill(pid_t pgid, int sig);

/* Build a job's environment: a sane PATH, HOME, LANG, the job's own
 * variables (cJSON object of strings) and WF_JOB_ID.  Returns a
 * NULL-terminated malloc'd array of malloc'd strings. */
struct cJSON;
char **wf_exec_env(const struct cJSON *jobenv, const char *job_id);
/* The same for wf-agent, which also gets the variables the model calls
 * read (OLLAMA_HOST, GOOSE_MODEL, VISION_MODEL, WF_LLM_*, the API key, the
 * proxy settings but HTTP_PROXY, which a CGI-style caller may forge),
 * and nothing else of ours: a command job never sees them. */
char **wf_exec_env_agent(const char *job_id);
void wf_exec_env_free(char **envp);
/* Set one variable in an environment made by the above. */
int wf_exec_env_put(char ***envp, const char *name, const char *value);

#endif
