/*
 * room: a sandbox made ahead of its job.  bubblewrap takes some
 * milliseconds to make a room (namespaces, mounts); a command job that
 * needs one would wait for them at every start.  So wf-dispatch makes the
 * next room while the current job runs: bwrap with the same options as
 * the last job's, running `wf-agent --room`, a stub that waits on its
 * stdin for the job's argv and environment and then execs the job in
 * place.  A room serves one job and is never reused: each job still has
 * its own private /tmp, PID namespace and all.
 *
 * A room is taken only by a job whose sandbox options (the key: the bwrap
 * argv up to its "--", and the working directory) are byte for byte those
 * it was made with; any other job gets a room made for it, as before.
 */
#ifndef WF_ROOM_H
#define WF_ROOM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most a job's argv and environment may take, packed: what an empty
 * pipe holds, so that the hand-off is one write that never blocks. */
#define WF_ROOM_PACK_MAX 60000

/* The key of the sandbox argv sbargv (bwrap, its options, "--", the job's
 * argv) started in cwd (NULL: none): "cwd\0bwrap\0option\0...\0--\0", in
 * a malloc'd buffer, its length in *len.  NULL when sbargv has no "--" or
 * memory is short. */
char *wf_room_key(const char *const *sbargv, const char *cwd, size_t *len);
/* The key's working directory ("" none). */
const char *wf_room_key_cwd(const char *key);
/* The argv that makes a room for key: its bwrap options and "--", then
 * stub (NULL-terminated).  A malloc'd vector of pointers into key and
 * stub: free() it alone.  NULL when memory is short. */
char **wf_room_argv(const char *key, size_t keylen, const char *const *stub);

/* The job as the stub reads it: "argc\0" and argc strings, "envc\0" and
 * envc strings, each ended by its NUL.  A malloc'd buffer and its length;
 * NULL (errno E2BIG) past WF_ROOM_PACK_MAX, or when memory is short. */
char *wf_room_pack(const char *const *argv, const char *const *envp,
    size_t *len);
/* Parse a packed job of len bytes in buf (which it points into): 0 and
 * two malloc'd NULL-terminated vectors (argv has at least one word), or
 * -1 and why in err. */
int wf_room_unpack(const char *buf, size_t len, char ***argv, char ***envp,
    char *err, size_t errlen);

/*
 * The stub (wf-agent --room): read the packed job from fd to its end,
 * put /dev/null on stdin, and exec the job with its environment, argv[0]
 * looked up in the job's PATH.  Returns only when it does not exec: 0
 * when fd ended with nothing (the room was let go), else 127 and why in
 * err.
 */
int wf_room_exec(int fd, char *err, size_t errlen);

/*
 * A lane's slot for one room made ahead (wf-dispatch keeps one a lane).
 * want names the options of the next room; fill makes it; take hands a
 * job to it when the job's options are the room's and the room is still
 * what such a room would be (its working directory the same directory,
 * made less than a minute ago), else lets it go.
 */
struct wf_room_slot {
	pid_t pid;                   /* 0: none */
	int infd, outfd, errfd;
	char *key;                   /* the options it was made with */
	size_t keylen;
	dev_t dev;                   /* its working directory's, when made */
	ino_t ino;
	char *want;                  /* the options of the next room */
	size_t wantlen;
	int retiring, failing;
	int64_t started, hold_until; /* mono ms */
};

void wf_room_slot_init(struct wf_room_slot *rs);
/* The next room is to have these options (key, malloc'd, is taken). */
void wf_room_slot_want(struct wf_room_slot *rs, char *key, size_t keylen);
/* Make the room wanted, if there is none and none is held back: bwrap
 * with its options running agent --room.  1 made, 0 nothing to do, -1
 * it could not start (held back 5 s). */
int wf_room_slot_fill(struct wf_room_slot *rs, const char *agent);
/* Hand the job (argv, envp) with options key to the room: 1 and its pid
 * and pipes (which the caller now owns), or 0. */
int wf_room_slot_take(struct wf_room_slot *rs, const char *key,
    size_t keylen, const char *const *argv, const char *const *envp,
    pid_t *pid, int *outfd, int *errfd);
/* Was pid this slot's room?  0 no; 1 yes (its pipes closed); 2 yes,
 * and it ended before its job though not let go, the first time in a
 * row: to be said, with the first line it wrote in why ("" none).  Such
 * a slot makes no room for 5 s. */
int wf_room_slot_reaped(struct wf_room_slot *rs, pid_t pid, int quiet,
    char *why, size_t whylen);
/* Let the room go: its stub exits, running nothing. */
void wf_room_slot_retire(struct wf_room_slot *rs);

#endif
