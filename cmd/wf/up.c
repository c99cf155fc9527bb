/*
 * wf up: run every daemon of the suite in the foreground, for a machine
 * without systemd.  A daemon that dies is restarted after a back-off that
 * doubles up to [up] restart_max; one that exits 78 (bad config) is not,
 * since a restart would only fail again.  SIGINT or SIGTERM stops them all.
 * One of each daemon runs per tree (lib/daemon): one that already runs
 * there (another wf up, systemd) is not started, and one that exits 75
 * because it found a twin is not restarted; each is named with the
 * holder's pid.  A wf up left with nothing to run exits 75.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "home.h"
#include "log.h"
#include "spool.h"
#include "wf.h"

/* The daemons of the suite, in start order; those not built are skipped. */
static const char *const daemons[] = {
	"wf-dispatch", "wf-gate", "wf-notify", "wf-httpd",
};
#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

struct daemon {
	char path[PATH_MAX];
	pid_t pid;
	int present;
	int backoff;        /* seconds before the next restart */
	int64_t started;    /* mono ms */
	int64_t restart_at; /* mono ms; 0: none due */
};

/* The daemon runs elsewhere on this tree: say so, with who. */
static void
twin(const char *name, int root, const char *what)
{
	pid_t pid = wf_daemon_holder(root, name);

	if (pid > 0)
		wf_log_warn("%s %s: already running on %s (pid %ld)", name,
		    what, wf_home_dir(), (long)pid);
	else
		wf_log_warn("%s %s: already running on %s", name, what,
		    wf_home_dir());
}

static pid_t
start(struct daemon *d, const char *cfg)
{
	sigset_t none;
	pid_t pid = fork();

	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (cfg != NULL)
			execl(d->path, d->path, "-c", cfg, (char *)NULL);
		else
			execl(d->path, d->path, (char *)NULL);
		fprintf(stderr, "wf up: %s: %s\n", d->path, strerror(errno));
		_exit(EX_OSERR);
	}
	if (pid == -1)
		wf_log_warn("fork %s: %s", d->path, strerror(errno));
	else {
		d->started = wf_clock_mono_ms();
		wf_log_info("started %s (pid %d)", d->path, (int)pid);
	}
	d->pid = pid;
	return pid;
}

int
cmd_up(int argc, char *argv[])
{
	struct daemon ds[NDAEMONS];
	struct wf_config cfg;
	const char *cfgpath = NULL;
	char err[512];
	sigset_t mask;
	int sfd, root, stopping = 0, code = 0, alive, ntwins = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfgpath = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			printf("usage: wf up [-c config]\n"
			    "Run every daemon of the suite (wf-dispatch and the\n"
			    "others built) in the foreground on $WF_HOME, which\n"
			    "is made when missing; restart one that dies; stop\n"
			    "them all on SIGINT or SIGTERM.\n");
			return 0;
		} else {
			fprintf(stderr, "usage: wf up [-c config]\n");
			return EX_USAGE;
		}
	}
	wf_log_init("wf up", 0);
	if (wf_config_read(&cfg, wf_home_config(cfgpath),
	    err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	if (wf_spool_init(wf_home_dir()) == -1 ||
	    (root = wf_spool_open(wf_home_dir())) == -1) {
		wf_log_warn("%s: %s", wf_home_dir(), strerror(errno));
		return EX_CANTCREAT;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1) {
		wf_log_warn("signalfd: %s", strerror(errno));
		return EX_OSERR;
	}
	memset(ds, 0, sizeof(ds));
	for (size_t i = 0; i < NDAEMONS; i++) {
		snprintf(ds[i].path, sizeof(ds[i].path), "%s/%s",
		    wf_home_bindir(), daemons[i]);
		ds[i].present = access(ds[i].path, X_OK) == 0;
		ds[i].backoff = 1;
		if (!ds[i].present)
			continue;
		if (wf_daemon_up(root, daemons[i]) == 1) {
			twin(daemons[i], root, "not started");
			ntwins++;
		} else
			start(&ds[i], cfgpath);
	}
	if (!ds[0].present) {
		wf_log_warn("%s: not found (is the suite built?)", ds[0].path);
		return EX_UNAVAILABLE;
	}

	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd pfd = { sfd, POLLIN, 0 };
		int64_t now = wf_clock_mono_ms(), next = -1;
		int status;
		pid_t pid;

		alive = 0;
		for (size_t i = 0; i < NDAEMONS; i++) {
			struct daemon *d = &ds[i];

			if (d->pid > 0)
				alive++;
			if (!stopping && d->restart_at != 0) {
				if (now >= d->restart_at) {
					d->restart_at = 0;
					if (start(d, cfgpath) > 0)
						alive++;
				} else if (next == -1 || d->restart_at < next)
					next = d->restart_at;
			}
		}
		if (stopping && alive == 0)
			break;
		/* Each daemon runs elsewhere: nothing is ours to watch. */
		if (alive == 0 && next == -1 && ntwins > 0) {
			wf_log_warn("nothing left to run on %s", wf_home_dir());
			code = EX_TEMPFAIL;
			break;
		}
		if (poll(&pfd, 1, next == -1 ? -1 : (int)(next - now)) <= 0)
			continue;
		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
		    si.ssi_signo == SIGHUP) {
			/* SIGHUP is passed on: each daemon reloads. */
			int fwd = si.ssi_signo == SIGHUP ? SIGHUP : SIGTERM;

			if (fwd == SIGTERM && !stopping) {
				stopping = 1;
				wf_log_info("stopping");
			}
			for (size_t i = 0; i < NDAEMONS; i++)
				if (ds[i].pid > 0)
					kill(ds[i].pid, fwd);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (size_t i = 0; i < NDAEMONS; i++) {
				struct daemon *d = &ds[i];

				if (d->pid != pid)
					continue;
				d->pid = 0;
				if (stopping)
					break;
				if (WIFEXITED(status) &&
				    WEXITSTATUS(status) == EX_CONFIG) {
					wf_log_warn("%s exited 78 (bad config); "
					    "not restarting it; stopping",
					    daemons[i]);
					code = EX_CONFIG;
					stopping = 1;
					for (size_t k = 0; k < NDAEMONS; k++)
						if (ds[k].pid > 0)
							kill(ds[k].pid, SIGTERM);
					break;
				}
				if (WIFEXITED(status) &&
				    WEXITSTATUS(status) == EX_TEMPFAIL &&
				    wf_daemon_up(root, daemons[i]) == 1) {
					twin(daemons[i], root,
					    "could not start; not restarting it");
					ntwins++;
					break;
				}
				/* A daemon that ran a while earns a quick
				 * restart; one that dies at once backs off. */
				if (wf_clock_mono_ms() - d->started > 60000)
					d->backoff = 1;
				wf_log_warn("%s died (%s %d); restarting in %d s",
				    daemons[i], WIFSIGNALED(status) ?
				    "signal" : "status", WIFSIGNALED(status) ?
				    WTERMSIG(status) : WEXITSTATUS(status),
				    d->backoff);
				d->restart_at = wf_clock_mono_ms() +
				    d->backoff * 1000LL;
				d->backoff = d->backoff * 2 > cfg.restart_max ?
				    cfg.restart_max : d->backoff * 2;
				break;
			}
		}
	}
	wf_log_info("all stopped");
	return code;
}
