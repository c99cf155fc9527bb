/*
 * wf: the front door of the suite.  It knows init, up and queue; for any
 * other word X it runs wf-X from the suite's bin directory (git-style), so
 * that a new program needs no change here.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "home.h"
#include "log.h"
#include "spool.h"
#include "vault.h"
#include "wf.h"

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf COMMAND [ARG...]\n"
	    "Workflow Hub as small Unix daemons: AI agents in fixed roles\n"
	    "behind quality gates, with a priority job queue in front of the\n"
	    "models.\n"
	    "\n"
	    "  wf init [DIR]        make a runtime tree (default: $WF_HOME or\n"
	    "                       %s)\n"
	    "  wf up                run every daemon in the foreground\n"
	    "  wf queue ...         status, list, show, cancel, retry, wait,\n"
	    "                       purge (wf queue --help)\n"
	    "  wf enqueue ...       put a job in the queue (wf-enqueue)\n"
	    "  wf project|task|bug|env create|list|show|update|delete ...\n"
	    "  wf run create|list|show|report|advance|retry|reset-to-dev|\n"
	    "         approve-deploy|set-state|pm|dev|qa|sec ...\n"
	    "  wf pipeline --project-id N [--task ID] [--detach]\n"
	    "  wf board [--project-id N] [--json]\n"
	    "                       tasks, runs, bugs and the queue at a glance\n"
	    "  wf director on|off|status [--max-active N] [--json]\n"
	    "                       wf-director: start ready tasks by itself\n"
	    "  wf discover PATH [--create|--update] [--name N] [--json]\n"
	    "  wf webhook create|list|show|update|rm|test|deliveries|\n"
	    "         redeliver ...\n"
	    "  wf cred add|list|show|get|rm|rotate-key ...   the vault\n"
	    "  wf log [--run N|--project N|--entity T:N] [--since T] [-f]\n"
	    "  wf token add|list|rm ...   wf-httpd's bearer tokens\n"
	    "  wf X ...             run wf-X (git-style)\n"
	    "\n"
	    "Environment: WF_HOME (runtime tree), WF_CONFIG (config file),\n"
	    "WF_BINDIR (where the wf-* programs are).\n",
	    wf_home_dir());
	exit(code);
}

static int
cmd_init(int argc, char *argv[])
{
	char err[256];
	const char *dir;
	int root = -1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			printf("usage: wf init [DIR]\nMake the runtime tree at "
			    "DIR (default: %s), private to its owner.\n",
			    wf_home_dir());
			return 0;
		}
		fprintf(stderr, "usage: wf init [DIR]\n");
		return EX_USAGE;
	}
	dir = argc == 2 ? argv[1] : wf_home_dir();
	if (wf_spool_init(dir) == -1) {
		wf_log_warn("init %s: %s", dir, strerror(errno));
		return errno == EACCES || errno == EPERM ? EX_NOPERM :
		    EX_CANTCREAT;
	}
	if ((root = wf_spool_open(dir)) == -1 ||
	    wf_vault_init(root, err, sizeof err) == -1) {
		if (root == -1)
			snprintf(err, sizeof err, "%s: %s", dir,
			    strerror(errno));
		wf_log_warn("init %s", err);
		if (root != -1)
			close(root);
		return EX_CANTCREAT;
	}
	close(root);
	printf("wf: runtime tree ready at %s\n", dir);
	return 0;
}

int
main(int argc, char *argv[])
{
	char path[PATH_MAX];
	int n;

	wf_log_init("wf", 0);
	if (argc < 2)
		usage(EX_USAGE);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		usage(0);
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("wf %s\n", WF_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "up") == 0)
		return cmd_up(argc - 1, argv + 1);
	if (strcmp(argv[1], "queue") == 0)
		return cmd_queue(argc - 1, argv + 1);
	if (strcmp(argv[1], "project") == 0 || strcmp(argv[1], "task") == 0 ||
	    strcmp(argv[1], "bug") == 0)
		return cmd_entity(argv[1], argc - 1, argv + 1);
	if (strcmp(argv[1], "env") == 0)
		return cmd_entity("environment", argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "pipeline") == 0)
		return cmd_pipeline(argc - 1, argv + 1);
	if (strcmp(argv[1], "discover") == 0)
		return cmd_discover(argc - 1, argv + 1);
	if (strcmp(argv[1], "webhook") == 0)
		return cmd_webhook(argc - 1, argv + 1);
	if (strcmp(argv[1], "cred") == 0)
		return cmd_cred(argc - 1, argv + 1);
	if (strcmp(argv[1], "log") == 0)
		return cmd_log(argc - 1, argv + 1);
	if (strcmp(argv[1], "board") == 0)
		return cmd_board(argc - 1, argv + 1);
	if (strcmp(argv[1], "director") == 0)
		return cmd_director(argc - 1, argv + 1);
	if (strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);

	/* git-style: wf X runs wf-X.  X is a plain word, never a path. */
	if (argv[1][0] == '-' || strchr(argv[1], '/') != NULL ||
	    strlen(argv[1]) > 32) {
		wf_log_warn("%.40s: unknown command (see wf --help)", argv[1]);
		return EX_USAGE;
	}
	n = snprintf(path, sizeof(path), "%s/wf-%s", wf_home_bindir(),
	    argv[1]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		wf_log_warn("%s: path too long", argv[1]);
		return EX_USAGE;
	}
	argv[1] = path;
	execv(path, argv + 1);
	if (errno == ENOENT) {
		wf_log_warn("%s: unknown command (no %s; see wf --help)",
		    argv[1] + strlen(wf_home_bindir()) + 4, path);
		return EX_USAGE;
	}
	wf_log_warn("%s: %s", path, strerror(errno));
	return EX_OSERR;
}
