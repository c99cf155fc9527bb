/*
 * llm: chat completions over libcurl from OpenAI-compatible services,
 * Docker Model Runner and Ollama.  Builds the messages of the seed's job
 * types (images base64'd and capped), turns them into each provider's
 * request body, POSTs it with a time limit and a cap on the reply, reads
 * the content, the model and the token counts, and sorts every fault
 * into transient (retry, maybe after Retry-After) or permanent.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "clock.h"
#include "err.h"
#include "http.h"
#include "llm.h"

#ifndef WF_VERSION
#define WF_VERSION "0"
#endif

#define TOKENS_MAX 1e12
#define CONNECT_TIMEOUT 10
#define B64_MAX sodium_base64_ENCODED_LEN(WF_LLM_IMAGE_MAX, \
	    sodium_base64_VARIANT_ORIGINAL)

static const char *const provider_names[] = WF_LLM_PROVIDER_NAMES;

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && strncmp(s + n - m, suffix, m) == 0;
}

/*
 * A one-line, bounded quote of what a server said: control characters
 * become spaces, runs of blanks one, and a cut never splits a UTF-8
 * sequence.
 */
static void
excerpt(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0, lim = outlen - 1;
	bool blank = true;

	if (lim > WF_LLM_EXCERPT)
		lim = WF_LLM_EXCERPT;
	for (size_t i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			if (blank)
				continue;
			ch = ' ';
			blank = true;
		} else
			blank = false;
		if (o >= lim) {
			if (o >= 3) {
				o -= 3;
				while (o > 0 &&
				    ((unsigned char)out[o] & 0xc0) == 0x80)
					o--;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		out[o++] = (char)ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* What an error body says: error.message, error, message or detail of a
 * JSON body, else the body itself; quoted. */
static void
error_text(const char *body, size_t len, char *out, size_t outlen)
{
	const cJSON *e, *m;
	cJSON *o;

	out[0] = '\0';
	if (body == NULL || len == 0)
		return;
	o = cJSON_ParseWithLength(body, len);
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (!cJSON_IsString(m))
		m = e;
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(o, "message");
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(o, "detail");
	if (cJSON_IsString(m))
		excerpt(m->valuestring, strlen(m->valuestring), out, outlen);
	else
		excerpt(body, len, out, outlen);
	cJSON_Delete(o);
}

int
wf_llm_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
wf_llm_cleanup(void)
{
	curl_global_cleanup();
}

int
wf_llm_provider_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(provider_names) /
	    sizeof(provider_names[0]); i++)
		if (s != NULL && strcasecmp(s, provider_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
wf_llm_provider_name(enum wf_llm_provider p)
{
	if ((unsigned)p >= sizeof(provider_names) / sizeof(provider_names[0]))
		return "?";
	return provider_names[p];
}

void
wf_llm_conf_defaults(struct wf_llm_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->provider = WF_LLM_DMR;
	strlcpy(c->base_url, WF_LLM_DEFAULT_BASE, sizeof(c->base_url));
	strlcpy(c->model, WF_LLM_DEFAULT_MODEL, sizeof(c->model));
	strlcpy(c->vision_model, WF_LLM_DEFAULT_VISION_MODEL,
	    sizeof(c->vision_model));
	c->timeout = WF_LLM_DEFAULT_TIMEOUT;
	c->num_ctx = WF_LLM_DEFAULT_NUM_CTX;
	c->temperature = -1;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Copy a base URL, giving a bare "host:port" (as OLLAMA_HOST may be) the
 * http:// scheme. */
static int
set_base(struct wf_llm_conf *c, const char *name, const char *v, char *err,
    size_t errlen)
{
	int n;

	if (strstr(v, "://") != NULL)
		n = snprintf(c->base_url, sizeof(c->base_url), "%s", v);
	else
		n = snprintf(c->base_url, sizeof(c->base_url), "http://%s", v);
	if (n < 0 || (size_t)n >= sizeof(c->base_url))
		return wf_err(err, errlen, "%s: longer than %d bytes", name,
		    WF_LLM_URL_MAX - 1);
	return 0;
}

static int
set_str(char *dst, size_t len, const char *name, const char *v, char *err,
    size_t errlen)
{
	if (strlcpy(dst, v, len) >= len)
		return wf_err(err, errlen, "%s: longer than %zu bytes", name,
		    len - 1);
	return 0;
}

static int
set_int(int *dst, const char *name, long long lo, long long hi, char *err,
    size_t errlen)
{
	const char *v = env(name), *errstr;
	long long n;

	if (v == NULL)
		return 0;
	n = strtonum(v, lo, hi, &errstr);
	if (errstr != NULL)
		return wf_err(err, errlen, "%s: '%.32s' is %s (%lld-%lld)", name,
		    v, errstr, lo, hi);
	*dst = (int)n;
	return 0;
}

int
wf_llm_conf_from_env(struct wf_llm_conf *c, char *err, size_t errlen)
{
	const char *v;
	int p;

	wf_llm_conf_defaults(c);
	if ((v = env("WF_LLM_PROVIDER")) != NULL) {
		if ((p = wf_llm_provider_parse(v)) == -1)
			return wf_err(err, errlen, "WF_LLM_PROVIDER: '%.32s' is "
			    "not openai, ollama or dmr", v);
		c->provider = (enum wf_llm_provider)p;
	}
	if ((v = env("WF_LLM_BASE_URL")) != NULL) {
		if (set_base(c, "WF_LLM_BASE_URL", v, err, errlen) == -1)
			return -1;
	} else if (c->provider == WF_LLM_OPENAI) {
		if ((v = env("OPENAI_BASE_URL")) == NULL)
			v = WF_LLM_DEFAULT_OPENAI_BASE;
		if (set_base(c, "OPENAI_BASE_URL", v, err, errlen) == -1)
			return -1;
	} else if ((v = env("OLLAMA_HOST")) != NULL &&
	    set_base(c, "OLLAMA_HOST", v, err, errlen) == -1)
		return -1;
	if ((v = env("WF_LLM_MODEL")) != NULL ||
	    (v = env("GOOSE_MODEL")) != NULL)
		if (set_str(c->model, sizeof(c->model), "GOOSE_MODEL", v, err,
		    errlen) == -1)
			return -1;
	if ((v = env("VISION_MODEL")) != NULL &&
	    set_str(c->vision_model, sizeof(c->vision_model), "VISION_MODEL",
	    v, err, errlen) == -1)
		return -1;
	if ((v = env("WF_LLM_API_KEY")) != NULL ||
	    (v = env("OPENAI_API_KEY")) != NULL)
		if (set_str(c->api_key, sizeof(c->api_key), "the API key", v,
		    err, errlen) == -1)
			return -1;
	if (set_int(&c->timeout, "WF_LLM_TIMEOUT", 1, WF_LLM_TIMEOUT_MAX,
	    err, errlen) == -1 ||
	    set_int(&c->num_ctx, "WF_LLM_NUM_CTX", 0, 1 << 24, err,
	    errlen) == -1 ||
	    set_int(&c->max_tokens, "WF_LLM_MAX_TOKENS", 0, 1 << 24, err,
	    errlen) == -1)
		return -1;
	return 0;
}

int
wf_llm_url(const struct wf_llm_conf *c, char *buf, size_t len)
{
	const char *b = c->base_url, *path;
	size_t n = strlen(b);
	int w;

	if (strncmp(b, "http://", 7) != 0 && strncmp(b, "https://", 8) != 0)
		return -1;
	while (n > 0 && b[n - 1] == '/')
		n--;
	switch (c->provider) {
	case WF_LLM_OPENAI:
		path = ends_with(b, n, "/v1") ? "/chat/completions" :
		    "/v1/chat/completions";
		break;
	case WF_LLM_DMR:
		if (ends_with(b, n, "/engines/v1"))
			path = "/chat/completions";
		else if (ends_with(b, n, "/engines"))
			path = "/v1/chat/completions";
		else
			path = "/engines/v1/chat/completions";
		break;
	case WF_LLM_OLLAMA:
		path = ends_with(b, n, "/api") ? "/chat" : "/api/chat";
		break;
	default:
		return -1;
	}
	w = snprintf(buf, len, "%.*s%s", (int)n, b, path);
	if (w < 0 || (size_t)w >= len)
		return -1;
	return 0;
}

void
wf_llm_opts_init(struct wf_llm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->temperature = -1;
}

void
wf_llm_result_init(struct wf_llm_result *r)
{
	memset(r, 0, sizeof(*r));
	r->prompt_tokens = r->completion_tokens = -1;
}

void
wf_llm_result_free(struct wf_llm_result *r)
{
	free(r->content);
	r->content = NULL;
}

/* Images. */

static const char *
sniff(const unsigned char *b, size_t n)
{
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && memcmp(b, "\xff\xd8\xff", 3) == 0)
		return "image/jpeg";
	if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 ||
	    memcmp(b, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 &&
	    memcmp(b + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

const char *
wf_llm_image_mime(const char *b64)
{
	unsigned char head[12];
	size_t n = strnlen(b64, 16), got = 0;

	/* 16 characters are 12 bytes, whole quanta: no padding needed. */
	if (sodium_base642bin(head, sizeof(head), b64, n, NULL, &got, NULL,
	    n == 16 ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING :
	    sodium_base64_VARIANT_ORIGINAL) == -1)
		return NULL;
	return sniff(head, got);
}

static char *
encode(const unsigned char *bin, size_t n, char *err, size_t errlen)
{
	size_t len = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL);
	char *b64;

	if ((b64 = malloc(len)) == NULL) {
		wf_err(err, errlen, "out of memory");
		return NULL;
	}
	sodium_bin2base64(b64, len, bin, n, sodium_base64_VARIANT_ORIGINAL);
	return b64;
}

char *
wf_llm_image_file(const char *path, char *err, size_t errlen)
{
	unsigned char *bin = NULL;
	char *b64 = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	/* Not through a symlink: a job names the file it means to send, and
	 * a link in a shared directory could point anywhere. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    O_NOFOLLOW)) == -1) {
		wf_err(err, errlen, "%.200s: %s", path, errno == ELOOP ?
		    "a symlink, not an image file" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		wf_err(err, errlen, "%.200s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		wf_err(err, errlen, "%.200s: not a regular file", path);
		goto out;
	}
	if (st.st_size > WF_LLM_IMAGE_MAX) {
		wf_err(err, errlen, "%.200s: %lld bytes, over the image cap of "
		    "%d", path, (long long)st.st_size, WF_LLM_IMAGE_MAX);
		goto out;
	}
	/* One byte more than the cap, to see a file that grew. */
	if ((bin = malloc((size_t)st.st_size + 1)) == NULL) {
		wf_err(err, errlen, "out of memory");
		goto out;
	}
	while (n <= (size_t)st.st_size) {
		r = read(fd, bin + n, (size_t)st.st_size + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			wf_err(err, errlen, "%.200s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > (size_t)st.st_size) {
		wf_err(err, errlen, "%.200s: changed while read", path);
		goto out;
	}
	if (sniff(bin, n) == NULL) {
		wf_err(err, errlen, "%.200s: not a PNG, JPEG, GIF or WebP image",
		    path);
		goto out;
	}
	b64 = encode(bin, n, err, errlen);
out:
	free(bin);
	close(fd);
	return b64;
}

/* Check a base64 image given in the job (maybe a data: URI, maybe with
 * line breaks) and return it canonical. */
static char *
image_b64(const char *s, char *err, size_t errlen)
{
	unsigned char *bin = NULL;
	const char *comma;
	char *b64 = NULL;
	size_t n, got = 0;

	if (strncmp(s, "data:", 5) == 0) {
		if ((comma = strchr(s, ',')) == NULL || comma - s < 12 ||
		    strncmp(comma - 7, ";base64", 7) != 0) {
			wf_err(err, errlen, "request_data.image_base64: a data: "
			    "URI that is not base64");
			return NULL;
		}
		s = comma + 1;
	}
	n = strlen(s);
	/* Room for line breaks, and still bounded. */
	if (n > B64_MAX + B64_MAX / 32) {
		wf_err(err, errlen, "request_data.image_base64: over the image "
		    "cap of %d bytes", WF_LLM_IMAGE_MAX);
		return NULL;
	}
	if ((bin = malloc(n / 4 * 3 + 3)) == NULL) {
		wf_err(err, errlen, "out of memory");
		return NULL;
	}
	if (sodium_base642bin(bin, n / 4 * 3 + 3, s, n, " \t\r\n", &got,
	    NULL, sodium_base64_VARIANT_ORIGINAL) == -1) {
		wf_err(err, errlen, "request_data.image_base64: not base64");
		goto out;
	}
	if (got > WF_LLM_IMAGE_MAX) {
		wf_err(err, errlen, "request_data.image_base64: %zu bytes, over "
		    "the image cap of %d", got, WF_LLM_IMAGE_MAX);
		goto out;
	}
	if (sniff(bin, got) == NULL) {
		wf_err(err, errlen, "request_data.image_base64: not a PNG, JPEG, "
		    "GIF or WebP image");
		goto out;
	}
	b64 = encode(bin, got, err, errlen);
out:
	free(bin);
	return b64;
}

/* Requests from jobs. */

static const char *
opt_str(const cJSON *rd, const char *k, int *bad)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(rd, k);

	if (it == NULL || cJSON_IsNull(it))
		return NULL;
	if (!cJSON_IsString(it)) {
		*bad = 1;
		return NULL;
	}
	return it->valuestring;
}

static int
add_msg(cJSON *msgs, const char *role, const char *content)
{
	cJSON *m;

	if ((m = cJSON_CreateObject()) == NULL)
		return -1;
	if (!cJSON_AddItemToArray(msgs, m) ||
	    cJSON_AddStringToObject(m, "role", role) == NULL ||
	    cJSON_AddStringToObject(m, "content", content) == NULL)
		return -1;
	return 0;
}

/* model, max_tokens, temperature: what any job may set. */
static int
common_opts(const cJSON *rd, struct wf_llm_opts *o, char *err, size_t errlen)
{
	const cJSON *it;
	const char *s;
	int bad = 0;

	if ((s = opt_str(rd, "model", &bad)) != NULL &&
	    strlcpy(o->model, s, sizeof(o->model)) >= sizeof(o->model))
		return wf_err(err, errlen, "request_data.model: longer than %d "
		    "bytes", WF_LLM_MODEL_MAX - 1);
	if (bad)
		return wf_err(err, errlen, "request_data.model: not a string");
	it = cJSON_GetObjectItemCaseSensitive(rd, "max_tokens");
	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 1 ||
		    it->valuedouble > (1 << 24) ||
		    it->valuedouble != floor(it->valuedouble))
			return wf_err(err, errlen, "request_data.max_tokens: "
			    "not an integer 1-%d", 1 << 24);
		o->max_tokens = (int)it->valuedouble;
	}
	it = cJSON_GetObjectItemCaseSensitive(rd, "temperature");
	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
		    it->valuedouble > 2)
			return wf_err(err, errlen, "request_data.temperature: "
			    "not a number 0-2");
		o->temperature = it->valuedouble;
	}
	return 0;
}

static int
chat_messages(const cJSON *rd, cJSON *msgs, char *err, size_t errlen)
{
	static const char *const roles[] = { "system", "user", "assistant",
	    "tool" };
	const cJSON *arr, *m, *role, *content;
	int i = 0;

	arr = cJSON_GetObjectItemCaseSensitive(rd, "messages");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return wf_err(err, errlen, "request_data.messages: llm_chat needs "
		    "a non-empty array of {\"role\", \"content\"}");
	cJSON_ArrayForEach(m, arr) {
		size_t k;

		if (i >= WF_LLM_MESSAGES_MAX)
			return wf_err(err, errlen, "request_data.messages: more "
			    "than %d", WF_LLM_MESSAGES_MAX);
		role = cJSON_GetObjectItemCaseSensitive(m, "role");
		content = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsString(role))
			return wf_err(err, errlen, "request_data.messages[%d]."
			    "role: not a string", i);
		for (k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
			if (strcmp(role->valuestring, roles[k]) == 0)
				break;
		if (k == sizeof(roles) / sizeof(roles[0]))
			return wf_err(err, errlen, "request_data.messages[%d]."
			    "role: '%.32s' is not system, user, assistant or "
			    "tool", i, role->valuestring);
		if (!cJSON_IsString(content))
			return wf_err(err, errlen, "request_data.messages[%d]."
			    "content: not a string", i);
		if (add_msg(msgs, role->valuestring, content->valuestring) ==
		    -1)
			return wf_err(err, errlen, "out of memory");
		i++;
	}
	return 0;
}

static int
query_message(const cJSON *rd, cJSON *msgs, char *err, size_t errlen)
{
	const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(rd, "context");
	const char *q;
	char *ctxs = NULL, *text = NULL;
	int bad = 0, rc = -1;

	if ((q = opt_str(rd, "query", &bad)) == NULL && !bad)
		q = opt_str(rd, "prompt", &bad);
	if (q == NULL || bad)
		return wf_err(err, errlen, "request_data.query: llm_query needs "
		    "a string query (or prompt)");
	if (ctx == NULL || cJSON_IsNull(ctx))
		return add_msg(msgs, "user", q) == -1 ?
		    wf_err(err, errlen, "out of memory") : 0;
	if (cJSON_IsString(ctx))
		ctxs = strdup(ctx->valuestring);
	else
		ctxs = cJSON_Print(ctx);
	if (ctxs == NULL || asprintf(&text, "Context:\n%s\n\nQuestion: %s",
	    ctxs, q) == -1) {
		text = NULL;
		wf_err(err, errlen, "out of memory");
		goto out;
	}
	if (add_msg(msgs, "user", text) == -1) {
		wf_err(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(ctxs);
	free(text);
	return rc;
}

static int
vision_message(const cJSON *rd, cJSON *msgs, char *err, size_t errlen)
{
	const char *path, *b64in, *prompt;
	cJSON *m, *imgs;
	char *b64 = NULL;
	int bad = 0, rc = -1;

	path = opt_str(rd, "image_path", &bad);
	if (bad)
		return wf_err(err, errlen, "request_data.image_path: not a "
		    "string");
	b64in = opt_str(rd, "image_base64", &bad);
	if (bad)
		return wf_err(err, errlen, "request_data.image_base64: not a "
		    "string");
	prompt = opt_str(rd, "prompt", &bad);
	if (bad)
		return wf_err(err, errlen, "request_data.prompt: not a string");
	if (prompt == NULL)
		prompt = "Describe this image.";
	if ((path == NULL) == (b64in == NULL))
		return wf_err(err, errlen, "request_data: vision_analyze needs "
		    "one of image_path and image_base64");
	if (path != NULL) {
		char e[400];

		if (path[0] != '/')
			return wf_err(err, errlen, "request_data.image_path: not "
			    "an absolute path");
		if ((b64 = wf_llm_image_file(path, e, sizeof(e))) == NULL)
			return wf_err(err, errlen, "request_data.image_path: %s",
			    e);
	} else if ((b64 = image_b64(b64in, err, errlen)) == NULL)
		return -1;
	if (add_msg(msgs, "user", prompt) == -1 ||
	    (m = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1)) ==
	    NULL ||
	    (imgs = cJSON_AddArrayToObject(m, "images")) == NULL) {
		wf_err(err, errlen, "out of memory");
		goto out;
	}
	{
		cJSON *s = cJSON_CreateString("");

		if (s == NULL || !cJSON_AddItemToArray(imgs, s)) {
			cJSON_Delete(s);
			wf_err(err, errlen, "out of memory");
			goto out;
		}
		/* Hand the string over rather than copy 11 MB. */
		free(s->valuestring);
		s->valuestring = b64;
		b64 = NULL;
	}
	rc = 0;
out:
	free(b64);
	return rc;
}

int
wf_llm_request_from_job(const char *job_type, const cJSON *rd,
    cJSON **messages, struct wf_llm_opts *o, char *err, size_t errlen)
{
	const char *sys, *prompt;
	cJSON *msgs = NULL;
	int bad = 0;

	*messages = NULL;
	wf_llm_opts_init(o);
	if (!cJSON_IsObject(rd))
		return wf_err(err, errlen, "request_data: not an object");
	if (common_opts(rd, o, err, errlen) == -1)
		return -1;
	sys = opt_str(rd, "system", &bad);
	if (bad)
		return wf_err(err, errlen, "request_data.system: not a string");
	if ((msgs = cJSON_CreateArray()) == NULL)
		return wf_err(err, errlen, "out of memory");
	if (sys != NULL && add_msg(msgs, "system", sys) == -1) {
		wf_err(err, errlen, "out of memory");
		goto fail;
	}
	if (strcmp(job_type, "llm_complete") == 0) {
		prompt = opt_str(rd, "prompt", &bad);
		if (prompt == NULL || bad) {
			wf_err(err, errlen, "request_data.prompt: llm_complete "
			    "needs a string prompt");
			goto fail;
		}
		if (add_msg(msgs, "user", prompt) == -1) {
			wf_err(err, errlen, "out of memory");
			goto fail;
		}
	} else if (strcmp(job_type, "llm_chat") == 0) {
		if (chat_messages(rd, msgs, err, errlen) == -1)
			goto fail;
	} else if (strcmp(job_type, "llm_query") == 0) {
		if (query_message(rd, msgs, err, errlen) == -1)
			goto fail;
	} else if (strcmp(job_type, "vision_analyze") == 0) {
		o->vision = true;
		if (vision_message(rd, msgs, err, errlen) == -1)
			goto fail;
	} else {
		wf_err(err, errlen, "job_type '%.32s' is not an LLM job",
		    job_type);
		goto fail;
	}
	*messages = msgs;
	return 0;
fail:
	cJSON_Delete(msgs);
	return -1;
}

/* Request bodies. */

/* An OpenAI message with its images as content parts. */
static cJSON *
openai_parts(const cJSON *content, const cJSON *images, char *err,
    size_t errlen)
{
	cJSON *parts, *p, *u;
	const cJSON *img;
	const char *mime;
	char *url;
	size_t n;

	if ((parts = cJSON_CreateArray()) == NULL)
		goto oom;
	if ((p = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToArray(parts, p)) {
		cJSON_Delete(p);
		goto oom;
	}
	if (cJSON_AddStringToObject(p, "type", "text") == NULL ||
	    !cJSON_AddItemToObject(p, "text",
	    cJSON_CreateStringReference(content->valuestring)))
		goto oom;
	cJSON_ArrayForEach(img, images) {
		if (!cJSON_IsString(img)) {
			wf_err(err, errlen, "messages: an image that is not a "
			    "string");
			goto bad;
		}
		if ((mime = wf_llm_image_mime(img->valuestring)) == NULL)
			mime = "image/png";
		n = strlen(img->valuestring) + strlen(mime) + 16;
		if ((url = malloc(n)) == NULL)
			goto oom;
		snprintf(url, n, "data:%s;base64,%s", mime, img->valuestring);
		if ((p = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(parts, p)) {
			cJSON_Delete(p);
			free(url);
			goto oom;
		}
		if (cJSON_AddStringToObject(p, "type", "image_url") == NULL ||
		    (u = cJSON_AddObjectToObject(p, "image_url")) == NULL ||
		    (u = cJSON_AddStringToObject(u, "url", "")) == NULL) {
			free(url);
			goto oom;
		}
		/* Hand the URL over rather than copy it. */
		free(u->valuestring);
		u->valuestring = url;
	}
	return parts;
oom:
	wf_err(err, errlen, "out of memory");
bad:
	cJSON_Delete(parts);
	return NULL;
}

/* The messages in the provider's shape; text by reference, so that the
 * body costs one copy of the images at most. */
static cJSON *
body_messages(enum wf_llm_provider p, const cJSON *msgs, char *err,
    size_t errlen)
{
	const cJSON *m, *role, *content, *images;
	cJSON *out, *o, *c;
	int i = 0;

	if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
		wf_err(err, errlen, "no messages to send");
		return NULL;
	}
	if ((out = cJSON_CreateArray()) == NULL)
		goto oom;
	cJSON_ArrayForEach(m, msgs) {
		role = cJSON_GetObjectItemCaseSensitive(m, "role");
		content = cJSON_GetObjectItemCaseSensitive(m, "content");
		images = cJSON_GetObjectItemCaseSensitive(m, "images");
		if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
			wf_err(err, errlen, "messages[%d]: needs a string role "
			    "and content", i);
			goto bad;
		}
		if (images != NULL && !cJSON_IsArray(images)) {
			wf_err(err, errlen, "messages[%d].images: not an array",
			    i);
			goto bad;
		}
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(out, o)) {
			cJSON_Delete(o);
			goto oom;
		}
		if (!cJSON_AddItemToObject(o, "role",
		    cJSON_CreateStringReference(role->valuestring)))
			goto oom;
		if (p != WF_LLM_OLLAMA && cJSON_GetArraySize(images) > 0) {
			if ((c = openai_parts(content, images, err,
			    errlen)) == NULL)
				goto bad;
		} else
			c = cJSON_CreateStringReference(content->valuestring);
		if (!cJSON_AddItemToObject(o, "content", c))
			goto oom;
		if (p == WF_LLM_OLLAMA && cJSON_GetArraySize(images) > 0 &&
		    !cJSON_AddItemToObject(o, "images",
		    cJSON_CreateArrayReference(images->child)))
			goto oom;
		i++;
	}
	return out;
oom:
	wf_err(err, errlen, "out of memory");
bad:
	cJSON_Delete(out);
	return NULL;
}

static char *
build_body(const struct wf_llm_conf *c, const cJSON *msgs,
    const struct wf_llm_opts *o, char *err, size_t errlen)
{
	const char *model;
	cJSON *b = NULL, *m, *opts;
	char *s = NULL;
	int max_tokens;
	double temp;

	model = o->model[0] != '\0' ? o->model :
	    o->vision ? c->vision_model : c->model;
	if (model[0] == '\0') {
		wf_err(err, errlen, "no model configured");
		return NULL;
	}
	max_tokens = o->max_tokens > 0 ? o->max_tokens : c->max_tokens;
	temp = o->temperature >= 0 ? o->temperature : c->temperature;
	if ((m = body_messages(c->provider, msgs, err, errlen)) == NULL)
		return NULL;
	if ((b = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(m);
		goto oom;
	}
	if (!cJSON_AddItemToObject(b, "messages", m)) {
		cJSON_Delete(m);
		goto oom;
	}
	if (cJSON_AddStringToObject(b, "model", model) == NULL)
		goto oom;
	if (cJSON_AddFalseToObject(b, "stream") == NULL)
		goto oom;
	if (c->provider == WF_LLM_OLLAMA) {
		if ((opts = cJSON_AddObjectToObject(b, "options")) == NULL ||
		    (c->num_ctx > 0 && cJSON_AddNumberToObject(opts,
		    "num_ctx", c->num_ctx) == NULL) ||
		    (max_tokens > 0 && cJSON_AddNumberToObject(opts,
		    "num_predict", max_tokens) == NULL) ||
		    (temp >= 0 && cJSON_AddNumberToObject(opts,
		    "temperature", temp) == NULL))
			goto oom;
	} else if ((max_tokens > 0 && cJSON_AddNumberToObject(b, "max_tokens",
	    max_tokens) == NULL) || (temp >= 0 &&
	    cJSON_AddNumberToObject(b, "temperature", temp) == NULL))
		goto oom;
	if ((s = cJSON_PrintUnformatted(b)) == NULL)
		goto oom;
	cJSON_Delete(b);
	return s;
oom:
	cJSON_Delete(b);
	wf_err(err, errlen, "out of memory");
	return NULL;
}

/* Replies. */

static int64_t
count(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    v->valuedouble > TOKENS_MAX)
		return -1;
	return (int64_t)v->valuedouble;
}

static bool
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* Parse into r without resetting it (wf_llm_call has set the status and
 * the latency). */
static int
parse_body(enum wf_llm_provider p, const char *body, size_t len,
    struct wf_llm_result *r, char *err, size_t errlen)
{
	const cJSON *choice, *msg, *content, *model, *reason, *usage, *e;
	const char *end = NULL, *pn = wf_llm_provider_name(p);
	char q[WF_LLM_EXCERPT + 1];
	cJSON *o = NULL;
	int rc = -1;

	r->fault = WF_LLM_PERMANENT;
	if (body == NULL || len == 0)
		return wf_err(err, errlen, "%s: the reply is empty", pn);
	o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (o == NULL) {
		excerpt(body, len, q, sizeof(q));
		return wf_err(err, errlen, "%s: the reply is not JSON: %s", pn,
		    q);
	}
	while (end != NULL && end < body + len &&
	    (isspace((unsigned char)*end) || *end == '\0'))
		end++;
	if (end != NULL && end < body + len) {
		if (*end == '{')
			wf_err(err, errlen, "%s: the reply is a stream of JSON "
			    "objects, not one (is \"stream\": false honoured?)",
			    pn);
		else
			wf_err(err, errlen, "%s: the reply has garbage after its "
			    "JSON", pn);
		goto out;
	}
	if (!cJSON_IsObject(o)) {
		wf_err(err, errlen, "%s: the reply is not a JSON object", pn);
		goto out;
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(o, "error")) != NULL &&
	    !cJSON_IsNull(e)) {
		error_text(body, len, q, sizeof(q));
		wf_err(err, errlen, "%s: the server says: %s", pn, q);
		goto out;
	}
	model = cJSON_GetObjectItemCaseSensitive(o, "model");
	if (cJSON_IsString(model))
		strlcpy(r->model, model->valuestring, sizeof(r->model));
	if (p == WF_LLM_OLLAMA) {
		const cJSON *done;

		r->prompt_tokens = count(cJSON_GetObjectItemCaseSensitive(o,
		    "prompt_eval_count"));
		r->completion_tokens = count(cJSON_GetObjectItemCaseSensitive(
		    o, "eval_count"));
		reason = cJSON_GetObjectItemCaseSensitive(o, "done_reason");
		done = cJSON_GetObjectItemCaseSensitive(o, "done");
		msg = cJSON_GetObjectItemCaseSensitive(o, "message");
		if (!cJSON_IsObject(msg)) {
			wf_err(err, errlen, "%s: the reply has no message (not "
			    "an /api/chat reply)", pn);
			goto out;
		}
		if (cJSON_IsFalse(done)) {
			wf_err(err, errlen, "%s: the reply is not done (a "
			    "stream?)", pn);
			goto out;
		}
	} else {
		const cJSON *choices;

		usage = cJSON_GetObjectItemCaseSensitive(o, "usage");
		r->prompt_tokens = count(cJSON_GetObjectItemCaseSensitive(usage,
		    "prompt_tokens"));
		r->completion_tokens = count(cJSON_GetObjectItemCaseSensitive(
		    usage, "completion_tokens"));
		choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
		if (!cJSON_IsArray(choices)) {
			wf_err(err, errlen, "%s: the reply has no choices (not a "
			    "chat completion)", pn);
			goto out;
		}
		if ((choice = cJSON_GetArrayItem(choices, 0)) == NULL) {
			wf_err(err, errlen, "%s: the reply has no choice", pn);
			goto out;
		}
		reason = cJSON_GetObjectItemCaseSensitive(choice,
		    "finish_reason");
		msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
		if (!cJSON_IsObject(msg)) {
			wf_err(err, errlen, "%s: the reply's choice has no "
			    "message", pn);
			goto out;
		}
	}
	if (cJSON_IsString(reason))
		strlcpy(r->finish_reason, reason->valuestring,
		    sizeof(r->finish_reason));
	content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (content != NULL && !cJSON_IsNull(content) &&
	    !cJSON_IsString(content)) {
		wf_err(err, errlen, "%s: the reply's content is not a string",
		    pn);
		goto out;
	}
	if (!cJSON_IsString(content) || blank(content->valuestring)) {
		if (strcmp(r->finish_reason, "length") == 0) {
			wf_err(err, errlen, "%s: empty reply: the model stopped "
			    "at max_tokens (raise it)", pn);
		} else {
			r->fault = WF_LLM_TRANSIENT;
			wf_err(err, errlen, "%s: empty reply from the model%s%s",
			    pn, r->finish_reason[0] ? ", finish_reason " : "",
			    r->finish_reason);
		}
		goto out;
	}
	if ((r->content = strdup(content->valuestring)) == NULL) {
		r->fault = WF_LLM_TRANSIENT;
		wf_err(err, errlen, "out of memory");
		goto out;
	}
	r->fault = WF_LLM_OK;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int
wf_llm_parse_response(enum wf_llm_provider p, const char *body, size_t len,
    struct wf_llm_result *r, char *err, size_t errlen)
{
	wf_llm_result_init(r);
	return parse_body(p, body, len, r, err, errlen);
}

/* HTTP. */

struct sink {
	char *buf;
	size_t len, cap;
	bool over, oom;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb, ncap;
	char *nb;

	if (n > WF_LLM_BODY_MAX - s->len) {
		s->over = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		ncap = s->cap < 16384 ? 16384 : s->cap;
		while (ncap < s->len + n + 1)
			ncap *= 2;
		if (ncap > WF_LLM_BODY_MAX + 1)
			ncap = WF_LLM_BODY_MAX + 1;
		if ((nb = realloc(s->buf, ncap)) == NULL) {
			s->oom = true;
			return 0;
		}
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* Sort a transfer that failed. */
static void
curl_fault(CURLcode cc, const struct sink *s, const struct wf_llm_conf *c,
    const char *ebuf, struct wf_llm_result *r, char *err, size_t errlen)
{
	const char *pn = wf_llm_provider_name(c->provider);
	const char *why = ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc);

	r->fault = WF_LLM_TRANSIENT;
	if (s->over || cc == CURLE_FILESIZE_EXCEEDED) {
		r->fault = WF_LLM_PERMANENT;
		wf_err(err, errlen, "%s: the reply is over %d bytes", pn,
		    WF_LLM_BODY_MAX);
		return;
	}
	if (s->oom) {
		wf_err(err, errlen, "%s: out of memory reading the reply", pn);
		return;
	}
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		wf_err(err, errlen, "%s: cannot resolve the server: %s", pn,
		    why);
		break;
	case CURLE_COULDNT_CONNECT:
		wf_err(err, errlen, "%s: cannot connect: %s", pn, why);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		wf_err(err, errlen, "%s: timed out (limit %d s): %s", pn,
		    c->timeout, why);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_LOGIN_DENIED:
		r->fault = WF_LLM_PERMANENT;
		wf_err(err, errlen, "%s: %s", pn, why);
		break;
	default:
		wf_err(err, errlen, "%s: no reply: %s", pn, why);
		break;
	}
}

/* Sort a reply that is not a 2xx. */
static void
http_fault(CURL *h, const struct sink *s, const struct wf_llm_conf *c,
    struct wf_llm_result *r, char *err, size_t errlen)
{
	const char *pn = wf_llm_provider_name(c->provider), *hint = "";
	long st = r->http_status;
	char q[WF_LLM_EXCERPT + 1], ra[48] = "";
	curl_off_t after = 0;

	error_text(s->buf, s->len, q, sizeof(q));
	if (st >= 300 && st < 400) {
		const char *where = "elsewhere";
		char *loc = NULL;

		r->fault = WF_LLM_PERMANENT;
		if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) ==
		    CURLE_OK && loc != NULL)
			where = loc;
		excerpt(where, strlen(where), q, sizeof(q));
		wf_err(err, errlen, "%s: HTTP %ld: redirected to %s; redirects "
		    "are not followed, give the final address as the base URL",
		    pn, st, q);
		return;
	}
	if (st == 408 || st == 429 || (st >= 500 && st != 501 && st != 505))
		r->fault = WF_LLM_TRANSIENT;
	else
		r->fault = WF_LLM_PERMANENT;
	if (r->fault == WF_LLM_TRANSIENT &&
	    curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
	    after > 0) {
		/* A date in the past is negative in curl before 8.12. */
		r->retry_after = after > WF_LLM_RETRY_AFTER_MAX ?
		    WF_LLM_RETRY_AFTER_MAX : (int)after;
		snprintf(ra, sizeof(ra), " (retry after %d s)", r->retry_after);
	}
	if (st == 401 || st == 403)
		hint = " (check the API key)";
	else if (st == 404)
		hint = " (check the base URL and the model)";
	wf_err(err, errlen, "%s: HTTP %ld%s%s%s%s", pn, st, ra, hint,
	    q[0] ? ": " : "", q);
}

int
wf_llm_call(const struct wf_llm_conf *c, const cJSON *messages,
    const struct wf_llm_opts *o, struct wf_llm_result *r, char *err,
    size_t errlen)
{
	char url[WF_LLM_URL_MAX + 64], ebuf[CURL_ERROR_SIZE];
	char auth[WF_LLM_KEY_MAX + 32];
	const char *pn = wf_llm_provider_name(c->provider);
	struct curl_slist *hdrs = NULL, *t;
	struct wf_llm_opts dflt;
	struct sink s = { 0 };
	char *body = NULL;
	CURL *h = NULL;
	CURLcode cc;
	int64_t t0;
	int bad = 0, rc = -1, cto;

	wf_llm_result_init(r);
	r->fault = WF_LLM_PERMANENT;
	if (o == NULL) {
		wf_llm_opts_init(&dflt);
		o = &dflt;
	}
	if (wf_llm_url(c, url, sizeof(url)) == -1) {
		wf_err(err, errlen, "%s: the base URL is not http:// or https:// "
		    "or is too long", pn);
		goto out;
	}
	if (c->timeout < 1 || c->timeout > WF_LLM_TIMEOUT_MAX) {
		wf_err(err, errlen, "%s: timeout %d is not 1-%d seconds", pn,
		    c->timeout, WF_LLM_TIMEOUT_MAX);
		goto out;
	}
	if ((body = build_body(c, messages, o, err, errlen)) == NULL)
		goto out;
	r->fault = WF_LLM_TRANSIENT; /* from here on, resources */
	if ((t = curl_slist_append(hdrs, "Content-Type: application/json")) ==
	    NULL)
		goto oom;
	hdrs = t;
	if ((t = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
		goto oom;
	hdrs = t;
	/* No 100-continue round trip before a large body. */
	if ((t = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto oom;
	hdrs = t;
	if (c->api_key[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    c->api_key);
		t = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, sizeof(auth));
		if (t == NULL)
			goto oom;
		hdrs = t;
	}
	if ((h = curl_easy_init()) == NULL)
		goto oom;
	cto = c->connect_timeout > 0 ? c->connect_timeout : CONNECT_TIMEOUT;
	if (cto > c->timeout)
		cto = c->timeout;
	ebuf[0] = '\0';
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= wf_http_noproxy(h) == -1;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->timeout) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)cto) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)WF_LLM_BODY_MAX) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "wf/" WF_VERSION) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK;
	if (bad) {
		wf_err(err, errlen, "%s: libcurl refused an option", pn);
		r->fault = WF_LLM_PERMANENT;
		goto out;
	}
	if (o->go != NULL)
		o->go();
	t0 = wf_clock_mono_us();
	cc = curl_easy_perform(h);
	r->latency_ms = (wf_clock_mono_us() - t0 + 500) / 1000;
	if (o->done != NULL)
		o->done();
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->http_status);
	if (cc != CURLE_OK) {
		curl_fault(cc, &s, c, ebuf, r, err, errlen);
		goto out;
	}
	if (r->http_status < 200 || r->http_status > 299) {
		http_fault(h, &s, c, r, err, errlen);
		goto out;
	}
	rc = parse_body(c->provider, s.buf, s.len, r, err, errlen);
	goto out;
oom:
	wf_err(err, errlen, "out of memory");
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	free(body);
	free(s.buf);
	return rc;
}

/* Results as JSON. */

cJSON *
wf_llm_result_json(const struct wf_llm_result *r, enum wf_llm_provider p)
{
	int64_t pt = r->prompt_tokens > 0 ? r->prompt_tokens : 0;
	int64_t ct = r->completion_tokens > 0 ? r->completion_tokens : 0;
	cJSON *o, *u;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "content",
	    r->content != NULL ? r->content : "") == NULL ||
	    cJSON_AddStringToObject(o, "model", r->model) == NULL ||
	    cJSON_AddStringToObject(o, "provider",
	    wf_llm_provider_name(p)) == NULL ||
	    (u = cJSON_AddObjectToObject(o, "usage")) == NULL ||
	    cJSON_AddNumberToObject(u, "prompt_tokens", (double)pt) == NULL ||
	    cJSON_AddNumberToObject(u, "completion_tokens", (double)ct) ==
	    NULL ||
	    cJSON_AddNumberToObject(u, "total_tokens", (double)(pt + ct)) ==
	    NULL ||
	    cJSON_AddNumberToObject(o, "latency_ms",
	    (double)r->latency_ms) == NULL ||
	    cJSON_AddStringToObject(o, "finish_reason",
	    r->finish_reason) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int
wf_llm_outcome(const struct wf_llm_result *r, enum wf_llm_provider p,
    const char *err, cJSON *res)
{
	cJSON *rd;

	/* Tokens spent on a failed reply still count against a budget. */
	if (r->fault == WF_LLM_OK || r->prompt_tokens > 0 ||
	    r->completion_tokens > 0) {
		if ((rd = wf_llm_result_json(r, p)) == NULL)
			return -1;
		if (!cJSON_AddItemToObject(res, "result_data", rd)) {
			cJSON_Delete(rd);
			return -1;
		}
	}
	if (r->fault == WF_LLM_OK)
		return 0;
	if (cJSON_AddStringToObject(res, "error_message",
	    err != NULL && err[0] != '\0' ? err : "LLM call failed") == NULL)
		return -1;
	if (r->fault == WF_LLM_PERMANENT &&
	    cJSON_AddTrueToObject(res, "permanent") == NULL)
		return -1;
	if (r->fault == WF_LLM_TRANSIENT && r->retry_after > 0 &&
	    cJSON_AddNumberToObject(res, "retry_after", r->retry_after) ==
	    NULL)
		return -1;
	return 0;
}
