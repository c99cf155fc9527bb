/*
 * test_metrics: lib/metrics on a private tree.  Label values are escaped
 * as the format says; waiting jobs are counted by lane and priority; a
 * terminal record lands in the right buckets of the wait and run time
 * histograms, its outcome, retries and tokens (under an escaped model
 * name) are counted once however many scrapes read it, and a new one
 * adds exactly one; the logs' gate verdicts and deliveries are read on
 * from where the last scrape stopped; a daemon is up while it holds its
 * marker and down once it lets go.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "spool.h"

#define NOW INT64_C(1800000000000) /* wall ms of the tests */

struct tree {
	char home[PATH_MAX - 64];
	int root;
	struct wf_metrics *m;
	char *out;
	size_t len;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");
	struct tree *tr = calloc(1, sizeof(*tr));

	if (tr == NULL)
		return -1;
	snprintf(tr->home, sizeof(tr->home), "%s/wf-test-metrics.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tr->home) == NULL || wf_spool_init(tr->home) == -1 ||
	    (tr->root = wf_spool_open(tr->home)) == -1 ||
	    (tr->m = wf_metrics_new()) == NULL) {
		free(tr);
		return -1;
	}
	*state = tr;
	return 0;
}

static int
teardown(void **state)
{
	struct tree *tr = *state;

	free(tr->out);
	wf_metrics_free(tr->m);
	close(tr->root);
	nftw(tr->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tr);
	return 0;
}

static void
scrape(struct tree *tr)
{
	static const char *const lanes[] = { "llm", "command" };

	free(tr->out);
	tr->out = NULL;
	assert_int_equal(wf_metrics_render(tr->m, tr->root, lanes, 2, NOW,
			     &tr->out, &tr->len),
	    0);
	assert_int_equal(strlen(tr->out), tr->len);
	assert_true(tr->len > 0 && tr->out[tr->len - 1] == '\n');
}

/* The sample line "series value" is in the rendering, whole. */
static void
has(const struct tree *tr, const char *line)
{
	const char *p = tr->out;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == tr->out || p[-1] == '\n') && p[n] == '\n')
			return;
		p += n;
	}
	fail_msg("no line '%s' in:\n%s", line, tr->out);
}

static void
job(struct tree *tr, const char *dir, const char *name, int type,
    const char *lane, int prio, enum wf_jstatus st, int64_t created,
    int64_t started, int64_t ms, int attempt, const char *model, int in,
    int out)
{
	struct wf_job j;
	char *s;

	wf_job_init(&j);
	strlcpy(j.id, name, sizeof(j.id));
	j.type = type;
	strlcpy(j.lane, lane, sizeof(j.lane));
	j.priority = prio;
	j.timeout = 60;
	j.status = st;
	j.created_at = created;
	j.attempt = attempt;
	j.request_data = cJSON_CreateObject();
	if (type == WF_JT_COMMAND) {
		cJSON *argv = cJSON_AddArrayToObject(j.request_data, "argv");

		cJSON_AddItemToArray(argv, cJSON_CreateString("true"));
	} else
		cJSON_AddStringToObject(j.request_data, "prompt", "hi");
	if (started > 0) {
		j.started_at = started;
		j.completed_at = started + ms;
		j.duration_ms = ms;
		j.exit_code = st == WF_JS_COMPLETED ? 0 : 1;
	}
	if (model != NULL) {
		cJSON *u;

		j.result_data = cJSON_CreateObject();
		cJSON_AddStringToObject(j.result_data, "model", model);
		u = cJSON_AddObjectToObject(j.result_data, "usage");
		cJSON_AddNumberToObject(u, "prompt_tokens", in);
		cJSON_AddNumberToObject(u, "completion_tokens", out);
	}
	assert_non_null(s = wf_job_format(&j));
	assert_int_equal(
	    wf_spool_write(tr->root, "tmp", dir, name, s, strlen(s), 0), 0);
	free(s);
	wf_job_free(&j);
}

static void
append(struct tree *tr, const char *path, const char *line)
{
	int fd = openat(tr->root, path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
}

static void
test_escape(void **state)
{
	char out[64];

	(void)state;
	wf_metrics_escape("a\"b\\c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\"b\\\\c\\nd");
	/* UTF-8 kept, a stray byte replaced */
	wf_metrics_escape("caf\xc3\xa9 \xff!", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 ?!");
	/* Truncated whole: never half an escape or half a character. */
	wf_metrics_escape("ab\"", out, 4);
	assert_string_equal(out, "ab");
	wf_metrics_escape("a\xc3\xa9", out, 3);
	assert_string_equal(out, "a");
	wf_metrics_escape("", out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_waiting(void **state)
{
	struct tree *tr = *state;

	job(tr, "queue/2-high/new", "1.a", WF_JT_COMMAND, "command", 2,
	    WF_JS_PENDING, NOW - 90000, 0, 0, 0, NULL, 0, 0);
	job(tr, "queue/2-high/new", "2.a", WF_JT_COMMAND, "command", 2,
	    WF_JS_PENDING, NOW - 30000, 0, 0, 0, NULL, 0, 0);
	job(tr, "queue/4-low/new", "3.a", WF_JT_LLM_COMPLETE, "llm", 4,
	    WF_JS_PENDING, NOW - 5000, 0, 0, 0, NULL, 0, 0);
	job(tr, "deferred", "4.a", WF_JT_COMMAND, "command", 3,
	    WF_JS_PENDING, NOW - 1000, 0, 0, 1, NULL, 0, 0);
	/* active/ with a pid file: running; without: armed, waiting */
	job(tr, "active", "5.a", WF_JT_COMMAND, "command", 3, WF_JS_RUNNING,
	    NOW - 1000, 0, 0, 0, NULL, 0, 0);
	append(tr, "active/5.a.pid", "1 2027-01-15T08:00:00.000Z\n");
	scrape(tr);
	has(tr, "wf_jobs_waiting{lane=\"command\",priority=\"high\"} 2");
	has(tr, "wf_jobs_waiting{lane=\"command\",priority=\"normal\"} 1");
	has(tr, "wf_jobs_waiting{lane=\"command\",priority=\"critical\"} 0");
	has(tr, "wf_jobs_waiting{lane=\"llm\",priority=\"low\"} 1");
	has(tr, "wf_job_oldest_waiting_seconds{lane=\"command\"} 90.000");
	has(tr, "wf_job_oldest_waiting_seconds{lane=\"llm\"} 5.000");
	has(tr, "wf_jobs_running{lane=\"command\"} 1");
	has(tr, "wf_jobs_running{lane=\"llm\"} 0");
	/* The job leaves: the next scrape says so (from the cache too). */
	assert_int_equal(unlinkat(tr->root, "queue/2-high/new/1.a", 0), 0);
	assert_int_equal(unlinkat(tr->root, "active/5.a.pid", 0), 0);
	scrape(tr);
	has(tr, "wf_jobs_waiting{lane=\"command\",priority=\"high\"} 1");
	has(tr, "wf_jobs_waiting{lane=\"command\",priority=\"normal\"} 2");
	has(tr, "wf_jobs_running{lane=\"command\"} 0");
	has(tr, "wf_job_oldest_waiting_seconds{lane=\"command\"} 30.000");
}

static void
test_ended(void **state)
{
	struct tree *tr = *state;

	/* waited 2 s, ran 0.3 s, 120 + 30 tokens, one retry */
	job(tr, "done", "1.d", WF_JT_LLM_COMPLETE, "llm", 3, WF_JS_COMPLETED,
	    NOW - 10000, NOW - 8000, 300, 2, "m\"1\\x\ny", 120, 30);
	/* a timeout after 3 attempts */
	job(tr, "failed", "2.d", WF_JT_COMMAND, "command", 3, WF_JS_TIMEOUT,
	    NOW - 10000, NOW - 9990, 5000, 3, NULL, 0, 0);
	/* cancelled while waiting: an outcome, no wait or run time */
	job(tr, "cancelled", "3.d", WF_JT_COMMAND, "command", 3,
	    WF_JS_CANCELLED, NOW - 10000, 0, 0, 0, NULL, 0, 0);
	for (int i = 0; i < 2; i++) {
		scrape(tr); /* a second scrape counts nothing twice */
		has(tr, "wf_job_wait_seconds_bucket{lane=\"llm\","
			"type=\"llm_complete\",le=\"1\"} 0");
		has(tr, "wf_job_wait_seconds_bucket{lane=\"llm\","
			"type=\"llm_complete\",le=\"2.5\"} 1");
		has(tr, "wf_job_wait_seconds_bucket{lane=\"llm\","
			"type=\"llm_complete\",le=\"+Inf\"} 1");
		has(tr, "wf_job_wait_seconds_sum{lane=\"llm\","
			"type=\"llm_complete\"} 2.000");
		has(tr, "wf_job_wait_seconds_count{lane=\"llm\","
			"type=\"llm_complete\"} 1");
		has(tr, "wf_job_run_seconds_bucket{lane=\"llm\","
			"type=\"llm_complete\",le=\"0.25\"} 0");
		has(tr, "wf_job_run_seconds_bucket{lane=\"llm\","
			"type=\"llm_complete\",le=\"0.5\"} 1");
		has(tr, "wf_job_run_seconds_bucket{lane=\"command\","
			"type=\"command\",le=\"5\"} 1");
		has(tr, "wf_job_run_seconds_count{lane=\"command\","
			"type=\"command\"} 1");
		has(tr, "wf_jobs_ended_total{lane=\"llm\","
			"type=\"llm_complete\",outcome=\"completed\"} 1");
		has(tr, "wf_jobs_ended_total{lane=\"command\","
			"type=\"command\",outcome=\"timeout\"} 1");
		has(tr, "wf_jobs_ended_total{lane=\"command\","
			"type=\"command\",outcome=\"cancelled\"} 1");
		has(tr, "wf_job_retries_total{lane=\"llm\","
			"type=\"llm_complete\"} 1");
		has(tr, "wf_job_retries_total{lane=\"command\","
			"type=\"command\"} 2");
		has(tr, "wf_llm_tokens_total{model=\"m\\\"1\\\\x\\ny\","
			"direction=\"in\"} 120");
		has(tr, "wf_llm_tokens_total{model=\"m\\\"1\\\\x\\ny\","
			"direction=\"out\"} 30");
		has(tr, "wf_metrics_records_behind 0");
	}
	job(tr, "done", "4.d", WF_JT_LLM_COMPLETE, "llm", 3, WF_JS_COMPLETED,
	    NOW - 10000, NOW - 9000, 100, 1, "m\"1\\x\ny", 5, 1);
	scrape(tr);
	has(tr, "wf_jobs_ended_total{lane=\"llm\","
		"type=\"llm_complete\",outcome=\"completed\"} 2");
	has(tr, "wf_job_wait_seconds_count{lane=\"llm\","
		"type=\"llm_complete\"} 2");
	has(tr, "wf_llm_tokens_total{model=\"m\\\"1\\\\x\\ny\","
		"direction=\"in\"} 125");
}

static void
test_logs(void **state)
{
	struct tree *tr = *state;

	append(tr, "log/audit.jsonl",
	    "{\"action\":\"run.report_submitted\",\"entity_type\":\"run\","
	    "\"details\":{\"role\":\"qa\",\"status\":\"pass\"}}\n"
	    "{\"action\":\"run.gate_failed\",\"entity_type\":\"run\","
	    "\"details\":{\"role\":\"security\",\"reason\":\"x\"}}\n"
	    "{\"action\":\"job.completed\"}\n"
	    "{\"action\":\"run.report_submitted\",\"details\":{\"role\":"
	    "\"dev\",\"status\":\"pass\"}}\n"
	    /* not whole yet: read once its line ends */
	    "{\"action\":\"run.report_submitted\",\"details\":{\"role\":"
	    "\"qa\",");
	append(tr, "log/deliveries.jsonl",
	    "{\"delivery\":\"a\",\"outcome\":\"retry\"}\n"
	    "{\"delivery\":\"a\",\"outcome\":\"dead\"}\n"
	    "{\"delivery\":\"b\",\"outcome\":\"delivered\"}\n");
	append(tr, "events/dead/a", "{}");
	append(tr, "events/deferred/c.w1", "{}");
	append(tr, "events/deferred/d.w1", "{}");
	scrape(tr);
	has(tr, "wf_gate_reports_total{role=\"qa\",status=\"pass\"} 1");
	has(tr, "wf_gate_reports_total{role=\"dev\",status=\"pass\"} 1");
	has(tr, "wf_gate_reports_total{role=\"qa\",status=\"fail\"} 0");
	has(tr, "wf_gate_refusals_total{role=\"security\"} 1");
	has(tr, "wf_webhook_deliveries_total{outcome=\"retry\"} 1");
	has(tr, "wf_webhook_deliveries_total{outcome=\"dead\"} 1");
	has(tr, "wf_webhook_deliveries_total{outcome=\"delivered\"} 1");
	has(tr, "wf_webhook_dead_letters 1");
	has(tr, "wf_webhook_deliveries_pending 2");
	append(tr, "log/audit.jsonl", "\"status\":\"fail\"}}\n");
	scrape(tr);
	has(tr, "wf_gate_reports_total{role=\"qa\",status=\"pass\"} 1");
	has(tr, "wf_gate_reports_total{role=\"qa\",status=\"fail\"} 1");
	has(tr, "wf_gate_reports_total{role=\"dev\",status=\"pass\"} 1");
	has(tr, "wf_webhook_deliveries_total{outcome=\"delivered\"} 1");
	/* Rotated: the old file's tail is read, then the new one. */
	append(tr, "log/deliveries.jsonl",
	    "{\"delivery\":\"c\",\"outcome\":\"delivered\"}\n");
	assert_int_equal(renameat(tr->root, "log/deliveries.jsonl", tr->root,
			     "log/deliveries.jsonl.1"),
	    0);
	append(tr, "log/deliveries.jsonl",
	    "{\"delivery\":\"d\",\"outcome\":\"delivered\"}\n");
	scrape(tr);
	has(tr, "wf_webhook_deliveries_total{outcome=\"delivered\"} 3");
}

static void
test_daemons(void **state)
{
	struct tree *tr = *state;
	pid_t pid;
	int fd, fd2;

	scrape(tr);
	has(tr, "wf_daemon_up{daemon=\"wf-gate\"} 0");
	assert_int_equal(wf_daemon_holder(tr->root, "wf-gate"), 0);
	assert_true((fd = wf_daemon_lock(tr->root, "wf-gate", &pid)) != -1);
	assert_int_equal(wf_daemon_up(tr->root, "wf-gate"), 1);
	assert_int_equal(wf_daemon_holder(tr->root, "wf-gate"), getpid());
	/* A twin is refused and told who holds the lock; asking took
	 * nothing. */
	assert_int_equal(wf_daemon_lock(tr->root, "wf-gate", &pid), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(pid, getpid());
	assert_int_equal(wf_daemon_start(tr->root, "home", "wf-gate", &fd2),
	    EX_TEMPFAIL);
	scrape(tr);
	has(tr, "wf_daemon_up{daemon=\"wf-gate\"} 1");
	has(tr, "wf_daemon_up{daemon=\"wf-dispatch\"} 0");
	close(fd);
	assert_int_equal(wf_daemon_up(tr->root, "wf-gate"), 0);
	assert_int_equal(wf_daemon_holder(tr->root, "wf-gate"), 0);
	scrape(tr);
	has(tr, "wf_daemon_up{daemon=\"wf-gate\"} 0");
	/* Free again: the next one takes it. */
	assert_int_equal(wf_daemon_start(tr->root, "home", "wf-gate", &fd2), 0);
	assert_int_equal(wf_daemon_up(tr->root, "wf-gate"), 1);
	close(fd2);
	assert_int_equal(wf_daemon_lock(tr->root, "../x", &pid), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test_setup_teardown(test_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemons, setup, teardown),
	};

	wf_log_init("test_metrics", 0);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
