/*
 * llm: one chat completion over HTTP (libcurl), from a provider that
 * speaks the OpenAI shape (POST {base}/v1/chat/completions), Docker
 * Model Runner (the same shape under {base}/engines/v1) or Ollama's own
 * (POST {base}/api/chat with "stream": false and options.num_ctx).
 *
 * Messages travel in one neutral shape, whatever the provider:
 *
 *	[{"role": "system"|"user"|"assistant", "content": "...",
 *	  "images": ["<base64>", ...]}, ...]	(images: optional, user only)
 *
 * which is Ollama's; wf_llm_call turns a message with images into
 * OpenAI content parts ({"type":"image_url","image_url":{"url":
 * "data:image/png;base64,..."}}) for the other two.
 *
 * A call ends in one of three outcomes (enum wf_llm_fault): a reply, a
 * transient fault worth a retry (no connection, a time-out, 408, 429,
 * 5xx but 501 and 505, a reply that was cut off, an empty reply), or a
 * permanent one (other 4xx, a redirect, a body that is not a chat
 * completion, a reply over WF_LLM_BODY_MAX, an empty reply cut by
 * max_tokens).  A 429 or 503 carries the server's Retry-After (seconds
 * or an HTTP date) in retry_after so that the job is deferred until
 * then.  Errors are one line, never hold the API key, and quote at most
 * WF_LLM_EXCERPT bytes of what the server said.
 */
#ifndef WF_LLM_H
#define WF_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define WF_LLM_URL_MAX 512
#define WF_LLM_MODEL_MAX 256
#define WF_LLM_KEY_MAX 512
#define WF_LLM_BODY_MAX (8 << 20)   /* largest reply read */
#define WF_LLM_IMAGE_MAX (8 << 20)  /* largest image sent, in bytes */
#define WF_LLM_MESSAGES_MAX 1024    /* messages of one llm_chat */
#define WF_LLM_EXCERPT 160          /* bytes of an error body quoted */
#define WF_LLM_RETRY_AFTER_MAX 86399 /* under a day: what wf-dispatch takes */
#define WF_LLM_TIMEOUT_MAX (24 * 3600)

#define WF_LLM_DEFAULT_BASE "http://localhost:12434"
#define WF_LLM_DEFAULT_OPENAI_BASE "https://api.openai.com"
#define WF_LLM_DEFAULT_MODEL "ai/qwen3-coder:latest"
#define WF_LLM_DEFAULT_VISION_MODEL "ai/qwen3-vl"
#define WF_LLM_DEFAULT_TIMEOUT 300
#define WF_LLM_DEFAULT_NUM_CTX 8192

enum wf_llm_provider {
	WF_LLM_OPENAI,  /* {base}/v1/chat/completions */
	WF_LLM_OLLAMA,  /* {base}/api/chat */
	WF_LLM_DMR,     /* {base}/engines/v1/chat/completions */
};
/* Their names, in the enum's order: an initializer, so that lib/config
 * checks wf.ini's provider without linking this module (and libcurl). */
#define WF_LLM_PROVIDER_NAMES { "openai", "ollama", "dmr" }

struct wf_llm_conf {
	enum wf_llm_provider provider;
	char base_url[WF_LLM_URL_MAX]; /* scheme://host[:port][/prefix] */
	char model[WF_LLM_MODEL_MAX];
	char vision_model[WF_LLM_MODEL_MAX]; /* for opts.vision */
	char api_key[WF_LLM_KEY_MAX]; /* bearer; "" sends none */
	int timeout;          /* seconds for the whole request, 1.. */
	int connect_timeout;  /* seconds; 0: min(timeout, 10) */
	int num_ctx;          /* Ollama's options.num_ctx; 0: not sent */
	int max_tokens;       /* 0: not sent (the server's default) */
	double temperature;   /* < 0: not sent */
};

/* What one request asks for beyond the messages; zero values defer to
 * the conf (wf_llm_opts_init sets them). */
struct wf_llm_opts {
	char model[WF_LLM_MODEL_MAX]; /* "": conf's model (or vision_model) */
	int max_tokens;       /* 0: conf's */
	double temperature;   /* < 0: conf's */
	bool vision;          /* use conf's vision_model when model is "" */
	/* Called once the exchange with the model is over, before its reply
	 * is parsed: the model is free from that moment. */
	void (*done)(void);
	/* Called once the request is built, right before it is sent: a
	 * worker handed its job ahead of time waits there for the model. */
	void (*go)(void);
};

enum wf_llm_fault {
	WF_LLM_OK,
	WF_LLM_TRANSIENT,     /* retry (after retry_after when it is > 0) */
	WF_LLM_PERMANENT,     /* retrying cannot help */
};

struct wf_llm_result {
	char *content;                 /* owned, NUL-terminated; NULL on fault */
	char model[WF_LLM_MODEL_MAX];  /* as the server names it */
	char finish_reason[32];        /* "stop", "length", ...; "" unknown */
	int64_t prompt_tokens;         /* -1: the server did not say */
	int64_t completion_tokens;     /* -1: the server did not say */
	int64_t latency_ms;            /* request start to last byte */
	long http_status;              /* 0: no HTTP reply */
	enum wf_llm_fault fault;
	int retry_after;               /* seconds, 0..WF_LLM_RETRY_AFTER_MAX */
};

/* Once per process, before any thread: curl_global_init and its undo.
 * wf_llm_call works without, at the price of a leak at exit. */
int wf_llm_init(void);
void wf_llm_cleanup(void);

void wf_llm_conf_defaults(struct wf_llm_conf *c);
/*
 * Defaults, then the environment, the seed's variables keeping their
 * meaning:
 *	WF_LLM_PROVIDER	openai | ollama | dmr (default dmr)
 *	WF_LLM_BASE_URL	the base; else OLLAMA_HOST for ollama and dmr
 *			(default http://localhost:12434; "host:port" gets
 *			http://), https://api.openai.com for openai
 *	WF_LLM_MODEL, else GOOSE_MODEL (default ai/qwen3-coder:latest)
 *	VISION_MODEL	(default ai/qwen3-vl)
 *	WF_LLM_API_KEY, else OPENAI_API_KEY
 *	WF_LLM_TIMEOUT, WF_LLM_NUM_CTX, WF_LLM_MAX_TOKENS (integers)
 * Returns -1 with a reason in err on a value it cannot take.
 */
int wf_llm_conf_from_env(struct wf_llm_conf *c, char *err, size_t errlen);
int wf_llm_provider_parse(const char *s);  /* enum, or -1 */
const char *wf_llm_provider_name(enum wf_llm_provider p);
/* The endpoint: base_url plus the provider's path (a base that already
 * ends in /v1, /engines, /engines/v1 or /api is not doubled).  Returns
 * -1 when it does not fit in len. */
int wf_llm_url(const struct wf_llm_conf *c, char *buf, size_t len);

void wf_llm_opts_init(struct wf_llm_opts *o);

/*
 * Build the messages (the neutral shape above) and the options of a
 * job from its type and the seed's request_data:
 *	llm_complete	{"prompt", "system"?, "max_tokens"?, "temperature"?,
 *			 "model"?}
 *	llm_chat	{"messages": [{"role", "content"}, ...], "system"?,
 *			 "max_tokens"?, "temperature"?, "model"?}
 *	llm_query	{"query" | "prompt", "context"? (any JSON), "system"?,
 *			 ...}
 *	vision_analyze	{"image_path" | "image_base64", "prompt"?, "model"?,
 *			 ...}; the image at most WF_LLM_IMAGE_MAX bytes, a
 *			 PNG, JPEG, GIF or WebP (by its magic), a path a
 *			 regular file; opts->vision is set.
 * On success *messages is a new array the caller deletes.  On error
 * returns -1, *messages is NULL and err names the field; such a job is
 * bad for good (a permanent fault).
 */
int wf_llm_request_from_job(const char *job_type, const cJSON *request_data,
    cJSON **messages, struct wf_llm_opts *opts, char *err, size_t errlen);

/*
 * POST the messages and wait for the reply, at most conf->timeout
 * seconds.  Fills r (wf_llm_result_free it in any case); returns 0 when
 * r->content holds a non-empty reply, -1 otherwise with r->fault and a
 * one-line reason in err.  Never follows a redirect.
 */
int wf_llm_call(const struct wf_llm_conf *c, const cJSON *messages,
    const struct wf_llm_opts *o, struct wf_llm_result *r, char *err,
    size_t errlen);

/*
 * Parse a 2xx body of the provider's shape (OpenAI/DMR: choices[0].
 * message.content, usage.prompt_tokens, usage.completion_tokens;
 * Ollama: message.content, prompt_eval_count, eval_count) into r.
 * Takes any bytes (a fuzz target).  Returns 0 or -1 with r->fault:
 * permanent for what is not a chat completion, transient for an empty
 * reply (permanent when it was cut by max_tokens).
 */
int wf_llm_parse_response(enum wf_llm_provider p, const char *body,
    size_t len, struct wf_llm_result *r, char *err, size_t errlen);

void wf_llm_result_init(struct wf_llm_result *r);
void wf_llm_result_free(struct wf_llm_result *r);

/*
 * The job's result_data for a reply: {"content", "model", "provider",
 * "usage": {"prompt_tokens", "completion_tokens", "total_tokens"},
 * "latency_ms", "finish_reason"}; unknown counts are 0.  NULL on memory
 * exhaustion.
 */
cJSON *wf_llm_result_json(const struct wf_llm_result *r,
    enum wf_llm_provider p);
/*
 * Fill wf-agent's result object from a call's outcome: result_data on a
 * reply; else error_message (err), "permanent": true for a permanent
 * fault and "retry_after" when the server asked for a delay.  Returns
 * 0, or -1 on memory exhaustion.
 */
int wf_llm_outcome(const struct wf_llm_result *r, enum wf_llm_provider p,
    const char *err, cJSON *res);

/* Base64 of an image for the messages: read a regular file, not through
 * a symlink, of at most WF_LLM_IMAGE_MAX bytes that is a PNG, JPEG, GIF
 * or WebP.  Returns a malloc'd string, or NULL with a reason in err. */
char *wf_llm_image_file(const char *path, char *err, size_t errlen);
/* The MIME type of a base64 image by its first bytes, or NULL. */
const char *wf_llm_image_mime(const char *b64);

#endif
