/*
 * deploy: one step at a time, each recorded before the next starts, so
 * that the report says how far a deploy got.  The health check speaks HTTP
 * through libcurl; nothing here writes the spool.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "deploy.h"
#include "sandbox.h"
#include "http.h"

static size_t
sink(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

int
wf_deploy_health(
    const char *url, int timeout, long *status, char *err, size_t errlen)
{
	int64_t end = wf_clock_mono_ms() + (int64_t)timeout * 1000;
	CURL *h;
	CURLcode rc;

	*status = 0;
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen,
		    "health check: '%.200s' is not an http(s) "
		    "URL",
		    url);
		return -1;
	}
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "health check: curl cannot start");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	wf_http_noproxy(h);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "wf-agent/" WF_VERSION);
	for (;;) {
		rc = curl_easy_perform(h);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
			if (*status >= 200 && *status < 300)
				break;
			snprintf(err, errlen, "health check: %s answered %ld",
			    url, *status);
		} else
			snprintf(err, errlen, "health check: %s: %s", url,
			    curl_easy_strerror(rc));
		if (wf_clock_mono_ms() + 500 >= end) {
			curl_easy_cleanup(h);
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 500000000L }, NULL);
	}
	curl_easy_cleanup(h);
	return 0;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring
							      : NULL;
}

/* Where the steps run: the sandbox of an environment that asks for one. */
static const char *room_bwrap;
static const struct wf_sandbox *room;

/* sh -c cmd in cwd (in the room, when there is one); its exit status,
 * 128+signal, or -1. */
static int
shell(const char *cmd, const char *cwd)
{
	const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	char **argv = NULL;
	pid_t pid;
	int ws;

	fflush(stdout);
	if (room != NULL && (argv = wf_sandbox_argv(room_bwrap, room, sh)) ==
	    NULL)
		return -1;
	if ((pid = fork()) == -1) {
		free(argv);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (cwd != NULL && chdir(cwd) == -1) {
			fprintf(stderr, "deploy: chdir %s: %s\n", cwd,
			    strerror(errno));
			_exit(126);
		}
		dup2(STDOUT_FILENO, STDERR_FILENO);
		if (argv != NULL)
			execv(argv[0], argv);
		else
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(argv);
	while (waitpid(pid, &ws, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int
step_cmd(cJSON *steps, const char *name, const char *cmd, const char *cwd)
{
	int64_t t0 = wf_clock_mono_ms();
	cJSON *s = cJSON_CreateObject();
	int code;

	printf("== deploy: %s: %s\n", name, cmd);
	code = shell(cmd, cwd);
	cJSON_AddStringToObject(s, "step", name);
	cJSON_AddStringToObject(s, "command", cmd);
	cJSON_AddNumberToObject(s, "exit_code", code);
	cJSON_AddBoolToObject(s, "ok", code == 0);
	cJSON_AddNumberToObject(s, "ms", (double)(wf_clock_mono_ms() - t0));
	cJSON_AddItemToArray(steps, s);
	printf("== deploy: %s: exit %d\n", name, code);
	return code == 0 ? 0 : -1;
}

int
wf_deploy_run_in(const cJSON *env, const char *cwd, const char *bwrap,
    const struct wf_sandbox *sb, cJSON *steps, int *rolled_back, char *why,
    size_t whylen)
{
	int rc;

	room_bwrap = bwrap;
	room = sb;
	rc = wf_deploy_run(env, cwd, steps, rolled_back, why, whylen);
	room_bwrap = NULL;
	room = NULL;
	return rc;
}

int
wf_deploy_run(const cJSON *env, const char *cwd, cJSON *steps, int *rolled_back,
    char *why, size_t whylen)
{
	const char *deploy = str(env, "deploy_command");
	const char *url = str(env, "health_check_url");
	const char *hc = str(env, "health_check_command");
	const char *test = str(env, "test_command");
	const char *rb = str(env, "rollback_command");
	const cJSON *to =
	    cJSON_GetObjectItemCaseSensitive(env, "health_check_timeout");
	int timeout = cJSON_IsNumber(to) && to->valuedouble >= 1
	    ? (int)to->valuedouble
	    : 60;

	*rolled_back = 0;
	if (deploy == NULL) {
		snprintf(why, whylen, "environment %s has no deploy_command",
		    str(env, "name") ? str(env, "name") : "?");
		return -1;
	}
	if (step_cmd(steps, "deploy", deploy, cwd) == -1) {
		snprintf(why, whylen, "the deploy command failed");
		goto rollback;
	}
	if (url != NULL) {
		int64_t t0 = wf_clock_mono_ms();
		cJSON *s = cJSON_CreateObject();
		char err[512];
		long status;
		int ok;

		printf("== deploy: health check: GET %s (up to %ds)\n", url,
		    timeout);
		ok = wf_deploy_health(
			 url, timeout, &status, err, sizeof(err)) == 0;
		cJSON_AddStringToObject(s, "step", "health_check");
		cJSON_AddStringToObject(s, "url", url);
		cJSON_AddNumberToObject(s, "http_status", status);
		cJSON_AddBoolToObject(s, "ok", ok);
		if (!ok)
			cJSON_AddStringToObject(s, "error", err);
		cJSON_AddNumberToObject(
		    s, "ms", (double)(wf_clock_mono_ms() - t0));
		cJSON_AddItemToArray(steps, s);
		printf("== deploy: health check: %s\n", ok ? "ok" : err);
		if (!ok) {
			snprintf(why, whylen, "%s", err);
			goto rollback;
		}
	}
	if (hc != NULL && step_cmd(steps, "health_check", hc, cwd) == -1) {
		snprintf(why, whylen, "the health check command failed");
		goto rollback;
	}
	if (test != NULL && step_cmd(steps, "test", test, cwd) == -1) {
		snprintf(why, whylen, "the environment's test command failed");
		goto rollback;
	}
	snprintf(why, whylen, "deployed");
	return 1;
rollback:
	if (rb != NULL) {
		step_cmd(steps, "rollback", rb, cwd);
		*rolled_back = 1;
	}
	return 0;
}
