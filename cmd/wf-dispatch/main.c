/*
 * wf-dispatch: the queue manager.  It keeps an index of the waiting jobs
 * (one scan at start, then inotify), claims the best job of each lane with
 * free room by renaming it into active/, runs it in its own process group,
 * enforces its timeout, and moves it to done/, failed/, cancelled/ or
 * deferred/ (a retry).  It is the only program that moves job files, and
 * every move is one rename.  After a crash it recovers active/: a job with a
 * result is finalised, one without is requeued, so that none is lost and
 * none ends in two terminal directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "exec.h"
#include "fault.h"
#include "home.h"
#include "job.h"
#include "log.h"
#include "output.h"
#include "queue.h"
#include "sched.h"
#include "room.h"
#include "sandbox.h"
#include "sdnotify.h"
#include "spool.h"

#define MAX_RUNNING 1024
#ifndef SPARE_DELAY_MS
#define SPARE_DELAY_MS 10 /* a lane's next ready worker, after a hand-off */
#endif
#define PUMP_BUDGET 512   /* job files parsed per loop turn, at most */
#define DRAIN_SECS 10     /* SIGTERM: how long running jobs may finish */
/* A file in new/ counts when it is whole, as lib/spool says for every
 * reader of a new/ directory. */
#define NEW_EVENTS WF_SPOOL_NEW_EVENTS

struct run {
	struct wf_job job;
	char lane[16];
	pid_t pid;
	int outfd, errfd;
	int relfd, released; /* wf-agent said the lane's model is free */
	/* Armed: handed to its lane's ready wf-agent while the job in
	 * after still holds the model; it starts on that job's release (a
	 * byte or the end of its release pipe), which the worker waits for
	 * itself.  Its place in line is kept to tell whether a better job
	 * came since. */
	int armed;
	char after[WF_NAME_MAX + 1];
	int64_t arm_key;
	uint32_t arm_seq;
	struct wf_output out;
	int attempt;
	int direct;
	char argv0[64];
	int64_t start_mono, deadline, kill_at;
	int timed_out, cancelled, requeue;
	int reaped, wstatus;
};

/* A wf-agent started ahead, waiting on its stdin for a job id. */
struct spare {
	pid_t pid;
	int infd, outfd, errfd, relfd;
	char after[WF_NAME_MAX + 1]; /* its go pipe: this job's release */
	int retiring;                /* told to go (stdin closed): its exit
	                              * is no fault */
	int64_t started, hold_until; /* mono ms */
};

/* A job's record that could not be written yet (a full disk). */
struct pending {
	char *text;
	char id[WF_NAME_MAX + 1];
	char dir[16];
	unsigned bit;
	int prio;
	int64_t due; /* deferred/: when it is to run again (wall ms) */
};
/* A job's end for the audit trail, not written yet (a full disk). */
struct paudit {
	char action[32];
	char id[WF_NAME_MAX + 1];
	char *details;
};
#define PAUDIT_MAX 100000 /* past it, a line is only logged */
#define HOLD_MIN_MS 250  /* the first wait after a write that failed */
#define HOLD_MAX_MS 8000 /* the longest */

struct deferred {
	char name[WF_NAME_MAX + 1];
	int prio;
	int64_t due; /* wall ms */
};

static struct {
	const char *cfgpath;
	struct wf_config cfg;
	int root;
	int ifd, sfd;
	int wd[WF_NPRIO], wd_ctl;
	struct wf_sched *sched;
	struct run *running[MAX_RUNNING];
	struct spare spares[WF_LANES_MAX];
	struct wf_room_slot rooms[WF_LANES_MAX]; /* made ahead */
	int nrunning;
	struct deferred *def;
	size_t ndef, capdef;
	/* Starts wait while a job's start cannot be recorded; records that
	 * could not be written wait in pend, written again with backoff. */
	int64_t start_hold, pend_next; /* mono ms */
	int hold_ms, pend_ms, holding;
	struct pending *pend;
	size_t npend, cappend;
	struct paudit *paud; /* audit lines that could not be written */
	size_t npaud, cappaud;
	unsigned dirty; /* directories to fsync at the end of the turn */
	char (*unlinks)[WF_NAME_MAX + 8];
	size_t nunlinks, capunlinks;
	int draining;
	int64_t drain_until, drain_started;
	int pump_more;
	unsigned long ndone, nfailed;
	char status[256];
} D;

enum { DIR_DONE = 1, DIR_FAILED = 2, DIR_CANCELLED = 4, DIR_DEFERRED = 8,
	DIR_QUEUE = 16 };

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-dispatch [-v] [-c config]\n"
	    "Run the wf job queue in the foreground: claim waiting jobs from\n"
	    "$WF_HOME/queue by priority, run them within each lane's\n"
	    "concurrency, enforce timeouts, retry with backoff, and record\n"
	    "each outcome.  SIGHUP reloads the config; SIGTERM drains.\n"
	    "  -c, --config FILE  config file (default: $WF_CONFIG or %s)\n"
	    "  -v, --verbose      log every job start and end\n"
	    "  -h, --help         this text\n"
	    "      --version      print the version\n",
	    wf_home_config(NULL));
	exit(code);
}

static int
lane_index(const char *name)
{
	for (int i = 0; i < D.cfg.nlanes; i++)
		if (strcmp(D.cfg.lanes[i].name, name) == 0)
			return i;
	return -1;
}

static int
lane_busy(const char *name)
{
	int n = 0;

	/* A job whose agent released the model no longer holds the lane:
	 * the next one may start while it writes its result.  An armed
	 * one does not hold it yet. */
	for (int i = 0; i < D.nrunning; i++)
		if (strcmp(D.running[i]->lane, name) == 0 &&
		    !D.running[i]->released && !D.running[i]->armed)
			n++;
	return n;
}

/* Does the lane hand its next job ahead to its ready worker? */
static int
lane_chains(int li)
{
	const struct wf_lane_conf *lc = &D.cfg.lanes[li];

	return lc->chain && lc->prestart && lc->concurrency == 1 &&
	    !D.draining;
}

/* The running (or armed) job id, or NULL. */
static struct run *
running_id(const char *id)
{
	for (int i = 0; i < D.nrunning; i++)
		if (strcmp(D.running[i]->job.id, id) == 0)
			return D.running[i];
	return NULL;
}

/* The lane's armed job, or NULL. */
static struct run *
lane_armed(const char *name)
{
	for (int i = 0; i < D.nrunning; i++)
		if (D.running[i]->armed && strcmp(D.running[i]->lane, name) == 0)
			return D.running[i];
	return NULL;
}

/* The one job holding the lane's model, with its release pipe still
 * open; NULL when none or more than one (a reload lowered the lane's
 * concurrency). */
static struct run *
lane_holder(const char *name)
{
	struct run *h = NULL;

	for (int i = 0; i < D.nrunning; i++) {
		struct run *r = D.running[i];

		if (r->armed || r->released || strcmp(r->lane, name) != 0)
			continue;
		if (h != NULL)
			return NULL;
		h = r;
	}
	return h != NULL && h->relfd != -1 ? h : NULL;
}

static void
dirty(unsigned d)
{
	D.dirty |= d;
}

static void
later_unlink(const char *name)
{
	if (D.nunlinks == D.capunlinks) {
		size_t cap = D.capunlinks ? D.capunlinks * 2 : 64;
		void *p = reallocarray(D.unlinks, cap, sizeof(*D.unlinks));

		if (p == NULL) {
			/* Unlinking now only risks a requeue after a crash of
			 * the machine, which at-least-once allows. */
			char path[NAME_MAX + 32];

			snprintf(path, sizeof(path), "active/%s", name);
			unlinkat(D.root, path, 0);
			return;
		}
		D.unlinks = p;
		D.capunlinks = cap;
	}
	snprintf(D.unlinks[D.nunlinks++], sizeof(*D.unlinks), "%s", name);
}

/*
 * The end of a loop turn: make the records written in this turn durable
 * with one syncfs (their data and the directory entries at once), and only
 * then drop their active/ files, so that a crash of the machine can never
 * lose both.  One sync per turn, not per job, and after the turn's new jobs
 * have started, so that the disk waits while they run.
 */
static void
commit_turn(void)
{
	if (D.dirty != 0 && syncfs(D.root) == -1)
		wf_log_warn("syncfs: %s", strerror(errno));
	D.dirty = 0;
	if (D.nunlinks > 0)
		wf_fault("dispatch.settled");
	for (size_t i = 0; i < D.nunlinks; i++) {
		static const char *const sfx[] = { "", ".result", ".pid" };

		for (size_t k = 0; k < 3; k++) {
			char path[NAME_MAX + 32];

			snprintf(path, sizeof(path), "active/%s%s",
			    D.unlinks[i], sfx[k]);
			if (unlinkat(D.root, path, 0) == -1 && errno != ENOENT)
				wf_log_warn("unlink %s: %s", path,
				    strerror(errno));
		}
	}
	D.nunlinks = 0;
}

static void
update_status(void)
{
	char s[256];
	size_t waiting = 0;
	int n, running = 0;

	/* An armed job waits yet. */
	for (int i = 0; i < D.nrunning; i++)
		if (D.running[i]->armed)
			waiting++;
		else
			running++;
	for (int i = 0; i < D.cfg.nlanes; i++)
		waiting += wf_sched_count(D.sched, i);
	waiting += wf_sched_count(D.sched, WF_SCHED_UNKNOWN);
	n = snprintf(s, sizeof(s), "STATUS=%zu waiting, %d running, %zu "
	    "deferred, %lu done, %lu failed%s", waiting, running, D.ndef,
	    D.ndone, D.nfailed, D.draining ? ", draining" : "");
	if (n < 0 || (size_t)n >= sizeof(s))
		return;
	if (strcmp(s, D.status) != 0) {
		strlcpy(D.status, s, sizeof(D.status));
		wf_sd_notify(s);
	}
}

static void deferred_add(const char *name, int prio, int64_t due);
static void audit_end(const struct wf_job *j);

static int64_t
backoff(int *ms)
{
	*ms = *ms == 0 ? HOLD_MIN_MS : *ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS :
	    *ms * 2;
	return wf_clock_mono_ms() + *ms;
}

/* What follows a record written: the job leaves active/, its end is
 * counted and audited, or it waits in deferred/. */
static void
recorded(const struct wf_job *j, const char *dir, int64_t due)
{
	later_unlink(j->id);
	if (strcmp(dir, "deferred") == 0) {
		deferred_add(j->id, j->priority, due);
		return;
	}
	if (strcmp(dir, "done") == 0)
		D.ndone++;
	else if (strcmp(dir, "failed") == 0)
		D.nfailed++;
	audit_end(j);
}

/*
 * Write the job's record into dir (done, failed, cancelled, deferred).
 * One that cannot be written (a full disk) is kept, and written again
 * with backoff until it is (pend_retry): meanwhile the job stays in
 * active/, never to be run again, and the trouble is said once.
 */
static void
record(struct wf_job *j, const char *dir, unsigned bit, int64_t due)
{
	struct pending *p;
	char *s;

	if ((s = wf_job_format(j)) == NULL) {
		wf_log_warn("%s: out of memory", j->id);
		return;
	}
	/* Not synced here: the end of the turn syncs all of its records at
	 * once, after the next jobs have started. */
	if (D.npend == 0 &&
	    wf_spool_write(D.root, "tmp", dir, j->id, s, strlen(s), 0) == 0) {
		free(s);
		dirty(bit);
		recorded(j, dir, due);
		return;
	}
	if (D.npend == 0)
		wf_log_warn("%s: cannot write its record in %s/: %s; the "
		    "records wait here, written again once they can be", j->id,
		    dir, strerror(errno));
	if (D.npend == D.cappend) {
		size_t cap = D.cappend ? D.cappend * 2 : 16;

		if ((p = reallocarray(D.pend, cap, sizeof(*p))) == NULL) {
			/* It stays in active/: the next start settles it. */
			wf_log_warn("%s: out of memory", j->id);
			free(s);
			return;
		}
		D.pend = p;
		D.cappend = cap;
	}
	p = &D.pend[D.npend++];
	p->text = s;
	strlcpy(p->id, j->id, sizeof(p->id));
	strlcpy(p->dir, dir, sizeof(p->dir));
	p->bit = bit;
	p->prio = j->priority;
	p->due = due;
	if (D.npend == 1)
		D.pend_next = backoff(&D.pend_ms);
}

/* The records kept, written in their order, until one fails again. */
static void
pend_retry(void)
{
	size_t done = 0;
	char err[256];

	if ((D.npend == 0 && D.npaud == 0) || wf_clock_mono_ms() < D.pend_next)
		return;
	for (; done < D.npend; done++) {
		struct pending *p = &D.pend[done];
		struct wf_job j;

		if (wf_spool_write(D.root, "tmp", p->dir, p->id, p->text,
		    strlen(p->text), 0) == -1)
			break;
		dirty(p->bit);
		if (wf_job_parse(&j, p->text, strlen(p->text), err,
		    sizeof(err)) == 0) {
			strlcpy(j.id, p->id, sizeof(j.id));
			recorded(&j, p->dir, p->due);
			wf_job_free(&j);
		} else
			later_unlink(p->id);
		free(p->text);
	}
	if (done > 0)
		memmove(D.pend, D.pend + done,
		    (D.npend - done) * sizeof(*D.pend));
	D.npend -= done;
	if (D.npend > 0) {
		D.pend_next = backoff(&D.pend_ms);
		return;
	}
	if (done > 0)
		wf_log_info("the records held back are written (%zu)", done);
	/* Then the audit lines, in their order. */
	for (done = 0; done < D.npaud; done++) {
		struct paudit *pa = &D.paud[done];
		cJSON *d = pa->details != NULL ?
		    cJSON_Parse(pa->details) : NULL;
		int rc = wf_audit_append_named(D.root, pa->action, "job",
		    pa->id, d);

		cJSON_Delete(d);
		if (rc == -1)
			break;
		free(pa->details);
	}
	if (done > 0)
		memmove(D.paud, D.paud + done,
		    (D.npaud - done) * sizeof(*D.paud));
	D.npaud -= done;
	if (D.npaud > 0) {
		D.pend_next = backoff(&D.pend_ms);
		return;
	}
	if (done > 0)
		wf_log_info("the audit lines held back are written (%zu)", done);
	D.pend_ms = 0;
}

/*
 * A job's attempt is spent before it starts: active/ID.pid says "0" and
 * the time until the worker's pid replaces it.  After a crash, a job with
 * that file counts as started, whatever happened in between.
 */
static int
mark_start(const char *id)
{
	char name[WF_NAME_MAX + 8], line[64], iso[WF_ISO_LEN];
	int n;

	snprintf(name, sizeof(name), "%s.pid", id);
	n = snprintf(line, sizeof(line), "0 %s\n",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if (wf_spool_write(D.root, "tmp", "active", name, line, (size_t)n,
	    0) == -1) {
		if (!D.holding)
			wf_log_warn("%s: cannot record its start: %s; starting "
			    "nothing until a start can be recorded", id,
			    strerror(errno));
		D.holding = 1;
		D.start_hold = backoff(&D.hold_ms);
		return -1;
	}
	if (D.holding)
		wf_log_info("starts are recorded again");
	D.holding = 0;
	D.hold_ms = 0;
	return 0;
}

static void
deferred_add(const char *name, int prio, int64_t due)
{
	if (D.ndef == D.capdef) {
		size_t cap = D.capdef ? D.capdef * 2 : 16;
		void *p = reallocarray(D.def, cap, sizeof(*D.def));

		if (p == NULL) {
			wf_log_warn("%s: out of memory; it waits until the next "
			    "start", name);
			return;
		}
		D.def = p;
		D.capdef = cap;
	}
	strlcpy(D.def[D.ndef].name, name, sizeof(D.def[D.ndef].name));
	D.def[D.ndef].prio = prio;
	D.def[D.ndef].due = due;
	D.ndef++;
}

static void
deferred_remove(size_t i)
{
	D.def[i] = D.def[--D.ndef];
}

/* A job's end is a line of the audit trail (a retry is not an end). */
static void
audit_end(const struct wf_job *j)
{
	char action[32];
	cJSON *d = cJSON_CreateObject();

	snprintf(action, sizeof(action), "job.%s",
	    wf_job_status_name(j->status));
	cJSON_AddStringToObject(d, "job_type", wf_job_type_name(j->type));
	cJSON_AddStringToObject(d, "lane", j->lane);
	cJSON_AddNumberToObject(d, "attempt", j->attempt);
	if (j->exit_code != -1)
		cJSON_AddNumberToObject(d, "exit_code", j->exit_code);
	if (j->run_id > 0)
		cJSON_AddNumberToObject(d, "run_id", (double)j->run_id);
	if (j->project_id > 0)
		cJSON_AddNumberToObject(d, "project_id", (double)j->project_id);
	if (j->task_id > 0)
		cJSON_AddNumberToObject(d, "task_id", (double)j->task_id);
	if (j->error_message != NULL)
		cJSON_AddStringToObject(d, "error_message", j->error_message);
	/* Behind lines that wait, or when it cannot be written: kept, and
	 * written with the records held back (pend_retry). */
	if (D.npaud > 0 ||
	    wf_audit_append_named(D.root, action, "job", j->id, d) == -1) {
		struct paudit *pa;

		if (D.npaud == 0)
			wf_log_warn("%s: log/audit.jsonl: %s; the lines wait "
			    "here, written again once they can be", j->id,
			    strerror(errno));
		if (D.npaud == D.cappaud && D.cappaud < PAUDIT_MAX) {
			size_t cap = D.cappaud ? D.cappaud * 2 : 16;

			if ((pa = reallocarray(D.paud, cap, sizeof(*pa))) !=
			    NULL) {
				D.paud = pa;
				D.cappaud = cap;
			}
		}
		if (D.npaud < D.cappaud) {
			pa = &D.paud[D.npaud++];
			strlcpy(pa->action, action, sizeof(pa->action));
			strlcpy(pa->id, j->id, sizeof(pa->id));
			pa->details = cJSON_PrintUnformatted(d);
			if (D.npend == 0 && D.npaud == 1)
				D.pend_next = backoff(&D.pend_ms);
		} else
			wf_log_warn("%s: %s: not in the audit trail", j->id,
			    action);
	}
	cJSON_Delete(d);
}

/*
 * A job leaves active/: to a terminal directory, or to deferred/ while it
 * has attempts left.  The record keeps the last error either way.
 */
static void
settle(struct wf_job *j, int attempt, int permanent)
{
	int max = j->max_attempts > 0 ? j->max_attempts : D.cfg.max_attempts;
	char iso[WF_ISO_LEN];

	j->attempt = attempt;
	if (j->status == WF_JS_COMPLETED) {
		record(j, "done", DIR_DONE, 0);
		return;
	}
	if (j->status == WF_JS_CANCELLED) {
		record(j, "cancelled", DIR_CANCELLED, 0);
		return;
	}
	if (!permanent && attempt < max && !D.draining) {
		int delay = wf_sched_backoff(D.cfg.backoff_base,
		    D.cfg.backoff_max, attempt);
		int64_t due;

		/* A little jitter keeps retries of one outage apart. */
		due = wf_clock_wall_ms() + delay * 1000LL +
		    arc4random_uniform((uint32_t)delay * 100 + 1);
		if (j->not_before > due)
			due = j->not_before; /* a provider's Retry-After */
		j->not_before = due;
		j->status = WF_JS_PENDING;
		wf_log_info("%s: attempt %d of %d failed (%s); retry at %s",
		    j->id, attempt, max,
		    j->error_message ? j->error_message : "?",
		    wf_clock_iso(due, iso, sizeof(iso)));
		record(j, "deferred", DIR_DEFERRED, due);
		return;
	}
	wf_log_info("%s: %s after %d attempt%s: %s", j->id,
	    wf_job_status_name(j->status), attempt, attempt == 1 ? "" : "s",
	    j->error_message ? j->error_message : "?");
	record(j, "failed", DIR_FAILED, 0);
}

static void
vset_error(struct wf_job *j, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	free(j->error_message);
	j->error_message = s;
}

static void
set_error(struct wf_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct wf_job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_error(j, fmt, ap);
	va_end(ap);
}

/*
 * Fold a worker's active/<id>.result into the job.  Returns 0 when there
 * was one, -1 when the worker left none.
 */
static int
read_result(struct wf_job *j, int *permanent, int *server_deferred)
{
	char path[NAME_MAX + 16], *buf = NULL;
	const cJSON *it;
	cJSON *r;
	size_t len;

	*permanent = *server_deferred = 0;
	snprintf(path, sizeof(path), "active/%s.result", j->id);
	if (wf_spool_read(D.root, path, WF_JOB_MAX, &buf, &len) == -1)
		return -1;
	r = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		set_error(j, "wf-agent left a malformed result");
		j->status = WF_JS_FAILED;
		return 0;
	}
	it = cJSON_GetObjectItemCaseSensitive(r, "status");
	if (cJSON_IsString(it) && strcmp(it->valuestring, "completed") == 0)
		j->status = WF_JS_COMPLETED;
	else
		j->status = WF_JS_FAILED;
	it = cJSON_GetObjectItemCaseSensitive(r, "exit_code");
	if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
	    it->valuedouble <= 255)
		j->exit_code = (int)it->valuedouble;
	it = cJSON_GetObjectItemCaseSensitive(r, "error_message");
	if (cJSON_IsString(it))
		set_error(j, "%s", it->valuestring);
	it = cJSON_GetObjectItemCaseSensitive(r, "result_data");
	if (it != NULL) {
		cJSON_Delete(j->result_data);
		j->result_data = cJSON_Duplicate(it, 1);
	}
	it = cJSON_GetObjectItemCaseSensitive(r, "permanent");
	*permanent = cJSON_IsTrue(it);
	it = cJSON_GetObjectItemCaseSensitive(r, "retry_after");
	if (cJSON_IsNumber(it) && it->valuedouble > 0 &&
	    it->valuedouble < 86400) {
		j->not_before = wf_clock_wall_ms() +
		    (int64_t)(it->valuedouble * 1000);
		*server_deferred = 1;
	}
	cJSON_Delete(r);
	return 0;
}

/* The job's output log, for this attempt. */
static void
open_log(struct run *r)
{
	if (wf_output_open(&r->out, D.root, r->job.id, r->attempt,
	    D.cfg.output_max) == -1)
		wf_log_warn("%s: output log: %s", r->job.id, strerror(errno));
}

/* The job starts now: its log, its start times and its deadline. */
static void
begin(struct run *r)
{
	open_log(r);
	r->job.started_at = wf_clock_wall_ms();
	r->start_mono = wf_clock_mono_ms();
	r->deadline = r->start_mono + r->job.timeout * 1000LL;
}

/* Put a claimed job that never ran (or was drained) back in its queue,
 * as it was: the rename is the commit. */
static int
unclaim(const struct wf_job *j)
{
	char src[NAME_MAX + 32], dst[NAME_MAX + 32];

	snprintf(src, sizeof(src), "active/%s", j->id);
	snprintf(dst, sizeof(dst), "%s/new/%s", wf_spool_qdir(j->priority),
	    j->id);
	if (wf_spool_move(D.root, src, dst) == -1) {
		wf_log_warn("%s: requeue: %s", j->id, strerror(errno));
		return -1;
	}
	/* Its start, if one was said, was not: the next claim says it. */
	snprintf(src, sizeof(src), "active/%s.pid", j->id);
	unlinkat(D.root, src, 0);
	dirty(DIR_QUEUE);
	return 0;
}

static void
finish(struct run *r)
{
	struct wf_job *j = &r->job;
	const char *step = NULL;
	int permanent = 0, server_deferred = 0, e = 0, exec_failed = 0;

	/* An armed job that ends before its turn has no log yet: what its
	 * worker said goes to one. */
	if (r->armed && !r->requeue)
		open_log(r);
	if (r->outfd != -1) {
		wf_output_pump(&r->out, r->outfd);
		close(r->outfd);
		r->outfd = -1;
	}
	wf_output_close(&r->out);
	j->completed_at = wf_clock_wall_ms();
	j->duration_ms = wf_clock_mono_ms() - r->start_mono;
	j->worker_pid = r->pid;
	if (WIFEXITED(r->wstatus))
		j->exit_code = WEXITSTATUS(r->wstatus);
	if (r->errfd != -1) {
		/* wf_exec_failed reads and closes the pipe: once. */
		exec_failed = wf_exec_failed(r->errfd, &step, &e);
		r->errfd = -1;
	}
	if (r->requeue) {
		/* Drained at shutdown, or disarmed: back to its queue as it
		 * was, for the next start. */
		unclaim(j);
		return;
	}
	if (r->cancelled) {
		j->status = WF_JS_CANCELLED;
		set_error(j, "cancelled while running");
	} else if (r->timed_out) {
		j->status = WF_JS_TIMEOUT;
		set_error(j, "timed out after %d s", j->timeout);
	} else if (exec_failed) {
		/* Cannot execute: no retry will mend that. */
		j->status = WF_JS_FAILED;
		j->exit_code = 127;
		permanent = 1;
		set_error(j, "cannot execute '%s': %s: %s", r->argv0, step,
		    strerror(e));
	} else if (!r->direct) {
		if (read_result(j, &permanent, &server_deferred) == -1) {
			if (WIFEXITED(r->wstatus) &&
			    WEXITSTATUS(r->wstatus) == EX_CANTCREAT) {
				/* Handed ahead, it could not say it started
				 * when its turn came (a full disk): it did
				 * nothing. */
				if (!D.holding)
					wf_log_warn("%s: its worker could not "
					    "record its start; back to its "
					    "queue", j->id);
				D.holding = 1;
				D.start_hold = backoff(&D.hold_ms);
				unclaim(j);
				return;
			}
			j->status = WF_JS_FAILED;
			if (WIFSIGNALED(r->wstatus))
				set_error(j, "wf-agent killed by signal %d "
				    "without a result", WTERMSIG(r->wstatus));
			else
				set_error(j, "wf-agent exited with status %d "
				    "without a result", WEXITSTATUS(r->wstatus));
		}
	} else if (WIFEXITED(r->wstatus) && WEXITSTATUS(r->wstatus) == 0) {
		j->status = WF_JS_COMPLETED;
	} else {
		j->status = WF_JS_FAILED;
		if (WIFSIGNALED(r->wstatus))
			set_error(j, "killed by signal %d", WTERMSIG(r->wstatus));
		else
			set_error(j, "exit status %d", WEXITSTATUS(r->wstatus));
	}
	wf_log_debug("%s: %s in %lld ms", j->id, wf_job_status_name(j->status),
	    (long long)j->duration_ms);
	/* A provider that asked us to come back later (429, 503 with
	 * Retry-After) defers the job without spending an attempt. */
	settle(j, server_deferred ? r->attempt - 1 : r->attempt, permanent);
}

static void go_after(const char *id);

/* The agent wrote to its release pipe: the lane is free for the next
 * job.  An end of file without a byte releases nothing (the agent exited
 * or closed it: the reap frees the lane).  Either starts the job armed
 * behind it: its worker saw the same. */
static void
released(struct run *r)
{
	char b[16];
	ssize_t n;

	while ((n = read(r->relfd, b, sizeof(b))) == -1 && errno == EINTR)
		;
	if (n == -1 && errno == EAGAIN)
		return;
	close(r->relfd);
	r->relfd = -1;
	if (n > 0) {
		r->released = 1;
		wf_log_debug("%s: released its lane %s", r->job.id, r->lane);
	}
	wf_fault("dispatch.released");
	go_after(r->job.id);
}

static void
run_free(struct run *r)
{
	if (r->outfd != -1)
		close(r->outfd);
	if (r->errfd != -1)
		close(r->errfd);
	if (r->relfd != -1)
		close(r->relfd);
	wf_output_close(&r->out);
	wf_job_free(&r->job);
	free(r);
}

static void
run_remove(int i)
{
	run_free(D.running[i]);
	D.running[i] = D.running[--D.nrunning];
}

/* Fail a claimed job that could not start, without running it. */
static void
fail_now(struct wf_job *j, int attempt, int permanent, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail_now(struct wf_job *j, int attempt, int permanent, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_error(j, fmt, ap);
	va_end(ap);
	j->status = WF_JS_FAILED;
	j->completed_at = wf_clock_wall_ms();
	if (j->started_at == 0)
		j->started_at = j->completed_at;
	settle(j, attempt, permanent);
}

/*
 * Read and parse a job file.  -1 with a reason in why when it is not a
 * job; ENOENT (the file is gone) is reported through *gone.
 */
static int
load_job(const char *path, struct wf_job *j, char *why, size_t whylen,
    int *gone)
{
	char *buf = NULL;
	size_t len;
	int rc;

	*gone = 0;
	wf_job_init(j);
	if (wf_spool_read(D.root, path, WF_JOB_MAX, &buf, &len) == -1) {
		if (errno == ENOENT)
			*gone = 1;
		else if (errno == ELOOP)
			snprintf(why, whylen, "a symlink, not a job file");
		else if (errno == EFBIG)
			snprintf(why, whylen, "larger than %d bytes",
			    WF_JOB_MAX);
		else if (errno == EINVAL)
			snprintf(why, whylen, "not a regular file");
		else
			snprintf(why, whylen, "read: %s", strerror(errno));
		return -1;
	}
	rc = wf_job_parse(j, buf, len, why, whylen);
	free(buf);
	return rc;
}

/* Move a claimed file that is not a job to corrupt/ with its reason. */
static void
quarantine(const char *path, const char *name, const char *why)
{
	wf_log_warn("%s: %s; moved to corrupt/", name, why);
	if (wf_spool_quarantine(D.root, path, name, why) == -1)
		wf_log_warn("%s: quarantine: %s", name, strerror(errno));
}

static void
agent_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/wf-agent", wf_home_bindir());
}

static void
spare_close(struct spare *sp)
{
	if (sp->infd != -1)
		close(sp->infd);
	if (sp->outfd != -1)
		close(sp->outfd);
	if (sp->errfd != -1)
		close(sp->errfd);
	if (sp->relfd != -1)
		close(sp->relfd);
	sp->pid = 0;
	sp->infd = sp->outfd = sp->errfd = sp->relfd = -1;
	sp->after[0] = '\0';
	sp->retiring = 0;
}

/* Closing its stdin tells a spare it is not needed; it exits. */
static void
spare_retire(struct spare *sp)
{
	if (sp->pid > 0 && sp->infd != -1) {
		close(sp->infd);
		sp->infd = -1;
		sp->retiring = 1;
	}
}

/*
 * Keep one wf-agent started on each lane that says prestart, so that a
 * model never waits on a process start between two jobs.
 */
static void
spares_fill(void)
{
	int64_t now = wf_clock_mono_ms();

	for (int i = 0; i < D.cfg.nlanes && !D.draining; i++) {
		struct spare *sp = &D.spares[i];
		struct wf_exec_spec spec;
		const char *argv[3];
		char agent[PATH_MAX], **envp;
		struct run *h = NULL;

		if (!D.cfg.lanes[i].prestart || sp->pid > 0 ||
		    now < sp->hold_until)
			continue;
		/* On a chained lane the spare follows the job that holds
		 * the model before its own turn: the armed one when there
		 * is one (so the spare starts while the armed one still
		 * waits, and is ready long before it must be), else the
		 * holder. */
		if (lane_chains(i)) {
			struct run *a = lane_armed(D.cfg.lanes[i].name);

			if (a != NULL && a->requeue)
				continue;
			h = a != NULL ? a : lane_holder(D.cfg.lanes[i].name);
			if (h != NULL && h->relfd == -1)
				h = NULL;
		}
		agent_path(agent, sizeof(agent));
		argv[0] = agent;
		argv[1] = "--stdin";
		argv[2] = NULL;
		if ((envp = wf_exec_env_agent(NULL)) == NULL)
			continue;
		if (wf_exec_env_put(&envp, "WF_RELEASE_FD", "3") == -1 ||
		    (h != NULL &&
		    wf_exec_env_put(&envp, "WF_GO_FD", "4") == -1)) {
			wf_exec_env_free(envp);
			continue;
		}
		memset(&spec, 0, sizeof(spec));
		spec.argv = argv;
		spec.envp = (const char *const *)envp;
		spec.infd = &sp->infd;
		spec.relfd = &sp->relfd;
		spec.gofd = h != NULL ? &h->relfd : NULL;
		strlcpy(sp->after, h != NULL ? h->job.id : "", sizeof(sp->after));
		sp->pid = wf_exec_start(&spec, &sp->outfd, &sp->errfd);
		wf_exec_env_free(envp);
		if (sp->pid == -1) {
			sp->pid = 0;
			sp->hold_until = now + 5000;
			continue;
		}
		sp->started = now;
	}
}

/* A spare died before it got a job: do not restart it in a loop. */
static int
spare_reaped(pid_t pid)
{
	for (int i = 0; i < WF_LANES_MAX; i++) {
		struct spare *sp = &D.spares[i];

		if (sp->pid != pid)
			continue;
		if (wf_clock_mono_ms() - sp->started < 1000 && !D.draining &&
		    !sp->retiring) {
			wf_log_warn("the ready wf-agent of lane %s exited at once; "
			    "starting workers per job for 5 s",
			    i < D.cfg.nlanes ? D.cfg.lanes[i].name : "?");
			sp->hold_until = wf_clock_mono_ms() + 5000;
		}
		spare_close(sp);
		return 1;
	}
	return 0;
}

static int
spares_alive(void)
{
	for (int i = 0; i < WF_LANES_MAX; i++)
		if (D.spares[i].pid > 0)
			return 1;
	return 0;
}

static void
spares_stop(void)
{
	for (int i = 0; i < WF_LANES_MAX; i++)
		spare_retire(&D.spares[i]);
}

/*
 * Rooms made ahead (lib/room.h): a lane whose last command job ran in the
 * sandbox keeps a room with that job's options ready, so that the next
 * job with the same options (the same run's or project's tests) starts
 * without waiting for bubblewrap.
 */
static void
rooms_fill(void)
{
	char agent[PATH_MAX];

	if (D.draining || !D.cfg.sandbox.on || !D.cfg.sandbox.prestart)
		return;
	agent_path(agent, sizeof(agent));
	for (int i = 0; i < D.cfg.nlanes; i++)
		(void)wf_room_slot_fill(&D.rooms[i], agent);
}

/* A room died before it got a job: said once, and rooms are made per job
 * for a while rather than in a loop. */
static int
room_reaped(pid_t pid)
{
	char why[256];
	int rc;

	for (int i = 0; i < WF_LANES_MAX; i++) {
		if ((rc = wf_room_slot_reaped(&D.rooms[i], pid, D.draining, why,
		    sizeof(why))) == 0)
			continue;
		if (rc == 2)
			wf_log_warn("the sandbox made ahead on lane %s ended "
			    "before its job%s%s; making them per job for 5 s",
			    i < D.cfg.nlanes ? D.cfg.lanes[i].name : "?",
			    why[0] != '\0' ? ": " : "", why);
		return 1;
	}
	return 0;
}

static int
rooms_alive(void)
{
	for (int i = 0; i < WF_LANES_MAX; i++)
		if (D.rooms[i].pid > 0)
			return 1;
	return 0;
}

static void
rooms_stop(void)
{
	for (int i = 0; i < WF_LANES_MAX; i++)
		wf_room_slot_retire(&D.rooms[i]);
}

/*
 * active/<id>.pid: the worker's pid and start, for wf queue status, and
 * for recovery, which kills a group a crashed dispatcher left.  Not
 * fsync'd: after a crash of the machine no process survives anyway.
 */
static void
write_pidfile(const char *id, pid_t pid, int64_t started)
{
	char name[WF_NAME_MAX + 8], line[64], iso[WF_ISO_LEN];
	int n;

	snprintf(name, sizeof(name), "%s.pid", id);
	n = snprintf(line, sizeof(line), "%d %s\n", (int)pid,
	    wf_clock_iso(started, iso, sizeof(iso)));
	if (n > 0 && (size_t)n < sizeof(line) &&
	    wf_spool_write(D.root, "tmp", "active", name, line, (size_t)n,
	    0) == -1)
		wf_log_warn("%s: %s", name, strerror(errno));
}

/*
 * An armed job's turn came: from now on it runs, with its deadline, its
 * output log and its pid file.  Its lane's next spare starts a moment
 * later, not while this one talks to the model.
 */
static void
go_after(const char *id)
{
	for (int i = 0; i < D.nrunning; i++) {
		struct run *r = D.running[i];
		int li;

		if (!r->armed || r->requeue || strcmp(r->after, id) != 0)
			continue;
		r->armed = 0;
		begin(r);
		write_pidfile(r->job.id, r->pid, r->job.started_at);
		if ((li = lane_index(r->lane)) != -1)
			D.spares[li].hold_until = r->start_mono + SPARE_DELAY_MS;
		wf_log_debug("%s: started after %s on %s", r->job.id, id,
		    r->lane);
	}
}

/*
 * Start a claimed job.  With arm, the lane's ready worker takes it now
 * but starts it only on the release of the job it follows (go_after);
 * when there is no such worker any more, the job goes back to its queue.
 */
static int
start_job(struct wf_job *j, int li, int arm)
{
	const struct wf_lane_conf *lc = &D.cfg.lanes[li];
	struct wf_exec_spec spec;
	const char **argv = NULL;
	const char *agent_argv[3];
	char agent[PATH_MAX], **envp = NULL, **sbargv = NULL;
	char bwrap[PATH_MAX], hide[4 * PATH_MAX], sberr[512], *key = NULL;
	struct run *r;
	size_t keylen = 0;
	int attempt = j->attempt + 1, sbrc = 0, sboff = 0;
	const cJSON *cwd;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fail_now(j, attempt, 0, "out of memory");
		wf_job_free(j);
		return -1;
	}
	r->job = *j;
	r->outfd = r->errfd = r->relfd = -1;
	r->out.fd = -1;
	r->attempt = attempt;
	strlcpy(r->lane, lc->name, sizeof(r->lane));
	j = &r->job;
	memset(&spec, 0, sizeof(spec));
	r->direct = j->type == WF_JT_COMMAND && lc->runner == WF_RUN_DIRECT;
	if (arm && (r->direct || D.spares[li].pid <= 0 ||
	    D.spares[li].infd == -1)) {
		/* Not a job for the ready worker: it waits for its turn in
		 * line, and the worker is not armed again before then. */
		D.spares[li].after[0] = '\0';
		unclaim(j);
		goto fail;
	}
	/* Its attempt is spent from here on (an armed job's worker says
	 * so itself when its turn comes). */
	if (!arm && mark_start(j->id) == -1) {
		unclaim(j);
		goto fail;
	}
	if (r->direct) {
		argv = wf_job_argv(j);
		envp = wf_exec_env(cJSON_GetObjectItemCaseSensitive(
		    j->request_data, "env"), j->id);
		cwd = cJSON_GetObjectItemCaseSensitive(j->request_data, "cwd");
		spec.cwd = cJSON_IsString(cwd) ? cwd->valuestring : NULL;
		spec.argv = argv;
		/* A test run of a run's code (wf-gate's): in the sandbox. */
		if (argv != NULL && (sbrc = wf_sandbox_job_argv(&D.cfg.sandbox,
		    D.cfg.pipeline.workdir, j->request_data, argv, bwrap,
		    sizeof(bwrap), hide, sizeof(hide), &sbargv, &sboff, sberr,
		    sizeof(sberr))) == -1) {
			fail_now(j, attempt, 0, "%s", sberr);
			goto fail;
		}
		if (sbrc == 1)
			spec.argv = (const char *const *)sbargv;
		/* The room made ahead, when it has this job's options; the
		 * next one is made with them, after this job's start. */
		if (sbrc == 1 && D.cfg.sandbox.prestart &&
		    (key = wf_room_key(spec.argv, spec.cwd, &keylen)) != NULL &&
		    envp != NULL && wf_room_slot_take(&D.rooms[li], key, keylen,
		    argv, (const char *const *)envp, &r->pid, &r->outfd,
		    &r->errfd)) {
			wf_room_slot_want(&D.rooms[li], key, keylen);
			key = NULL;
			begin(r);
			strlcpy(r->argv0, argv[0], sizeof(r->argv0));
			wf_log_debug("%s: in the sandbox made ahead, pid %d",
			    j->id, (int)r->pid);
			goto started;
		}
		if (sboff) {
			if (j->result_data == NULL)
				j->result_data = cJSON_CreateObject();
			cJSON_DeleteItemFromObjectCaseSensitive(j->result_data,
			    "sandbox");
			cJSON_AddStringToObject(j->result_data, "sandbox", "off");
		}
	} else if (D.spares[li].pid > 0 && D.spares[li].infd != -1) {
		struct spare *sp = &D.spares[li];
		char line[WF_NAME_MAX + 2];
		int n = snprintf(line, sizeof(line), "%s\n", j->id);

		/* Hand the job to the ready worker. */
		if (write(sp->infd, line, (size_t)n) == n) {
			close(sp->infd);
			r->pid = sp->pid;
			r->outfd = sp->outfd;
			r->errfd = sp->errfd;
			r->relfd = sp->relfd;
			sp->infd = sp->outfd = sp->errfd = sp->relfd = -1;
			sp->pid = 0;
			if (arm) {
				strlcpy(r->after, sp->after, sizeof(r->after));
				sp->after[0] = '\0';
				r->armed = 1;
				r->start_mono = wf_clock_mono_ms();
				r->deadline = INT64_MAX;
				strlcpy(r->argv0, "wf-agent", sizeof(r->argv0));
				j->worker_pid = r->pid;
				j->status = WF_JS_RUNNING;
				D.running[D.nrunning++] = r;
				wf_log_debug("%s: armed pid %d on %s after %s",
				    j->id, (int)r->pid, r->lane, r->after);
				return 0;
			}
			sp->after[0] = '\0';
			/* Its successor starts a moment later, not while this
			 * one connects to the model. */
			sp->hold_until = wf_clock_mono_ms() + SPARE_DELAY_MS;
			begin(r);
			strlcpy(r->argv0, "wf-agent", sizeof(r->argv0));
			goto started;
		}
		/* It died meanwhile: start one for this job, unless the
		 * lane is not this job's yet. */
		wf_exec_kill(sp->pid, SIGKILL);
		spare_close(sp);
		if (arm) {
			unclaim(j);
			goto fail;
		}
		agent_path(agent, sizeof(agent));
		agent_argv[0] = agent;
		agent_argv[1] = j->id;
		agent_argv[2] = NULL;
		spec.argv = agent_argv;
		envp = wf_exec_env_agent(j->id);
		spec.relfd = &r->relfd;
	} else {
		agent_path(agent, sizeof(agent));
		agent_argv[0] = agent;
		agent_argv[1] = j->id;
		agent_argv[2] = NULL;
		spec.argv = agent_argv;
		envp = wf_exec_env_agent(j->id);
		spec.relfd = &r->relfd;
	}
	if (spec.relfd != NULL && envp != NULL &&
	    wf_exec_env_put(&envp, "WF_RELEASE_FD", "3") == -1) {
		wf_exec_env_free(envp);
		envp = NULL;
	}
	spec.envp = (const char *const *)envp;
	if (spec.argv == NULL || envp == NULL) {
		fail_now(j, attempt, 0, "out of memory");
		goto fail;
	}
	begin(r);
	r->pid = wf_exec_start(&spec, &r->outfd, &r->errfd);
	if (r->pid == -1) {
		fail_now(j, attempt, 0, "cannot start '%s': %s", spec.argv[0],
		    strerror(errno));
		goto fail;
	}
	strlcpy(r->argv0, spec.argv[0], sizeof(r->argv0));
	wf_fault("dispatch.started");
	if (key != NULL) {
		wf_room_slot_want(&D.rooms[li], key, keylen);
		key = NULL;
	}
started:
	j->worker_pid = r->pid;
	j->status = WF_JS_RUNNING;
	D.running[D.nrunning++] = r;
	write_pidfile(j->id, r->pid, j->started_at);
	wf_log_debug("%s: started pid %d on %s (attempt %d)", j->id,
	    (int)r->pid, r->lane, attempt);
	free(key);
	free(sbargv);
	free(argv);
	wf_exec_env_free(envp);
	return 0;
fail:
	free(key);
	free(sbargv);
	free(argv);
	wf_exec_env_free(envp);
	run_free(r);
	return -1;
}

/* A job whose twin sits in failed/ or cancelled/ is being retried: the
 * queue file is the commit, the old record goes. */
static void
drop_twins(const char *id)
{
	static const char *const dirs[] = { "failed", "cancelled" };
	char path[NAME_MAX + 32];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], id);
		if (unlinkat(D.root, path, 0) == 0)
			dirty(i == 0 ? DIR_FAILED : DIR_CANCELLED);
	}
}

/*
 * Claim one waiting file: rename it into active/ (the loser of a race gets
 * ENOENT), parse it, and start it (or arm it) or settle it.  Returns 1
 * when a job started.
 */
static int
claim(const struct wf_sched_ent *e, int arm)
{
	char src[NAME_MAX + 32], dst[NAME_MAX + 32], why[256];
	char id[WF_NAME_MAX + 1], name[NAME_MAX + 1];
	struct wf_job j;
	int gone, li;

	wf_sched_name(D.sched, e, name, sizeof(name));
	snprintf(src, sizeof(src), "%s/new/%s", wf_spool_qdir(e->level), name);
	if (wf_spool_name_ok(name))
		strlcpy(id, name, sizeof(id));
	else if (wf_spool_name(id, sizeof(id)) == -1)
		return 0;
	snprintf(dst, sizeof(dst), "active/%s", id);
	if (wf_spool_move(D.root, src, dst) == -1) {
		if (errno != ENOENT)
			wf_log_warn("claim %s: %s", src, strerror(errno));
		return 0;
	}
	wf_fault("dispatch.claimed");
	if (load_job(dst, &j, why, sizeof(why), &gone) == -1) {
		if (!gone)
			quarantine(dst, id, why);
		return 0;
	}
	strlcpy(j.id, id, sizeof(j.id));
	j.priority = e->level; /* the directory is the truth */
	drop_twins(id);
	if (j.not_before > wf_clock_wall_ms()) {
		char d[NAME_MAX + 32];

		snprintf(d, sizeof(d), "deferred/%s", id);
		if (wf_spool_move(D.root, dst, d) == 0) {
			deferred_add(id, j.priority, j.not_before);
			dirty(DIR_DEFERRED);
		}
		wf_job_free(&j);
		return 0;
	}
	if ((li = lane_index(j.lane)) == -1) {
		fail_now(&j, j.attempt + 1, 1,
		    "lane '%s' is not configured (add [lane.%s] to wf.ini)",
		    j.lane, j.lane);
		wf_job_free(&j);
		return 0;
	}
	return start_job(&j, li, arm) == 0;
}

/* Parse the head of the unknown heap to learn its lane.  Returns -1 when
 * the heap is empty. */
static int
pump_one(void)
{
	struct wf_sched_ent *e = wf_sched_pop(D.sched, WF_SCHED_UNKNOWN);
	char path[NAME_MAX + 32], why[256], name[NAME_MAX + 1];
	struct wf_job j;
	int gone, li;

	if (e == NULL)
		return -1;
	wf_sched_name(D.sched, e, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/new/%s", wf_spool_qdir(e->level), name);
	if (load_job(path, &j, why, sizeof(why), &gone) == -1) {
		/* Claim it anyway: claim() quarantines what is not a job. */
		if (!gone)
			claim(e, 0);
		wf_sched_release(D.sched, e);
		return 0;
	}
	li = lane_index(j.lane);
	wf_job_free(&j);
	if (li == -1) {
		claim(e, 0); /* fails it with the reason */
		wf_sched_release(D.sched, e);
		return 0;
	}
	if (wf_sched_push(D.sched, li, e) == -1)
		wf_sched_release(D.sched, e); /* found again at the next start */
	return 0;
}

/* The best head among lanes with room, and its lane; NULL when none. */
static const struct wf_sched_ent *
best_free_head(int *lane)
{
	const struct wf_sched_ent *best = NULL, *h;

	for (int i = 0; i < D.cfg.nlanes; i++) {
		if (lane_busy(D.cfg.lanes[i].name) >=
		    D.cfg.lanes[i].concurrency)
			continue;
		h = wf_sched_peek(D.sched, i);
		if (h != NULL && (best == NULL || wf_sched_before(h, best))) {
			best = h;
			*lane = i;
		}
	}
	return best;
}

static int
any_room(void)
{
	if (D.nrunning >= MAX_RUNNING)
		return 0;
	for (int i = 0; i < D.cfg.nlanes; i++)
		if (lane_busy(D.cfg.lanes[i].name) < D.cfg.lanes[i].concurrency)
			return 1;
	return 0;
}

/*
 * Start jobs while some lane has room.  Before each start, parse unknown
 * jobs until none of them could beat the best startable one: so the order
 * is exact, and a deep queue costs one parse per job started, not one per
 * job waiting.
 */
static void
dispatch(void)
{
	int budget = PUMP_BUDGET;

	D.pump_more = 0;
	if (D.draining || wf_clock_mono_ms() < D.start_hold)
		return;
	while (any_room()) {
		const struct wf_sched_ent *u, *best;
		struct wf_sched_ent *e;
		int lane = -1;

		while ((u = wf_sched_peek(D.sched, WF_SCHED_UNKNOWN)) != NULL) {
			best = best_free_head(&lane);
			if (best != NULL && wf_sched_before(best, u))
				break;
			if (budget-- == 0) {
				D.pump_more = 1;
				return;
			}
			pump_one();
			if (!any_room())
				return;
		}
		if (best_free_head(&lane) == NULL)
			return;
		e = wf_sched_pop(D.sched, lane);
		claim(e, 0);
		wf_sched_release(D.sched, e);
	}
}

/*
 * Parse unknown jobs until none of them could beat ent (NULL: any job):
 * then a lane's heap is exact up to ent.  -1 when the turn's budget is
 * spent.
 */
static int
pump_before(const struct wf_sched_ent *ent, int *budget)
{
	const struct wf_sched_ent *u;

	while ((u = wf_sched_peek(D.sched, WF_SCHED_UNKNOWN)) != NULL &&
	    (ent == NULL || wf_sched_before(u, ent))) {
		if ((*budget)-- <= 0) {
			D.pump_more = 1;
			return -1;
		}
		pump_one();
	}
	return 0;
}

/*
 * A better job came for a lane whose next job is armed: the armed one
 * goes back to its queue (its worker is killed; nothing of it started)
 * and the better one takes its place.  Unless its turn has just come:
 * then it runs.
 */
static void
disarm(struct run *a)
{
	struct run *h = running_id(a->after);
	struct pollfd p;

	if (h != NULL && h->relfd != -1) {
		p = (struct pollfd){ h->relfd, POLLIN, 0 };
		if (poll(&p, 1, 0) == 1) {
			released(h);
			if (!a->armed)
				return;
		}
	}
	wf_log_info("%s: a better job came for lane %s; back to its queue",
	    a->job.id, a->lane);
	a->requeue = 1;
	wf_exec_kill(a->pid, SIGKILL);
}

/*
 * On a chained lane whose model is busy, hand the lane's next job to its
 * ready worker now (it reads the job and builds its request meanwhile),
 * so that the model's next request leaves the moment the current one is
 * answered, with no hop through here.  At most one job a lane is armed,
 * and a better job that comes later still goes first (disarm).
 */
static void
arm(void)
{
	int budget = PUMP_BUDGET;

	if (wf_clock_mono_ms() < D.start_hold)
		return;
	for (int li = 0; li < D.cfg.nlanes; li++) {
		const char *name = D.cfg.lanes[li].name;
		struct spare *sp = &D.spares[li];
		struct wf_sched_ent *e;
		const struct wf_sched_ent *h;
		struct run *a, *hold;

		if (!lane_chains(li))
			continue;
		if ((a = lane_armed(name)) != NULL) {
			struct wf_sched_ent ae = { .key = a->arm_key,
				.seq = a->arm_seq };

			if (a->requeue || pump_before(&ae, &budget) == -1)
				continue;
			if ((h = wf_sched_peek(D.sched, li)) != NULL &&
			    wf_sched_before(h, &ae))
				disarm(a);
			continue;
		}
		if (sp->pid <= 0 || sp->infd == -1 || sp->after[0] == '\0' ||
		    (hold = lane_holder(name)) == NULL)
			continue;
		if (strcmp(hold->job.id, sp->after) != 0) {
			/* It follows a job that is gone (cancelled, or put
			 * back while armed): it would start at once, out of
			 * turn.  A new one follows the holder. */
			if (running_id(sp->after) == NULL) {
				wf_log_debug("lane %s: its ready worker follows "
				    "%s, which is gone; a new one", name,
				    sp->after);
				spare_retire(sp);
			}
			continue;
		}
		/* Not while the holder's own request is leaving: the claim
		 * and the worker's reading and building wait a moment
		 * (timers() wakes the loop then). */
		if (wf_clock_mono_ms() < hold->start_mono + SPARE_DELAY_MS)
			continue;
		if (pump_before(wf_sched_peek(D.sched, li), &budget) == -1)
			return;
		if ((e = wf_sched_pop(D.sched, li)) == NULL)
			continue;
		if (claim(e, 1) == 1 && (a = lane_armed(name)) != NULL) {
			a->arm_key = e->key;
			a->arm_seq = e->seq;
		}
		wf_sched_release(D.sched, e);
	}
}

static void
reap(void)
{
	int ws;
	pid_t pid;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (spare_reaped(pid) || room_reaped(pid))
			continue;
		for (int i = 0; i < D.nrunning; i++) {
			struct run *r = D.running[i];

			if (r->pid != pid)
				continue;
			r->reaped = 1;
			r->wstatus = ws;
			/* The job ends with its leader: what it left behind
			 * in its group goes too. */
			wf_exec_kill(pid, SIGKILL);
			finish(r);
			/* Its release pipe ended with it: what followed it
			 * starts (its worker saw the end too). */
			go_after(r->job.id);
			run_remove(i);
			break;
		}
	}
}

static void
kill_run(struct run *r, int64_t now)
{
	if (r->kill_at != 0)
		return;
	wf_exec_kill(r->pid, SIGTERM);
	r->kill_at = now + D.cfg.kill_grace * 1000LL;
}

/* Timeouts, kill grace periods and due retries; returns the poll timeout
 * in ms until the next of them (-1: none). */
static int
timers(void)
{
	int64_t now, next = -1, wall;

	pend_retry();
	now = wf_clock_mono_ms();
	if (D.npend > 0 || D.npaud > 0)
		next = D.pend_next;
	if (D.start_hold > now && (next == -1 || D.start_hold < next))
		next = D.start_hold;
	for (int i = 0; i < D.nrunning; i++) {
		struct run *r = D.running[i];
		int64_t t;

		if (!r->timed_out && now >= r->deadline) {
			r->timed_out = 1;
			wf_log_info("%s: timed out after %d s; killing its "
			    "process group", r->job.id, r->job.timeout);
			kill_run(r, now);
		}
		if (r->kill_at != 0 && now >= r->kill_at) {
			wf_exec_kill(r->pid, SIGKILL);
			r->kill_at = INT64_MAX;
		}
		t = r->kill_at != 0 ? r->kill_at : r->deadline;
		if (t != INT64_MAX && (next == -1 || t < next))
			next = t;
	}
	if (D.draining && D.nrunning > 0 && now >= D.drain_until) {
		for (int i = 0; i < D.nrunning; i++) {
			D.running[i]->requeue = 1;
			kill_run(D.running[i], now);
		}
		D.drain_until = INT64_MAX;
	}
	if (D.draining && D.drain_until != INT64_MAX &&
	    (next == -1 || D.drain_until < next))
		next = D.drain_until;
	wall = wf_clock_wall_ms();
	for (size_t i = 0; i < D.ndef && !D.draining;) {
		struct deferred *d = &D.def[i];

		if (wall >= d->due) {
			char src[NAME_MAX + 32], dst[NAME_MAX + 32];

			/* Back to its queue; inotify brings it to the index. */
			snprintf(src, sizeof(src), "deferred/%s", d->name);
			snprintf(dst, sizeof(dst), "%s/new/%s",
			    wf_spool_qdir(d->prio), d->name);
			if (wf_spool_move(D.root, src, dst) == -1 &&
			    errno != ENOENT)
				wf_log_warn("%s: requeue: %s", d->name,
				    strerror(errno));
			deferred_remove(i);
			continue;
		}
		if (next == -1 || now + (d->due - wall) < next)
			next = now + (d->due - wall);
		i++;
	}
	/* A lane's ready worker held back starts when its hold ends; a
	 * chained lane's next job is armed a moment after its holder
	 * started. */
	for (int l = 0; l < D.cfg.nlanes && !D.draining; l++) {
		struct run *h;
		int64_t t;

		if (D.cfg.lanes[l].prestart && D.spares[l].pid <= 0 &&
		    D.spares[l].hold_until > now &&
		    (next == -1 || D.spares[l].hold_until < next))
			next = D.spares[l].hold_until;
		if (lane_chains(l) && D.spares[l].pid > 0 &&
		    lane_armed(D.cfg.lanes[l].name) == NULL &&
		    (h = lane_holder(D.cfg.lanes[l].name)) != NULL &&
		    (t = h->start_mono + SPARE_DELAY_MS) > now &&
		    (next == -1 || t < next))
			next = t;
	}
	if (next == -1)
		return -1;
	return next <= now ? 0 : (int)(next - now > INT32_MAX ? INT32_MAX :
	    next - now);
}

static void
enqueue_entry(int level, const char *name)
{
	int64_t t = wf_spool_name_time_us(name);

	/* A foreign name without a time waits as if it arrived now. */
	if (t < 0)
		t = wf_clock_wall_ms() * 1000;
	if (wf_sched_add(D.sched, WF_SCHED_UNKNOWN, level, t, name) == -1)
		wf_log_warn("%s: out of memory; found again at the next start",
		    name);
}

static void
scanned(const char *name, const char *why, void *arg)
{
	if (why == NULL)
		enqueue_entry(*(int *)arg, name);
}

/* The one full scan of the queue: names only, no file is opened (what
 * readdir says is a file is taken as one). */
static int
scan_queue(void)
{
	for (int p = 1; p <= WF_NPRIO; p++) {
		char dpath[64];

		snprintf(dpath, sizeof(dpath), "%s/new", wf_spool_qdir(p));
		if (wf_spool_scan(D.root, dpath, "", scanned, &p) == -1) {
			wf_log_warn("%s: %s", dpath, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
rebuild_index(void)
{
	wf_sched_free(D.sched);
	if ((D.sched = wf_sched_new(D.cfg.nlanes, D.cfg.aging)) == NULL)
		return -1;
	return scan_queue();
}

static void
ctl_cancel(const char *id)
{
	char path[NAME_MAX + 32], dst[NAME_MAX + 32], why[256];
	struct wf_job j;
	int gone;

	for (int i = 0; i < D.nrunning; i++)
		if (strcmp(D.running[i]->job.id, id) == 0) {
			D.running[i]->cancelled = 1;
			/* An armed worker has nothing to finish. */
			if (D.running[i]->armed)
				wf_exec_kill(D.running[i]->pid, SIGKILL);
			kill_run(D.running[i], wf_clock_mono_ms());
			wf_log_info("%s: cancel: killing its process group", id);
			return;
		}
	snprintf(dst, sizeof(dst), "active/%s", id);
	for (int p = 0; p <= WF_NPRIO; p++) {
		if (p == 0)
			snprintf(path, sizeof(path), "deferred/%s", id);
		else
			snprintf(path, sizeof(path), "%s/new/%s",
			    wf_spool_qdir(p), id);
		if (wf_spool_move(D.root, path, dst) == -1)
			continue;
		if (p == 0)
			for (size_t i = 0; i < D.ndef; i++)
				if (strcmp(D.def[i].name, id) == 0) {
					deferred_remove(i);
					break;
				}
		if (load_job(dst, &j, why, sizeof(why), &gone) == -1) {
			if (!gone)
				quarantine(dst, id, why);
			return;
		}
		strlcpy(j.id, id, sizeof(j.id));
		j.status = WF_JS_CANCELLED;
		j.completed_at = wf_clock_wall_ms();
		set_error(&j, "cancelled while waiting");
		settle(&j, j.attempt, 1);
		wf_job_free(&j);
		wf_log_info("%s: cancelled while waiting", id);
		return;
	}
	wf_log_info("cancel %s: not waiting or running; nothing to do", id);
}

static void
ctl_retry(const char *id)
{
	static const char *const dirs[] = { "failed", "cancelled" };
	char path[NAME_MAX + 32], why[256];
	struct wf_job j;
	int gone;

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], id);
		if (load_job(path, &j, why, sizeof(why), &gone) == -1) {
			if (!gone)
				wf_log_warn("retry %s: %s", path, why);
			continue;
		}
		strlcpy(j.id, id, sizeof(j.id));
		j.attempt = 0;
		j.not_before = 0;
		j.status = WF_JS_PENDING;
		j.exit_code = -1;
		j.started_at = j.completed_at = j.duration_ms = 0;
		j.worker_pid = 0;
		cJSON_Delete(j.result_data);
		j.result_data = NULL;
		free(j.error_message);
		j.error_message = NULL;
		/* The queue file is the commit; its old record goes when
		 * it is claimed (drop_twins) or right now. */
		if (wf_queue_submit(D.root, &j, 1) == 0) {
			unlinkat(D.root, path, 0);
			wf_log_info("%s: retry: back in its queue", id);
		} else
			wf_log_warn("retry %s: %s", id, strerror(errno));
		wf_job_free(&j);
		return;
	}
	wf_log_info("retry %s: not failed, timed out or cancelled", id);
}

/* Apply one request from ctl/new, then drop it. */
static void
ctl_one(const char *name)
{
	char path[NAME_MAX + 16], *buf = NULL;
	const cJSON *op, *id;
	cJSON *o = NULL;
	size_t len;

	snprintf(path, sizeof(path), "ctl/new/%s", name);
	if (wf_spool_read(D.root, path, 4096, &buf, &len) == -1) {
		if (errno != ENOENT)
			quarantine(path, name, "unreadable control request");
		return;
	}
	o = cJSON_ParseWithLength(buf, len);
	op = cJSON_GetObjectItemCaseSensitive(o, "op");
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (!cJSON_IsString(op) || !cJSON_IsString(id) ||
	    !wf_spool_name_ok(id->valuestring)) {
		quarantine(path, name, "malformed control request");
		goto out;
	}
	if (strcmp(op->valuestring, "cancel") == 0)
		ctl_cancel(id->valuestring);
	else if (strcmp(op->valuestring, "retry") == 0)
		ctl_retry(id->valuestring);
	else {
		quarantine(path, name, "unknown control request");
		goto out;
	}
	unlinkat(D.root, path, 0);
out:
	cJSON_Delete(o);
	free(buf);
}

static void
ctl_scanned(const char *name, const char *why, void *arg)
{
	(void)arg;
	if (why == NULL)
		ctl_one(name);
}

static void
ctl_scan(void)
{
	wf_spool_scan(D.root, "ctl/new", "ctl-", ctl_scanned, NULL);
}

/*
 * A job of active/ whose record is written already: it ended (done,
 * failed, cancelled), or its attempt was settled into deferred/ for a
 * retry (a job is never in deferred/ and active/ otherwise: it leaves
 * deferred/ by a rename).  Its active/ file is all that is left to drop;
 * recovered again, a command job (no result file) would be requeued
 * beside its deferred/ twin and run once more than it may.
 */
static int
has_twin(const char *id)
{
	static const char *const dirs[] = { "done", "failed", "cancelled",
		"deferred" };
	char path[NAME_MAX + 32];
	struct stat st;

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], id);
		if (fstatat(D.root, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 1;
	}
	return 0;
}

/*
 * A dispatcher killed with SIGKILL takes its direct children along
 * (PR_SET_PDEATHSIG), but not their children.  Their group outlives the
 * leader, and Linux does not reuse a pid that still names a group, so
 * killing the recorded group reaches only what the job left.
 */
static void
kill_leftovers(const char *id)
{
	char path[NAME_MAX + 32], *buf;
	const char *errstr;
	size_t len;
	long long pid;

	snprintf(path, sizeof(path), "active/%s.pid", id);
	if (wf_spool_read(D.root, path, 64, &buf, &len) == -1)
		return;
	buf[strcspn(buf, " \n")] = '\0';
	pid = strtonum(buf, 2, INT32_MAX, &errstr);
	free(buf);
	if (errstr == NULL && kill(-(pid_t)pid, SIGKILL) == 0)
		wf_log_info("%s: killed what its worker left (group %lld)", id,
		    pid);
}

/*
 * Crash recovery of active/: the workers of the last run are gone.  A job
 * already recorded in a terminal directory only lost its active/ file's
 * unlink; one with a result is finalised from it; the others go back to
 * their queue with the attempt counted (when they had started: a pid
 * file), or to failed/ when spent.
 */
static void
recover(void)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(D.root, "active", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[NAME_MAX + 16], why[256];
		const char *name = de->d_name;
		size_t len = strlen(name);
		struct wf_job j;
		int gone, permanent, deferred;

		if (name[0] == '.' ||
		    (len > 7 && strcmp(name + len - 7, ".result") == 0) ||
		    (len > 4 && strcmp(name + len - 4, ".pid") == 0))
			continue;
		snprintf(path, sizeof(path), "active/%s", name);
		if (!wf_spool_name_ok(name)) {
			quarantine(path, "badname", "a bad name in active/");
			continue;
		}
		n++;
		kill_leftovers(name);
		if (has_twin(name)) {
			later_unlink(name);
			continue;
		}
		if (load_job(path, &j, why, sizeof(why), &gone) == -1) {
			if (!gone)
				quarantine(path, name, why);
			continue;
		}
		strlcpy(j.id, name, sizeof(j.id));
		if (read_result(&j, &permanent, &deferred) == 0) {
			if (j.completed_at == 0)
				j.completed_at = wf_clock_wall_ms();
			settle(&j, j.attempt + 1, permanent);
		} else {
			int max = j.max_attempts > 0 ? j.max_attempts :
			    D.cfg.max_attempts;
			/* A job with no pid file never started (it was
			 * armed): its attempt is not spent. */
			if (wf_queue_started(D.root, name))
				j.attempt++;
			if (j.attempt >= max) {
				j.status = WF_JS_FAILED;
				set_error(&j, "interrupted: wf-dispatch stopped "
				    "while it ran, and its attempts are spent");
				settle(&j, j.attempt, 1);
			} else if (wf_queue_submit(D.root, &j, 1) == 0)
				later_unlink(name);
			else
				wf_log_warn("%s: requeue: %s", name,
				    strerror(errno));
		}
		wf_job_free(&j);
	}
	closedir(d);
	commit_turn();
	if (n > 0)
		wf_log_info("recovered %d job%s from active/", n,
		    n == 1 ? "" : "s");
}

static void
scan_deferred(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(D.root, "deferred", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[NAME_MAX + 16], why[256];
		struct wf_job j;
		int gone;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "deferred/%s", de->d_name);
		if (!wf_spool_name_ok(de->d_name)) {
			quarantine(path, "badname", "a bad name in deferred/");
			continue;
		}
		if (load_job(path, &j, why, sizeof(why), &gone) == -1) {
			if (!gone)
				quarantine(path, de->d_name, why);
			continue;
		}
		deferred_add(de->d_name, j.priority, j.not_before);
		wf_job_free(&j);
	}
	closedir(d);
}

/* A job file whole in new/ (lib/spool; what is not a file goes to
 * corrupt/). */
static int
arrived(int level, const struct inotify_event *ev)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "%s/new", wf_spool_qdir(level));
	return wf_spool_arrived(D.root, dir, ev->name, ev->mask, "", NULL,
	    0) == 1;
}

static void
read_inotify(void)
{
	char buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(D.ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: the directories are the
				 * truth, read them again. */
				wf_log_info("inotify queue overflow; rescanning");
				if (rebuild_index() == -1)
					wf_log_warn("rescan failed");
				ctl_scan();
				continue;
			}
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			if (ev->wd == D.wd_ctl) {
				if (wf_spool_arrived(D.root, "ctl/new",
				    ev->name, ev->mask, "ctl-", NULL, 0) == 1)
					ctl_one(ev->name);
				continue;
			}
			for (int i = 0; i < WF_NPRIO; i++)
				if (ev->wd == D.wd[i] && arrived(i + 1, ev))
					enqueue_entry(i + 1, ev->name);
		}
	}
}

static void
read_signals(int *reload)
{
	struct signalfd_siginfo si;

	while (read(D.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGHUP:
			*reload = 1;
			break;
		case SIGTERM:
		case SIGINT:
			if (D.draining) {
				/* A second request: do not wait any more. */
				D.drain_until = wf_clock_mono_ms();
				D.drain_started = 0;
				break;
			}
			D.draining = 1;
			D.drain_started = wf_clock_mono_ms();
			D.drain_until = wf_clock_mono_ms() + DRAIN_SECS * 1000;
			spares_stop();
			rooms_stop();
			/* What has not started does not start now. */
			for (int i = 0; i < D.nrunning; i++)
				if (D.running[i]->armed &&
				    !D.running[i]->requeue) {
					D.running[i]->requeue = 1;
					wf_exec_kill(D.running[i]->pid, SIGKILL);
				}
			wf_sd_notify("STOPPING=1");
			wf_log_info("draining: %d running job%s may finish for "
			    "%d s", D.nrunning, D.nrunning == 1 ? "" : "s",
			    DRAIN_SECS);
			break;
		}
	}
}

static void
reload_config(void)
{
	char err[512];

	if (wf_config_read(&D.cfg, D.cfgpath, err, sizeof(err)) == -1) {
		wf_log_warn("reload: %s; keeping the old config", err);
		return;
	}
	spares_stop(); /* they exit; new ones start with the new config */
	rooms_stop();
	if (rebuild_index() == -1)
		wf_log_warn("reload: rescan failed");
	wf_log_info("reloaded %s", D.cfgpath);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home;
	char err[512];
	sigset_t mask;
	int c, verbose = 0, lockfd;

	wf_log_init("wf-dispatch", 0);
	wf_audit_set_actor("wf-dispatch");
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			D.cfgpath = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(0);
			break;
		case 'V':
			printf("wf-dispatch %s\n", WF_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	wf_log_init("wf-dispatch", verbose);
	wf_audit_set_actor("wf-dispatch");
	for (int i = 0; i < WF_LANES_MAX; i++)
		D.spares[i].infd = D.spares[i].outfd = D.spares[i].errfd =
		    D.spares[i].relfd = -1;
	for (int i = 0; i < WF_LANES_MAX; i++)
		wf_room_slot_init(&D.rooms[i]);

	D.cfgpath = wf_home_config(D.cfgpath);
	if (wf_config_read(&D.cfg, D.cfgpath, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	home = wf_home_dir();
	if ((D.root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	/* One dispatcher per tree, before recovery takes active/ for its
	 * own (lib/daemon; /metrics' wf_daemon_up). */
	if ((c = wf_daemon_start(D.root, home, "wf-dispatch", &lockfd)) != 0)
		return c;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (D.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		wf_log_warn("signalfd: %s", strerror(errno));
		return EX_OSERR;
	}
	signal(SIGPIPE, SIG_IGN);
	/* A lease break (being_written) must not kill us. */
	signal(SIGIO, SIG_IGN);
	if ((D.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		wf_log_warn("inotify: %s", strerror(errno));
		return EX_OSERR;
	}
	/* Watch first, then scan: a job that lands in between is seen
	 * twice, and the second claim loses its rename harmlessly. */
	for (int p = 1; p <= WF_NPRIO; p++) {
		char d[64];

		snprintf(d, sizeof(d), "%s/new", wf_spool_qdir(p));
		if ((D.wd[p - 1] = wf_spool_watch(D.ifd, home, d,
		    NEW_EVENTS)) == -1) {
			wf_log_warn("inotify %s/%s: %s", home, d,
			    strerror(errno));
			return EX_OSERR;
		}
	}
	if ((D.wd_ctl = wf_spool_watch(D.ifd, home, "ctl/new",
	    NEW_EVENTS)) == -1) {
		wf_log_warn("inotify %s/ctl/new: %s", home, strerror(errno));
		return EX_OSERR;
	}
	recover();
	scan_deferred();
	if (rebuild_index() == -1) {
		wf_log_warn("%s: cannot scan the queue", home);
		return EX_OSERR;
	}
	ctl_scan();
	commit_turn();
	wf_sd_notify("READY=1");
	wf_log_info("ready: %s, %zu waiting", home,
	    wf_sched_count(D.sched, WF_SCHED_UNKNOWN));

	for (;;) {
		struct pollfd pfd[2 + 2 * MAX_RUNNING];
		int nfd = 0, timeout, reload = 0;

		dispatch();
		spares_fill();
		arm();
		/* A worker just armed leaves its place to a new spare, which
		 * follows it, now: while the model still has most of the
		 * current request before it (no event would come round
		 * before the holder's release). */
		spares_fill();
		rooms_fill();
		timeout = timers();
		commit_turn();
		update_status();
		if (D.draining && D.nrunning == 0 && !spares_alive() &&
		    !rooms_alive()) {
			/* Records held back get the drain's time too. */
			if (D.npend == 0)
				break;
			if (wf_clock_mono_ms() - D.drain_started >
			    DRAIN_SECS * 1000) {
				wf_log_warn("stopping with %zu records unwritten: "
				    "their jobs stay in active/ for the next "
				    "start", D.npend);
				break;
			}
		}
		if (D.pump_more)
			timeout = 0;
		pfd[nfd++] = (struct pollfd){ D.sfd, POLLIN, 0 };
		pfd[nfd++] = (struct pollfd){ D.ifd, POLLIN, 0 };
		for (int i = 0; i < D.nrunning; i++) {
			/* An armed worker's output waits in its pipe until
			 * its log is opened. */
			if (D.running[i]->outfd != -1 && !D.running[i]->armed)
				pfd[nfd++] = (struct pollfd){
					D.running[i]->outfd, POLLIN, 0 };
			if (D.running[i]->relfd != -1)
				pfd[nfd++] = (struct pollfd){
					D.running[i]->relfd, POLLIN, 0 };
		}
		if (poll(pfd, nfd, timeout) == -1 && errno != EINTR) {
			wf_log_warn("poll: %s", strerror(errno));
			continue;
		}
		for (int k = 2; k < nfd; k++) {
			if (pfd[k].revents == 0)
				continue;
			for (int i = 0; i < D.nrunning; i++) {
				struct run *r = D.running[i];

				if (r->relfd == pfd[k].fd) {
					released(r);
					break;
				}
				if (r->outfd != pfd[k].fd)
					continue;
				if (wf_output_pump(&r->out, r->outfd) != 1) {
					close(r->outfd);
					r->outfd = -1;
				}
				break;
			}
		}
		if (pfd[1].revents)
			read_inotify();
		if (pfd[0].revents)
			read_signals(&reload);
		if (reload)
			reload_config();
	}
	commit_turn();
	wf_log_info("stopped");
	return 0;
}
