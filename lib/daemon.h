/*
 * daemon: one of each daemon per runtime tree.  Each daemon holds, for its
 * lifetime, a write lock on run/NAME.lock in the tree; the kernel drops it
 * when the process ends, however it ends, so no stale pid file can keep a
 * daemon from starting nor let two run.  The lock is an open file
 * description lock (fcntl F_OFD_SETLK), the kind flock(2) takes but with a
 * test that takes nothing (F_OFD_GETLK): asking whether a daemon runs
 * (wf-httpd's /metrics, wf up) can never make a daemon that starts at the
 * same moment believe it has a twin.  The holder writes its pid into the
 * file, to name itself in the refusal of a second one; the lock, not the
 * pid, says who runs.
 */
#ifndef WF_DAEMON_H
#define WF_DAEMON_H

#include <sys/types.h>

/* The daemons of the suite, NULL-terminated. */
extern const char *const wf_daemons[];

/* Take name's lock (run/ is made when missing); returns the descriptor to
 * keep open for the process's lifetime (O_CLOEXEC), or -1 with errno:
 * EWOULDBLOCK when another process holds it, then *holder is its pid (0
 * when it has not written it yet). */
int wf_daemon_lock(int root, const char *name, pid_t *holder);
/* wf_daemon_lock for a daemon's start: on failure one line on stderr
 * ("home: already running (pid N)", or what failed) and the exit code,
 * EX_TEMPFAIL for a twin; 0 with *fd set on success. */
int wf_daemon_start(int root, const char *home, const char *name, int *fd);
/* Is name's lock held: 1 yes, 0 no (or no lock file), -1 with errno. */
int wf_daemon_up(int root, const char *name);
/* The pid written by name's holder: >0 when held, 0 when not (or not
 * written yet), -1 with errno. */
pid_t wf_daemon_holder(int root, const char *name);

#endif
