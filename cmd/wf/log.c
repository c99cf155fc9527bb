/*
 * wf log: the audit trail, log/audit.jsonl, filtered and printed; with
 * --follow it keeps printing lines as they are appended (inotify on log/,
 * so that it also sees the file made, or replaced by a log rotation).
 * Lines are read with a bounded buffer: one over LINE_MAX bytes, or one
 * that is not a JSON object, is skipped with a warning, never fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "clock.h"
#include "home.h"
#include "log.h"
#include "spool.h"
#include "wf.h"

#define LINE_MAX_ (64 * 1024)
#define AUDIT "log/audit.jsonl"
#define SUMMARY_MAX 160

static const char usage_text[] =
    "usage: wf log [--run N] [--project N] [--entity TYPE:ID] [--since T]\n"
    "              [--follow] [--json]\n"
    "\n"
    "The audit trail, $WF_HOME/log/audit.jsonl: one line per change\n"
    "(an entity created, updated or deleted, a run's transition, a job's\n"
    "end, an approval, a read of a secret), oldest first, as\n"
    "TIME ACTOR ACTION TYPE:ID DETAILS.\n"
    "\n"
    "  --run N            the run's own lines, and those whose details\n"
    "                     name it (run_id: its jobs, its tasks)\n"
    "  --project N        the project's lines, and those whose details\n"
    "                     name it (project_id)\n"
    "  --entity TYPE:ID   one entity's lines (credential:3, job:ID)\n"
    "  --since T          lines from T on: an ISO 8601 time\n"
    "                     (2026-11-24T19:30:00Z, or a date), or a span\n"
    "                     back from now (90s, 30m, 1h, 2d)\n"
    "  -f, --follow       then wait for new lines and print them as they\n"
    "                     come, until interrupted\n"
    "  --json             one JSON array of the lines' objects (for jq);\n"
    "                     with --follow, a stream: JSON Lines, each line\n"
    "                     as it is written, one object a line\n"
    "  -h, --help         print this help\n"
    "\n"
    "Filters combine (all must hold).  A line that is not a JSON object,\n"
    "or longer than 64 KiB, is skipped with a warning on stderr.\n"
    "Exit status: 0 done (or interrupted while following); 64 usage;\n"
    "74 I/O error; 78 no runtime tree.\n";

static struct {
	int64_t run, project;
	const char *etype, *eid;
	int64_t since; /* wall ms; 0: all */
	int json, follow;
	cJSON *list; /* --json without --follow: the lines, one array */
} F;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
wanted(const cJSON *o)
{
	struct wf_audit_filter f = { F.run, F.project, F.etype, F.eid,
		F.since };

	return wf_audit_match(o, &f);
}

/* Text for a terminal: control characters become spaces. */
static void
put_clean(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0' && n < max; s++, n++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
	if (*s != '\0')
		fputs("...", stdout);
}

static const char *
str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

/* The details in short: key=value for their scalar members. */
static void
summary(const cJSON *d)
{
	char buf[SUMMARY_MAX * 2] = "", one[SUMMARY_MAX];
	const cJSON *it;

	cJSON_ArrayForEach(it, d)
	{
		if (cJSON_IsString(it))
			snprintf(one, sizeof one, "%s=%s", it->string,
			    it->valuestring);
		else if (cJSON_IsNumber(it))
			snprintf(one, sizeof one, "%s=%lld", it->string,
			    (long long)it->valuedouble);
		else if (cJSON_IsBool(it))
			snprintf(one, sizeof one, "%s=%s", it->string,
			    cJSON_IsTrue(it) ? "true" : "false");
		else
			continue;
		if (buf[0] != '\0')
			strlcat(buf, " ", sizeof buf);
		if (strlcat(buf, one, sizeof buf) >= sizeof buf)
			break;
	}
	put_clean(buf, SUMMARY_MAX);
}

static void
print_human(const cJSON *o)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "entity_id");

	put_clean(str_of(o, "timestamp"), 40);
	putchar(' ');
	put_clean(str_of(o, "actor"), 64);
	putchar(' ');
	put_clean(str_of(o, "action"), 64);
	putchar(' ');
	put_clean(str_of(o, "entity_type"), 32);
	if (cJSON_IsNumber(id))
		printf(":%lld", (long long)id->valuedouble);
	else if (cJSON_IsString(id)) {
		putchar(':');
		put_clean(id->valuestring, 64);
	}
	putchar(' ');
	summary(cJSON_GetObjectItemCaseSensitive(o, "details"));
	putchar('\n');
}

/* One whole line (no newline); lineno for the warnings. */
static void
one_line(const char *line, size_t len, long lineno)
{
	cJSON *o;

	if (len == 0)
		return;
	o = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(o)) {
		wf_log_warn(AUDIT ":%ld: not a JSON object; skipped", lineno);
		cJSON_Delete(o);
		return;
	}
	if (wanted(o)) {
		if (F.list != NULL) {
			cJSON_AddItemToArray(F.list, o);
			return;
		}
		if (F.json) {
			fwrite(line, 1, len, stdout);
			putchar('\n');
		} else
			print_human(o);
	}
	cJSON_Delete(o);
}

struct reader {
	int fd;
	ino_t ino;
	char *buf;
	size_t len; /* bytes held */
	int skipping; /* inside a line over LINE_MAX_ */
	long lineno;
};

/* Read what fd has now and print its whole lines; a partial last line
 * waits for the rest (at_eof: it is taken as it is). */
static int
drain(struct reader *r, int at_eof)
{
	char *nl;
	ssize_t n;

	for (;;) {
		n = read(r->fd, r->buf + r->len, LINE_MAX_ + 1 - r->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			wf_log_warn(AUDIT ": %s", strerror(errno));
			return EX_IOERR;
		}
		r->len += (size_t)n;
		while ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
			size_t l = (size_t)(nl - r->buf);

			r->lineno++;
			if (!r->skipping)
				one_line(r->buf, l, r->lineno);
			r->skipping = 0;
			memmove(r->buf, nl + 1, r->len - l - 1);
			r->len -= l + 1;
		}
		if (r->len > LINE_MAX_) {
			if (!r->skipping)
				wf_log_warn(AUDIT ":%ld: longer than %d bytes; "
						  "skipped",
				    r->lineno + 1, LINE_MAX_);
			r->skipping = 1;
			r->len = 0;
		}
		if (n == 0)
			break;
	}
	if (at_eof && r->len > 0 && !r->skipping) {
		one_line(r->buf, r->len, ++r->lineno);
		r->len = 0;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		return errno == EPIPE ? -1 : EX_IOERR;
	return 0;
}

static int
reopen(int root, struct reader *r)
{
	struct stat st;
	int fd;

	fd = openat(root, AUDIT, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (r->fd != -1)
		close(r->fd);
	r->fd = fd;
	r->ino = st.st_ino;
	r->len = 0;
	r->skipping = 0;
	r->lineno = 0;
	return 0;
}

/* Was the file replaced (a log rotation) or truncated? */
static int
replaced(int root, struct reader *r)
{
	struct stat st, cur;

	if (fstatat(root, AUDIT, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (r->fd == -1 || st.st_ino != r->ino)
		return 1;
	if (fstat(r->fd, &cur) == 0 && lseek(r->fd, 0, SEEK_CUR) > cur.st_size)
		lseek(r->fd, 0, SEEK_SET);
	return 0;
}

static int
follow(int root, struct reader *r)
{
	char evbuf[4096] __attribute__((aligned(8)));
	struct pollfd pfd;
	int ifd, wd, rc = 0;

	if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    (wd = inotify_add_watch(ifd, "log",
		 IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) == -1) {
		wf_log_warn("inotify: %s", strerror(errno));
		if (ifd != -1)
			close(ifd);
		return EX_OSERR;
	}
	(void)wd;
	/* The watch is set: what was appended meanwhile is read now. */
	if (r->fd == -1 && reopen(root, r) == -1) {
		rc = EX_IOERR;
		goto out;
	}
	if (r->fd != -1 && (rc = drain(r, 0)) != 0)
		goto out;
	pfd.fd = ifd;
	pfd.events = POLLIN;
	while (!stop) {
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			rc = EX_OSERR;
			break;
		}
		while (read(ifd, evbuf, sizeof evbuf) > 0)
			; /* what changed is read below, whatever it was */
		if (r->fd != -1 && (rc = drain(r, 0)) != 0)
			break;
		if (replaced(root, r)) {
			if (reopen(root, r) == -1) {
				rc = EX_IOERR;
				break;
			}
			if ((rc = drain(r, 0)) != 0)
				break;
		}
	}
out:
	close(ifd);
	return rc;
}

static int
parse_since(const char *s)
{
	char buf[40];
	int64_t secs;

	if (wf_clock_parse_duration(s, &secs) == 0) {
		F.since = wf_clock_wall_ms() - secs * 1000;
		return 0;
	}
	if (strlen(s) == 10) { /* a date: its midnight, UTC */
		snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
		s = buf;
	}
	if (wf_clock_parse_iso(s, &F.since) == 0)
		return 0;
	wf_log_warn("--since: '%.40s' is neither a time (2026-11-24T19:30:00Z) "
		    "nor a span (30m, 1h, 2d)",
	    s);
	return -1;
}

static int
parse_num(const char *flag, const char *s, int64_t *n)
{
	const char *errstr;

	*n = strtonum(s, 1, INT64_C(1) << 50, &errstr);
	if (errstr != NULL) {
		wf_log_warn("%s: '%.40s' is not an id", flag, s);
		return -1;
	}
	return 0;
}

int
cmd_log(int argc, char *argv[])
{
	enum { O_RUN = 256, O_PROJECT, O_ENTITY, O_SINCE, O_JSON };
	static const struct option longopts[] = {
		{ "run", required_argument, NULL, O_RUN },
		{ "run-id", required_argument, NULL, O_RUN },
		{ "project", required_argument, NULL, O_PROJECT },
		{ "project-id", required_argument, NULL, O_PROJECT },
		{ "entity", required_argument, NULL, O_ENTITY },
		{ "since", required_argument, NULL, O_SINCE },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reader r = { -1, 0, NULL, 0, 0, 0 };
	struct sigaction sa;
	char *colon;
	int c, root, rc = 0;

	memset(&F, 0, sizeof F);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":fh", longopts, NULL)) != -1) {
		switch (c) {
		case O_RUN:
			if (parse_num("--run", optarg, &F.run) == -1)
				return EX_USAGE;
			break;
		case O_PROJECT:
			if (parse_num("--project", optarg, &F.project) == -1)
				return EX_USAGE;
			break;
		case O_ENTITY:
			if ((colon = strchr(optarg, ':')) == NULL ||
			    colon == optarg || colon[1] == '\0') {
				wf_log_warn(
				    "--entity: '%.40s' is not TYPE:ID", optarg);
				return EX_USAGE;
			}
			*colon = '\0';
			F.etype = optarg;
			F.eid = colon + 1;
			break;
		case O_SINCE:
			if (parse_since(optarg) == -1)
				return EX_USAGE;
			break;
		case 'f': F.follow = 1; break;
		case O_JSON: F.json = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			wf_log_warn("log: %.60s: %s", argv[optind - 1],
			    c == ':' ? "needs a value" : "unknown flag");
			fputs("(wf log --help tells more)\n", stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		wf_log_warn("log: '%.40s': unexpected argument", argv[optind]);
		return EX_USAGE;
	}
	if ((root = wf_spool_attach(wf_home_dir())) == -1)
		return EX_CONFIG;
	if ((r.buf = malloc(LINE_MAX_ + 1)) == NULL) {
		close(root);
		return EX_OSERR;
	}
	/* A reader that goes away (| head) ends us quietly; so does ^C. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (reopen(root, &r) == -1) {
		wf_log_warn(AUDIT ": %s", strerror(errno));
		rc = EX_IOERR;
	} else if (!F.follow) {
		if (F.json && (F.list = cJSON_CreateArray()) == NULL)
			rc = EX_OSERR;
		else if (r.fd != -1)
			rc = drain(&r, 1);
		if (F.list != NULL && rc == 0)
			cli_json(F.list);
		cJSON_Delete(F.list);
		F.list = NULL;
	} else if (fchdir(root) == -1) {
		wf_log_warn("%s: %s", wf_home_dir(), strerror(errno));
		rc = EX_IOERR;
	} else
		rc = follow(root, &r);
	if (rc == -1)
		rc = 0; /* the reader went away */
	if (r.fd != -1)
		close(r.fd);
	free(r.buf);
	close(root);
	return rc;
}
