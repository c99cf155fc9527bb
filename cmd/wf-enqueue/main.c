/*
 * wf-enqueue: write jobs into the spool by the maildir protocol and print
 * their ids.  A job comes from flags, or as a JSON object on stdin in the
 * seed's /api/queue/enqueue shape; --batch takes JSON lines.  Everything is
 * validated before anything is written, and an id is printed only once its
 * job is durable (file and directory fsync'd; a batch with one sync).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "home.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "queue.h"
#include "spool.h"

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-enqueue [options] -- COMMAND [ARG...]\n"
	    "       wf-enqueue [options] < job.json\n"
	    "       wf-enqueue --batch [options] < jobs.jsonl\n"
	    "Put a job into the wf queue and print its id once it is durable.\n"
	    "  -t, --type TYPE        command, llm_complete, llm_chat, llm_query,\n"
	    "                         vision_analyze, agent_run, deploy\n"
	    "  -p, --priority P       critical|high|normal|low or 1-4 (normal)\n"
	    "  -l, --lane LANE        lane (default from the type)\n"
	    "  -T, --timeout SECS     seconds before the job is killed\n"
	    "  -m, --max-attempts N   attempts before it fails for good\n"
	    "      --project-id N, --task-id N, --run-id N\n"
	    "  -C, --cwd DIR          a command job's directory (default: here)\n"
	    "  -e, --env K=V          a command job's variable (repeatable)\n"
	    "  -d, --data JSON        request_data of a non-command job\n"
	    "  -b, --batch            one JSON job a line on stdin; one sync\n"
	    "                         (--json: one array of the records)\n"
	    "  -w, --wait             wait until the job ends; exit with its\n"
	    "                         outcome: 0 completed, 1 failed, 124\n"
	    "                         timeout, 125 cancelled\n"
	    "  -j, --json             print the job record, not only its id\n"
	    "                         (with --wait, the record it ended with)\n"
	    "Flags override the fields of a job read from stdin.\n"
	    "Exit status: 0 queued, 64 usage, 65 bad job, 74 I/O error,\n"
	    "75 temporary failure (e.g. disk full), 78 no spool (wf init).\n");
	exit(code);
}

struct flags {
	const char *type, *prio, *lane, *cwd, *data;
	long long timeout, max_attempts, project_id, task_id, run_id;
	cJSON *env;
	char **argv;
	int batch, wait, json;
};

static long long
num(const char *s, long long lo, long long hi, const char *what)
{
	const char *errstr;
	long long v = strtonum(s, lo, hi, &errstr);

	if (errstr != NULL) {
		wf_log_warn("%s: '%.40s' is %s (%lld-%lld)", what, s, errstr,
		    lo, hi);
		exit(EX_DATAERR);
	}
	return v;
}

/* Build the JSON object of one job: the input object (or an empty one),
 * then the flags over it. */
static cJSON *
apply_flags(cJSON *o, const struct flags *f)
{
	cJSON *rd;

#define SET(k, item) do { cJSON_DeleteItemFromObjectCaseSensitive(o, k); \
	cJSON_AddItemToObject(o, k, item); } while (0)
	if (f->type)
		SET("job_type", cJSON_CreateString(f->type));
	else if (f->argv != NULL &&
	    cJSON_GetObjectItemCaseSensitive(o, "job_type") == NULL)
		SET("job_type", cJSON_CreateString("command"));
	if (f->prio)
		SET("priority", cJSON_CreateString(f->prio));
	if (f->lane)
		SET("lane", cJSON_CreateString(f->lane));
	if (f->timeout)
		SET("timeout", cJSON_CreateNumber((double)f->timeout));
	if (f->max_attempts)
		SET("max_attempts", cJSON_CreateNumber((double)f->max_attempts));
	if (f->project_id)
		SET("project_id", cJSON_CreateNumber((double)f->project_id));
	if (f->task_id)
		SET("task_id", cJSON_CreateNumber((double)f->task_id));
	if (f->run_id)
		SET("run_id", cJSON_CreateNumber((double)f->run_id));
	if (f->data) {
		cJSON *d = cJSON_Parse(f->data);

		if (!cJSON_IsObject(d)) {
			cJSON_Delete(d);
			wf_log_warn("--data: not a JSON object");
			exit(EX_DATAERR);
		}
		SET("request_data", d);
	}
	rd = cJSON_GetObjectItemCaseSensitive(o, "request_data");
	if (f->argv != NULL || f->cwd != NULL || f->env != NULL) {
		if (rd == NULL)
			cJSON_AddItemToObject(o, "request_data",
			    rd = cJSON_CreateObject());
		if (!cJSON_IsObject(rd)) {
			wf_log_warn("request_data: not an object");
			exit(EX_DATAERR);
		}
	}
	if (f->argv != NULL) {
		cJSON *a = cJSON_CreateArray();

		for (char **p = f->argv; *p != NULL; p++)
			cJSON_AddItemToArray(a, cJSON_CreateString(*p));
		cJSON_DeleteItemFromObjectCaseSensitive(rd, "argv");
		cJSON_AddItemToObject(rd, "argv", a);
	}
	if (f->cwd != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(rd, "cwd");
		cJSON_AddStringToObject(rd, "cwd", f->cwd);
	}
	if (f->env != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(rd, "env");
		cJSON_AddItemToObject(rd, "env", cJSON_Duplicate(f->env, 1));
	}
#undef SET
	return o;
}

/* Parse one job text, apply the flags, validate.  -1 with err. */
static int
make_job(const char *text, size_t len, const struct flags *f,
    struct wf_job *j, char *err, size_t errlen)
{
	cJSON *o;
	int rc;

	if (text != NULL) {
		const char *end;

		if (wf_json_text_ok(text, len, err, errlen) == -1)
			return -1;
		o = cJSON_ParseWithLengthOpts(text, len, &end, 0);
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			snprintf(err, errlen, "not a JSON object");
			return -1;
		}
	} else if ((o = cJSON_CreateObject()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	apply_flags(o, f);
	rc = wf_job_new(j, o, err, errlen);
	cJSON_Delete(o);
	if (rc == 0 && j->type == WF_JT_COMMAND &&
	    cJSON_GetObjectItemCaseSensitive(j->request_data, "cwd") == NULL) {
		static char cwd[PATH_MAX];

		/* A command runs where it was enqueued, as with nq.  One
		 * getcwd for a whole batch. */
		if (cwd[0] == '\0' && getcwd(cwd, sizeof(cwd)) == NULL)
			cwd[0] = '\0';
		if (cwd[0] != '\0')
			cJSON_AddStringToObject(j->request_data, "cwd", cwd);
	}
	return rc;
}

/* Read all of stdin, at most max bytes. */
static char *
read_stdin(size_t max, size_t *lenp)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return NULL;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb;

			if (cap >= max) {
				wf_log_warn("stdin: a job larger than %zu bytes",
				    max);
				exit(EX_DATAERR);
			}
			cap *= 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		r = read(STDIN_FILENO, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		wf_log_warn("stdin: a job larger than %zu bytes", max);
		exit(EX_DATAERR);
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int
exit_for_errno(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case ENOMEM:
	case EAGAIN:
		return EX_TEMPFAIL;
	case ENOENT:
	case ENOTDIR:
		return EX_CONFIG;
	case EACCES:
	case EPERM:
		return EX_NOPERM;
	default:
		return EX_IOERR;
	}
}

static void
print_job(const struct wf_job *j, int json)
{
	char *s;

	if (!json) {
		printf("%s\n", j->id);
		return;
	}
	if ((s = wf_job_format(j)) != NULL)
		printf("%s\n", s);
	free(s);
}

/* A batch's jobs: their ids, a line each, or with --json one array of
 * their records. */
static void
print_jobs(const struct wf_job *jobs, size_t n, int json)
{
	cJSON *arr, *o;
	char *s;

	if (!json) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", jobs[i].id);
		return;
	}
	if ((arr = cJSON_CreateArray()) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if ((o = wf_job_to_cjson(&jobs[i])) != NULL)
			cJSON_AddItemToArray(arr, o);
	if ((s = cJSON_PrintUnformatted(arr)) != NULL)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(arr);
}

/* Staged files a chunk: each holds a descriptor until it is linked. */
static size_t
batch_chunk(void)
{
	struct rlimit rl;
	size_t n = 4096;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < n + 64)
		n = rl.rlim_cur > 96 ? (size_t)rl.rlim_cur - 64 : 32;
	return n;
}

/*
 * --batch: each line a job.  Every line is read and validated first, so
 * that a bad line stops the batch before any job is visible.  Then, a
 * chunk at a time: each job is written whole into its queue's tmp/ with
 * no name (O_TMPFILE; a named tmp/ file where the file system cannot),
 * one syncfs makes the chunk's data durable, and linkat (or rename)
 * commits each into new/.  One fsync per queue directory at the end makes
 * the names durable.  A failure after the first chunk leaves the chunks
 * before it queued, and says which.
 */
static int
batch(int root, const struct flags *f)
{
	struct wf_job *jobs = NULL;
	char **texts = NULL;
	size_t n = 0, cap = 0, lineno = 0, linecap = 0, done = 0, chunk = 0;
	size_t nstaged = 0;
	int *fds = NULL, unnamed = 0, code = EX_IOERR;
	char *line = NULL, err[512], tpath[128], npath[128];
	unsigned used = 0;
	ssize_t len;

	while ((len = getline(&line, &linecap, stdin)) != -1) {
		struct wf_job *j;

		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;
		if ((size_t)len > WF_JOB_MAX) {
			wf_log_warn("stdin line %zu: larger than %d bytes",
			    lineno, WF_JOB_MAX);
			code = EX_DATAERR;
			goto fail;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			void *p = reallocarray(jobs, nc, sizeof(*jobs));

			if (p == NULL)
				goto oom;
			jobs = p;
			if ((p = reallocarray(texts, nc, sizeof(*texts))) == NULL)
				goto oom;
			texts = p;
			cap = nc;
		}
		j = &jobs[n];
		if (make_job(line, (size_t)len, f, j, err, sizeof(err)) == -1) {
			wf_log_warn("stdin line %zu: %s", lineno, err);
			code = EX_DATAERR;
			goto fail;
		}
		texts[n] = NULL;
		n++;
		if (wf_spool_name(j->id, sizeof(j->id)) == -1)
			goto fail;
		j->created_at = wf_clock_wall_ms();
		if ((texts[n - 1] = wf_job_format(j)) == NULL)
			goto oom;
		used |= 1u << j->priority;
	}
	if (ferror(stdin)) {
		wf_log_warn("stdin: %s", strerror(errno));
		goto fail;
	}
	if (n == 0)
		goto out;

	chunk = batch_chunk();
	if ((fds = reallocarray(NULL, chunk, sizeof(*fds))) == NULL)
		goto oom;
	for (size_t k = 0; k < chunk; k++)
		fds[k] = -1;
	snprintf(tpath, sizeof(tpath), "%s/tmp", wf_spool_qdir(jobs[0].priority));
	unnamed = wf_spool_can_stage(root, tpath);
	while (done < n) {
		size_t m = n - done < chunk ? n - done : chunk;

		for (nstaged = 0; nstaged < m; nstaged++) {
			struct wf_job *j = &jobs[done + nstaged];
			const char *s = texts[done + nstaged];
			int rc;

			snprintf(tpath, sizeof(tpath), "%s/tmp",
			    wf_spool_qdir(j->priority));
			if (unnamed)
				rc = fds[nstaged] = wf_spool_stage(root, tpath,
				    s, strlen(s));
			else
				rc = wf_spool_write(root, tpath, tpath, j->id, s,
				    strlen(s), WF_NO_RENAME);
			if (rc == -1) {
				wf_log_warn("write %s/%s: %s", tpath, j->id,
				    strerror(errno));
				code = exit_for_errno(errno);
				goto fail;
			}
		}
		if (syncfs(root) == -1) {
			wf_log_warn("syncfs: %s", strerror(errno));
			code = exit_for_errno(errno);
			goto fail;
		}
		for (; nstaged > 0; nstaged--, done++) {
			struct wf_job *j = &jobs[done];
			int rc;

			snprintf(npath, sizeof(npath), "%s/new",
			    wf_spool_qdir(j->priority));
			if (unnamed) {
				rc = wf_spool_link(root, fds[m - nstaged], npath,
				    j->id);
				if (rc == 0 && close(fds[m - nstaged]) == -1)
					rc = -1; /* linked: only unsure */
				fds[m - nstaged] = -1;
			} else {
				snprintf(tpath, sizeof(tpath), "%s/tmp/%s",
				    wf_spool_qdir(j->priority), j->id);
				snprintf(npath, sizeof(npath), "%s/new/%s",
				    wf_spool_qdir(j->priority), j->id);
				rc = wf_spool_move(root, tpath, npath);
			}
			if (rc == -1) {
				wf_log_warn("commit %s into %s: %s", j->id,
				    npath, strerror(errno));
				code = exit_for_errno(errno);
				goto fail;
			}
			free(texts[done]);
			texts[done] = NULL;
		}
	}
	for (int p = 1; p <= WF_NPRIO; p++)
		if (used & (1u << p)) {
			snprintf(npath, sizeof(npath), "%s/new",
			    wf_spool_qdir(p));
			if (wf_spool_sync_dir(root, npath) == -1) {
				wf_log_warn("fsync %s: %s", npath,
				    strerror(errno));
				goto fail;
			}
		}
out:
	print_jobs(jobs, n, f->json);
	for (size_t i = 0; i < n; i++) {
		wf_job_free(&jobs[i]);
		free(texts[i]);
	}
	free(fds);
	free(texts);
	free(jobs);
	free(line);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
oom:
	wf_log_warn("out of memory");
	code = EX_TEMPFAIL;
fail:
	/* The staged files of the chunk that failed go; a named tmp/ file is
	 * unlinked, an unnamed one vanishes with its descriptor. */
	for (size_t k = 0; unnamed && k < chunk; k++)
		if (fds[k] != -1)
			close(fds[k]);
	for (size_t i = 0; !unnamed && i < nstaged; i++) {
		snprintf(tpath, sizeof(tpath), "%s/tmp/%s",
		    wf_spool_qdir(jobs[done + i].priority), jobs[done + i].id);
		unlinkat(root, tpath, 0);
	}
	if (done > 0)
		wf_log_warn("%zu of %zu jobs were queued before that; their "
		    "ids follow", done, n);
	print_jobs(jobs, done, f->json);
	for (size_t i = 0; i < n; i++) {
		wf_job_free(&jobs[i]);
		free(texts[i]);
	}
	fflush(stdout);
	free(fds);
	free(texts);
	free(jobs);
	free(line);
	return code;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "priority", required_argument, NULL, 'p' },
		{ "lane", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "project-id", required_argument, NULL, 'P' },
		{ "task-id", required_argument, NULL, 'K' },
		{ "run-id", required_argument, NULL, 'R' },
		{ "cwd", required_argument, NULL, 'C' },
		{ "env", required_argument, NULL, 'e' },
		{ "data", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct flags f;
	struct wf_job j;
	struct wf_jobref ref;
	const char *home;
	char err[512], *in = NULL;
	size_t inlen = 0;
	int c, root, code, rc;

	wf_log_init("wf-enqueue", 0);
	memset(&f, 0, sizeof(f));
	while ((c = getopt_long(argc, argv, "+t:p:l:T:m:C:e:d:bwjh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 't':
			if (wf_job_type_parse(optarg) < 0) {
				wf_log_warn("--type: unknown job type '%.40s'",
				    optarg);
				return EX_DATAERR;
			}
			f.type = optarg;
			break;
		case 'p':
			if (wf_job_prio_parse(optarg) < 0) {
				wf_log_warn("--priority: '%.40s' is not "
				    "critical|high|normal|low or 1-4", optarg);
				return EX_DATAERR;
			}
			f.prio = optarg;
			break;
		case 'l':
			f.lane = optarg;
			break;
		case 'T':
			f.timeout = num(optarg, 1, WF_TIMEOUT_MAX, "--timeout");
			break;
		case 'm':
			f.max_attempts = num(optarg, 1, WF_ATTEMPTS_MAX,
			    "--max-attempts");
			break;
		case 'P':
			f.project_id = num(optarg, 1, 1LL << 50, "--project-id");
			break;
		case 'K':
			f.task_id = num(optarg, 1, 1LL << 50, "--task-id");
			break;
		case 'R':
			f.run_id = num(optarg, 1, 1LL << 50, "--run-id");
			break;
		case 'C':
			f.cwd = optarg;
			break;
		case 'e': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg) {
				wf_log_warn("--env: '%.40s' is not K=V", optarg);
				return EX_USAGE;
			}
			if (f.env == NULL)
				f.env = cJSON_CreateObject();
			*eq = '\0';
			cJSON_DeleteItemFromObjectCaseSensitive(f.env, optarg);
			cJSON_AddStringToObject(f.env, optarg, eq + 1);
			*eq = '=';
			break;
		}
		case 'd':
			f.data = optarg;
			break;
		case 'b':
			f.batch = 1;
			break;
		case 'w':
			f.wait = 1;
			break;
		case 'j':
			f.json = 1;
			break;
		case 'h':
			usage(0);
			break;
		case 'V':
			printf("wf-enqueue %s\n", WF_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (optind < argc)
		f.argv = argv + optind;
	if (f.batch && (f.argv != NULL || f.wait)) {
		wf_log_warn("--batch reads jobs from stdin; it takes no command "
		    "and no --wait");
		return EX_USAGE;
	}
	if (f.cwd != NULL) {
		static char abs[PATH_MAX];

		if (realpath(f.cwd, abs) == NULL) {
			wf_log_warn("--cwd %s: %s", f.cwd, strerror(errno));
			return EX_DATAERR;
		}
		f.cwd = abs;
	}

	home = wf_home_dir();
	if ((root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	if (f.batch)
		return batch(root, &f);

	if (f.argv == NULL && f.type == NULL && isatty(STDIN_FILENO)) {
		wf_log_warn("no job: give -- COMMAND, --type, or a JSON job on "
		    "stdin (see --help)");
		return EX_USAGE;
	}
	if (f.argv == NULL && f.data == NULL && !isatty(STDIN_FILENO)) {
		if ((in = read_stdin(WF_JOB_MAX, &inlen)) == NULL) {
			wf_log_warn("stdin: %s", strerror(errno));
			return EX_IOERR;
		}
		if (inlen == 0 || strspn(in, " \t\r\n") == inlen) {
			free(in);
			in = NULL;
			if (f.type == NULL) {
				wf_log_warn("stdin: no job");
				return EX_DATAERR;
			}
		}
	}
	rc = make_job(in, inlen, &f, &j, err, sizeof(err));
	free(in);
	if (rc == -1) {
		wf_log_warn("%s", err);
		cJSON_Delete(f.env);
		return EX_DATAERR;
	}
	if (wf_queue_submit(root, &j, 1) == -1) {
		int e = errno;

		wf_log_warn("%s: %s", home, strerror(e));
		wf_job_free(&j);
		cJSON_Delete(f.env);
		return exit_for_errno(e);
	}
	/* With --wait, --json prints the record the job ended with (the
	 * id alone is printed at once: a script may want it meanwhile). */
	if (!(f.wait && f.json)) {
		print_job(&j, f.json);
		if (fflush(stdout) == EOF)
			return EX_IOERR;
	}
	code = 0;
	if (f.wait) {
		struct wf_job done;

		if (wf_queue_wait(root, j.id, -1, &ref) != 1) {
			wf_log_warn("%s: wait: %s", j.id, strerror(errno));
			return EX_IOERR;
		}
		if (wf_queue_load(root, &ref, &done, err, sizeof(err)) == -1) {
			wf_log_warn("%s", err);
			return EX_IOERR;
		}
		code = wf_queue_exit_code(done.status);
		if (f.json) {
			print_job(&done, 1);
			if (fflush(stdout) == EOF)
				code = EX_IOERR;
		}
		wf_job_free(&done);
	}
	wf_job_free(&j);
	cJSON_Delete(f.env);
	return code;
}
