/*
 * discover: what a repository is, read from its files, to fill a project
 * (wf discover).  Languages by file counts, skipping vendored and build
 * directories; frameworks from package.json, requirements*.txt,
 * pyproject.toml, go.mod and Cargo.toml; build, test, run, lint and deploy
 * commands from Makefile targets, npm scripts, pytest, cargo and go; the
 * key files; the git branch and origin, from .git/HEAD and .git/config
 * (git is never run).
 *
 * Bounded: at most limits.max_entries directory entries are looked at,
 * directories deeper than limits.max_depth are not entered, no file larger
 * than limits.max_read is read.  Symbolic links are never followed: the
 * walk opens each directory with O_NOFOLLOW from its parent and skips the
 * links it meets, so that nothing outside the tree is read; the one
 * exception is git's own: a .git file (a worktree's, a submodule's) names
 * the git directory, from which HEAD, commondir, config and
 * refs/remotes/origin/HEAD are read.
 *
 * Each parser takes a buffer and its length (no NUL needed), reads only
 * inside it, and adds what it finds to a struct wf_discover: they can be
 * fuzzed.  Everything a result names is either a static string or held in
 * the struct itself: a result needs no freeing.
 */
#ifndef WF_DISCOVER_H
#define WF_DISCOVER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WF_DISCOVER_ENTRIES_MAX 50000 /* directory entries walked */
#define WF_DISCOVER_DEPTH_MAX 24      /* directories below the top */
#define WF_DISCOVER_READ_MAX (1 << 20) /* bytes of one file */
#define WF_DISCOVER_LANGS_MAX 40
#define WF_DISCOVER_NAMES_MAX 48      /* frameworks, key files */

/* Why a walk stopped short (flags). */
#define WF_DISCOVER_TOO_MANY 0x1 /* max_entries reached */
#define WF_DISCOVER_TOO_DEEP 0x2 /* a directory below max_depth skipped */
#define WF_DISCOVER_TOO_BIG 0x4  /* a manifest over max_read not read */

struct wf_discover_limits {
	long max_entries;
	int max_depth;
	size_t max_read;
};

struct wf_discover_lang {
	const char *name; /* "python" */
	long files;
};

struct wf_discover {
	/* Languages, most files first once wf_discover_finish ran. */
	struct wf_discover_lang langs[WF_DISCOVER_LANGS_MAX];
	int nlangs;
	const char *frameworks[WF_DISCOVER_NAMES_MAX];
	int nframeworks;
	const char *key_files[WF_DISCOVER_NAMES_MAX]; /* relative paths */
	int nkey_files;
	/* Commands, NULL when none was found; the first detector to find
	 * one gives it (Makefile, package.json, Cargo.toml, go.mod, then
	 * Python). */
	const char *build_command, *test_command, *run_command,
	    *lint_command, *deploy_command;
	const char *js_tool; /* "npm" (default), "yarn" or "pnpm" */
	char description[512];
	char branch[256];         /* what .git/HEAD names; "" detached */
	char primary_branch[256]; /* origin's HEAD, else branch */
	char origin[1024];        /* remote "origin" url, no password */
	long entries, files;      /* walked, and of them regular files */
	long symlinks;            /* links met and skipped */
	int flags;                /* WF_DISCOVER_TOO_* */
	/* What the Python detectors saw, for the commands of finish. */
	int has_pytest, has_django, has_ruff, has_flake8;
};

void wf_discover_init(struct wf_discover *d);
/* The built-in limits (the WF_DISCOVER_*_MAX above). */
void wf_discover_default_limits(struct wf_discover_limits *lim);

/*
 * The detectors of one file each.
 */

/* The language of a file, by its name ("main.c" is "c"), or NULL. */
const char *wf_discover_language(const char *filename);
/* Is a directory of this name skipped by the walk (.git, node_modules,
 * vendor, target, build, dist, __pycache__, venv, third_party, any other
 * starting with a dot...)? */
int wf_discover_skipped_dir(const char *name);
/* package.json: frameworks from its dependencies, commands from its
 * scripts (run by d->js_tool), its description.  -1 when it is not a JSON
 * object. */
int wf_discover_package_json(struct wf_discover *d, const char *buf,
    size_t len);
/* requirements.txt (pip's format): frameworks. */
void wf_discover_requirements(struct wf_discover *d, const char *buf,
    size_t len);
/* pyproject.toml: frameworks from [project] dependencies, optional
 * dependencies, [dependency-groups] and Poetry's tables; pytest from
 * [tool.pytest...], ruff from [tool.ruff]; the description. */
void wf_discover_pyproject(struct wf_discover *d, const char *buf,
    size_t len);
/* go.mod: frameworks from its direct requirements. */
void wf_discover_go_mod(struct wf_discover *d, const char *buf, size_t len);
/* Cargo.toml: frameworks from every kind of dependencies table; the
 * description of [package]. */
void wf_discover_cargo_toml(struct wf_discover *d, const char *buf,
    size_t len);
/* A Makefile: commands from its targets (all or build, check, test or
 * tests, lint, run, deploy). */
void wf_discover_makefile(struct wf_discover *d, const char *buf,
    size_t len);
/* A git HEAD file, "ref: PREFIX NAME": 0 and NAME in out, -1 when it is
 * not such a line (a detached HEAD, another prefix, garbage). */
int wf_discover_git_head(const char *buf, size_t len, const char *prefix,
    char *out, size_t outlen);
/* A git config file: 0 and the url of [remote "origin"] in out, with any
 * password taken out (and all of the user part of an http(s) url); -1 if
 * there is none. */
int wf_discover_git_origin(const char *buf, size_t len, char *out,
    size_t outlen);

/*
 * A whole tree.
 */

/* Count the languages of the tree under dirfd (not consumed). */
void wf_discover_walk(int dirfd, const struct wf_discover_limits *lim,
    struct wf_discover *d);
/* Every detector on the tree under dirfd (not consumed), then
 * wf_discover_finish. */
void wf_discover_dir(int dirfd, const struct wf_discover_limits *lim,
    struct wf_discover *d);
/* wf_discover_dir on path with the built-in limits.  -1 with errno and a
 * one-line reason in err when path cannot be opened as a directory. */
int wf_discover_path(const char *path, struct wf_discover *d, char *err,
    size_t errlen);
/* Sort the languages, most files first, and fill in what depends on more
 * than one file (pytest's test command...). */
void wf_discover_finish(struct wf_discover *d);

/* The project fields found, for the store (no name, no repo_path): only
 * those found are there.  NULL when out of memory. */
cJSON *wf_discover_fields(const struct wf_discover *d);

#endif
