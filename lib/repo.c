/*
 * repo: safe writes into a project's repository and commits on the run's
 * branch.  The path is walked from the repository's descriptor one
 * component at a time with O_NOFOLLOW, so that a symlink planted anywhere
 * on the way cannot send a write outside; the file itself is written in
 * the same directory under a temporary name and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "repo.h"

int
wf_repo_path_ok(const char *rel, char *why, size_t whylen)
{
	const char *p = rel, *slash;
	size_t n = strlen(rel);

	if (n == 0 || n > 1024)
		return wf_err(why, whylen, "'%.64s': empty or too long", rel);
	if (rel[0] == '/')
		return wf_err(why, whylen, "'%.64s': an absolute path", rel);
	for (;;) {
		size_t cl;

		slash = strchr(p, '/');
		cl = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (cl == 0)
			return wf_err(why, whylen, "'%.64s': an empty component",
			    rel);
		if ((cl == 1 && p[0] == '.') ||
		    (cl == 2 && p[0] == '.' && p[1] == '.'))
			return wf_err(why, whylen, "'%.64s': a '.' or '..' "
			    "component", rel);
		if (cl == 4 && strncmp(p, ".git", 4) == 0)
			return wf_err(why, whylen, "'%.64s': inside .git", rel);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return 0;
}

int
wf_repo_write(const char *repo, const char *rel, const char *data,
    size_t len, char *err, size_t errlen)
{
	char buf[1100], tmp[64], *comp, *next;
	int dfd = -1, fd = -1, rc = -1;
	mode_t mode;
	struct stat st;

	if (wf_repo_path_ok(rel, err, errlen) == -1)
		return -1;
	if (len > WF_REPO_FILE_MAX)
		return wf_err(err, errlen, "%s: larger than %d bytes", rel,
		    WF_REPO_FILE_MAX);
	if ((dfd = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return wf_err(err, errlen, "%s: %s", repo, strerror(errno));
	strlcpy(buf, rel, sizeof(buf));
	comp = buf;
	while ((next = strchr(comp, '/')) != NULL) {
		int nfd;

		*next = '\0';
		if (mkdirat(dfd, comp, 0755) == -1 && errno != EEXIST) {
			wf_err(err, errlen, "%s: mkdir %s: %s", rel, comp,
			    strerror(errno));
			goto out;
		}
		nfd = openat(dfd, comp,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd == -1) {
			wf_err(err, errlen, "%s: %s: %s", rel, comp,
			    errno == ELOOP || errno == ENOTDIR ?
			    "a symlink or not a directory; refused" :
			    strerror(errno));
			goto out;
		}
		close(dfd);
		dfd = nfd;
		comp = next + 1;
	}
	mode = 0644;
	if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode)) {
			wf_err(err, errlen, "%s: exists and is not a regular "
			    "file (a symlink?); refused", rel);
			goto out;
		}
		mode = st.st_mode & 07777; /* a script stays executable */
	}
	snprintf(tmp, sizeof(tmp), ".wf-tmp.%ld", (long)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1 || fchmod(fd, mode) == -1) {
		wf_err(err, errlen, "%s: %s", rel, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			wf_err(err, errlen, "%s: %s", rel, strerror(errno));
			unlinkat(dfd, tmp, 0);
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) == -1) {
		fd = -1;
		wf_err(err, errlen, "%s: %s", rel, strerror(errno));
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, comp) == -1) {
		wf_err(err, errlen, "%s: %s", rel, strerror(errno));
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/* "git -C repo" and argv, into full (32 slots: at most 28 of argv). */
static void
git_argv(const char **full, const char *repo, const char *const *argv)
{
	int n = 0;

	full[n++] = "git";
	full[n++] = "-C";
	full[n++] = repo;
	for (int i = 0; argv[i] != NULL && n < 31; i++)
		full[n++] = argv[i];
	full[n] = NULL;
}

/* Run git with argv in repo; its output goes to our stderr, the last
 * line of it into err on failure. */
static int
git(const char *repo, const char *const *argv, char *err, size_t errlen)
{
	const char *full[32];
	int p[2], ws;
	char out[4096];
	size_t len = 0;
	pid_t pid;

	git_argv(full, repo, argv);
	if (pipe2(p, O_CLOEXEC) == -1)
		return wf_err(err, errlen, "pipe: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp("git", (char *const *)full);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + len, sizeof(out) - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(out) - 1)
			len = 0; /* keep the tail */
	}
	close(p[0]);
	out[len] = '\0';
	if (pid == -1 || waitpid(pid, &ws, 0) == -1)
		return wf_err(err, errlen, "git: cannot run");
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		char *last;

		while (len > 0 && out[len - 1] == '\n')
			out[--len] = '\0';
		last = strrchr(out, '\n');
		return wf_err(err, errlen, "git %s: %s", argv[0],
		    last != NULL ? last + 1 : out[0] ? out : "failed");
	}
	return 0;
}

/* Run git with argv in repo and keep its stdout (at most max bytes) in
 * *outp; stderr goes to ours.  With status, an exit status other than 0
 * is no error: it is returned there, with the output. */
static int
git_run(const char *repo, const char *const *argv, size_t max, char **outp,
    size_t *lenp, int *status, char *err, size_t errlen)
{
	const char *full[32];
	char *buf = NULL;
	size_t len = 0;
	int p[2] = { -1, -1 }, ws, rc = -1;
	pid_t pid = -1;

	git_argv(full, repo, argv);
	if ((buf = malloc(max + 1)) == NULL || pipe2(p, O_CLOEXEC) == -1) {
		wf_err(err, errlen, "git: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		execvp("git", (char *const *)full);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	for (;;) {
		ssize_t r = read(p[0], buf + len, max - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == max) {
			wf_err(err, errlen, "git %s: more than %zu bytes of "
			    "output", argv[0], max);
			goto fail;
		}
	}
	close(p[0]);
	p[0] = -1;
	while (pid > 0 && waitpid(pid, &ws, 0) == -1 && errno == EINTR)
		;
	if (pid == -1) {
		wf_err(err, errlen, "git: cannot run");
		goto fail;
	}
	pid = -1;
	if (status != NULL && WIFEXITED(ws))
		*status = WEXITSTATUS(ws);
	else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		wf_err(err, errlen, "git %s: exit %d", argv[0],
		    WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
		goto fail;
	}
	buf[len] = '\0';
	*outp = buf;
	*lenp = len;
	buf = NULL;
	rc = 0;
fail:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	if (pid > 0)
		while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
			;
	free(buf);
	return rc;
}

static int
git_out(const char *repo, const char *const *argv, size_t max, char **outp,
    size_t *lenp, char *err, size_t errlen)
{
	return git_run(repo, argv, max, outp, lenp, NULL, err, errlen);
}

/* Run git with argv in repo, its output to /dev/null: its exit status,
 * or -1 when it could not run. */
static int
git_status(const char *repo, const char *const *argv)
{
	const char *full[32];
	int ws;
	pid_t pid;

	git_argv(full, repo, argv);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp("git", (char *const *)full);
		_exit(127);
	}
	while (waitpid(pid, &ws, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

int
wf_repo_has_branch(const char *repo, const char *branch)
{
	char ref[300];
	const char *has[] = { "rev-parse", "-q", "--verify", ref, NULL };

	if (snprintf(ref, sizeof(ref), "refs/heads/%s", branch) >=
	    (int)sizeof(ref))
		return 0;
	return git_status(repo, has) == 0;
}

int
wf_repo_merged(const char *repo, const char *branch, const char *into,
    char *err, size_t errlen)
{
	char b[300], i[300];
	const char *anc[] = { "merge-base", "--is-ancestor", b, i, NULL };

	if (snprintf(b, sizeof(b), "refs/heads/%s", branch) >= (int)sizeof(b) ||
	    snprintf(i, sizeof(i), "refs/heads/%s", into) >= (int)sizeof(i))
		return wf_err(err, errlen, "branch name too long");
	for (int k = 0; k < 2; k++)
		if (!wf_repo_has_branch(repo, k == 0 ? branch : into))
			return wf_err(err, errlen, "no branch %s in %s",
			    k == 0 ? branch : into, repo);
	/* merge-base --is-ancestor says no with exit 1, and fails with
	 * another status. */
	switch (git_status(repo, anc)) {
	case 0:
		return 1;
	case 1:
		return 0;
	default:
		return wf_err(err, errlen, "git merge-base %s %s failed", branch,
		    into);
	}
}

int
wf_repo_branch(const char *repo, const char *branch, char *err,
    size_t errlen)
{
	const char *sw[] = { "checkout", "-q", branch, "--", NULL };
	const char *mk[] = { "checkout", "-q", "-b", branch, NULL };

	if (strlen(branch) > 250)
		return wf_err(err, errlen, "branch name too long");
	return git(repo, wf_repo_has_branch(repo, branch) ? sw : mk, err,
	    errlen);
}

int
wf_repo_commit_all(const char *repo, const char *branch,
    const char *message, char *err, size_t errlen)
{
	const char *add[] = { "add", "-A", NULL };
	const char *st[] = { "status", "--porcelain", NULL };
	const char *ci[] = { "-c", "user.name=wf-agent", "-c",
		"user.email=wf-agent@localhost", "-c", "core.hooksPath=/dev/null",
		"commit", "-q", "--no-verify", "-m", message, NULL };
	char *out;
	size_t len;

	if (wf_repo_branch(repo, branch, err, errlen) == -1 ||
	    git(repo, add, err, errlen) == -1 ||
	    git_out(repo, st, 1 << 20, &out, &len, err, errlen) == -1)
		return -1;
	free(out);
	if (len == 0)
		return 0;
	return git(repo, ci, err, errlen);
}

int
wf_repo_is_git(const char *repo)
{
	char path[4096];
	struct stat st;

	if (repo == NULL || repo[0] != '/' ||
	    snprintf(path, sizeof(path), "%s/.git", repo) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0;
}

int
wf_repo_head(const char *repo, char *sha, size_t shalen, char *err,
    size_t errlen)
{
	const char *argv[] = { "rev-parse", "--verify", "-q", "HEAD", NULL };
	char *out;
	size_t len;

	if (git_out(repo, argv, 256, &out, &len, err, errlen) == -1)
		return -1;
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	if (len < 40 || len >= shalen || strspn(out, "0123456789abcdef") !=
	    len) {
		free(out);
		return wf_err(err, errlen, "git rev-parse: not a commit");
	}
	memcpy(sha, out, len + 1);
	free(out);
	return 0;
}

void
wf_repo_paths_free(char **paths)
{
	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++)
		free(paths[i]);
	free(paths);
}

int
wf_repo_changed(const char *repo, const char *base, char ***paths,
    char *err, size_t errlen)
{
	const char *argv[] = { "-c", "core.quotepath=off", "diff",
		"--name-only", "-z", "--no-renames", base, "--", NULL };
	char *out = NULL, **v = NULL;
	size_t len, n = 0, i;
	int rc = -1;

	*paths = NULL;
	if (base == NULL || strspn(base, "0123456789abcdef") != strlen(base) ||
	    strlen(base) < 40)
		return wf_err(err, errlen, "not a commit id: %.64s",
		    base ? base : "(none)");
	if (git_out(repo, argv, 4 << 20, &out, &len, err, errlen) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if (out[i] == '\0')
			n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		wf_err(err, errlen, "out of memory");
		goto fail;
	}
	n = 0;
	for (i = 0; i < len; i += strlen(out + i) + 1) {
		if (out[i] == '\0')
			continue;
		if ((v[n++] = strdup(out + i)) == NULL) {
			wf_err(err, errlen, "out of memory");
			goto fail;
		}
	}
	*paths = v;
	v = NULL;
	rc = (int)n;
fail:
	wf_repo_paths_free(v);
	free(out);
	return rc;
}

int
wf_repo_commit(const char *repo, const char *branch,
    const char *const *paths, const char *message, char *err, size_t errlen)
{
	const char *co[] = { "checkout", "-q", "-B", branch, NULL };
	const char *add[1030];
	const char *ci[] = { "-c", "user.name=wf-agent", "-c",
		"user.email=wf-agent@localhost", "-c", "core.hooksPath=/dev/null",
		"commit", "-q", "--no-verify", "-m", message, "--allow-empty",
		NULL };
	int n = 0;

	if (git(repo, co, err, errlen) == -1)
		return -1;
	add[n++] = "add";
	add[n++] = "--";
	for (int i = 0; paths[i] != NULL && n < 1028; i++)
		add[n++] = paths[i];
	add[n] = NULL;
	if (n > 2 && git(repo, add, err, errlen) == -1)
		return -1;
	return git(repo, ci, err, errlen);
}

int
wf_repo_blocks(const char *reply, size_t len, struct wf_repo_block **out)
{
	const char *p = reply, *end = reply + len;
	struct wf_repo_block *v = NULL;
	int n = 0, cap = 0;

	*out = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *body, *q;
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);

		p = nl ? nl + 1 : end;
		if (ll < 9 || memcmp(line, "```file:", 8) != 0)
			continue;
		body = p;
		/* The block ends at a line that is only ``` */
		for (q = p; q < end;) {
			const char *qn = memchr(q, '\n', (size_t)(end - q));
			size_t ql = qn ? (size_t)(qn - q) : (size_t)(end - q);

			if (ql >= 3 && memcmp(q, "```", 3) == 0 &&
			    (ql == 3 || (ql == 4 && q[3] == '\r')))
				break;
			q = qn ? qn + 1 : end;
		}
		if (q >= end)
			break; /* unterminated: not a file */
		if (n == cap) {
			int nc = cap ? cap * 2 : 8;
			void *nv = reallocarray(v, (size_t)nc, sizeof(*v));

			if (nv == NULL || nc > 512)
				goto fail;
			v = nv;
			cap = nc;
		}
		{
			size_t pl = ll - 8;

			while (pl > 0 && (line[8 + pl - 1] == '\r' ||
			    line[8 + pl - 1] == ' '))
				pl--;
			v[n].path = strndup(line + 8, pl);
			v[n].len = (size_t)(q - body);
			v[n].data = malloc(v[n].len + 1);
			if (v[n].path == NULL || v[n].data == NULL) {
				free(v[n].path);
				free(v[n].data);
				goto fail;
			}
			memcpy(v[n].data, body, v[n].len);
			v[n].data[v[n].len] = '\0';
			n++;
		}
		{
			const char *qn = memchr(q, '\n', (size_t)(end - q));

			p = qn ? qn + 1 : end;
		}
	}
	*out = v;
	return n;
fail:
	wf_repo_blocks_free(v, n);
	return -1;
}

void
wf_repo_blocks_free(struct wf_repo_block *b, int n)
{
	for (int i = 0; i < n; i++) {
		free(b[i].path);
		free(b[i].data);
	}
	free(b);
}

int
wf_repo_git(const char *dir, const char *const *argv, char *err,
    size_t errlen)
{
	return git(dir, argv, err, errlen);
}

int
wf_repo_git_out(const char *dir, const char *const *argv, size_t max,
    char **out, size_t *len, int *status, char *err, size_t errlen)
{
	return git_run(dir, argv, max, out, len, status, err, errlen);
}

int
wf_repo_git_status(const char *dir, const char *const *argv)
{
	return git_status(dir, argv);
}
