/*
 * fuzz_parsers: one libFuzzer target over every parser that takes
 * outside bytes: a job file, a report (and the handoff it leaves),
 * wf.ini, a test runner's output, a model's reply (both shapes, and its
 * file blocks), a JUnit XML report,
 * a scanner's JSON (the second byte picks which), a job handed to a
 * sandbox made ahead (lib/room), and wf-httpd's
 * requests (lib/api: method, path, query and body, on a scratch tree
 * with a token).  The first byte picks the parser.  Build and run: make fuzz (clang, -fsanitize=fuzzer,address).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "handoff.h"
#include "job.h"
#include "llm.h"
#include "pipeline.h"
#include "repo.h"
#include "room.h"
#include "scan.h"
#include "spool.h"
#include "testcount.h"
#include "token.h"
#include "vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One request to lib/api: the first byte picks the method and whether
 * the token goes with it; then the path, a newline, the query, a
 * newline, and the body.  The tree is made once, in $TMPDIR. */
static void
fuzz_api(const char *buf, size_t len)
{
	static const char *const methods[] = { "GET", "POST", "PATCH", "DELETE",
		"PUT" };
	static struct wf_api api;
	static char bearer[WF_TOKEN_HEX + 8];
	static int ready;
	struct wf_api_reply r;
	char *text, *path, *query, *body, err[256];

	if (!ready) {
		static char home[4096];
		struct wf_config cfg;
		const char *t = getenv("TMPDIR");
		char tok[WF_TOKEN_HEX];
		int root;

		snprintf(home, sizeof(home), "%s/wf-fuzz-api.XXXXXX",
		    t != NULL ? t : "/tmp");
		if (mkdtemp(home) == NULL || wf_spool_init(home) == -1 ||
		    (root = wf_spool_open(home)) == -1 ||
		    wf_vault_init(root, err, sizeof(err)) == -1 ||
		    wf_token_add(root, "fuzz", tok, err, sizeof(err)) == -1)
			abort();
		snprintf(bearer, sizeof(bearer), "Bearer %s", tok);
		wf_config_defaults(&cfg);
		if (wf_api_init(&api, root, NULL, &cfg, 0, err, sizeof(err)) ==
		    -1)
			abort();
		ready = 1;
	}
	if (len < 1 || (text = malloc(len)) == NULL)
		return;
	memcpy(text, buf + 1, len - 1);
	text[len - 1] = '\0';
	path = text;
	query = strchr(path, '\n');
	if (query != NULL)
		*query++ = '\0';
	body = query != NULL ? strchr(query, '\n') : NULL;
	if (body != NULL)
		*body++ = '\0';
	wf_api_handle(&api, methods[(unsigned char)buf[0] % 5], path, query,
	    (unsigned char)buf[0] & 0x80 ? bearer : NULL, body,
	    body != NULL ? (size_t)(text + len - 1 - body) : 0, &r);
	wf_api_reply_free(&r);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	char err[512], *text;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 10) {
	case 0: {
		struct wf_job j;

		if (wf_job_parse(&j, buf, len, err, sizeof(err)) == 0) {
			char *s = wf_job_format(&j);

			free(s);
			wf_job_free(&j);
		}
		break;
	}
	case 1: {
		cJSON *r, *run;

		if (wf_pipeline_report_parse(buf, len, &r, err, sizeof(err)) ==
		    0) {
			struct wf_pipeline_conf c;

			wf_pipeline_defaults(&c);
			wf_pipeline_gate(&c, r, err, sizeof(err));
			/* The handoff it leaves (its details as the gate's
			 * evidence), and that as a prompt's text. */
			if ((run = cJSON_CreateObject()) != NULL) {
				wf_handoff_record(run, r, cJSON_GetObjectItem(r,
				    "details"), "fuzz", NULL);
				free(wf_handoff_text(cJSON_GetObjectItem(run,
				    "handoffs"), WF_HANDOFF_PROMPT_MAX));
				cJSON_Delete(run);
			}
			cJSON_Delete(r);
		}
		break;
	}
	case 2: {
		struct wf_config c;

		/* inih wants a C string. */
		if ((text = malloc(len + 1)) == NULL)
			return 0;
		memcpy(text, buf, len);
		text[len] = '\0';
		wf_config_defaults(&c);
		wf_config_parse(&c, text, err, sizeof(err));
		free(text);
		break;
	}
	case 3: {
		struct wf_testcount tc;

		wf_testcount_parse(buf, len, &tc);
		break;
	}
	case 4: {
		struct wf_llm_result r;

		wf_llm_result_init(&r);
		wf_llm_parse_response(len % 2 ? WF_LLM_OLLAMA : WF_LLM_OPENAI,
		    buf, len, &r, err, sizeof(err));
		wf_llm_result_free(&r);
		break;
	}
	case 5: {
		struct wf_repo_block *b;
		int n = wf_repo_blocks(buf, len, &b);

		for (int i = 0; i < n; i++)
			wf_repo_path_ok(b[i].path, err, sizeof(err));
		if (n >= 0)
			wf_repo_blocks_free(b, n);
		break;
	}
	case 6: {
		struct wf_testcount tc;

		wf_testcount_junit(buf, len, &tc);
		break;
	}
	case 7: {
		static const char *const fmts[] = { "semgrep", "bandit",
			"gitleaks", "npm-audit", "trivy", "sarif" };
		cJSON *fs;

		if (len < 1 || (fs = cJSON_CreateArray()) == NULL)
			return 0;
		wf_scan_parse(fmts[(unsigned char)buf[0] % 6], buf + 1, len - 1,
		    fs, err, sizeof(err));
		cJSON_Delete(fs);
		break;
	}
	case 8: fuzz_api(buf, len); break;
	case 9: {
		char **av, **ev;

		if (wf_room_unpack(buf, len, &av, &ev, err, sizeof(err)) == 0) {
			for (int i = 0; av[i] != NULL; i++)
				(void)strlen(av[i]);
			free(av);
			free(ev);
		}
		break;
	}
	}
	return 0;
}
