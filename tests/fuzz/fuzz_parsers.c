/*
 * fuzz_parsers: one libFuzzer target over every parser that takes
 * outside bytes: a job file, a report, wf.ini, a test runner's output, a
 * model's reply (both shapes, and its file blocks), a JUnit XML report,
 * a scanner's JSON (the second byte picks which).  The first byte picks
 * the parser.  Build and run: make fuzz (clang, -fsanitize=fuzzer,address).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "job.h"
#include "llm.h"
#include "pipeline.h"
#include "repo.h"
#include "scan.h"
#include "testcount.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	char err[512], *text;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] % 8) {
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
		cJSON *r;

		if (wf_pipeline_report_parse(buf, len, &r, err,
		    sizeof(err)) == 0) {
			struct wf_pipeline_conf c;

			wf_pipeline_defaults(&c);
			wf_pipeline_gate(&c, r, err, sizeof(err));
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
		wf_scan_parse(fmts[(unsigned char)buf[0] % 6], buf + 1,
		    len - 1, fs, err, sizeof(err));
		cJSON_Delete(fs);
		break;
	}
	}
	return 0;
}
