/*
 * test_discover: the detectors of lib/discover.c.  Each parser on inputs
 * given as buffers of their exact length (no NUL after them, so that a
 * read past the end is an ASan report): requirements.txt, pyproject.toml,
 * Cargo.toml, go.mod, package.json, Makefiles, git's HEAD and config.
 * Then whole trees: the walk's bounds (entries, depth, file size), links
 * never followed, the git directory and a worktree's .git file, on trees
 * made with mkdtemp; and each fixture repository under
 * tests/fixtures/repos, whose fields the store's schema must accept.  Last,
 * a bounded fuzz of every parser with mutated and truncated inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover.h"
#include "store.h"

#ifndef FUZZ_ROUNDS
#define FUZZ_ROUNDS 3000 /* -DFUZZ_ROUNDS=N for a longer run */
#endif

/* A copy of s in a buffer of exactly its length. */
static char *
exact(const char *s, size_t *len)
{
	char *b;

	*len = strlen(s);
	b = malloc(*len > 0 ? *len : 1);
	assert_non_null(b);
	memcpy(b, s, *len);
	return b;
}

static int
has(const char *const *arr, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(arr[i], name) == 0)
			return 1;
	return 0;
}

#define HAS_FW(d, name) has((d)->frameworks, (d)->nframeworks, (name))
#define HAS_KEY(d, name) has((d)->key_files, (d)->nkey_files, (name))

static long
lang_files(const struct wf_discover *d, const char *lang)
{
	for (int i = 0; i < d->nlangs; i++)
		if (strcmp(d->langs[i].name, lang) == 0)
			return d->langs[i].files;
	return 0;
}

/* Run a parser on s as an exact buffer. */
#define PARSE(fn, d, s) do { \
	size_t len_; \
	char *b_ = exact((s), &len_); \
	fn((d), b_, len_); \
	free(b_); \
} while (0)

static void
assert_str(const char *got, const char *want)
{
	if (want == NULL) {
		if (got != NULL)
			fail_msg("got '%s', want none", got);
		return;
	}
	if (got == NULL)
		fail_msg("got none, want '%s'", want);
	assert_string_equal(got, want);
}

/*
 * Temporary trees.
 */

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
make_tmpdir(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	if (t == NULL || *t == '\0')
		t = "/tmp";
	assert_true((size_t)snprintf(buf, len, "%s/wf-test-discover.XXXXXX",
	    t) < len);
	assert_non_null(mkdtemp(buf));
}

/* Write text to dir/rel, making the directories on the way. */
static void
put(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) <
	    sizeof(path));
	for (char *p = path + strlen(dir) + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) == -1 && errno != EEXIST)
				fail_msg("mkdir %s: %s", path, strerror(errno));
			*p = '/';
		}
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void
link_at(const char *dir, const char *rel, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (symlink(target, path) == -1)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static void
discover_tree(const char *dir, const struct wf_discover_limits *lim,
    struct wf_discover *d)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	wf_discover_init(d);
	wf_discover_dir(fd, lim, d);
	close(fd);
}

/* tests/fixtures/repos of the checkout this test was built in: the
 * binary is bin/tests/test_discover (or bin-san/...); $WF_FIXTURES
 * overrides it. */
static const char *
fixtures(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;
	const char *env = getenv("WF_FIXTURES");

	if (env != NULL && *env != '\0')
		return env;
	if (path[0] != '\0')
		return path;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');

		assert_non_null(slash);
		*slash = '\0';
	}
	assert_true((size_t)snprintf(path, sizeof(path),
	    "%s/tests/fixtures/repos", exe) < sizeof(path));
	return path;
}

static void
discover_fixture(const char *name, struct wf_discover *d)
{
	char path[PATH_MAX], err[256];

	snprintf(path, sizeof(path), "%s/%s", fixtures(), name);
	if (wf_discover_path(path, d, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

/*
 * Languages and skipped directories.
 */

static void
test_language(void **state)
{
	static const struct {
		const char *file, *lang;
	} cases[] = {
		{ "main.c", "c" }, { "util.h", "c" }, { "a.cpp", "c++" },
		{ "x.py", "python" }, { "App.jsx", "javascript" },
		{ "index.mjs", "javascript" }, { "app.ts", "typescript" },
		{ "View.tsx", "typescript" }, { "main.go", "go" },
		{ "lib.rs", "rust" }, { "Main.java", "java" },
		{ "run.sh", "shell" }, { "MAIN.C", "c" },
		{ "a.b.py", "python" },
		{ "Makefile", NULL }, { "README.md", NULL }, { ".py", NULL },
		{ "x.", NULL }, { "package.json", NULL }, { "x.pyc", NULL },
		{ "", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = wf_discover_language(cases[i].file);

		if ((got == NULL) != (cases[i].lang == NULL) ||
		    (got != NULL && strcmp(got, cases[i].lang) != 0))
			fail_msg("%s: got %s, want %s", cases[i].file,
			    got ? got : "none",
			    cases[i].lang ? cases[i].lang : "none");
	}
}

static void
test_skipped_dir(void **state)
{
	static const char *const skipped[] = {
		".git", "node_modules", "vendor", "target", "build", "dist",
		"__pycache__", ".venv", "venv", ".tox", "third_party", ".idea",
		NULL,
	};
	static const char *const kept[] = {
		"src", "lib", "tests", "cmd", "builds", "vendored", "app", NULL,
	};

	(void)state;
	for (int i = 0; skipped[i] != NULL; i++)
		if (!wf_discover_skipped_dir(skipped[i]))
			fail_msg("%s is not skipped", skipped[i]);
	for (int i = 0; kept[i] != NULL; i++)
		if (wf_discover_skipped_dir(kept[i]))
			fail_msg("%s is skipped", kept[i]);
}

/*
 * Python.
 */

static void
test_requirements(void **state)
{
	struct wf_discover d;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_requirements, &d,
	    "# a comment naming flask\n"
	    "Django>=4.2,<5.0\r\n"
	    "  pytest==8.0.0  # the runner\n"
	    "celery[redis] ; python_version >= \"3.9\"\n"
	    "SQLAlchemy~=2.0\n"
	    "-r tornado.txt\n"
	    "-e git+https://example.invalid/x.git#egg=fastapi\n"
	    "--index-url https://example.invalid/simple\n"
	    "pytest-django\n"
	    "Flask_Login\n"
	    "\n"
	    "ruff");
	assert_int_equal(d.nframeworks, 4);
	assert_string_equal(d.frameworks[0], "django");
	assert_string_equal(d.frameworks[1], "pytest");
	assert_string_equal(d.frameworks[2], "celery");
	assert_string_equal(d.frameworks[3], "sqlalchemy");
	assert_true(d.has_pytest && d.has_django && d.has_ruff);
	assert_false(HAS_FW(&d, "flask"));
	assert_false(HAS_FW(&d, "tornado"));
	assert_false(HAS_FW(&d, "fastapi"));
	wf_discover_finish(&d);
	assert_str(d.test_command, "pytest");
	assert_str(d.lint_command, "ruff check .");

	/* Names are compared as PEP 503 has them: case aside, and "-_."
	 * alike, but not dropped. */
	wf_discover_init(&d);
	PARSE(wf_discover_requirements, &d,
	    "DjangoRestFramework\nFLASK\nPy_Test\npy.test\ndjango-\n");
	assert_true(HAS_FW(&d, "django-rest-framework"));
	assert_true(HAS_FW(&d, "flask"));
	assert_int_equal(d.nframeworks, 2);
	assert_false(d.has_django);
	assert_false(d.has_pytest);
	wf_discover_finish(&d);
	assert_null(d.test_command);
}

static void
test_pyproject(void **state)
{
	struct wf_discover d;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_pyproject, &d,
	    "[build-system]\n"
	    "requires = [\"setuptools\", \"flask\"]  # not a dependency\n"
	    "\n"
	    "[project]\n"
	    "name = \"x\"\n"
	    "description = 'A shop'\n"
	    "dependencies = [\n"
	    "    \"Django>=4.2\",  # ] a comment with a bracket\n"
	    "    'celery[redis]; python_version > \"3.8\"',\n"
	    "]\n"
	    "keywords = [\"tornado\"]\n"
	    "\n"
	    "[project.optional-dependencies]\n"
	    "dev = [\"pytest>=8\", \"pytest-cov\"]\n"
	    "db = [ \"sqlalchemy\" ]\n"
	    "\n"
	    "[dependency-groups]\n"
	    "lint = [\"ruff\", {include-group = \"starlette\"}]\n"
	    "\n"
	    "[tool.poetry.dependencies]\n"
	    "python = \"^3.10\"\n"
	    "fastapi = { version = \"^0.110\", extras = [\"aiohttp\"] }\n"
	    "\n"
	    "[tool.poetry.group.dev.dependencies]\n"
	    "alembic = \"*\"\n"
	    "\n"
	    "[tool.ruff]\n"
	    "line-length = 100\n"
	    "\n"
	    "[tool.other]\n"
	    "deps = [\"streamlit\"]\n"
	    "text = \"\"\"\n"
	    "[project]\n"
	    "dependencies = [\"pyramid\"]\n"
	    "\"\"\"\n");
	assert_string_equal(d.description, "A shop");
	assert_true(HAS_FW(&d, "django"));
	assert_true(HAS_FW(&d, "celery"));
	assert_true(HAS_FW(&d, "pytest"));
	assert_true(HAS_FW(&d, "sqlalchemy"));
	assert_true(HAS_FW(&d, "fastapi"));
	assert_true(HAS_FW(&d, "alembic"));
	assert_true(d.has_ruff && d.has_pytest && d.has_django);
	/* build-system, keywords, an inline table's strings, another
	 * tool's table and a multi-line string are not dependencies */
	assert_false(HAS_FW(&d, "flask"));
	assert_false(HAS_FW(&d, "tornado"));
	assert_false(HAS_FW(&d, "starlette"));
	assert_false(HAS_FW(&d, "aiohttp"));
	assert_false(HAS_FW(&d, "streamlit"));
	assert_false(HAS_FW(&d, "pyramid"));
	assert_int_equal(d.nframeworks, 6);

	/* A pytest table alone means pytest. */
	wf_discover_init(&d);
	PARSE(wf_discover_pyproject, &d,
	    "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n");
	assert_true(d.has_pytest);
	assert_true(HAS_FW(&d, "pytest"));
	wf_discover_finish(&d);
	assert_str(d.test_command, "pytest");
}

/*
 * Rust and Go.
 */

static void
test_cargo(void **state)
{
	struct wf_discover d;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_cargo_toml, &d,
	    "[package]\n"
	    "name = \"t\"\n"
	    "description = \"Async things\"\n"
	    "keywords = [\"hyper\"]\n"
	    "\n"
	    "[dependencies]\n"
	    "tokio = { version = \"1\", features = [\n"
	    "    \"full\", # a comment\n"
	    "] }\n"
	    "serde = \"1\"\n"
	    "Actix_Web = \"4\"\n"
	    "\n"
	    "[dependencies.axum]\n"
	    "version = \"0.7\"\n"
	    "\n"
	    "[target.'cfg(unix)'.dependencies]\n"
	    "clap = \"4\"\n"
	    "\n"
	    "[dev-dependencies]\n"
	    "sqlx = \"0.7\"\n"
	    "\n"
	    "[workspace.dependencies]\n"
	    "tonic = \"0.11\"\n"
	    "\n"
	    "[features]\n"
	    "warp = []\n"
	    "rocket = [\"dep:bevy\"]\n");
	assert_string_equal(d.description, "Async things");
	assert_true(HAS_FW(&d, "tokio"));
	assert_true(HAS_FW(&d, "serde"));
	assert_true(HAS_FW(&d, "actix-web"));
	assert_true(HAS_FW(&d, "axum"));
	assert_true(HAS_FW(&d, "clap"));
	assert_true(HAS_FW(&d, "sqlx"));
	assert_true(HAS_FW(&d, "tonic"));
	assert_false(HAS_FW(&d, "hyper"));
	assert_false(HAS_FW(&d, "warp"));
	assert_false(HAS_FW(&d, "rocket"));
	assert_false(HAS_FW(&d, "bevy"));
	assert_int_equal(d.nframeworks, 7);
}

static void
test_go_mod(void **state)
{
	struct wf_discover d;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_go_mod, &d,
	    "module example.invalid/x // github.com/spf13/cobra\n"
	    "\n"
	    "go 1.21\n"
	    "\n"
	    "require github.com/gin-gonic/gin v1.9.1\n"
	    "require (\n"
	    "\tgithub.com/labstack/echo/v4 v4.11.4\n"
	    "\tgithub.com/gofiber/fiber/v2 v2.52.0 // indirect\n"
	    "\t\"gorm.io/gorm\" v1.25.0\n"
	    "\tgithub.com/go-chi/chi-extra v1.0.0\n"
	    ")\n"
	    "require github.com/stretchr/testify v1.8.4 // indirect\n"
	    "replace (\n"
	    "\tgithub.com/gorilla/mux => ../mux\n"
	    ")\n"
	    "exclude google.golang.org/grpc v1.0.0\n"
	    "require github.com/spf13/cobra v1.8.0");
	assert_true(HAS_FW(&d, "gin"));
	assert_true(HAS_FW(&d, "echo"));
	assert_true(HAS_FW(&d, "gorm"));
	assert_true(HAS_FW(&d, "cobra"));
	assert_false(HAS_FW(&d, "fiber"));   /* indirect */
	assert_false(HAS_FW(&d, "testify")); /* indirect */
	assert_false(HAS_FW(&d, "chi"));     /* another module */
	assert_false(HAS_FW(&d, "gorilla-mux"));
	assert_false(HAS_FW(&d, "grpc"));
	assert_int_equal(d.nframeworks, 4);
}

/*
 * package.json and Makefiles.
 */

static void
test_package_json(void **state)
{
	struct wf_discover d;
	size_t len;
	char *b;

	(void)state;
	wf_discover_init(&d);
	b = exact("{\"description\": \"A shop\", "
	    "\"dependencies\": {\"react\": \"^18\", \"left-pad\": \"1\", "
	    "\"@angular/core\": \"17\"}, "
	    "\"devDependencies\": {\"jest\": \"29\"}, "
	    "\"peerDependencies\": {\"express\": \"4\"}, "
	    "\"keywords\": [\"vue\"], "
	    "\"scripts\": {\"build\": \"vite build\", "
	    "\"test\": \"echo \\\"Error: no test specified\\\" && exit 1\", "
	    "\"dev\": \"vite\", \"lint\": \"eslint .\", "
	    "\"deploy\": \"\"}}", &len);
	assert_int_equal(wf_discover_package_json(&d, b, len), 0);
	free(b);
	assert_string_equal(d.description, "A shop");
	assert_int_equal(d.nframeworks, 4);
	assert_true(HAS_FW(&d, "react"));
	assert_true(HAS_FW(&d, "angular"));
	assert_true(HAS_FW(&d, "jest"));
	assert_true(HAS_FW(&d, "express"));
	assert_false(HAS_FW(&d, "vue"));
	assert_str(d.build_command, "npm run build");
	assert_null(d.test_command); /* npm init's placeholder */
	assert_str(d.run_command, "npm run dev");
	assert_str(d.lint_command, "npm run lint");
	assert_null(d.deploy_command);

	/* yarn's commands when its lock file said so; start before dev */
	wf_discover_init(&d);
	d.js_tool = "yarn";
	b = exact("{\"scripts\": {\"test\": \"jest\", \"start\": \"node .\", "
	    "\"dev\": \"x\", \"build\": 7}}", &len);
	assert_int_equal(wf_discover_package_json(&d, b, len), 0);
	free(b);
	assert_str(d.test_command, "yarn test");
	assert_str(d.run_command, "yarn start");
	assert_null(d.build_command);

	wf_discover_init(&d);
	b = exact("[\"react\"]", &len);
	assert_int_equal(wf_discover_package_json(&d, b, len), -1);
	free(b);
	b = exact("{\"dependencies\": {\"react\": \"1\"", &len);
	assert_int_equal(wf_discover_package_json(&d, b, len), -1);
	free(b);
	assert_int_equal(d.nframeworks, 0);
}

static void
test_makefile(void **state)
{
	struct wf_discover d;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_makefile, &d,
	    "CC ?= cc\n"
	    "lint := no\n"
	    "run ::= no\n"
	    "OBJS = $(SRCS:.c=.o)\n"
	    ".PHONY: all check test\n"
	    "all: prog\n"
	    "%.o: %.c\n"
	    "\t$(CC) -c $<\n"
	    "\tdeploy: this is a recipe\n"
	    "define RULES\n"
	    "tests:\n"
	    "endef\n"
	    "$(B)/x: y\n"
	    "prog: a.o \\\n"
	    "  run: b.o\n"
	    "check: prog\n"
	    "\t./prog --test\n"
	    "test: check\n");
	assert_str(d.build_command, "make");
	assert_str(d.test_command, "make check");
	assert_null(d.lint_command);
	assert_null(d.run_command);
	assert_null(d.deploy_command);

	/* all is not the default goal: say so */
	wf_discover_init(&d);
	PARSE(wf_discover_makefile, &d,
	    "help:\n\t@echo help\nall: x\ntests:\nlint:\nrun:\ndeploy:\n");
	assert_str(d.build_command, "make all");
	assert_str(d.test_command, "make tests");
	assert_str(d.lint_command, "make lint");
	assert_str(d.run_command, "make run");
	assert_str(d.deploy_command, "make deploy");

	wf_discover_init(&d);
	PARSE(wf_discover_makefile, &d, "help:\nbuild:\ntest:\n");
	assert_str(d.build_command, "make build");
	assert_str(d.test_command, "make test");

	/* a program as the default goal; only a clean target: nothing */
	wf_discover_init(&d);
	PARSE(wf_discover_makefile, &d, "hello: hello.o\n");
	assert_str(d.build_command, "make");
	wf_discover_init(&d);
	PARSE(wf_discover_makefile, &d, "clean:\n\trm -f x\n");
	assert_null(d.build_command);
	assert_null(d.test_command);
}

/* The first detector to find a command gives it. */
static void
test_first_wins(void **state)
{
	struct wf_discover d;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_makefile, &d, "all:\ncheck:\n");
	PARSE(wf_discover_package_json, &d,
	    "{\"scripts\": {\"build\": \"b\", \"test\": \"t\", "
	    "\"lint\": \"l\"}}");
	PARSE(wf_discover_requirements, &d, "pytest\n");
	wf_discover_finish(&d);
	assert_str(d.build_command, "make");
	assert_str(d.test_command, "make check");
	assert_str(d.lint_command, "npm run lint");
}

/*
 * git.
 */

static void
test_git_head(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "ref: refs/heads/main\n", "main" },
		{ "ref: refs/heads/feature/x-1  \r\n", "feature/x-1" },
		{ "ref:refs/heads/dev", "dev" },
		{ "3f786850e387550fdab836ed7e6dc881de23001b\n", NULL },
		{ "ref: refs/tags/v1\n", NULL },
		{ "ref: refs/heads/\n", NULL },
		{ "ref: refs/heads/a..b\n", NULL },
		{ "ref: refs/heads/a b\n", NULL },
		{ "ref: refs/heads/x\033[31m\n", NULL },
		{ "", NULL },
		{ "ref", NULL },
	};
	char out[64];
	size_t len;
	char *b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		b = exact(cases[i].in, &len);
		rc = wf_discover_git_head(b, len, "refs/heads/", out,
		    sizeof(out));
		free(b);
		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("'%s' gave '%s'", cases[i].in, out);
		} else {
			if (rc != 0)
				fail_msg("'%s' refused", cases[i].in);
			assert_string_equal(out, cases[i].want);
		}
	}
	b = exact("ref: refs/remotes/origin/trunk\n", &len);
	assert_int_equal(wf_discover_git_head(b, len, "refs/remotes/origin/",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "trunk");
	/* too long for out */
	assert_int_equal(wf_discover_git_head(b, len, "refs/remotes/origin/",
	    out, 5), -1);
	free(b);
}

static void
test_git_origin(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "[core]\n\tbare = false\n[remote \"upstream\"]\n"
		  "\turl = https://example.invalid/up.git\n"
		  "[remote \"origin\"]\n"
		  "\turl = https://example.invalid/x.git\n"
		  "\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
		  "https://example.invalid/x.git" },
		{ "[remote \"origin\"]\n\tfetch = x\n[branch \"main\"]\n"
		  "\turl = https://example.invalid/no.git\n", NULL },
		{ "[Remote \"origin\"]\n  URL=\"git@example.invalid:a/b.git\""
		  " ; a comment\n", "git@example.invalid:a/b.git" },
		{ "[remote.origin]\n\turl = ssh://example.invalid/r\n",
		  "ssh://example.invalid/r" },
		{ "[remote \"Origin\"]\n\turl = https://example.invalid/x\n",
		  NULL },
		{ "[remote \"origin\"]\n\turl = https://bob:s3cret@"
		  "example.invalid/x.git\n", "https://example.invalid/x.git" },
		{ "[remote \"origin\"]\n\turl = https://ghp_token@"
		  "example.invalid/x.git\n", "https://example.invalid/x.git" },
		{ "[remote \"origin\"]\n\turl = ssh://git:pw@example.invalid/x"
		  "\n", "ssh://git@example.invalid/x" },
		{ "[remote \"origin\"]\n\turl = https://example.invalid/a@b\n",
		  "https://example.invalid/a@b" },
		{ "[remote \"origin\"]\n\turl = \"a\\tb\"\n", NULL },
		{ "[remote \"origin\"]\n\turl =\n", NULL },
		{ "[remote \"origin\"] url = "
		  "https://example.invalid/same-line\n",
		  "https://example.invalid/same-line" },
		{ "[remote \"origin\"\n\turl = https://example.invalid/x\n",
		  NULL },
		{ "", NULL },
	};
	char out[128];
	size_t len;
	char *b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		b = exact(cases[i].in, &len);
		rc = wf_discover_git_origin(b, len, out, sizeof(out));
		free(b);
		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("case %zu gave '%s'", i, out);
		} else {
			if (rc != 0)
				fail_msg("case %zu refused", i);
			assert_string_equal(out, cases[i].want);
		}
	}
}

/* A git directory written by hand, and a worktree's .git file. */
static void
test_git_tree(void **state)
{
	struct wf_discover_limits lim;
	struct wf_discover d;
	char dir[PATH_MAX], wt[PATH_MAX + 64];

	(void)state;
	wf_discover_default_limits(&lim);
	make_tmpdir(dir, sizeof(dir));
	put(dir, "repo/.git/HEAD", "ref: refs/heads/feature\n");
	put(dir, "repo/.git/config", "[remote \"origin\"]\n"
	    "\turl = https://example.invalid/x.git\n");
	put(dir, "repo/.git/objects/x.c", "int not_counted;\n");
	put(dir, "repo/main.c", "int main;\n");
	snprintf(wt, sizeof(wt), "%s/repo", dir);
	discover_tree(wt, &lim, &d);
	assert_string_equal(d.branch, "feature");
	assert_string_equal(d.primary_branch, "feature");
	assert_string_equal(d.origin, "https://example.invalid/x.git");
	assert_int_equal(lang_files(&d, "c"), 1);

	/* origin's HEAD names the primary branch */
	put(dir, "repo/.git/refs/remotes/origin/HEAD",
	    "ref: refs/remotes/origin/main\n");
	discover_tree(wt, &lim, &d);
	assert_string_equal(d.branch, "feature");
	assert_string_equal(d.primary_branch, "main");

	/* a worktree: .git is a file naming its git directory, whose
	 * commondir holds the config */
	put(dir, "repo/.git/worktrees/wt/HEAD", "ref: refs/heads/wf/run-7\n");
	put(dir, "repo/.git/worktrees/wt/commondir", "../..\n");
	put(dir, "wt/.git", "gitdir: ../repo/.git/worktrees/wt\n");
	snprintf(wt, sizeof(wt), "%s/wt", dir);
	discover_tree(wt, &lim, &d);
	assert_string_equal(d.branch, "wf/run-7");
	assert_string_equal(d.primary_branch, "main");
	assert_string_equal(d.origin, "https://example.invalid/x.git");

	/* detached: no branch */
	put(dir, "repo/.git/HEAD",
	    "3f786850e387550fdab836ed7e6dc881de23001b\n");
	assert_true((size_t)snprintf(wt, sizeof(wt),
	    "%s/repo/.git/refs/remotes/origin/HEAD", dir) < sizeof(wt));
	assert_int_equal(unlink(wt), 0);
	snprintf(wt, sizeof(wt), "%s/repo", dir);
	discover_tree(wt, &lim, &d);
	assert_string_equal(d.branch, "");
	assert_string_equal(d.primary_branch, "");
	rm_tree(dir);
}

/* What is kept of a file's text is UTF-8 without control characters. */
static void
test_text(void **state)
{
	struct wf_discover d;
	char buf[1024], out[64];
	size_t len, n;
	char *b;

	(void)state;
	wf_discover_init(&d);
	PARSE(wf_discover_pyproject, &d,
	    "[project]\ndescription = \"caf\xc3\xa9\x01\xff end\"\n");
	assert_string_equal(d.description, "caf\xc3\xa9 ? end");

	/* cut to the buffer, never inside a character */
	n = (size_t)snprintf(buf, sizeof(buf), "[package]\ndescription = \"");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\xc3\xa9");
	snprintf(buf + n, sizeof(buf) - n, "\"\n");
	wf_discover_init(&d);
	PARSE(wf_discover_cargo_toml, &d, buf);
	assert_int_equal(strlen(d.description), sizeof(d.description) - 2);
	assert_int_equal((unsigned char)d.description[0], 0xc3);
	assert_int_equal((unsigned char)
	    d.description[sizeof(d.description) - 3], 0xa9);

	b = exact("ref: refs/heads/caf\xc3\xa9\n", &len);
	assert_int_equal(wf_discover_git_head(b, len, "refs/heads/", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "caf\xc3\xa9");
	free(b);
	b = exact("ref: refs/heads/caf\xc3\n", &len);
	assert_int_equal(wf_discover_git_head(b, len, "refs/heads/", out,
	    sizeof(out)), -1);
	free(b);
	b = exact("[remote \"origin\"]\n\turl = https://example.invalid/\xff\n",
	    &len);
	assert_int_equal(wf_discover_git_origin(b, len, out, sizeof(out)), -1);
	free(b);
}

/*
 * The walk's bounds and links.
 */

static void
test_walk_bounds(void **state)
{
	struct wf_discover_limits lim;
	struct wf_discover d;
	char dir[PATH_MAX], rel[64];

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	for (int i = 0; i < 30; i++) {
		snprintf(rel, sizeof(rel), "f%02d.py", i);
		put(dir, rel, "x = 1\n");
	}
	wf_discover_default_limits(&lim);
	discover_tree(dir, &lim, &d);
	assert_int_equal(d.entries, 30);
	assert_int_equal(lang_files(&d, "python"), 30);
	assert_int_equal(d.flags, 0);

	lim.max_entries = 10;
	discover_tree(dir, &lim, &d);
	assert_int_equal(d.entries, 10);
	assert_int_equal(lang_files(&d, "python"), 10);
	assert_true(d.flags & WF_DISCOVER_TOO_MANY);
	rm_tree(dir);

	/* depth: a/b/c.go is two directories down */
	make_tmpdir(dir, sizeof(dir));
	put(dir, "top.c", "");
	put(dir, "a/one.c", "");
	put(dir, "a/b/two.go", "");
	put(dir, "a/b/c/three.rs", "");
	wf_discover_default_limits(&lim);
	lim.max_depth = 2;
	discover_tree(dir, &lim, &d);
	assert_int_equal(lang_files(&d, "c"), 2);
	assert_int_equal(lang_files(&d, "go"), 1);
	assert_int_equal(lang_files(&d, "rust"), 0);
	assert_true(d.flags & WF_DISCOVER_TOO_DEEP);
	lim.max_depth = 3;
	discover_tree(dir, &lim, &d);
	assert_int_equal(lang_files(&d, "rust"), 1);
	assert_false(d.flags & WF_DISCOVER_TOO_DEEP);

	/* a file over max_read is not read */
	put(dir, "package.json", "{\"dependencies\": {\"react\": \"18\"}, "
	    "\"description\": \"padding padding padding padding\"}");
	lim.max_read = 32;
	discover_tree(dir, &lim, &d);
	assert_false(HAS_FW(&d, "react"));
	assert_true(d.flags & WF_DISCOVER_TOO_BIG);
	lim.max_read = 4096;
	discover_tree(dir, &lim, &d);
	assert_true(HAS_FW(&d, "react"));
	assert_false(d.flags & WF_DISCOVER_TOO_BIG);
	rm_tree(dir);
}

static void
test_symlinks(void **state)
{
	struct wf_discover_limits lim;
	struct wf_discover d;
	char dir[PATH_MAX], repo[PATH_MAX + 8], target[PATH_MAX + 16];

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	put(dir, "outside/a.rb", "");
	put(dir, "outside/b.rb", "");
	put(dir, "outside/package.json",
	    "{\"dependencies\": {\"react\": \"18\"}}");
	put(dir, "outside/Makefile", "all:\ncheck:\n");
	put(dir, "outside/HEAD", "ref: refs/heads/leak\n");
	put(dir, "repo/main.py", "");
	snprintf(repo, sizeof(repo), "%s/repo", dir);
	snprintf(target, sizeof(target), "%s/outside", dir);
	link_at(repo, "ext", target);        /* a directory out of the tree */
	link_at(repo, "lib", "../outside");  /* the same, relative */
	link_at(repo, "alias.py", "main.py"); /* a file inside */
	link_at(repo, "package.json", "../outside/package.json");
	link_at(repo, "Makefile", "../outside/Makefile");
	link_at(repo, ".git", "../outside");
	put(dir, "repo/src/x.py", "");
	link_at(repo, "src/up", "..");       /* a loop */
	wf_discover_default_limits(&lim);
	discover_tree(repo, &lim, &d);
	assert_int_equal(lang_files(&d, "ruby"), 0);
	assert_int_equal(lang_files(&d, "python"), 2);
	assert_int_equal(d.symlinks, 7);
	assert_int_equal(d.nframeworks, 0);
	assert_false(HAS_KEY(&d, "package.json"));
	assert_false(HAS_KEY(&d, "Makefile"));
	assert_null(d.build_command);
	assert_null(d.test_command);
	assert_string_equal(d.branch, "");
	rm_tree(dir);
}

/*
 * The fixture repositories.
 */

/* The fields of a discovery, with a name, are a project the store
 * takes. */
static void
assert_schema_ok(const struct wf_discover *d)
{
	cJSON *f = wf_discover_fields(d);
	char err[256];

	assert_non_null(f);
	cJSON_AddStringToObject(f, "name", "x");
	if (wf_store_check(&wf_kind_project, f, 1, 0, err, sizeof(err)) != 0)
		fail_msg("store refused the fields: %s", err);
	cJSON_Delete(f);
}

static void
test_fixture_python(void **state)
{
	struct wf_discover d;

	(void)state;
	discover_fixture("python", &d);
	assert_int_equal(d.nlangs, 1);
	assert_string_equal(d.langs[0].name, "python");
	assert_int_equal(d.langs[0].files, 6);
	/* requirements.txt: django, pytest, celery; pyproject.toml:
	 * djangorestframework; requirements-dev.txt: ruff */
	assert_true(HAS_FW(&d, "django"));
	assert_true(HAS_FW(&d, "pytest"));
	assert_true(HAS_FW(&d, "celery"));
	assert_true(HAS_FW(&d, "django-rest-framework"));
	assert_int_equal(d.nframeworks, 4);
	assert_string_equal(d.description, "A small Django shop");
	assert_null(d.build_command);
	assert_str(d.test_command, "pytest");
	assert_str(d.run_command, "python manage.py runserver");
	assert_str(d.lint_command, "ruff check .");
	assert_true(HAS_KEY(&d, "requirements.txt"));
	assert_true(HAS_KEY(&d, "pyproject.toml"));
	assert_true(HAS_KEY(&d, "manage.py"));
	assert_true(HAS_KEY(&d, "README.md"));
	assert_schema_ok(&d);
}

static void
test_fixture_node(void **state)
{
	struct wf_discover d;

	(void)state;
	discover_fixture("node", &d);
	assert_int_equal(d.nlangs, 1);
	assert_string_equal(d.langs[0].name, "javascript");
	assert_int_equal(d.langs[0].files, 4);
	assert_true(HAS_FW(&d, "react"));
	assert_true(HAS_FW(&d, "express"));
	assert_true(HAS_FW(&d, "jest"));
	assert_int_equal(d.nframeworks, 3);
	assert_str(d.build_command, "npm run build");
	assert_str(d.test_command, "npm test");
	assert_str(d.run_command, "npm start");
	assert_true(HAS_KEY(&d, "package.json"));
	assert_true(HAS_KEY(&d, "server.js"));
	assert_schema_ok(&d);
}

static void
test_fixture_go(void **state)
{
	struct wf_discover d;

	(void)state;
	discover_fixture("go", &d);
	assert_int_equal(d.nlangs, 1);
	assert_string_equal(d.langs[0].name, "go");
	assert_int_equal(d.langs[0].files, 3);
	assert_true(HAS_FW(&d, "gin"));
	assert_false(HAS_FW(&d, "echo")); /* indirect */
	assert_int_equal(d.nframeworks, 1);
	assert_str(d.build_command, "go build ./...");
	assert_str(d.test_command, "go test ./...");
	assert_str(d.run_command, "go run .");
	assert_str(d.lint_command, "go vet ./...");
	assert_true(HAS_KEY(&d, "go.mod"));
	assert_schema_ok(&d);
}

static void
test_fixture_rust(void **state)
{
	struct wf_discover d;

	(void)state;
	discover_fixture("rust", &d);
	assert_int_equal(d.nlangs, 1);
	assert_string_equal(d.langs[0].name, "rust");
	assert_true(HAS_FW(&d, "tokio"));
	assert_true(HAS_FW(&d, "serde"));
	assert_int_equal(d.nframeworks, 2);
	assert_string_equal(d.description, "Prints the time, asynchronously");
	assert_str(d.build_command, "cargo build");
	assert_str(d.test_command, "cargo test");
	assert_str(d.run_command, "cargo run");
	assert_str(d.lint_command, "cargo clippy");
	assert_true(HAS_KEY(&d, "Cargo.toml"));
	assert_true(HAS_KEY(&d, "src/main.rs"));
	assert_schema_ok(&d);
}

static void
test_fixture_c(void **state)
{
	struct wf_discover d;

	(void)state;
	discover_fixture("c", &d);
	assert_int_equal(d.nlangs, 1);
	assert_string_equal(d.langs[0].name, "c");
	assert_int_equal(d.langs[0].files, 4);
	assert_int_equal(d.nframeworks, 0);
	assert_str(d.build_command, "make");
	assert_str(d.test_command, "make check");
	assert_null(d.run_command);
	assert_true(HAS_KEY(&d, "Makefile"));
	assert_true(HAS_KEY(&d, "README.md"));
	assert_schema_ok(&d);
}

static void
test_fixture_mixed(void **state)
{
	struct wf_discover d;

	(void)state;
	discover_fixture("mixed", &d);
	/* node_modules (41 .js), build/, dist/, vendor/, third_party/,
	 * target/, .venv/ and __pycache__/ are not counted */
	assert_int_equal(d.nlangs, 3);
	assert_string_equal(d.langs[0].name, "python");
	assert_int_equal(d.langs[0].files, 3);
	assert_string_equal(d.langs[1].name, "typescript");
	assert_int_equal(d.langs[1].files, 2);
	assert_string_equal(d.langs[2].name, "javascript");
	assert_int_equal(d.langs[2].files, 1);
	assert_int_equal(lang_files(&d, "c"), 0);
	assert_int_equal(lang_files(&d, "go"), 0);
	assert_int_equal(lang_files(&d, "ruby"), 0);
	assert_int_equal(lang_files(&d, "rust"), 0);
	assert_true(d.files < 20);
	assert_int_equal(d.flags, 0);
	assert_schema_ok(&d);
}

static void
test_path_errors(void **state)
{
	struct wf_discover d;
	char err[256], path[PATH_MAX];

	(void)state;
	assert_int_equal(wf_discover_path("/nonexistent/wf-discover", &d, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/wf-discover"));
	snprintf(path, sizeof(path), "%s/c/Makefile", fixtures());
	assert_int_equal(wf_discover_path(path, &d, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(err, "not a directory"));
}

/*
 * A bounded fuzz: every parser on mutations and truncations of sample
 * inputs, each in a buffer of its exact length.  It asserts that the
 * results stay in their bounds; ASan (make SANITIZE=1) asserts the rest.
 */

static const char *const samples[] = {
	"[project]\ndependencies = [\"django\", 'x']\n"
	"[tool.poetry.dependencies]\nflask = {a = [1, {b = \"\"\"c\"\"\"}]}\n"
	"'''x'''\n[[a.b]]\n",
	"[dependencies]\ntokio = { version = \"1\", features = [\"a\",\n] }\n"
	"[dependencies.serde]\n[package]\ndescription = \"\"\"\nx\"\"\"\n",
	"module m\nrequire (\n\tgithub.com/gin-gonic/gin v1 // indirect\n)\n"
	"require gorm.io/gorm v1\nreplace (\n",
	"{\"dependencies\": {\"react\": \"1\"}, \"scripts\": {\"test\": \"t\", "
	"\"build\": \"b\"}, \"description\": \"d\\u0000e\"}",
	"all: x\n\tcmd\ncheck:: y\nz := 1\ndefine A\nendef\n\\\nrun:\n",
	"Django[x]>=1 ; python_version < \"3\"\n-r y\npytest\n",
	"[remote \"origin\"]\n\turl = \"https://a:b@h/x\" # c\n"
	"[remote.origin]\n",
	"ref: refs/heads/main\n",
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fuzz_one(const char *buf, size_t len)
{
	struct wf_discover d;
	char out[64];

	wf_discover_init(&d);
	wf_discover_requirements(&d, buf, len);
	wf_discover_pyproject(&d, buf, len);
	wf_discover_cargo_toml(&d, buf, len);
	wf_discover_go_mod(&d, buf, len);
	wf_discover_makefile(&d, buf, len);
	(void)wf_discover_package_json(&d, buf, len);
	wf_discover_finish(&d);
	assert_true(d.nframeworks >= 0 &&
	    d.nframeworks <= WF_DISCOVER_NAMES_MAX);
	assert_true(strlen(d.description) < sizeof(d.description));
	for (const char *p = d.description; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p != 0x7f);
	if (wf_discover_git_head(buf, len, "refs/heads/", out,
	    sizeof(out)) == 0)
		assert_true(strlen(out) < sizeof(out));
	if (wf_discover_git_origin(buf, len, out, sizeof(out)) == 0) {
		assert_true(strlen(out) > 0 && strlen(out) < sizeof(out));
		for (const char *p = out; *p != '\0'; p++)
			assert_true((unsigned char)*p >= 0x20);
	}
}

static void
test_fuzz(void **state)
{
	static const char tokens[] = "[]{}\"'=#:\\\n\t ,.()/;-";
	char *b;
	size_t len;

	(void)state;
	for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
		/* every truncation */
		for (size_t n = 0; n <= strlen(samples[s]); n++) {
			b = malloc(n > 0 ? n : 1);
			assert_non_null(b);
			memcpy(b, samples[s], n);
			fuzz_one(b, n);
			free(b);
		}
	}
	for (int round = 0; round < FUZZ_ROUNDS; round++) {
		const char *src = samples[next_rand() % (sizeof(samples) /
		    sizeof(samples[0]))];
		int muts = 1 + (int)(next_rand() % 8);

		b = exact(src, &len);
		for (int m = 0; m < muts && len > 0; m++) {
			size_t at = next_rand() % len;

			if (next_rand() % 2)
				b[at] = tokens[next_rand() % (sizeof(tokens) -
				    1)];
			else
				b[at] = (char)(next_rand() & 0xff);
		}
		fuzz_one(b, len);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_language),
		cmocka_unit_test(test_skipped_dir),
		cmocka_unit_test(test_requirements),
		cmocka_unit_test(test_pyproject),
		cmocka_unit_test(test_cargo),
		cmocka_unit_test(test_go_mod),
		cmocka_unit_test(test_package_json),
		cmocka_unit_test(test_makefile),
		cmocka_unit_test(test_first_wins),
		cmocka_unit_test(test_git_head),
		cmocka_unit_test(test_git_origin),
		cmocka_unit_test(test_git_tree),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_walk_bounds),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_fixture_python),
		cmocka_unit_test(test_fixture_node),
		cmocka_unit_test(test_fixture_go),
		cmocka_unit_test(test_fixture_rust),
		cmocka_unit_test(test_fixture_c),
		cmocka_unit_test(test_fixture_mixed),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_fuzz),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
