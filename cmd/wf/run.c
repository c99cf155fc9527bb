/*
 * wf run, wf pipeline: runs through the pipeline.  Every change goes
 * through lib/pipeline, the only writer of runs; a report is dropped into
 * reports/new for wf-gate, like any agent's.  wf pipeline follows a run
 * by watching its file (inotify on state/runs), one line per stage, and
 * on a terminal a status line of the stage running, updated in place.
 */
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "handoff.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "pipeline.h"
#include "role.h"
#include "spool.h"
#include "store.h"
#include "worktree.h"
#include "wf.h"

static const char run_usage[] =
    "usage: wf run create --project-id N [--task-id ID] [--name NAME]\n"
    "                     [--request TEXT | --request-file FILE|-]\n"
    "                     [--token-budget TOKENS] [--json]\n"
    "       wf run list [--project-id N] [--json]\n"
    "       wf run show N [--handoffs] [--json]\n"
    "       wf run report N --role R --status pass|fail|pending\n"
    "                     [--summary TEXT] [--details JSON]   (or JSON on stdin)\n"
    "       wf run advance N\n"
    "       wf run retry N\n"
    "       wf run reset-to-dev N [--tasks]\n"
    "       wf run approve-deploy N [--env NAME|ID [--wait [--timeout SECS]]]\n"
    "       wf run diff N [--stat]\n"
    "       wf run merge N\n"
    "       wf run abandon N [--why TEXT]\n"
    "       wf run set-state N STATE --force [--why TEXT]\n"
    "       wf run budget N TOKENS\n"
    "       wf run pm|dev|qa|sec --run-id N\n"
    "States: PM DEV QA SEC READY_FOR_COMMIT MERGED READY_FOR_DEPLOY\n"
    "DEPLOYED, and QA_FAILED SEC_FAILED, DEPLOY_FAILED, ABANDONED.  A run of\n"
    "a git repository works in a worktree of its own on wf/run-N, made from\n"
    "the primary branch when it starts: diff shows what it changed since;\n"
    "merge (a human's) merges wf/run-N into that branch, a fast-forward\n"
    "where it can, else a merge commit, and refuses a conflict, or your\n"
    "uncommitted work where it would write, with the paths, changing\n"
    "nothing: READY_FOR_COMMIT -> MERGED.  abandon ends a run; its worktree\n"
    "goes (as when it is DEPLOYED), its branch stays.\n"
    "report drops a report for wf-gate,\n"
    "which applies it; advance leaves a state whose role passed (or\n"
    "READY_FOR_COMMIT, once wf/run-N is merged into the project's primary\n"
    "branch, and MERGED); retry and reset-to-dev send a failed run\n"
    "back to DEV (--tasks turns the findings into tasks); approve-deploy\n"
    "is a human's, recorded under your login name (with --env, the run\n"
    "goes to TESTING while a deploy job runs the environment's deploy\n"
    "command, health check and tests, then DEPLOYED, or DEPLOY_FAILED\n"
    "after its rollback command; --wait waits for either: exit 0 when\n"
    "DEPLOYED, 1 when DEPLOY_FAILED, with the reason, 75 when --timeout\n"
    "passed; without --env the run is DEPLOYED at once, and --wait returns\n"
    "at once); set-state --force is\n"
    "audited.  show --handoffs prints what each stage handed over (the\n"
    "role, what it was asked, its summary, commits, diff stat, tests, what\n"
    "the gate judged, its log), kept after the worktree is gone.\n"
    "create --request (or --request-file FILE|-) keeps a feature\n"
    "request on the run for PM, as wf pipeline does.  pm|dev|qa|sec\n"
    "enqueue that role's agent job now.  A run\n"
    "with a token budget starts no job once its tokens reach it: it waits\n"
    "for a human, who raises it with budget (0: none) and retries the job\n"
    "(wf queue retry).\n";

static const char pipeline_usage[] =
    "usage: wf pipeline --project-id N [--task-id ID] [--name NAME]\n"
    "                   [--request TEXT | --request-file FILE|-]\n"
    "                   [--token-budget TOKENS] [--detach] [--timeout SECS]\n"
    "Create a run and follow it as the daemons move it: one line per stage\n"
    "with its outcome, duration and tokens (test first reads \"PM: QA\n"
    "writes failing tests first\").  On a terminal, a status line updated\n"
    "in place shows the stage running, its elapsed time, the tokens so far\n"
    "and its job's last output line; not on a terminal, the lines alone.\n"
    "Exit 0 when the run waits for a human's approval (or is deployed), 1\n"
    "when it stopped on a failure or waits for a human for another reason,\n"
    "75 when --timeout passed.\n"
    "--detach prints the run's id and returns at once.  A run whose QA\n"
    "could give no evidence is not started (78, with the reason and the\n"
    "fix): a project with no test command, and a QA role that runs it.\n"
    "--request gives PM a feature request in your words (--request-file\n"
    "reads it from FILE, or standard input for -; at most 64 KiB): PM's\n"
    "prompt has it as {{request}}, a command role as $WF_REQUEST, and the\n"
    "tasks PM makes of it become the project's tasks.\n";

static const char *usage_text = run_usage;

static int root = -1;
static struct wf_config cfg;

static int
setup(void)
{
	const char *home = wf_home_dir();
	char err[512];

	if (wf_config_read(&cfg, wf_home_config(NULL),
	    err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	if ((root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	return 0;
}

static void
print_run(const cJSON *run, int json)
{
	const cJSON *it;

	if (json) {
		cli_json(run);
		return;
	}
	cJSON_ArrayForEach(it, run) {
		char *s;

		if (cJSON_IsNull(it) || strcmp(it->string, "history") == 0 ||
		    strcmp(it->string, "reports") == 0 ||
		    strcmp(it->string, "handoffs") == 0)
			continue;
		if (cJSON_IsString(it))
			printf("%-18s %s\n", it->string, it->valuestring);
		else if ((s = cJSON_PrintUnformatted(it)) != NULL) {
			printf("%-18s %s\n", it->string, s);
			free(s);
		}
	}
	it = cJSON_GetObjectItem(run, "handoffs");
	if (cJSON_GetArraySize(it) > 0)
		printf("%-18s %d (wf run show %lld --handoffs)\n", "handoffs",
		    cJSON_GetArraySize(it), wf_json_int(run, "id"));
	it = cJSON_GetObjectItem(run, "history");
	if (cJSON_GetArraySize(it) > 0)
		printf("history:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(run, "history")) {
		printf("  %s  %-16s -> %-16s %s\n", wf_json_str(it, "at"),
		    wf_json_str(it, "from"), wf_json_str(it, "to"),
		    wf_json_str(it, "why") ? wf_json_str(it, "why") : "");
	}
}

/* Options shared by the verbs: an id first, then flags. */
struct ropts {
	int64_t project_id, task_id, run_id;
	const char *name, *role, *status, *summary, *details, *why, *env;
	const char *request, *request_file;
	int json, tasks, force, detach, stat, wait, handoffs;
	long long timeout, budget;
};

static int
ropts_parse(int argc, char *argv[], struct ropts *o)
{
	static const struct option longopts[] = {
		{ "project-id", required_argument, NULL, 'P' },
		{ "task-id", required_argument, NULL, 'T' },
		{ "task", required_argument, NULL, 'T' },
		{ "run-id", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "status", required_argument, NULL, 's' },
		{ "summary", required_argument, NULL, 'S' },
		{ "details", required_argument, NULL, 'd' },
		{ "why", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "tasks", no_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ "detach", no_argument, NULL, 'D' },
		{ "timeout", required_argument, NULL, 'o' },
		{ "token-budget", required_argument, NULL, 'B' },
		{ "env", required_argument, NULL, 'E' },
		{ "stat", no_argument, NULL, 'X' },
		{ "wait", no_argument, NULL, 'W' },
		{ "request", required_argument, NULL, 'q' },
		{ "handoffs", no_argument, NULL, 'H' },
		{ "request-file", required_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *errstr;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (cli_id(optarg, "project", &o->project_id) != 0)
				return EX_USAGE;
			break;
		case 'T':
			if (cli_id(optarg, "task", &o->task_id) != 0)
				return EX_USAGE;
			break;
		case 'R':
			if (cli_id(optarg, "run", &o->run_id) != 0)
				return EX_USAGE;
			break;
		case 'n': o->name = optarg; break;
		case 'r': o->role = optarg; break;
		case 's': o->status = optarg; break;
		case 'S': o->summary = optarg; break;
		case 'd': o->details = optarg; break;
		case 'w': o->why = optarg; break;
		case 'j': o->json = 1; break;
		case 't': o->tasks = 1; break;
		case 'f': o->force = 1; break;
		case 'D': o->detach = 1; break;
		case 'o':
			o->timeout = strtonum(optarg, 1, 86400 * 7, &errstr);
			if (errstr != NULL) {
				wf_log_warn("--timeout: '%.40s' is %s", optarg,
				    errstr);
				return EX_USAGE;
			}
			break;
		case 'E': o->env = optarg; break;
		case 'X': o->stat = 1; break;
		case 'W': o->wait = 1; break;
		case 'q': o->request = optarg; break;
		case 'H': o->handoffs = 1; break;
		case 'Q': o->request_file = optarg; break;
		case 'B':
			o->budget = strtonum(optarg, 0, 1000000000000LL,
			    &errstr);
			if (errstr != NULL) {
				wf_log_warn("--token-budget: '%.40s' is %s",
				    optarg, errstr);
				return EX_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return EX_USAGE;
		}
	}
	return 0;
}

/* The run id: the first operand. */
static int
operand_id(int argc, char *argv[], struct ropts *o)
{
	if (o->run_id > 0 && optind == argc)
		return 0;
	if (argc - optind < 1) {
		fputs(run_usage, stderr);
		return EX_USAGE;
	}
	return cli_id(argv[optind++], "run", &o->run_id);
}

static int
fail_code(const char *err)
{
	wf_log_warn("%s", err);
	return strstr(err, "no such") != NULL ? EX_NOINPUT : EX_DATAERR;
}

/*
 * The feature request of --request or --request-file (- for standard
 * input), as the API takes one: at most WF_PIPELINE_REQUEST_MAX bytes,
 * no NUL byte, and a blank one is none.  *buf is the caller's to free.
 */
static int
request_text(const struct ropts *o, char **buf, const char **request)
{
	size_t len = 0, cap = WF_PIPELINE_REQUEST_MAX + 2;
	int fd, self;
	ssize_t n;

	*buf = NULL;
	*request = NULL;
	if (o->request != NULL && o->request_file != NULL) {
		wf_log_warn("--request and --request-file: give one");
		return EX_USAGE;
	}
	if (o->request_file == NULL) {
		*request = o->request;
		len = o->request != NULL ? strlen(o->request) : 0;
	} else {
		self = strcmp(o->request_file, "-") == 0;
		if ((fd = self ? STDIN_FILENO : open(o->request_file,
		    O_RDONLY | O_CLOEXEC)) == -1) {
			wf_log_warn("%s: %s", o->request_file, strerror(errno));
			return EX_NOINPUT;
		}
		if ((*buf = malloc(cap)) == NULL) {
			if (!self)
				close(fd);
			return EX_OSERR;
		}
		/* One byte past the bound tells a request that is too long. */
		while (len < cap - 1 && ((n = read(fd, *buf + len,
		    cap - 1 - len)) > 0 || (n == -1 && errno == EINTR)))
			len += n > 0 ? (size_t)n : 0;
		if (n == -1)
			wf_log_warn("%s: %s", o->request_file, strerror(errno));
		if (!self)
			close(fd);
		if (n == -1)
			return EX_IOERR;
		(*buf)[len] = '\0';
		if (memchr(*buf, '\0', len) != NULL) {
			wf_log_warn("%s: the request holds a NUL byte: it is "
			    "text", o->request_file);
			return EX_DATAERR;
		}
		*request = *buf;
	}
	if (len > WF_PIPELINE_REQUEST_MAX) {
		wf_log_warn("the request is longer than %d bytes",
		    WF_PIPELINE_REQUEST_MAX);
		return EX_DATAERR;
	}
	/* Blank: no request, as the API and the page say. */
	if (*request != NULL && (*request)[strspn(*request, " \t\r\n")] ==
	    '\0')
		*request = NULL;
	return 0;
}

static int
r_create(struct ropts *o)
{
	char err[512], *rbuf;
	const char *request;
	int64_t id;
	cJSON *run;
	int rc;

	if (o->project_id == 0) {
		wf_log_warn("run create needs --project-id");
		return EX_USAGE;
	}
	if ((rc = request_text(o, &rbuf, &request)) != 0) {
		free(rbuf);
		return rc;
	}
	rc = wf_pipeline_create_request(root, &cfg.pipeline, o->project_id,
	    o->task_id, o->name, request, &id, err, sizeof(err));
	free(rbuf);
	if (rc == -1)
		return fail_code(err);
	if (o->budget > 0 && wf_pipeline_budget(root, &cfg.pipeline, id,
	    o->budget, err, sizeof(err)) == -1)
		return fail_code(err);
	if (wf_store_get(root, &wf_kind_run, id, &run, err, sizeof(err)) == 0) {
		if (wf_json_str(run, "worktree_note") != NULL)
			wf_log_warn("run %lld: %s", (long long)id,
			    wf_json_str(run, "worktree_note"));
		if (o->json)
			cli_json(run);
		cJSON_Delete(run);
		if (o->json)
			return 0;
	}
	printf("%lld\n", (long long)id);
	return 0;
}

/* wf run diff N [--stat]: what the run changed since it began. */
static int
r_diff(struct ropts *o)
{
	char err[512], *out = NULL;
	cJSON *run = NULL, *project = NULL;
	size_t len;
	int rc;

	if (wf_store_get(root, &wf_kind_run, o->run_id, &run, err,
	    sizeof(err)) == -1)
		return fail_code(err);
	if (wf_json_str(run, "branch") == NULL) {
		wf_log_warn("run %lld has no branch of its own: %s",
		    (long long)o->run_id, wf_json_str(run, "worktree_note") ?
		    wf_json_str(run, "worktree_note") : "it was made before wf "
		    "gave runs their own worktree");
		cJSON_Delete(run);
		return EX_DATAERR;
	}
	if (wf_store_get(root, &wf_kind_project, wf_json_int(run, "project_id"),
	    &project, err, sizeof(err)) == -1 ||
	    wf_worktree_diff(wf_json_str(project, "repo_path"),
	    wf_json_str(run, "base_commit"), wf_json_str(run, "branch"),
	    o->stat, &out, &len, err, sizeof(err)) == -1) {
		rc = fail_code(err);
		goto out;
	}
	rc = fwrite(out, 1, len, stdout) == len ? cli_flush() : EX_IOERR;
out:
	free(out);
	cJSON_Delete(run);
	cJSON_Delete(project);
	return rc;
}

static int
r_list(struct ropts *o)
{
	cJSON *all = wf_store_list(root, &wf_kind_run, o->project_id), *it;

	if (o->json) {
		cli_json(all);
		cJSON_Delete(all);
		return 0;
	}
	if (cJSON_GetArraySize(all) > 0)
		printf("%-5s %-7s %-18s %-4s %-6s %s\n", "ID", "PROJECT", "STATE",
		    "ITER", "HUMAN", "NAME");
	cJSON_ArrayForEach(it, all) {
		printf("%-5lld %-7lld %-18s %-4lld %-6s %s\n",
		    (long long)wf_json_int(it, "id"), (long long)wf_json_int(it, "project_id"),
		    wf_json_str(it, "state") ? wf_json_str(it, "state") : "?",
		    (long long)wf_json_int(it, "iteration"),
		    cJSON_IsTrue(cJSON_GetObjectItem(it, "waiting_for_human")) ?
		    "wait" : "", wf_json_str(it, "name") ? wf_json_str(it, "name") : "");
	}
	cJSON_Delete(all);
	return 0;
}

/* wf run show N --handoffs: each stage's record (consumes run). */
static int
show_handoffs(cJSON *run, int json)
{
	cJSON *h = cJSON_GetObjectItem(run, "handoffs");
	char *text;
	int rc;

	if (json) {
		if (cJSON_IsArray(h))
			cli_json(h);
		else
			printf("[]\n");
		cJSON_Delete(run);
		return cli_flush();
	}
	if ((text = wf_handoff_text(h, 0)) == NULL) {
		cJSON_Delete(run);
		return EX_OSERR;
	}
	if (text[0] == '\0')
		printf("run %lld: no handoff yet\n", wf_json_int(run, "id"));
	else
		fputs(text, stdout);
	free(text);
	cJSON_Delete(run);
	rc = cli_flush();
	return rc;
}

static int
r_show(struct ropts *o)
{
	char err[512];
	cJSON *run;

	if (wf_store_get(root, &wf_kind_run, o->run_id, &run, err,
	    sizeof(err)) == -1)
		return fail_code(err);
	if (o->handoffs)
		return show_handoffs(run, o->json);
	print_run(run, o->json);
	cJSON_Delete(run);
	return 0;
}

static int
r_report(struct ropts *o)
{
	char err[512], id[WF_NAME_MAX + 1], *buf = NULL;
	cJSON *rep = NULL;
	int rc = EX_DATAERR;

	if (o->role == NULL && o->status == NULL && !isatty(STDIN_FILENO)) {
		size_t cap = 1 << 20, len = 0;
		ssize_t r;

		if ((buf = malloc(cap + 1)) == NULL)
			return EX_OSERR;
		while ((r = read(STDIN_FILENO, buf + len, cap - len)) > 0)
			len += (size_t)r;
		buf[len] = '\0';
		rep = cJSON_ParseWithLength(buf, len);
		free(buf);
		if (!cJSON_IsObject(rep)) {
			wf_log_warn("stdin: not a JSON report");
			goto out;
		}
	} else {
		if (o->role == NULL || o->status == NULL) {
			wf_log_warn("report needs --role and --status (or a JSON "
			    "report on stdin)");
			return EX_USAGE;
		}
		rep = cJSON_CreateObject();
		cJSON_AddStringToObject(rep, "role", o->role);
		cJSON_AddStringToObject(rep, "status", o->status);
		if (o->summary != NULL)
			cJSON_AddStringToObject(rep, "summary", o->summary);
		if (o->details != NULL) {
			cJSON *d = cJSON_Parse(o->details);

			if (!cJSON_IsObject(d)) {
				cJSON_Delete(d);
				wf_log_warn("--details: not a JSON object");
				goto out;
			}
			cJSON_AddItemToObject(rep, "details", d);
		}
	}
	if (wf_pipeline_drop_report(root, o->run_id, rep, id, sizeof(id), err,
	    sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		rc = errno == EINVAL ? EX_DATAERR : EX_IOERR;
		goto out;
	}
	printf("%s\n", id);
	rc = 0;
out:
	cJSON_Delete(rep);
	return rc;
}

static int
r_role(const char *role, struct ropts *o)
{
	char err[512], id[WF_NAME_MAX + 1];

	if (o->run_id == 0) {
		wf_log_warn("run %s needs --run-id N", role);
		return EX_USAGE;
	}
	if (wf_pipeline_run_role(root, &cfg.pipeline, o->run_id, role, id,
	    sizeof(id), err, sizeof(err)) == -1)
		return fail_code(err);
	printf("%s\n", id);
	return 0;
}

/*
 * Watch state/runs: an inotify descriptor that wakes on every run file
 * renamed into place, or -1 after saying why.
 */
static int
watch_runs(void)
{
	char path[PATH_MAX];
	int ifd, n;

	if ((ifd = inotify_init1(IN_CLOEXEC)) == -1) {
		wf_log_warn("inotify: %s", strerror(errno));
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/state/runs", wf_home_dir());
	if (n < 0 || (size_t)n >= sizeof(path)) {
		wf_log_warn("%s/state/runs: path too long", wf_home_dir());
		close(ifd);
		return -1;
	}
	if (inotify_add_watch(ifd, path, IN_MOVED_TO) == -1) {
		wf_log_warn("inotify %s: %s", path, strerror(errno));
		close(ifd);
		return -1;
	}
	return ifd;
}

/*
 * Sleep until a run file changes, at most max_ms (-1: no limit) and not
 * past deadline (monotonic ms, -1: none).  An event only says: look
 * again; the caller re-reads the file either way.  -1 once the deadline
 * passed.
 */
static int
wait_runs(int ifd, int64_t deadline, int max_ms)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd pfd = { ifd, POLLIN, 0 };
	int wait_ms = max_ms;

	if (deadline >= 0) {
		int64_t left = deadline - wf_clock_mono_ms();

		if (left <= 0)
			return -1;
		if (wait_ms < 0 || left < wait_ms)
			wait_ms = (int)left;
	}
	if (poll(&pfd, 1, wait_ms) > 0)
		(void)!read(ifd, buf, sizeof(buf));
	return 0;
}

/*
 * approve-deploy --wait: follow the run until it leaves TESTING.  0 when
 * DEPLOYED, 1 when it stopped elsewhere (DEPLOY_FAILED, with the reason),
 * 75 when the deadline passed.
 */
static int
wait_deploy(int ifd, int64_t id, long long timeout)
{
	int64_t deadline = timeout > 0 ? wf_clock_mono_ms() + timeout * 1000 :
	    -1;
	char err[512];

	for (;;) {
		const char *state, *why;
		cJSON *run;
		int rc;

		/* The file is the truth; re-read on each wake, and each second. */
		if (wf_store_get(root, &wf_kind_run, id, &run, err,
		    sizeof(err)) == -1)
			return fail_code(err);
		state = wf_json_str(run, "state") ? wf_json_str(run, "state") :
		    "?";
		if (strcmp(state, "TESTING") != 0) {
			printf("run %lld: %s\n", (long long)id, state);
			rc = strcmp(state, "DEPLOYED") == 0 ? 0 : 1;
			if (rc != 0) {
				why = wf_json_str(run, "waiting_reason");
				wf_log_warn("run %lld: %s", (long long)id,
				    why != NULL ? why : "not deployed");
			}
			cJSON_Delete(run);
			return rc;
		}
		cJSON_Delete(run);
		if (wait_runs(ifd, deadline, 1000) == -1) {
			printf("run %lld: TESTING\n", (long long)id);
			wf_log_warn("run %lld: still TESTING after %lld s",
			    (long long)id, timeout);
			return EX_TEMPFAIL;
		}
	}
}

int
cmd_run(int argc, char *argv[])
{
	struct ropts o;
	const char *verb;
	char err[512];
	int rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fputs(run_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE : 0;
	}
	verb = argv[1];
	if ((rc = ropts_parse(argc - 1, argv + 1, &o)) != 0)
		return rc;
	argc--;
	argv++;
	if ((rc = setup()) != 0)
		return rc;
	if (strcmp(verb, "create") == 0)
		return r_create(&o);
	if (strcmp(verb, "list") == 0)
		return r_list(&o);
	if (strcmp(verb, "pm") == 0 || strcmp(verb, "dev") == 0 ||
	    strcmp(verb, "qa") == 0 || strcmp(verb, "sec") == 0)
		return r_role(verb, &o);
	if (strcmp(verb, "set-state") == 0) {
		const char *state;

		if ((rc = operand_id(argc, argv, &o)) != 0)
			return rc;
		if (optind >= argc) {
			wf_log_warn("set-state needs a STATE");
			return EX_USAGE;
		}
		state = argv[optind];
		if (!o.force) {
			wf_log_warn("set-state skips the gates: say --force");
			return EX_USAGE;
		}
		if (wf_pipeline_set_state(root, &cfg.pipeline, o.run_id, state,
		    o.why, err, sizeof(err)) == -1)
			return fail_code(err);
		printf("run %lld: %s\n", (long long)o.run_id, state);
		return 0;
	}
	if (strcmp(verb, "budget") == 0) {
		const char *errstr;
		long long b;

		if ((rc = operand_id(argc, argv, &o)) != 0)
			return rc;
		if (optind + 1 != argc) {
			wf_log_warn("budget needs TOKENS (0: no budget)");
			return EX_USAGE;
		}
		b = strtonum(argv[optind], 0, 1000000000000LL, &errstr);
		if (errstr != NULL) {
			wf_log_warn("budget: '%.40s' is %s", argv[optind],
			    errstr);
			return EX_USAGE;
		}
		if (wf_pipeline_budget(root, &cfg.pipeline, o.run_id, b, err,
		    sizeof(err)) == -1)
			return fail_code(err);
		printf("run %lld: token budget %lld\n", (long long)o.run_id, b);
		return 0;
	}
	if ((rc = operand_id(argc, argv, &o)) != 0)
		return rc;
	if (optind != argc) {
		fputs(run_usage, stderr);
		return EX_USAGE;
	}
	if (strcmp(verb, "show") == 0)
		return r_show(&o);
	if (strcmp(verb, "diff") == 0)
		return r_diff(&o);
	if (strcmp(verb, "report") == 0)
		return r_report(&o);
	if (strcmp(verb, "advance") == 0)
		rc = wf_pipeline_advance(root, &cfg.pipeline, o.run_id, err,
		    sizeof(err));
	else if (strcmp(verb, "merge") == 0)
		rc = wf_pipeline_merge(root, &cfg.pipeline, o.run_id, err,
		    sizeof(err));
	else if (strcmp(verb, "abandon") == 0)
		rc = wf_pipeline_abandon(root, &cfg.pipeline, o.run_id, o.why,
		    err, sizeof(err));
	else if (strcmp(verb, "retry") == 0)
		rc = wf_pipeline_retry(root, &cfg.pipeline, o.run_id, err,
		    sizeof(err));
	else if (strcmp(verb, "reset-to-dev") == 0)
		rc = wf_pipeline_reset_to_dev(root, &cfg.pipeline, o.run_id,
		    o.tasks, err, sizeof(err));
	else if (strcmp(verb, "approve-deploy") == 0) {
		int64_t env = 0;
		int ifd = -1;

		if (o.timeout > 0 && !o.wait) {
			wf_log_warn("approve-deploy: --timeout goes with --wait");
			return EX_USAGE;
		}
		if (o.env != NULL && (env = wf_pipeline_run_env(root, o.run_id, o.env, err,
		    sizeof(err))) == -1)
			return fail_code(err);
		/* Watch before approving: no move goes unseen. */
		if (o.wait && (ifd = watch_runs()) == -1)
			return EX_OSERR;
		rc = wf_pipeline_approve_deploy(root, &cfg.pipeline, o.run_id,
		    env, err, sizeof(err));
		if (rc == 0 && o.wait) {
			rc = wait_deploy(ifd, o.run_id, o.timeout);
			close(ifd);
			return rc;
		}
		if (ifd != -1)
			close(ifd);
	}
	else {
		wf_log_warn("run %.40s: unknown verb", verb);
		fputs(run_usage, stderr);
		return EX_USAGE;
	}
	if (rc == -1)
		return fail_code(err);
	{
		cJSON *run;

		if (wf_store_get(root, &wf_kind_run, o.run_id, &run, err,
		    sizeof(err)) == 0) {
			printf("run %lld: %s\n", (long long)o.run_id,
			    wf_json_str(run, "state"));
			cJSON_Delete(run);
		}
	}
	return 0;
}

/*
 * wf pipeline: create a run and follow it.  One line per stage left,
 * with its outcome and duration; the exit status says how it stopped:
 * 0 waiting for a human's approval (or deployed), 1 stopped on a
 * failure, 75 the --timeout passed.
 */
static void
stage_line(const cJSON *run, const cJSON *h, const char *since)
{
	int64_t a = 0, b = 0;
	const char *from = wf_json_str(h, "from"), *to = wf_json_str(h, "to");
	const cJSON *res = NULL;
	const char *role = strcmp(from, "PM") == 0 ? "pm" :
	    strcmp(from, "DEV") == 0 ? "dev" : strcmp(from, "QA") == 0 ? "qa" :
	    strcmp(from, "SEC") == 0 ? "security" : NULL;

	if (since != NULL)
		wf_clock_parse_iso(since, &a);
	wf_clock_parse_iso(wf_json_str(h, "at"), &b);
	const char *why = wf_json_str(h, "why") ? wf_json_str(h, "why") : "";
	char label[64];

	if (role != NULL)
		res = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "results"),
		    role);
	/*
	 * Test first moves PM to PM (the phase is the run's, not the
	 * history's): say what happens rather than "PM -> PM".
	 */
	if (strcmp(from, "PM") == 0 && strcmp(to, "PM") == 0 &&
	    strstr(why, "tdd") != NULL && strstr(why, "pm starts again") == NULL) {
		strlcpy(label, strstr(why, "starts again") == NULL ?
		    "PM: QA writes failing tests first" :
		    "QA: failing tests first, again", sizeof(label));
		res = NULL;
	} else if (snprintf(label, sizeof(label), "%-16s -> %-16s", from,
	    to) >= (int)sizeof(label))
		label[sizeof(label) - 1] = '\0';
	printf("%-36s %7.2fs  %s\n", label,
	    a > 0 ? (double)(b - a) / 1000 : 0.0, why);
	if (res != NULL && wf_json_str(res, "summary") != NULL)
		printf("    %s\n", wf_json_str(res, "summary"));
	fflush(stdout);
}

/*
 * The status line of wf pipeline on a terminal: the stage, its elapsed
 * time, the tokens so far and its job's last output line, redrawn in
 * place (\r, the text, clear to the end of the line: one write, no
 * flicker) at most every PROGRESS_MS, and cleared before a stage line.
 */
#define PROGRESS_MS 250

struct progress {
	int on;          /* stdout is a terminal */
	int shown;       /* a status line is on the screen */
	int64_t drawn;   /* monotonic ms of the last draw */
	char text[1024]; /* what it shows */
};

static void
progress_clear(struct progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stdout);
	fflush(stdout);
	p->shown = 0;
	p->text[0] = '\0';
}

static int
term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * The id of the run's claimed job of this role and iteration (active/;
 * the stage before may still be finishing), or -1 when none is.
 */
static int
running_job(int64_t run_id, const char *role, int64_t iter, char *id,
    size_t idlen)
{
	struct dirent *de;
	DIR *d;
	int dfd, found = -1;

	if ((dfd = openat(root, "active", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while (found == -1 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX], *buf = NULL;
		const cJSON *rd;
		size_t len, n;
		cJSON *job;

		n = strlen(de->d_name);
		if (!wf_spool_name_ok(de->d_name) || (n > 4 &&
		    strcmp(de->d_name + n - 4, ".pid") == 0) || (n > 7 &&
		    strcmp(de->d_name + n - 7, ".result") == 0))
			continue;
		if (snprintf(path, sizeof(path), "active/%s", de->d_name) >=
		    (int)sizeof(path) || wf_spool_read(root, path, WF_JOB_MAX,
		    &buf, &len) == -1)
			continue;
		job = cJSON_ParseWithLength(buf, len);
		free(buf);
		rd = cJSON_GetObjectItem(job, "request_data");
		if (wf_json_int(rd, "run_id") == run_id &&
		    wf_json_str(rd, "role") != NULL &&
		    strcmp(wf_json_str(rd, "role"), role) == 0 &&
		    wf_json_int(rd, "iteration") == iter &&
		    strlcpy(id, de->d_name, idlen) < idlen)
			found = 0;
		cJSON_Delete(job);
	}
	closedir(d);
	return found;
}

/*
 * The last line of a job's output (output/ID.log), its control
 * characters made spaces; "" when it has none yet.
 */
static void
last_line(const char *job, char *out, size_t outlen)
{
	char path[PATH_MAX], buf[4096];
	struct stat st;
	ssize_t r;
	off_t off;
	size_t b, e, i, o = 0;
	int fd;

	out[0] = '\0';
	if (snprintf(path, sizeof(path), "output/%s.log", job) >=
	    (int)sizeof(path))
		return;
	if ((fd = openat(root, path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	off = fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(buf) ?
	    st.st_size - (off_t)sizeof(buf) : 0;
	r = pread(fd, buf, sizeof(buf), off);
	close(fd);
	if (r <= 0)
		return;
	for (e = (size_t)r; e > 0 && (buf[e - 1] == '\n' ||
	    buf[e - 1] == '\r' || buf[e - 1] == ' '); e--)
		;
	for (b = e; b > 0 && buf[b - 1] != '\n'; b--)
		;
	/* The log's own header is not the job's output. */
	if (e - b >= 7 && strncmp(buf + b, "--- wf:", 7) == 0)
		return;
	for (i = b; i < e && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)buf[i];

		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[o] = '\0';
}

/* Cut s to cols columns (UTF-8: a column a character), on a boundary. */
static void
fit(char *s, int cols)
{
	int n = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n++ == cols) {
			s[i] = '\0';
			return;
		}
	}
}

static void
progress_draw(struct progress *p, const cJSON *run, const char *since)
{
	char text[sizeof(p->text)], job[WF_NAME_MAX + 1], out[512], el[32];
	const char *state = wf_json_str(run, "state"), *phase, *role;
	int64_t now = wf_clock_mono_ms(), t0 = 0, secs;
	int tdd;

	if (!p->on || state == NULL || (p->shown && now - p->drawn <
	    PROGRESS_MS))
		return;
	phase = wf_json_str(run, "phase");
	if (since == NULL || wf_clock_parse_iso(since, &t0) == -1)
		t0 = wf_clock_wall_ms();
	secs = (wf_clock_wall_ms() - t0) / 1000;
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(el, sizeof(el), "%llds", (long long)secs);
	else
		snprintf(el, sizeof(el), "%lldm%02llds", (long long)secs / 60,
		    (long long)secs % 60);
	tdd = strcmp(state, "PM") == 0 && phase != NULL &&
	    strcmp(phase, "tdd") == 0;
	role = tdd ? "qa" : strcmp(state, "PM") == 0 ? "pm" :
	    strcmp(state, "DEV") == 0 ? "dev" : strcmp(state, "QA") == 0 ?
	    "qa" : strcmp(state, "SEC") == 0 ? "security" : "";
	if (running_job(wf_json_int(run, "id"), role, wf_json_int(run,
	    "iteration"), job, sizeof(job)) == 0)
		last_line(job, out, sizeof(out));
	else
		strlcpy(out, "(its job waits for a worker)", sizeof(out));
	if (snprintf(text, sizeof(text), "%s %s  tokens %lld in / %lld out  %s",
	    tdd ? "QA (failing tests first)" : state, el,
	    wf_json_int(run, "tokens_in"), wf_json_int(run, "tokens_out"),
	    out) >= (int)sizeof(text))
		text[sizeof(text) - 1] = '\0';
	/* One column short of the width: a full line would wrap. */
	fit(text, term_width() - 1);
	if (p->shown && strcmp(text, p->text) == 0)
		return;
	printf("\r%s\033[K", text);
	fflush(stdout);
	strlcpy(p->text, text, sizeof(p->text));
	p->shown = 1;
	p->drawn = now;
}

/*
 * Refuse a run whose QA could give no evidence (see wf_role_qa_evidence):
 * it would fail QA max_iter times.  0, or an exit code after the reason
 * and the fix.  A missing project is wf_pipeline_create's to say.
 */
static int
qa_evidence(int64_t project_id)
{
	struct wf_role qa;
	char err[512], why[512], fix[512];
	cJSON *proj;
	int ok;

	if (wf_store_get(root, &wf_kind_project, project_id, &proj, err,
	    sizeof(err)) == -1)
		return 0;
	if (wf_role_load(cfg.roles_dir, "qa", &qa, err, sizeof(err)) == -1) {
		cJSON_Delete(proj);
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	ok = wf_role_qa_evidence(&qa, wf_json_str(proj, "test_command"),
	    why, sizeof(why), fix, sizeof(fix));
	cJSON_Delete(proj);
	if (ok)
		return 0;
	wf_log_warn("project %lld: QA cannot give evidence: %s",
	    (long long)project_id, why);
	wf_log_warn("fix: %s", fix);
	return EX_CONFIG;
}

int
cmd_pipeline(int argc, char *argv[])
{
	struct ropts o;
	struct progress pr = { 0 };
	char err[512], cur[32], *rbuf;
	int64_t id, deadline;
	const char *last_at, *request;
	int rc, seen = 0, ifd;

	usage_text = pipeline_usage;
	if ((rc = ropts_parse(argc, argv, &o)) != 0)
		return rc;
	if (o.project_id == 0 || optind != argc) {
		fputs(pipeline_usage, stderr);
		return EX_USAGE;
	}
	if ((rc = setup()) != 0)
		return rc;
	if ((ifd = watch_runs()) == -1)
		return EX_OSERR;
	if ((rc = qa_evidence(o.project_id)) != 0)
		return rc;
	if ((rc = request_text(&o, &rbuf, &request)) != 0) {
		free(rbuf);
		return rc;
	}
	rc = wf_pipeline_create_request(root, &cfg.pipeline, o.project_id,
	    o.task_id, o.name, request, &id, err, sizeof(err));
	free(rbuf);
	if (rc == -1)
		return fail_code(err);
	if (o.budget > 0 && wf_pipeline_budget(root, &cfg.pipeline, id,
	    o.budget, err, sizeof(err)) == -1)
		return fail_code(err);
	printf("run %lld created for project %lld\n", (long long)id,
	    (long long)o.project_id);
	fflush(stdout);
	if (o.detach)
		return 0;
	deadline = o.timeout > 0 ? wf_clock_mono_ms() + o.timeout * 1000 : -1;
	pr.on = isatty(STDOUT_FILENO);
	last_at = NULL;
	for (;;) {
		const cJSON *h, *e;
		const char *state;
		cJSON *run;
		int i = 0;

		/* The file is the truth; an event only says: look again. */
		if (wf_store_get(root, &wf_kind_run, id, &run, err,
		    sizeof(err)) == -1)
			return fail_code(err);
		h = cJSON_GetObjectItem(run, "history");
		last_at = wf_json_str(run, "created_at");
		cJSON_ArrayForEach(e, h) {
			if (i++ >= seen) {
				progress_clear(&pr);
				stage_line(run, e, last_at);
			}
			last_at = wf_json_str(e, "at");
		}
		seen = i;
		state = wf_json_str(run, "state") ? wf_json_str(run, "state") : "?";
		strlcpy(cur, state, sizeof(cur));
		if (strcmp(state, "DEPLOYED") == 0 ||
		    strcmp(state, "READY_FOR_DEPLOY") == 0 ||
		    strcmp(state, "READY_FOR_COMMIT") == 0 ||
		    cJSON_IsTrue(cJSON_GetObjectItem(run, "waiting_for_human"))) {
			int failed = cJSON_IsTrue(cJSON_GetObjectItem(run,
			    "waiting_for_human"));
			progress_clear(&pr);

			printf("run %lld: %s, tokens %lld in / %lld out\n",
			    (long long)id, state, (long long)wf_json_int(run,
			    "tokens_in"), (long long)wf_json_int(run, "tokens_out"));
			if (failed)
				printf("stopped: %s\n", wf_json_str(run,
				    "waiting_reason") ? wf_json_str(run,
				    "waiting_reason") : "waiting for a human");
			else if (strcmp(state, "READY_FOR_COMMIT") == 0 &&
			    wf_json_str(run, "branch") != NULL)
				printf("waiting for a human: review it (wf run "
				    "diff %lld), then merge it (wf run merge "
				    "%lld)\n", (long long)id, (long long)id);
			else if (strcmp(state, "READY_FOR_COMMIT") == 0)
				printf("waiting for a human: wf run advance "
				    "%lld (no branch of its own to merge)\n",
				    (long long)id);
			else if (strcmp(state, "READY_FOR_DEPLOY") == 0)
				printf("waiting for a human: wf run "
				    "approve-deploy %lld\n", (long long)id);
			cJSON_Delete(run);
			return failed ? 1 : 0;
		}
		progress_draw(&pr, run, last_at);
		cJSON_Delete(run);
		if (wait_runs(ifd, deadline, pr.on ? PROGRESS_MS : -1) == -1) {
			progress_clear(&pr);
			wf_log_warn("run %lld: still %s after %lld s",
			    (long long)id, cur, o.timeout);
			return EX_TEMPFAIL;
		}
	}
}
