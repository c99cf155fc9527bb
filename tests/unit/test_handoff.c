/*
 * test_handoff: lib/handoff.c without a repository: what a role was
 * asked (its task, the request, the findings given to it), the record of a
 * report in a run (the agent's part checked, everything cut to its
 * bound, the oldest dropped), its outcome from the run's history, and
 * the text, bounded for a prompt with the newest kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"

static cJSON *
parse(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static void
test_record(void **state)
{
	cJSON *run = parse("{\"id\":3,\"iteration\":2,\"phase\":\"tdd\"}");
	cJSON *rep = parse("{\"role\":\"qa\",\"status\":\"pass\","
	    "\"summary\":\"ok\",\"details\":{\"tests_run\":4,"
	    "\"tests_failed\":2,\"verified_by\":\"wf-gate\"},"
	    "\"handoff\":{\"job_id\":\"J1\",\"log\":\"output/J1.log\","
	    "\"secret\":\"x\",\"asked\":{\"request\":\"r\"},"
	    "\"commits\":[{\"sha\":\"abc\",\"subject\":\"s\"}],"
	    "\"diff_stat\":7}}");
	cJSON *gate = parse("{\"job_id\":\"G1\",\"exit_code\":1,"
	    "\"tests_run\":4,\"tests_failed\":2,\"agrees\":true,"
	    "\"agent_report\":{\"big\":1},\"output\":\"not ok 1\"}");
	cJSON *h;

	(void)state;
	h = wf_handoff_record(run, rep, gate, "R1", NULL);
	assert_non_null(h);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(run,
	    "handoffs")), 1);
	assert_int_equal(cJSON_GetObjectItem(h, "n")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(h, "role")->valuestring, "qa");
	assert_string_equal(cJSON_GetObjectItem(h, "phase")->valuestring,
	    "tdd");
	assert_int_equal(cJSON_GetObjectItem(h, "iteration")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(h, "log")->valuestring,
	    "output/J1.log");
	/* only what wf-agent makes, of its types */
	assert_null(cJSON_GetObjectItem(h, "secret"));
	assert_null(cJSON_GetObjectItem(h, "diff_stat"));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(h,
	    "asked"), "request")->valuestring, "r");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "tests"),
	    "tests_failed")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "gate"),
	    "log")->valuestring, "output/G1.log");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "gate"),
	    "agent_report"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(h,
	    "gate"), "agrees")));
	assert_string_equal(cJSON_GetObjectItem(h, "report_id")->valuestring,
	    "R1");
	/* a refusal fails the handoff, whatever the agent said */
	h = wf_handoff_record(run, rep, NULL, "R2", "ownership gate: no");
	assert_string_equal(cJSON_GetObjectItem(h, "status")->valuestring,
	    "fail");
	assert_string_equal(cJSON_GetObjectItem(h, "refused")->valuestring,
	    "ownership gate: no");
	assert_int_equal(cJSON_GetObjectItem(h, "n")->valueint, 2);
	cJSON_Delete(run);
	cJSON_Delete(rep);
	cJSON_Delete(gate);
}

static void
test_bounds(void **state)
{
	cJSON *run = parse("{\"id\":1}"), *rep, *all, *h;
	char *big = malloc(200000), *s;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 199999);
	big[199999] = '\0';
	/* a long UTF-8 summary is cut on a character, and says so */
	for (int i = 0; i < 199998; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	rep = cJSON_CreateObject();
	cJSON_AddStringToObject(rep, "role", "dev");
	cJSON_AddStringToObject(rep, "status", "pass");
	cJSON_AddStringToObject(rep, "summary", big);
	for (int i = 0; i < WF_HANDOFF_KEEP + 5; i++)
		assert_non_null(wf_handoff_record(run, rep, NULL, NULL, NULL));
	all = cJSON_GetObjectItem(run, "handoffs");
	assert_int_equal(cJSON_GetArraySize(all), WF_HANDOFF_KEEP);
	/* the oldest went */
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 0),
	    "n")->valueint, 6);
	h = cJSON_GetArrayItem(all, WF_HANDOFF_KEEP - 1);
	s = cJSON_GetObjectItem(h, "summary")->valuestring;
	assert_true(strlen(s) <= 1024 + 16);
	assert_non_null(strstr(s, "\xe2\x80\xa6truncated"));
	assert_int_equal((unsigned char)s[strlen(s) - 13] & 0xc0, 0x80);
	s = cJSON_PrintUnformatted(all);
	assert_true(strlen(s) <= WF_HANDOFF_ALL_MAX);
	free(s);
	free(big);
	cJSON_Delete(rep);
	cJSON_Delete(run);
}

static void
test_outcome_and_text(void **state)
{
	cJSON *run = parse("{\"id\":1,\"history\":[{\"from\":\"PM\","
	    "\"to\":\"DEV\",\"why\":\"pm reported pass\","
	    "\"report_id\":\"A\"}]}");
	cJSON *rep = parse("{\"role\":\"pm\",\"status\":\"pass\","
	    "\"summary\":\"two tasks\",\"details\":{\"tasks\":[{\"task_id\":"
	    "\"F-1\",\"title\":\"one\"},{\"task_id\":\"F-2\",\"title\":\"two\","
	    "\"blocked_by\":[\"F-1\"]}]}}");
	cJSON *h;
	char *t;

	(void)state;
	h = wf_handoff_record(run, rep, NULL, "A", NULL);
	wf_handoff_outcome(h, run, "A");
	assert_string_equal(cJSON_GetObjectItem(h, "next")->valuestring, "DEV");
	assert_string_equal(cJSON_GetObjectItem(h, "outcome")->valuestring,
	    "pm reported pass");
	t = wf_handoff_text(cJSON_GetObjectItem(run, "handoffs"), 0);
	assert_non_null(t);
	assert_non_null(strstr(t, "== handoff 1: PM, iteration 1, pass"));
	assert_non_null(strstr(t, "summary: two tasks\n"));
	assert_non_null(strstr(t, "    F-2: two (after F-1)\n"));
	assert_non_null(strstr(t, "outcome: DEV: pm reported pass\n"));
	free(t);
	/* bounded: the newest that fit, and how many were left out */
	for (int i = 0; i < 10; i++)
		wf_handoff_record(run, rep, NULL, NULL, NULL);
	t = wf_handoff_text(cJSON_GetObjectItem(run, "handoffs"), 600);
	assert_non_null(t);
	assert_true(strlen(t) <= 600);
	assert_non_null(strstr(t, "earlier handoffs left out"));
	assert_non_null(strstr(t, "== handoff 11:"));
	assert_null(strstr(t, "== handoff 1:"));
	free(t);
	t = wf_handoff_text(NULL, 100);
	assert_string_equal(t, "");
	free(t);
	cJSON_Delete(rep);
	cJSON_Delete(run);
}

static void
test_make(void **state)
{
	cJSON *run = parse("{\"id\":2,\"request\":\"add mul\","
	    "\"tdd_tests\":[\"t.sh\"],\"stage_base\":\"--output=/tmp/x\","
	    "\"results\":{\"qa\":{\"status\":\"fail\",\"summary\":\"1 "
	    "failed\",\"details\":{\"failures\":[\"add 2 3\"]}},"
	    "\"security\":{\"status\":\"pass\",\"details\":{\"findings\":[]}},"
	    "\"dev\":{\"status\":\"fail\",\"refused_by\":\"wf-gate\","
	    "\"summary\":\"ownership gate: t.sh\"}}}");
	cJSON *task = parse("{\"id\":7,\"task_id\":\"T-7\",\"title\":\"x\"}");
	cJSON *h, *a, *f;

	(void)state;
	h = wf_handoff_make(run, "dev", NULL, task, NULL, "J9");
	assert_non_null(h);
	assert_string_equal(cJSON_GetObjectItem(h, "log")->valuestring,
	    "output/J9.log");
	a = cJSON_GetObjectItem(h, "asked");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "task"),
	    "id")->valueint, 7);
	assert_string_equal(cJSON_GetObjectItem(a, "request")->valuestring,
	    "add mul");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(a,
	    "tdd_tests"), 0)->valuestring, "t.sh");
	/* QA's failure and the gate's refusal; SEC's clean pass is none */
	f = cJSON_GetObjectItem(a, "findings");
	assert_int_equal(cJSON_GetArraySize(f), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0),
	    "from")->valuestring, "qa");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 1),
	    "from")->valuestring, "gate");
	/* no repository, and a base that is no commit id: no git at all */
	assert_null(cJSON_GetObjectItem(h, "commits"));
	assert_null(cJSON_GetObjectItem(h, "base"));
	cJSON_Delete(h);
	/* QA is given nobody's findings */
	h = wf_handoff_make(run, "qa", NULL, NULL, NULL, NULL);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "asked"),
	    "findings"));
	assert_null(cJSON_GetObjectItem(h, "log"));
	cJSON_Delete(h);
	cJSON_Delete(task);
	cJSON_Delete(run);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_outcome_and_text),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
