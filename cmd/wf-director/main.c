/*
 * wf-director: takes each project's backlog into the pipeline by itself.
 * Every [director] interval seconds, and at once when it sees a task, a
 * run or its settings change (inotify on state/tasks, state/runs and
 * state/director.json), it makes one pass of lib/director: a run for each
 * ready backlog task in priority order, at most max_active active runs a
 * project, missing acceptance criteria filled from a template, a stuck run
 * retried and then handed to a human.  Off until `wf director on`; the
 * setting lives in the state file, so it survives a restart.  One
 * director per tree (lib/daemon); SIGHUP reloads the config.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "director.h"
#include "home.h"
#include "log.h"
#include "sdnotify.h"
#include "spool.h"

#define SETTLE_MS 100 /* a burst of changes makes one pass */

static struct {
	const char *cfgpath;
	struct wf_config cfg;
	int root;
	unsigned long started, retried, gave_up, filled;
} G;

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: wf-director [-v] [-c config]\n"
	    "Start a run for each ready backlog task, in priority order, at\n"
	    "most [director] max_active active runs a project; fill missing\n"
	    "acceptance criteria from [director] criteria; retry a run stuck\n"
	    "in one state past stuck_after, then hand it to a human.  Off\n"
	    "until `wf director on`.  SIGHUP reloads the config.\n"
	    "  -c, --config FILE  config file (default: $WF_CONFIG or %s)\n"
	    "  -v, --verbose      log every pass\n",
	    wf_home_config(NULL));
	exit(code);
}

/* One pass; returns the interval in force, in ms. */
static int64_t
pass(void)
{
	struct wf_director_pass p;
	struct wf_director_conf eff;
	char err[512], s[200];
	int on;

	if (wf_director_run(G.root, &G.cfg.director, &G.cfg.pipeline, &p, err,
	    sizeof(err)) == -1)
		wf_log_warn("%s", err);
	G.started += p.started;
	G.retried += p.retried;
	G.gave_up += p.gave_up;
	G.filled += p.filled;
	if (p.started || p.retried || p.gave_up || p.linked)
		wf_log_debug("pass: %d started, %d retried, %d given up, "
		    "%d linked", p.started, p.retried, p.gave_up, p.linked);
	if (wf_director_settings(G.root, &G.cfg.director, &on, &eff, err,
	    sizeof(err)) == -1) {
		on = 0;
		eff = G.cfg.director;
	}
	snprintf(s, sizeof(s), "STATUS=%s; %lu runs started, %lu retried, "
	    "%lu handed to a human", on ? "on" : "off (wf director on)",
	    G.started, G.retried, G.gave_up);
	wf_sd_notify(s);
	return (int64_t)eff.interval * 1000;
}

static int
watch(int ifd, const char *home, const char *dir, uint32_t mask)
{
	int wd = wf_spool_watch(ifd, home, dir, mask);

	if (wd == -1)
		wf_log_warn("inotify %s/%s: %s", home, dir, strerror(errno));
	return wd;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const uint32_t change = IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE;
	const char *home;
	char err[512];
	sigset_t mask;
	int64_t next, due = 0;
	int c, verbose = 0, stop = 0, lockfd, sfd, ifd, wd_state;

	wf_log_init("wf-director", 0);
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			G.cfgpath = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(0);
			break;
		case 'V':
			printf("wf-director %s\n", WF_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	wf_log_init("wf-director", verbose);
	wf_audit_set_actor("wf-director");

	G.cfgpath = wf_home_config(G.cfgpath);
	if (wf_config_read(&G.cfg, G.cfgpath, err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	home = wf_home_dir();
	if ((G.root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	/* One director per tree: two would start two runs for one task. */
	if ((c = wf_daemon_start(G.root, home, "wf-director", &lockfd)) != 0)
		return c;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		wf_log_warn("signalfd/inotify: %s", strerror(errno));
		return EX_OSERR;
	}
	if (watch(ifd, home, "state/tasks", change) == -1 ||
	    watch(ifd, home, "state/runs", change) == -1 ||
	    (wd_state = watch(ifd, home, "state", change)) == -1)
		return EX_OSERR;
	next = wf_clock_mono_ms() + pass();
	wf_sd_notify("READY=1");
	wf_log_info("ready: %s", home);

	while (!stop) {
		char buf[8192]
		    __attribute__((aligned(__alignof__(struct inotify_event))));
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 },
			{ ifd, POLLIN, 0 } };
		struct signalfd_siginfo si;
		int64_t now = wf_clock_mono_ms(), t = due != 0 && due < next ?
		    due : next;
		ssize_t n;

		if (poll(pfd, 2, t > now ? (int)(t - now) : 0) == -1 &&
		    errno != EINTR)
			continue;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGHUP) {
				stop = 1;
				continue;
			}
			if (wf_config_read(&G.cfg, G.cfgpath, err,
			    sizeof(err)) == -1)
				wf_log_warn("reload: %s; keeping the old "
				    "config", err);
			else
				wf_log_info("reloaded %s", G.cfgpath);
			due = wf_clock_mono_ms();
		}
		while ((n = read(ifd, buf, sizeof(buf))) > 0)
			for (char *p = buf; p < buf + n;) {
				struct inotify_event *ev =
				    (struct inotify_event *)p;

				p += sizeof(*ev) + ev->len;
				/* In state/ only the settings matter. */
				if (ev->wd == wd_state && (ev->len == 0 ||
				    strcmp(ev->name, "director.json") != 0))
					continue;
				if (due == 0)
					due = wf_clock_mono_ms() + SETTLE_MS;
			}
		now = wf_clock_mono_ms();
		if (stop || ((due == 0 || now < due) && now < next))
			continue;
		due = 0;
		next = wf_clock_mono_ms() + pass();
	}
	close(lockfd);
	wf_log_info("stopped");
	return 0;
}
