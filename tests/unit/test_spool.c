/*
 * test_spool: the maildir protocol of lib/spool.c.  Unique, time-sortable
 * names (wf_spool_name), the id check (wf_spool_name_ok), the time read
 * back from a name (wf_spool_name_time_us), making and checking the tree
 * (wf_spool_init, wf_spool_check), whole-file writes and bounded reads
 * (wf_spool_write, wf_spool_read), unnamed files committed by a link
 * (wf_spool_stage, wf_spool_link), quarantine (wf_spool_quarantine) and
 * how a reader takes what a new/ directory holds (wf_spool_arrived,
 * wf_spool_scan), on a private tree made with mkdtemp and removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"

#define NNAMES 10000

struct tree {
	char home[PATH_MAX];
	int root;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
make_tmpdir(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	if (t == NULL || *t == '\0')
		t = "/tmp";
	assert_true((size_t)snprintf(buf, len, "%s/wf-test-spool.XXXXXX", t) <
	    len);
	assert_non_null(mkdtemp(buf));
}

static int
tree_setup(void **state)
{
	struct tree *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	make_tmpdir(t->home, sizeof(t->home));
	if (wf_spool_init(t->home) == -1 ||
	    (t->root = wf_spool_open(t->home)) == -1) {
		rm_tree(t->home);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
tree_teardown(void **state)
{
	struct tree *t = *state;

	close(t->root);
	rm_tree(t->home);
	free(t);
	return 0;
}

/* Entries of a directory of the tree, without "." and "..". */
static int
count_entries(int root, const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
put_file(int root, const char *path, const char *text)
{
	int fd;

	fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void
assert_file_is(int root, const char *path, const char *text)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(wf_spool_read(root, path, 4096, &buf, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_string_equal(buf, text);
	free(buf);
}

static int64_t
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_name_unique_sorted(void **state)
{
	char **names, **sorted;
	int64_t *t;

	(void)state;
	assert_non_null(names = calloc(NNAMES, sizeof(*names)));
	assert_non_null(sorted = calloc(NNAMES, sizeof(*sorted)));
	assert_non_null(t = calloc(NNAMES, sizeof(*t)));
	for (int i = 0; i < NNAMES; i++) {
		int64_t before, after;

		assert_non_null(names[i] = malloc(WF_NAME_MAX + 1));
		before = now_us();
		assert_int_equal(wf_spool_name(names[i], WF_NAME_MAX + 1), 0);
		after = now_us();
		assert_true(strlen(names[i]) <= WF_NAME_MAX);
		assert_true(wf_spool_name_ok(names[i]));
		t[i] = wf_spool_name_time_us(names[i]);
		assert_true(t[i] > 0);
		/* The time in the name is the time it was made. */
		assert_true(t[i] > before - 1000000 && t[i] < after + 1000000);
		if (i > 0) {
			assert_true(t[i] >= t[i - 1]);
			/* A later time sorts later. */
			if (t[i] > t[i - 1])
				assert_true(strcmp(names[i - 1], names[i]) < 0);
		}
		sorted[i] = names[i];
	}
	/* All distinct, and name order is time order over the whole set. */
	qsort(sorted, NNAMES, sizeof(*sorted), cmp_str);
	for (int i = 1; i < NNAMES; i++) {
		assert_true(strcmp(sorted[i - 1], sorted[i]) != 0);
		assert_true(wf_spool_name_time_us(sorted[i - 1]) <=
		    wf_spool_name_time_us(sorted[i]));
	}
	for (int i = 0; i < NNAMES; i++)
		free(names[i]);
	free(names);
	free(sorted);
	free(t);
}

static void
test_name_short_buffer(void **state)
{
	char buf[8];

	(void)state;
	errno = 0;
	assert_int_equal(wf_spool_name(buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_name_ok(void **state)
{
	static const char *const good[] = {
		"1795589301.M852664P32186Q7R3fa9", "a", "job-1_x.y", "A.b-C_9",
		"-x", "a..b",
	};
	static const char *const bad[] = {
		"", ".hidden", ".", "..", "a/b", "/a", "a b", " a", "a\n",
		"a\nb", "caf\xc3\xa9", "\xc3\xa9", "a\tb", "a:b", "a*", "a\\b",
	};
	char name[WF_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(wf_spool_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(wf_spool_name_ok(bad[i]));
	/* 64 bytes is the limit. */
	memset(name, 'x', WF_NAME_MAX);
	name[WF_NAME_MAX] = '\0';
	assert_true(wf_spool_name_ok(name));
	name[WF_NAME_MAX] = 'x';
	name[WF_NAME_MAX + 1] = '\0';
	assert_false(wf_spool_name_ok(name));
}

static void
test_name_time_us(void **state)
{
	(void)state;
	assert_int_equal(wf_spool_name_time_us("1795589301.M852664P1"),
	    INT64_C(1795589301852664));
	assert_int_equal(wf_spool_name_time_us(
	    "1795589301.M852664P32186Q7R3fa9"), INT64_C(1795589301852664));
	assert_int_equal(wf_spool_name_time_us("1795589301.M000001P1"),
	    INT64_C(1795589301000001));
	assert_int_equal(wf_spool_name_time_us("123.foo"), INT64_C(123000000));
	assert_int_equal(wf_spool_name_time_us("abc"), -1);
	assert_int_equal(wf_spool_name_time_us(""), -1);
	assert_int_equal(wf_spool_name_time_us(".M852664"), -1);
	assert_int_equal(wf_spool_name_time_us("123"), -1);
	assert_int_equal(wf_spool_name_time_us("123-M1"), -1);
}

static void
test_qdir(void **state)
{
	(void)state;
	assert_string_equal(wf_spool_qdir(1), "queue/1-critical");
	assert_string_equal(wf_spool_qdir(2), "queue/2-high");
	assert_string_equal(wf_spool_qdir(3), "queue/3-normal");
	assert_string_equal(wf_spool_qdir(4), "queue/4-low");
}

static void
check_tree(const char *home)
{
	const char *missing = NULL;
	struct stat st;
	int root;

	assert_true((root = wf_spool_open(home)) != -1);
	assert_int_equal(wf_spool_check(root, &missing), 0);
	for (int i = 0; wf_spool_dirs[i] != NULL; i++) {
		assert_int_equal(fstatat(root, wf_spool_dirs[i], &st,
		    AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	close(root);
}

static void
test_init_check(void **state)
{
	char dir[PATH_MAX], home[PATH_MAX + 16];
	const char *missing = NULL;
	mode_t old;
	int root;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	/* A permissive umask must not leak into the tree, and init must
	 * give it back. */
	old = umask(022);
	/* The mkdtemp directory itself. */
	assert_int_equal(wf_spool_init(dir), 0);
	assert_int_equal(umask(022), 022);
	check_tree(dir);
	/* Again on an existing tree: idempotent. */
	assert_int_equal(wf_spool_init(dir), 0);
	check_tree(dir);
	/* A home that does not exist yet. */
	snprintf(home, sizeof(home), "%s/home", dir);
	assert_int_equal(wf_spool_init(home), 0);
	assert_int_equal(umask(old), 022);
	check_tree(home);

	/* wf_spool_check names the first directory missing. */
	assert_true((root = wf_spool_open(home)) != -1);
	assert_int_equal(unlinkat(root, "events/dead", AT_REMOVEDIR), 0);
	assert_int_equal(wf_spool_check(root, &missing), -1);
	assert_non_null(missing);
	assert_string_equal(missing, "events/dead");
	/* A symlink is not a directory of the tree. */
	assert_int_equal(symlinkat("done", root, "events/dead"), 0);
	missing = NULL;
	assert_int_equal(wf_spool_check(root, &missing), -1);
	assert_string_equal(missing, "events/dead");
	close(root);
	rm_tree(dir);
}

static void
test_write_read(void **state)
{
	struct tree *t = *state;
	static const char data[] = "{\"job_type\":\"llm_complete\"}\n\0tail";
	char name[WF_NAME_MAX + 1], path[256], *buf = NULL;
	size_t len = 0;

	assert_int_equal(wf_spool_name(name, sizeof(name)), 0);
	assert_int_equal(wf_spool_write(t->root, "queue/3-normal/tmp",
	    "queue/3-normal/new", name, data, sizeof(data) - 1,
	    WF_SYNC_FILE | WF_SYNC_DIR), 0);
	assert_int_equal(count_entries(t->root, "queue/3-normal/tmp"), 0);
	assert_int_equal(count_entries(t->root, "queue/3-normal/new"), 1);
	snprintf(path, sizeof(path), "queue/3-normal/new/%s", name);
	assert_int_equal(wf_spool_read(t->root, path, WF_JOB_MAX, &buf, &len),
	    0);
	assert_int_equal(len, sizeof(data) - 1);
	assert_memory_equal(buf, data, len);
	assert_int_equal(buf[len], '\0');
	free(buf);

	/* Empty file, no flags. */
	assert_int_equal(wf_spool_write(t->root, "tmp", "done", "empty", "",
	    0, 0), 0);
	buf = NULL;
	assert_int_equal(wf_spool_read(t->root, "done/empty", 0, &buf, &len),
	    0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	assert_int_equal(count_entries(t->root, "tmp"), 0);

	/* A dead writer's half-made file of the same name in tmp/ (killed
	 * between its create and its rename) does not refuse the write. */
	{
		int fd = openat(t->root, "tmp/again", O_WRONLY | O_CREAT, 0600);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "{\"half", 6), 6);
		close(fd);
	}
	assert_int_equal(wf_spool_write(t->root, "tmp", "done", "again",
	    "{}", 2, 0), 0);
	buf = NULL;
	assert_int_equal(wf_spool_read(t->root, "done/again", 64, &buf, &len),
	    0);
	assert_string_equal(buf, "{}");
	free(buf);
	assert_int_equal(count_entries(t->root, "tmp"), 0);

	/* Exactly max bytes is allowed. */
	buf = NULL;
	assert_int_equal(wf_spool_read(t->root, path, sizeof(data) - 1, &buf,
	    &len), 0);
	assert_int_equal(len, sizeof(data) - 1);
	free(buf);
}

static void
test_read_refuses(void **state)
{
	struct tree *t = *state;
	char *buf = NULL;
	size_t len = 0;

	put_file(t->root, "done/big", "0123456789");
	assert_int_equal(symlinkat("big", t->root, "done/link"), 0);
	assert_int_equal(mkfifoat(t->root, "done/fifo", 0600), 0);

	errno = 0;
	assert_int_equal(wf_spool_read(t->root, "done/link", 4096, &buf, &len),
	    -1);
	assert_int_equal(errno, ELOOP);
	assert_null(buf);

	errno = 0;
	assert_int_equal(wf_spool_read(t->root, "done/big", 9, &buf, &len),
	    -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);

	errno = 0;
	assert_int_equal(wf_spool_read(t->root, "done", 4096, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(buf);

	/* A FIFO is not a regular file either, and must not block. */
	errno = 0;
	assert_int_equal(wf_spool_read(t->root, "done/fifo", 4096, &buf, &len),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_null(buf);

	errno = 0;
	assert_int_equal(wf_spool_read(t->root, "done/none", 4096, &buf, &len),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_null(buf);

	/* The file itself is fine. */
	assert_file_is(t->root, "done/big", "0123456789");
}

/* A staged file is nowhere until it is linked; one never linked leaves
 * nothing behind. */
static void
test_stage_link(void **state)
{
	struct tree *t = *state;
	static const char data[] = "{\"job_type\":\"command\"}\n";
	int fd, gone;

	if (!wf_spool_can_stage(t->root, "queue/3-normal/tmp")) {
		/* Not on this file system: then staging must fail plainly. */
		assert_int_equal(wf_spool_stage(t->root, "queue/3-normal/tmp",
		    data, sizeof(data) - 1) == -1 ||
		    access("/proc/self/fd", X_OK) == -1, 1);
		return;
	}
	fd = wf_spool_stage(t->root, "queue/3-normal/tmp", data,
	    sizeof(data) - 1);
	assert_true(fd != -1);
	assert_int_equal(count_entries(t->root, "queue/3-normal/tmp"), 0);
	assert_int_equal(count_entries(t->root, "queue/3-normal/new"), 0);
	assert_int_equal(wf_spool_link(t->root, fd, "queue/3-normal/new",
	    "job1"), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(count_entries(t->root, "queue/3-normal/tmp"), 0);
	assert_file_is(t->root, "queue/3-normal/new/job1", data);

	/* The commit of a name that exists fails, and changes nothing. */
	fd = wf_spool_stage(t->root, "queue/3-normal/tmp", "other", 5);
	assert_true(fd != -1);
	assert_int_equal(wf_spool_link(t->root, fd, "queue/3-normal/new",
	    "job1"), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(close(fd), 0);
	assert_file_is(t->root, "queue/3-normal/new/job1", data);

	/* Staged, never linked: closed, it is gone. */
	fd = wf_spool_stage(t->root, "queue/3-normal/tmp", data,
	    sizeof(data) - 1);
	assert_true(fd != -1);
	assert_int_equal(close(fd), 0);
	gone = count_entries(t->root, "queue/3-normal/tmp") == 0 &&
	    count_entries(t->root, "queue/3-normal/new") == 1;
	assert_true(gone);

	/* A tmp directory that is not there. */
	assert_int_equal(wf_spool_stage(t->root, "nosuch/tmp", data, 1), -1);
	assert_int_equal(errno, ENOENT);
}

/* A forked child makes names of its own pid, not its parent's. */
static void
test_name_after_fork(void **state)
{
	char parent[WF_NAME_MAX + 1], mine[32];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(wf_spool_name(parent, sizeof(parent)), 0);
	snprintf(mine, sizeof(mine), "P%ldQ", (long)getpid());
	assert_non_null(strstr(parent, mine));
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char child[WF_NAME_MAX + 1], want[32];
		int ok;

		snprintf(want, sizeof(want), "P%ldQ", (long)getpid());
		ok = wf_spool_name(child, sizeof(child)) == 0 &&
		    strstr(child, want) != NULL;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_write_missing_dst(void **state)
{
	struct tree *t = *state;

	errno = 0;
	assert_int_equal(wf_spool_write(t->root, "tmp", "no-such-dir", "job1",
	    "data", 4, WF_SYNC_FILE), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(t->root, "tmp"), 0);
	/* A missing tmp dir fails too, and leaves nothing anywhere. */
	errno = 0;
	assert_int_equal(wf_spool_write(t->root, "no-such-tmp", "done", "job2",
	    "data", 4, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(t->root, "done"), 0);
}

static void
test_quarantine(void **state)
{
	struct tree *t = *state;
	const char *name = "1795589301.M852664P32186Q7R3fa9";
	char path[PATH_MAX], other[PATH_MAX], why[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, found = 0;

	snprintf(path, sizeof(path), "active/%s", name);
	put_file(t->root, path, "first");
	assert_int_equal(wf_spool_quarantine(t->root, path, name,
	    "not JSON: first"), 0);
	assert_int_equal(faccessat(t->root, path, F_OK, AT_SYMLINK_NOFOLLOW),
	    -1);
	snprintf(other, sizeof(other), "corrupt/%s", name);
	assert_file_is(t->root, other, "first");
	snprintf(why, sizeof(why), "corrupt/%s.why", name);
	assert_file_is(t->root, why, "not JSON: first\n");
	assert_int_equal(count_entries(t->root, "corrupt"), 2);

	/* A second corrupt file of the same name keeps the first. */
	put_file(t->root, path, "second");
	assert_int_equal(wf_spool_quarantine(t->root, path, name,
	    "not JSON: second"), 0);
	assert_int_equal(faccessat(t->root, path, F_OK, AT_SYMLINK_NOFOLLOW),
	    -1);
	assert_file_is(t->root, other, "first");
	assert_file_is(t->root, why, "not JSON: first\n");
	assert_int_equal(count_entries(t->root, "corrupt"), 4);
	assert_int_equal(count_entries(t->root, "tmp"), 0);

	/* The second is there under another name, with its reason. */
	fd = openat(t->root, "corrupt", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(d = fdopendir(fd));
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || strcmp(de->d_name, name) == 0 ||
		    (n > 4 && strcmp(de->d_name + n - 4, ".why") == 0))
			continue;
		snprintf(other, sizeof(other), "corrupt/%s", de->d_name);
		assert_file_is(t->root, other, "second");
		snprintf(why, sizeof(why), "corrupt/%s.why", de->d_name);
		assert_file_is(t->root, why, "not JSON: second\n");
		found++;
	}
	closedir(d);
	assert_int_equal(found, 1);

	/* Nothing to move: an error, and no stray reason left. */
	errno = 0;
	assert_int_equal(wf_spool_quarantine(t->root, "active/none", "none",
	    "x"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(t->root, "corrupt"), 4);
}

struct seen {
	char taken[8][16], bad[8][16];
	int ntaken, nbad;
};

static void
scan_fn(const char *name, const char *why, void *arg)
{
	struct seen *s = arg;

	if (why == NULL && s->ntaken < 8)
		strlcpy(s->taken[s->ntaken++], name, sizeof(s->taken[0]));
	else if (why != NULL && s->nbad < 8)
		strlcpy(s->bad[s->nbad++], name, sizeof(s->bad[0]));
}

static int
seen_has(char (*v)[16], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

/* wf_spool_arrived and wf_spool_scan: every reader of a new/ directory
 * takes a regular file however it came (a link drop too), and moves what
 * is not one to corrupt/ with its reason, never following a symlink nor
 * blocking on a FIFO. */
static void
test_arrived_scan(void **state)
{
	struct tree *t = *state;
	struct seen s;
	char why[128];
	int wfd;

	put_file(t->root, "reports/new/plain", "{}");
	put_file(t->root, "reports/tmp/linked", "{}");
	assert_int_equal(linkat(t->root, "reports/tmp/linked", t->root,
	    "reports/new/linked", 0), 0);
	assert_int_equal(unlinkat(t->root, "reports/tmp/linked", 0), 0);
	put_file(t->root, "reports/new/.hidden", "{}");
	assert_int_equal(symlinkat("plain", t->root, "reports/new/sym"), 0);
	assert_int_equal(mkfifoat(t->root, "reports/new/fifo", 0600), 0);
	assert_int_equal(mkdirat(t->root, "reports/new/dir", 0700), 0);

	/* Events: a link drop (IN_CREATE of a closed file) is taken; a
	 * file made in place and still open for writing waits for its
	 * close; a dot name is nobody's. */
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", "linked",
	    IN_CREATE, "r-", why, sizeof(why)), 1);
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", "plain",
	    IN_MOVED_TO, "r-", why, sizeof(why)), 1);
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", ".hidden",
	    IN_MOVED_TO, "r-", why, sizeof(why)), 0);
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", "gone",
	    IN_MOVED_TO, "r-", why, sizeof(why)), 0);
	wfd = openat(t->root, "reports/new/open", O_WRONLY | O_CREAT |
	    O_CLOEXEC, 0600);
	assert_true(wfd != -1);
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", "open",
	    IN_CREATE, "r-", why, sizeof(why)), 0);
	assert_int_equal(write(wfd, "{}", 2), 2);
	close(wfd);
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", "open",
	    IN_CLOSE_WRITE, "r-", why, sizeof(why)), 1);
	/* A FIFO seen by an event: quarantined at once, never opened. */
	assert_int_equal(wf_spool_arrived(t->root, "reports/new", "fifo",
	    IN_CREATE, "r-", why, sizeof(why)), -1);
	assert_string_equal(why, "a FIFO, not a file");
	assert_file_is(t->root, "corrupt/r-fifo.why", "a FIFO, not a file\n");

	/* A scan: the regular files taken, the rest quarantined. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(wf_spool_scan(t->root, "reports/new", "r-", scan_fn,
	    &s), 0);
	assert_int_equal(s.ntaken, 3);
	assert_true(seen_has(s.taken, s.ntaken, "plain"));
	assert_true(seen_has(s.taken, s.ntaken, "linked"));
	assert_true(seen_has(s.taken, s.ntaken, "open"));
	assert_int_equal(s.nbad, 2);
	assert_true(seen_has(s.bad, s.nbad, "sym"));
	assert_true(seen_has(s.bad, s.nbad, "dir"));
	assert_file_is(t->root, "corrupt/r-sym.why",
	    "a symlink, not a file (never followed)\n");
	assert_file_is(t->root, "corrupt/r-dir.why",
	    "a directory, not a file\n");
	assert_int_equal(faccessat(t->root, "reports/new/sym", F_OK,
	    AT_SYMLINK_NOFOLLOW), -1);
	/* the symlink itself moved, its target untouched */
	assert_file_is(t->root, "reports/new/plain", "{}");
	/* regular files, the dot file and nothing else left */
	assert_int_equal(count_entries(t->root, "reports/new"), 4);
	assert_int_equal(wf_spool_scan(t->root, "reports/none", "r-", scan_fn,
	    &s), -1);
}

/* wf_spool_read_beneath: a path of several components, never through a
 * symlink, never out of the directory. */
static void
test_read_beneath(void **state)
{
	struct tree *t = *state;
	char *buf = NULL;
	size_t len;
	int fd;

	assert_int_equal(mkdirat(t->root, "tmp/a", 0700), 0);
	assert_int_equal(mkdirat(t->root, "tmp/a/b", 0700), 0);
	fd = openat(t->root, "tmp/a/b/r.xml", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "<r/>", 4), 4);
	close(fd);
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/a/b/r.xml", 64,
	    &buf, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "<r/>");
	free(buf);
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp//a/b/r.xml", 64,
	    &buf, &len), 0);
	free(buf);
	/* a directory on the way that is a symlink, even to inside */
	assert_int_equal(symlinkat("a", t->root, "tmp/l"), 0);
	errno = 0;
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/l/b/r.xml", 64,
	    &buf, &len), -1);
	assert_true(errno == ELOOP || errno == ENOTDIR);
	/* the file itself a symlink */
	assert_int_equal(symlinkat("b/r.xml", t->root, "tmp/a/s.xml"), 0);
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/a/s.xml", 64,
	    &buf, &len), -1);
	assert_int_equal(errno, ELOOP);
	/* out of bounds, by name */
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/a/../a/b/r.xml",
	    64, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(wf_spool_read_beneath(t->root, "/etc/passwd", 64,
	    &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/a/", 64, &buf,
	    &len), -1);
	assert_int_equal(errno, EISDIR);
	/* the bound and the kind */
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/a/b/r.xml", 3,
	    &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(wf_spool_read_beneath(t->root, "tmp/a/b", 64, &buf,
	    &len), -1);
	assert_int_equal(errno, EINVAL);
}

/* wf_spool_watch: directories only, and a bounded path. */
static void
test_watch(void **state)
{
	struct tree *t = *state;
	char big[PATH_MAX + 8];
	int ifd, fd;

	assert_true((ifd = inotify_init1(IN_CLOEXEC)) != -1);
	assert_true(wf_spool_watch(ifd, t->home, "events/new", IN_MOVED_TO) >=
	    0);
	fd = openat(t->root, "tmp/plain", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(wf_spool_watch(ifd, t->home, "tmp/plain",
	    IN_MOVED_TO), -1);
	assert_int_equal(errno, ENOTDIR);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(wf_spool_watch(ifd, t->home, big, IN_MOVED_TO), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	close(ifd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_unique_sorted),
		cmocka_unit_test(test_name_short_buffer),
		cmocka_unit_test(test_name_after_fork),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_name_time_us),
		cmocka_unit_test(test_qdir),
		cmocka_unit_test(test_init_check),
		cmocka_unit_test_setup_teardown(test_write_read, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_read_refuses, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_stage_link, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_read_beneath, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_watch, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_write_missing_dst,
		    tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_quarantine, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_arrived_scan, tree_setup,
		    tree_teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
