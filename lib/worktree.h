/*
 * worktree: a run's own git worktree.  A run of a project in a git
 * repository works on the branch wf/run-N in a worktree of its own,
 * <workdir>/run-N (workdir: [pipeline] workdir, else $WF_HOME/work), made
 * from the project's primary branch when the run starts.  The user's
 * checkout (its branch, HEAD, index, working tree, untracked files) is
 * never written by a run and never diffed; only a human's merge writes it,
 * and never over the user's uncommitted work.
 */
#ifndef WF_WORKTREE_H
#define WF_WORKTREE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The directory the runs' worktrees go in, into buf. */
int wf_worktree_root(const char *workdir, char *buf, size_t len);
/* That of run N, into buf. */
int wf_worktree_path(const char *workdir, int64_t run_id, char *buf,
    size_t len);

/* The project's primary branch: its primary_branch (or branch) field
 * when the repository has that branch, else main, else master, else the
 * branch its checkout has out (never a wf/run-N).  -1 and why when there
 * is none. */
int wf_worktree_primary(const cJSON *project, char *branch, size_t len,
    char *err, size_t errlen);

/* Make the worktree path on branch: a new branch from start (a commit or
 * a branch), or the branch as it is when it exists already (a worktree
 * lost in a crash, made again).  -1 and the reason. */
int wf_worktree_add(const char *repo, const char *path, const char *branch,
    const char *start, char *err, size_t errlen);
/* Remove the worktree at path (its branch stays): git worktree remove,
 * else the directory itself and git worktree prune. */
int wf_worktree_remove(const char *repo, const char *path, char *err,
    size_t errlen);

/* The repository's common git directory (what a worktree's .git points
 * into), into buf: the sandbox shows it read-only. */
int wf_worktree_gitdir(const char *repo, char *buf, size_t len, char *err,
    size_t errlen);

/* What branch changed since base: git diff (with stat, --stat) as text,
 * a malloc'd *out of at most 4 MiB. */
int wf_worktree_diff(const char *repo, const char *base, const char *branch,
    int stat, char **out, size_t *len, char *err, size_t errlen);

/* How a merge went. */
struct wf_worktree_merge {
	char how[32];         /* "fast-forward", "merge commit", "merged before" */
	char commit[64];      /* into's new tip */
	char where[4096];     /* the checkout that had into out, or "" */
	char **conflicts;     /* refused for a conflict: the paths */
	char **dirty;         /* refused for the user's uncommitted work */
};
/*
 * Merge branch into into: a fast-forward where it can, else a merge
 * commit (message msg, committer actor).  A conflict is refused with its
 * paths and nothing changed.  When into is checked out (the user's own
 * checkout, say), the merge happens there, through git merge, and is
 * refused with the paths when that tree holds uncommitted changes or
 * untracked files where the merge writes.  -1 and why; m->conflicts or
 * m->dirty (malloc'd, free with wf_worktree_merge_free) say which.
 */
int wf_worktree_merge(const char *repo, const char *branch, const char *into,
    const char *msg, const char *actor, struct wf_worktree_merge *m,
    char *err, size_t errlen);
void wf_worktree_merge_free(struct wf_worktree_merge *m);

/* Remove every worktree under the work directory whose run is gone or
 * ended (ended(run_id) says 1).  Returns how many went. */
int wf_worktree_gc(const char *workdir, int (*ended)(int64_t, void *),
    void *arg);

#endif
