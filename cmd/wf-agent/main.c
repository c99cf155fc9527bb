/*
 * wf-agent: run ONE job and exit.  wf-dispatch starts it with the job's id
 * once the job sits in active/; wf-agent reads it there, does the work, and
 * writes its outcome whole beside it as active/<id>.result (tmp/ then
 * rename) before it exits.  It never moves the job file: that is
 * wf-dispatch's job, which finalises from the result even after a crash.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "exec.h"
#include "home.h"
#include "job.h"
#include "log.h"
#include "spool.h"

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-agent [-c config] ID\n"
	    "Run the job ID, which must sit in $WF_HOME/active/, and write its\n"
	    "outcome to active/ID.result.  wf-dispatch runs it; by hand it is\n"
	    "a way to re-run a claimed job in the foreground.\n"
	    "Job types: command (this build); llm_complete, llm_chat,\n"
	    "llm_query, vision_analyze and agent_run are not built yet and\n"
	    "fail with a clear error.\n"
	    "Exit status: 0 the job completed, 1 it failed, 65 the job file is\n"
	    "bad, 75 the result could not be written.\n");
	exit(code);
}

static pid_t child;

static void
forward(int sig)
{
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
	char **envp = NULL, *msg = NULL;
	pid_t pid;
	int ws, rc = -1;

	cwd = cJSON_GetObjectItemCaseSensitive(j->request_data, "cwd");
	env = cJSON_GetObjectItemCaseSensitive(j->request_data, "env");
	if (argv == NULL || (envp = wf_exec_env(env, j->id)) == NULL) {
		cJSON_AddStringToObject(res, "error_message", "out of memory");
		goto out;
	}
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

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char path[WF_NAME_MAX + 16], rname[WF_NAME_MAX + 16], err[512];
	char iso[WF_ISO_LEN], *buf = NULL, *out = NULL;
	const char *id;
	struct wf_job j;
	cJSON *res = NULL;
	size_t len;
	int c, root, rc, code = EX_SOFTWARE;

	wf_log_init("wf-agent", 0);
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			break; /* no setting of this build concerns the agent */
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
	if (argc - optind != 1)
		usage(EX_USAGE);
	id = argv[optind];
	if (!wf_spool_name_ok(id)) {
		wf_log_warn("%.80s: not a job id", id);
		return EX_USAGE;
	}
	if ((root = wf_spool_open(wf_home_dir())) == -1) {
		wf_log_warn("%s: %s", wf_home_dir(), strerror(errno));
		return EX_CONFIG;
	}
	signal(SIGTERM, forward);
	signal(SIGINT, forward);

	wf_job_init(&j);
	snprintf(path, sizeof(path), "active/%s", id);
	if (wf_spool_read(root, path, WF_JOB_MAX, &buf, &len) == -1) {
		wf_log_warn("%s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_DATAERR;
	}
	if (wf_job_parse(&j, buf, len, err, sizeof(err)) == -1) {
		wf_log_warn("%s: %s", path, err);
		free(buf);
		return EX_DATAERR;
	}
	strlcpy(j.id, id, sizeof(j.id));
	if ((res = cJSON_CreateObject()) == NULL)
		goto fail;
	cJSON_AddStringToObject(res, "started_at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	switch (j.type) {
	case WF_JT_COMMAND:
		rc = run_command(&j, res);
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
