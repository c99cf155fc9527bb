/*
 * wf-httpd: the REST API of the seed (/api/...) and the board's page
 * (/ui/) over libmicrohttpd, in one thread: one poll loop on MHD's epoll
 * descriptor and a signalfd, calling MHD_run.  Each request is handed
 * whole (method, path, query, Authorization, body) to lib/api, which does
 * all the work through the library the CLI uses.
 *
 * No client can shut it: sockets are non-blocking, so a slow client holds
 * a connection, never the loop; connections are bounded in all and per
 * address ([httpd] connection_limit, per_ip_limit); and each has a
 * deadline for its request's head, its body and reply, and the next head
 * of a keep-alive ([httpd] *_timeout).  MHD's own time-out is one of
 * inactivity, which a client sending a byte a second never meets, so the
 * deadlines are kept here and a connection past its own is shut down(2),
 * which MHD sees as the client gone and frees.
 *
 * The spool rules it keeps: it writes only through the library (entities
 * by whole files renamed into place, runs only by lib/pipeline's
 * transitions, jobs and reports by the maildir protocol, cancel and retry
 * as requests to wf-dispatch, the one mover of job files); a request is
 * refused before anything is written (401 without a valid token, 413 over
 * the body's bound, 400 for bad input).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "audit.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "home.h"
#include "log.h"
#include "sdnotify.h"
#include "spool.h"

#ifndef WF_DEFAULT_WEBDIR
#define WF_DEFAULT_WEBDIR "/usr/local/share/wf/web"
#endif

#define RUN_MAX_MS 250 /* the longest poll between two MHD_run */

/* A connection's deadline, from its start to MHD's close. */
struct sock {
	TAILQ_ENTRY(sock) entry;
	int fd;
	int shut;         /* past its deadline: shut down, MHD frees it */
	int64_t deadline; /* mono us */
};
TAILQ_HEAD(socks, sock);

/* What one connection's request has gathered so far. */
struct conn {
	char *buf;
	size_t len, cap;
	int headed;    /* its head is in: on_request has seen it */
	int nul;       /* a %00 in its URI, which MHD decodes to a cut */
	int too_large; /* past WF_API_BODY_MAX: the body is dropped */
	int refused;   /* refused from its head: the body is dropped */
	int64_t start; /* mono us */
};

static struct {
	const char *cfgpath, *listen_opt, *webdir_opt;
	struct wf_config cfg;
	struct wf_api api;
	int root, sfd, stop, verbose;
	unsigned port; /* bound: a Host's port must be it */
	unsigned long shown_requests, shown_refused;
	struct socks socks;
	unsigned long timed_out;
} G = { .root = -1, .sfd = -1, .socks = TAILQ_HEAD_INITIALIZER(G.socks) };

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-httpd [-v] [-c config] [-l addr:port] [-w webdir]\n"
	    "Serve the REST API of Workflow Hub (/api/...) and the board's\n"
	    "page (/ui/) on $WF_HOME, through the library the wf command "
	    "uses.\n"
	    "\n"
	    "Reads (GET) are open; every request that changes something "
	    "(POST,\n"
	    "PATCH, DELETE) needs \"Authorization: Bearer TOKEN\", a token of "
	    "wf\n"
	    "token add NAME, and is recorded in the audit trail as done by\n"
	    "http:NAME (a deploy it approves, as approved by http:NAME).  A\n"
	    "missing or wrong token is a 401 and a line on stderr, nothing\n"
	    "else.  Bodies are JSON objects of at most 1 MiB; replies are "
	    "JSON\n"
	    "({\"error\": \"...\"} on failure).  See wf-httpd(8) for the\n"
	    "endpoints.  SIGHUP reloads the config (not the address).\n"
	    "\n"
	    "  -c, --config FILE   config file (default: $WF_CONFIG or %s)\n"
	    "  -l, --listen A:P    address and port ([httpd] listen, default\n"
	    "                      127.0.0.1:8000; [::1]:8000 for IPv6; port "
	    "0\n"
	    "                      takes a free one, which the log names).  "
	    "An\n"
	    "                      address other than loopback is refused\n"
	    "                      unless [httpd] allow_remote = yes\n"
	    "  -w, --web-dir DIR   the page's files ([httpd] web_dir, default\n"
	    "                      %s)\n"
	    "  -v, --verbose       log every request\n"
	    "  -h, --help          print this help\n"
	    "  -V, --version       print the version\n"
	    "\n"
	    "Exit status: 0 stopped by SIGTERM or SIGINT; 64 usage; 69 cannot\n"
	    "listen; 71 system error; 75 another wf-httpd runs on the tree;\n"
	    "78 bad config, no runtime tree, or a remote address not allowed.\n",
	    wf_home_config(NULL), WF_DEFAULT_WEBDIR);
	exit(code);
}

static int
loopback_sa(const struct sockaddr *sa)
{
	const struct in6_addr *a6;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)
				  ->sin_addr.s_addr) >>
			   24) == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	/* ::ffff:127.x.y.z, an IPv4 client of a dual-stack socket */
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return a6->s6_addr[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(a6);
}

static int
loopback(const struct sockaddr_storage *ss)
{
	return loopback_sa((const struct sockaddr *)ss);
}

/* The query as "k=v&k=v", from MHD's decoded arguments. */
struct qbuf {
	char s[WF_API_QUERY_MAX + 2];
	size_t n;
};

static enum MHD_Result
add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qbuf *q = cls;
	int w;

	(void)kind;
	w = snprintf(q->s + q->n, sizeof(q->s) - q->n, "%s%s%s%s",
	    q->n > 0 ? "&" : "", key, value != NULL ? "=" : "",
	    value != NULL ? value : "");
	if (w < 0 || (size_t)w >= sizeof(q->s) - q->n) {
		/* Over the bound: lib/api refuses it as too long. */
		memset(q->s, 'x', sizeof(q->s) - 1);
		q->s[sizeof(q->s) - 1] = '\0';
		q->n = sizeof(q->s) - 1;
		return MHD_NO;
	}
	q->n += (size_t)w;
	return MHD_YES;
}

static void
add_headers(struct MHD_Response *resp, const struct wf_api_reply *r)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    r->ctype != NULL ? r->ctype : "application/json");
	MHD_add_response_header(
	    resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->ui)
		MHD_add_response_header(
		    resp, "Content-Security-Policy", "default-src 'self'");
	if (r->allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->location != NULL)
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->auth)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"wf\"");
}

/* Send r; the reply's file goes to MHD, which closes it. */
static enum MHD_Result
send_reply(struct MHD_Connection *c, struct wf_api_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	if (r->fd != -1) {
		resp = MHD_create_response_from_fd(r->size, r->fd);
		if (resp != NULL)
			r->fd = -1;
	} else
		resp = MHD_create_response_from_buffer(r->len,
		    r->body != NULL ? r->body : (char *)"",
		    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	add_headers(resp, r);
	ok = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

static enum MHD_Result
too_large(struct MHD_Connection *c)
{
	struct wf_api_reply r;
	char body[80];

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.status = 413;
	snprintf(body, sizeof(body),
	    "{\"error\":\"body larger than %d "
	    "bytes\"}\n",
	    WF_API_BODY_MAX);
	r.body = body;
	r.len = strlen(body);
	return send_reply(c, &r);
}

/*
 * On loopback, a request must name this machine in its Host header: a
 * page elsewhere that has its own name resolve to 127.0.0.1 (DNS
 * rebinding) is then refused, as its browser sends that name.  Beyond
 * loopback (allow_remote) every read needs a token anyway.
 */
static int
host_ok(const char *h)
{
	static const char *const names[] = { "127.0.0.1", "localhost",
		"[::1]", NULL };
	const char *errstr, *p;
	long long port;
	size_t n;

	if (G.api.remote)
		return 1;
	if (h == NULL)
		return 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		n = strlen(names[i]);
		if (strncasecmp(h, names[i], n) != 0)
			continue;
		/* The whole value: a name, then at most ":PORT" of this
		 * socket ("127.0.0.1:80@evil" is a name of elsewhere). */
		if (h[n] == '\0')
			return 1;
		p = h + n + 1;
		if (h[n] != ':' || *p == '\0' ||
		    p[strspn(p, "0123456789")] != '\0')
			return 0;
		port = strtonum(p, 1, 65535, &errstr);
		return errstr == NULL && port == (long long)G.port;
	}
	return 0;
}

static enum MHD_Result
count_host(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	int *n = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		(*n)++;
	return MHD_YES;
}

static enum MHD_Result
refuse(struct MHD_Connection *c, int status, const char *why)
{
	struct wf_api_reply r;
	char body[256];

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.status = status;
	snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", why);
	r.body = body;
	r.len = strlen(body);
	return send_reply(c, &r);
}

/* The deadline kept for c's socket, NULL if none (out of memory). */
static struct sock *
sock_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void
set_deadline(struct MHD_Connection *c, long ms)
{
	struct sock *s = sock_of(c);

	if (s != NULL)
		s->deadline = wf_clock_mono_us() + (int64_t)ms * 1000;
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct sock *s = *ctx;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (s = calloc(1, sizeof(*s))) == NULL)
			return; /* MHD's inactivity time-out still holds */
		s->fd = ci->connect_fd;
		s->deadline = wf_clock_mono_us() +
		    (int64_t)G.cfg.httpd.head_ms * 1000;
		TAILQ_INSERT_TAIL(&G.socks, s, entry);
		*ctx = s;
	} else if (s != NULL) {
		TAILQ_REMOVE(&G.socks, s, entry);
		free(s);
		*ctx = NULL;
	}
}

/*
 * Shut down the connections past their deadline; MHD, on its next run,
 * finds each closed by the client and frees it.  The time to the next
 * deadline in ms, for poll.
 */
static int
sweep(void)
{
	struct sock *s;
	int64_t now = wf_clock_mono_us(), next = INT64_MAX;

	TAILQ_FOREACH(s, &G.socks, entry) {
		if (s->shut)
			continue;
		if (s->deadline <= now) {
			shutdown(s->fd, SHUT_RDWR);
			s->shut = 1;
			G.timed_out++;
		} else if (s->deadline < next)
			next = s->deadline;
	}
	if (next == INT64_MAX)
		return -1;
	return (int)((next - now) / 1000 + 1);
}

/*
 * MHD's own errors: each client that times out or goes away is a line,
 * so a flood of them would flood the journal.  With -v all; else one in
 * 10 s, with a count of the ones held back.
 */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	static int64_t last;
	static unsigned long held;
	int64_t now = wf_clock_mono_us();
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (!G.verbose && last != 0 && now - last < 10 * 1000000LL) {
		held++;
		return;
	}
	if (held > 0)
		wf_log_info("libmicrohttpd: %s (and %lu more in %llds)", msg,
		    held, (long long)((now - last) / 1000000));
	else
		wf_log_info("libmicrohttpd: %s", msg);
	last = now;
	held = 0;
}

/* The raw URI, before MHD decodes it: a %00 there would be a cut path
 * ("/api/projects/1%00" read as project 1), so it is marked here and
 * refused. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *k;

	(void)cls;
	(void)c;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->start = wf_clock_mono_us();
	k->nul = strstr(uri, "%00") != NULL;
	return k;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct conn *k = *con_cls;
	struct wf_api_reply r;
	struct qbuf q;
	enum MHD_Result ok;
	const union MHD_ConnectionInfo *ci;
	const char *cl;

	(void)cls;
	(void)version;
	if (k == NULL) /* on_uri, which makes it, is out of memory */
		return MHD_NO;
	if (!k->headed) {
		int hosts = 0;

		k->headed = 1;
		/* The head is in: the body and the reply now have their
		 * own time. */
		set_deadline(c, G.cfg.httpd.body_ms);
		MHD_get_connection_values(c, MHD_HEADER_KIND, count_host,
		    &hosts);
		if (hosts > 1) {
			k->refused = 1;
			return refuse(c, 400, "Host: more than one");
		}
		if (!host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_HOST))) {
			k->refused = 1;
			return refuse(c, 403, "Host: not a name of this "
			    "machine's loopback (127.0.0.1, localhost, "
			    "[::1]) with this port");
		}
		if (k->nul) {
			k->refused = 1; /* refused: its body is dropped */
			return refuse(c, 400,
			    "path: %00 (a NUL byte) is not allowed");
		}
		/* A body announced over the bound is refused before it is
		 * read (MHD closes the connection after the reply). */
		cl = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > WF_API_BODY_MAX) {
			k->too_large = 1;
			return too_large(c);
		}
		return MHD_YES;
	}
	if (k->refused) {
		*upload_size = 0; /* a body to a refused request is dropped */
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!k->too_large && k->len + *upload_size > WF_API_BODY_MAX) {
			k->too_large = 1;
			free(k->buf);
			k->buf = NULL;
			k->len = k->cap = 0;
		}
		if (!k->too_large) {
			if (k->len + *upload_size > k->cap) {
				size_t cap = k->cap ? k->cap : 4096;
				char *nb;

				while (cap < k->len + *upload_size)
					cap *= 2;
				if ((nb = realloc(k->buf, cap)) == NULL)
					return MHD_NO;
				k->buf = nb;
				k->cap = cap;
			}
			memcpy(k->buf + k->len, upload, *upload_size);
			k->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (k->too_large)
		return too_large(c);
	memset(&q, 0, sizeof(q));
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	G.api.peer_local = ci != NULL && loopback_sa(ci->client_addr);
	wf_api_handle(&G.api, method, url, q.s,
	    MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
	    k->buf, k->len, &r);
	if (G.verbose || r.status >= 500)
		wf_log_info("%s %.200s %d %.2fms%s%s", method, url, r.status,
		    (double)(wf_clock_mono_us() - k->start) / 1000,
		    r.actor[0] != '\0' ? " by " : "", r.actor);
	ok = send_reply(c, &r);
	wf_api_reply_free(&r);
	return ok;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *k = *con_cls;

	(void)cls;
	(void)toe;
	if (k != NULL) {
		free(k->buf);
		free(k);
	}
	*con_cls = NULL;
	/* Keep-alive: the next request's head, whole, within idle_ms. */
	set_deadline(c, G.cfg.httpd.idle_ms);
}

/* The longest a connection may live without a byte: MHD's time-out. */
static long
backstop(void)
{
	const struct wf_httpd_conf *h = &G.cfg.httpd;
	long ms = h->head_ms;

	if (h->body_ms > ms)
		ms = h->body_ms;
	return h->idle_ms > ms ? h->idle_ms : ms;
}

/* Room for connection_limit sockets beside the files a request opens:
 * the soft limit raised toward the hard one. */
static void
nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)G.cfg.httpd.conn_limit + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
	    ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur < want)
		wf_log_warn("connection_limit %d: only %llu descriptors",
		    G.cfg.httpd.conn_limit, (unsigned long long)rl.rlim_cur);
}

static const char *
webdir(void)
{
	if (G.webdir_opt != NULL)
		return G.webdir_opt;
	return G.cfg.httpd.web_dir[0] != '\0' ? G.cfg.httpd.web_dir
					      : WF_DEFAULT_WEBDIR;
}

static void
signals(void)
{
	struct signalfd_siginfo si;
	char err[512];

	while (read(G.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct wf_api na;

			if (wf_config_read(&G.cfg, G.cfgpath, err,
			    sizeof(err)) == -1) {
				wf_log_warn(
				    "reload: %s; keeping the old config", err);
				continue;
			}
			wf_api_conf(&G.api, &G.cfg);
			/* The page's directory may have moved; the address
			 * stays until a restart. */
			if (wf_api_init(&na, G.root, webdir(), &G.cfg,
				G.api.remote, err, sizeof(err)) == -1)
				wf_log_warn(
				    "reload: %s; keeping the old page", err);
			else {
				na.requests = G.api.requests;
				na.refused = G.api.refused;
				na.metrics = G.api.metrics;
				G.api.metrics = NULL;
				wf_api_fini(&G.api);
				G.api = na;
			}
			wf_log_info("reloaded %s", G.cfgpath);
		} else
			G.stop = 1;
	}
}

static void
status(void)
{
	char s[128];

	if (G.api.requests == G.shown_requests &&
	    G.api.refused == G.shown_refused)
		return;
	G.shown_requests = G.api.requests;
	G.shown_refused = G.api.refused;
	snprintf(s, sizeof(s), "STATUS=%lu requests, %lu refused (no token)",
	    G.api.requests, G.api.refused);
	wf_sd_notify(s);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "web-dir", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage ss;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	char err[512], addr[INET6_ADDRSTRLEN];
	sigset_t mask;
	int c, v6, efd, rc = EX_OSERR, lockfd;

	wf_log_init("wf-httpd", 0);
	while (
	    (c = getopt_long(argc, argv, "c:l:w:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': G.cfgpath = optarg; break;
		case 'l': G.listen_opt = optarg; break;
		case 'w': G.webdir_opt = optarg; break;
		case 'v': G.verbose = 1; break;
		case 'h': usage(0); break;
		case 'V': printf("wf-httpd %s\n", WF_VERSION); return 0;
		default: usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	wf_log_init("wf-httpd", G.verbose);
	wf_audit_set_actor("wf-httpd");
	G.cfgpath = wf_home_config(G.cfgpath);
	if (wf_config_read(&G.cfg, G.cfgpath, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	if (wf_config_listen(
		G.listen_opt != NULL ? G.listen_opt : G.cfg.httpd.listen, &ss,
		&v6, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return G.listen_opt != NULL ? EX_USAGE : EX_CONFIG;
	}
	/* No TLS and every agent of the machine on loopback: beyond it
	 * only when the config says so. */
	if (!loopback(&ss) && !G.cfg.httpd.allow_remote) {
		wf_log_warn("listen: %s is not a loopback address (set [httpd] "
			    "allow_remote = yes to allow it)",
		    G.listen_opt != NULL ? G.listen_opt : G.cfg.httpd.listen);
		return EX_CONFIG;
	}
	if ((G.root = wf_spool_attach(wf_home_dir())) == -1)
		return EX_CONFIG;
	/* One per tree (lib/daemon; /metrics' wf_daemon_up), before the
	 * port: a twin is named as such, not as a port in use. */
	if ((c = wf_daemon_start(G.root, wf_home_dir(), "wf-httpd",
	    &lockfd)) != 0) {
		close(G.root);
		return c;
	}
	if (wf_api_init(&G.api, G.root, webdir(), &G.cfg, !loopback(&ss), err,
		sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		close(G.root);
		return EX_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((G.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		wf_log_warn("signalfd: %s", strerror(errno));
		goto out;
	}
	nofile();
	/* No internal thread: MHD_run from this loop, so that the library
	 * is only ever called from one thread.  MHD's inactivity time-out
	 * backs the deadlines up (a socket it could not note). */
	d = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0,
	    NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)G.cfg.httpd.conn_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)G.cfg.httpd.per_ip_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(backstop() / 1000 + 1),
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (d == NULL) {
		wf_log_warn("cannot listen on %s (in use, or not an address "
			    "of this machine)",
		    G.listen_opt != NULL ? G.listen_opt : G.cfg.httpd.listen);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if ((info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		wf_log_warn("libmicrohttpd has no epoll descriptor");
		goto out;
	}
	efd = info->epoll_fd;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	inet_ntop(ss.ss_family,
	    ss.ss_family == AF_INET
		? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
		: (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
	    addr, sizeof(addr));
	G.port = info != NULL ? (unsigned)info->port : 0;
	wf_log_info("listening on %s%s%s:%u", v6 ? "[" : "", addr,
	    v6 ? "]" : "", G.port);
	wf_sd_notify("READY=1");
	wf_log_info("ready: %s (page: %s%s)", wf_home_dir(), webdir(),
	    G.api.webfd == -1 ? ", missing" : "");

	while (!G.stop) {
		struct pollfd pfd[2] = { { G.sfd, POLLIN, 0 },
			{ efd, POLLIN, 0 } };
		MHD_UNSIGNED_LONG_LONG to;
		int wait = sweep();

		if (MHD_get_timeout(d, &to) == MHD_YES &&
		    (wait == -1 || to < (MHD_UNSIGNED_LONG_LONG)wait))
			wait = to > INT_MAX ? INT_MAX : (int)to;
		/* At connection_limit MHD takes its listening socket out
		 * of its epoll set and puts it back only on a later run:
		 * a run at least this often, or the backlog could wait
		 * for an event that never comes. */
		if (wait == -1 || wait > RUN_MAX_MS)
			wait = RUN_MAX_MS;
		if (poll(pfd, 2, wait) == -1 && errno != EINTR) {
			wf_log_warn("poll: %s", strerror(errno));
			goto out;
		}
		signals();
		if (G.stop)
			break;
		MHD_run(d);
		(void)sweep();
		status();
	}
	wf_sd_notify("STOPPING=1");
	wf_log_info("stopped (%lu requests, %lu refused)", G.api.requests,
	    G.api.refused);
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	wf_api_fini(&G.api);
	if (G.sfd != -1)
		close(G.sfd);
	close(G.root);
	return rc;
}
