/*
 * wf board: the store as a text Kanban board.  Tasks in columns by
 * status, runs grouped by state (id, name, iteration, tokens, and why one
 * waits for a human), the bugs still open and the queue's counts, in 100
 * columns; --json gives the same as one object, made by lib/board (which
 * wf-httpd's /api/board serves too).  It only reads: the store's files
 * and the spool's directories.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "board.h"
#include "config.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "sandbox.h"
#include "spool.h"
#include "store.h"
#include "wf.h"

#define WIDTH 100 /* the board's columns */
#define CELL (WIDTH / WF_TASK_NSTATUS) /* a task column, its gap included */

static const char board_usage[] =
    "usage: wf board [--project-id N] [--json]\n"
    "The store at a glance: tasks in columns by status (backlog,\n"
    "in_progress, blocked, done, failed, cancelled); runs by state with\n"
    "their id, name, iteration, tokens (in/out) and why one waits for a\n"
    "human; the open bugs; the queue's jobs waiting, running and failed.\n"
    "With --project-id, only that project's tasks, runs and bugs (the\n"
    "queue is the whole spool's).  --json: one JSON object with the same\n"
    "data.\n";


/* Copy s into buf, at most max bytes, never cutting a UTF-8 sequence, and
 * with control characters as spaces; "~" marks a cut. */
static void
clip(char *buf, size_t max, const char *s)
{
	size_t n = strlen(s), i;

	if (n > max) {
		n = max > 0 ? max - 1 : 0;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	if (n < strlen(s) && max > 0)
		buf[i++] = '~';
	buf[i] = '\0';
}

static void
rule(void)
{
	for (int i = 0; i < WIDTH; i++)
		putchar('-');
	putchar('\n');
}

static void
print_tasks(const cJSON *tasks)
{
	const cJSON *col[WF_TASK_NSTATUS];
	char cell[CELL + 8], head[CELL + 8];
	int rows = 0, n;

	for (int i = 0; i < WF_TASK_NSTATUS; i++) {
		col[i] = cJSON_GetObjectItem(tasks, wf_store_task_status[i]);
		if ((n = cJSON_GetArraySize(col[i])) > rows)
			rows = n;
	}
	printf("TASKS\n");
	for (int i = 0; i < WF_TASK_NSTATUS; i++) {
		snprintf(head, sizeof(head), "%s (%d)", wf_store_task_status[i],
		    cJSON_GetArraySize(col[i]));
		printf("%-*s", i < WF_TASK_NSTATUS - 1 ? CELL : 0, head);
	}
	putchar('\n');
	for (int r = 0; r < rows; r++) {
		int last = 0;

		for (int i = 0; i < WF_TASK_NSTATUS; i++)
			if (cJSON_GetArrayItem(col[i], r) != NULL)
				last = i;
		for (int i = 0; i <= last; i++) {
			const cJSON *t = cJSON_GetArrayItem(col[i], r);
			char text[256];
			int chars = 0;

			cell[0] = '\0';
			if (t != NULL) {
				snprintf(text, sizeof(text), "%s %s",
				    wf_json_str(t, "task_id"), wf_json_str(t, "title"));
				clip(cell, CELL - 1, text);
			}
			/* pad by characters, not bytes */
			for (const char *k = cell; *k != '\0'; k++)
				if (((unsigned char)*k & 0xc0) != 0x80)
					chars++;
			printf("%s%*s", cell, i < last ? CELL - chars : 0, "");
		}
		putchar('\n');
	}
	if (rows == 0)
		printf("(no tasks)\n");
}

static void
print_runs(const cJSON *runs)
{
	const cJSON *col, *r;
	char line[WIDTH + 1], name[40], why[WIDTH];
	int any = 0;

	printf("RUNS\n");
	cJSON_ArrayForEach(col, runs)
	{
		int n = cJSON_GetArraySize(col);

		if (n == 0)
			continue;
		any = 1;
		printf("%s (%d)\n", col->string, n);
		cJSON_ArrayForEach(r, col)
		{
			const char *w = wf_json_str(r, "waiting_reason");

			clip(name, 24, wf_json_str(r, "name") ? wf_json_str(r, "name") : "-");
			snprintf(line, sizeof(line),
			    "  #%-4lld %-24s p%-3lld iter %-2lld tokens "
			    "%lld/%lld",
			    wf_json_int(r, "id"), name, wf_json_int(r, "project_id"),
			    wf_json_int(r, "iteration"), wf_json_int(r, "tokens_in"),
			    wf_json_int(r, "tokens_out"));
			printf("%s\n", line);
			if (cJSON_IsTrue(
				cJSON_GetObjectItem(r, "waiting_for_human"))) {
				clip(why, WIDTH - 33,
				    w != NULL ? w : "(no reason given)");
				printf(
				    "        waiting for a human: %s\n", why);
			}
		}
	}
	if (!any)
		printf("(no runs)\n");
}

static void
print_board(const cJSON *b)
{
	const cJSON *p = cJSON_GetObjectItem(b, "project");
	const cJSON *bugs = cJSON_GetObjectItem(b, "bugs");
	const cJSON *q = cJSON_GetObjectItem(b, "queue");
	char name[64];

	if (cJSON_IsObject(p)) {
		clip(name, 60, wf_json_str(p, "name"));
		printf("wf board: project %lld (%s)\n", wf_json_int(p, "id"), name);
	} else
		printf("wf board: all projects\n");
	rule();
	print_tasks(cJSON_GetObjectItem(b, "tasks"));
	rule();
	print_runs(cJSON_GetObjectItem(b, "runs"));
	rule();
	printf("BUGS   %lld open, %lld in_progress, %lld resolved, "
	       "%lld closed\n",
	    wf_json_int(bugs, "open"), wf_json_int(bugs, "in_progress"),
	    wf_json_int(bugs, "resolved"), wf_json_int(bugs, "closed"));
	printf("QUEUE  %lld waiting, %lld running, %lld failed, "
	       "%lld completed, %lld cancelled\n",
	    wf_json_int(q, "waiting"), wf_json_int(q, "running"), wf_json_int(q, "failed"),
	    wf_json_int(q, "completed"), wf_json_int(q, "cancelled"));
	if (wf_json_str(b, "sandbox") != NULL &&
	    strcmp(wf_json_str(b, "sandbox"), "on") != 0)
		printf("SANDBOX %s\n", wf_json_str(b, "sandbox_note"));
}

int
cmd_board(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "project-id", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	const char *errstr;
	cJSON *project = NULL, *b;
	int64_t project_id = 0;
	int c, json = 0, root;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			project_id =
			    strtonum(optarg, 1, INT64_C(1) << 50, &errstr);
			if (errstr != NULL) {
				wf_log_warn("--project-id: '%.40s' is %s",
				    optarg, errstr);
				return EX_USAGE;
			}
			break;
		case 'j': json = 1; break;
		case 'h': fputs(board_usage, stdout); return 0;
		default: fputs(board_usage, stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		fputs(board_usage, stderr);
		return EX_USAGE;
	}
	if ((root = wf_spool_attach(wf_home_dir())) == -1)
		return EX_CONFIG;
	if (project_id > 0 &&
	    wf_store_get(root, &wf_kind_project, project_id, &project, err,
		sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		close(root);
		return EX_NOINPUT;
	}
	b = wf_board_collect(root, project_id, project);
	cJSON_Delete(project);
	{
		struct wf_config conf;

		/* Never silently off: the board says where agents run. */
		if (b != NULL && wf_config_read(&conf, wf_home_config(NULL),
		    err, sizeof(err)) == 0)
			wf_sandbox_status(&conf.sandbox, b);
	}
	close(root);
	if (json) {
		char *s = cJSON_PrintUnformatted(b);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else
		print_board(b);
	cJSON_Delete(b);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}
