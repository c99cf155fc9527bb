/*
 * wf cred: the vault's credentials from the command line.  A secret comes
 * in on stdin (read without echo from a terminal) or from a file, never
 * from argv, where any user's ps would see it.  list, show and --json
 * never print it; only get --reveal does, after its audit line is written.
 * rotate-key re-seals every sealed value of the tree under a new key.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "cred.h"
#include "home.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "vault.h"
#include "wf.h"

#define ERRLEN 1024
#define KEY_WIDTH 16

static const char usage_text[] =
    "usage: wf cred add --project ID --name NAME --type TYPE [--service S]\n"
    "           [--username U] [--description TEXT] [--secret-file PATH]\n"
    "           [--json]\n"
    "       wf cred list [--project ID] [--json]\n"
    "       wf cred show ID [--json]\n"
    "       wf cred get ID --reveal [--field NAME]\n"
    "       wf cred rm ID\n"
    "       wf cred rotate-key\n"
    "\n"
    "Credentials of a project, sealed with libsodium's crypto_secretbox\n"
    "under the key in $WF_HOME/keys/ (made by wf init, mode 0600), one\n"
    "file each in $WF_HOME/state/credentials/.\n"
    "\n"
    "add      reads the secret from standard input (from a terminal, one\n"
    "         line without echo), or from --secret-file PATH (at most 64\n"
    "         KiB), never from the command line: there is no flag that\n"
    "         takes it.  One trailing newline is dropped, except for\n"
    "         ssh_key and certificate, which keep their bytes.  A secret\n"
    "         that is a JSON object ({\"username\":\"u\",\"password\":\"p\"})\n"
    "         has fields, each readable alone.  TYPE is one of api_key,\n"
    "         token, basic_auth, ssh_key, database, oauth, certificate,\n"
    "         other.  Prints the new id (the record with --json).\n"
    "list     the credentials (of one project with --project), without\n"
    "         their secrets.\n"
    "show     every field of one credential but its secret.\n"
    "get      prints the secret (or one field of it) with --reveal, and\n"
    "         only with it; each reveal is a line in log/audit.jsonl,\n"
    "         written before the secret is printed.\n"
    "rm       deletes a credential.\n"
    "rotate-key  makes a new key, re-seals every sealed value of state/\n"
    "         (credentials, webhook secrets) under it, then removes the\n"
    "         old key; a value stays readable all along.  Prints how many\n"
    "         values were re-sealed.\n"
    "\n"
    "A role maps a credential into its agent's environment with a line\n"
    "env = NAME:cred:REF[.FIELD] in its .ini (REF: an id, or a name in\n"
    "the run's project; see etc/roles/).\n"
    "\n"
    "Exit status: 0 done; 64 usage; 65 data refused, or a secret that\n"
    "does not open (tampered, or sealed under another key); 66 no such\n"
    "credential; 74 I/O error; 78 no runtime tree.\n";

enum {
	O_PROJECT = 256,
	O_NAME,
	O_TYPE,
	O_SERVICE,
	O_USER,
	O_DESC,
	O_SECRET_FILE,
	O_JSON,
	O_REVEAL,
	O_FIELD,
	O_ARGV_SECRET
};

static const struct option longopts[] = {
	{ "project", required_argument, NULL, O_PROJECT },
	{ "project-id", required_argument, NULL, O_PROJECT },
	{ "name", required_argument, NULL, O_NAME },
	{ "type", required_argument, NULL, O_TYPE },
	{ "credential-type", required_argument, NULL, O_TYPE },
	{ "service", required_argument, NULL, O_SERVICE },
	{ "username", required_argument, NULL, O_USER },
	{ "description", required_argument, NULL, O_DESC },
	{ "secret-file", required_argument, NULL, O_SECRET_FILE },
	{ "json", no_argument, NULL, O_JSON },
	{ "reveal", no_argument, NULL, O_REVEAL },
	{ "field", required_argument, NULL, O_FIELD },
	/* Named only to refuse them with the reason. */
	{ "secret", optional_argument, NULL, O_ARGV_SECRET },
	{ "password", optional_argument, NULL, O_ARGV_SECRET },
	{ "value", optional_argument, NULL, O_ARGV_SECRET },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	int64_t project, id;
	const char *name, *type, *service, *user, *desc, *secret_file, *field;
	int json, reveal;
};

static int root = -1;

static int
usage_error(void)
{
	fputs("(wf cred --help tells more)\n", stderr);
	return EX_USAGE;
}

/* A value for a terminal: no control characters. */
static void
put_clean(const cJSON *v)
{
	char *s = NULL;
	const char *p;

	if (v == NULL || cJSON_IsNull(v))
		p = "-";
	else if (cJSON_IsString(v))
		p = v->valuestring[0] != '\0' ? v->valuestring : "-";
	else
		p = s = cJSON_PrintUnformatted(v);
	for (; p != NULL && *p != '\0'; p++)
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
	free(s);
}

/*
 * Reading a secret.
 */

/* Read fd whole into guarded memory, at most WF_VAULT_MAX bytes. */
static int
read_all(int fd, const char *what, char **out, size_t *len)
{
	char *buf;
	size_t n = 0;
	ssize_t r;

	if ((buf = sodium_malloc(WF_VAULT_MAX + 2)) == NULL) {
		wf_log_warn("out of memory");
		return EX_OSERR;
	}
	while (n <= WF_VAULT_MAX) {
		r = read(fd, buf + n, WF_VAULT_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			wf_log_warn("%s: %s", what, strerror(errno));
			sodium_free(buf);
			return EX_IOERR;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > WF_VAULT_MAX) {
		wf_log_warn(
		    "%s: the secret is over %d bytes", what, WF_VAULT_MAX);
		sodium_free(buf);
		return EX_DATAERR;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* One line from the terminal, echo off. */
static int
read_tty(const char *name, char **out, size_t *len)
{
	struct termios t, quiet;
	int rc, restore;

	fprintf(stderr, "secret for %s (not echoed): ", name);
	fflush(stderr);
	restore = tcgetattr(STDIN_FILENO, &t) == 0;
	if (restore) {
		quiet = t;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	/* Canonical mode: read returns at the end of the line. */
	rc = read_all(STDIN_FILENO, "stdin", out, len);
	if (rc == 0 && memchr(*out, '\n', *len) != NULL)
		*len = (size_t)((char *)memchr(*out, '\n', *len) - *out);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	return rc;
}

static int
read_secret(const struct opts *o, char **out, size_t *len)
{
	int fd, rc;

	if (o->secret_file != NULL && strcmp(o->secret_file, "-") != 0) {
		if ((fd = open(o->secret_file, O_RDONLY | O_CLOEXEC)) == -1) {
			wf_log_warn("%s: %s", o->secret_file, strerror(errno));
			return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
		}
		rc = read_all(fd, o->secret_file, out, len);
		close(fd);
	} else if (isatty(STDIN_FILENO))
		rc = read_tty(o->name, out, len);
	else
		rc = read_all(STDIN_FILENO, "stdin", out, len);
	if (rc != 0)
		return rc;
	/* A key file keeps its bytes; a typed or echoed secret loses the
	 * newline that ended it. */
	if (strcmp(o->type, "ssh_key") != 0 &&
	    strcmp(o->type, "certificate") != 0) {
		if (*len > 0 && (*out)[*len - 1] == '\n')
			(*out)[--*len] = '\0';
		if (*len > 0 && (*out)[*len - 1] == '\r')
			(*out)[--*len] = '\0';
	}
	if (*len == 0) {
		wf_log_warn("cred add: the secret is empty (give it on stdin "
			    "or with --secret-file)");
		sodium_free(*out);
		*out = NULL;
		return EX_DATAERR;
	}
	return 0;
}

/*
 * The verbs.
 */

static int
fetch(int64_t id, cJSON **rec)
{
	char err[ERRLEN];

	if (wf_store_get(root, &wf_kind_credential, id, rec, err, sizeof err) ==
	    -1)
		return cli_store_failed(err);
	wf_cred_redact(*rec);
	return 0;
}

static int
c_add(struct opts *o)
{
	char err[ERRLEN], *secret = NULL;
	cJSON *fields, *rec;
	size_t len;
	int64_t id;
	int rc;

	if (o->project == 0 || o->name == NULL || o->type == NULL) {
		wf_log_warn("cred add: --project, --name and --type are "
			    "needed");
		return usage_error();
	}
	if ((fields = cJSON_CreateObject()) == NULL)
		return EX_OSERR;
	cJSON_AddNumberToObject(fields, "project_id", (double)o->project);
	cJSON_AddStringToObject(fields, "name", o->name);
	cJSON_AddStringToObject(fields, "credential_type", o->type);
	if (o->service != NULL)
		cJSON_AddStringToObject(fields, "service", o->service);
	if (o->user != NULL)
		cJSON_AddStringToObject(fields, "username", o->user);
	if (o->desc != NULL)
		cJSON_AddStringToObject(fields, "description", o->desc);
	/* The fields first: a refusal costs the user no typing. */
	if (wf_store_check(
		&wf_kind_credential, fields, 0, 0, err, sizeof err) == -1) {
		cJSON_Delete(fields);
		return cli_store_failed(err);
	}
	if ((rc = read_secret(o, &secret, &len)) != 0) {
		cJSON_Delete(fields);
		return rc;
	}
	rc = wf_cred_add(root, fields, secret, len, &rec, err, sizeof err);
	sodium_free(secret);
	if (rc == -1)
		return cli_store_failed(err);
	id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "id"));
	if (o->json)
		cli_json(rec);
	else
		printf("%lld\n", (long long)id);
	cJSON_Delete(rec);
	return cli_flush();
}

static int
c_list(struct opts *o)
{
	static const char *const cols[] = {
		"id",
		"project_id",
		"name",
		"credential_type",
		"service",
		"username",
		NULL,
	};
	static const char *const heads[] = {
		"ID",
		"PROJECT",
		"NAME",
		"TYPE",
		"SERVICE",
		"USERNAME",
	};
	cJSON *all = wf_store_list(root, &wf_kind_credential, o->project), *it;
	int w[6];

	cJSON_ArrayForEach(it, all) wf_cred_redact(it);
	if (o->json) {
		cli_json(all);
		cJSON_Delete(all);
		return cli_flush();
	}
	for (int i = 0; cols[i] != NULL; i++) {
		w[i] = (int)strlen(heads[i]);
		cJSON_ArrayForEach(it, all)
		{
			char *s = cJSON_PrintUnformatted(
			    cJSON_GetObjectItemCaseSensitive(it, cols[i]));
			const cJSON *v =
			    cJSON_GetObjectItemCaseSensitive(it, cols[i]);
			int n = cJSON_IsString(v) ? (int)strlen(v->valuestring)
			    : s != NULL		  ? (int)strlen(s)
						  : 1;

			if (n > w[i])
				w[i] = n;
			free(s);
		}
	}
	if (cJSON_GetArraySize(all) > 0) {
		for (int i = 0; cols[i] != NULL; i++)
			printf("%-*s%s", cols[i + 1] ? w[i] : 0, heads[i],
			    cols[i + 1] ? "  " : "\n");
		cJSON_ArrayForEach(it, all)
		{
			for (int i = 0; cols[i] != NULL; i++) {
				const cJSON *v =
				    cJSON_GetObjectItemCaseSensitive(
					it, cols[i]);
				char *s = cJSON_IsString(v)
				    ? NULL
				    : cJSON_PrintUnformatted(v);
				const char *t = cJSON_IsString(v)
				    ? v->valuestring
				    : s != NULL ? s
						: "-";
				int n = (int)strlen(t);

				put_clean(v);
				if (cols[i + 1] != NULL)
					printf(
					    "%*s", w[i] - (n ? n : 1) + 2, "");
				free(s);
			}
			putchar('\n');
		}
	}
	cJSON_Delete(all);
	return cli_flush();
}

static int
c_show(struct opts *o)
{
	const cJSON *it;
	cJSON *rec;
	int rc;

	if ((rc = fetch(o->id, &rec)) != 0)
		return rc;
	if (o->json)
		cli_json(rec);
	else
		cJSON_ArrayForEach(it, rec)
		{
			printf("%-*s ", KEY_WIDTH, it->string);
			put_clean(it);
			putchar('\n');
		}
	cJSON_Delete(rec);
	return cli_flush();
}

static int
c_get(struct opts *o)
{
	char err[ERRLEN], *s = NULL;
	cJSON *d;
	size_t len;
	int rc;

	if (!o->reveal) {
		wf_log_warn("cred get: the secret is printed only with "
			    "--reveal (wf cred show prints the rest)");
		return usage_error();
	}
	if ((d = cJSON_CreateObject()) == NULL)
		return EX_OSERR;
	cJSON_AddTrueToObject(d, "reveal");
	rc = wf_cred_read(root, o->id, o->field, d, &s, &len, err, sizeof err);
	cJSON_Delete(d);
	if (rc == -1)
		return cli_store_failed(err);
	fwrite(s, 1, len, stdout);
	if (len == 0 || s[len - 1] != '\n')
		putchar('\n');
	wf_vault_free(s);
	return cli_flush();
}

static int
c_rm(struct opts *o)
{
	char err[ERRLEN];

	if (wf_cred_delete(root, o->id, err, sizeof err) == -1)
		return cli_store_failed(err);
	return 0;
}

static int
c_rotate(struct opts *o)
{
	struct wf_cred_rotation r;
	char err[ERRLEN];
	cJSON *d;
	int rc;

	rc = wf_cred_rotate(root, &r, err, sizeof err);
	if (r.newkid[0] != '\0' && (d = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(d, "old_key", r.oldkid);
		cJSON_AddStringToObject(d, "new_key", r.newkid);
		cJSON_AddNumberToObject(d, "resealed", r.resealed);
		cJSON_AddNumberToObject(d, "failed", r.failed);
		cJSON_AddNumberToObject(d, "keys_dropped", r.dropped);
		if (wf_audit_append(root, "vault.rotated", "vault", 0, d) == -1)
			wf_log_warn("log/audit.jsonl: %s", strerror(errno));
		if (o->json)
			cli_json(d);
		cJSON_Delete(d);
	}
	if (rc == -1) {
		if (r.failed > 0)
			wf_log_warn("rotate-key: %d value%s did not open, and "
				    "%s kept the key%s they name: %s",
			    r.failed, r.failed == 1 ? "" : "s",
			    r.failed == 1 ? "it" : "they",
			    r.failed == 1 ? "" : "s", err);
		else
			wf_log_warn("rotate-key: %s", err);
		return r.failed > 0 ? EX_DATAERR : EX_IOERR;
	}
	if (!o->json)
		printf("key %s is current; %d value%s re-sealed; %d old key%s "
		       "removed\n",
		    r.newkid, r.resealed, r.resealed == 1 ? "" : "s", r.dropped,
		    r.dropped == 1 ? "" : "s");
	return cli_flush();
}

static const struct verb {
	const char *name;
	int (*fn)(struct opts *);
	int nargs;
	const char *flags; /* the flags it takes, by their codes */
} verbs[] = {
	{ "add", c_add, 0, "\x01\x02\x03\x04\x05\x06\x07\x08" },
	{ "list", c_list, 0, "\x01\x08" },
	{ "show", c_show, 1, "\x08" },
	{ "get", c_get, 1, "\x09\x0a" },
	{ "rm", c_rm, 1, "" },
	{ "delete", c_rm, 1, "" },
	{ "rotate-key", c_rotate, 0, "\x08" },
};

static int
take(struct opts *o, int c)
{
	switch (c) {
	case O_PROJECT: return cli_id(optarg, "project", &o->project) ? -1 : 0;
	case O_NAME: o->name = optarg; break;
	case O_TYPE: o->type = optarg; break;
	case O_SERVICE: o->service = optarg; break;
	case O_USER: o->user = optarg; break;
	case O_DESC: o->desc = optarg; break;
	case O_SECRET_FILE: o->secret_file = optarg; break;
	case O_JSON: o->json = 1; break;
	case O_REVEAL: o->reveal = 1; break;
	case O_FIELD: o->field = optarg; break;
	}
	return 0;
}

int
cmd_cred(int argc, char *argv[])
{
	const struct verb *v = NULL;
	struct opts o;
	int c, rc;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			v = &verbs[i];
	if (v == NULL) {
		wf_log_warn("cred %.40s: unknown verb", argv[1]);
		return usage_error();
	}
	memset(&o, 0, sizeof o);
	argc--;
	argv++;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		if (c == O_ARGV_SECRET) {
			wf_log_warn(
			    "cred %s: %s: a secret is never taken from "
			    "the command line (ps shows it to every user); "
			    "give it on stdin or with --secret-file",
			    v->name, argv[optind - 1]);
			return EX_USAGE;
		}
		if (c == '?' || c == ':' || c < O_PROJECT ||
		    strchr(v->flags, c - O_PROJECT + 1) == NULL) {
			wf_log_warn("cred %s: %.60s: %s", v->name,
			    argv[optind - 1],
			    c == ':' ? "needs a value" : "unknown flag");
			return usage_error();
		}
		if (take(&o, c) == -1)
			return usage_error();
	}
	if (argc - optind != v->nargs) {
		if (argc - optind > v->nargs && v->nargs == 0 &&
		    strcmp(v->name, "add") == 0)
			wf_log_warn(
			    "cred add: '%.40s': unexpected argument (a "
			    "secret is never taken from the command line: give "
			    "it on stdin or with --secret-file)",
			    argv[optind]);
		else
			wf_log_warn("cred %s: %s", v->name,
			    v->nargs ? "needs one ID" : "takes no argument");
		return usage_error();
	}
	if (v->nargs == 1 && cli_id(argv[optind], "credential", &o.id) != 0)
		return usage_error();
	if ((root = wf_spool_attach(wf_home_dir())) == -1)
		return EX_CONFIG;
	/* Guarded memory for the secrets needs libsodium started. */
	if (sodium_init() < 0) {
		wf_log_warn("libsodium cannot start");
		close(root);
		return EX_SOFTWARE;
	}
	rc = v->fn(&o);
	close(root);
	return rc;
}
