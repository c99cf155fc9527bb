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
