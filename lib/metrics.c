/*
 * metrics: a runtime tree in the Prometheus text format (see metrics.h).
 * One walk of the job directories per scrape (lib/queue's walk): waiting
 * and running jobs from the queue, deferred/ and active/ (a job's lane,
 * priority and creation are cached by the hash of its place and name, so
 * that a job is parsed once while it waits), and the terminal records
 * not seen before, which feed the histograms and counters.  The two logs
 * are read on from the last scrape's offset.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "daemon.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "spool.h"
#include "store.h"
#include "webhook.h"

#define NLANE 32  /* lanes told apart; the last is "other" */
#define NMODEL 32 /* models told apart; the last is "other" */
#define NEND 4    /* completed, failed, timeout, cancelled */
#define LABEL_MAX 256

/* Upper bounds (s) of the wait and run time buckets: 10 ms to an hour. */
static const double bounds[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	30, 60, 120, 300, 600, 1800, 3600 };
#define NB (sizeof(bounds) / sizeof(bounds[0]))

static const char *const end_names[NEND] = { "completed", "failed",
	"timeout", "cancelled" };
static const char *const roles[] = { "pm", "dev", "qa", "security", "docs",
	"other", NULL };
#define NROLE 6
static const char *const rstatus[] = { "pass", "fail", "pending", "other",
	NULL };
#define NRSTATUS 4
static const char *const deliv[] = { "delivered", "retry", "failed", "dead",
	"other", NULL };
#define NDELIV 5

struct hist {
	uint64_t b[NB]; /* observations <= bounds[i] (not cumulative) */
	uint64_t n;
	double sum;
};

/* A job seen in a place: the hash of place and name, what it waits in. */
struct ent {
	uint64_t h;
	int64_t created; /* wall ms */
	int16_t lane;
	int8_t prio;
};

struct logpos {
	dev_t dev;
	ino_t ino;
	off_t off;
};

struct wf_metrics {
	char lanes[NLANE][WF_LANE_MAX];
	int nlanes;
	char models[NMODEL][LABEL_MAX];
	int nmodels;
	/* Totals over the terminal records read. */
	struct hist wait[NLANE][WF_JT_COUNT], run[NLANE][WF_JT_COUNT];
	uint64_t ends[NLANE][WF_JT_COUNT][NEND];
	uint64_t retries[NLANE][WF_JT_COUNT];
	uint64_t tok_in[NMODEL], tok_out[NMODEL];
	/* Totals over the logs read. */
	uint64_t reports[NROLE][NRSTATUS], refusals[NROLE], rejected;
	uint64_t deliveries[NDELIV];
	struct logpos audit, dlog;
	/* The places seen by the last scrape, sorted by h. */
	struct ent *seen;
	size_t nseen;
};

/* What one scrape gathers. */
struct scrape {
	struct wf_metrics *m;
	int root;
	struct ent *cur; /* the places of this walk */
	size_t ncur, capcur;
	int parsed; /* new records parsed so far */
	long behind; /* terminal records left for a later scrape */
	int failed; /* out of memory */
	long waiting[NLANE][WF_NPRIO + 1], running[NLANE];
	int64_t oldest[NLANE]; /* wall ms; 0: none waiting */
};

struct buf {
	char *s;
	size_t len, cap;
	int err;
};

static void bput(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
bput(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		char *ns;
		size_t ncap;

		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		ncap = b->cap * 2;
		while (ncap - b->len <= (size_t)n)
			ncap *= 2;
		if (ncap > WF_METRICS_MAX) {
			b->err = EFBIG;
			return;
		}
		if ((ns = realloc(b->s, ncap)) == NULL) {
			b->err = ENOMEM;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void
wf_metrics_escape(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (len == 0)
		return;
	while (*p != '\0') {
		char e[4];
		size_t n = 0, k = utf8_len(p);

		if (*p == '\\' || *p == '"') {
			e[n++] = '\\';
			e[n++] = (char)*p;
		} else if (*p == '\n') {
			e[n++] = '\\';
			e[n++] = 'n';
		} else if (k == 0)
			e[n++] = '?';
		else {
			if (o + k >= len)
				break;
			memcpy(out + o, p, k);
			o += k;
			p += k;
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(out + o, e, n);
		o += n;
		p++;
	}
	out[o] = '\0';
}

/* FNV-1a of the place and the name. */
static uint64_t
hash(int where, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = (h ^ (unsigned char)where) * 0x100000001b3ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

static int
ent_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct ent *)a)->h, y = ((const struct ent *)b)->h;

	return x < y ? -1 : x > y;
}

static const struct ent *
seen(const struct wf_metrics *m, uint64_t h)
{
	struct ent key = { .h = h };

	if (m->nseen == 0)
		return NULL;
	return bsearch(&key, m->seen, m->nseen, sizeof(key), ent_cmp);
}

static void
remember(struct scrape *s, const struct ent *e)
{
	if (s->ncur == s->capcur) {
		size_t cap = s->capcur ? s->capcur * 2 : 1024;
		struct ent *n = reallocarray(s->cur, cap, sizeof(*n));

		if (n == NULL) {
			s->failed = 1;
			return;
		}
		s->cur = n;
		s->capcur = cap;
	}
	s->cur[s->ncur++] = *e;
}

/* The index of a name in a table of n (up to max; the last is "other"). */
static int
slot(char (*tab)[LABEL_MAX], int *n, int max, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(tab[i], name) == 0)
			return i;
	if (*n < max - 1) {
		strlcpy(tab[*n], name, LABEL_MAX);
		return (*n)++;
	}
	strlcpy(tab[max - 1], "other", LABEL_MAX);
	if (*n < max)
		*n = max;
	return max - 1;
}

static int
lane_ix(struct wf_metrics *m, const char *lane)
{
	for (int i = 0; i < m->nlanes; i++)
		if (strcmp(m->lanes[i], lane) == 0)
			return i;
	if (m->nlanes < NLANE - 1) {
		strlcpy(m->lanes[m->nlanes], lane, WF_LANE_MAX);
		return m->nlanes++;
	}
	strlcpy(m->lanes[NLANE - 1], "other", WF_LANE_MAX);
	m->nlanes = NLANE;
	return NLANE - 1;
}

static int
word_ix(const char *const *words, int n, const char *w)
{
	for (int i = 0; i < n - 1; i++)
		if (w != NULL && strcmp(words[i], w) == 0)
			return i;
	return n - 1; /* "other" */
}

static void
observe(struct hist *h, double v)
{
	if (v < 0)
		v = 0;
	for (size_t i = 0; i < NB; i++)
		if (v <= bounds[i]) {
			h->b[i]++;
			break;
		}
	h->n++;
	h->sum += v;
}

static int64_t
usage(const cJSON *rd, const char *key)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(rd, "usage");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (int64_t)v->valuedouble
						      : 0;
}

/* A terminal record not read before: into the totals. */
static void
ended(struct wf_metrics *m, const struct wf_job *j)
{
	int li = lane_ix(m, j->lane), t = (int)j->type, e;
	const cJSON *model;

	switch (j->status) {
	case WF_JS_COMPLETED: e = 0; break;
	case WF_JS_TIMEOUT: e = 2; break;
	case WF_JS_CANCELLED: e = 3; break;
	default: e = 1; break;
	}
	m->ends[li][t][e]++;
	if (j->attempt > 1)
		m->retries[li][t] += (uint64_t)(j->attempt - 1);
	if (j->started_at > 0 && j->created_at > 0)
		observe(&m->wait[li][t],
		    (double)(j->started_at - j->created_at) / 1000);
	if (j->duration_ms > 0)
		observe(&m->run[li][t], (double)j->duration_ms / 1000);
	else if (j->started_at > 0 && j->completed_at >= j->started_at)
		observe(&m->run[li][t],
		    (double)(j->completed_at - j->started_at) / 1000);
	model = cJSON_GetObjectItemCaseSensitive(j->result_data, "model");
	if (cJSON_IsString(model) && model->valuestring[0] != '\0') {
		int64_t in = usage(j->result_data, "prompt_tokens");
		int64_t out = usage(j->result_data, "completion_tokens");

		if (in > 0 || out > 0) {
			int mi = slot(m->models, &m->nmodels, NMODEL,
			    model->valuestring);

			m->tok_in[mi] += (uint64_t)in;
			m->tok_out[mi] += (uint64_t)out;
		}
	}
}

static int
visit(const struct wf_jobref *ref, void *arg)
{
	struct scrape *s = arg;
	struct wf_metrics *m = s->m;
	struct ent e = { .h = hash(ref->where, ref->name) };
	const struct ent *old = seen(m, e.h);
	struct wf_job j;
	char err[256];

	if (ref->where == WF_IN_DONE || ref->where == WF_IN_FAILED ||
	    ref->where == WF_IN_CANCELLED) {
		if (old == NULL) {
			if (s->parsed >= WF_METRICS_PARSE_MAX) {
				s->behind++;
				return 0; /* the next scrape reads it */
			}
			s->parsed++;
			/* One that does not parse is counted as seen: it
			 * would not parse the next time either. */
			if (wf_queue_load(s->root, ref, &j, err, sizeof(err)) ==
			    0)
				ended(m, &j);
			wf_job_free(&j);
		}
		remember(s, &e);
		return 0;
	}
	/* Waiting or running. */
	if (old != NULL)
		e = *old;
	else {
		if (wf_queue_load(s->root, ref, &j, err, sizeof(err)) == -1) {
			wf_job_free(&j);
			return 0; /* half written by a foreign tool: later */
		}
		e.lane = (int16_t)lane_ix(m, j.lane);
		e.prio = (int8_t)j.priority;
		e.created = j.created_at;
		wf_job_free(&j);
	}
	remember(s, &e);
	if (ref->where == WF_IN_ACTIVE && wf_queue_started(s->root, ref->name))
		s->running[e.lane]++;
	else {
		s->waiting[e.lane][e.prio >= 1 && e.prio <= WF_NPRIO ? e.prio
								       : 3]++;
		if (e.created > 0 &&
		    (s->oldest[e.lane] == 0 || e.created < s->oldest[e.lane]))
			s->oldest[e.lane] = e.created;
	}
	return 0;
}

/*
 * The logs, read on from where the last scrape stopped.
 */

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
audit_line(struct wf_metrics *m, const char *l, size_t n)
{
	cJSON *o, *d;
	int sub, ref, rej;

	/* Most lines are of no interest: only those are parsed. */
	sub = memmem(l, n, "\"action\":\"run.report_submitted\"", 31) != NULL;
	ref = memmem(l, n, "\"action\":\"run.gate_failed\"", 26) != NULL;
	rej = memmem(l, n, "\"action\":\"report.rejected\"", 26) != NULL;
	if (!sub && !ref && !rej)
		return;
	if ((o = cJSON_ParseWithLength(l, n)) == NULL)
		return;
	d = cJSON_GetObjectItemCaseSensitive(o, "details");
	if (rej && strcmp(str(o, "action") ? str(o, "action") : "",
	    "report.rejected") == 0)
		m->rejected++;
	else if (sub)
		m->reports[word_ix(roles, NROLE, str(d, "role"))]
			  [word_ix(rstatus, NRSTATUS, str(d, "status"))]++;
	else if (ref)
		m->refusals[word_ix(roles, NROLE, str(d, "role"))]++;
	cJSON_Delete(o);
}

static void
deliv_line(struct wf_metrics *m, const char *l, size_t n)
{
	cJSON *o = cJSON_ParseWithLength(l, n);

	if (o == NULL)
		return;
	m->deliveries[word_ix(deliv, NDELIV, str(o, "outcome"))]++;
	cJSON_Delete(o);
}

typedef void (*line_fn)(struct wf_metrics *, const char *, size_t);

/* Read fd's complete lines from pos->off, at most WF_METRICS_LOG_MAX
 * bytes; pos->off moves past the last one read. */
static void
read_lines(struct wf_metrics *m, int fd, struct logpos *pos, line_fn fn)
{
	enum { CHUNK = 1 << 20 };
	char *b = malloc(CHUNK);
	size_t budget = WF_METRICS_LOG_MAX;

	if (b == NULL)
		return;
	while (budget > 0) {
		ssize_t r = pread(fd, b, CHUNK, pos->off);
		size_t used = 0;

		if (r <= 0)
			break;
		for (;;) {
			char *nl = memchr(b + used, '\n', (size_t)r - used);

			if (nl == NULL)
				break;
			fn(m, b + used, (size_t)(nl - (b + used)));
			used = (size_t)(nl - b) + 1;
		}
		if (used == 0) {
			/* A line longer than a chunk: no line of ours. */
			if ((size_t)r < CHUNK)
				break; /* not written whole yet */
			used = CHUNK;
		}
		pos->off += (off_t)used;
		budget = budget > used ? budget - used : 0;
	}
	free(b);
}

/* The log at path, and its rotated copy path.1 when that is the file the
 * last scrape read (its tail is read first). */
static void
read_log(struct wf_metrics *m, int root, const char *path, struct logpos *pos,
    line_fn fn)
{
	char old[128];
	struct stat st;
	int fd;

	if ((fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (st.st_dev != pos->dev || st.st_ino != pos->ino) {
		int ofd;
		struct stat ost;

		snprintf(old, sizeof(old), "%s.1", path);
		if (pos->ino != 0 &&
		    (ofd = openat(root, old, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) != -1) {
			if (fstat(ofd, &ost) == 0 && ost.st_dev == pos->dev &&
			    ost.st_ino == pos->ino)
				read_lines(m, ofd, pos, fn);
			close(ofd);
		}
		pos->dev = st.st_dev;
		pos->ino = st.st_ino;
		pos->off = 0;
	} else if (st.st_size < pos->off)
		pos->off = 0; /* cut short: read again */
	read_lines(m, fd, pos, fn);
	close(fd);
}

/* Files of a directory of the tree, dot files aside; -1 when missing. */
static long
count_dir(int root, const char *path)
{
	struct dirent *de;
	DIR *d;
	long n = 0;
	int fd = openat(root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Rendering.
 */

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	bput(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
hist_put(struct buf *b, const char *name, const char *labels,
    const struct hist *h)
{
	uint64_t cum = 0;

	for (size_t i = 0; i < NB; i++) {
		cum += h->b[i];
		bput(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
		    bounds[i], (unsigned long long)cum);
	}
	bput(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
	    (unsigned long long)h->n);
	bput(b, "%s_sum{%s} %.3f\n", name, labels, h->sum);
	bput(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->n);
}

static void
hists(struct buf *b, const struct wf_metrics *m, const char *name,
    const char *help, const struct hist (*h)[WF_JT_COUNT])
{
	char labels[LABEL_MAX * 2];

	head(b, name, "histogram", help);
	for (int l = 0; l < m->nlanes; l++)
		for (int t = 0; t < WF_JT_COUNT; t++) {
			if (h[l][t].n == 0)
				continue;
			snprintf(labels, sizeof(labels),
			    "lane=\"%s\",type=\"%s\"", m->lanes[l],
			    wf_job_type_name((enum wf_jtype)t));
			hist_put(b, name, labels, &h[l][t]);
		}
}

static void
render(struct buf *b, struct wf_metrics *m, const struct scrape *s, int root,
    int64_t now_ms)
{
	char esc[LABEL_MAX * 2];
	long runs[32] = { 0 }, n;
	cJSON *list, *it;
	int nstates = 0;

	head(b, "wf_build_info", "gauge", "The version of wf serving this.");
	bput(b, "wf_build_info{version=\"%s\"} 1\n", WF_VERSION);

	head(b, "wf_daemon_up", "gauge",
	    "1 when the daemon holds its marker (run/NAME.lock) on this "
	    "tree.");
	for (int i = 0; wf_daemons[i] != NULL; i++)
		bput(b, "wf_daemon_up{daemon=\"%s\"} %d\n", wf_daemons[i],
		    wf_daemon_up(root, wf_daemons[i]) == 1);

	head(b, "wf_jobs_waiting", "gauge",
	    "Jobs waiting: queued, deferred for a retry, or armed on a "
	    "chained lane.");
	for (int l = 0; l < m->nlanes; l++)
		for (int p = 1; p <= WF_NPRIO; p++)
			bput(b,
			    "wf_jobs_waiting{lane=\"%s\",priority=\"%s\"} "
			    "%ld\n",
			    m->lanes[l], wf_job_prio_name(p),
			    s->waiting[l][p]);

	head(b, "wf_job_oldest_waiting_seconds", "gauge",
	    "Age of the oldest waiting job of the lane, from its creation "
	    "(0: none waits).");
	for (int l = 0; l < m->nlanes; l++)
		bput(b, "wf_job_oldest_waiting_seconds{lane=\"%s\"} %.3f\n",
		    m->lanes[l],
		    s->oldest[l] > 0 && now_ms > s->oldest[l]
			? (double)(now_ms - s->oldest[l]) / 1000
			: 0.0);

	head(b, "wf_jobs_running", "gauge", "Jobs running.");
	for (int l = 0; l < m->nlanes; l++)
		bput(b, "wf_jobs_running{lane=\"%s\"} %ld\n", m->lanes[l],
		    s->running[l]);

	hists(b, m, "wf_job_wait_seconds",
	    "Time from a job's creation to the start of its last attempt, "
	    "of the jobs ended.",
	    (const struct hist(*)[WF_JT_COUNT])m->wait);
	hists(b, m, "wf_job_run_seconds",
	    "Time a job's last attempt ran, of the jobs ended.",
	    (const struct hist(*)[WF_JT_COUNT])m->run);

	head(b, "wf_jobs_ended_total", "counter",
	    "Jobs in a terminal directory, by outcome.");
	for (int l = 0; l < m->nlanes; l++)
		for (int t = 0; t < WF_JT_COUNT; t++)
			for (int e = 0; e < NEND; e++)
				if (m->ends[l][t][e] > 0)
					bput(b,
					    "wf_jobs_ended_total{lane=\"%s\","
					    "type=\"%s\",outcome=\"%s\"} "
					    "%llu\n",
					    m->lanes[l],
					    wf_job_type_name(
						(enum wf_jtype)t),
					    end_names[e],
					    (unsigned long long)
						m->ends[l][t][e]);

	head(b, "wf_job_retries_total", "counter",
	    "Attempts beyond the first, of the jobs ended.");
	for (int l = 0; l < m->nlanes; l++)
		for (int t = 0; t < WF_JT_COUNT; t++)
			if (m->ends[l][t][0] + m->ends[l][t][1] +
				m->ends[l][t][2] + m->ends[l][t][3] >
			    0)
				bput(b,
				    "wf_job_retries_total{lane=\"%s\","
				    "type=\"%s\"} %llu\n",
				    m->lanes[l],
				    wf_job_type_name((enum wf_jtype)t),
				    (unsigned long long)m->retries[l][t]);

	head(b, "wf_llm_tokens_total", "counter",
	    "Tokens of the model calls of the jobs ended, as the server "
	    "reported them (in: prompt, out: completion).");
	for (int i = 0; i < m->nmodels; i++) {
		wf_metrics_escape(m->models[i], esc, sizeof(esc));
		bput(b,
		    "wf_llm_tokens_total{model=\"%s\",direction=\"in\"} "
		    "%llu\n",
		    esc, (unsigned long long)m->tok_in[i]);
		bput(b,
		    "wf_llm_tokens_total{model=\"%s\",direction=\"out\"} "
		    "%llu\n",
		    esc, (unsigned long long)m->tok_out[i]);
	}

	head(b, "wf_metrics_records_behind", "gauge",
	    "Terminal job records left for the next scrapes (at most "
	    "20000 are read a scrape).");
	bput(b, "wf_metrics_records_behind %ld\n", s->behind);

	head(b, "wf_runs", "gauge", "Runs by state.");
	while (nstates < 32 && wf_store_run_states[nstates] != NULL)
		nstates++;
	if ((list = wf_store_list(root, &wf_kind_run, 0)) != NULL) {
		cJSON_ArrayForEach(it, list)
		{
			const char *st = str(it, "state");

			for (int i = 0; st != NULL && i < nstates; i++)
				if (strcmp(st, wf_store_run_states[i]) == 0)
					runs[i]++;
		}
		cJSON_Delete(list);
	}
	for (int i = 0; i < nstates; i++)
		bput(b, "wf_runs{state=\"%s\"} %ld\n", wf_store_run_states[i],
		    runs[i]);

	head(b, "wf_gate_reports_total", "counter",
	    "Agent reports the gate applied to a run, by role and status.");
	for (int r = 0; r < NROLE; r++)
		for (int k = 0; k < NRSTATUS; k++)
			if (m->reports[r][k] > 0 || (r < 4 && k < 2))
				bput(b,
				    "wf_gate_reports_total{role=\"%s\","
				    "status=\"%s\"} %llu\n",
				    roles[r], rstatus[k],
				    (unsigned long long)m->reports[r][k]);
	head(b, "wf_gate_refusals_total", "counter",
	    "Times a gate refused a stage (a pass without its evidence, "
	    "a role's paths, a held run), by role.");
	for (int r = 0; r < NROLE; r++)
		if (m->refusals[r] > 0 || r < 4)
			bput(b, "wf_gate_refusals_total{role=\"%s\"} %llu\n",
			    roles[r], (unsigned long long)m->refusals[r]);
	head(b, "wf_gate_reports_rejected_total", "counter",
	    "Reports wf-gate could not apply (malformed, or for no run).");
	bput(b, "wf_gate_reports_rejected_total %llu\n",
	    (unsigned long long)m->rejected);

	head(b, "wf_webhook_deliveries_total", "counter",
	    "Webhook delivery attempts, by outcome.");
	for (int i = 0; i < NDELIV; i++)
		bput(b, "wf_webhook_deliveries_total{outcome=\"%s\"} %llu\n",
		    deliv[i], (unsigned long long)m->deliveries[i]);
	head(b, "wf_webhook_deliveries_pending", "gauge",
	    "Deliveries waiting for their next attempt (events/deferred).");
	n = count_dir(root, "events/deferred");
	bput(b, "wf_webhook_deliveries_pending %ld\n", n > 0 ? n : 0);
	head(b, "wf_webhook_dead_letters", "gauge",
	    "Deliveries given up (events/dead), until redelivered.");
	n = count_dir(root, "events/dead");
	bput(b, "wf_webhook_dead_letters %ld\n", n > 0 ? n : 0);
}

int
wf_metrics_render(struct wf_metrics *m, int root, const char *const *lanes,
    int nlanes, int64_t now_ms, char **out, size_t *outlen)
{
	struct scrape *s;
	struct buf b = { NULL, 0, 0, 0 };
	int e;

	*out = NULL;
	*outlen = 0;
	for (int i = 0; i < nlanes; i++)
		lane_ix(m, lanes[i]);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->m = m;
	s->root = root;
	if (wf_queue_walk(root, visit, s) != 0 || s->failed) {
		e = s->failed ? ENOMEM : errno;
		free(s->cur);
		free(s);
		errno = e;
		return -1;
	}
	if (s->ncur > 0)
		qsort(s->cur, s->ncur, sizeof(*s->cur), ent_cmp);
	free(m->seen);
	m->seen = s->cur;
	m->nseen = s->ncur;
	s->cur = NULL;
	read_log(m, root, "log/audit.jsonl", &m->audit, audit_line);
	read_log(m, root, WF_WEBHOOK_LOG, &m->dlog, deliv_line);

	b.cap = 64 << 10;
	if ((b.s = malloc(b.cap)) == NULL) {
		free(s);
		return -1;
	}
	render(&b, m, s, root, now_ms);
	free(s);
	if (b.err) {
		free(b.s);
		errno = b.err;
		return -1;
	}
	*out = b.s;
	*outlen = b.len;
	return 0;
}

struct wf_metrics *
wf_metrics_new(void)
{
	return calloc(1, sizeof(struct wf_metrics));
}

void
wf_metrics_free(struct wf_metrics *m)
{
	if (m == NULL)
		return;
	free(m->seen);
	free(m);
}
