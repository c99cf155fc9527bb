/*
 * notify: a webhook attempt over libcurl and the hooks of hooks_dir.  An
 * attempt is one easy handle, run by curl_easy_perform (wf_notify_post)
 * or by the caller's multi handle (wf_notify_start, then
 * wf_notify_finish), mapped to its outcome the same way.  It is signed
 * afresh (a new webhook-timestamp) but keeps the delivery's webhook-id,
 * so that a receiver can drop a repeat.  Hooks run
 * through lib/exec in their own process group, so that a timeout kills
 * all that a hook started.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "exec.h"
#include "http.h"
#include "notify.h"
#include "spool.h"
#include "webhook.h"

#define REPLY_MAX 4096 /* bytes of a reply kept for the error message */
#define OUTPUT_MAX 1024 /* bytes of a hook's output kept for the log */

int
wf_notify_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
wf_notify_fini(void)
{
	curl_global_cleanup();
}

/* An attempt in flight: what its handle's callbacks and headers point
 * into, until wf_notify_finish; the handle's CURLOPT_PRIVATE. */
struct xfer {
	struct curl_slist *hdrs;
	int64_t t0; /* monotonic ms */
	size_t len;
	char ebuf[CURL_ERROR_SIZE];
	char buf[REPLY_MAX + 1]; /* the head of the reply */
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, room = REPLY_MAX - x->len;

	/* Keep the head of the reply; swallow the rest. */
	if (room > 0) {
		if (n < room)
			room = n;
		memcpy(x->buf + x->len, data, room);
		x->len += room;
		x->buf[x->len] = '\0';
	}
	return n;
}

/* The first line of a reply, printable, for the log. */
static void
excerpt(const char *in, size_t len, char *out, size_t outlen)
{
	size_t j = 0;

	for (size_t i = 0; i < len && j + 1 < outlen && in[i] != '\n'; i++)
		out[j++] = (unsigned char)in[i] < ' ' ? ' ' : in[i];
	out[j] = '\0';
}

static struct curl_slist *
add(struct curl_slist *l, int *bad, const char *name, const char *v)
{
	char h[WF_WEBHOOK_SIG_MAX + WF_NAME_MAX + 64];
	struct curl_slist *t;

	/* "Name;" is how curl sends a header with an empty value. */
	snprintf(h, sizeof(h), "%s%s%s", name, v[0] != '\0' ? ": " : ":", v);
	if ((t = curl_slist_append(l, h)) == NULL) {
		*bad = 1;
		return l;
	}
	return t;
}

int
wf_notify_outcome(CURLcode cc, long status, long long retry_after,
    const char *reply, size_t len, const char *ebuf, struct wf_notify_result *r)
{
	char q[160];

	r->status = 0;
	r->retry_after = 0;
	r->error[0] = '\0';
	if (cc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "%s",
		    ebuf != NULL && ebuf[0] != '\0' ? ebuf
						    : curl_easy_strerror(cc));
		return -1;
	}
	r->status = status;
	if (status >= 200 && status <= 299)
		return 0;
	/* A date in the past is negative in curl before 8.12. */
	if (retry_after > 0)
		r->retry_after = (int64_t)retry_after;
	excerpt(reply, len, q, sizeof(q));
	snprintf(r->error, sizeof(r->error), "HTTP %ld%s%s", status,
	    q[0] != '\0' ? ": " : "", q);
	return -1;
}

CURL *
wf_notify_start(const char *url, const char *event, const char *msgid,
    const char *body, const char *secret, size_t secretlen, int timeout,
    struct wf_notify_result *r)
{
	char std[WF_WEBHOOK_SIG_MAX], hex[WF_WEBHOOK_SIG_MAX], ts[32];
	struct xfer *x = NULL;
	CURL *h = NULL;
	int64_t t0, now;
	int bad = 0;

	memset(r, 0, sizeof(*r));
	t0 = wf_clock_mono_ms();
	now = wf_clock_wall_ms() / 1000;
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto fail;
	}
	x->t0 = t0;
	if (wf_webhook_sign(secret, secretlen, msgid, now, body, strlen(body),
		std, hex) == -1) {
		snprintf(r->error, sizeof(r->error),
		    "cannot sign: the secret "
		    "is too long");
		goto fail;
	}
	x->hdrs = add(x->hdrs, &bad, "Content-Type", "application/json");
	x->hdrs = add(x->hdrs, &bad, "Expect", "");
	x->hdrs = add(x->hdrs, &bad, "webhook-id", msgid);
	x->hdrs = add(x->hdrs, &bad, "webhook-timestamp", ts);
	x->hdrs = add(x->hdrs, &bad, "webhook-signature", std);
	x->hdrs = add(x->hdrs, &bad, "X-Webhook-Signature", hex);
	x->hdrs = add(x->hdrs, &bad, "X-Webhook-Event", event);
	explicit_bzero(std, sizeof(std));
	explicit_bzero(hex, sizeof(hex));
	if (bad || (h = curl_easy_init()) == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto fail;
	}
	bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	/* Loopback never through a proxy, whatever no_proxy says. */
	bad |= wf_http_noproxy(h) == -1;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
		   (long)(timeout < 10 ? timeout : 10)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->ebuf) != CURLE_OK;
	bad |= curl_easy_setopt(
		   h, CURLOPT_USERAGENT, "wf-notify/" WF_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK;
	/* A copy: the caller's body may go before the transfer ends. */
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		   (curl_off_t)strlen(body)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK;
	bad |=
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
	if (bad) {
		snprintf(
		    r->error, sizeof(r->error), "libcurl refused an option");
		goto fail;
	}
	return h;
fail:
	r->latency_ms = wf_clock_mono_ms() - t0;
	if (h != NULL)
		curl_easy_cleanup(h);
	if (x != NULL)
		curl_slist_free_all(x->hdrs);
	free(x);
	return NULL;
}

int
wf_notify_finish(CURL *h, CURLcode cc, struct wf_notify_result *r)
{
	struct xfer *x;
	curl_off_t after = 0;
	char *priv = NULL;
	long status = 0;
	int rc = -1;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
	x = (struct xfer *)priv;
	if (r != NULL) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after) !=
		    CURLE_OK)
			after = 0;
		rc = wf_notify_outcome(
		    cc, status, (long long)after, x->buf, x->len, x->ebuf, r);
		r->latency_ms = wf_clock_mono_ms() - x->t0;
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(x->hdrs);
	free(x);
	return rc;
}

int
wf_notify_post(const char *url, const char *event, const char *msgid,
    const char *body, const char *secret, size_t secretlen, int timeout,
    struct wf_notify_result *r)
{
	CURL *h;

	if ((h = wf_notify_start(url, event, msgid, body, secret, secretlen,
		 timeout, r)) == NULL)
		return -1;
	return wf_notify_finish(h, curl_easy_perform(h), r);
}

static int
is_hook(int dfd, const char *name)
{
	struct stat st;

	return name[0] != '.' && fstatat(dfd, name, &st, 0) == 0 &&
	    S_ISREG(st.st_mode) && faccessat(dfd, name, X_OK, 0) == 0;
}

int
wf_notify_has_hooks(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int found = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL)
		found = is_hook(dirfd(d), de->d_name);
	closedir(d);
	return found;
}

/*
 * Feed the body to a started hook and collect the head of its output
 * until it exits or the deadline passes.  Returns its wait status, with
 * *timed_out set when it was killed for the deadline.
 */
static int
feed(pid_t pid, int in, int out, const char *body, int64_t deadline, char *obuf,
    size_t *olen, int *timed_out)
{
	size_t blen = strlen(body), off = 0;
	int ws = 0, done = 0;

	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
	while (!done) {
		struct pollfd pf[2] = { { in, POLLOUT, 0 },
			{ out, POLLIN, 0 } };
		int64_t left = deadline - wf_clock_mono_ms();
		char tmp[4096];
		ssize_t n;

		if (left <= 0) {
			wf_exec_kill(pid, SIGKILL);
			*timed_out = 1;
			break;
		}
		if (in != -1 && off == blen) {
			close(in);
			in = -1;
		}
		if (out == -1) {
			/* Its output is closed: wait for the exit itself. */
			pid_t w = waitpid(pid, &ws, WNOHANG);

			if (w == pid)
				return ws;
			poll(NULL, 0, left < 20 ? (int)left : 20);
			continue;
		}
		pf[0].fd = in;
		if (poll(pf, 2, left > 1000 ? 1000 : (int)left) == -1 &&
		    errno != EINTR)
			break;
		if (in != -1 && (pf[0].revents & (POLLOUT | POLLERR))) {
			n = write(in, body + off, blen - off);
			if (n > 0)
				off += (size_t)n;
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				off = blen; /* EPIPE: it does not read */
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(out, tmp, sizeof(tmp));
			if (n > 0) {
				size_t room = OUTPUT_MAX - *olen;

				if ((size_t)n < room)
					room = (size_t)n;
				memcpy(obuf + *olen, tmp, room);
				*olen += room;
				obuf[*olen] = '\0';
			} else if (n == 0 ||
			    (errno != EAGAIN && errno != EINTR)) {
				close(out);
				out = -1;
			}
		}
	}
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
		;
	return ws;
}

static int
run_hook(const char *dir, const char *name, char **envp, const char *body,
    int timeout, wf_notify_hook_cb cb, void *arg)
{
	char path[4096], obuf[OUTPUT_MAX + 1] = "", line[OUTPUT_MAX + 1];
	const char *argv[2] = { path, NULL }, *step;
	struct wf_exec_spec sp = { 0 };
	int in = -1, out = -1, efd = -1, ws, timed_out = 0, status, e;
	size_t olen = 0;
	int64_t t0 = wf_clock_mono_ms();
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sp.argv = argv;
	sp.envp = (const char *const *)envp;
	sp.cwd = dir;
	sp.infd = &in;
	if ((pid = wf_exec_start(&sp, &out, &efd)) == -1) {
		snprintf(
		    line, sizeof(line), "cannot start: %s", strerror(errno));
		cb(arg, name, -1, 0, 0, line);
		return 0;
	}
	ws = feed(pid, in, out, body, t0 + (int64_t)timeout * 1000, obuf, &olen,
	    &timed_out);
	if (WIFEXITED(ws))
		status = WEXITSTATUS(ws);
	else
		status = WIFSIGNALED(ws) ? -WTERMSIG(ws) : -1;
	if (wf_exec_failed(efd, &step, &e)) {
		snprintf(obuf, sizeof(obuf), "%s: %s", step, strerror(e));
		olen = strlen(obuf);
	}
	for (size_t i = 0; i < olen; i++)
		line[i] = (unsigned char)obuf[i] < ' ' ? ' ' : obuf[i];
	line[olen] = '\0';
	cb(arg, name, status, timed_out, wf_clock_mono_ms() - t0, line);
	return 1;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
wf_notify_hooks(const char *dir, const char *event, const char *event_id,
    const char *body, int timeout, wf_notify_hook_cb cb, void *arg)
{
	struct dirent **list = NULL;
	cJSON *extra;
	char **envp = NULL;
	int n, ran = 0, dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 0;
	n = scandir(dir, &list, NULL, by_name);
	extra = cJSON_CreateObject();
	cJSON_AddStringToObject(extra, "WF_EVENT", event);
	cJSON_AddStringToObject(extra, "WF_EVENT_ID", event_id);
	envp = wf_exec_env(extra, NULL);
	cJSON_Delete(extra);
	for (int i = 0; i < n; i++) {
		if (envp != NULL && is_hook(dfd, list[i]->d_name))
			ran += run_hook(
			    dir, list[i]->d_name, envp, body, timeout, cb, arg);
		free(list[i]);
	}
	free(list);
	wf_exec_env_free(envp);
	close(dfd);
	return ran;
}
