/*
 * wf queue: look at the job spool and ask wf-dispatch to change it.  Reads
 * go to the directories, which are the truth; cancel and retry are
 * requests through ctl/ (wf-dispatch alone moves job files); purge only
 * deletes terminal records.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "home.h"
#include "job.h"
#include "log.h"
#include "queue.h"
#include "sched.h"
#include "pipeline.h"
#include "sandbox.h"
#include "spool.h"
#include "worktree.h"
#include "wf.h"

#define REQUEST_WAIT_MS 10000

static const char queue_usage[] =
    "usage: wf queue status [--json]\n"
    "       wf queue list [--status S] [--json]\n"
    "       wf queue show ID [--json]\n"
    "       wf queue cancel ID\n"
    "       wf queue retry ID\n"
    "       wf queue wait ID [--timeout SECS]\n"
    "       wf queue purge --older-than DURATION [--dry-run]\n"
    "status: jobs by priority, lane and status; running jobs with pid and\n"
    "  age.  list: one line a job (S: pending, running, completed, failed,\n"
    "  timeout, cancelled; --json: one array of the records).  show: the whole record; a waiting job's\n"
    "  position in its lane.  cancel: a waiting or running job (its\n"
    "  process group is killed).  retry: a failed, timed-out or cancelled\n"
    "  job back to its queue.  wait: until the job ends; exit 0 completed,\n"
    "  1 failed, 124 timeout, 125 cancelled.  purge: delete terminal\n"
    "  records and outputs, delivered events and applied reports older\n"
    "  than DURATION (90s, 15m, 24h, 7d); never dead deliveries.\n"
    "ID: a job's id, or a unique prefix of one (an ambiguous prefix is an\n"
    "error that names the jobs it matches).\n";

static int root = -1;

static int
open_root(void)
{
	const char *home = wf_home_dir();

	if ((root = wf_spool_attach(home)) == -1)
		return -1;
	return 0;
}

/* Parse "[ID] [--json] [--status S] ..." the same way for every verb. */
struct qopts {
	int json, dry_run;
	const char *status, *older, *id;
	long long timeout;
	int want_id;
	char full[WF_NAME_MAX + 1]; /* the id a unique prefix stands for */
};

static int
parse_opts(int argc, char *argv[], struct qopts *o, int want_id)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "status", required_argument, NULL, 's' },
		{ "older-than", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *errstr;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "js:o:nt:h", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'j':
			o->json = 1;
			break;
		case 's':
			if (wf_job_status_parse(optarg) < 0) {
				wf_log_warn("--status: '%.40s' is not a status",
				    optarg);
				return EX_USAGE;
			}
			o->status = optarg;
			break;
		case 'o':
			o->older = optarg;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 't':
			o->timeout = strtonum(optarg, 0, 86400 * 365, &errstr);
			if (errstr != NULL) {
				wf_log_warn("--timeout: '%.40s' is %s", optarg,
				    errstr);
				return EX_USAGE;
			}
			break;
		case 'h':
			fputs(queue_usage, stdout);
			exit(0);
		default:
			fputs(queue_usage, stderr);
			return EX_USAGE;
		}
	}
	if (want_id) {
		if (argc - optind != 1) {
			fputs(queue_usage, stderr);
			return EX_USAGE;
		}
		o->id = argv[optind];
		if (!wf_spool_name_ok(o->id)) {
			wf_log_warn("%.80s: not a job id", o->id);
			return EX_USAGE;
		}
		o->want_id = 1;
	} else if (argc != optind) {
		fputs(queue_usage, stderr);
		return EX_USAGE;
	}
	return 0;
}

/* open_root, then the job id from o->id, which may be a unique prefix.
 * 0, or an exit code after saying why. */
static int
open_root_id(struct qopts *o)
{
	char err[512];

	if (open_root() == -1)
		return EX_CONFIG;
	if (!o->want_id)
		return 0;
	if (wf_queue_resolve(root, o->id, o->full, sizeof(o->full), err,
	    sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return errno == ENOENT ? EX_NOINPUT : EX_USAGE;
	}
	o->id = o->full;
	return 0;
}

static int
locate(const char *id, struct wf_jobref *ref)
{
	if (wf_queue_locate(root, id, ref) == -1) {
		wf_log_warn("%s: no such job", id);
		return -1;
	}
	return 0;
}

/* A record's status, derived from where it is. */
static int
load(const struct wf_jobref *ref, struct wf_job *j)
{
	char err[512];

	if (wf_queue_load(root, ref, j, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return -1;
	}
	return 0;
}

static void
print_record(const struct wf_jobref *ref, struct wf_job *j, int json)
{
	struct wf_config cfg;
	char err[512], *s;
	cJSON *o;

	wf_config_defaults(&cfg);
	if (wf_config_read(&cfg, wf_home_config(NULL), err, sizeof(err)) == -1)
		wf_log_warn("%s (using the defaults)", err);
	if ((o = wf_queue_record(root, ref, j, cfg.aging)) == NULL)
		return;
	if (json) {
		s = cJSON_PrintUnformatted(o);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else {
		const cJSON *it;

		cJSON_ArrayForEach(it, o) {
			if (cJSON_IsString(it))
				printf("%-14s %s\n", it->string, it->valuestring);
			else if (cJSON_IsNull(it))
				continue;
			else if ((s = cJSON_PrintUnformatted(it)) != NULL) {
				printf("%-14s %s\n", it->string, s);
				free(s);
			}
		}
	}
	cJSON_Delete(o);
}

static int
q_show(int argc, char *argv[])
{
	struct qopts o;
	struct wf_jobref ref;
	struct wf_job j;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 1)) != 0)
		return rc;
	if ((rc = open_root_id(&o)) != 0)
		return rc;
	if (locate(o.id, &ref) == -1)
		return EX_NOINPUT;
	if (load(&ref, &j) == -1)
		return EX_DATAERR;
	print_record(&ref, &j, o.json);
	wf_job_free(&j);
	return 0;
}

static void
summary(const struct wf_job *j, char *buf, size_t len)
{
	const char **argv = wf_job_argv(j);
	size_t n = 0;

	buf[0] = '\0';
	if (argv == NULL)
		return;
	for (int i = 0; argv[i] != NULL && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? " " : "",
		    argv[i]);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	free(argv);
}

static int
q_list(int argc, char *argv[])
{
	struct qopts o;
	struct wf_job *jobs;
	char iso[WF_ISO_LEN], what[48];
	size_t n;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 0)) != 0)
		return rc;
	if (open_root() == -1)
		return EX_CONFIG;
	/* The records sort by creation: the order people enqueued them. */
	if (wf_queue_collect(root, o.status, &jobs, &n) == -1) {
		wf_log_warn("list: %s", strerror(errno));
		return EX_IOERR;
	}
	if (!o.json && n > 0)
		printf("%-44s %-9s %-8s %-7s %-12s %s\n", "ID", "STATUS",
		    "PRIORITY", "LANE", "TYPE", "CREATED / COMMAND");
	if (o.json) {
		cJSON *arr = cJSON_CreateArray(), *it;

		for (size_t i = 0; arr != NULL && i < n; i++)
			if ((it = wf_job_to_cjson(&jobs[i])) != NULL)
				cJSON_AddItemToArray(arr, it);
		if (arr != NULL)
			cli_json(arr);
		cJSON_Delete(arr);
	}
	for (size_t i = 0; !o.json && i < n; i++) {
		struct wf_job *j = &jobs[i];

		summary(j, what, sizeof(what));
		printf("%-44s %-9s %-8s %-7s %-12s %s %s\n", j->id,
		    wf_job_status_name(j->status),
		    wf_job_prio_name(j->priority), j->lane,
		    wf_job_type_name(j->type),
		    wf_clock_iso(j->created_at, iso, sizeof(iso)), what);
	}
	wf_queue_collect_free(jobs, n);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static long
count_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/* Whether agents run in the sandbox, never silently not. */
static void
sandbox_say(cJSON *out)
{
	struct wf_config c;
	char err[512], note[700];

	if (wf_config_read(&c, wf_home_config(NULL), err, sizeof(err)) == -1) {
		snprintf(note, sizeof(note), "unknown: %s", err);
		cJSON_AddStringToObject(out, "sandbox", "unknown");
		cJSON_AddStringToObject(out, "sandbox_note", note);
		return;
	}
	wf_sandbox_status(&c.sandbox, out);
}

static int
q_status(int argc, char *argv[])
{
	struct qopts o;
	cJSON *out;
	const cJSON *pr, *st, *it;
	char *txt;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 0)) != 0)
		return rc;
	if (open_root() == -1)
		return EX_CONFIG;
	if ((out = wf_queue_status(root)) == NULL) {
		wf_log_warn("status: %s", strerror(errno));
		return EX_IOERR;
	}
	sandbox_say(out);
	if (o.json) {
		txt = cJSON_PrintUnformatted(out);
		if (txt != NULL)
			printf("%s\n", txt);
		free(txt);
		cJSON_Delete(out);
		return 0;
	}
	pr = cJSON_GetObjectItem(out, "waiting_by_priority");
	st = cJSON_GetObjectItem(out, "by_status");
	printf("waiting:");
	for (int p = 1; p <= WF_NPRIO; p++)
		printf(" %s %ld%s", wf_job_prio_name(p),
		    count_of(pr, wf_job_prio_name(p)), p < WF_NPRIO ? "," : "\n");
	printf("status: ");
	for (int i = 0; i < WF_JS_COUNT; i++)
		printf(" %s %ld%s", wf_job_status_name(i),
		    count_of(st, wf_job_status_name(i)),
		    i < WF_JS_COUNT - 1 ? "," : "\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(out, "by_lane"))
		printf("lane %-10s %ld waiting, %ld running\n", it->string,
		    count_of(it, "waiting"), count_of(it, "running"));
	printf("sandbox: %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(out,
	    "sandbox_note")));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(out, "running")) {
		printf("running %s  %s  pid %d  %ds\n",
		    cJSON_GetObjectItem(it, "id")->valuestring,
		    cJSON_GetObjectItem(it, "lane")->valuestring,
		    (int)count_of(it, "pid"), (int)count_of(it, "age_s"));
	}
	cJSON_Delete(out);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* Wait for a requested change to show in the tree. */
static int
await(const char *id, int (*done)(const struct wf_jobref *), int timeout_ms)
{
	struct wf_jobref ref;
	int64_t until = wf_clock_mono_ms() + timeout_ms;

	for (;;) {
		int left = (int)(until - wf_clock_mono_ms());

		if (wf_queue_locate(root, id, &ref) == 0 && done(&ref))
			return 1;
		if (left <= 0)
			return 0;
		/* A terminal move wakes the wait; a requeue is seen within
		 * the slice. */
		if (wf_queue_wait(root, id, left < 200 ? left : 200, &ref) == 1 &&
		    done(&ref))
			return 1;
	}
}

static int
is_terminal(const struct wf_jobref *r)
{
	return r->where >= WF_IN_DONE;
}

static int
is_waiting(const struct wf_jobref *r)
{
	return r->where == WF_IN_QUEUE || r->where == WF_IN_ACTIVE ||
	    r->where == WF_IN_DEFERRED || r->where == WF_IN_DONE;
}

/* The request through lib/queue, which checks it as wf-httpd does. */
static int
ask(const char *op, const char *id)
{
	char err[512];

	if (wf_queue_ask(root, op, id, err, sizeof(err)) == 0)
		return 0;
	wf_log_warn("%s", err);
	return errno == ENOENT ? EX_NOINPUT :
	    errno == EBUSY ? EX_DATAERR : EX_IOERR;
}

static int
q_cancel(int argc, char *argv[])
{
	struct qopts o;
	struct wf_jobref ref;
	struct wf_job j;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 1)) != 0)
		return rc;
	if ((rc = open_root_id(&o)) != 0)
		return rc;
	if ((rc = ask("cancel", o.id)) != 0)
		return rc;
	if (!await(o.id, is_terminal, REQUEST_WAIT_MS)) {
		wf_log_warn("%s: cancel requested; wf-dispatch has not applied "
		    "it yet (is it running?) and will when it runs", o.id);
		return EX_TEMPFAIL;
	}
	if (wf_queue_locate(root, o.id, &ref) == 0 && load(&ref, &j) == 0) {
		printf("%s %s\n", o.id, wf_job_status_name(j.status));
		rc = j.status == WF_JS_CANCELLED ? 0 : 1;
		wf_job_free(&j);
		return rc;
	}
	return EX_IOERR;
}

static int
q_retry(int argc, char *argv[])
{
	struct qopts o;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 1)) != 0)
		return rc;
	if ((rc = open_root_id(&o)) != 0)
		return rc;
	if ((rc = ask("retry", o.id)) != 0)
		return rc;
	if (!await(o.id, is_waiting, REQUEST_WAIT_MS)) {
		wf_log_warn("%s: retry requested; wf-dispatch has not applied "
		    "it yet (is it running?) and will when it runs", o.id);
		return EX_TEMPFAIL;
	}
	printf("%s requeued\n", o.id);
	return 0;
}

static int
q_wait(int argc, char *argv[])
{
	struct qopts o;
	struct wf_jobref ref;
	struct wf_job j;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 1)) != 0)
		return rc;
	if ((rc = open_root_id(&o)) != 0)
		return rc;
	if (locate(o.id, &ref) == -1)
		return EX_NOINPUT;
	rc = wf_queue_wait(root, o.id,
	    o.timeout < 0 ? -1 : (int)(o.timeout * 1000), &ref);
	if (rc == 0) {
		wf_log_warn("%s: still not ended after %lld s", o.id, o.timeout);
		return EX_TEMPFAIL;
	}
	if (rc == -1) {
		wf_log_warn("%s: wait: %s", o.id, strerror(errno));
		return EX_IOERR;
	}
	if (load(&ref, &j) == -1)
		return EX_DATAERR;
	printf("%s %s\n", o.id, wf_job_status_name(j.status));
	rc = wf_queue_exit_code(j.status);
	wf_job_free(&j);
	return rc;
}

/* Remove the files of dir older than cutoff (a job's output log with its
 * record); their number, or -1. */
static long
purge_dir(const char *dir, time_t cutoff, int dry_run, int logs)
{
	struct dirent *de;
	long n = 0;
	DIR *d;
	int fd;

	fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		wf_log_warn("%s: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char log[NAME_MAX + 16];

		if (de->d_name[0] == '.' ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_mtime >= cutoff)
			continue;
		n++;
		if (dry_run) {
			printf("%s/%s\n", dir, de->d_name);
			continue;
		}
		/* The record last: a crash leaves a record, not an orphan
		 * log. */
		if (logs && wf_spool_name_ok(de->d_name)) {
			snprintf(log, sizeof(log), "output/%s.log", de->d_name);
			unlinkat(root, log, 0);
		}
		if (unlinkat(fd, de->d_name, 0) == -1)
			wf_log_warn("%s/%s: %s", dir, de->d_name,
			    strerror(errno));
	}
	closedir(d);
	return n;
}

static struct wf_config purge_cfg;

static int
run_gone(int64_t run_id, void *arg)
{
	(void)arg;
	return wf_pipeline_run_ended(root, run_id);
}

/*
 * purge: the seed's cleanup.  Terminal jobs with their output, events
 * wf-notify has delivered (events/cur) and reports wf-gate has applied
 * (reports/cur); never a job still waiting or running, never a dead
 * delivery (a human redelivers those), never the audit trail.
 */
static int
q_purge(int argc, char *argv[])
{
	static const struct {
		const char *dir, *what;
		int logs;
	} dirs[] = {
		{ "done", "job", 1 }, { "failed", "job", 1 },
		{ "cancelled", "job", 1 }, { "events/cur", "event", 0 },
		{ "reports/cur", "report", 0 },
	};
	long n[3] = { 0, 0, 0 }, k;
	char err[512];
	struct qopts o;
	int64_t secs;
	time_t cutoff;
	int rc;

	if ((rc = parse_opts(argc, argv, &o, 0)) != 0)
		return rc;
	if (o.older == NULL || wf_clock_parse_duration(o.older, &secs) == -1) {
		wf_log_warn("purge needs --older-than DURATION (e.g. 24h, 7d)");
		return EX_USAGE;
	}
	if (open_root() == -1)
		return EX_CONFIG;
	cutoff = time(NULL) - (time_t)secs;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((k = purge_dir(dirs[i].dir, cutoff, o.dry_run,
		    dirs[i].logs)) == -1)
			return EX_IOERR;
		n[i < 3 ? 0 : i - 2] += k;
	}
	printf("%s %ld job%s, %ld event%s, %ld report%s older than %s\n",
	    o.dry_run ? "would purge" : "purged", n[0], n[0] == 1 ? "" : "s",
	    n[1], n[1] == 1 ? "" : "s", n[2], n[2] == 1 ? "" : "s", o.older);
	/* The worktrees of runs that ended or are gone, whatever their age. */
	if (wf_config_read(&purge_cfg, wf_home_config(NULL), err,
	    sizeof(err)) == -1)
		wf_log_warn("worktrees left as they are: %s", err);
	else if (!o.dry_run && (k = wf_worktree_gc(purge_cfg.pipeline.workdir,
	    run_gone, NULL)) > 0)
		printf("removed %ld worktree%s of runs gone\n", k,
		    k == 1 ? "" : "s");
	return 0;
}

int
cmd_queue(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int (*fn)(int, char *[]);
	} verbs[] = {
		{ "status", q_status }, { "list", q_list }, { "show", q_show },
		{ "cancel", q_cancel }, { "retry", q_retry }, { "wait", q_wait },
		{ "purge", q_purge },
	};

	if (argc < 2) {
		fputs(queue_usage, stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(queue_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	wf_log_warn("queue %.40s: unknown verb", argv[1]);
	fputs(queue_usage, stderr);
	return EX_USAGE;
}
