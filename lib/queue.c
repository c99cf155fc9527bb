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
#include "queue.h"

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
		j->status = WF_JS_RUNNING;
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
