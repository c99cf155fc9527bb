/*
 * test_job: job JSON <-> struct wf_job (lib/job.c).  Parse, format and
 * parse again keeps every field; the seed's enqueue shape gets its
 * defaults; priorities, types, default lanes and timeouts; every rejection
 * returns -1 with a reason naming the field, and frees what it made (the
 * sanitizer build checks that); only the first len bytes of a buffer count;
 * wf_job_argv.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "job.h"

#define FULL_JOB \
	"{\"id\":\"1795589301.M852664P32186Q7R3fa9\"," \
	"\"job_type\":\"command\",\"lane\":\"batch-2\",\"priority\":2," \
	"\"status\":\"pending\"," \
	"\"request_data\":{\"argv\":[\"/bin/echo\",\"hello world\",\"\"," \
	"\"\\u00e9\\n\"],\"cwd\":\"/tmp\",\"env\":{\"FOO\":\"bar\"," \
	"\"_X1\":\"\"}}," \
	"\"timeout\":42,\"max_attempts\":5,\"attempt\":1," \
	"\"not_before\":\"2026-11-25T06:48:21.123Z\"," \
	"\"created_at\":\"2026-11-25T06:40:00.000Z\"," \
	"\"project_id\":7,\"task_id\":1125899906842624,\"run_id\":3}"

#define DONE_JOB \
	"{\"id\":\"job-1_x.y\",\"job_type\":\"llm_chat\",\"priority\":1," \
	"\"status\":\"completed\",\"request_data\":{\"messages\":" \
	"[{\"role\":\"user\",\"content\":\"Hi\"}],\"n\":[1,2.5,null,true]}," \
	"\"timeout\":30,\"attempt\":2,\"not_before\":null," \
	"\"created_at\":\"2026-11-25T06:40:00Z\",\"project_id\":null," \
	"\"task_id\":null,\"run_id\":null," \
	"\"started_at\":\"2026-11-25T06:40:01.500Z\"," \
	"\"completed_at\":\"2026-11-25T06:40:03.750Z\",\"exit_code\":0," \
	"\"worker_pid\":4321,\"duration_ms\":2250," \
	"\"result_data\":{\"text\":\"Hello\",\"tokens\":5}," \
	"\"error_message\":\"none \\\"really\\\"\"}"

static int
parse_str(struct wf_job *j, const char *s, char *err, size_t errlen)
{
	return wf_job_parse(j, s, strlen(s), err, errlen);
}

static void
assert_same_job(const struct wf_job *a, const struct wf_job *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->lane, b->lane);
	assert_int_equal(a->priority, b->priority);
	assert_int_equal(a->timeout, b->timeout);
	assert_int_equal(a->max_attempts, b->max_attempts);
	assert_int_equal(a->attempt, b->attempt);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->project_id, b->project_id);
	assert_int_equal(a->task_id, b->task_id);
	assert_int_equal(a->run_id, b->run_id);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->exit_code, b->exit_code);
	assert_int_equal(a->started_at, b->started_at);
	assert_int_equal(a->completed_at, b->completed_at);
	assert_int_equal(a->worker_pid, b->worker_pid);
	assert_int_equal(a->duration_ms, b->duration_ms);
	assert_non_null(a->request_data);
	assert_non_null(b->request_data);
	assert_true(cJSON_Compare(a->request_data, b->request_data, 1));
	if (a->result_data == NULL)
		assert_null(b->result_data);
	else {
		assert_non_null(b->result_data);
		assert_true(cJSON_Compare(a->result_data, b->result_data, 1));
	}
	if (a->error_message == NULL)
		assert_null(b->error_message);
	else {
		assert_non_null(b->error_message);
		assert_string_equal(a->error_message, b->error_message);
	}
}

/* Parse s, format, parse the result; both parses must agree. */
static void
round_trip(const char *s, struct wf_job *a, struct wf_job *b)
{
	char err[256] = "";
	char *f;

	if (parse_str(a, s, err, sizeof(err)) != 0)
		fail_msg("first parse: %s", err);
	assert_non_null(f = wf_job_format(a));
	if (parse_str(b, f, err, sizeof(err)) != 0)
		fail_msg("second parse: %s of %s", err, f);
	free(f);
	assert_same_job(a, b);
}

static void
test_round_trip_full(void **state)
{
	struct wf_job a, b;
	const cJSON *rd, *argv, *env;

	(void)state;
	round_trip(FULL_JOB, &a, &b);
	/* And the values are the ones written. */
	assert_string_equal(a.id, "1795589301.M852664P32186Q7R3fa9");
	assert_int_equal(a.type, WF_JT_COMMAND);
	assert_string_equal(a.lane, "batch-2");
	assert_int_equal(a.priority, 2);
	assert_int_equal(a.timeout, 42);
	assert_int_equal(a.max_attempts, 5);
	assert_int_equal(a.attempt, 1);
	assert_int_equal(a.not_before, INT64_C(1795589301123));
	assert_int_equal(a.created_at, INT64_C(1795588800000));
	assert_int_equal(a.project_id, 7);
	assert_int_equal(a.task_id, INT64_C(1) << 50);
	assert_int_equal(a.run_id, 3);
	assert_int_equal(a.status, WF_JS_PENDING);
	assert_int_equal(a.exit_code, -1);
	assert_int_equal(a.started_at, 0);
	assert_null(a.result_data);
	assert_null(a.error_message);
	rd = b.request_data;
	argv = cJSON_GetObjectItemCaseSensitive(rd, "argv");
	assert_int_equal(cJSON_GetArraySize(argv), 4);
	assert_string_equal(cJSON_GetArrayItem(argv, 1)->valuestring,
	    "hello world");
	assert_string_equal(cJSON_GetArrayItem(argv, 2)->valuestring, "");
	assert_string_equal(cJSON_GetArrayItem(argv, 3)->valuestring,
	    "\xc3\xa9\n");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(rd,
	    "cwd")->valuestring, "/tmp");
	env = cJSON_GetObjectItemCaseSensitive(rd, "env");
	assert_int_equal(cJSON_GetArraySize(env), 2);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(env,
	    "FOO")->valuestring, "bar");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(env,
	    "_X1")->valuestring, "");
	wf_job_free(&a);
	wf_job_free(&b);
	/* wf_job_free leaves nothing to free twice. */
	assert_null(a.request_data);
	wf_job_free(&a);
}

static void
test_round_trip_done(void **state)
{
	struct wf_job a, b;

	(void)state;
	round_trip(DONE_JOB, &a, &b);
	assert_int_equal(a.type, WF_JT_LLM_CHAT);
	assert_string_equal(a.lane, "llm");
	assert_int_equal(a.status, WF_JS_COMPLETED);
	assert_int_equal(a.started_at, INT64_C(1795588801500));
	assert_int_equal(a.completed_at, INT64_C(1795588803750));
	assert_int_equal(a.exit_code, 0);
	assert_int_equal(a.worker_pid, 4321);
	assert_int_equal(a.duration_ms, 2250);
	assert_int_equal(a.not_before, 0);
	assert_int_equal(a.project_id, 0);
	assert_non_null(a.result_data);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(a.result_data,
	    "text")->valuestring, "Hello");
	assert_non_null(a.error_message);
	assert_string_equal(a.error_message, "none \"really\"");
	wf_job_free(&a);
	wf_job_free(&b);
}

static void
test_seed_shape(void **state)
{
	const char *s = "{\"job_type\":\"llm_complete\",\"request_data\":"
	    "{\"prompt\":\"Hello\"},\"priority\":3,\"timeout\":300}";
	char err[256] = "";
	struct wf_job j;
	const cJSON *p;

	(void)state;
	if (parse_str(&j, s, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(j.type, WF_JT_LLM_COMPLETE);
	assert_string_equal(j.lane, "llm");
	assert_int_equal(j.priority, 3);
	assert_int_equal(j.timeout, 300);
	assert_int_equal(j.attempt, 0);
	assert_int_equal(j.max_attempts, 0);
	assert_int_equal(j.status, WF_JS_PENDING);
	assert_int_equal(j.exit_code, -1);
	assert_int_equal(j.not_before, 0);
	assert_int_equal(j.created_at, 0);
	assert_int_equal(j.project_id, 0);
	assert_string_equal(j.id, "");
	p = cJSON_GetObjectItemCaseSensitive(j.request_data, "prompt");
	assert_true(cJSON_IsString(p));
	assert_string_equal(p->valuestring, "Hello");
	wf_job_free(&j);

	/* Only job_type: priority normal, an empty request_data. */
	if (parse_str(&j, "{\"job_type\":\"llm_query\"}", err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(j.priority, 3);
	assert_true(cJSON_IsObject(j.request_data));
	assert_int_equal(cJSON_GetArraySize(j.request_data), 0);
	wf_job_free(&j);
}

static void
test_priority(void **state)
{
	static const struct {
		const char *v;
		int prio;
	} ok[] = {
		{ "1", 1 }, { "2", 2 }, { "3", 3 }, { "4", 4 },
		{ "\"critical\"", 1 }, { "\"high\"", 2 }, { "\"normal\"", 3 },
		{ "\"low\"", 4 }, { "\"CRITICAL\"", 1 }, { "\"High\"", 2 },
		{ "\"nOrMaL\"", 3 }, { "\"LOW\"", 4 }, { "\"1\"", 1 },
		{ "\"2\"", 2 }, { "\"3\"", 3 }, { "\"4\"", 4 },
	};
	char buf[128], err[256] = "";
	struct wf_job j;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf),
		    "{\"job_type\":\"llm_complete\",\"priority\":%s}", ok[i].v);
		if (parse_str(&j, buf, err, sizeof(err)) != 0)
			fail_msg("%s: %s", buf, err);
		assert_int_equal(j.priority, ok[i].prio);
		wf_job_free(&j);
	}
	assert_int_equal(wf_job_prio_parse("critical"), 1);
	assert_int_equal(wf_job_prio_parse("LOW"), 4);
	assert_int_equal(wf_job_prio_parse("3"), 3);
	assert_int_equal(wf_job_prio_parse("0"), -1);
	assert_int_equal(wf_job_prio_parse("5"), -1);
	assert_int_equal(wf_job_prio_parse("11"), -1);
	assert_int_equal(wf_job_prio_parse(""), -1);
	assert_int_equal(wf_job_prio_parse("urgent"), -1);
	assert_int_equal(wf_job_prio_parse(NULL), -1);
	for (int p = 1; p <= WF_NPRIO; p++)
		assert_int_equal(wf_job_prio_parse(wf_job_prio_name(p)), p);
	assert_string_equal(wf_job_prio_name(1), "critical");
	assert_string_equal(wf_job_prio_name(4), "low");
}

static void
test_type_defaults(void **state)
{
	static const struct {
		const char *type;
		enum wf_jtype t;
		const char *lane;
		int timeout;
	} d[] = {
		{ "llm_complete", WF_JT_LLM_COMPLETE, "llm", 300 },
		{ "llm_chat", WF_JT_LLM_CHAT, "llm", 300 },
		{ "llm_query", WF_JT_LLM_QUERY, "llm", 300 },
		{ "vision_analyze", WF_JT_VISION_ANALYZE, "vision", 120 },
		{ "agent_run", WF_JT_AGENT_RUN, "agent", 600 },
		{ "command", WF_JT_COMMAND, "command", 300 },
	};
	char buf[256], err[256] = "";
	struct wf_job j;

	(void)state;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		assert_int_equal(wf_job_type_parse(d[i].type), d[i].t);
		assert_string_equal(wf_job_type_name(d[i].t), d[i].type);
		assert_string_equal(wf_job_default_lane(d[i].t), d[i].lane);
		assert_int_equal(wf_job_default_timeout(d[i].t), d[i].timeout);
		snprintf(buf, sizeof(buf), "{\"job_type\":\"%s\"%s}", d[i].type,
		    d[i].t == WF_JT_COMMAND ?
		    ",\"request_data\":{\"argv\":[\"true\"]}" : "");
		if (parse_str(&j, buf, err, sizeof(err)) != 0)
			fail_msg("%s: %s", buf, err);
		assert_int_equal(j.type, d[i].t);
		assert_string_equal(j.lane, d[i].lane);
		assert_int_equal(j.timeout, d[i].timeout);
		wf_job_free(&j);
	}
	/* Every type name parses back to itself. */
	for (int t = 0; t < WF_JT_COUNT; t++)
		assert_int_equal(wf_job_type_parse(wf_job_type_name(t)), t);
	assert_int_equal(wf_job_type_parse("LLM_COMPLETE"), -1);
	assert_int_equal(wf_job_type_parse(NULL), -1);
	/* An explicit lane and timeout win over the defaults. */
	if (parse_str(&j, "{\"job_type\":\"agent_run\",\"lane\":\"gpu\","
	    "\"timeout\":7}", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(j.lane, "gpu");
	assert_int_equal(j.timeout, 7);
	wf_job_free(&j);
}

static void
test_status(void **state)
{
	(void)state;
	for (int s = 0; s < WF_JS_COUNT; s++)
		assert_int_equal(wf_job_status_parse(wf_job_status_name(s)), s);
	assert_int_equal(wf_job_status_parse("done"), -1);
	assert_false(wf_job_status_terminal(WF_JS_PENDING));
	assert_false(wf_job_status_terminal(WF_JS_RUNNING));
	assert_true(wf_job_status_terminal(WF_JS_COMPLETED));
	assert_true(wf_job_status_terminal(WF_JS_FAILED));
	assert_true(wf_job_status_terminal(WF_JS_TIMEOUT));
	assert_true(wf_job_status_terminal(WF_JS_CANCELLED));
}

/* Jobs that must be refused, and a word the reason must contain. */
#define LLM "\"job_type\":\"llm_complete\""
#define CMD(rd) "{\"job_type\":\"command\",\"request_data\":" rd "}"
static const struct {
	const char *json;
	const char *field;
} bad[] = {
	{ "{\"job_type\":", "JSON" },
	{ "", "JSON" },
	{ "{" LLM ",}", "JSON" },
	{ "{" LLM "} x", "trailing" },
	{ "{" LLM "}{}", "trailing" },
	{ "[{" LLM "}]", "object" },
	{ "\"llm_complete\"", "object" },
	{ "null", "object" },
	{ "{" LLM ",\"bogus\":1}", "bogus" },
	{ "{" LLM ",\"Priority\":1}", "Priority" },
	{ "{\"priority\":1}", "job_type" },
	{ "{}", "job_type" },
	{ "{\"job_type\":\"frobnicate\"}", "job_type" },
	{ "{\"job_type\":\"\"}", "job_type" },
	{ "{\"job_type\":1}", "job_type" },
	{ "{\"job_type\":null}", "job_type" },
	{ "{" LLM ",\"priority\":0}", "priority" },
	{ "{" LLM ",\"priority\":5}", "priority" },
	{ "{" LLM ",\"priority\":-1}", "priority" },
	{ "{" LLM ",\"priority\":\"urgent\"}", "priority" },
	{ "{" LLM ",\"priority\":2.5}", "priority" },
	{ "{" LLM ",\"priority\":\"0\"}", "priority" },
	{ "{" LLM ",\"priority\":\"5\"}", "priority" },
	{ "{" LLM ",\"priority\":\"\"}", "priority" },
	{ "{" LLM ",\"priority\":\" 1\"}", "priority" },
	{ "{" LLM ",\"priority\":true}", "priority" },
	{ "{" LLM ",\"priority\":null}", "priority" },
	{ "{" LLM ",\"timeout\":0}", "timeout" },
	{ "{" LLM ",\"timeout\":-1}", "timeout" },
	{ "{" LLM ",\"timeout\":\"10\"}", "timeout" },
	{ "{" LLM ",\"timeout\":1e9}", "timeout" },
	{ "{" LLM ",\"timeout\":604801}", "timeout" },
	{ "{" LLM ",\"timeout\":1.5}", "timeout" },
	{ "{" LLM ",\"max_attempts\":0}", "max_attempts" },
	{ "{" LLM ",\"max_attempts\":101}", "max_attempts" },
	{ "{" LLM ",\"max_attempts\":\"3\"}", "max_attempts" },
	{ "{" LLM ",\"attempt\":-1}", "attempt" },
	{ "{\"job_type\":\"command\"}", "argv" },
	{ CMD("{}"), "argv" },
	{ CMD("{\"argv\":[]}"), "argv" },
	{ CMD("{\"argv\":\"ls -l\"}"), "argv" },
	{ CMD("{\"argv\":[\"ls\",1]}"), "argv" },
	{ CMD("{\"argv\":[\"ls\",null]}"), "argv" },
	{ CMD("{\"argv\":[\"ls\"],\"cwd\":\"tmp\"}"), "cwd" },
	{ CMD("{\"argv\":[\"ls\"],\"cwd\":\"\"}"), "cwd" },
	{ CMD("{\"argv\":[\"ls\"],\"cwd\":1}"), "cwd" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":{\"1X\":\"a\"}}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":{\"A-B\":\"a\"}}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":{\"\":\"a\"}}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":{\"A=B\":\"a\"}}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":{\"A\":1}}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":{\"A\":null}}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"env\":[\"A=1\"]}"), "env" },
	{ CMD("{\"argv\":[\"ls\"],\"stdin\":\"x\"}"), "stdin" },
	{ CMD("[\"ls\"]"), "request_data" },
	{ "{" LLM ",\"request_data\":\"Hello\"}", "request_data" },
	{ "{" LLM ",\"id\":\"a/b\"}", "id" },
	{ "{" LLM ",\"id\":\"..\"}", "id" },
	{ "{" LLM ",\"id\":\"\"}", "id" },
	{ "{" LLM ",\"id\":\"a b\"}", "id" },
	{ "{" LLM ",\"id\":7}", "id" },
	{ "{" LLM ",\"not_before\":\"tomorrow\"}", "not_before" },
	{ "{" LLM ",\"not_before\":\"2026-11-25\"}", "not_before" },
	{ "{" LLM ",\"not_before\":\"2026-11-25T06:48:21\"}", "not_before" },
	{ "{" LLM ",\"not_before\":1795589301123}", "not_before" },
	{ "{" LLM ",\"created_at\":\"yesterday\"}", "created_at" },
	{ "{" LLM ",\"lane\":\"A/B\"}", "lane" },
	{ "{" LLM ",\"lane\":\"abcdefghijklmnop\"}", "lane" },
	{ "{" LLM ",\"project_id\":0}", "project_id" },
	{ "{" LLM ",\"project_id\":\"7\"}", "project_id" },
	{ "{" LLM ",\"task_id\":-3}", "task_id" },
	{ "{" LLM ",\"run_id\":1.5}", "run_id" },
	{ "{" LLM ",\"status\":\"done\"}", "status" },
	{ "{" LLM ",\"exit_code\":256}", "exit_code" },
	{ "{" LLM ",\"worker_pid\":-2}", "worker_pid" },
	{ "{" LLM ",\"error_message\":5}", "error_message" },
	/* A good field before a bad one: what was taken is freed. */
	{ "{" LLM ",\"result_data\":{\"a\":[1]},\"error_message\":\"e\","
	    "\"request_data\":{\"p\":1},\"bogus\":1}", "bogus" },
	{ CMD("{\"argv\":[\"ls\"],\"x\":1}"), "request_data.x" },
};

static void
test_rejections(void **state)
{
	char err[256];
	struct wf_job j;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strlcpy(err, "", sizeof(err));
		if (parse_str(&j, bad[i].json, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].json);
		if (strstr(err, bad[i].field) == NULL)
			fail_msg("reason for %s is '%s', not naming '%s'",
			    bad[i].json, err, bad[i].field);
		assert_null(j.request_data);
		assert_null(j.result_data);
		assert_null(j.error_message);
	}
}

static void
test_too_big(void **state)
{
	static const char head[] = "{\"job_type\":\"llm_complete\"}";
	char err[256] = "";
	struct wf_job j;
	char *buf;

	(void)state;
	/* A valid job padded with blanks to the limit passes ... */
	assert_non_null(buf = malloc(WF_JOB_MAX + 1));
	memset(buf, ' ', WF_JOB_MAX + 1);
	memcpy(buf, head, sizeof(head) - 1);
	if (wf_job_parse(&j, buf, WF_JOB_MAX, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(j.type, WF_JT_LLM_COMPLETE);
	wf_job_free(&j);
	/* ... one byte more does not. */
	strlcpy(err, "", sizeof(err));
	assert_int_equal(wf_job_parse(&j, buf, WF_JOB_MAX + 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
	assert_null(j.request_data);
	free(buf);
}

/* Parse the first len bytes of s, from a copy with no NUL after them. */
static int
parse_prefix(struct wf_job *j, const char *s, size_t len, char *err,
    size_t errlen)
{
	char *buf;
	int rc;

	assert_non_null(buf = malloc(len > 0 ? len : 1));
	memcpy(buf, s, len);
	rc = wf_job_parse(j, buf, len, err, errlen);
	free(buf);
	return rc;
}

static void
test_len_prefix(void **state)
{
	const char *obj = "{\"job_type\":\"vision_analyze\",\"priority\":1}";
	char s[256], err[256] = "";
	struct wf_job j;
	size_t n = strlen(obj);

	(void)state;
	snprintf(s, sizeof(s), "%s{\"job_type\":\"bogus\"} trailing junk",
	    obj);
	/* The object alone counts: what follows is never looked at. */
	if (parse_prefix(&j, s, n, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(j.type, WF_JT_VISION_ANALYZE);
	assert_int_equal(j.priority, 1);
	wf_job_free(&j);
	/* Also with the string still NUL-terminated further on. */
	if (wf_job_parse(&j, s, n, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(j.type, WF_JT_VISION_ANALYZE);
	wf_job_free(&j);
	/* Trailing blanks inside len are fine. */
	snprintf(s, sizeof(s), "%s \n\t\r", obj);
	if (parse_prefix(&j, s, strlen(s), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	wf_job_free(&j);
	/* Every shorter prefix is incomplete JSON. */
	for (size_t k = 0; k < n; k++) {
		if (parse_prefix(&j, obj, k, err, sizeof(err)) != -1)
			fail_msg("accepted the first %zu bytes", k);
		assert_null(j.request_data);
	}
	/* Cut before the closing brace: incomplete, whatever follows. */
	if (parse_prefix(&j, "{\"job_type\":\"llm_complete\",\"priority\":12}",
	    strlen("{\"job_type\":\"llm_complete\",\"priority\":1"), err,
	    sizeof(err)) != -1)
		fail_msg("accepted a job without its closing brace");
}

static void
test_argv(void **state)
{
	const char *s = CMD("{\"argv\":[\"/bin/sh\",\"-c\",\"echo $A\"],"
	    "\"env\":{\"A\":\"b\"}}");
	const cJSON *jargv;
	char err[256] = "";
	struct wf_job j;
	const char **v;

	(void)state;
	if (parse_str(&j, s, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_non_null(v = wf_job_argv(&j));
	assert_string_equal(v[0], "/bin/sh");
	assert_string_equal(v[1], "-c");
	assert_string_equal(v[2], "echo $A");
	assert_null(v[3]);
	/* Pointers into request_data, not copies. */
	jargv = cJSON_GetObjectItemCaseSensitive(j.request_data, "argv");
	assert_ptr_equal(v[0], cJSON_GetArrayItem(jargv, 0)->valuestring);
	free(v);
	wf_job_free(&j);

	/* No argv: NULL. */
	if (parse_str(&j, "{\"job_type\":\"llm_complete\"}", err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_null(wf_job_argv(&j));
	wf_job_free(&j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_done),
		cmocka_unit_test(test_seed_shape),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_type_defaults),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_len_prefix),
		cmocka_unit_test(test_argv),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
