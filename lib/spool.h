/*
 * spool: the maildir protocol.  Every file is written whole under a tmp/
 * directory with a unique name, fsync'd, and renamed into place; the
 * rename is the commit (for a batch's unnamed O_TMPFILE files, the link
 * is).  Consumers claim by rename; the loser gets ENOENT.  All paths are
 * relative to the spool's root directory descriptor, so that nothing
 * follows a symlink out of the tree.
 */
#ifndef WF_SPOOL_H
#define WF_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

#define WF_NAME_MAX 64       /* bytes in a name, without the NUL */
#define WF_JOB_MAX (1 << 20) /* largest job file read */
#define WF_NPRIO 4

/* Flags of wf_spool_write. */
#define WF_SYNC_FILE 0x1 /* fsync the file before the rename */
#define WF_SYNC_DIR 0x2  /* fsync the destination directory after it */
#define WF_NO_RENAME 0x4 /* leave it in tmpdir: the caller renames it */

/* The directories of the runtime tree, created by wf_spool_init. */
extern const char *const wf_spool_dirs[];

/* Open the tree at home; returns a directory descriptor or -1 (errno). */
int wf_spool_open(const char *home);
/* Make the tree at home with private modes; -1 with errno on failure. */
int wf_spool_init(const char *home);
/* Check that every directory of the tree exists; names the first missing
 * one in *missing. */
int wf_spool_check(int root, const char **missing);
/* Open the tree at home and check it, as every program does before it
 * starts: on failure, one line saying what is wrong (and that wf init
 * makes the tree) on stderr, and -1. */
int wf_spool_attach(const char *home);

/* A new unique, time-sortable name: "SECONDS.MUSECpPIDqCOUNTrRAND". */
int wf_spool_name(char *buf, size_t len);
/* Is name a safe id: 1..64 bytes of [A-Za-z0-9._-], no leading dot? */
bool wf_spool_name_ok(const char *name);
/* The time a name was made, from its leading "SECONDS.M?MICROS"; -1 when
 * the name does not start with one. */
int64_t wf_spool_name_time_us(const char *name);

/* "queue/1-critical" ... "queue/4-low" for priorities 1..4. */
const char *wf_spool_qdir(int prio);

/* Write buf whole as tmpdir/name, then rename it to dstdir/name.  Returns
 * 0, or -1 with errno set and nothing left behind. */
int wf_spool_write(int root, const char *tmpdir, const char *dstdir,
    const char *name, const void *buf, size_t len, int flags);
/* Write buf whole into a new file of tmpdir that has no name (O_TMPFILE);
 * returns its descriptor, or -1 with errno.  Nothing is visible, and a
 * crash leaves nothing behind, until wf_spool_link names it. */
int wf_spool_stage(int root, const char *tmpdir, const void *buf,
    size_t len);
/* Can this tree stage files in tmpdir: O_TMPFILE there, and /proc? */
bool wf_spool_can_stage(int root, const char *tmpdir);
/* Give a staged file the name dstdir/name (linkat): the commit.  The
 * caller syncs the data first, and closes fd after. */
int wf_spool_link(int root, int fd, const char *dstdir, const char *name);
/* Read a regular file of at most max bytes, never through a symlink.
 * *buf is NUL-terminated and malloc'd.  -1 with errno: ELOOP symlink,
 * EFBIG too large, EINVAL not a regular file. */
int wf_spool_read(int root, const char *path, size_t max, char **buf,
    size_t *len);
/* The same for a relative path of several components under dfd (no
 * "..", no leading "/"): no symlink anywhere on the way, so the file read
 * is inside dfd whatever changes meanwhile.  ELOOP or ENOTDIR for a
 * symlink on the way, EINVAL for a path out of bounds. */
int wf_spool_read_beneath(int dfd, const char *path, size_t max, char **buf,
    size_t *len);
/* Watch home/dir (a directory only, never through a symlink to a file)
 * for mask on the inotify descriptor ifd; inotify_add_watch's result.
 * The watch is a hint: the directory, read again, is the truth. */
int wf_spool_watch(int ifd, const char *home, const char *dir,
    uint32_t mask);
/* rename(2) inside the tree. */
int wf_spool_move(int root, const char *from, const char *to);
/* fsync a directory of the tree. */
int wf_spool_sync_dir(int root, const char *dir);
/* Move path to corrupt/name and leave corrupt/name.why with the reason. */
int wf_spool_quarantine(int root, const char *path, const char *name,
    const char *why);

/*
 * Readers of a new/ directory (wf-dispatch's queue and ctl/new, wf-gate's
 * reports/new, wf-notify's events/new) take files alike.  A file counts
 * once whole: renamed in (IN_MOVED_TO), linked in by a classic maildir
 * writer (IN_CREATE of a file nobody still writes), or closed by a writer
 * that skipped tmp/ (IN_CLOSE_WRITE); these are the events to watch.
 */
#define WF_SPOOL_NEW_EVENTS (IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)

/* The entry dir/name of a new/ directory, seen by a scan (mask 0) or an
 * inotify event of mask: 1 a regular file to take now; 0 nothing to do
 * now (gone, a dot name, or still being written: its close will come);
 * -1 not a regular file (a symlink, never followed; a FIFO, a directory,
 * a socket, a device): moved to corrupt/PREFIXNAME with the reason in
 * its .why, logged, and the reason in why. */
int wf_spool_arrived(int root, const char *dir, const char *name,
    uint32_t mask, const char *prefix, char *why, size_t whylen);
/* Read the names of dir first, then give each to wf_spool_arrived (as a
 * scan) and call fn for those taken (why NULL) and those quarantined
 * (why their reason).  -1 with errno when dir cannot be read. */
int wf_spool_scan(int root, const char *dir, const char *prefix,
    void (*fn)(const char *name, const char *why, void *arg), void *arg);

#endif
