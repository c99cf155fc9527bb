/*
 * wf board: the store as a text Kanban board.  Tasks in columns by the
 * stage of the pipeline they are in (the seed's Backlog, PM, DEV, QA, SEC,
 * DOCS, Complete) and what those not ready wait on, runs grouped by state (id, name, iteration, tokens, and why one
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
#include "taskdep.h"
#include "wf.h"

#define WIDTH 100 /* the board's columns */
#define CELL (WIDTH / WF_TASKDEP_NSTAGES) /* a task column, its gap too */

static const char board_usage[] =
    "usage: wf board [--project-id N] [--json]\n"
    "The store at a glance: tasks in columns by the stage of the pipeline\n"
    "they are in (Backlog, PM, DEV, QA, SEC, DOCS, Complete: from the run\n"
    "that works on each), then what each task not ready waits on or why\n"
    "it is blocked; runs by state with their id, name, iteration, tokens\n"
    "(in/out) and why one waits for a human; the open bugs; the queue's\n"
    "jobs waiting, running and failed.  With --project-id, only that\n"
    "project's tasks, runs and bugs (the queue is the whole spool's).\n"
    "--json: one JSON object with the same data, and the tasks by status.\n";


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

/* The heading of a stage's column: the seed's words. */
static const char *
stage_title(const char *stage)
{
	if (strcmp(stage, "NONE") == 0)
		return "Backlog";
	if (strcmp(stage, "COMPLETE") == 0)
		return "Complete";
	return stage;
}

static void
print_tasks(const cJSON *stages)
{
	const cJSON *col[WF_TASKDEP_NSTAGES], *t;
	char cell[CELL + 8], head[CELL + 8], why[WIDTH + 8], line[2 * WIDTH];
	int rows = 0, n, notready = 0;

	for (int i = 0; i < WF_TASKDEP_NSTAGES; i++) {
		col[i] = cJSON_GetObjectItem(stages, wf_taskdep_stages[i]);
		if ((n = cJSON_GetArraySize(col[i])) > rows)
			rows = n;
	}
	printf("TASKS\n");
	for (int i = 0; i < WF_TASKDEP_NSTAGES; i++) {
		snprintf(head, sizeof(head), "%s (%d)",
		    stage_title(wf_taskdep_stages[i]),
		    cJSON_GetArraySize(col[i]));
		printf("%-*s", i < WF_TASKDEP_NSTAGES - 1 ? CELL : 0, head);
	}
	putchar('\n');
	for (int r = 0; r < rows; r++) {
		int last = 0;

		for (int i = 0; i < WF_TASKDEP_NSTAGES; i++)
			if (cJSON_GetArrayItem(col[i], r) != NULL)
				last = i;
		for (int i = 0; i <= last; i++) {
			char text[256];
			int chars = 0;

			t = cJSON_GetArrayItem(col[i], r);
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
	if (rows == 0) {
		printf("(no tasks)\n");
		return;
	}
	/* What the tasks yet to be done wait on: the columns have no room
	 * for it, and it is what a human acts on. */
	for (int i = 0; i < WF_TASKDEP_NSTAGES; i++) {
		cJSON_ArrayForEach(t, col[i]) {
			const cJSON *rd = cJSON_GetObjectItem(t, "readiness");
			const char *st = wf_json_str(t, "status"), *w;
			const char *rs = wf_json_str(rd, "state");

			if (st == NULL || strcmp(st, "done") == 0 ||
			    strcmp(st, "cancelled") == 0 || rs == NULL ||
			    strcmp(rs, "ready") == 0 ||
			    (w = wf_json_str(rd, "why")) == NULL)
				continue;
			if (!notready++)
				printf("NOT READY\n");
			snprintf(line, sizeof(line), "%s %s",
			    wf_json_str(t, "task_id"), w);
			clip(why, WIDTH - 2, line);
			printf("  %s\n", why);
		}
	}
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
	print_tasks(cJSON_GetObjectItem(b, "stages"));
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
