/*
 * wfb: the measuring helper of bench/queue.sh, llm-lane.sh and sandbox.sh.
 * It is not part of wf; each script compiles it into its temporary
 * directory.
 *
 *   wfb stamp FILE
 *       The job of the latency runs: the first thing main() does is read
 *       CLOCK_REALTIME; it writes it in ns to FILE (whole: tmp + rename).
 *   wfb waitn DIR N TIMEOUT_MS
 *       Wait until DIR holds at least N entries not starting with '.';
 *       print the CLOCK_REALTIME ns at which that was seen.  inotify wakes
 *       it (IN_MOVED_TO, IN_CREATE); it re-counts with readdir only when
 *       the events say N may be reached, and every 250 ms as a safety net.
 *       Exit 1 (printing the count seen) on timeout.
 *   wfb start LOG RESULT -- COMMAND [ARG...]
 *       Run COMMAND (wf-dispatch) as a child with its stderr through a
 *       pipe copied to LOG.  T0 is read just before fork+exec; when a line
 *       holding ": ready: " arrives, T1 is read and VmRSS/VmHWM of the
 *       child right after; "PID T0 T1 RSS_KB HWM_KB" is written to RESULT
 *       (tmp + rename).  wfb then copies the rest of stderr until the child
 *       exits and exits with its status.
 *   wfb lat N OUTDIR DONEDIR ACTIVEDIR STAMP -- ENQUEUE [ARG...]
 *       N times, one at a time on an idle dispatcher: T0 = now; fork+exec
 *       ENQUEUE ... STAMP stamp OUTDIR/i; wait for it; T1 = now; wait for
 *       OUTDIR/i (the job's start S), then until DONEDIR holds one more
 *       record and ACTIVEDIR is empty, then 10 ms.  Prints "i T0 T1 S" (ns).
 *   wfb latmd N OUTDIR HOME STAMP [EXTRA]
 *       The same with no wf-enqueue: wfb writes the job file itself into
 *       HOME/queue/3-normal/tmp (written and fsync'd), reads T = now and
 *       renames it into new/ (the maildir commit).  EXTRA, when given, is
 *       more of request_data (e.g. "sandbox":{...}).  Prints "i T T S D",
 *       D: when its record was seen in done/.  With WFB_GAP_MS=G in the
 *       environment, G ms pass between a job's record and the next job.
 *   wfb spawnlat N OUTDIR STAMP
 *       The floor of the above: T = now; fork+exec STAMP stamp OUTDIR/i
 *       ourselves; wait.  Prints "i T T S".
 *   wfb spawnv N OUTDIR [-u UID:GID] -- COMMAND [ARG...]
 *       N times: T0 = now; fork+exec COMMAND (an ARG "{}" becomes
 *       OUTDIR/i: a stamp's file; its stdout /dev/null), the child first
 *       dropping to UID:GID with -u; wait; T1 = now; 2 ms of rest.  Prints "i T0 S T1", S the
 *       stamp (0 without a "{}").  Exit 1 if a run does not exit 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
die(const char *what)
{
	fprintf(stderr, "wfb: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static long
count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Write s to path whole: path.tmp, then rename. */
static int
write_whole(const char *path, const char *s)
{
	char tmp[4096];
	size_t len = strlen(s);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return -1;
	if (write(fd, s, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static int
cmd_stamp(int argc, char **argv)
{
	long long t = now_ns();
	char buf[32];

	if (argc != 3)
		return 64;
	snprintf(buf, sizeof(buf), "%lld\n", t);
	return write_whole(argv[2], buf) == 0 ? 0 : 1;
}

/* Wait until dir has >= n entries; 0 and the time seen, or -1 on timeout.
 * ifd: an inotify descriptor already watching dir (or -1: make one). */
static int
wait_count(const char *dir, long n, long long timeout_ms, long long *seen,
    long *last)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	long long deadline = mono_ms() + timeout_ms, lastscan;
	long cnt, est;
	int ifd;

	if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		die("inotify_init1");
	if (inotify_add_watch(ifd, dir, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)
	    == -1)
		die(dir);
	/* Watch first, then count: nothing lands unseen. */
	cnt = est = count_dir(dir);
	lastscan = mono_ms();
	for (;;) {
		struct pollfd pfd = { ifd, POLLIN, 0 };
		long long t = mono_ms(), left;
		ssize_t r;

		if (est >= n || t - lastscan >= 250) {
			cnt = est = count_dir(dir);
			lastscan = t;
			if (cnt >= n) {
				*seen = now_ns();
				*last = cnt;
				close(ifd);
				return 0;
			}
		}
		left = deadline - t;
		if (left <= 0) {
			*last = cnt;
			close(ifd);
			return -1;
		}
		if (left > 250)
			left = 250;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			die("poll");
		while ((r = read(ifd, buf, sizeof(buf))) > 0)
			for (char *p = buf; p < buf + r;) {
				struct inotify_event *ev = (void *)p;

				p += sizeof(*ev) + ev->len;
				if (ev->mask & IN_Q_OVERFLOW)
					est = n; /* recount now */
				else if (ev->len > 0 && ev->name[0] != '.')
					est++;
			}
	}
}

static int
cmd_waitn(int argc, char **argv)
{
	long long seen;
	long last;

	if (argc != 5)
		return 64;
	if (wait_count(argv[2], atol(argv[3]), atoll(argv[4]), &seen,
	    &last) == -1) {
		printf("timeout %ld\n", last);
		return 1;
	}
	printf("%lld\n", seen);
	return 0;
}

static void
read_status(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *f;

	*rss = *hwm = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = atol(line + 6);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = atol(line + 6);
	}
	fclose(f);
}

static int
cmd_start(int argc, char **argv)
{
	const char *log, *res;
	char buf[8192], line[4096];
	size_t ll = 0;
	int p[2], lfd, st, reported = 0;
	long long t0;
	pid_t pid;
	ssize_t r;

	if (argc < 6 || strcmp(argv[4], "--") != 0)
		return 64;
	log = argv[2];
	res = argv[3];
	if ((lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1)
		die(log);
	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe");
	t0 = now_ns();
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		dup2(lfd, 1);
		dup2(p[1], 2);
		execv(argv[5], argv + 5);
		_exit(127);
	}
	close(p[1]);
	signal(SIGPIPE, SIG_IGN);
	/* A TERM or INT for the script is for the dispatcher, not for us:
	 * we keep copying its log until it has gone. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	while ((r = read(p[0], buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		(void)!write(lfd, buf, (size_t)r);
		if (reported)
			continue;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			if (strstr(line, ": ready: ") != NULL) {
				long long t1 = now_ns();
				long rss, hwm;
				char out[256];

				read_status(pid, &rss, &hwm);
				snprintf(out, sizeof(out),
				    "%d %lld %lld %ld %ld\n", (int)pid, t0, t1,
				    rss, hwm);
				if (write_whole(res, out) == -1)
					die(res);
				reported = 1;
				break;
			}
		}
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!reported) {
		char out[64];

		snprintf(out, sizeof(out), "%d 0 0 -1 -1\n", (int)pid);
		write_whole(res, out);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long long
read_stamp(const char *path)
{
	char b[64];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	r = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	b[r] = '\0';
	return atoll(b);
}

/* Wait for the stamp file: inotify on its directory. */
static long long
wait_stamp(const char *dir, const char *path, long long timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms, s;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (ifd == -1 || inotify_add_watch(ifd, dir, IN_MOVED_TO) == -1)
		die("inotify stamp dir");
	for (;;) {
		struct pollfd pfd = { ifd, POLLIN, 0 };
		long long left;

		if ((s = read_stamp(path)) > 0)
			break;
		if ((left = deadline - mono_ms()) <= 0)
			break;
		poll(&pfd, 1, left > 100 ? 100 : (int)left);
		while (read(ifd, buf, sizeof(buf)) > 0)
			;
	}
	close(ifd);
	return s;
}

/* After a job: its record in donedir, nothing left in activedir. */
static int
wait_idle(const char *donedir, long ndone, const char *activedir,
    long long *seen)
{
	long last;

	if (wait_count(donedir, ndone, 30000, seen, &last) == -1)
		return -1;
	for (long long deadline = mono_ms() + 30000; mono_ms() < deadline;) {
		if (count_dir(activedir) == 0) {
			sleep_us(10000); /* back in poll() */
			return 0;
		}
		sleep_us(200);
	}
	return -1;
}

static int
cmd_lat(int argc, char **argv)
{
	const char *outdir, *donedir, *activedir, *stamp;
	char path[4096], **av;
	long n, base;
	int k, na;

	if (argc < 9 || strcmp(argv[7], "--") != 0)
		return 64;
	n = atol(argv[2]);
	outdir = argv[3];
	donedir = argv[4];
	activedir = argv[5];
	stamp = argv[6];
	na = argc - 8;
	if ((av = calloc((size_t)na + 4, sizeof(*av))) == NULL)
		die("calloc");
	for (k = 0; k < na; k++)
		av[k] = argv[8 + k];
	av[na] = (char *)stamp;
	av[na + 1] = "stamp";
	av[na + 2] = path;
	av[na + 3] = NULL;
	base = count_dir(donedir);
	for (long i = 0; i < n; i++) {
		long long t0, t1, s, d;
		int st, nul;
		pid_t pid;

		snprintf(path, sizeof(path), "%s/%ld", outdir, i);
		t0 = now_ns();
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			if ((nul = open("/dev/null", O_WRONLY)) != -1)
				dup2(nul, 1);
			execv(av[0], av);
			fprintf(stderr, "wfb: %s: %s\n", av[0], strerror(errno));
			_exit(127);
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		t1 = now_ns();
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "wfb: enqueue %ld failed (%d)\n", i, st);
			return 1;
		}
		if ((s = wait_stamp(outdir, path, 30000)) <= 0) {
			fprintf(stderr, "wfb: job %ld never started\n", i);
			return 1;
		}
		if (wait_idle(donedir, base + i + 1, activedir, &d) == -1) {
			fprintf(stderr, "wfb: job %ld never finished\n", i);
			return 1;
		}
		printf("%ld %lld %lld %lld\n", i, t0, t1, s);
	}
	return 0;
}

static int
cmd_latmd(int argc, char **argv)
{
	const char *outdir, *home, *stamp, *extra = NULL;
	char path[4096], json[8192], tmp[4096], new[4096], done[4096],
	    active[4096], name[128];
	long n, base, gap = 0;

	if (argc != 6 && argc != 7)
		return 64;
	if (getenv("WFB_GAP_MS") != NULL)
		gap = atol(getenv("WFB_GAP_MS"));
	if (argc == 7)
		extra = argv[6];
	n = atol(argv[2]);
	outdir = argv[3];
	home = argv[4];
	stamp = argv[5];
	snprintf(done, sizeof(done), "%s/done", home);
	snprintf(active, sizeof(active), "%s/active", home);
	base = count_dir(done);
	for (long i = 0; i < n; i++) {
		struct timeval tv;
		long long t, s, d;
		int fd;
		size_t len;

		snprintf(path, sizeof(path), "%s/%ld", outdir, i);
		len = (size_t)snprintf(json, sizeof(json),
		    "{\"job_type\":\"command\",\"request_data\":{\"argv\":"
		    "[\"%s\",\"stamp\",\"%s\"],\"cwd\":\"/\"%s%s}}\n", stamp, path,
		    extra != NULL ? "," : "", extra != NULL ? extra : "");
		if (len >= sizeof(json))
			return 64;
		gettimeofday(&tv, NULL);
		snprintf(name, sizeof(name), "%lld.M%06ldP%dQ%ldwfb",
		    (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), i);
		snprintf(tmp, sizeof(tmp), "%s/queue/3-normal/tmp/%s", home,
		    name);
		snprintf(new, sizeof(new), "%s/queue/3-normal/new/%s", home,
		    name);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
			die(tmp);
		if (write(fd, json, len) != (ssize_t)len || fsync(fd) == -1)
			die(tmp);
		close(fd);
		t = now_ns();
		if (rename(tmp, new) == -1)
			die(new);
		if ((s = wait_stamp(outdir, path, 30000)) <= 0) {
			fprintf(stderr, "wfb: job %ld never started\n", i);
			return 1;
		}
		if (wait_idle(done, base + i + 1, active, &d) == -1) {
			fprintf(stderr, "wfb: job %ld never finished\n", i);
			return 1;
		}
		printf("%ld %lld %lld %lld %lld\n", i, t, t, s, d);
		if (gap > 0)
			usleep((useconds_t)gap * 1000);
	}
	return 0;
}

static int
cmd_spawnlat(int argc, char **argv)
{
	char path[4096];
	long n;

	if (argc != 5)
		return 64;
	n = atol(argv[2]);
	for (long i = 0; i < n; i++) {
		char *av[] = { argv[4], "stamp", path, NULL };
		long long t, s;
		int st;
		pid_t pid;

		snprintf(path, sizeof(path), "%s/%ld", argv[3], i);
		t = now_ns();
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			execv(av[0], av);
			_exit(127);
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		if ((s = read_stamp(path)) <= 0) {
			fprintf(stderr, "wfb: spawn %ld left no stamp\n", i);
			return 1;
		}
		printf("%ld %lld %lld %lld\n", i, t, t, s);
		sleep_us(2000);
	}
	return 0;
}

static int
cmd_spawnv(int argc, char **argv)
{
	char path[4096], **av;
	int a = 4, na, stamp = 0;
	long n;
	unsigned uid = 0, gid = 0, drop = 0;

	if (argc < 6)
		return 64;
	n = atol(argv[2]);
	if (strcmp(argv[a], "-u") == 0) {
		if (a + 1 >= argc || sscanf(argv[a + 1], "%u:%u", &uid,
		    &gid) != 2)
			return 64;
		drop = 1;
		a += 2;
	}
	if (a >= argc || strcmp(argv[a], "--") != 0 || a + 1 >= argc)
		return 64;
	a++;
	na = argc - a;
	if ((av = calloc((size_t)na + 1, sizeof(*av))) == NULL)
		die("calloc");
	for (int k = 0; k < na; k++) {
		av[k] = argv[a + k];
		if (strcmp(av[k], "{}") == 0) {
			av[k] = path;
			stamp = 1;
		}
	}
	for (long i = 0; i < n; i++) {
		long long t0, t1, s = 0;
		int st;
		pid_t pid;

		snprintf(path, sizeof(path), "%s/%ld", argv[3], i);
		t0 = now_ns();
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			int nul = open("/dev/null", O_WRONLY);

			if (nul != -1)
				dup2(nul, 1);
			if (drop && (setgroups(0, NULL) == -1 ||
			    setgid(gid) == -1 || setuid(uid) == -1))
				_exit(126);
			execv(av[0], av);
			_exit(127);
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		t1 = now_ns();
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "wfb: %s: run %ld: status %d\n", av[0],
			    i, st);
			return 1;
		}
		if (stamp && (s = read_stamp(path)) <= 0) {
			fprintf(stderr, "wfb: run %ld left no stamp\n", i);
			return 1;
		}
		printf("%ld %lld %lld %lld\n", i, t0, s, t1);
		sleep_us(2000);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2) {
		if (strcmp(argv[1], "stamp") == 0)
			return cmd_stamp(argc, argv);
		if (strcmp(argv[1], "waitn") == 0)
			return cmd_waitn(argc, argv);
		if (strcmp(argv[1], "start") == 0)
			return cmd_start(argc, argv);
		if (strcmp(argv[1], "lat") == 0)
			return cmd_lat(argc, argv);
		if (strcmp(argv[1], "latmd") == 0)
			return cmd_latmd(argc, argv);
		if (strcmp(argv[1], "spawnlat") == 0)
			return cmd_spawnlat(argc, argv);
		if (strcmp(argv[1], "spawnv") == 0)
			return cmd_spawnv(argc, argv);
	}
	fprintf(stderr, "usage: wfb stamp|waitn|start|lat|latmd|spawnlat|spawnv ...\n");
	return 64;
}
