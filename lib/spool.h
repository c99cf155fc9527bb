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

#endif
