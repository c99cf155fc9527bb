/*
 * wf discover: say what a repository is (lib/discover) and, with --create
 * or --update, make it a project of the store.  A project is found by its
 * repo_path, the directory's real path: one that exists is reported, not
 * made twice, and --update sets the fields found on it.  Reading needs no
 * runtime tree; only --create and --update open it, and each change they
 * make appends an audit line.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "audit.h"
#include "discover.h"
#include "home.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "wf.h"

#define ERRLEN 512
#define KEY_WIDTH 20 /* the key column, as wf project show has it */

static const char discover_synopsis[] =
    "usage: wf discover [--create | --update] [--name NAME] [--json] PATH\n";

static const char discover_help[] =
    "Read the repository at PATH and print what it is, as the fields of a\n"
    "project; with --create, make that project.\n"
    "\n"
    "  languages      by the number of their files, the most first.  Not\n"
    "                 counted: node_modules, bower_components, vendor,\n"
    "                 third_party, target, build, dist, __pycache__, venv,\n"
    "                 site-packages, and every directory whose name starts\n"
    "                 with a dot (.git, .venv, .tox...).\n"
    "  frameworks     from the dependencies of package.json,\n"
    "                 requirements*.txt (and requirements/*.txt),\n"
    "                 pyproject.toml (PEP 621, dependency groups, Poetry),\n"
    "                 go.mod (direct requirements) and Cargo.toml.\n"
    "  commands       build, test, run, lint and deploy: from the\n"
    "                 Makefile's targets (all or build, check, test or\n"
    "                 tests, lint, run, deploy), then the package.json\n"
    "                 scripts (run with npm, or yarn or pnpm or bun when\n"
    "                 their lock file is there), then cargo, then go, then\n"
    "                 pytest, ruff and Django's manage.py; the first of\n"
    "                 these to name a command gives it.\n"
    "  key_files      the files an agent reads first (README.md, Makefile,\n"
    "                 package.json, go.mod, src/main.rs...), when there.\n"
    "  description    package.json's, or that of Cargo.toml's [package],\n"
    "                 or of pyproject.toml's [project] or [tool.poetry].\n"
    "  repository_url the url of remote \"origin\" in .git/config, any\n"
    "                 password taken out (all of the user part of an\n"
    "                 http(s) url).\n"
    "  primary_branch origin's HEAD when known, else the branch .git/HEAD\n"
    "                 names.  git is not run.\n"
    "\n"
    "Symbolic links are never followed, so nothing outside PATH is read\n"
    "(but a .git file's gitdir, as git itself does).  At most 50000\n"
    "entries are walked, 24 directories deep, and no file over 1 MiB is\n"
    "read; a walk cut short says so on stderr.\n"
    "\n"
    "Flags:\n"
    "  --create       make a project of what was found, through the store:\n"
    "                 its name is --name or PATH's last component, its\n"
    "                 repo_path PATH's real path.  Print the findings, then\n"
    "                 \"created project ID\".  When a project has that\n"
    "                 repo_path already, nothing is made: it is reported,\n"
    "                 with its id, and the exit status is 0.\n"
    "  --update       as --create, but a project with that repo_path gets\n"
    "                 the fields found; those not found stay as they are,\n"
    "                 and its name changes only with --name.\n"
    "  --name NAME    the project's name\n"
    "  --json         print one JSON object: {\"project\": the fields,\n"
    "                 \"file_counts\": {language: files}, \"files\",\n"
    "                 \"entries\", \"symlinks_skipped\", \"truncated\"}, and\n"
    "                 with --create or --update \"id\" and \"action\"\n"
    "                 (created, exists, updated or unchanged).\n"
    "  -h, --help     print this help\n"
    "\n"
    "Each project made or changed appends project.created or\n"
    "project.updated to $WF_HOME/log/audit.jsonl.\n"
    "\n"
    "Exit status: 0 done (also when the project existed); 64 usage; 65\n"
    "data refused (the name is taken by another project: give --name); 66\n"
    "PATH is not a directory; 74 I/O error; 77 PATH cannot be read; 78 no\n"
    "runtime tree (make it with wf init), for --create and --update.\n";

/* The help says these. */
_Static_assert(WF_DISCOVER_ENTRIES_MAX == 50000, "the help says 50000");
_Static_assert(WF_DISCOVER_DEPTH_MAX == 24, "the help says 24 deep");
_Static_assert(WF_DISCOVER_READ_MAX == 1 << 20, "the help says 1 MiB");

enum { O_JSON = 256, O_CREATE, O_UPDATE, O_NAME };

struct opts {
	int json, create, update;
	const char *name, *path;
};

static int root = -1;

static int
usage_error(void)
{
	fputs(discover_synopsis, stderr);
	fputs("(wf discover --help tells more)\n", stderr);
	return EX_USAGE;
}

/* Parse the flags; -1 when the help was asked for. */
static int
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "create", no_argument, NULL, O_CREATE },
		{ "update", no_argument, NULL, O_UPDATE },
		{ "name", required_argument, NULL, O_NAME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(discover_synopsis, stdout);
			fputs(discover_help, stdout);
			return -1;
		case O_JSON:
			o->json = 1;
			break;
		case O_CREATE:
			o->create = 1;
			break;
		case O_UPDATE:
			o->update = 1;
			break;
		case O_NAME:
			if (optarg[0] == '\0') {
				wf_log_warn("discover: --name: empty");
				return usage_error();
			}
			o->name = optarg;
			break;
		case ':':
			wf_log_warn("discover: %.60s needs a value",
			    argv[optind - 1]);
			return usage_error();
		default:
			if (optopt != 0)
				wf_log_warn("discover: -%c: unknown flag",
				    optopt);
			else
				wf_log_warn("discover: %.60s: unknown flag",
				    argv[optind - 1]);
			return usage_error();
		}
	}
	if (argc - optind < 1) {
		wf_log_warn("discover: needs a PATH");
		return usage_error();
	}
	if (argc - optind > 1) {
		wf_log_warn("discover: '%.40s': one argument too many",
		    argv[optind + 1]);
		return usage_error();
	}
	o->path = argv[optind];
	return 0;
}

static int
open_root(void)
{
	const char *home = wf_home_dir();

	if ((root = wf_spool_attach(home)) == -1)
		return EX_CONFIG;
	return 0;
}

static int
exit_of_path(int e)
{
	if (e == ENOENT || e == ENOTDIR)
		return EX_NOINPUT;
	if (e == EACCES || e == EPERM)
		return EX_NOPERM;
	return EX_IOERR;
}

/*
 * Output.
 */

/* A string for a terminal: control characters made spaces. */
static void
put_clean(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		putchar(c < 0x20 || c == 0x7f ? ' ' : c);
	}
}

static void
print_str(const char *key, const char *val)
{
	printf("%-*s ", KEY_WIDTH, key);
	put_clean(val != NULL && val[0] != '\0' ? val : "-");
	putchar('\n');
}

static void
print_names(const char *key, const char *const *names, int n)
{
	printf("%-*s ", KEY_WIDTH, key);
	if (n == 0)
		putchar('-');
	for (int i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", stdout);
		put_clean(names[i]);
	}
	putchar('\n');
}

static void
print_text(const struct wf_discover *d, const char *name, const char *path)
{
	print_str("name", name);
	print_str("repo_path", path);
	print_str("description", d->description);
	print_str("repository_url", d->origin);
	print_str("primary_branch", d->primary_branch);
	printf("%-*s ", KEY_WIDTH, "languages");
	if (d->nlangs == 0)
		putchar('-');
	for (int i = 0; i < d->nlangs; i++)
		printf("%s%s (%ld)", i > 0 ? ", " : "", d->langs[i].name,
		    d->langs[i].files);
	putchar('\n');
	print_names("frameworks", d->frameworks, d->nframeworks);
	print_names("key_files", d->key_files, d->nkey_files);
	print_str("build_command", d->build_command);
	print_str("test_command", d->test_command);
	print_str("run_command", d->run_command);
	print_str("lint_command", d->lint_command);
	print_str("deploy_command", d->deploy_command);
}

/* The whole report, for --json. */
static cJSON *
report_json(const struct wf_discover *d, cJSON *fields)
{
	cJSON *r = cJSON_CreateObject(), *counts;

	if (r == NULL)
		return NULL;
	cJSON_AddItemToObject(r, "project", cJSON_Duplicate(fields, 1));
	counts = cJSON_AddObjectToObject(r, "file_counts");
	for (int i = 0; counts != NULL && i < d->nlangs; i++)
		cJSON_AddNumberToObject(counts, d->langs[i].name,
		    (double)d->langs[i].files);
	cJSON_AddNumberToObject(r, "files", (double)d->files);
	cJSON_AddNumberToObject(r, "entries", (double)d->entries);
	cJSON_AddNumberToObject(r, "symlinks_skipped", (double)d->symlinks);
	cJSON_AddBoolToObject(r, "truncated", (d->flags &
	    (WF_DISCOVER_TOO_MANY | WF_DISCOVER_TOO_DEEP)) != 0);
	return r;
}

static void
warn_limits(const struct wf_discover *d, const char *path)
{
	if (d->flags & WF_DISCOVER_TOO_MANY)
		wf_log_warn("%.200s: stopped after %ld entries; the counts are "
		    "of those only", path, d->entries);
	if (d->flags & WF_DISCOVER_TOO_DEEP)
		wf_log_warn("%.200s: directories over %d deep not counted",
		    path, WF_DISCOVER_DEPTH_MAX);
	if (d->flags & WF_DISCOVER_TOO_BIG)
		wf_log_warn("%.200s: a file over %d bytes was not read", path,
		    WF_DISCOVER_READ_MAX);
}

/*
 * The store.
 */

static void
audit(const char *action, int64_t id, const cJSON *details)
{
	if (wf_audit_append(root, action, "project", id, details) == -1)
		wf_log_warn("log/audit.jsonl: %s (project %lld is changed, but "
		    "its audit line is missing)", strerror(errno),
		    (long long)id);
}

/* The project whose repo_path is path (real paths compared): its record,
 * or NULL. */
static cJSON *
find_project(const char *path)
{
	cJSON *all = wf_store_list(root, &wf_kind_project, 0), *it, *found;
	char real[PATH_MAX];

	cJSON_ArrayForEach(it, all) {
		const cJSON *rp = cJSON_GetObjectItemCaseSensitive(it,
		    "repo_path");

		if (!cJSON_IsString(rp))
			continue;
		if (strcmp(rp->valuestring, path) == 0 ||
		    (realpath(rp->valuestring, real) != NULL &&
		    strcmp(real, path) == 0)) {
			found = cJSON_DetachItemViaPointer(all, it);
			cJSON_Delete(all);
			return found;
		}
	}
	cJSON_Delete(all);
	return NULL;
}

/* Set the fields found on an existing project; *changed: whether any
 * differed. */
static int
update_project(const struct opts *o, const cJSON *before, cJSON *fields,
    int64_t id, int *changed)
{
	char err[ERRLEN];
	cJSON *patch = cJSON_Duplicate(fields, 1), *after = NULL, *d;

	*changed = 0;
	if (patch == NULL)
		return EX_OSERR;
	cJSON_DeleteItemFromObjectCaseSensitive(patch, "repo_path");
	if (o->name == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(patch, "name");
	/* Nothing new: nothing written. */
	d = wf_store_changes(patch, before, patch);
	if (cJSON_GetArraySize(d) == 0) {
		cJSON_Delete(d);
		cJSON_Delete(patch);
		return 0;
	}
	cJSON_Delete(d);
	if (wf_store_update(root, &wf_kind_project, id, patch, 0, err,
	    sizeof(err)) == -1) {
		cJSON_Delete(patch);
		return cli_store_failed(err);
	}
	if (wf_store_get(root, &wf_kind_project, id, &after, err,
	    sizeof(err)) == -1) {
		cJSON_Delete(patch);
		return cli_store_failed(err);
	}
	d = wf_store_changes(patch, before, after);
	if (cJSON_GetArraySize(d) > 0) {
		*changed = 1;
		audit("project.updated", id, d);
	}
	cJSON_Delete(d);
	cJSON_Delete(after);
	cJSON_Delete(patch);
	return 0;
}

/* --create or --update: *id and *action say what was done.  Two of them
 * at once on one directory could both find no project and both create
 * one; the name, unique, refuses the second unless --name differs. */
static int
save(const struct opts *o, cJSON *fields, int64_t *id, const char **action)
{
	char err[ERRLEN];
	cJSON *existing, *rec;
	const cJSON *v;
	int rc, changed;

	if ((rc = open_root()) != 0)
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(fields, "repo_path");
	if ((existing = find_project(v->valuestring)) != NULL) {
		v = cJSON_GetObjectItemCaseSensitive(existing, "id");
		*id = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
		*action = "exists";
		rc = 0;
		if (o->update && (rc = update_project(o, existing, fields, *id,
		    &changed)) == 0)
			*action = changed ? "updated" : "unchanged";
		cJSON_Delete(existing);
		return rc;
	}
	/* The store takes what it is given, on success and on failure. */
	if (wf_store_create(root, &wf_kind_project, cJSON_Duplicate(fields, 1),
	    0, id, err, sizeof(err)) == -1) {
		if (errno == EINVAL && o->name == NULL &&
		    strstr(err, "taken") != NULL)
			strlcat(err, " (give this one a name with --name)",
			    sizeof(err));
		return cli_store_failed(err);
	}
	if (wf_store_get(root, &wf_kind_project, *id, &rec, err,
	    sizeof(err)) == -1)
		return cli_store_failed(err);
	audit("project.created", *id, rec);
	cJSON_Delete(rec);
	*action = "created";
	return 0;
}

static void
print_action(int64_t id, const char *action, const char *path)
{
	if (strcmp(action, "created") == 0)
		printf("created project %lld\n", (long long)id);
	else if (strcmp(action, "updated") == 0)
		printf("updated project %lld\n", (long long)id);
	else if (strcmp(action, "unchanged") == 0)
		printf("project %lld is up to date\n", (long long)id);
	else {
		printf("project %lld has this repo_path already: nothing "
		    "created (wf discover --update ", (long long)id);
		put_clean(path);
		printf(" sets the fields found)\n");
	}
}

static int
discover(const struct opts *o)
{
	char real[PATH_MAX], err[ERRLEN], base[PATH_MAX];
	struct wf_discover d;
	const char *name, *action = NULL;
	cJSON *fields = NULL, *r;
	char *s;
	int64_t id = 0;
	int rc = 0;

	if (realpath(o->path, real) == NULL) {
		rc = exit_of_path(errno);
		wf_log_warn("%.200s: %s", o->path, strerror(errno));
		return rc;
	}
	if (wf_discover_path(real, &d, err, sizeof(err)) == -1) {
		rc = exit_of_path(errno);
		wf_log_warn("%s", err);
		return rc;
	}
	warn_limits(&d, real);
	strlcpy(base, real, sizeof(base));
	name = o->name != NULL ? o->name : basename(base);
	if ((fields = wf_discover_fields(&d)) == NULL ||
	    cJSON_AddStringToObject(fields, "name", name) == NULL ||
	    cJSON_AddStringToObject(fields, "repo_path", real) == NULL) {
		cJSON_Delete(fields);
		wf_log_warn("discover: out of memory");
		return EX_OSERR;
	}
	if ((o->create || o->update) &&
	    (rc = save(o, fields, &id, &action)) != 0)
		goto out;
	if (o->json) {
		if ((r = report_json(&d, fields)) == NULL) {
			rc = EX_OSERR;
			goto out;
		}
		if (action != NULL) {
			cJSON_AddNumberToObject(r, "id", (double)id);
			cJSON_AddStringToObject(r, "action", action);
		}
		if ((s = cJSON_PrintUnformatted(r)) != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(r);
	} else {
		print_text(&d, name, real);
		if (action != NULL)
			print_action(id, action, real);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		wf_log_warn("stdout: %s", strerror(errno));
		rc = EX_IOERR;
	}
out:
	cJSON_Delete(fields);
	return rc;
}

int
cmd_discover(int argc, char *argv[])
{
	struct opts o;
	int rc;

	if ((rc = parse(argc, argv, &o)) != 0)
		return rc == -1 ? 0 : rc;
	return discover(&o);
}
