/*
 * daemon: the marker that a daemon runs on this runtime tree.  Each daemon
 * holds, for its lifetime, a lock on run/NAME.lock in the tree; the kernel
 * drops it when the process ends, however it ends.  The lock is an open
 * file description lock (fcntl F_OFD_SETLK), not flock(2): a reader asks
 * whether it is held with F_OFD_GETLK, which takes nothing, so that
 * asking (wf-httpd's /metrics) can never make a daemon that starts at the
 * same moment miss its marker.  The marker is a read lock: it says that a
 * daemon runs, not that only one does.
 */
#ifndef WF_DAEMON_H
#define WF_DAEMON_H

/* The daemons of the suite, NULL-terminated. */
extern const char *const wf_daemons[];

/* Take the marker of name (run/ is made when missing); returns the
 * descriptor to keep open for the process's lifetime (O_CLOEXEC), or -1
 * with errno. */
int wf_daemon_mark(int root, const char *name);
/* Is name's marker held: 1 yes, 0 no (or no marker file), -1 with errno. */
int wf_daemon_up(int root, const char *name);

#endif
