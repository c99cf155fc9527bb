/*
 * queue: the client side of the job spool.  Reads go straight to the
 * directories, which are the truth; changes other than enqueue are
 * requests dropped into ctl/ for wf-dispatch, the only mover of job files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "queue.h"
#include "sched.h"

static const char *const where_dirs[] = {
	[WF_IN_NONE] = NULL,
	[WF_IN_QUEUE] = NULL,
	[WF_IN_ACTIVE] = "active",
	[WF_IN_DEFERRED] = "deferred",
	[WF_IN_DONE] = "done",
	[WF_IN_FAILED] = "failed",
	[WF_IN_CANCELLED] = "cancelled",
};

const char *
wf_queue_dirname(enum wf_where w)
{
	return where_dirs[w];
}

static int
ref_set(struct wf_jobref *ref, enum wf_where w, int prio, const char *name)
{
	int n;

	ref->where = w;
	ref->prio = prio;
	strlcpy(ref->name, name, sizeof(ref->name));
	if (w == WF_IN_QUEUE)
		n = snprintf(ref->path, sizeof(ref->path), "%s/new/%s",
		    wf_spool_qdir(prio), name);
	else
		n = snprintf(ref->path, sizeof(ref->path), "%s/%s",
		    where_dirs[w], name);
	return n < 0 || (size_t)n >= sizeof(ref->path) ? -1 : 0;
}

int
wf_queue_locate(int root, const char *id, struct wf_jobref *ref)
{
	/* Terminal directories first: a job sits in active/ and done/ at
	 * once until its active/ file is dropped, and then it is done.  A
	 * job that moves while we look is found by the second pass. */
	static const enum wf_where order[] = {
		WF_IN_DONE, WF_IN_FAILED, WF_IN_CANCELLED, WF_IN_ACTIVE,
		WF_IN_DEFERRED, WF_IN_QUEUE,
	};
	struct stat st;

	if (!wf_spool_name_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			int plo = 1, phi = 1;

			if (order[i] == WF_IN_QUEUE)
				phi = WF_NPRIO;
			for (int p = plo; p <= phi; p++) {
				if (ref_set(ref, order[i], p, id) == -1)
					continue;
				if (fstatat(root, ref->path, &st,
				    AT_SYMLINK_NOFOLLOW) == 0)
					return 0;
			}
		}
	ref->where = WF_IN_NONE;
	errno = ENOENT;
	return -1;
}

/* A directory's job names that start with prefix, into a deduplicated
 * list of at most max (a count past it goes on in *n). */
static void
prefix_scan(int root, const char *dir, const char *prefix,
    char (*match)[WF_NAME_MAX + 1], size_t max, size_t *n)
{
	size_t pl = strlen(prefix);
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t len = strlen(nm), k;

		if (nm[0] == '.' || strncmp(nm, prefix, pl) != 0 ||
		    len > WF_NAME_MAX)
			continue;
		/* active/ holds ID.pid and ID.result beside ID. */
		if ((len > 4 && strcmp(nm + len - 4, ".pid") == 0) ||
		    (len > 7 && strcmp(nm + len - 7, ".result") == 0))
			continue;
		for (k = 0; k < *n && k < max; k++)
			if (strcmp(match[k], nm) == 0)
				break;
		if (k < *n && k < max)
			continue;
		if (*n < max)
			strlcpy(match[*n], nm, sizeof(match[0]));
		(*n)++;
	}
	closedir(d);
}

int
wf_queue_resolve(int root, const char *prefix, char *id, size_t idlen,
    char *err, size_t errlen)
{
	static const enum wf_where dirs[] = {
		WF_IN_DONE, WF_IN_FAILED, WF_IN_CANCELLED, WF_IN_ACTIVE,
		WF_IN_DEFERRED,
	};
	char match[4][WF_NAME_MAX + 1], dir[64];
	struct wf_jobref ref;
	size_t n = 0, off;

	if (!wf_spool_name_ok(prefix)) {
		snprintf(err, errlen, "%.80s: not a job id", prefix);
		errno = EINVAL;
		return -1;
	}
	if (wf_queue_locate(root, prefix, &ref) == 0) {
		if (strlcpy(id, prefix, idlen) >= idlen) {
			snprintf(err, errlen, "%.80s: too long", prefix);
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		prefix_scan(root, where_dirs[dirs[i]], prefix, match, 4, &n);
	for (int p = 1; p <= WF_NPRIO; p++) {
		snprintf(dir, sizeof(dir), "%s/new", wf_spool_qdir(p));
		prefix_scan(root, dir, prefix, match, 4, &n);
	}
	if (n == 1) {
		strlcpy(id, match[0], idlen);
		return 0;
	}
	if (n == 0) {
		snprintf(err, errlen, "%.80s: no such job", prefix);
		errno = ENOENT;
		return -1;
	}
	off = (size_t)snprintf(err, errlen, "%.80s: ambiguous, %zu jobs "
	    "start so:", prefix, n);
	for (size_t i = 0; i < n && i < 3 && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, "%s %s",
		    i ? "," : "", match[i]);
	if (n > 3 && off < errlen)
		snprintf(err + off, errlen - off, ", ...");
	errno = EEXIST;
	return -1;
}

int
wf_queue_started(int root, const char *id)
{
	char path[WF_NAME_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "active/%s.pid", id);
	return fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
wf_queue_load(int root, const struct wf_jobref *ref, struct wf_job *j,
    char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (wf_spool_read(root, ref->path, WF_JOB_MAX, &buf, &len) == -1) {
		snprintf(err, errlen, "%s: %s", ref->path, strerror(errno));
		wf_job_init(j);
		return -1;
	}
	rc = wf_job_parse(j, buf, len, err, errlen);
	free(buf);
	if (rc == -1)
		return -1;
	strlcpy(j->id, ref->name, sizeof(j->id));
	switch (ref->where) {
	case WF_IN_QUEUE:
	case WF_IN_DEFERRED:
		j->status = WF_JS_PENDING;
		break;
	case WF_IN_ACTIVE:
		/* Claimed, and started only once its pid file is written: a
		 * job armed on a chained lane waits for its turn there. */
		j->status = wf_queue_started(root, j->id) ? WF_JS_RUNNING :
		    WF_JS_PENDING;
		break;
	case WF_IN_DONE:
		j->status = WF_JS_COMPLETED;
		break;
	case WF_IN_FAILED:
		if (j->status != WF_JS_TIMEOUT)
			j->status = WF_JS_FAILED;
		break;
	case WF_IN_CANCELLED:
		j->status = WF_JS_CANCELLED;
		break;
	default:
		break;
	}
	return 0;
}

static int
walk_dir(int root, enum wf_where w, int prio, wf_queue_visit_fn fn,
    void *arg)
{
	char dpath[64];
	struct wf_jobref ref;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (w == WF_IN_QUEUE)
		snprintf(dpath, sizeof(dpath), "%s/new", wf_spool_qdir(prio));
	else
		strlcpy(dpath, where_dirs[w], sizeof(dpath));
	fd = openat(root, dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		/* active/ also holds <id>.result and <id>.pid files. */
		if ((n > 7 && strcmp(de->d_name + n - 7, ".result") == 0) ||
		    (n > 4 && strcmp(de->d_name + n - 4, ".pid") == 0))
			continue;
		if (ref_set(&ref, w, prio, de->d_name) == -1)
			continue;
		rc = fn(&ref, arg);
	}
	closedir(d);
	return rc;
}

int
wf_queue_walk(int root, wf_queue_visit_fn fn, void *arg)
{
	int rc;

	for (int p = 1; p <= WF_NPRIO; p++)
		if ((rc = walk_dir(root, WF_IN_QUEUE, p, fn, arg)) != 0)
			return rc;
	for (int w = WF_IN_ACTIVE; w <= WF_IN_CANCELLED; w++)
		if ((rc = walk_dir(root, (enum wf_where)w, 0, fn, arg)) != 0)
			return rc;
	return 0;
}

int
wf_queue_request(int root, const char *op, const char *id)
{
	char name[WF_NAME_MAX + 1];
	cJSON *o;
	char *s;
	int rc = -1;

	if (!wf_spool_name_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if (wf_spool_name(name, sizeof(name)) == -1)
		return -1;
	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	if (cJSON_AddStringToObject(o, "op", op) == NULL ||
	    cJSON_AddStringToObject(o, "id", id) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		errno = ENOMEM;
		return -1;
	}
	rc = wf_spool_write(root, "ctl/tmp", "ctl/new", name, s, strlen(s),
	    WF_SYNC_FILE | WF_SYNC_DIR);
	free(s);
	cJSON_Delete(o);
	return rc;
}

int
wf_queue_wait(int root, const char *id, int timeout_ms, struct wf_jobref *ref)
{
	static const char *const dirs[] = { "done", "failed", "cancelled" };
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_MAX];
	int64_t deadline = timeout_ms < 0 ? -1 : wf_clock_mono_ms() + timeout_ms;
	int ifd, rc = -1;

	if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		return -1;
	/* inotify wants paths; /proc/self/fd names the root we hold. */
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", root,
		    dirs[i]);
		if (inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE) == -1)
			goto out;
	}
	for (;;) {
		struct pollfd pfd = { ifd, POLLIN, 0 };
		int wait_ms = -1;

		/* Watches first, then look: nothing can land unseen. */
		if (wf_queue_locate(root, id, ref) == 0 &&
		    ref->where >= WF_IN_DONE) {
			rc = 1;
			goto out;
		}
		if (deadline >= 0) {
			int64_t left = deadline - wf_clock_mono_ms();

			if (left <= 0) {
				rc = 0;
				goto out;
			}
			wait_ms = (int)left;
		}
		if (poll(&pfd, 1, wait_ms) == -1 && errno != EINTR)
			goto out;
		while (read(ifd, buf, sizeof(buf)) > 0)
			; /* a hint only; the directories are the truth */
	}
out:
	close(ifd);
	return rc;
}

int
wf_queue_submit(int root, struct wf_job *j, int sync)
{
	char tmpd[64], newd[64], *s;
	int rc;

	if (j->id[0] == '\0' && wf_spool_name(j->id, sizeof(j->id)) == -1)
		return -1;
	if (j->created_at == 0)
		j->created_at = wf_clock_wall_ms();
	j->status = WF_JS_PENDING;
	if ((s = wf_job_format(j)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(tmpd, sizeof(tmpd), "%s/tmp", wf_spool_qdir(j->priority));
	snprintf(newd, sizeof(newd), "%s/new", wf_spool_qdir(j->priority));
	rc = wf_spool_write(root, tmpd, newd, j->id, s, strlen(s),
	    sync ? WF_SYNC_FILE | WF_SYNC_DIR : 0);
	free(s);
	return rc;
}

int
wf_queue_exit_code(enum wf_jstatus s)
{
	switch (s) {
	case WF_JS_COMPLETED:
		return 0;
	case WF_JS_TIMEOUT:
		return 124;
	case WF_JS_CANCELLED:
		return 125;
	default:
		return 1;
	}
}

/*
 * What wf queue status, list and show read (and wf-httpd's /api/queue),
 * over the directories.
 */

struct pidinfo {
	int pid;
	int64_t started; /* wall ms */
};

/* active/ID.pid: "PID ISO-TIME", written by wf-dispatch at the start. */
static int
read_pid(int root, const char *id, struct pidinfo *pi)
{
	char path[WF_NAME_MAX + 16], iso[WF_ISO_LEN], *buf;
	size_t len;
	int rc = -1;

	snprintf(path, sizeof(path), "active/%s.pid", id);
	if (wf_spool_read(root, path, 256, &buf, &len) == -1)
		return -1;
	if (sscanf(buf, "%d %31s", &pi->pid, iso) == 2 &&
	    wf_clock_parse_iso(iso, &pi->started) == 0)
		rc = 0;
	free(buf);
	return rc;
}

/* Load a job for a reader: a file that does not parse is skipped with a
 * warning, never fatal. */
static int
load_quiet(int root, const struct wf_jobref *ref, struct wf_job *j)
{
	char err[512];

	if (wf_queue_load(root, ref, j, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return -1;
	}
	return 0;
}

struct statctx {
	int root;
	long prio[WF_NPRIO + 1];
	long status[WF_JS_COUNT];
	char lanes[16][WF_LANE_MAX];
	long lane_wait[16], lane_run[16];
	int nlanes;
	cJSON *running;
};

static int
lane_slot(struct statctx *s, const char *lane)
{
	for (int i = 0; i < s->nlanes; i++)
		if (strcmp(s->lanes[i], lane) == 0)
			return i;
	if (s->nlanes == 16)
		return 15;
	strlcpy(s->lanes[s->nlanes], lane, WF_LANE_MAX);
	return s->nlanes++;
}

/* What a running job runs, for a glance: a command job's argv joined by
 * spaces (cut at WF_RUNNING_CMD_MAX bytes, "command_cut" then true), an
 * agent job's run and role. */
static void
running_what(const struct wf_job *j, cJSON *r)
{
	const cJSON *argv, *it, *role;
	char buf[WF_RUNNING_CMD_MAX + 1] = "";
	size_t n = 0;
	int cut = 0;

	if (j->run_id > 0)
		cJSON_AddNumberToObject(r, "run_id", (double)j->run_id);
	role = cJSON_GetObjectItemCaseSensitive(j->request_data, "role");
	if (cJSON_IsString(role))
		cJSON_AddStringToObject(r, "role", role->valuestring);
	argv = cJSON_GetObjectItemCaseSensitive(j->request_data, "argv");
	if (j->type != WF_JT_COMMAND || !cJSON_IsArray(argv))
		return;
	cJSON_ArrayForEach(it, argv) {
		if (!cJSON_IsString(it))
			continue;
		if (n > 0)
			n = strlcat(buf, " ", sizeof(buf));
		n = strlcat(buf, it->valuestring, sizeof(buf));
		if (n >= sizeof(buf)) {
			cut = 1;
			break;
		}
	}
	if (cut) {
		/* not in the middle of a UTF-8 sequence: drop a last one
		 * that is short of its bytes */
		size_t m;
		unsigned char c;

		n = sizeof(buf) - 1;
		for (m = n; m > 0 && ((unsigned char)buf[m - 1] & 0xc0) == 0x80;)
			m--;
		if (m > 0 && (c = (unsigned char)buf[m - 1]) >= 0xc0 &&
		    n - (m - 1) < (size_t)(c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2))
			buf[m - 1] = '\0';
	}
	cJSON_AddStringToObject(r, "command", buf);
	if (cut)
		cJSON_AddBoolToObject(r, "command_cut", 1);
}

static int
stat_visit(const struct wf_jobref *ref, void *arg)
{
	struct statctx *s = arg;
	struct wf_job j;
	struct pidinfo pi;
	int li;

	if (ref->where == WF_IN_DONE) {
		/* Completed records are counted, not read: there may be many. */
		s->status[WF_JS_COMPLETED]++;
		return 0;
	}
	if (load_quiet(s->root, ref, &j) == -1)
		return 0;
	s->status[j.status]++;
	li = lane_slot(s, j.lane);
	if (ref->where == WF_IN_QUEUE || ref->where == WF_IN_DEFERRED ||
	    j.status == WF_JS_PENDING) {
		s->prio[j.priority]++;
		s->lane_wait[li]++;
	}
	if (ref->where == WF_IN_ACTIVE && j.status == WF_JS_RUNNING) {
		cJSON *r = cJSON_CreateObject();

		s->lane_run[li]++;
		cJSON_AddStringToObject(r, "id", j.id);
		cJSON_AddStringToObject(r, "lane", j.lane);
		cJSON_AddStringToObject(r, "job_type", wf_job_type_name(j.type));
		running_what(&j, r);
		if (read_pid(s->root, j.id, &pi) == 0) {
			cJSON_AddNumberToObject(r, "pid", pi.pid);
			cJSON_AddNumberToObject(r, "age_s",
			    (double)((wf_clock_wall_ms() - pi.started) / 1000));
		}
		cJSON_AddItemToArray(s->running, r);
	}
	wf_job_free(&j);
	return 0;
}

cJSON *
wf_queue_status(int root)
{
	struct statctx s;
	cJSON *out, *pr, *st, *ln;

	memset(&s, 0, sizeof(s));
	s.root = root;
	if ((s.running = cJSON_CreateArray()) == NULL)
		return NULL;
	if (wf_queue_walk(root, stat_visit, &s) != 0) {
		cJSON_Delete(s.running);
		return NULL;
	}
	out = cJSON_CreateObject();
	pr = cJSON_AddObjectToObject(out, "waiting_by_priority");
	for (int p = 1; p <= WF_NPRIO; p++)
		cJSON_AddNumberToObject(pr, wf_job_prio_name(p), s.prio[p]);
	st = cJSON_AddObjectToObject(out, "by_status");
	for (int i = 0; i < WF_JS_COUNT; i++)
		cJSON_AddNumberToObject(st, wf_job_status_name(i), s.status[i]);
	ln = cJSON_AddObjectToObject(out, "by_lane");
	for (int i = 0; i < s.nlanes; i++) {
		cJSON *l = cJSON_AddObjectToObject(ln, s.lanes[i]);

		cJSON_AddNumberToObject(l, "waiting", s.lane_wait[i]);
		cJSON_AddNumberToObject(l, "running", s.lane_run[i]);
	}
	cJSON_AddItemToObject(out, "running", s.running);
	return out;
}

struct listctx {
	int root;
	const char *status;
	struct wf_job *jobs;
	size_t n, cap;
};

static int
list_visit(const struct wf_jobref *ref, void *arg)
{
	struct listctx *l = arg;
	struct wf_job j;

	if (load_quiet(l->root, ref, &j) == -1)
		return 0;
	if (l->status != NULL &&
	    strcmp(wf_job_status_name(j.status), l->status) != 0) {
		wf_job_free(&j);
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *a = reallocarray(l->jobs, cap, sizeof(*l->jobs));

		if (a == NULL) {
			wf_job_free(&j);
			return -1;
		}
		l->jobs = a;
		l->cap = cap;
	}
	l->jobs[l->n++] = j;
	return 0;
}

static int
by_created(const void *a, const void *b)
{
	const struct wf_job *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
wf_queue_collect(int root, const char *status, struct wf_job **jobs,
    size_t *n)
{
	struct listctx l;

	memset(&l, 0, sizeof(l));
	l.root = root;
	l.status = status;
	*jobs = NULL;
	*n = 0;
	if (wf_queue_walk(root, list_visit, &l) != 0) {
		int e = errno;

		wf_queue_collect_free(l.jobs, l.n);
		errno = e;
		return -1;
	}
	if (l.n > 0)
		qsort(l.jobs, l.n, sizeof(*l.jobs), by_created);
	*jobs = l.jobs;
	*n = l.n;
	return 0;
}

void
wf_queue_collect_free(struct wf_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wf_job_free(&jobs[i]);
	free(jobs);
}

/*
 * A waiting job's position in its lane: the waiting jobs of that lane
 * whose aged key orders before its own, plus one.
 */
struct posctx {
	int root;
	const struct wf_job *me;
	int64_t mykey;
	int aging;
	long ahead;
};

static int64_t
key_of(const struct wf_jobref *ref, int aging)
{
	return wf_sched_key(ref->prio, wf_spool_name_time_us(ref->name), aging);
}

static int
pos_visit(const struct wf_jobref *ref, void *arg)
{
	struct posctx *p = arg;
	struct wf_job j;
	int64_t k;

	if (ref->where != WF_IN_QUEUE || strcmp(ref->name, p->me->id) == 0)
		return 0;
	k = key_of(ref, p->aging);
	if (k > p->mykey ||
	    (k == p->mykey && strcmp(ref->name, p->me->id) > 0))
		return 0;
	if (load_quiet(p->root, ref, &j) == 0) {
		if (strcmp(j.lane, p->me->lane) == 0)
			p->ahead++;
		wf_job_free(&j);
	}
	return 0;
}

cJSON *
wf_queue_record(int root, const struct wf_jobref *ref, const struct wf_job *j,
    int aging)
{
	cJSON *o = wf_job_to_cjson(j);
	struct pidinfo pi;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "path", ref->path);
	if (ref->where == WF_IN_ACTIVE && j->status == WF_JS_PENDING)
		cJSON_AddTrueToObject(o, "armed");
	if (ref->where == WF_IN_QUEUE) {
		struct posctx p = { root, j, key_of(ref, aging), aging, 0 };

		wf_queue_walk(root, pos_visit, &p);
		cJSON_AddNumberToObject(o, "position", (double)(p.ahead + 1));
	}
	if (ref->where == WF_IN_ACTIVE && read_pid(root, j->id, &pi) == 0) {
		cJSON_ReplaceItemInObjectCaseSensitive(o, "worker_pid",
		    cJSON_CreateNumber(pi.pid));
		if (cJSON_GetObjectItemCaseSensitive(o, "worker_pid") == NULL)
			cJSON_AddNumberToObject(o, "worker_pid", pi.pid);
		cJSON_AddNumberToObject(o, "age_s",
		    (double)((wf_clock_wall_ms() - pi.started) / 1000));
	}
	return o;
}

int
wf_queue_ask(int root, const char *op, const char *id, char *err,
    size_t errlen)
{
	struct wf_jobref ref;
	int e;

	if (wf_queue_locate(root, id, &ref) == -1) {
		snprintf(err, errlen, "%s: no such job", id);
		errno = ENOENT;
		return -1;
	}
	if (strcmp(op, "cancel") == 0 && ref.where >= WF_IN_DONE) {
		snprintf(err, errlen, "%s: already ended (%s); nothing to cancel",
		    id, wf_queue_dirname(ref.where));
		errno = EBUSY;
		return -1;
	}
	if (strcmp(op, "retry") == 0 && ref.where != WF_IN_FAILED &&
	    ref.where != WF_IN_CANCELLED) {
		snprintf(err, errlen, "%s: not failed, timed out or cancelled; "
		    "only those are retried", id);
		errno = EBUSY;
		return -1;
	}
	if (wf_queue_request(root, op, id) == -1) {
		e = errno;
		snprintf(err, errlen, "%s: %s: %s", id, op, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}
