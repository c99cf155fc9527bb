/*
 * wf project|task|bug|env: the entities of the store (projects, tasks,
 * bugs, environments) from the command line: create, list, show, update
 * and delete; a task's or a bug's status; a project's whole context for an
 * orchestrator.  The flags of create and update are made from the kind's
 * schema (field repo_path is flag --repo-path), so that a field added
 * there is a flag here with no change; the store checks what they say.
 * The changes themselves are lib/entity's (which wf-httpd calls too):
 * every change appends an audit line; a new bug is also an event.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "entity.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "wf.h"

#define NFIELDS_MAX 48  /* fields of a kind, with room to grow */
#define FLAG_MAX 48     /* bytes in a flag's name */
#define DATA_MAX (1 << 20)
#define ERRLEN 512

#define INT_MAX_JSON 9000000000000000LL /* the store's largest integer */
#define HELP_COL 30     /* where the description of a flag starts */
#define KEY_WIDTH 20    /* the key column of show */

/* getopt codes beyond the short ones; a field's flag is O_FIELD + its
 * index in the schema. */
enum {
	O_JSON = 256, O_DATA, O_PROJECT, O_STATUS, O_READY, O_FIELD = 512,
};

/* The flags a verb takes. */
#define G_FIELDS 0x1 /* one a field, and --data */
#define G_JSON 0x2
#define G_FILTER 0x4 /* --project-id, --status (when the kind has them) */

/* The kinds that have a verb. */
#define K_PROJECT 0x1
#define K_TASK 0x2
#define K_BUG 0x4
#define K_ENV 0x8
#define K_ALL 0xf

struct opts {
	int json;
	int64_t id;         /* the verb's ID */
	int64_t project_id; /* list --project-id */
	const char *status; /* list --status */
	int ready;          /* task list --ready */
	const char *data;   /* --data */
	cJSON *flags;       /* the fields the flags gave */
	char **args;        /* the positional arguments */
	int nargs;
};

struct verb {
	const char *name;
	int (*fn)(struct opts *);
	int kinds, groups, nargs;
	const char *what; /* "@" stands for the kind */
};

static int e_create(struct opts *);
static int e_list(struct opts *);
static int e_show(struct opts *);
static int e_update(struct opts *);
static int e_delete(struct opts *);
static int e_status(struct opts *);
static int e_context(struct opts *);

static const struct verb verbs[] = {
	{ "create", e_create, K_ALL, G_FIELDS | G_JSON, 0,
	    "Create the @ the flags describe and print its id, or the whole "
	    "record with --json.  The store checks every field: an unknown "
	    "field, a wrong type, a value out of its set, a field set by wf, "
	    "a missing required field or a name already taken is refused, "
	    "and nothing is written." },
	{ "list", e_list, K_ALL, G_FILTER | G_JSON, 0,
	    "Every @, one line each, in the order of their ids; with --json, "
	    "one JSON array of the records." },
	{ "show", e_show, K_ALL, G_JSON, 1,
	    "Every field of the @ ID, one line each: the field's name, then "
	    "its value (- when it has none).  With --json, the record." },
	{ "update", e_update, K_ALL, G_FIELDS | G_JSON, 1,
	    "Change the fields the flags give; the others stay as they are.  "
	    "At least one is needed; each is checked as create checks it.  "
	    "With --json, print the record as it is now." },
	{ "delete", e_delete, K_ALL, 0, 1,
	    "Delete the @ ID.  One that another entity still refers to (a "
	    "project with tasks, runs, environments or bugs; a task with a "
	    "run, or that another task waits on) is refused: delete those, "
	    "or drop the edge, first." },
	{ "status", e_status, K_TASK | K_BUG, 0, 2,
	    "Set the status of the @ ID and print its id and new status." },
	{ "context", e_context, K_PROJECT, G_JSON, 1,
	    "All an orchestrator needs about a project; with --json, one "
	    "object: {\"project\": the project, \"tasks\": its tasks, "
	    "\"environments\": its environments, \"latest_run\": its run with "
	    "the highest id or null, \"bugs\": its bugs neither resolved nor "
	    "closed}.  The fields of an environment named like a secret "
	    "(password, secret, token, key) are left out." },
};

/* The columns of list, per kind, and of the tables of a context. */
static const char *const project_cols[] = {
	"id", "name", "repo_path", "test_command", NULL,
};
static const char *const task_cols[] = {
	"id", "project_id", "task_id", "status", "stage", "ready",
	"priority", "title", NULL,
};
static const char *const bug_cols[] = {
	"id", "status", "app_name", "title", NULL,
};
static const char *const env_cols[] = {
	"id", "project_id", "name", "env_type", "url", NULL,
};
static const char *const ctx_task_cols[] = {
	"id", "task_id", "status", "priority", "title", NULL,
};
static const char *const ctx_env_cols[] = {
	"id", "name", "env_type", "url", NULL,
};

static const struct wf_kind *kind; /* the kind at hand */
static const char *word;           /* what the user called it: "env" */
static const struct verb *verb;
static int root = -1;

static int
kind_bit(void)
{
	if (kind == &wf_kind_project)
		return K_PROJECT;
	if (kind == &wf_kind_task)
		return K_TASK;
	if (kind == &wf_kind_bug)
		return K_BUG;
	return K_ENV;
}

static int
open_root(void)
{
	const char *home = wf_home_dir();

	if ((root = wf_spool_attach(home)) == -1)
		return -1;
	return 0;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Field repo_path is flag repo-path. */
static void
flag_name(const char *field, char *buf, size_t len)
{
	strlcpy(buf, field, len);
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '_')
			*p = '-';
}

/*
 * Usage.
 */

/* Print text from column col, wrapped before column 80, continuation
 * lines indented to ind; "@" stands for the kind's name. */
static void
wrap(FILE *fp, int col, int ind, const char *text)
{
	char buf[2048], *w, *last;
	size_t n = 0, k = strlen(kind->name);
	int bol = 1;

	for (const char *s = text; *s != '\0' && n + k + 1 < sizeof(buf);
	    s++) {
		if (*s == '@') {
			memcpy(buf + n, kind->name, k);
			n += k;
		} else
			buf[n++] = *s;
	}
	buf[n] = '\0';
	for (w = strtok_r(buf, " ", &last); w != NULL;
	    w = strtok_r(NULL, " ", &last)) {
		int len = (int)strlen(w);

		if (!bol && col + 1 + len > 79) {
			fprintf(fp, "\n%*s", ind, "");
			col = ind;
		} else if (!bol) {
			fputc(' ', fp);
			col++;
		}
		fputs(w, fp);
		col += len;
		bol = 0;
	}
	fputc('\n', fp);
}

/* The placeholder of a flag's value. */
static const char *
metavar(const struct wf_field *f)
{
	switch (f->type) {
	case WF_F_INT:
		return "N";
	case WF_F_REF:
		return "ID";
	case WF_F_BOOL:
		return "true|false";
	case WF_F_STRLIST:
		return "A,B,...";
	case WF_F_ENUM:
		return "VALUE";
	case WF_F_JSON:
		return "JSON";
	case WF_F_TIME:
		return "TIME";
	case WF_F_STR:
	case WF_F_TEXT:
		break;
	}
	if (ends_with(f->name, "_path"))
		return "PATH";
	if (ends_with(f->name, "url"))
		return "URL";
	if (ends_with(f->name, "_command"))
		return "COMMAND";
	return "TEXT";
}

static void
append(char *buf, size_t len, const char *sep, const char *text)
{
	if (buf[0] != '\0')
		strlcat(buf, sep, len);
	strlcat(buf, text, len);
}

static void
enum_list(const struct wf_field *f, const char *sep, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; f->enums[i] != NULL; i++)
		append(buf, len, sep, f->enums[i]);
}

/* What the help says of a field: its help string, then what the schema
 * says of it in parentheses. */
static void
field_help(const struct wf_field *f, int creating, char *buf, size_t len)
{
	char tmp[512], note[600] = "";

	buf[0] = '\0';
	if (f->help != NULL)
		strlcpy(buf, f->help, len);
	if (f->type == WF_F_ENUM) {
		enum_list(f, ", ", tmp, sizeof(tmp));
		append(buf, len, "; ", "one of ");
		strlcat(buf, tmp, len);
	}
	if (f->type == WF_F_STRLIST)
		append(buf, len, "; ", "comma-separated, and the flag repeats");
	if (f->type == WF_F_REF) {
		snprintf(tmp, sizeof(tmp), "a %s id", f->ref);
		append(note, sizeof(note), "; ", tmp);
	}
	if (creating && (f->flags & WF_FF_REQUIRED))
		append(note, sizeof(note), "; ", "required");
	else if (creating && f->dflt != NULL) {
		cJSON *d = cJSON_Parse(f->dflt);

		snprintf(tmp, sizeof(tmp), "default: %s",
		    cJSON_IsString(d) ? d->valuestring : f->dflt);
		append(note, sizeof(note), "; ", tmp);
		cJSON_Delete(d);
	}
	if (note[0] != '\0') {
		append(buf, len, " ", "(");
		strlcat(buf, note, len);
		strlcat(buf, ")", len);
	}
}

/* One line of the flags' list: the flag, then its description. */
static void
flag_line(FILE *fp, const char *flag, const char *desc)
{
	int col = fprintf(fp, "  %s", flag);

	if (col >= HELP_COL - 1) {
		fputc('\n', fp);
		col = 0;
	}
	fprintf(fp, "%*s", HELP_COL - col, "");
	wrap(fp, HELP_COL, HELP_COL, desc);
}

static void
field_flags(FILE *fp, int creating)
{
	char flag[FLAG_MAX], spec[FLAG_MAX + 24], desc[1024];

	for (const struct wf_field *f = kind->fields; f->name != NULL; f++) {
		if (f->flags & WF_FF_READONLY)
			continue;
		flag_name(f->name, flag, sizeof(flag));
		snprintf(spec, sizeof(spec), "--%s %s", flag, metavar(f));
		field_help(f, creating, desc, sizeof(desc));
		flag_line(fp, spec, desc);
	}
}

/* The synopsis of a verb, from column col, wrapped. */
static void
synopsis(FILE *fp, const struct verb *v, int col)
{
	char buf[1024], flag[FLAG_MAX], one[FLAG_MAX + 16];
	int creating = strcmp(v->name, "create") == 0;

	snprintf(buf, sizeof(buf), "wf %s %s", word, v->name);
	if (v->nargs > 0)
		strlcat(buf, " ID", sizeof(buf));
	if (v->nargs > 1)
		strlcat(buf, " STATUS", sizeof(buf));
	for (const struct wf_field *f = kind->fields;
	    creating && f->name != NULL; f++) {
		if (f->flags & WF_FF_REQUIRED) {
			flag_name(f->name, flag, sizeof(flag));
			snprintf(one, sizeof(one), " --%s %s", flag,
			    metavar(f));
			strlcat(buf, one, sizeof(buf));
		}
	}
	if (v->groups & G_FIELDS)
		strlcat(buf, creating ? " [FLAG...]" : " FLAG...",
		    sizeof(buf));
	if ((v->groups & G_FILTER) && wf_store_field(kind, "project_id"))
		strlcat(buf, " [--project-id ID]", sizeof(buf));
	if ((v->groups & G_FILTER) && wf_store_field(kind, "status"))
		strlcat(buf, " [--status STATUS]", sizeof(buf));
	if ((v->groups & G_FILTER) && kind == &wf_kind_task)
		strlcat(buf, " [--ready]", sizeof(buf));
	if (v->groups & G_JSON)
		strlcat(buf, " [--json]", sizeof(buf));
	wrap(fp, col, col + 4, buf);
}

/* The usage of the kind: every verb it has. */
static void
usage(FILE *fp)
{
	char line[512];
	int first = 1;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!(verbs[i].kinds & kind_bit()))
			continue;
		fputs(first ? "usage: " : "       ", fp);
		synopsis(fp, &verbs[i], 7);
		first = 0;
	}
	snprintf(line, sizeof(line), "The @s of Workflow Hub, one JSON file "
	    "each in $WF_HOME/%s/.  Every change appends a line to "
	    "$WF_HOME/log/audit.jsonl.  The flags of a verb: wf %s VERB "
	    "--help.", kind->dir, word);
	wrap(fp, 0, 0, line);
}

/* After a usage error: the verb's synopsis and where its help is. */
static int
usage_error(void)
{
	fputs("usage: ", stderr);
	synopsis(stderr, verb, 7);
	fprintf(stderr, "(wf %s %s --help tells more)\n", word, verb->name);
	return EX_USAGE;
}

static void
verb_notes(FILE *fp, const struct verb *v)
{
	const struct wf_field *st = wf_store_field(kind, "status");
	char tmp[512], line[600];

	if ((v->groups & G_FIELDS) && kind == &wf_kind_project)
		wrap(fp, 0, 0, "A relative --repo-path is made absolute; it "
		    "must be a directory that exists.");
	if (strcmp(v->name, "create") == 0 && kind == &wf_kind_bug)
		wrap(fp, 0, 0, "A new bug is also an event, bug.created, for "
		    "wf-notify.");
	if (strcmp(v->name, "status") == 0 && st != NULL) {
		enum_list(st, ", ", tmp, sizeof(tmp));
		snprintf(line, sizeof(line), "STATUS is one of %s.", tmp);
		wrap(fp, 0, 0, line);
	}
}

static void
verb_usage(FILE *fp, const struct verb *v)
{
	fputs("usage: ", fp);
	synopsis(fp, v, 7);
	wrap(fp, 0, 0, v->what);
	verb_notes(fp, v);
	fputs("\n", fp);
	if (v->groups & G_FIELDS) {
		fputs("Flags, one a field:\n", fp);
		field_flags(fp, strcmp(v->name, "create") == 0);
		flag_line(fp, "--data JSON", "fields as one JSON object, or - "
		    "to read it from stdin; the flags override it");
	} else
		fputs("Flags:\n", fp);
	if ((v->groups & G_FILTER) && wf_store_field(kind, "project_id"))
		flag_line(fp, "--project-id ID", "only those of this project");
	if ((v->groups & G_FILTER) && wf_store_field(kind, "status"))
		flag_line(fp, "--status STATUS", "only those with this status");
	if ((v->groups & G_FILTER) && kind == &wf_kind_task)
		flag_line(fp, "--ready", "only those that could start now: in "
		    "the backlog, and every task they wait on done");
	if (v->groups & G_JSON)
		flag_line(fp, "--json", "print JSON");
	flag_line(fp, "-h, --help", "print this help");
	fputs("\n", fp);
	wrap(fp, 0, 0, "Exit status: 0 done; 64 usage (an unknown flag, a "
	    "flag's value of the wrong type, a bad ID); 65 data refused; 66 "
	    "no such @; 74 I/O error; 78 no runtime tree (make it with wf "
	    "init).");
}

/*
 * Parsing.
 */

/* Add the comma-separated items of val to the list name. */
static int
add_list(cJSON *flags, const char *name, const char *val)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(flags, name);
	const char *p = val;

	if (arr == NULL && (arr = cJSON_AddArrayToObject(flags, name)) == NULL)
		return EX_OSERR;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e > s) {
			char *item = strndup(s, (size_t)(e - s));

			if (item == NULL)
				return EX_OSERR;
			cJSON_AddItemToArray(arr, cJSON_CreateString(item));
			free(item);
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

/* The value of a field's flag, of the field's type. */
static int
flag_value(const struct wf_field *f, const char *val, cJSON **out)
{
	char flag[FLAG_MAX], why[160];
	const char *errstr;
	long long n;

	flag_name(f->name, flag, sizeof(flag));
	*out = NULL;
	switch (f->type) {
	case WF_F_INT:
	case WF_F_REF:
		n = strtonum(val, f->type == WF_F_REF ? 1 : -INT_MAX_JSON,
		    f->type == WF_F_REF ? CLI_ID_MAX : INT_MAX_JSON, &errstr);
		if (errstr != NULL) {
			wf_log_warn("--%s: '%.40s' is not %s (%s)", flag, val,
			    f->type == WF_F_REF ? "an id" : "an integer",
			    errstr);
			return EX_USAGE;
		}
		*out = cJSON_CreateNumber((double)n);
		break;
	case WF_F_BOOL:
		if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0) {
			wf_log_warn("--%s: '%.40s' is not true or false", flag,
			    val);
			return EX_USAGE;
		}
		*out = cJSON_CreateBool(strcmp(val, "true") == 0);
		break;
	case WF_F_JSON:
		if (wf_json_text_ok(val, strlen(val), why, sizeof(why)) ==
		    -1) {
			wf_log_warn("--%s: %s", flag, why);
			return EX_USAGE;
		}
		if ((*out = cJSON_Parse(val)) == NULL) {
			wf_log_warn("--%s: not JSON", flag);
			return EX_USAGE;
		}
		break;
	default: /* strings; the store checks enums and times */
		*out = cJSON_CreateString(val);
		break;
	}
	return *out == NULL ? EX_OSERR : 0;
}

/* A field's flag: its value replaces the one before, except that a list
 * grows. */
static int
set_flag(cJSON *flags, const struct wf_field *f, const char *val)
{
	cJSON *v;
	int rc;

	if (f->type == WF_F_STRLIST)
		return add_list(flags, f->name, val);
	if ((rc = flag_value(f, val, &v)) != 0)
		return rc;
	cJSON_DeleteItemFromObjectCaseSensitive(flags, f->name);
	cJSON_AddItemToObject(flags, f->name, v);
	return 0;
}

static int
set_status_filter(struct opts *o, const char *val)
{
	const struct wf_field *f = wf_store_field(kind, "status");
	char list[512];

	for (int i = 0; f->enums[i] != NULL; i++)
		if (strcmp(val, f->enums[i]) == 0) {
			o->status = val;
			return 0;
		}
	enum_list(f, "|", list, sizeof(list));
	wf_log_warn("--status: '%.40s' is not a %s status (%s)", val,
	    kind->name, list);
	return EX_USAGE;
}

static struct option longopts[NFIELDS_MAX + 8];
static char flagnames[NFIELDS_MAX][FLAG_MAX];

/* The long options of a verb, from its groups and the kind's schema. */
static void
build_longopts(const struct verb *v)
{
	int n = 0;

	if (v->groups & G_FIELDS) {
		for (int i = 0; kind->fields[i].name != NULL; i++) {
			if (i == NFIELDS_MAX)
				abort(); /* NFIELDS_MAX is too small */
			flag_name(kind->fields[i].name, flagnames[i], FLAG_MAX);
			longopts[n++] = (struct option){ flagnames[i],
				required_argument, NULL, O_FIELD + i };
		}
		longopts[n++] = (struct option){ "data", required_argument,
			NULL, O_DATA };
	}
	if ((v->groups & G_FILTER) && wf_store_field(kind, "project_id"))
		longopts[n++] = (struct option){ "project-id",
			required_argument, NULL, O_PROJECT };
	if ((v->groups & G_FILTER) && wf_store_field(kind, "status"))
		longopts[n++] = (struct option){ "status", required_argument,
			NULL, O_STATUS };
	if ((v->groups & G_FILTER) && kind == &wf_kind_task)
		longopts[n++] = (struct option){ "ready", no_argument, NULL,
			O_READY };
	if (v->groups & G_JSON)
		longopts[n++] = (struct option){ "json", no_argument, NULL,
			O_JSON };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* The flag getopt just refused, as the user wrote it. */
static int
bad_flag(int c, int argc, char *argv[])
{
	const char *arg = argv[optind - 1];
	size_t n = strcspn(arg, "=");

	if (c == ':')
		wf_log_warn("%s %s: %.*s needs a value", word, verb->name,
		    (int)(n > 60 ? 60 : n), arg);
	else if (optopt != 0 && isdigit(optopt)) {
		/* A negative number where an ID goes. */
		for (int i = 1; i < argc; i++)
			if (argv[i][0] == '-' && argv[i][1] == optopt) {
				arg = argv[i];
				break;
			}
		wf_log_warn("'%.40s': not a %s id (a positive integer)", arg,
		    kind->name);
	} else if (optopt != 0)
		wf_log_warn("%s %s: -%c: unknown flag", word, verb->name,
		    optopt);
	else
		wf_log_warn("%s %s: %.*s: unknown flag", word, verb->name,
		    (int)(n > 60 ? 60 : n), arg);
	return usage_error();
}

static int
take_opt(struct opts *o, int c, int argc, char *argv[])
{
	int rc;

	switch (c) {
	case 'h':
		verb_usage(stdout, verb);
		return -1;
	case O_JSON:
		o->json = 1;
		return 0;
	case O_DATA:
		o->data = optarg;
		return 0;
	case O_PROJECT:
		if (cli_id(optarg, "project", &o->project_id) != 0)
			return usage_error();
		return 0;
	case O_STATUS:
		if (set_status_filter(o, optarg) != 0)
			return usage_error();
		return 0;
	case O_READY:
		o->ready = 1;
		return 0;
	default:
		if (c < O_FIELD || c >= O_FIELD + NFIELDS_MAX)
			return bad_flag(c, argc, argv);
		rc = set_flag(o->flags, &kind->fields[c - O_FIELD], optarg);
		return rc == EX_USAGE ? usage_error() : rc;
	}
}

/* Parse a verb's flags and arguments; -1 when the help was asked for. */
static int
parse(int argc, char *argv[], struct opts *o)
{
	int c, rc;

	build_longopts(verb);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
		if ((rc = take_opt(o, c, argc, argv)) != 0)
			return rc;
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < verb->nargs) {
		wf_log_warn("%s %s: needs %s", word, verb->name,
		    o->nargs == 0 ? "an ID" : "a STATUS");
		return usage_error();
	}
	if (o->nargs > verb->nargs) {
		wf_log_warn("%s %s: '%.40s': one argument too many", word,
		    verb->name, o->args[verb->nargs]);
		return usage_error();
	}
	if (verb->nargs > 0 && cli_id(o->args[0], kind->name, &o->id) != 0)
		return usage_error();
	return 0;
}

/*
 * The fields of create and update.
 */

static int
read_stdin(char **buf, size_t *lenp)
{
	size_t len = 0, cap = 4096, n;
	char *p;

	if ((*buf = malloc(cap)) == NULL)
		return -1;
	while ((n = fread(*buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (len + 1 == cap) {
			if (cap >= DATA_MAX) {
				errno = EFBIG;
				return -1;
			}
			if ((p = realloc(*buf, cap * 2)) == NULL)
				return -1;
			*buf = p;
			cap *= 2;
		}
	}
	(*buf)[len] = '\0';
	*lenp = len;
	return ferror(stdin) ? -1 : 0;
}

/* --data: a JSON object, given or on stdin; an empty one when absent. */
static int
read_data(const char *data, cJSON **out)
{
	char *buf = NULL, why[160];
	size_t len;

	if (data == NULL) {
		*out = cJSON_CreateObject();
		return *out == NULL ? EX_OSERR : 0;
	}
	if (strcmp(data, "-") == 0) {
		if (read_stdin(&buf, &len) == -1) {
			wf_log_warn("--data: stdin: %s", strerror(errno));
			free(buf);
			return EX_IOERR;
		}
		data = buf;
	} else
		len = strlen(data);
	if (wf_json_text_ok(data, len, why, sizeof(why)) == -1) {
		free(buf);
		*out = NULL;
		wf_log_warn("--data: %s", why);
		return EX_DATAERR;
	}
	*out = cJSON_Parse(data);
	free(buf);
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		wf_log_warn("--data: not a JSON object");
		return EX_DATAERR;
	}
	return 0;
}

/* --data, then the flags over it, checked as the store checks a
 * caller's fields (untrusted). */
static int
gather(struct opts *o, cJSON **out)
{
	char err[ERRLEN];
	cJSON *obj, *it;
	int rc;

	*out = NULL;
	if ((rc = read_data(o->data, &obj)) != 0)
		return rc;
	cJSON_ArrayForEach(it, o->flags) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, it->string);
		cJSON_AddItemToObject(obj, it->string, cJSON_Duplicate(it, 1));
	}
	if (wf_entity_check(kind, obj, err, sizeof(err)) == -1)
		rc = cli_store_failed(err);
	if (rc != 0) {
		cJSON_Delete(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

/*
 * Output.
 */

/* A string for a terminal: no control characters; a newline becomes nl,
 * or a space when nl is NULL. */
static void
put_clean(const char *s, const char *nl)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' && nl != NULL)
			fputs(nl, stdout);
		else
			putchar(c < 0x20 || c == 0x7f ? ' ' : c);
	}
}

/* A value as text, malloc'd: "-" when there is none. */
static char *
text_of(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) ||
	    (cJSON_IsString(v) && v->valuestring[0] == '\0'))
		return strdup("-");
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	return cJSON_PrintUnformatted(v);
}

static void
print_kv(const char *indent, const char *key, const cJSON *v)
{
	char nl[64], *s = text_of(v);

	snprintf(nl, sizeof(nl), "\n%s%*s", indent, KEY_WIDTH + 1, "");
	printf("%s%-*s ", indent, KEY_WIDTH, key);
	put_clean(s != NULL ? s : "?", nl);
	putchar('\n');
	free(s);
}

/* A task's readiness as two lines: its state, and what it waits on or
 * why it is blocked. */
static void
print_readiness(const cJSON *r, const char *indent)
{
	print_kv(indent, "readiness", cJSON_GetObjectItem(r, "state"));
	print_kv(indent, "why", cJSON_GetObjectItem(r, "why"));
}

/* Every field of the kind, in the schema's order, then any other. */
static void
print_fields(const cJSON *rec, const char *indent)
{
	const cJSON *it;

	for (const struct wf_field *f = kind->fields; f->name != NULL; f++)
		print_kv(indent, f->name,
		    cJSON_GetObjectItemCaseSensitive(rec, f->name));
	cJSON_ArrayForEach(it, rec) {
		if (strcmp(it->string, "readiness") == 0 &&
		    kind == &wf_kind_task)
			print_readiness(it, indent);
		else if (wf_store_field(kind, it->string) == NULL)
			print_kv(indent, it->string, it);
	}
}

/* The derived columns of wf task list: the stage, and ready, waiting or
 * blocked. */
static void
task_columns(cJSON *rows)
{
	cJSON *t;

	cJSON_ArrayForEach(t, rows) {
		const cJSON *st = cJSON_GetObjectItem(t, "pipeline_stage");
		const cJSON *r = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(t, "readiness"), "state");

		cJSON_AddItemToObject(t, "stage", cJSON_Duplicate(st, 1));
		cJSON_AddItemToObject(t, "ready", cJSON_Duplicate(r, 1));
	}
}

static size_t
cell_width(const cJSON *row, const char *col)
{
	char *s = text_of(cJSON_GetObjectItemCaseSensitive(row, col));
	size_t n = s != NULL ? strlen(s) : 1;

	free(s);
	return n;
}

static void
print_cell(const cJSON *row, const char *col, int width)
{
	char *s = text_of(cJSON_GetObjectItemCaseSensitive(row, col));
	int n = s != NULL ? (int)strlen(s) : 1;

	put_clean(s != NULL ? s : "?", NULL);
	if (width > n)
		printf("%*s", width - n, "");
	free(s);
}

/* A table of rows: a header of the columns' names, then one line a row,
 * each column as wide as its widest cell. */
static void
print_table(const cJSON *rows, const char *const *cols, const char *indent)
{
	size_t w[16];
	const cJSON *row;
	int n;

	for (n = 0; n < 16 && cols[n] != NULL; n++)
		w[n] = strlen(cols[n]);
	cJSON_ArrayForEach(row, rows) {
		for (int i = 0; i < n; i++) {
			size_t cw = cell_width(row, cols[i]);

			if (cw > w[i])
				w[i] = cw;
		}
	}
	fputs(indent, stdout);
	for (int i = 0; i < n; i++) {
		for (const char *p = cols[i]; *p != '\0'; p++)
			putchar(toupper((unsigned char)*p));
		if (i < n - 1)
			printf("%*s", (int)(w[i] - strlen(cols[i]) + 2), "");
	}
	putchar('\n');
	cJSON_ArrayForEach(row, rows) {
		fputs(indent, stdout);
		for (int i = 0; i < n; i++) {
			print_cell(row, cols[i], i < n - 1 ? (int)w[i] + 2 : 0);
		}
		putchar('\n');
	}
}

static const char *const *
columns(void)
{
	if (kind == &wf_kind_project)
		return project_cols;
	if (kind == &wf_kind_task)
		return task_cols;
	if (kind == &wf_kind_bug)
		return bug_cols;
	return env_cols;
}

/*
 * The verbs.
 */

static int
fetch(const struct wf_kind *k, int64_t id, cJSON **out)
{
	char err[ERRLEN];

	if (wf_store_get(root, k, id, out, err, sizeof(err)) == -1)
		return cli_store_failed(err);
	return 0;
}

static int
e_create(struct opts *o)
{
	char err[ERRLEN];
	cJSON *obj, *rec;
	int rc;

	if ((rc = gather(o, &obj)) != 0)
		return rc;
	/* The library takes obj, on success and on failure. */
	if (wf_entity_create(root, kind, obj, &rec, err, sizeof(err)) == -1)
		return cli_store_failed(err);
	if (o->json)
		cli_json(rec);
	else
		printf("%lld\n", (long long)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(rec, "id")));
	cJSON_Delete(rec);
	return cli_flush();
}

static int
e_list(struct opts *o)
{
	cJSON *all = wf_store_list(root, kind, o->project_id);

	if (all == NULL) {
		wf_log_warn("%s: out of memory", kind->dir);
		return EX_OSERR;
	}
	if (o->status != NULL)
		wf_entity_keep_status(all, o->status);
	if (kind == &wf_kind_task) {
		wf_entity_task_derive(root, all);
		if (o->ready)
			wf_entity_keep_ready(all);
	}
	if (o->json)
		cli_json(all);
	else if (cJSON_GetArraySize(all) > 0) {
		if (kind == &wf_kind_task)
			task_columns(all);
		print_table(all, columns(), "");
	}
	cJSON_Delete(all);
	return cli_flush();
}

static int
e_show(struct opts *o)
{
	cJSON *rec;
	int rc;

	if ((rc = fetch(kind, o->id, &rec)) != 0)
		return rc;
	if (kind == &wf_kind_task) {
		/* Derived the way a list is, so that the two agree. */
		cJSON *one = cJSON_CreateArray();

		cJSON_AddItemToArray(one, rec);
		wf_entity_task_derive(root, one);
		rec = cJSON_DetachItemFromArray(one, 0);
		cJSON_Delete(one);
	}
	if (o->json)
		cli_json(rec);
	else
		print_fields(rec, "");
	cJSON_Delete(rec);
	return cli_flush();
}

static int
e_update(struct opts *o)
{
	char err[ERRLEN];
	cJSON *patch, *after = NULL;
	int rc;

	if ((rc = gather(o, &patch)) != 0)
		return rc;
	if (cJSON_GetArraySize(patch) == 0) {
		wf_log_warn("%s update: nothing to change (a field's flag or "
		    "--data is needed)", word);
		rc = usage_error();
		goto out;
	}
	if (wf_entity_update(root, kind, o->id, patch, &after, err,
	    sizeof(err)) == -1) {
		rc = cli_store_failed(err);
		goto out;
	}
	if (o->json)
		cli_json(after);
	rc = cli_flush();
out:
	cJSON_Delete(patch);
	cJSON_Delete(after);
	return rc;
}

static int
e_delete(struct opts *o)
{
	char err[ERRLEN];

	if (wf_entity_delete(root, kind, o->id, err, sizeof(err)) == -1) {
		if (errno == EBUSY) {
			/* In use: the data says no, as a refused field does. */
			wf_log_warn("%s", err);
			return EX_DATAERR;
		}
		return cli_store_failed(err);
	}
	return 0;
}

static int
e_status(struct opts *o)
{
	char err[ERRLEN];
	const char *to = o->args[1];

	if (wf_entity_status(root, kind, o->id, to, err, sizeof(err)) == -1)
		return cli_store_failed(err);
	printf("%lld %s\n", (long long)o->id, to);
	return cli_flush();
}

static void
print_context(const cJSON *ctx)
{
	const cJSON *tasks = cJSON_GetObjectItem(ctx, "tasks");
	const cJSON *envs = cJSON_GetObjectItem(ctx, "environments");
	const cJSON *run = cJSON_GetObjectItem(ctx, "latest_run");
	const cJSON *bugs = cJSON_GetObjectItem(ctx, "bugs");

	printf("project:\n");
	print_fields(cJSON_GetObjectItem(ctx, "project"), "  ");
	printf("\ntasks: %d\n", cJSON_GetArraySize(tasks));
	if (cJSON_GetArraySize(tasks) > 0)
		print_table(tasks, ctx_task_cols, "  ");
	printf("\nenvironments: %d\n", cJSON_GetArraySize(envs));
	if (cJSON_GetArraySize(envs) > 0)
		print_table(envs, ctx_env_cols, "  ");
	if (cJSON_IsObject(run)) {
		char *s = text_of(cJSON_GetObjectItem(run, "state"));

		printf("\nlatest run: %lld, state %s\n", (long long)
		    cJSON_GetNumberValue(cJSON_GetObjectItem(run, "id")),
		    s != NULL ? s : "?");
		free(s);
	} else
		printf("\nlatest run: none\n");
	printf("\nopen bugs: %d\n", cJSON_GetArraySize(bugs));
	if (cJSON_GetArraySize(bugs) > 0)
		print_table(bugs, bug_cols, "  ");
}

static int
e_context(struct opts *o)
{
	char err[ERRLEN];
	cJSON *ctx;

	if ((ctx = wf_entity_context(root, o->id, err, sizeof(err))) == NULL)
		return cli_store_failed(err);
	if (o->json)
		cli_json(ctx);
	else
		print_context(ctx);
	cJSON_Delete(ctx);
	return cli_flush();
}

static const struct verb *
find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if ((verbs[i].kinds & kind_bit()) &&
		    strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

int
cmd_entity(const char *kname, int argc, char *argv[])
{
	struct opts o;
	int rc;

	if ((kind = wf_store_kind(kname)) == NULL || kind == &wf_kind_run)
		abort(); /* main knows the kinds */
	word = argv[0];
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if ((verb = find_verb(argv[1])) == NULL) {
		wf_log_warn("%s %.40s: unknown verb", word, argv[1]);
		usage(stderr);
		return EX_USAGE;
	}
	memset(&o, 0, sizeof(o));
	if ((o.flags = cJSON_CreateObject()) == NULL)
		return EX_OSERR;
	rc = parse(argc - 1, argv + 1, &o);
	if (rc == 0)
		rc = open_root() == -1 ? EX_CONFIG : verb->fn(&o);
	else if (rc == -1)
		rc = 0; /* the help */
	cJSON_Delete(o.flags);
	return rc;
}
