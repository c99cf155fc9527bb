/*
 * discover: a repository's languages, frameworks, commands, key files and
 * git origin, from its files alone.  The walk opens every directory from
 * its parent with O_NOFOLLOW and never follows a link; each parser stays
 * inside [buf, buf+len) and keeps pointers to static strings or copies
 * into the fixed buffers of struct wf_discover, so that no input can make
 * it read past its end or allocate without bound.  What it keeps of a
 * file's text is UTF-8 without control characters, fit for JSON and a
 * terminal.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover.h"

#define NAME_MAX_DEP 128 /* bytes of a dependency's name */
#define MANIFESTS_MAX 16 /* requirements files read */
#define TOML_DEPTH_MAX 32
#define GITFILE_MAX 4096 /* a .git file, HEAD */

/*
 * Tables.
 */

static const struct {
	const char *ext, *lang;
} exts[] = {
	{ "c", "c" }, { "h", "c" },
	{ "cc", "c++" }, { "cpp", "c++" }, { "cxx", "c++" }, { "hpp", "c++" },
	{ "hh", "c++" }, { "hxx", "c++" },
	{ "py", "python" }, { "pyi", "python" },
	{ "js", "javascript" }, { "mjs", "javascript" },
	{ "cjs", "javascript" }, { "jsx", "javascript" },
	{ "ts", "typescript" }, { "tsx", "typescript" },
	{ "mts", "typescript" }, { "cts", "typescript" },
	{ "go", "go" }, { "rs", "rust" }, { "java", "java" },
	{ "kt", "kotlin" }, { "kts", "kotlin" }, { "scala", "scala" },
	{ "rb", "ruby" }, { "php", "php" }, { "cs", "c#" }, { "fs", "f#" },
	{ "swift", "swift" }, { "dart", "dart" },
	{ "sh", "shell" }, { "bash", "shell" },
	{ "lua", "lua" }, { "pl", "perl" }, { "pm", "perl" },
	{ "ex", "elixir" }, { "exs", "elixir" }, { "erl", "erlang" },
	{ "hs", "haskell" }, { "clj", "clojure" }, { "ml", "ocaml" },
	{ "r", "r" }, { "jl", "julia" }, { "zig", "zig" }, { "nim", "nim" },
};

/* Directories that hold someone else's code or what a build made. */
static const char *const skipped_dirs[] = {
	"node_modules", "bower_components", "vendor", "third_party",
	"target", "build", "dist", "__pycache__", "venv", "site-packages",
	NULL,
};

/* The files an agent reads first, in the order they are listed. */
static const char *const key_paths[] = {
	"README.md", "README.rst", "README.txt", "README", "AGENTS.md",
	"CLAUDE.md", "CONTRIBUTING.md", "LICENSE", "LICENSE.md", "COPYING",
	"Makefile", "GNUmakefile", "makefile", "CMakeLists.txt", "meson.build",
	"configure.ac", "package.json", "tsconfig.json", "pyproject.toml",
	"requirements.txt", "requirements-dev.txt", "setup.py", "setup.cfg",
	"manage.py", "go.mod", "Cargo.toml", "Dockerfile", "docker-compose.yml",
	"docker-compose.yaml", "compose.yaml", "compose.yml", "main.go",
	"src/main.rs", "src/lib.rs", "main.py", "app.py", "index.js",
	"server.js", "src/index.js", "src/index.ts", "src/main.ts",
	NULL,
};

struct dep {
	const char *dep, *framework;
};

static const struct dep js_deps[] = {
	{ "react", "react" }, { "vue", "vue" }, { "@angular/core", "angular" },
	{ "svelte", "svelte" }, { "@sveltejs/kit", "sveltekit" },
	{ "next", "next" }, { "nuxt", "nuxt" }, { "gatsby", "gatsby" },
	{ "solid-js", "solid" }, { "react-native", "react-native" },
	{ "@remix-run/react", "remix" }, { "electron", "electron" },
	{ "express", "express" }, { "fastify", "fastify" }, { "koa", "koa" },
	{ "@hapi/hapi", "hapi" }, { "@nestjs/core", "nestjs" },
	{ "jest", "jest" }, { "mocha", "mocha" }, { "vitest", "vitest" },
	{ "@playwright/test", "playwright" }, { "cypress", "cypress" },
	{ "tailwindcss", "tailwindcss" },
	{ NULL, NULL },
};

/* Python names as PEP 503 normalizes them: lower case, runs of "-_."
 * made one "-". */
static const struct dep py_deps[] = {
	{ "django", "django" },
	{ "djangorestframework", "django-rest-framework" },
	{ "flask", "flask" }, { "fastapi", "fastapi" },
	{ "starlette", "starlette" }, { "tornado", "tornado" },
	{ "aiohttp", "aiohttp" }, { "pyramid", "pyramid" },
	{ "streamlit", "streamlit" }, { "celery", "celery" },
	{ "sqlalchemy", "sqlalchemy" }, { "alembic", "alembic" },
	{ "pytest", "pytest" }, { "torch", "pytorch" },
	{ "tensorflow", "tensorflow" },
	{ NULL, NULL },
};

/* Go module paths: the path itself or one below it (".../v4"). */
static const struct dep go_deps[] = {
	{ "github.com/gin-gonic/gin", "gin" },
	{ "github.com/labstack/echo", "echo" },
	{ "github.com/gofiber/fiber", "fiber" },
	{ "github.com/go-chi/chi", "chi" },
	{ "github.com/gorilla/mux", "gorilla-mux" },
	{ "github.com/spf13/cobra", "cobra" },
	{ "google.golang.org/grpc", "grpc" },
	{ "gorm.io/gorm", "gorm" },
	{ "github.com/stretchr/testify", "testify" },
	{ NULL, NULL },
};

/* Crate names, "_" read as "-". */
static const struct dep rust_deps[] = {
	{ "tokio", "tokio" }, { "serde", "serde" },
	{ "actix-web", "actix-web" },
	{ "axum", "axum" }, { "rocket", "rocket" }, { "warp", "warp" },
	{ "hyper", "hyper" }, { "tonic", "tonic" }, { "clap", "clap" },
	{ "diesel", "diesel" }, { "sqlx", "sqlx" }, { "tauri", "tauri" },
	{ "bevy", "bevy" },
	{ NULL, NULL },
};

/* The commands of the JavaScript package managers. */
enum { JS_BUILD, JS_TEST, JS_START, JS_DEV, JS_LINT, JS_DEPLOY, JS_N };

static const struct {
	const char *tool;
	const char *cmd[JS_N];
} js_cmds[] = {
	{ "npm", { "npm run build", "npm test", "npm start", "npm run dev",
	    "npm run lint", "npm run deploy" } },
	{ "yarn", { "yarn run build", "yarn test", "yarn start", "yarn run dev",
	    "yarn run lint", "yarn run deploy" } },
	{ "pnpm", { "pnpm run build", "pnpm test", "pnpm start",
	    "pnpm run dev", "pnpm run lint", "pnpm run deploy" } },
	{ "bun", { "bun run build", "bun run test", "bun run start",
	    "bun run dev", "bun run lint", "bun run deploy" } },
};

static const char *const js_scripts[JS_N] = {
	"build", "test", "start", "dev", "lint", "deploy",
};

/*
 * Small helpers over spans of a buffer.
 */

static int
span_eq(const char *p, size_t n, const char *s)
{
	size_t m = strlen(s);

	return n == m && memcmp(p, s, m) == 0;
}

static int
span_caseeq(const char *p, size_t n, const char *s)
{
	size_t m = strlen(s);

	return n == m && strncasecmp(p, s, m) == 0;
}

static int
span_starts(const char *p, size_t n, const char *s)
{
	size_t m = strlen(s);

	return n >= m && memcmp(p, s, m) == 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim blanks off both ends of [*s, *e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

/* The next line of [*p, end): [*s, *e) without its newline; *p moves
 * past it.  0 at the end. */
static int
next_line(const char **p, const char *end, const char **s, const char **e)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*s = *p;
	*e = nl != NULL ? nl : end;
	*p = nl != NULL ? nl + 1 : end;
	return 1;
}

static void
add_name(const char **arr, int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(arr[i], name) == 0)
			return;
	if (*n < WF_DISCOVER_NAMES_MAX)
		arr[(*n)++] = name;
}

static void
set_cmd(const char **slot, const char *cmd)
{
	if (*slot == NULL)
		*slot = cmd;
}

/* The length of the UTF-8 sequence at p (n bytes left), 0 when it is not
 * a valid one (a stray byte, an overlong form, a surrogate, past
 * U+10FFFF). */
static size_t
utf8_len(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t len;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 0;
	if ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0) ||
	    (u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90))
		return 0;
	return len;
}

static int
utf8_ok(const char *p, size_t n)
{
	for (size_t i = 0, l; i < n; i += l)
		if ((l = utf8_len(p + i, n - i)) == 0)
			return 0;
	return 1;
}

/* Copy a span into a fixed buffer, control characters made spaces and
 * bytes that are not UTF-8 made "?", no character cut at the end; only
 * when the buffer is still empty. */
static void
set_text(char *dst, size_t dstlen, const char *p, size_t n)
{
	size_t o = 0, l;

	if (dstlen == 0 || dst[0] != '\0')
		return;
	for (size_t i = 0; i < n; i += l) {
		unsigned char c = (unsigned char)p[i];

		if ((l = utf8_len(p + i, n - i)) == 0) {
			l = 1;
			c = '?';
		}
		if (o + l >= dstlen)
			break;
		if (l > 1)
			memcpy(dst + o, p + i, l);
		else
			dst[o] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		o += l;
	}
	dst[o] = '\0';
}

/* A dependency's name, lower-cased, each run of "-_." made one "-" (PEP
 * 503; Cargo reads "_" as "-" too).  -1 when it does not fit. */
static int
normalize(const char *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)p[i]);

		if (c == '_' || c == '.' || c == '-') {
			if (o > 0 && out[o - 1] == '-')
				continue;
			c = '-';
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

static const char *
lookup(const struct dep *t, const char *name)
{
	for (; t->dep != NULL; t++)
		if (strcmp(t->dep, name) == 0)
			return t->framework;
	return NULL;
}

static void
add_framework(struct wf_discover *d, const char *fw)
{
	if (fw != NULL)
		add_name(d->frameworks, &d->nframeworks, fw);
}

/*
 * Languages and the walk.
 */

const char *
wf_discover_language(const char *filename)
{
	const char *dot = strrchr(filename, '.');

	if (dot == NULL || dot == filename || dot[1] == '\0')
		return NULL;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(dot + 1, exts[i].ext) == 0)
			return exts[i].lang;
	return NULL;
}

int
wf_discover_skipped_dir(const char *name)
{
	if (name[0] == '.')
		return 1;
	for (int i = 0; skipped_dirs[i] != NULL; i++)
		if (strcmp(name, skipped_dirs[i]) == 0)
			return 1;
	return 0;
}

static void
count_lang(struct wf_discover *d, const char *lang)
{
	for (int i = 0; i < d->nlangs; i++)
		if (strcmp(d->langs[i].name, lang) == 0) {
			d->langs[i].files++;
			return;
		}
	if (d->nlangs < WF_DISCOVER_LANGS_MAX)
		d->langs[d->nlangs++] = (struct wf_discover_lang){ lang, 1 };
}

/* The entries of the directory fd (consumed), depth levels below the
 * top. */
static void
walk(int fd, int depth, const struct wf_discover_limits *lim,
    struct wf_discover *d)
{
	DIR *dir;
	struct dirent *e;
	struct stat st;

	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		const char *lang;
		unsigned char type = e->d_type;
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (d->entries >= lim->max_entries) {
			d->flags |= WF_DISCOVER_TOO_MANY;
			break;
		}
		d->entries++;
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(dir), e->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			type = S_ISLNK(st.st_mode) ? DT_LNK :
			    S_ISDIR(st.st_mode) ? DT_DIR :
			    S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		}
		if (type == DT_LNK) {
			d->symlinks++;
			continue;
		}
		if (type == DT_DIR) {
			if (wf_discover_skipped_dir(e->d_name))
				continue;
			if (depth + 1 > lim->max_depth) {
				d->flags |= WF_DISCOVER_TOO_DEEP;
				continue;
			}
			/* O_NOFOLLOW: a directory swapped for a link since
			 * readdir is refused, not entered. */
			sub = openat(dirfd(dir), e->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub != -1)
				walk(sub, depth + 1, lim, d);
			if (d->flags & WF_DISCOVER_TOO_MANY)
				break;
			continue;
		}
		if (type != DT_REG)
			continue;
		d->files++;
		if ((lang = wf_discover_language(e->d_name)) != NULL)
			count_lang(d, lang);
	}
	closedir(dir);
}

void
wf_discover_walk(int dirfd, const struct wf_discover_limits *lim,
    struct wf_discover *d)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd != -1)
		walk(fd, 0, lim, d);
}

/*
 * Reading a file of the tree, never through a link.
 */

/* Open rel (components separated by "/", no "." or "..") under dirfd,
 * every component with O_NOFOLLOW. */
static int
open_beneath(int dirfd, const char *rel, int flags)
{
	char comp[256];
	const char *p = rel;
	int fd = dirfd, next, e;

	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n >= sizeof(comp)) {
			next = -1;
			errno = EINVAL;
		} else {
			memcpy(comp, p, n);
			comp[n] = '\0';
			if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
				next = -1;
				errno = EINVAL;
			} else if (p[n] == '\0')
				next = openat(fd, comp, flags | O_NOFOLLOW |
				    O_CLOEXEC);
			else
				next = openat(fd, comp, O_RDONLY | O_DIRECTORY |
				    O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd != dirfd) {
			e = errno;
			close(fd);
			errno = e;
		}
		if (next == -1 || p[n] == '\0')
			return next;
		fd = next;
		p += n + 1;
	}
}

/* Is rel a regular file (not a link) under dirfd? */
static int
is_file(int dirfd, const char *rel)
{
	struct stat st;
	int fd = open_beneath(dirfd, rel, O_PATH);
	int ok;

	if (fd == -1)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	return ok;
}

/* The contents of the regular file rel under dirfd, NUL-terminated, in
 * *len bytes (malloc'd); NULL when there is none, it is not a regular
 * file, or it is over max bytes (then TOO_BIG is flagged). */
static char *
read_beneath(int dirfd, const char *rel, size_t max, size_t *len,
    struct wf_discover *d)
{
	struct stat st;
	char *buf = NULL;
	size_t cap, n = 0;
	ssize_t r;
	int fd, e;

	*len = 0;
	/* O_NONBLOCK: a FIFO must not hang the walk. */
	if ((fd = open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto fail;
	if ((size_t)st.st_size > max) {
		if (d != NULL)
			d->flags |= WF_DISCOVER_TOO_BIG;
		goto fail;
	}
	cap = (size_t)st.st_size;
	if ((buf = malloc(cap + 2)) == NULL)
		goto fail;
	/* One byte more than stat said, to see a file that grew. */
	while (n < cap + 1) {
		if ((r = read(fd, buf + n, cap + 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		if (d != NULL)
			d->flags |= WF_DISCOVER_TOO_BIG;
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}

/*
 * A small TOML scanner: enough of the grammar (tables, keys, strings of
 * the four kinds, arrays and inline tables across lines, comments) to
 * find dependency names.  It reports a table's header, each key of a
 * table with its value when that is a string, and each string directly in
 * an array that is a key's value.
 */

enum { T_HEADER, T_KEY, T_ITEM };

struct toml_ev {
	int what;
	const char *tab, *key, *val; /* val NULL: not a string */
	size_t tablen, keylen, vallen;
};

struct toml {
	const char *p, *end;
	struct toml_ev ev;
	void (*fn)(void *, const struct toml_ev *);
	void *arg;
};

static void
t_ws(struct toml *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
		t->p++;
}

static void
t_eol(struct toml *t)
{
	const char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));

	t->p = nl != NULL ? nl + 1 : t->end;
}

/* Blanks, newlines and comments (inside brackets and braces). */
static void
t_space(struct toml *t)
{
	while (t->p < t->end) {
		if (isspace((unsigned char)*t->p))
			t->p++;
		else if (*t->p == '#')
			t_eol(t);
		else
			break;
	}
}

static int
t_triple(const struct toml *t, char q)
{
	return t->end - t->p >= 3 && t->p[0] == q && t->p[1] == q &&
	    t->p[2] == q;
}

/* The string at t->p (at its quote): its raw contents, escapes left as
 * they are.  An unterminated one ends at its line's end (or the
 * buffer's). */
static void
t_string(struct toml *t, const char **v, size_t *n)
{
	char q = *t->p;
	int multi = t_triple(t, q);
	const char *s;

	t->p += multi ? 3 : 1;
	s = t->p;
	while (t->p < t->end) {
		if (q == '"' && *t->p == '\\') {
			t->p = t->end - t->p >= 2 ? t->p + 2 : t->end;
			continue;
		}
		if (!multi && *t->p == '\n')
			break;
		if (*t->p == q && (!multi || t_triple(t, q))) {
			*v = s;
			*n = (size_t)(t->p - s);
			t->p += multi ? 3 : 1;
			return;
		}
		t->p++;
	}
	*v = s;
	*n = (size_t)(t->p - s);
}

/* A key, bare, quoted or dotted, up to its "=": its text (one quoted key:
 * its contents). */
static void
t_key(struct toml *t, const char **k, size_t *kn)
{
	const char *s = t->p, *e, *v;
	size_t n;

	while (t->p < t->end && *t->p != '=' && *t->p != '\n' &&
	    *t->p != '}' && *t->p != ',') {
		if (*t->p == '"' || *t->p == '\'')
			t_string(t, &v, &n);
		else
			t->p++;
	}
	e = t->p;
	trim(&s, &e);
	if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
		s++;
		e--;
	}
	*k = s;
	*kn = (size_t)(e - s);
}

static int
t_scalar_end(char c)
{
	return c == ',' || c == ']' || c == '}' || c == '\n' || c == '#';
}

/* A value.  items: its strings are items of the key at hand (it is an
 * element of the key's own array). */
static void
t_value(struct toml *t, int depth, int items)
{
	const char *v, *before;
	size_t n;

	if (t->p >= t->end)
		return;
	if (depth > TOML_DEPTH_MAX) {
		t->p = t->end;
		return;
	}
	switch (*t->p) {
	case '"':
	case '\'':
		t_string(t, &v, &n);
		if (items) {
			t->ev.what = T_ITEM;
			t->ev.val = v;
			t->ev.vallen = n;
			t->fn(t->arg, &t->ev);
		}
		return;
	case '[':
		t->p++;
		for (;;) {
			t_space(t);
			if (t->p >= t->end)
				return;
			if (*t->p == ']') {
				t->p++;
				return;
			}
			before = t->p;
			if (*t->p == ',')
				t->p++;
			else
				t_value(t, depth + 1, depth == 0 && items);
			if (t->p == before)
				t->p++;
		}
	case '{':
		t->p++;
		for (;;) {
			t_space(t);
			if (t->p >= t->end)
				return;
			if (*t->p == '}') {
				t->p++;
				return;
			}
			before = t->p;
			if (*t->p == ',')
				t->p++;
			else {
				t_key(t, &v, &n);
				t_ws(t);
				if (t->p < t->end && *t->p == '=') {
					t->p++;
					t_ws(t);
					t_value(t, depth + 1, 0);
				}
			}
			if (t->p == before)
				t->p++;
		}
	default:
		while (t->p < t->end && !t_scalar_end(*t->p))
			t->p++;
		return;
	}
}

/* A table's header, "[a.b]" or "[[a.b]]": its name. */
static void
t_header(struct toml *t)
{
	const char *s, *e, *v;
	size_t n;

	t->p++;
	if (t->p < t->end && *t->p == '[')
		t->p++;
	s = t->p;
	while (t->p < t->end && *t->p != ']' && *t->p != '\n') {
		if (*t->p == '"' || *t->p == '\'')
			t_string(t, &v, &n);
		else
			t->p++;
	}
	e = t->p;
	trim(&s, &e);
	t->ev.tab = s;
	t->ev.tablen = (size_t)(e - s);
	t->ev.what = T_HEADER;
	t->ev.key = t->ev.val = NULL;
	t->ev.keylen = t->ev.vallen = 0;
	t->fn(t->arg, &t->ev);
	t_eol(t);
}

static void
toml_scan(const char *buf, size_t len,
    void (*fn)(void *, const struct toml_ev *), void *arg)
{
	struct toml t;
	const char *v;
	size_t n;

	memset(&t, 0, sizeof(t));
	t.p = buf;
	t.end = buf + len;
	t.ev.tab = "";
	t.fn = fn;
	t.arg = arg;
	while (t.p < t.end) {
		t_ws(&t);
		if (t.p >= t.end)
			break;
		if (*t.p == '\n' || *t.p == '\r' || *t.p == '#') {
			t_eol(&t);
			continue;
		}
		if (*t.p == '[') {
			t_header(&t);
			continue;
		}
		t_key(&t, &t.ev.key, &t.ev.keylen);
		t_ws(&t);
		if (t.p >= t.end || *t.p != '=') {
			t_eol(&t);
			continue;
		}
		t.p++;
		t_ws(&t);
		t.ev.what = T_KEY;
		t.ev.val = NULL;
		t.ev.vallen = 0;
		if (t.p < t.end && (*t.p == '"' || *t.p == '\'')) {
			t_string(&t, &v, &n);
			t.ev.val = v;
			t.ev.vallen = n;
			fn(arg, &t.ev);
		} else {
			fn(arg, &t.ev);
			t_value(&t, 0, 1);
		}
		if (t.p < t.end)
			t_eol(&t);
	}
}

/* Does a table's name end in a dependencies table ("dependencies",
 * "dev-dependencies", "target.X.build-dependencies"...)? */
static int
is_deps_table(const char *p, size_t n)
{
	static const char w[] = "dependencies";
	size_t m = sizeof(w) - 1;

	return n >= m && memcmp(p + n - m, w, m) == 0 &&
	    (n == m || p[n - m - 1] == '.' || p[n - m - 1] == '-');
}

/*
 * Python: requirements.txt and pyproject.toml.
 */

static void
py_dep(struct wf_discover *d, const char *p, size_t n)
{
	char name[NAME_MAX_DEP];

	if (normalize(p, n, name, sizeof(name)) == -1)
		return;
	if (strcmp(name, "pytest") == 0)
		d->has_pytest = 1;
	else if (strcmp(name, "django") == 0)
		d->has_django = 1;
	else if (strcmp(name, "ruff") == 0)
		d->has_ruff = 1;
	else if (strcmp(name, "flake8") == 0)
		d->has_flake8 = 1;
	add_framework(d, lookup(py_deps, name));
}

/* A PEP 508 requirement ("Django[argon2]>=4.2; python_version>'3'"): its
 * name. */
static void
py_requirement(struct wf_discover *d, const char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n && is_blank(p[i]))
		i++;
	for (k = i; k < n && (isalnum((unsigned char)p[k]) || p[k] == '-' ||
	    p[k] == '_' || p[k] == '.'); k++)
		;
	if (k > i)
		py_dep(d, p + i, k - i);
}

void
wf_discover_requirements(struct wf_discover *d, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *s, *e, *h;

	while (next_line(&p, end, &s, &e)) {
		if ((h = memchr(s, '#', (size_t)(e - s))) != NULL)
			e = h;
		trim(&s, &e);
		/* -r other.txt, -e ., --index-url...: not a requirement */
		if (s == e || *s == '-')
			continue;
		py_requirement(d, s, (size_t)(e - s));
	}
}

static void
py_toml(void *arg, const struct toml_ev *ev)
{
	struct wf_discover *d = arg;
	const char *tab = ev->tab;
	size_t tl = ev->tablen;

	switch (ev->what) {
	case T_HEADER:
		if (span_eq(tab, tl, "tool.pytest") ||
		    span_starts(tab, tl, "tool.pytest.")) {
			d->has_pytest = 1;
			add_framework(d, "pytest");
		}
		if (span_eq(tab, tl, "tool.ruff") ||
		    span_starts(tab, tl, "tool.ruff."))
			d->has_ruff = 1;
		break;
	case T_KEY:
		if ((span_eq(tab, tl, "project") ||
		    span_eq(tab, tl, "tool.poetry")) && ev->val != NULL &&
		    span_eq(ev->key, ev->keylen, "description"))
			set_text(d->description, sizeof(d->description),
			    ev->val, ev->vallen);
		if (span_starts(tab, tl, "tool.poetry.") &&
		    is_deps_table(tab, tl) &&
		    !span_eq(ev->key, ev->keylen, "python"))
			py_dep(d, ev->key, ev->keylen);
		break;
	case T_ITEM:
		if ((span_eq(tab, tl, "project") &&
		    span_eq(ev->key, ev->keylen, "dependencies")) ||
		    span_eq(tab, tl, "project.optional-dependencies") ||
		    span_eq(tab, tl, "dependency-groups"))
			py_requirement(d, ev->val, ev->vallen);
		break;
	}
}

void
wf_discover_pyproject(struct wf_discover *d, const char *buf, size_t len)
{
	toml_scan(buf, len, py_toml, d);
}

/*
 * Rust: Cargo.toml.
 */

static void
rust_dep(struct wf_discover *d, const char *p, size_t n)
{
	char name[NAME_MAX_DEP];

	if (n >= 2 && (*p == '"' || *p == '\'') && p[n - 1] == *p) {
		p++;
		n -= 2;
	}
	if (normalize(p, n, name, sizeof(name)) == 0)
		add_framework(d, lookup(rust_deps, name));
}

static void
cargo_toml(void *arg, const struct toml_ev *ev)
{
	struct wf_discover *d = arg;
	const char *dot;

	switch (ev->what) {
	case T_HEADER:
		/* [dependencies.tokio] */
		dot = NULL;
		for (size_t i = ev->tablen; i > 0; i--)
			if (ev->tab[i - 1] == '.') {
				dot = ev->tab + i - 1;
				break;
			}
		if (dot != NULL && is_deps_table(ev->tab,
		    (size_t)(dot - ev->tab)))
			rust_dep(d, dot + 1,
			    (size_t)(ev->tab + ev->tablen - dot - 1));
		break;
	case T_KEY:
		if (is_deps_table(ev->tab, ev->tablen))
			rust_dep(d, ev->key, ev->keylen);
		else if (span_eq(ev->tab, ev->tablen, "package") &&
		    ev->val != NULL &&
		    span_eq(ev->key, ev->keylen, "description"))
			set_text(d->description, sizeof(d->description),
			    ev->val, ev->vallen);
		break;
	}
}

void
wf_discover_cargo_toml(struct wf_discover *d, const char *buf, size_t len)
{
	toml_scan(buf, len, cargo_toml, d);
}

/*
 * Go: go.mod.
 */

static void
go_require(struct wf_discover *d, const char *s, const char *e)
{
	const char *t = s;

	while (t < e && !is_blank(*t))
		t++;
	if (t - s >= 2 && *s == '"' && t[-1] == '"') {
		s++;
		t--;
	}
	for (const struct dep *g = go_deps; g->dep != NULL; g++) {
		size_t m = strlen(g->dep);

		if ((size_t)(t - s) >= m && memcmp(s, g->dep, m) == 0 &&
		    ((size_t)(t - s) == m || s[m] == '/'))
			add_framework(d, g->framework);
	}
}

void
wf_discover_go_mod(struct wf_discover *d, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *s, *e, *w;
	int block = 0; /* 1: in require ( ), 2: in another ( ) */

	while (next_line(&p, end, &s, &e)) {
		int indirect = 0;

		for (const char *c = s; c + 1 < e; c++)
			if (c[0] == '/' && c[1] == '/') {
				indirect = memmem(c, (size_t)(e - c),
				    "indirect", 8) != NULL;
				e = c;
				break;
			}
		trim(&s, &e);
		if (s == e)
			continue;
		if (block != 0) {
			if (*s == ')')
				block = 0;
			else if (block == 1 && !indirect)
				go_require(d, s, e);
			continue;
		}
		for (w = s; w < e && !is_blank(*w); w++)
			;
		while (w < e && is_blank(*w))
			w++;
		if (span_starts(s, (size_t)(e - s), "require") &&
		    (s + 7 == e || is_blank(s[7]) || s[7] == '(')) {
			w = s + 7;
			while (w < e && is_blank(*w))
				w++;
			if (e - w == 1 && *w == '(')
				block = 1;
			else if (!indirect && w < e)
				go_require(d, w, e);
		} else if (e - w == 1 && *w == '(')
			block = 2;
	}
}

/*
 * package.json.
 */

static int
js_tool_index(const char *tool)
{
	for (size_t i = 0; i < sizeof(js_cmds) / sizeof(js_cmds[0]); i++)
		if (tool != NULL && strcmp(js_cmds[i].tool, tool) == 0)
			return (int)i;
	return 0;
}

int
wf_discover_package_json(struct wf_discover *d, const char *buf, size_t len)
{
	static const char *const dep_keys[] = {
		"dependencies", "devDependencies", "peerDependencies",
		"optionalDependencies", NULL,
	};
	const char *have[JS_N] = { NULL };
	const cJSON *v, *it, *scripts;
	cJSON *root;
	char *copy;
	int t = js_tool_index(d->js_tool);

	/* A copy that ends in a NUL: the parser is given one. */
	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLength(copy, len);
	free(copy);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "description");
	if (cJSON_IsString(v))
		set_text(d->description, sizeof(d->description),
		    v->valuestring, strlen(v->valuestring));
	for (int i = 0; dep_keys[i] != NULL; i++) {
		v = cJSON_GetObjectItemCaseSensitive(root, dep_keys[i]);
		if (!cJSON_IsObject(v))
			continue;
		cJSON_ArrayForEach(it, v) {
			if (it->string != NULL)
				add_framework(d, lookup(js_deps, it->string));
		}
	}
	scripts = cJSON_GetObjectItemCaseSensitive(root, "scripts");
	for (int i = 0; i < JS_N && cJSON_IsObject(scripts); i++) {
		v = cJSON_GetObjectItemCaseSensitive(scripts, js_scripts[i]);
		if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
			continue;
		/* npm init's placeholder fails on purpose: no tests. */
		if (i == JS_TEST &&
		    strstr(v->valuestring, "no test specified") != NULL)
			continue;
		have[i] = js_cmds[t].cmd[i];
	}
	cJSON_Delete(root);
	if (have[JS_BUILD] != NULL)
		set_cmd(&d->build_command, have[JS_BUILD]);
	if (have[JS_TEST] != NULL)
		set_cmd(&d->test_command, have[JS_TEST]);
	if (have[JS_START] != NULL || have[JS_DEV] != NULL)
		set_cmd(&d->run_command, have[JS_START] != NULL ?
		    have[JS_START] : have[JS_DEV]);
	if (have[JS_LINT] != NULL)
		set_cmd(&d->lint_command, have[JS_LINT]);
	if (have[JS_DEPLOY] != NULL)
		set_cmd(&d->deploy_command, have[JS_DEPLOY]);
	return 0;
}

/*
 * Makefile.
 */

enum {
	MK_ALL, MK_BUILD, MK_CHECK, MK_TEST, MK_TESTS, MK_LINT, MK_RUN,
	MK_DEPLOY, MK_HELP, MK_CLEAN, MK_INSTALL, MK_N, MK_OTHER = MK_N,
};

static const char *const mk_targets[MK_N] = {
	"all", "build", "check", "test", "tests", "lint", "run", "deploy",
	"help", "clean", "install",
};

/* The targets of a rule's line, [s, colon). */
static void
mk_targets_of(const char *s, const char *colon, unsigned *found, int *first)
{
	const char *p = s;

	while (p < colon) {
		const char *t;
		int k = MK_OTHER;

		while (p < colon && is_blank(*p))
			p++;
		for (t = p; p < colon && !is_blank(*p); p++)
			;
		if (p == t || *t == '.' || memchr(t, '$', (size_t)(p - t)) ||
		    memchr(t, '%', (size_t)(p - t)))
			continue; /* special, a pattern or a variable */
		for (int i = 0; i < MK_N; i++)
			if (span_eq(t, (size_t)(p - t), mk_targets[i]))
				k = i;
		if (*first == -1)
			*first = k;
		if (k != MK_OTHER)
			*found |= 1u << k;
	}
}

void
wf_discover_makefile(struct wf_discover *d, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *s, *e, *c;
	unsigned found = 0;
	int first = -1, in_define = 0, cont = 0, was_cont;

	while (next_line(&p, end, &s, &e)) {
		was_cont = cont;
		cont = e > s && e[-1] == '\\';
		/* A recipe, or the rest of a line continued. */
		if (was_cont || (s < e && *s == '\t'))
			continue;
		trim(&s, &e);
		if (in_define) {
			if (span_starts(s, (size_t)(e - s), "endef"))
				in_define = 0;
			continue;
		}
		if (span_starts(s, (size_t)(e - s), "define") &&
		    (e - s == 6 || is_blank(s[6]))) {
			in_define = 1;
			continue;
		}
		/* The first ":" or "=" decides: an assignment or a rule. */
		for (c = s; c < e && *c != ':' && *c != '=' && *c != '#'; c++)
			;
		if (c == e || *c != ':')
			continue;
		if ((c + 1 < e && c[1] == '=') || (c + 2 < e && c[1] == ':' &&
		    c[2] == '=') || (c + 3 < e && c[1] == ':' && c[2] == ':' &&
		    c[3] == '='))
			continue; /* :=, ::=, :::= */
		mk_targets_of(s, c, &found, &first);
	}
	if (found & (1u << MK_ALL))
		set_cmd(&d->build_command, first == MK_ALL ? "make" :
		    "make all");
	else if (found & (1u << MK_BUILD))
		set_cmd(&d->build_command, first == MK_BUILD ? "make" :
		    "make build");
	else if (first == MK_OTHER)
		set_cmd(&d->build_command, "make");
	if (found & (1u << MK_CHECK))
		set_cmd(&d->test_command, "make check");
	else if (found & (1u << MK_TEST))
		set_cmd(&d->test_command, "make test");
	else if (found & (1u << MK_TESTS))
		set_cmd(&d->test_command, "make tests");
	if (found & (1u << MK_LINT))
		set_cmd(&d->lint_command, "make lint");
	if (found & (1u << MK_RUN))
		set_cmd(&d->run_command, "make run");
	if (found & (1u << MK_DEPLOY))
		set_cmd(&d->deploy_command, "make deploy");
}

/*
 * git: HEAD and config.
 */

/* Could this be a ref's name (git check-ref-format, roughly)? */
static int
ref_ok(const char *p, size_t n)
{
	if (n == 0 || *p == '-' || *p == '/' || p[n - 1] == '/' ||
	    p[n - 1] == '.' || !utf8_ok(p, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c) != NULL)
			return 0;
		if (i > 0 && ((c == '.' && p[i - 1] == '.') ||
		    (c == '{' && p[i - 1] == '@')))
			return 0;
	}
	return 1;
}

int
wf_discover_git_head(const char *buf, size_t len, const char *prefix,
    char *out, size_t outlen)
{
	const char *s = buf, *e = memchr(buf, '\n', len);
	size_t pl = strlen(prefix);

	if (e == NULL)
		e = buf + len;
	trim(&s, &e);
	if (!span_starts(s, (size_t)(e - s), "ref:"))
		return -1;
	s += 4;
	trim(&s, &e);
	if (!span_starts(s, (size_t)(e - s), prefix))
		return -1;
	s += pl;
	if (!ref_ok(s, (size_t)(e - s)) || (size_t)(e - s) >= outlen)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return 0;
}

/* A section header at s (past its "["): is it [remote "origin"] (or the
 * old [remote.origin])?  *after: past its "]". */
static int
git_section(const char *s, const char *e, const char **after)
{
	const char *n = s;
	char sub[64];
	size_t o = 0;
	int ok;

	while (s < e && (isalnum((unsigned char)*s) || *s == '-' || *s == '.'))
		s++;
	if (s < e && *s == ']') {
		*after = s + 1;
		return span_caseeq(n, (size_t)(s - n), "remote.origin");
	}
	ok = span_caseeq(n, (size_t)(s - n), "remote");
	while (s < e && is_blank(*s))
		s++;
	if (s >= e || *s != '"') {
		*after = e;
		return 0;
	}
	for (s++; s < e && *s != '"'; s++) {
		if (*s == '\\' && s + 1 < e)
			s++;
		if (o + 1 >= sizeof(sub))
			ok = 0;
		else
			sub[o++] = *s;
	}
	sub[o] = '\0';
	if (s < e)
		s++;
	while (s < e && *s != ']')
		s++;
	if (s >= e) {
		*after = e;
		return 0; /* no "]": not a header */
	}
	*after = s + 1;
	return ok && strcmp(sub, "origin") == 0;
}

/* A config value, [s, e): unquoted, unescaped, its comment and trailing
 * blanks dropped.  -1 if it is empty, does not fit or holds a control
 * character. */
static int
git_value(const char *s, const char *e, char *out, size_t outlen)
{
	size_t o = 0, keep = 0;
	int q = 0;

	for (; s < e; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' && s + 1 < e) {
			c = (unsigned char)*++s;
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'b' ?
			    '\b' : c;
		} else if (c == '"') {
			q = !q;
			keep = o;
			continue;
		} else if (!q && (c == '#' || c == ';'))
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
		if (q || !is_blank((char)c))
			keep = o;
	}
	out[keep] = '\0';
	if (keep == 0 || memchr(out, '\t', keep) != NULL ||
	    !utf8_ok(out, keep))
		return -1;
	return 0;
}

/* Take the password out of a url; the whole user part of an http(s)
 * one, which is where tokens go. */
static void
strip_password(char *url)
{
	char *auth = strstr(url, "://"), *end, *at = NULL, *colon;

	if (auth == NULL)
		return; /* scp-like user@host:path has no password */
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (char *c = auth; c < end; c++)
		if (*c == '@')
			at = c;
	if (at == NULL)
		return;
	if (strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0) {
		memmove(auth, at + 1, strlen(at + 1) + 1);
		return;
	}
	if ((colon = memchr(auth, ':', (size_t)(at - auth))) != NULL)
		memmove(colon, at, strlen(at) + 1);
}

int
wf_discover_git_origin(const char *buf, size_t len, char *out, size_t outlen)
{
	const char *p = buf, *end = buf + len, *s, *e, *k;
	int in_origin = 0;

	if (outlen == 0)
		return -1;
	while (next_line(&p, end, &s, &e)) {
		trim(&s, &e);
		if (s < e && *s == '[') {
			in_origin = git_section(s + 1, e, &s);
			trim(&s, &e);
		}
		if (!in_origin || s == e || *s == '#' || *s == ';')
			continue;
		for (k = s; s < e && (isalnum((unsigned char)*s) || *s == '-');
		    s++)
			;
		if (!span_caseeq(k, (size_t)(s - k), "url"))
			continue;
		while (s < e && is_blank(*s))
			s++;
		if (s >= e || *s != '=')
			continue;
		s++;
		while (s < e && is_blank(*s))
			s++;
		if (git_value(s, e, out, outlen) == 0) {
			strip_password(out);
			return 0;
		}
	}
	out[0] = '\0';
	return -1;
}

/* The git directory of the tree, and the one holding its config (they
 * differ in a worktree); -1 each when there is none. */
static void
git_dirs(int dirfd, int *gd, int *cd)
{
	char *buf, *path;
	const char *s, *e;
	size_t len;

	*gd = *cd = -1;
	*gd = openat(dirfd, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*gd == -1) {
		/* A worktree's or a submodule's .git file: "gitdir: PATH",
		 * relative to the tree. */
		if ((buf = read_beneath(dirfd, ".git", GITFILE_MAX, &len,
		    NULL)) == NULL)
			return;
		s = buf;
		e = memchr(buf, '\n', len);
		if (e == NULL)
			e = buf + len;
		trim(&s, &e);
		if (span_starts(s, (size_t)(e - s), "gitdir:") &&
		    (path = strndup(s + 7, (size_t)(e - s - 7))) != NULL) {
			s = path;
			while (is_blank(*s))
				s++;
			if (*s != '\0')
				*gd = openat(dirfd, s, O_RDONLY | O_DIRECTORY |
				    O_CLOEXEC);
			free(path);
		}
		free(buf);
		if (*gd == -1)
			return;
	}
	if ((buf = read_beneath(*gd, "commondir", GITFILE_MAX, &len,
	    NULL)) != NULL) {
		s = buf;
		e = memchr(buf, '\n', len);
		if (e == NULL)
			e = buf + len;
		trim(&s, &e);
		if (s < e && (path = strndup(s, (size_t)(e - s))) != NULL) {
			*cd = openat(*gd, path, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
			free(path);
		}
		free(buf);
	}
}

static void
git_detect(int dirfd, struct wf_discover *d)
{
	char *buf;
	size_t len;
	int gd, cd, common;

	git_dirs(dirfd, &gd, &cd);
	if (gd == -1)
		return;
	common = cd != -1 ? cd : gd;
	if ((buf = read_beneath(gd, "HEAD", GITFILE_MAX, &len, NULL)) != NULL) {
		if (wf_discover_git_head(buf, len, "refs/heads/", d->branch,
		    sizeof(d->branch)) == -1)
			d->branch[0] = '\0';
		free(buf);
	}
	if ((buf = read_beneath(common, "config", WF_DISCOVER_READ_MAX, &len,
	    d)) != NULL) {
		if (wf_discover_git_origin(buf, len, d->origin,
		    sizeof(d->origin)) == -1)
			d->origin[0] = '\0';
		free(buf);
	}
	/* The branch origin's HEAD names is what work is merged into. */
	if ((buf = read_beneath(common, "refs/remotes/origin/HEAD",
	    GITFILE_MAX, &len, NULL)) != NULL) {
		if (wf_discover_git_head(buf, len, "refs/remotes/origin/",
		    d->primary_branch, sizeof(d->primary_branch)) == -1)
			d->primary_branch[0] = '\0';
		free(buf);
	}
	if (cd != -1)
		close(cd);
	close(gd);
}

/*
 * The whole tree.
 */

void
wf_discover_init(struct wf_discover *d)
{
	memset(d, 0, sizeof(*d));
	d->js_tool = "npm";
}

void
wf_discover_default_limits(struct wf_discover_limits *lim)
{
	lim->max_entries = WF_DISCOVER_ENTRIES_MAX;
	lim->max_depth = WF_DISCOVER_DEPTH_MAX;
	lim->max_read = WF_DISCOVER_READ_MAX;
}

/* Read rel and give it to a parser. */
static int
parse_file(int dirfd, const char *rel, const struct wf_discover_limits *lim,
    struct wf_discover *d,
    void (*fn)(struct wf_discover *, const char *, size_t))
{
	size_t len;
	char *buf = read_beneath(dirfd, rel, lim->max_read, &len, d);

	if (buf == NULL)
		return -1;
	fn(d, buf, len);
	free(buf);
	return 0;
}

static void
package_json(struct wf_discover *d, const char *buf, size_t len)
{
	(void)wf_discover_package_json(d, buf, len);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* requirements*.txt at the top, and *.txt in requirements/, in the order
 * of their names. */
static void
requirements(int dirfd, const struct wf_discover_limits *lim,
    struct wf_discover *d)
{
	static const char *const where[] = { ".", "requirements" };
	char *names[MANIFESTS_MAX], rel[512];
	struct dirent *e;
	DIR *dir;
	int n, fd;

	for (int w = 0; w < 2; w++) {
		fd = w == 0 ? openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC) : openat(dirfd, where[w], O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
			if (fd != -1)
				close(fd);
			continue;
		}
		n = 0;
		while ((e = readdir(dir)) != NULL && n < MANIFESTS_MAX) {
			size_t l = strlen(e->d_name);

			if (l < 4 || strcmp(e->d_name + l - 4, ".txt") != 0 ||
			    (w == 0 && strncmp(e->d_name, "requirements",
			    12) != 0))
				continue;
			if ((names[n] = strdup(e->d_name)) != NULL)
				n++;
		}
		closedir(dir);
		qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
		for (int i = 0; i < n; i++) {
			snprintf(rel, sizeof(rel), "%s%s%s", w == 0 ? "" :
			    where[w], w == 0 ? "" : "/", names[i]);
			(void)parse_file(dirfd, rel, lim, d,
			    wf_discover_requirements);
			free(names[i]);
		}
	}
}

void
wf_discover_dir(int dirfd, const struct wf_discover_limits *lim,
    struct wf_discover *d)
{
	static const char *const makefiles[] = {
		"GNUmakefile", "makefile", "Makefile", NULL,
	};

	wf_discover_walk(dirfd, lim, d);
	for (int i = 0; key_paths[i] != NULL; i++)
		if (is_file(dirfd, key_paths[i]))
			add_name(d->key_files, &d->nkey_files, key_paths[i]);

	/* In the order that decides whose command wins. */
	for (int i = 0; makefiles[i] != NULL; i++)
		if (parse_file(dirfd, makefiles[i], lim, d,
		    wf_discover_makefile) == 0)
			break;
	if (is_file(dirfd, "pnpm-lock.yaml"))
		d->js_tool = "pnpm";
	else if (is_file(dirfd, "yarn.lock"))
		d->js_tool = "yarn";
	else if (is_file(dirfd, "bun.lockb") || is_file(dirfd, "bun.lock"))
		d->js_tool = "bun";
	(void)parse_file(dirfd, "package.json", lim, d, package_json);
	if (parse_file(dirfd, "Cargo.toml", lim, d,
	    wf_discover_cargo_toml) == 0) {
		set_cmd(&d->build_command, "cargo build");
		set_cmd(&d->test_command, "cargo test");
		set_cmd(&d->lint_command, "cargo clippy");
		if (is_file(dirfd, "src/main.rs"))
			set_cmd(&d->run_command, "cargo run");
	}
	if (parse_file(dirfd, "go.mod", lim, d, wf_discover_go_mod) == 0) {
		set_cmd(&d->build_command, "go build ./...");
		set_cmd(&d->test_command, "go test ./...");
		set_cmd(&d->lint_command, "go vet ./...");
		if (is_file(dirfd, "main.go"))
			set_cmd(&d->run_command, "go run .");
	}
	(void)parse_file(dirfd, "pyproject.toml", lim, d,
	    wf_discover_pyproject);
	requirements(dirfd, lim, d);
	if (is_file(dirfd, "pytest.ini") || is_file(dirfd, "conftest.py")) {
		d->has_pytest = 1;
		add_framework(d, "pytest");
	}
	if (d->has_django && is_file(dirfd, "manage.py"))
		set_cmd(&d->run_command, "python manage.py runserver");
	git_detect(dirfd, d);
	wf_discover_finish(d);
}

int
wf_discover_path(const char *path, struct wf_discover *d, char *err,
    size_t errlen)
{
	struct wf_discover_limits lim;
	int fd, e;

	wf_discover_init(d);
	wf_discover_default_limits(&lim);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		e = errno;
		snprintf(err, errlen, "%.200s: %s", path, e == ENOTDIR ?
		    "not a directory" : strerror(e));
		errno = e;
		return -1;
	}
	wf_discover_dir(fd, &lim, d);
	close(fd);
	return 0;
}

void
wf_discover_finish(struct wf_discover *d)
{
	/* Most files first, then by name: a stable order. */
	for (int i = 1; i < d->nlangs; i++) {
		struct wf_discover_lang l = d->langs[i];
		int j = i;

		while (j > 0 && (d->langs[j - 1].files < l.files ||
		    (d->langs[j - 1].files == l.files &&
		    strcmp(d->langs[j - 1].name, l.name) > 0))) {
			d->langs[j] = d->langs[j - 1];
			j--;
		}
		d->langs[j] = l;
	}
	if (d->has_pytest)
		set_cmd(&d->test_command, "pytest");
	if (d->has_ruff)
		set_cmd(&d->lint_command, "ruff check .");
	else if (d->has_flake8)
		set_cmd(&d->lint_command, "flake8");
	if (d->primary_branch[0] == '\0')
		strlcpy(d->primary_branch, d->branch,
		    sizeof(d->primary_branch));
}

static int
add_list(cJSON *obj, const char *name, const char *const *items, int n)
{
	cJSON *arr, *v;

	if (n == 0)
		return 0;
	if ((arr = cJSON_AddArrayToObject(obj, name)) == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if ((v = cJSON_CreateString(items[i])) == NULL ||
		    !cJSON_AddItemToArray(arr, v)) {
			cJSON_Delete(v);
			return -1;
		}
	return 0;
}

cJSON *
wf_discover_fields(const struct wf_discover *d)
{
	const struct {
		const char *name, *val;
	} strs[] = {
		{ "description", d->description },
		{ "repository_url", d->origin },
		{ "primary_branch", d->primary_branch },
		{ "build_command", d->build_command },
		{ "test_command", d->test_command },
		{ "run_command", d->run_command },
		{ "lint_command", d->lint_command },
		{ "deploy_command", d->deploy_command },
	};
	const char *langs[WF_DISCOVER_LANGS_MAX];
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL)
		goto fail;
	for (int i = 0; i < d->nlangs; i++)
		langs[i] = d->langs[i].name;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strs[i].val != NULL && strs[i].val[0] != '\0' &&
		    cJSON_AddStringToObject(obj, strs[i].name,
		    strs[i].val) == NULL)
			goto fail;
	if (add_list(obj, "languages", langs, d->nlangs) == -1 ||
	    add_list(obj, "frameworks", d->frameworks, d->nframeworks) == -1 ||
	    add_list(obj, "key_files", d->key_files, d->nkey_files) == -1)
		goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}
