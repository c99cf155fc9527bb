/*
 * worktree: a run's git worktree, its diff and its merge, through git(1).
 * The user's checkout is only read here (which branch it has out, what is
 * dirty in it) except by wf_worktree_merge, a human's act, which writes it
 * through git merge, refusing where that would touch uncommitted work.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "home.h"
#include "repo.h"
#include "worktree.h"

int
wf_worktree_root(const char *workdir, char *buf, size_t len)
{
	int n;

	if (workdir != NULL && workdir[0] == '/')
		n = snprintf(buf, len, "%s", workdir);
	else
		n = snprintf(buf, len, "%s/work", wf_home_dir());
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
wf_worktree_path(const char *workdir, int64_t run_id, char *buf, size_t len)
{
	char root[PATH_MAX];
	int n;

	if (wf_worktree_root(workdir, root, sizeof(root)) == -1)
		return -1;
	n = snprintf(buf, len, "%s/run-%lld", root, (long long)run_id);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Trim trailing white space of a git output line. */
static void
chomp(char *s, size_t *len)
{
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == ' '))
		s[--*len] = '\0';
}

/* A branch name git would take, and that no option parser mistakes. */
static int
branch_ok(const char *b)
{
	return b != NULL && b[0] != '\0' && b[0] != '-' && strlen(b) < 200 &&
	    strstr(b, "..") == NULL && strpbrk(b, " ~^:?*[\\") == NULL;
}

int
wf_worktree_primary(const cJSON *project, char *branch, size_t len,
    char *err, size_t errlen)
{
	static const char *const names[] = { "primary_branch", "branch" };
	const cJSON *repo = cJSON_GetObjectItemCaseSensitive(project,
	    "repo_path");
	const char *cur[] = { "symbolic-ref", "-q", "--short", "HEAD", NULL };
	char *out = NULL;
	size_t n;
	int st = 0;

	for (size_t i = 0; i < 2; i++) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(project,
		    names[i]);

		if (cJSON_IsString(b) && b->valuestring[0] != '\0') {
			if (!branch_ok(b->valuestring))
				return wf_err(err, errlen, "%s: '%.64s' is not a "
				    "branch name", names[i], b->valuestring);
			/* The field's default is "main": a repository whose
			 * branch is master is found below. */
			if (cJSON_IsString(repo) &&
			    wf_repo_has_branch(repo->valuestring,
			    b->valuestring)) {
				strlcpy(branch, b->valuestring, len);
				return 0;
			}
		}
	}
	if (!cJSON_IsString(repo))
		return wf_err(err, errlen, "the project has no repo_path");
	if (wf_repo_has_branch(repo->valuestring, "main")) {
		strlcpy(branch, "main", len);
		return 0;
	}
	if (wf_repo_has_branch(repo->valuestring, "master")) {
		strlcpy(branch, "master", len);
		return 0;
	}
	if (wf_repo_git_out(repo->valuestring, cur, 1024, &out, &n, &st, err,
	    errlen) == -1)
		return -1;
	chomp(out, &n);
	if (st != 0 || n == 0 || strncmp(out, "wf/run-", 7) == 0 ||
	    !branch_ok(out)) {
		free(out);
		return wf_err(err, errlen, "%s has no main or master branch and "
		    "its checkout has no branch out: set the project's "
		    "primary_branch", repo->valuestring);
	}
	strlcpy(branch, out, len);
	free(out);
	return 0;
}

static int
mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) == -1 && errno != EEXIST ? -1 : 0;
}

int
wf_worktree_add(const char *repo, const char *path, const char *branch,
    const char *start, char *err, size_t errlen)
{
	const char *prune[] = { "worktree", "prune", NULL };
	const char *have[] = { "worktree", "add", "-q", path, branch, NULL };
	const char *mk[] = { "worktree", "add", "-q", "-b", branch, path,
		start, NULL };
	char dotgit[PATH_MAX], parent[PATH_MAX], *slash;
	struct stat st;

	if (!branch_ok(branch) || start == NULL || start[0] == '-')
		return wf_err(err, errlen, "worktree: bad branch or start");
	if (snprintf(dotgit, sizeof(dotgit), "%s/.git", path) >=
	    (int)sizeof(dotgit))
		return wf_err(err, errlen, "worktree: path too long");
	if (lstat(dotgit, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	strlcpy(parent, path, sizeof(parent));
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
		*slash = '\0';
	if (mkdirs(parent, 0750) == -1)
		return wf_err(err, errlen, "worktree: %s: %s", parent,
		    strerror(errno));
	/* A worktree lost with its directory is still registered. */
	(void)wf_repo_git_status(repo, prune);
	return wf_repo_git(repo, wf_repo_has_branch(repo, branch) ? have : mk,
	    err, errlen);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(p) == -1 && errno != ENOENT ? -1 : 0;
}

/* rm -rf path, never following a symlink out of it nor crossing into
 * another file system. */
static int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int
wf_worktree_remove(const char *repo, const char *path, char *err,
    size_t errlen)
{
	const char *rm[] = { "worktree", "remove", "--force", "--force", path,
		NULL };
	const char *prune[] = { "worktree", "prune", NULL };
	char e2[256];

	if (repo != NULL && wf_repo_git(repo, rm, e2, sizeof(e2)) == 0)
		return 0;
	if (rm_rf(path) == -1)
		return wf_err(err, errlen, "remove %s: %s", path, strerror(errno));
	if (repo != NULL)
		(void)wf_repo_git_status(repo, prune);
	return 0;
}

int
wf_worktree_gitdir(const char *repo, char *buf, size_t len, char *err,
    size_t errlen)
{
	const char *argv[] = { "rev-parse", "--path-format=absolute",
		"--git-common-dir", NULL };
	char *out;
	size_t n;

	if (wf_repo_git_out(repo, argv, PATH_MAX, &out, &n, NULL, err,
	    errlen) == -1)
		return -1;
	chomp(out, &n);
	if (n == 0 || out[0] != '/' || n >= len) {
		free(out);
		return wf_err(err, errlen, "git rev-parse: no git directory");
	}
	memcpy(buf, out, n + 1);
	free(out);
	return 0;
}

static int
sha_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n >= 40 && n <= 64 && strspn(s, "0123456789abcdef") == n;
}

int
wf_worktree_diff(const char *repo, const char *base, const char *branch,
    int stat, char **out, size_t *len, char *err, size_t errlen)
{
	char ref[256];
	const char *argv[] = { "-c", "core.quotepath=off", "diff",
		"--no-color", "--no-ext-diff", stat ? "--stat" : "--patch",
		base, ref, "--", NULL };

	if (!sha_ok(base))
		return wf_err(err, errlen, "the run has no base commit");
	if (!branch_ok(branch) || snprintf(ref, sizeof(ref), "refs/heads/%s",
	    branch) >= (int)sizeof(ref))
		return wf_err(err, errlen, "bad branch name");
	if (!wf_repo_has_branch(repo, branch))
		return wf_err(err, errlen, "%s has no branch %s", repo, branch);
	return wf_repo_git_out(repo, argv, 4 << 20, out, len, NULL, err,
	    errlen);
}

/* The commit a ref names, into sha. */
static int
rev(const char *repo, const char *ref, char *sha, size_t len, char *err,
    size_t errlen)
{
	const char *argv[] = { "rev-parse", "-q", "--verify", ref, NULL };
	char *out;
	size_t n;

	if (wf_repo_git_out(repo, argv, 256, &out, &n, NULL, err,
	    errlen) == -1)
		return wf_err(err, errlen, "no such branch: %s", ref);
	chomp(out, &n);
	if (!sha_ok(out) || n >= len) {
		free(out);
		return wf_err(err, errlen, "git rev-parse %s: not a commit", ref);
	}
	memcpy(sha, out, n + 1);
	free(out);
	return 0;
}

/* Split NUL-separated (sep 0) or line-separated output into a
 * NULL-terminated vector of copies; skip skip bytes of each entry. */
static char **
split(const char *buf, size_t len, int sep, size_t skip)
{
	char **v;
	size_t n = 0, k = 0, i;

	for (i = 0; i < len; i++)
		if (buf[i] == sep)
			n++;
	if ((v = calloc(n + 2, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < len;) {
		const char *e = memchr(buf + i, sep, len - i);
		size_t l = e != NULL ? (size_t)(e - (buf + i)) : len - i;

		if (l > skip && (v[k] = strndup(buf + i + skip, l - skip)) !=
		    NULL)
			k++;
		i += l + 1;
	}
	v[k] = NULL;
	return v;
}

/* The checkout that has branch out, into where ("" when none). */
static int
checked_out(const char *repo, const char *branch, char *where, size_t len,
    char *err, size_t errlen)
{
	const char *argv[] = { "worktree", "list", "--porcelain", "-z", NULL };
	char want[256], *out, *p, *path = NULL;
	size_t n;

	where[0] = '\0';
	snprintf(want, sizeof(want), "branch refs/heads/%s", branch);
	if (wf_repo_git_out(repo, argv, 1 << 20, &out, &n, NULL, err,
	    errlen) == -1)
		return -1;
	for (p = out; p < out + n; p += strlen(p) + 1) {
		if (strncmp(p, "worktree ", 9) == 0)
			path = p + 9;
		else if (strcmp(p, want) == 0 && path != NULL) {
			strlcpy(where, path, len);
			break;
		}
	}
	free(out);
	return 0;
}

/* Which of the paths the merge writes (old..new) are dirty or untracked
 * in the checkout at where?  A malloc'd vector (empty: none), or NULL. */
static char **
dirty_overlap(const char *repo, const char *where, const char *old,
    const char *new, char *err, size_t errlen)
{
	const char *diff[] = { "-c", "core.quotepath=off", "diff",
		"--name-only", "-z", "--no-renames", old, new, "--", NULL };
	const char *st[] = { "-c", "core.quotepath=off", "status",
		"--porcelain=v1", "-z", "--untracked-files=all",
		"--no-renames", NULL };
	char *dout = NULL, *sout = NULL, **touched = NULL, **dirty = NULL;
	char **both = NULL;
	size_t dl, sl, k = 0, nt = 0;

	if (wf_repo_git_out(repo, diff, 4 << 20, &dout, &dl, NULL, err,
	    errlen) == -1 ||
	    wf_repo_git_out(where, st, 4 << 20, &sout, &sl, NULL, err,
	    errlen) == -1)
		goto out;
	if ((touched = split(dout, dl, '\0', 0)) == NULL ||
	    (dirty = split(sout, sl, '\0', 3)) == NULL)
		goto out;
	while (touched[nt] != NULL)
		nt++;
	if ((both = calloc(nt + 1, sizeof(*both))) == NULL)
		goto out;
	for (size_t i = 0; touched[i] != NULL; i++)
		for (size_t j = 0; dirty[j] != NULL; j++) {
			size_t l = strlen(dirty[j]);

			/* An untracked directory shows as "dir/". */
			if (strcmp(touched[i], dirty[j]) == 0 ||
			    (l > 0 && dirty[j][l - 1] == '/' &&
			    strncmp(touched[i], dirty[j], l) == 0)) {
				both[k++] = touched[i];
				touched[i] = (char *)"";
				break;
			}
		}
	for (size_t i = 0; touched[i] != NULL; i++)
		if (touched[i][0] != '\0')
			free(touched[i]);
	free(touched);
	touched = NULL;
out:
	if (touched != NULL)
		wf_repo_paths_free(touched);
	wf_repo_paths_free(dirty);
	free(dout);
	free(sout);
	return both;
}

int
wf_worktree_merge(const char *repo, const char *branch, const char *into,
    const char *msg, const char *actor, struct wf_worktree_merge *m,
    char *err, size_t errlen)
{
	char bref[256], iref[256], tip[72], old[72], tree[72] = "", name[96];
	char email[128], *out = NULL;
	const char *anc[] = { "merge-base", "--is-ancestor", bref, iref, NULL };
	const char *ff[] = { "merge-base", "--is-ancestor", iref, bref, NULL };
	const char *mt[] = { "-c", "core.quotepath=off", "merge-tree",
		"--write-tree", "--name-only", "--no-messages", iref, bref, NULL };
	const char *who[] = { "config", "user.email", NULL };
	size_t n;
	int st, fast;

	memset(m, 0, sizeof(*m));
	if (!branch_ok(branch) || !branch_ok(into))
		return wf_err(err, errlen, "bad branch name");
	snprintf(bref, sizeof(bref), "refs/heads/%s", branch);
	snprintf(iref, sizeof(iref), "refs/heads/%s", into);
	if (rev(repo, bref, tip, sizeof(tip), err, errlen) == -1 ||
	    rev(repo, iref, old, sizeof(old), err, errlen) == -1)
		return -1;
	if (wf_repo_git_status(repo, anc) == 0) {
		strlcpy(m->how, "merged before", sizeof(m->how));
		strlcpy(m->commit, old, sizeof(m->commit));
		return 0;
	}
	fast = wf_repo_git_status(repo, ff) == 0;
	if (!fast) {
		if (wf_repo_git_out(repo, mt, 4 << 20, &out, &n, &st, err,
		    errlen) == -1)
			return -1;
		if (st == 1) {
			char **v = split(out, n, '\n', 0);

			/* The first line is the tree; the paths follow. */
			if (v != NULL && v[0] != NULL) {
				size_t k = 0;

				while (v[k] != NULL)
					k++;
				free(v[0]);
				memmove(v, v + 1, k * sizeof(*v));
			}
			m->conflicts = v;
			free(out);
			return wf_err(err, errlen, "%s does not merge into %s "
			    "cleanly: nothing was changed", branch, into);
		}
		chomp(out, &n);
		if (st != 0 || (n = strcspn(out, "\n")) < 40 ||
		    n >= sizeof(tree)) {
			free(out);
			return wf_err(err, errlen, "git merge-tree failed (exit "
			    "%d)", st);
		}
		memcpy(tree, out, n);
		tree[n] = '\0';
		free(out);
		out = NULL;
	}
	if (checked_out(repo, into, m->where, sizeof(m->where), err,
	    errlen) == -1)
		return -1;
	snprintf(name, sizeof(name), "user.name=%s", actor);
	snprintf(email, sizeof(email), "user.email=%s@localhost", actor);
	if (m->where[0] != '\0') {
		const char *ffm[] = { "-c", "core.hooksPath=/dev/null", "merge",
			"-q", "--ff-only", bref, NULL };
		const char *mm[] = { "-c", "core.hooksPath=/dev/null", "-c",
			name, "-c", email, "merge", "-q", "--no-ff", "--no-edit",
			"-m", msg, bref, NULL };
		const char *mm_own[] = { "-c", "core.hooksPath=/dev/null",
			"merge", "-q", "--no-ff", "--no-edit", "-m", msg, bref,
			NULL };
		char **d;

		/* The merge writes the user's checkout: never over work of
		 * theirs not committed. */
		if ((d = dirty_overlap(repo, m->where, old, fast ? tip : tree,
		    err, errlen)) == NULL)
			return -1;
		if (d[0] != NULL) {
			m->dirty = d;
			return wf_err(err, errlen, "%s has %s out with uncommitted "
			    "changes where the merge writes: commit or stash "
			    "them, then merge again; nothing was changed",
			    m->where, into);
		}
		free(d);
		if (wf_repo_git(m->where, fast ? ffm : wf_repo_git_status(
		    m->where, who) == 0 ? mm_own : mm, err, errlen) == -1)
			return -1;
	} else if (fast) {
		const char *up[] = { "update-ref", "-m", msg, iref, tip, old,
			NULL };

		if (wf_repo_git(repo, up, err, errlen) == -1)
			return -1;
	} else {
		const char *ct[] = { "-c", name, "-c", email, "commit-tree",
			tree, "-p", old, "-p", tip, "-m", msg, NULL };
		char commit[72];

		if (wf_repo_git_out(repo, ct, 256, &out, &n, NULL, err,
		    errlen) == -1)
			return -1;
		chomp(out, &n);
		if (!sha_ok(out)) {
			free(out);
			return wf_err(err, errlen, "git commit-tree: no commit");
		}
		strlcpy(commit, out, sizeof(commit));
		free(out);
		out = NULL;
		{
			const char *up[] = { "update-ref", "-m", msg, iref,
				commit, old, NULL };

			if (wf_repo_git(repo, up, err, errlen) == -1)
				return -1;
		}
	}
	strlcpy(m->how, fast ? "fast-forward" : "merge commit", sizeof(m->how));
	return rev(repo, iref, m->commit, sizeof(m->commit), err, errlen);
}

void
wf_worktree_merge_free(struct wf_worktree_merge *m)
{
	wf_repo_paths_free(m->conflicts);
	wf_repo_paths_free(m->dirty);
	m->conflicts = m->dirty = NULL;
}

int
wf_worktree_gc(const char *workdir, int (*ended)(int64_t, void *), void *arg)
{
	char root[PATH_MAX], path[PATH_MAX], dotgit[PATH_MAX + 8];
	char gitdir[PATH_MAX], e2[256], *w;
	const char *errstr;
	struct dirent *de;
	DIR *d;
	int gone = 0;

	if (wf_worktree_root(workdir, root, sizeof(root)) == -1 ||
	    (d = opendir(root)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		long long id;
		FILE *f;

		if (strncmp(de->d_name, "run-", 4) != 0)
			continue;
		id = strtonum(de->d_name + 4, 1, INT64_MAX, &errstr);
		if (errstr != NULL || !ended((int64_t)id, arg))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", root, de->d_name) >=
		    (int)sizeof(path))
			continue;
		snprintf(dotgit, sizeof(dotgit), "%s/.git", path);
		gitdir[0] = '\0';
		/* .git says "gitdir: <repo's git dir>/worktrees/run-N". */
		if ((f = fopen(dotgit, "re")) != NULL) {
			if (fgets(gitdir, sizeof(gitdir), f) == NULL)
				gitdir[0] = '\0';
			fclose(f);
		}
		if (strncmp(gitdir, "gitdir: ", 8) == 0 &&
		    (w = strstr(gitdir, "/worktrees/")) != NULL) {
			*w = '\0';
			memmove(gitdir, gitdir + 8, strlen(gitdir + 8) + 1);
		} else
			gitdir[0] = '\0';
		if (wf_worktree_remove(gitdir[0] == '/' ? gitdir : NULL, path,
		    e2, sizeof(e2)) == 0)
			gone++;
	}
	closedir(d);
	return gone;
}
