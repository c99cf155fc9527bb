/*
 * repo: what an agent may do to a project's repository.  Files named by a
 * model's reply are written only inside the repository: no absolute path,
 * no "..", no write through a symlink (every component is opened with
 * O_NOFOLLOW from the repository's own descriptor).  Commits go to the
 * run's branch, wf/run-N, through git(1).
 */
#ifndef WF_REPO_H
#define WF_REPO_H

#include <stddef.h>

#define WF_REPO_FILE_MAX (4 << 20)

/* Is rel a path an agent may write: relative, no "." or ".." component,
 * no empty component, no NUL, at most 1024 bytes?  -1 and why if not. */
int wf_repo_path_ok(const char *rel, char *why, size_t whylen);
/* Write data as repo/rel (tmp then rename), making directories on the way,
 * never following a symlink.  -1 and a one-line reason. */
int wf_repo_write(const char *repo, const char *rel, const char *data,
    size_t len, char *err, size_t errlen);
/* git -C repo checkout -B branch (from the current HEAD), add the paths,
 * commit with message.  -1 and the reason (git's last line). */
int wf_repo_commit(const char *repo, const char *branch,
    const char *const *paths, const char *message, char *err, size_t errlen);

/* Commit every change of the work tree (git add -A: new, changed and
 * deleted files, .gitignore kept) on branch; nothing when nothing
 * changed. */
int wf_repo_commit_all(const char *repo, const char *branch,
    const char *message, char *err, size_t errlen);
/* Put the work tree on branch: switch to it, or make it from HEAD when
 * there is none yet.  Every role of a run works on wf/run-N, never on the
 * branch the user had out. */
int wf_repo_branch(const char *repo, const char *branch, char *err,
    size_t errlen);
/* Does repo have a branch of that name (refs/heads/branch)? */
int wf_repo_has_branch(const char *repo, const char *branch);
/* Is branch merged into into (every commit of branch reachable from
 * into)?  1 yes, 0 no, -1 and the reason when git cannot tell (a branch
 * that does not exist, say). */
int wf_repo_merged(const char *repo, const char *branch, const char *into,
    char *err, size_t errlen);
/* Is repo a git work tree (repo/.git exists)? */
int wf_repo_is_git(const char *repo);
/* The commit HEAD names, into sha (at least 41 bytes). */
int wf_repo_head(const char *repo, char *sha, size_t shalen, char *err,
    size_t errlen);
/* The paths that differ between commit base and the work tree: commits
 * since base and uncommitted changes to tracked files (git diff
 * --name-only base).  Untracked files are no one's commit and are left
 * out.  *paths is a malloc'd NULL-terminated vector of malloc'd strings;
 * returns their number, or -1 and the reason. */
int wf_repo_changed(const char *repo, const char *base, char ***paths,
    char *err, size_t errlen);
void wf_repo_paths_free(char **paths);

/* git -C dir argv...: 0, or -1 and git's last line in err. */
int wf_repo_git(const char *dir, const char *const *argv, char *err,
    size_t errlen);
/* The same, keeping stdout (at most max bytes: more is an error) in a
 * malloc'd *out.  With status, git's exit status goes there and only a
 * git that could not run, or died, is an error. */
int wf_repo_git_out(const char *dir, const char *const *argv, size_t max,
    char **out, size_t *len, int *status, char *err, size_t errlen);
/* git's exit status, its output thrown away; -1 when it could not run. */
int wf_repo_git_status(const char *dir, const char *const *argv);

/* A fenced block of a reply: ```file:PATH ... ``` */
struct wf_repo_block {
	char *path;
	char *data;
	size_t len;
};
/* Find the file blocks in a reply (buffer and length); *blocks is
 * malloc'd, each path and data too.  Returns their number, or -1. */
int wf_repo_blocks(const char *reply, size_t len,
    struct wf_repo_block **blocks);
void wf_repo_blocks_free(struct wf_repo_block *b, int n);

#endif
