/*
 * test_llm: the LLM providers (lib/llm.c).  The reply parser on recorded
 * bodies of the OpenAI, Docker Model Runner and Ollama shapes, on broken
 * ones and on mangled ones; requests built from the seed's request_data;
 * the configuration from the environment; and real HTTP against
 * tests/helpers/fake_llm.py, started here on 127.0.0.1 and killed at the
 * end: a reply in each shape (checked in the fake's request log), 429
 * and 503 with Retry-After, 500, 400, garbage, an empty reply, a hang, a
 * reset, a refused connection, a redirect, a reply over the cap, and
 * images in each shape.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "llm.h"

/* Replies the fake gives, by a word in the last user message; the first
 * trigger that matches wins, so FAULT503DATE comes before FAULT503. */
static const char script[] =
    "{\n"
    " \"TOKENS\": {\"content\": \"the answer\", \"prompt_tokens\": 17,"
    " \"completion_tokens\": 5, \"model\": \"fake-model\"},\n"
    " \"FAULT429\": {\"fault\": \"429\", \"retry_after\": 2},\n"
    " \"FAULT503DATE\": {\"fault\": \"503\", \"retry_after\": 3,"
    " \"retry_after_date\": true},\n"
    " \"FAULT503\": {\"fault\": \"503\", \"retry_after\": 2},\n"
    " \"FAULT500\": {\"fault\": \"500\"},\n"
    " \"FAULT400\": {\"fault\": \"400\", \"message\":"
    " \"'max_tokens' is too large\\nfor this model\"},\n"
    " \"FAULT401\": {\"fault\": \"401\", \"message\": \"bad key\"},\n"
    " \"REDIRECT\": {\"fault\": \"302\", \"location\":"
    " \"http://elsewhere.invalid/v1/chat/completions\"},\n"
    " \"GARBAGE\": {\"fault\": \"garbage\"},\n"
    " \"EMPTY\": {\"fault\": \"empty\"},\n"
    " \"NOCHOICES\": {\"fault\": \"nochoices\"},\n"
    " \"STREAM\": {\"fault\": \"stream\"},\n"
    " \"HUGE\": {\"fault\": \"huge\"},\n"
    " \"HANG\": {\"fault\": \"hang\"},\n"
    " \"RESET\": {\"fault\": \"refuse\"}\n"
    "}\n";

static struct {
	pid_t pid;
	int port;
	char dir[64];
	char log[PATH_MAX], script[PATH_MAX], portfile[PATH_MAX];
} fake = { .pid = -1 };

/* Bodies as the servers send them. */
static const char openai_body[] =
    "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":"
    "\"chat.completion\",\"created\":1741569952,\"model\":"
    "\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"Hello! How can I assist you "
    "today?\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":19,"
    "\"completion_tokens\":10,\"total_tokens\":29,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}},"
    "\"service_tier\":\"default\"}";

static const char dmr_body[] =
    "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"def add(a, b):\\n    return a "
    "+ b\\n\"}}],\"created\":1754000000,\"model\":\"ai/qwen3-coder:latest\","
    "\"system_fingerprint\":\"b1-abcdef\",\"object\":\"chat.completion\","
    "\"usage\":{\"completion_tokens\":12,\"prompt_tokens\":31,"
    "\"total_tokens\":43},\"id\":\"chatcmpl-xyz\",\"timings\":{"
    "\"prompt_n\":31,\"prompt_ms\":40.1,\"predicted_n\":12,"
    "\"predicted_ms\":80.2}}";

static const char ollama_body[] =
    "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00.0Z\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"The sky is blue "
    "because of Rayleigh scattering.\"},\"done_reason\":\"stop\","
    "\"done\":true,\"total_duration\":4883583458,\"load_duration\":"
    "1334875,\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,"
    "\"eval_count\":282,\"eval_duration\":4535599000}";

static void
no_newline(const char *err)
{
	if (err[0] == '\0' || strchr(err, '\n') != NULL)
		fail_msg("not one line: '%s'", err);
}

static void
has(const char *s, const char *needle)
{
	if (s == NULL || strstr(s, needle) == NULL)
		fail_msg("'%s' does not say '%s'", s ? s : "(null)", needle);
}

static void
test_parse_openai(void **state)
{
	struct wf_llm_result r;
	char err[256];

	(void)state;
	assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, openai_body,
	    strlen(openai_body), &r, err, sizeof(err)), 0);
	assert_int_equal(r.fault, WF_LLM_OK);
	assert_string_equal(r.content, "Hello! How can I assist you today?");
	assert_string_equal(r.model, "gpt-4.1-2025-04-14");
	assert_string_equal(r.finish_reason, "stop");
	assert_int_equal(r.prompt_tokens, 19);
	assert_int_equal(r.completion_tokens, 10);
	wf_llm_result_free(&r);
	assert_null(r.content);

	assert_int_equal(wf_llm_parse_response(WF_LLM_DMR, dmr_body,
	    strlen(dmr_body), &r, err, sizeof(err)), 0);
	assert_string_equal(r.content, "def add(a, b):\n    return a + b\n");
	assert_string_equal(r.model, "ai/qwen3-coder:latest");
	assert_int_equal(r.prompt_tokens, 31);
	assert_int_equal(r.completion_tokens, 12);
	wf_llm_result_free(&r);
}

static void
test_parse_ollama(void **state)
{
	struct wf_llm_result r;
	char err[256];

	(void)state;
	assert_int_equal(wf_llm_parse_response(WF_LLM_OLLAMA, ollama_body,
	    strlen(ollama_body), &r, err, sizeof(err)), 0);
	assert_string_equal(r.content,
	    "The sky is blue because of Rayleigh scattering.");
	assert_string_equal(r.model, "llama3.2");
	assert_string_equal(r.finish_reason, "stop");
	assert_int_equal(r.prompt_tokens, 26);
	assert_int_equal(r.completion_tokens, 282);
	wf_llm_result_free(&r);

	/* Ollama leaves out prompt_eval_count when the prompt was cached. */
	{
		static const char b[] = "{\"model\":\"m\",\"message\":{\"role\":"
		    "\"assistant\",\"content\":\"hi\"},\"done\":true,"
		    "\"eval_count\":2}";

		assert_int_equal(wf_llm_parse_response(WF_LLM_OLLAMA, b,
		    strlen(b), &r, err, sizeof(err)), 0);
		assert_int_equal(r.prompt_tokens, -1);
		assert_int_equal(r.completion_tokens, 2);
		wf_llm_result_free(&r);
	}
	/* The shapes are not interchangeable. */
	assert_int_equal(wf_llm_parse_response(WF_LLM_OLLAMA, openai_body,
	    strlen(openai_body), &r, err, sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_PERMANENT);
	wf_llm_result_free(&r);
	assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, ollama_body,
	    strlen(ollama_body), &r, err, sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_PERMANENT);
	has(err, "no choices");
	wf_llm_result_free(&r);
}

static void
test_parse_malformed(void **state)
{
	static const struct {
		enum wf_llm_provider p;
		const char *body;
		const char *says;
	} bad[] = {
		{ WF_LLM_OPENAI, "", "empty" },
		{ WF_LLM_OPENAI, "<html><body>Bad Gateway</body></html>",
		    "not JSON: <html>" },
		{ WF_LLM_OPENAI, "{", "not JSON" },
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"x\"",
		    "not JSON" },
		{ WF_LLM_OPENAI, "[]", "not a JSON object" },
		{ WF_LLM_OPENAI, "\"hello\"", "not a JSON object" },
		{ WF_LLM_OPENAI, "{}", "no choices" },
		{ WF_LLM_OPENAI, "{\"choices\":{}}", "no choices" },
		{ WF_LLM_OPENAI, "{\"choices\":[]}", "no choice" },
		{ WF_LLM_OPENAI, "{\"choices\":[{}]}", "no message" },
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":\"hi\"}]}",
		    "no message" },
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":5}}]}",
		    "not a string" },
		{ WF_LLM_OPENAI, "{\"error\":{\"message\":\"quota exceeded\","
		    "\"type\":\"insufficient_quota\"}}", "quota exceeded" },
		{ WF_LLM_OPENAI, "{\"choices\":[]} trailing", "garbage" },
		{ WF_LLM_OLLAMA, "{}", "no message" },
		{ WF_LLM_OLLAMA, "{\"error\":\"model 'x' not found\"}",
		    "model 'x' not found" },
		{ WF_LLM_OLLAMA, "{\"model\":\"m\",\"message\":{\"content\":\"o\"},"
		    "\"done\":false}\n{\"model\":\"m\",\"message\":{\"content\":"
		    "\"k\"},\"done\":true}\n", "stream" },
		{ WF_LLM_OLLAMA, "{\"model\":\"m\",\"message\":{\"content\":\"o\"},"
		    "\"done\":false}", "not done" },
	};
	struct wf_llm_result r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (wf_llm_parse_response(bad[i].p, bad[i].body,
		    strlen(bad[i].body), &r, err, sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i].body);
		assert_null(r.content);
		assert_int_equal(r.fault, WF_LLM_PERMANENT);
		no_newline(err);
		has(err, bad[i].says);
		wf_llm_result_free(&r);
	}
	/* A NUL inside, and a buffer that is not NUL-terminated (ASan sees
	 * a read past its end). */
	{
		size_t n = strlen(openai_body);
		char *buf = malloc(n);
		int rc;

		assert_non_null(buf);
		memcpy(buf, openai_body, n);
		assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, buf, n,
		    &r, err, sizeof(err)), 0);
		assert_string_equal(r.content,
		    "Hello! How can I assist you today?");
		wf_llm_result_free(&r);
		buf[40] = '\0';
		rc = wf_llm_parse_response(WF_LLM_OPENAI, buf, n, &r, err,
		    sizeof(err));
		assert_true(rc == 0 ? r.content != NULL : r.content == NULL);
		wf_llm_result_free(&r);
		buf[n - 30] = '\0';
		assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, buf, n,
		    &r, err, sizeof(err)), -1);
		wf_llm_result_free(&r);
		free(buf);
	}
	/* Deep nesting is refused, not a stack overflow. */
	{
		char *deep = malloc(200001);

		assert_non_null(deep);
		memset(deep, '[', 100000);
		memset(deep + 100000, ']', 100000);
		deep[200000] = '\0';
		assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, deep,
		    200000, &r, err, sizeof(err)), -1);
		wf_llm_result_free(&r);
		free(deep);
	}
	/* An error message quoted from the server stays short. */
	{
		char big[4096], small[64];
		int n;

		n = snprintf(big, sizeof(big), "{\"error\":{\"message\":\"");
		memset(big + n, 'e', 3000);
		strlcpy(big + n + 3000, "\"}}", sizeof(big) - n - 3000);
		assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, big,
		    strlen(big), &r, err, sizeof(err)), -1);
		assert_true(strlen(err) < 40 + WF_LLM_EXCERPT);
		has(err, "...");
		wf_llm_result_free(&r);
		assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, big,
		    strlen(big), &r, small, sizeof(small)), -1);
		assert_int_equal(strlen(small), sizeof(small) - 1);
		wf_llm_result_free(&r);
	}
}

static void
test_parse_empty(void **state)
{
	static const struct {
		enum wf_llm_provider p;
		const char *body;
		enum wf_llm_fault fault;
	} empty[] = {
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"\"},"
		    "\"finish_reason\":\"stop\"}]}", WF_LLM_TRANSIENT },
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":null,"
		    "\"role\":\"assistant\"}}]}", WF_LLM_TRANSIENT },
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":{\"role\":"
		    "\"assistant\"}}]}", WF_LLM_TRANSIENT },
		{ WF_LLM_DMR, "{\"choices\":[{\"message\":{\"content\":\" \\n\\t\"}"
		    "}]}", WF_LLM_TRANSIENT },
		{ WF_LLM_OPENAI, "{\"choices\":[{\"message\":{\"content\":\"\"},"
		    "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":"
		    "9,\"completion_tokens\":64}}", WF_LLM_PERMANENT },
		{ WF_LLM_OLLAMA, "{\"message\":{\"content\":\"\"},\"done\":true}",
		    WF_LLM_TRANSIENT },
		{ WF_LLM_OLLAMA, "{\"message\":{\"content\":\"\"},\"done\":true,"
		    "\"done_reason\":\"length\"}", WF_LLM_PERMANENT },
	};
	struct wf_llm_result r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		if (wf_llm_parse_response(empty[i].p, empty[i].body,
		    strlen(empty[i].body), &r, err, sizeof(err)) != -1)
			fail_msg("accepted %s", empty[i].body);
		assert_null(r.content);
		if (r.fault != empty[i].fault)
			fail_msg("%s: fault %d", empty[i].body, r.fault);
		has(err, "empty reply");
		no_newline(err);
		wf_llm_result_free(&r);
	}
	/* The tokens of an empty reply are still counted. */
	assert_int_equal(wf_llm_parse_response(WF_LLM_OPENAI, empty[4].body,
	    strlen(empty[4].body), &r, err, sizeof(err)), -1);
	assert_int_equal(r.prompt_tokens, 9);
	assert_int_equal(r.completion_tokens, 64);
	has(err, "max_tokens");
	wf_llm_result_free(&r);
}

/* Every prefix and many mangled copies of the recorded bodies: no crash,
 * no leak, and an answer that holds together. */
static void
test_parse_mangled(void **state)
{
	static const char *const bodies[] = { openai_body, dmr_body,
	    ollama_body };
	struct wf_llm_result r;
	char err[256], buf[1024];

	(void)state;
	srandom(4);
	for (size_t b = 0; b < 3; b++) {
		size_t n = strlen(bodies[b]);

		for (int p = 0; p < 3; p++) {
			for (size_t len = 0; len <= n; len++) {
				int rc = wf_llm_parse_response(p, bodies[b],
				    len, &r, err, sizeof(err));

				assert_true(rc == 0 ? r.content != NULL :
				    r.content == NULL && r.fault != WF_LLM_OK);
				wf_llm_result_free(&r);
			}
			for (int k = 0; k < 2000; k++) {
				int rc;

				memcpy(buf, bodies[b], n);
				for (int f = 0; f < 1 + k % 4; f++)
					buf[random() % n] = (char)random();
				rc = wf_llm_parse_response(p, buf, n, &r, err,
				    sizeof(err));
				assert_true(rc == 0 ? r.content != NULL :
				    r.content == NULL && r.fault != WF_LLM_OK);
				if (rc == -1)
					no_newline(err);
				wf_llm_result_free(&r);
			}
		}
	}
}

static void
test_url(void **state)
{
	static const struct {
		enum wf_llm_provider p;
		const char *base, *url;
	} cases[] = {
		{ WF_LLM_OPENAI, "https://api.openai.com",
		    "https://api.openai.com/v1/chat/completions" },
		{ WF_LLM_OPENAI, "https://api.openai.com/v1/",
		    "https://api.openai.com/v1/chat/completions" },
		{ WF_LLM_OPENAI, "http://127.0.0.1:8080/",
		    "http://127.0.0.1:8080/v1/chat/completions" },
		{ WF_LLM_DMR, "http://localhost:12434",
		    "http://localhost:12434/engines/v1/chat/completions" },
		{ WF_LLM_DMR, "http://localhost:12434/engines/v1",
		    "http://localhost:12434/engines/v1/chat/completions" },
		{ WF_LLM_DMR, "http://localhost:12434/engines",
		    "http://localhost:12434/engines/v1/chat/completions" },
		{ WF_LLM_OLLAMA, "http://localhost:11434",
		    "http://localhost:11434/api/chat" },
		{ WF_LLM_OLLAMA, "http://localhost:11434/api/",
		    "http://localhost:11434/api/chat" },
	};
	struct wf_llm_conf c;
	char url[WF_LLM_URL_MAX + 64];

	(void)state;
	wf_llm_conf_defaults(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c.provider = cases[i].p;
		strlcpy(c.base_url, cases[i].base, sizeof(c.base_url));
		assert_int_equal(wf_llm_url(&c, url, sizeof(url)), 0);
		assert_string_equal(url, cases[i].url);
	}
	strlcpy(c.base_url, "ftp://localhost", sizeof(c.base_url));
	assert_int_equal(wf_llm_url(&c, url, sizeof(url)), -1);
	strlcpy(c.base_url, "localhost:11434", sizeof(c.base_url));
	assert_int_equal(wf_llm_url(&c, url, sizeof(url)), -1);
	strlcpy(c.base_url, "http://localhost", sizeof(c.base_url));
	assert_int_equal(wf_llm_url(&c, url, 20), -1);
}

static const char *const envs[] = {
	"WF_LLM_PROVIDER", "WF_LLM_BASE_URL", "OLLAMA_HOST", "OPENAI_BASE_URL",
	"WF_LLM_MODEL", "GOOSE_MODEL", "VISION_MODEL", "WF_LLM_API_KEY",
	"OPENAI_API_KEY", "WF_LLM_TIMEOUT", "WF_LLM_NUM_CTX",
	"WF_LLM_MAX_TOKENS",
};

static void
clear_env(void)
{
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++)
		unsetenv(envs[i]);
}

static void
test_conf_from_env(void **state)
{
	struct wf_llm_conf c;
	char err[256];

	(void)state;
	clear_env();
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), 0);
	assert_int_equal(c.provider, WF_LLM_DMR);
	assert_string_equal(c.base_url, "http://localhost:12434");
	assert_string_equal(c.model, "ai/qwen3-coder:latest");
	assert_string_equal(c.vision_model, "ai/qwen3-vl");
	assert_string_equal(c.api_key, "");
	assert_int_equal(c.timeout, WF_LLM_DEFAULT_TIMEOUT);
	assert_true(c.num_ctx > 0);
	assert_true(c.temperature < 0);

	setenv("OLLAMA_HOST", "gpu-box:11434", 1);
	setenv("WF_LLM_PROVIDER", "ollama", 1);
	setenv("GOOSE_MODEL", "qwen2.5-coder:7b", 1);
	setenv("VISION_MODEL", "llava", 1);
	setenv("OPENAI_API_KEY", "sk-from-openai", 1);
	setenv("WF_LLM_NUM_CTX", "32768", 1);
	setenv("WF_LLM_TIMEOUT", "60", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), 0);
	assert_int_equal(c.provider, WF_LLM_OLLAMA);
	assert_string_equal(c.base_url, "http://gpu-box:11434");
	assert_string_equal(c.model, "qwen2.5-coder:7b");
	assert_string_equal(c.vision_model, "llava");
	assert_string_equal(c.api_key, "sk-from-openai");
	assert_int_equal(c.num_ctx, 32768);
	assert_int_equal(c.timeout, 60);

	/* wf's own names win over the seed's. */
	setenv("WF_LLM_BASE_URL", "http://127.0.0.1:9/", 1);
	setenv("WF_LLM_MODEL", "m2", 1);
	setenv("WF_LLM_API_KEY", "sk-wf", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), 0);
	assert_string_equal(c.base_url, "http://127.0.0.1:9/");
	assert_string_equal(c.model, "m2");
	assert_string_equal(c.api_key, "sk-wf");

	/* OpenAI: its own default base, or OPENAI_BASE_URL. */
	clear_env();
	setenv("WF_LLM_PROVIDER", "OpenAI", 1);
	setenv("OLLAMA_HOST", "http://ignored:1", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), 0);
	assert_int_equal(c.provider, WF_LLM_OPENAI);
	assert_string_equal(c.base_url, "https://api.openai.com");
	setenv("OPENAI_BASE_URL", "https://example.test/v1", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), 0);
	assert_string_equal(c.base_url, "https://example.test/v1");

	setenv("WF_LLM_PROVIDER", "claude", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), -1);
	has(err, "WF_LLM_PROVIDER");
	setenv("WF_LLM_PROVIDER", "dmr", 1);
	setenv("WF_LLM_TIMEOUT", "0", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), -1);
	has(err, "WF_LLM_TIMEOUT");
	setenv("WF_LLM_TIMEOUT", "12x", 1);
	assert_int_equal(wf_llm_conf_from_env(&c, err, sizeof(err)), -1);
	clear_env();

	assert_int_equal(wf_llm_provider_parse("dmr"), WF_LLM_DMR);
	assert_int_equal(wf_llm_provider_parse("x"), -1);
	assert_int_equal(wf_llm_provider_parse(NULL), -1);
	assert_string_equal(wf_llm_provider_name(WF_LLM_OLLAMA), "ollama");
}

static const char *
mstr(const cJSON *msgs, int i, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(msgs, i), k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *
parse(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	if (o == NULL)
		fail_msg("bad test JSON: %s", s);
	return o;
}

static void
test_request_from_job(void **state)
{
	struct wf_llm_opts o;
	cJSON *rd, *m;
	char err[256];

	(void)state;
	rd = parse("{\"prompt\":\"Hello\",\"system\":\"Be brief.\","
	    "\"max_tokens\":64,\"temperature\":0.2,\"model\":\"small\"}");
	assert_int_equal(wf_llm_request_from_job("llm_complete", rd, &m, &o,
	    err, sizeof(err)), 0);
	assert_int_equal(cJSON_GetArraySize(m), 2);
	assert_string_equal(mstr(m, 0, "role"), "system");
	assert_string_equal(mstr(m, 0, "content"), "Be brief.");
	assert_string_equal(mstr(m, 1, "role"), "user");
	assert_string_equal(mstr(m, 1, "content"), "Hello");
	assert_string_equal(o.model, "small");
	assert_int_equal(o.max_tokens, 64);
	assert_true(o.temperature > 0.19 && o.temperature < 0.21);
	assert_false(o.vision);
	cJSON_Delete(m);
	cJSON_Delete(rd);

	/* The seed's minimal job: a prompt, the rest from the conf. */
	rd = parse("{\"prompt\":\"Hello\"}");
	assert_int_equal(wf_llm_request_from_job("llm_complete", rd, &m, &o,
	    err, sizeof(err)), 0);
	assert_int_equal(cJSON_GetArraySize(m), 1);
	assert_string_equal(o.model, "");
	assert_int_equal(o.max_tokens, 0);
	assert_true(o.temperature < 0);
	cJSON_Delete(m);
	cJSON_Delete(rd);

	rd = parse("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
	    "{\"role\":\"user\",\"content\":\"u1\"},{\"role\":\"assistant\","
	    "\"content\":\"a1\"},{\"role\":\"user\",\"content\":\"u2\","
	    "\"name\":\"ignored\"}]}");
	assert_int_equal(wf_llm_request_from_job("llm_chat", rd, &m, &o,
	    err, sizeof(err)), 0);
	assert_int_equal(cJSON_GetArraySize(m), 4);
	assert_string_equal(mstr(m, 2, "role"), "assistant");
	assert_string_equal(mstr(m, 3, "content"), "u2");
	assert_null(mstr(m, 3, "name"));
	cJSON_Delete(m);
	cJSON_Delete(rd);

	rd = parse("{\"query\":\"Which port?\",\"context\":\"DMR listens on "
	    "12434.\"}");
	assert_int_equal(wf_llm_request_from_job("llm_query", rd, &m, &o,
	    err, sizeof(err)), 0);
	assert_int_equal(cJSON_GetArraySize(m), 1);
	has(mstr(m, 0, "content"), "DMR listens on 12434.");
	has(mstr(m, 0, "content"), "Question: Which port?");
	cJSON_Delete(m);
	cJSON_Delete(rd);
	rd = parse("{\"prompt\":\"Which?\",\"context\":{\"files\":[\"a.c\"]}}");
	assert_int_equal(wf_llm_request_from_job("llm_query", rd, &m, &o,
	    err, sizeof(err)), 0);
	has(mstr(m, 0, "content"), "a.c");
	has(mstr(m, 0, "content"), "Which?");
	cJSON_Delete(m);
	cJSON_Delete(rd);
	rd = parse("{\"query\":\"plain\"}");
	assert_int_equal(wf_llm_request_from_job("llm_query", rd, &m, &o,
	    err, sizeof(err)), 0);
	assert_string_equal(mstr(m, 0, "content"), "plain");
	cJSON_Delete(m);
	cJSON_Delete(rd);
}

static void
test_request_refused(void **state)
{
	static const struct {
		const char *type, *rd, *says;
	} bad[] = {
		{ "llm_complete", "{}", "request_data.prompt" },
		{ "llm_complete", "{\"prompt\":5}", "request_data.prompt" },
		{ "llm_complete", "{\"prompt\":\"x\",\"max_tokens\":0}",
		    "max_tokens" },
		{ "llm_complete", "{\"prompt\":\"x\",\"max_tokens\":1.5}",
		    "max_tokens" },
		{ "llm_complete", "{\"prompt\":\"x\",\"temperature\":3}",
		    "temperature" },
		{ "llm_complete", "{\"prompt\":\"x\",\"temperature\":\"hot\"}",
		    "temperature" },
		{ "llm_complete", "{\"prompt\":\"x\",\"model\":7}", "model" },
		{ "llm_complete", "{\"prompt\":\"x\",\"system\":[]}", "system" },
		{ "llm_chat", "{}", "request_data.messages" },
		{ "llm_chat", "{\"messages\":[]}", "request_data.messages" },
		{ "llm_chat", "{\"messages\":[{\"role\":\"user\"}]}",
		    "messages[0].content" },
		{ "llm_chat", "{\"messages\":[{\"role\":\"user\",\"content\":"
		    "\"a\"},{\"role\":\"wizard\",\"content\":\"b\"}]}",
		    "messages[1].role" },
		{ "llm_chat", "{\"messages\":[\"hi\"]}", "messages[0].role" },
		{ "llm_query", "{\"context\":\"c\"}", "request_data.query" },
		{ "vision_analyze", "{\"prompt\":\"p\"}", "image_path" },
		{ "vision_analyze", "{\"image_path\":\"/a.png\","
		    "\"image_base64\":\"iVBORw0KGgo=\"}", "one of" },
		{ "vision_analyze", "{\"image_path\":\"relative.png\"}",
		    "absolute" },
		{ "vision_analyze", "{\"image_path\":\"/nonexistent/x.png\"}",
		    "No such file" },
		{ "vision_analyze", "{\"image_path\":\"/etc/passwd\"}",
		    "not a PNG" },
		{ "vision_analyze", "{\"image_path\":\"/dev/null\"}",
		    "not a regular file" },
		{ "vision_analyze", "{\"image_base64\":\"!!!!\"}", "not base64" },
		{ "vision_analyze", "{\"image_base64\":\"aGVsbG8gd29ybGQ=\"}",
		    "not a PNG" },
		{ "vision_analyze", "{\"image_base64\":\"data:image/png,abc\"}",
		    "not base64" },
		{ "command", "{\"prompt\":\"x\"}", "not an LLM job" },
		{ "llm_complete", "[]", "not an object" },
	};
	struct wf_llm_opts o;
	cJSON *rd, *m;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rd = parse(bad[i].rd);
		m = (cJSON *)1;
		err[0] = '\0';
		if (wf_llm_request_from_job(bad[i].type, rd, &m, &o, err,
		    sizeof(err)) != -1)
			fail_msg("%s %s accepted", bad[i].type, bad[i].rd);
		assert_null(m);
		no_newline(err);
		has(err, bad[i].says);
		cJSON_Delete(rd);
	}
}

/* A small PNG (the signature and some bytes) at path; its base64. */
static char *
write_png(const char *path, size_t n)
{
	unsigned char *b = malloc(n);
	size_t len = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(len);
	FILE *f;

	assert_non_null(b);
	assert_non_null(b64);
	memcpy(b, "\x89PNG\r\n\x1a\n", 8);
	for (size_t i = 8; i < n; i++)
		b[i] = (unsigned char)(i * 7 + 3);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	sodium_bin2base64(b64, len, b, n, sodium_base64_VARIANT_ORIGINAL);
	free(b);
	return b64;
}

static void
test_request_vision(void **state)
{
	char dir[] = "/tmp/test_llm_img.XXXXXX", path[128], err[256], *b64;
	char *json, *rdtext;
	struct wf_llm_opts o;
	const cJSON *imgs;
	cJSON *rd, *m;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/shot.png", dir);
	b64 = write_png(path, 300);

	rd = cJSON_CreateObject();
	cJSON_AddStringToObject(rd, "image_path", path);
	cJSON_AddStringToObject(rd, "prompt", "What is on the screen?");
	assert_int_equal(wf_llm_request_from_job("vision_analyze", rd, &m, &o,
	    err, sizeof(err)), 0);
	assert_true(o.vision);
	assert_int_equal(cJSON_GetArraySize(m), 1);
	assert_string_equal(mstr(m, 0, "role"), "user");
	assert_string_equal(mstr(m, 0, "content"), "What is on the screen?");
	imgs = cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "images");
	assert_int_equal(cJSON_GetArraySize(imgs), 1);
	assert_string_equal(cJSON_GetArrayItem(imgs, 0)->valuestring, b64);
	assert_string_equal(wf_llm_image_mime(b64), "image/png");
	cJSON_Delete(m);
	cJSON_Delete(rd);

	/* The same image given inline, as a data: URI with line breaks. */
	assert_true(asprintf(&json, "{\"image_base64\":\"data:image/png;"
	    "base64,%.40s\\n%s\"}", b64, b64 + 40) > 0);
	rd = parse(json);
	assert_int_equal(wf_llm_request_from_job("vision_analyze", rd, &m, &o,
	    err, sizeof(err)), 0);
	imgs = cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "images");
	assert_string_equal(cJSON_GetArrayItem(imgs, 0)->valuestring, b64);
	assert_string_equal(mstr(m, 0, "content"), "Describe this image.");
	cJSON_Delete(m);
	cJSON_Delete(rd);
	free(json);

	/* At the cap it goes; one byte over, it does not. */
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) != -1);
	assert_int_equal(write(fd, "\x89PNG\r\n\x1a\n", 8), 8);
	assert_int_equal(ftruncate(fd, WF_LLM_IMAGE_MAX), 0);
	rd = cJSON_CreateObject();
	cJSON_AddStringToObject(rd, "image_path", path);
	assert_int_equal(wf_llm_request_from_job("vision_analyze", rd, &m, &o,
	    err, sizeof(err)), 0);
	imgs = cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "images");
	assert_int_equal(strlen(cJSON_GetArrayItem(imgs, 0)->valuestring),
	    sodium_base64_ENCODED_LEN(WF_LLM_IMAGE_MAX,
	    sodium_base64_VARIANT_ORIGINAL) - 1);
	cJSON_Delete(m);
	assert_int_equal(ftruncate(fd, WF_LLM_IMAGE_MAX + 1), 0);
	close(fd);
	assert_int_equal(wf_llm_request_from_job("vision_analyze", rd, &m, &o,
	    err, sizeof(err)), -1);
	assert_null(m);
	has(err, "over the image cap");
	no_newline(err);
	cJSON_Delete(rd);

	/* Inline, over the cap. */
	{
		size_t n = WF_LLM_IMAGE_MAX + 3;
		unsigned char *bin = calloc(1, n);
		size_t blen = sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_ORIGINAL);

		assert_non_null(bin);
		memcpy(bin, "\x89PNG\r\n\x1a\n", 8);
		rdtext = malloc(blen);
		assert_non_null(rdtext);
		sodium_bin2base64(rdtext, blen, bin, n,
		    sodium_base64_VARIANT_ORIGINAL);
		free(bin);
		rd = cJSON_CreateObject();
		cJSON_AddStringToObject(rd, "image_base64", rdtext);
		free(rdtext);
		assert_int_equal(wf_llm_request_from_job("vision_analyze", rd,
		    &m, &o, err, sizeof(err)), -1);
		has(err, "over the image cap");
		cJSON_Delete(rd);
	}

	unlink(path);
	rmdir(dir);
	free(b64);
}

/* The fake server. */

static void
find_helper(char *buf, size_t len)
{
	const char *src = getenv("WF_SRCDIR");
	char exe[PATH_MAX / 2], *s;
	ssize_t n;

	if (src != NULL) {
		snprintf(buf, len, "%s/tests/helpers/fake_llm.py", src);
		if (access(buf, R_OK) == 0)
			return;
	}
	if (realpath("tests/helpers/fake_llm.py", buf) != NULL)
		return;
	/* bin/tests/test_llm -> tests/helpers/fake_llm.py */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 3 && (s = strrchr(exe, '/')) != NULL; up++)
			*s = '\0';
		snprintf(buf, len, "%s/tests/helpers/fake_llm.py", exe);
		if (access(buf, R_OK) == 0)
			return;
	}
	fail_msg("cannot find tests/helpers/fake_llm.py (set WF_SRCDIR)");
}

static void
fake_start(void)
{
	char helper[PATH_MAX], buf[32];
	int64_t deadline;
	FILE *f;
	int ws;

	if (fake.pid > 0)
		return;
	strlcpy(fake.dir, "/tmp/test_llm.XXXXXX", sizeof(fake.dir));
	assert_non_null(mkdtemp(fake.dir));
	snprintf(fake.log, sizeof(fake.log), "%s/requests.jsonl", fake.dir);
	snprintf(fake.script, sizeof(fake.script), "%s/script.json", fake.dir);
	snprintf(fake.portfile, sizeof(fake.portfile), "%s/port", fake.dir);
	assert_non_null(f = fopen(fake.script, "w"));
	fputs(script, f);
	assert_int_equal(fclose(f), 0);
	find_helper(helper, sizeof(helper));
	if ((fake.pid = fork()) == 0) {
		int nul = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(nul, 0);
		execlp("python3", "python3", helper, "--port", "0",
		    "--portfile", fake.portfile, "--script", fake.script,
		    "--log", fake.log, (char *)NULL);
		_exit(127);
	}
	assert_true(fake.pid > 0);
	/* Python takes its time to start on a slow machine. */
	deadline = wf_clock_mono_ms() + 60000;
	while ((f = fopen(fake.portfile, "r")) == NULL) {
		if (waitpid(fake.pid, &ws, WNOHANG) == fake.pid) {
			fake.pid = -1;
			fail_msg("fake_llm.py exited before it listened");
		}
		if (wf_clock_mono_ms() > deadline)
			fail_msg("fake_llm.py did not listen within 60 s");
		usleep(20000);
	}
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	fake.port = atoi(buf);
	assert_in_range(fake.port, 1, 65535);
}

static void
fake_stop(void)
{
	char path[PATH_MAX + 8];

	if (fake.pid > 0) {
		kill(fake.pid, SIGTERM);
		while (waitpid(fake.pid, NULL, 0) == -1 && errno == EINTR)
			;
		fake.pid = -1;
	}
	if (fake.dir[0] != '\0') {
		unlink(fake.log);
		unlink(fake.script);
		unlink(fake.portfile);
		snprintf(path, sizeof(path), "%s.tmp", fake.portfile);
		unlink(path);
		rmdir(fake.dir);
		fake.dir[0] = '\0';
	}
}

/* The fake's log. */
static char *
log_text(void)
{
	struct stat st;
	char *text;
	int fd;

	if ((fd = open(fake.log, O_RDONLY)) == -1)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	text = malloc((size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(read(fd, text, (size_t)st.st_size), st.st_size);
	close(fd);
	text[st.st_size] = '\0';
	return text;
}

/*
 * The request to path whose text holds marker, once the fake has logged
 * it.  The fake logs a request after its reply, so that a request of an
 * earlier test may still come in late: markers are unique.
 */
static cJSON *
logged(const char *path, const char *marker)
{
	int64_t deadline = wf_clock_mono_ms() + 10000;
	char want[128], *text, *line, *nl;
	cJSON *o = NULL;

	snprintf(want, sizeof(want), "\"path\": \"%s\"", path);
	for (;;) {
		text = log_text();
		for (line = text; o == NULL && line != NULL && *line != '\0';
		    line = nl != NULL ? nl + 1 : NULL) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl = '\0';
			if (strstr(line, want) != NULL &&
			    strstr(line, marker) != NULL)
				o = cJSON_Parse(line);
		}
		free(text);
		if (o != NULL)
			return o;
		if (wf_clock_mono_ms() > deadline)
			fail_msg("the fake logged no request to %s with '%s'",
			    path, marker);
		usleep(10000);
	}
}

static void
conf_for(struct wf_llm_conf *c, enum wf_llm_provider p)
{
	wf_llm_conf_defaults(c);
	c->provider = p;
	snprintf(c->base_url, sizeof(c->base_url), "http://127.0.0.1:%d",
	    fake.port);
	strlcpy(c->model, "test-model", sizeof(c->model));
	strlcpy(c->vision_model, "test-vision", sizeof(c->vision_model));
	c->timeout = 10;
	c->num_ctx = 16384;
}

static cJSON *
one_message(const char *text)
{
	cJSON *m = cJSON_CreateArray(), *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "role", "user");
	cJSON_AddStringToObject(o, "content", text);
	cJSON_AddItemToArray(m, o);
	return m;
}

/* One call with one user message; the result in r (to free). */
static int
call(enum wf_llm_provider p, const char *text, struct wf_llm_result *r,
    char *err, size_t errlen)
{
	struct wf_llm_conf c;
	cJSON *m = one_message(text);
	int rc;

	fake_start();
	conf_for(&c, p);
	rc = wf_llm_call(&c, m, NULL, r, err, errlen);
	cJSON_Delete(m);
	if (rc == -1)
		no_newline(err);
	return rc;
}

static const char *
jstr(const cJSON *o, const char *path)
{
	char key[64], *dot;
	const cJSON *v = o;

	while (path != NULL) {
		strlcpy(key, path, sizeof(key));
		if ((dot = strchr(key, '.')) != NULL)
			*dot = '\0';
		v = cJSON_GetObjectItemCaseSensitive(v, key);
		path = strchr(path, '.');
		if (path != NULL)
			path++;
	}
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
test_call_shapes(void **state)
{
	static const struct {
		enum wf_llm_provider p;
		const char *path;
	} shapes[] = {
		{ WF_LLM_OPENAI, "/v1/chat/completions" },
		{ WF_LLM_DMR, "/engines/v1/chat/completions" },
		{ WF_LLM_OLLAMA, "/api/chat" },
	};
	struct wf_llm_result r;
	char err[256];
	cJSON *req, *body;

	(void)state;
	fake_start();
	for (size_t i = 0; i < 3; i++) {
		if (call(shapes[i].p, "say TOKENS please", &r, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", wf_llm_provider_name(shapes[i].p),
			    err);
		assert_int_equal(r.fault, WF_LLM_OK);
		assert_int_equal(r.http_status, 200);
		assert_string_equal(r.content, "the answer");
		assert_string_equal(r.model, "fake-model");
		assert_int_equal(r.prompt_tokens, 17);
		assert_int_equal(r.completion_tokens, 5);
		assert_true(r.latency_ms >= 0 && r.latency_ms < 5000);
		wf_llm_result_free(&r);

		req = logged(shapes[i].path, "say TOKENS please");
		assert_string_equal(jstr(req, "content_type"),
		    "application/json");
		assert_null(jstr(req, "authorization"));
		body = cJSON_GetObjectItem(req, "body");
		assert_string_equal(jstr(body, "model"), "test-model");
		assert_true(cJSON_IsFalse(cJSON_GetObjectItem(body, "stream")));
		assert_string_equal(mstr(cJSON_GetObjectItem(body, "messages"),
		    0, "content"), "say TOKENS please");
		if (shapes[i].p == WF_LLM_OLLAMA) {
			const cJSON *opt = cJSON_GetObjectItem(body, "options");

			assert_int_equal(cJSON_GetObjectItem(opt,
			    "num_ctx")->valuedouble, 16384);
		} else
			assert_null(cJSON_GetObjectItem(body, "options"));
		assert_null(cJSON_GetObjectItem(body, "max_tokens"));
		assert_null(cJSON_GetObjectItem(body, "temperature"));
		cJSON_Delete(req);
	}

	/* The default reply, and what the options send. */
	{
		struct wf_llm_conf c;
		struct wf_llm_opts o;
		const cJSON *opt;
		cJSON *m;

		for (int p = 0; p < 3; p++) {
			m = one_message("hello with options");
			conf_for(&c, p);
			strlcpy(c.api_key, "sk-test-123", sizeof(c.api_key));
			c.max_tokens = 100;
			wf_llm_opts_init(&o);
			strlcpy(o.model, "other", sizeof(o.model));
			o.max_tokens = 50;
			o.temperature = 0.5;
			assert_int_equal(wf_llm_call(&c, m, &o, &r, err,
			    sizeof(err)), 0);
			cJSON_Delete(m);
			assert_string_equal(r.content, "ok");
			assert_string_equal(r.model, "other");
			assert_int_equal(r.prompt_tokens, 3);
			assert_int_equal(r.completion_tokens, 1);
			wf_llm_result_free(&r);
			req = logged(p == WF_LLM_OPENAI ? shapes[0].path :
			    p == WF_LLM_DMR ? shapes[1].path : shapes[2].path,
			    "hello with options");
			body = cJSON_GetObjectItem(req, "body");
			assert_string_equal(jstr(req, "authorization"),
			    "Bearer sk-test-123");
			assert_string_equal(jstr(body, "model"), "other");
			opt = p == WF_LLM_OLLAMA ?
			    cJSON_GetObjectItem(body, "options") : body;
			assert_int_equal(cJSON_GetObjectItem(opt,
			    p == WF_LLM_OLLAMA ? "num_predict" :
			    "max_tokens")->valuedouble, 50);
			assert_true(cJSON_GetObjectItem(opt,
			    "temperature")->valuedouble == 0.5);
			cJSON_Delete(req);
		}
	}
}

static void
test_call_retry_after(void **state)
{
	struct wf_llm_result r;
	char err[256];

	(void)state;
	for (int p = 0; p < 3; p++) {
		assert_int_equal(call(p, "FAULT429", &r, err, sizeof(err)), -1);
		assert_int_equal(r.http_status, 429);
		assert_int_equal(r.fault, WF_LLM_TRANSIENT);
		assert_int_equal(r.retry_after, 2);
		assert_null(r.content);
		has(err, "HTTP 429");
		has(err, "retry after 2 s");
		has(err, "scripted 429");
		wf_llm_result_free(&r);

		assert_int_equal(call(p, "FAULT503", &r, err, sizeof(err)), -1);
		assert_int_equal(r.http_status, 503);
		assert_int_equal(r.fault, WF_LLM_TRANSIENT);
		assert_int_equal(r.retry_after, 2);
		has(err, "HTTP 503");
		wf_llm_result_free(&r);
	}
	/* Retry-After as an HTTP date, three seconds ahead. */
	assert_int_equal(call(WF_LLM_OPENAI, "FAULT503DATE", &r, err,
	    sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_TRANSIENT);
	assert_in_range(r.retry_after, 1, 4);
	wf_llm_result_free(&r);
}

static void
test_call_http_faults(void **state)
{
	static const struct {
		const char *trigger;
		long status;
		enum wf_llm_fault fault;
		const char *says;
	} cases[] = {
		{ "FAULT500", 500, WF_LLM_TRANSIENT, "HTTP 500" },
		{ "FAULT400", 400, WF_LLM_PERMANENT,
		    "HTTP 400: 'max_tokens' is too large for this model" },
		{ "FAULT401", 401, WF_LLM_PERMANENT, "check the API key" },
		{ "REDIRECT", 302, WF_LLM_PERMANENT,
		    "redirected to http://elsewhere.invalid/" },
		{ "GARBAGE", 200, WF_LLM_PERMANENT, "not JSON: <html>" },
		{ "NOCHOICES", 200, WF_LLM_PERMANENT, "no " },
		{ "EMPTY", 200, WF_LLM_TRANSIENT, "empty reply" },
		{ "STREAM", 200, WF_LLM_PERMANENT, "stream" },
		{ "HUGE", 200, WF_LLM_PERMANENT, "over 8388608 bytes" },
	};
	struct wf_llm_result r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int p = 0; p < 3; p++) {
			/* Only Ollama streams unasked. */
			if (strcmp(cases[i].trigger, "STREAM") == 0 &&
			    p != WF_LLM_OLLAMA)
				continue;
			if (call(p, cases[i].trigger, &r, err,
			    sizeof(err)) != -1)
				fail_msg("%s: accepted", cases[i].trigger);
			if (r.http_status != cases[i].status ||
			    r.fault != cases[i].fault)
				fail_msg("%s %s: status %ld fault %d (%s)",
				    wf_llm_provider_name(p), cases[i].trigger,
				    r.http_status, r.fault, err);
			has(err, cases[i].says);
			has(err, wf_llm_provider_name(p));
			assert_null(r.content);
			assert_int_equal(r.retry_after, 0);
			wf_llm_result_free(&r);
		}
	}
}

static void
test_call_hang(void **state)
{
	struct wf_llm_conf c;
	struct wf_llm_result r;
	char err[256];
	cJSON *m = one_message("HANG");
	int64_t t0, ms;

	(void)state;
	fake_start();
	conf_for(&c, WF_LLM_OLLAMA);
	c.timeout = 1;
	t0 = wf_clock_mono_ms();
	assert_int_equal(wf_llm_call(&c, m, NULL, &r, err, sizeof(err)), -1);
	ms = wf_clock_mono_ms() - t0;
	assert_in_range(ms, 900, 2500);
	assert_int_equal(r.fault, WF_LLM_TRANSIENT);
	assert_int_equal(r.http_status, 0);
	has(err, "timed out");
	no_newline(err);
	wf_llm_result_free(&r);
	cJSON_Delete(m);
}

static void
test_call_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct wf_llm_conf c;
	struct wf_llm_result r;
	char err[256];
	cJSON *m = one_message("hello");
	int s;

	(void)state;
	/* A port that was just free: bound, never listened on, closed. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	for (int p = 0; p < 3; p++) {
		wf_llm_conf_defaults(&c);
		c.provider = p;
		c.timeout = 5;
		snprintf(c.base_url, sizeof(c.base_url), "http://127.0.0.1:%d",
		    ntohs(sa.sin_port));
		assert_int_equal(wf_llm_call(&c, m, NULL, &r, err, sizeof(err)),
		    -1);
		assert_int_equal(r.fault, WF_LLM_TRANSIENT);
		assert_int_equal(r.http_status, 0);
		has(err, "cannot connect");
		has(err, "127.0.0.1");
		no_newline(err);
		wf_llm_result_free(&r);
	}

	/* A server that resets the connection once it has the request. */
	assert_int_equal(call(WF_LLM_OPENAI, "RESET", &r, err, sizeof(err)),
	    -1);
	assert_int_equal(r.fault, WF_LLM_TRANSIENT);
	has(err, "no reply");
	wf_llm_result_free(&r);

	/* Configuration faults are permanent and say so before any I/O. */
	wf_llm_conf_defaults(&c);
	strlcpy(c.base_url, "file:///etc/passwd", sizeof(c.base_url));
	assert_int_equal(wf_llm_call(&c, m, NULL, &r, err, sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_PERMANENT);
	has(err, "base URL");
	wf_llm_result_free(&r);
	wf_llm_conf_defaults(&c);
	c.timeout = 0;
	assert_int_equal(wf_llm_call(&c, m, NULL, &r, err, sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_PERMANENT);
	has(err, "timeout");
	wf_llm_result_free(&r);
	wf_llm_conf_defaults(&c);
	c.model[0] = '\0';
	assert_int_equal(wf_llm_call(&c, m, NULL, &r, err, sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_PERMANENT);
	has(err, "no model");
	wf_llm_result_free(&r);
	cJSON_Delete(m);
	m = cJSON_CreateArray();
	wf_llm_conf_defaults(&c);
	assert_int_equal(wf_llm_call(&c, m, NULL, &r, err, sizeof(err)), -1);
	assert_int_equal(r.fault, WF_LLM_PERMANENT);
	has(err, "no messages");
	wf_llm_result_free(&r);
	cJSON_Delete(m);
}

static void
test_call_vision(void **state)
{
	char path[PATH_MAX], err[256], *b64, *url;
	struct wf_llm_conf c;
	struct wf_llm_opts o;
	struct wf_llm_result r;
	const cJSON *msg, *parts, *img;
	static const char *const paths[] = { "/v1/chat/completions",
	    "/api/chat", "/engines/v1/chat/completions" };
	cJSON *rd, *m, *req, *body;

	(void)state;
	fake_start();
	snprintf(path, sizeof(path), "%s/screen.png", fake.dir);
	b64 = write_png(path, 5000);
	assert_true(asprintf(&url, "data:image/png;base64,%s", b64) > 0);
	rd = cJSON_CreateObject();
	cJSON_AddStringToObject(rd, "image_path", path);
	cJSON_AddStringToObject(rd, "prompt", "VISION: what is shown?");
	assert_int_equal(wf_llm_request_from_job("vision_analyze", rd, &m, &o,
	    err, sizeof(err)), 0);
	for (int p = 0; p < 3; p++) {
		conf_for(&c, p);
		if (wf_llm_call(&c, m, &o, &r, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_string_equal(r.content, "ok");
		wf_llm_result_free(&r);
		req = logged(paths[p], "VISION: what is shown?");
		body = cJSON_GetObjectItem(req, "body");
		assert_string_equal(jstr(body, "model"), "test-vision");
		msg = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"),
		    0);
		if (p == WF_LLM_OLLAMA) {
			assert_string_equal(jstr(msg, "content"),
			    "VISION: what is shown?");
			img = cJSON_GetObjectItem(msg, "images");
			assert_int_equal(cJSON_GetArraySize(img), 1);
			assert_string_equal(cJSON_GetArrayItem(img,
			    0)->valuestring, b64);
		} else {
			parts = cJSON_GetObjectItem(msg, "content");
			assert_int_equal(cJSON_GetArraySize(parts), 2);
			assert_string_equal(jstr(cJSON_GetArrayItem(parts, 0),
			    "type"), "text");
			assert_string_equal(jstr(cJSON_GetArrayItem(parts, 0),
			    "text"), "VISION: what is shown?");
			img = cJSON_GetArrayItem(parts, 1);
			assert_string_equal(jstr(img, "type"), "image_url");
			assert_string_equal(jstr(img, "image_url.url"), url);
			assert_null(cJSON_GetObjectItem(msg, "images"));
		}
		cJSON_Delete(req);
	}
	cJSON_Delete(m);
	cJSON_Delete(rd);
	free(url);
	free(b64);
	unlink(path);
}

static void
test_outcome(void **state)
{
	struct wf_llm_result r;
	cJSON *res;
	char err[256];

	(void)state;
	assert_int_equal(wf_llm_parse_response(WF_LLM_OLLAMA, ollama_body,
	    strlen(ollama_body), &r, err, sizeof(err)), 0);
	r.latency_ms = 42;
	res = cJSON_CreateObject();
	assert_int_equal(wf_llm_outcome(&r, WF_LLM_OLLAMA, NULL, res), 0);
	{
		const cJSON *rd = cJSON_GetObjectItem(res, "result_data");
		const cJSON *u = cJSON_GetObjectItem(rd, "usage");

		assert_string_equal(jstr(rd, "model"), "llama3.2");
		assert_string_equal(jstr(rd, "provider"), "ollama");
		has(jstr(rd, "content"), "Rayleigh");
		assert_int_equal(cJSON_GetObjectItem(u,
		    "prompt_tokens")->valuedouble, 26);
		assert_int_equal(cJSON_GetObjectItem(u,
		    "completion_tokens")->valuedouble, 282);
		assert_int_equal(cJSON_GetObjectItem(u,
		    "total_tokens")->valuedouble, 308);
		assert_int_equal(cJSON_GetObjectItem(rd,
		    "latency_ms")->valuedouble, 42);
		assert_null(cJSON_GetObjectItem(res, "error_message"));
		assert_null(cJSON_GetObjectItem(res, "permanent"));
	}
	cJSON_Delete(res);
	wf_llm_result_free(&r);

	wf_llm_result_init(&r);
	r.fault = WF_LLM_TRANSIENT;
	r.retry_after = 2;
	res = cJSON_CreateObject();
	assert_int_equal(wf_llm_outcome(&r, WF_LLM_DMR, "dmr: HTTP 429", res),
	    0);
	assert_string_equal(jstr(res, "error_message"), "dmr: HTTP 429");
	assert_int_equal(cJSON_GetObjectItem(res, "retry_after")->valuedouble,
	    2);
	assert_null(cJSON_GetObjectItem(res, "permanent"));
	assert_null(cJSON_GetObjectItem(res, "result_data"));
	cJSON_Delete(res);

	r.fault = WF_LLM_PERMANENT;
	r.retry_after = 0;
	r.prompt_tokens = 9;
	r.completion_tokens = 64;
	res = cJSON_CreateObject();
	assert_int_equal(wf_llm_outcome(&r, WF_LLM_DMR, "dmr: empty", res), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "permanent")));
	assert_null(cJSON_GetObjectItem(res, "retry_after"));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(res, "result_data"), "usage"),
	    "total_tokens")->valuedouble, 73);
	cJSON_Delete(res);
	wf_llm_result_free(&r);
}

static int
teardown(void **state)
{
	(void)state;
	fake_stop();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_openai),
		cmocka_unit_test(test_parse_ollama),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_mangled),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_conf_from_env),
		cmocka_unit_test(test_request_from_job),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_vision),
		cmocka_unit_test(test_call_shapes),
		cmocka_unit_test(test_call_retry_after),
		cmocka_unit_test(test_call_http_faults),
		cmocka_unit_test(test_call_hang),
		cmocka_unit_test(test_call_refused),
		cmocka_unit_test(test_call_vision),
		cmocka_unit_test(test_outcome),
	};
	int rc;

	/* Everything here is on 127.0.0.1: no proxy in between. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	signal(SIGPIPE, SIG_IGN);
	if (wf_llm_init() == -1)
		return 1;
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests(tests, NULL, teardown);
	fake_stop();
	wf_llm_cleanup();
	return rc;
}
