/*
 * wf webhook: the webhooks wf-notify delivers events to.  A webhook is an
 * entity of the store (state/webhooks/N.json); its secret is sealed by the
 * vault and is shown only once, when wf makes it, or on demand with show
 * --reveal-secret.  A secret is read from a file or stdin, never from
 * argv.  deliveries reads log/deliveries.jsonl and events/dead;
 * redeliver puts a dead delivery back in events/deferred with its
 * attempts reset (one rename commits it).  test runs wf-notify --test, so
 * that this program never loads libcurl.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "clock.h"
#include "home.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "vault.h"
#include "webhook.h"
#include "wf.h"

#define ERRLEN 512
#define LOG_MAX (64 << 20) /* bytes of the attempt log read */

enum {
	O_NAME = 256,
	O_URL,
	O_EVENTS,
	O_SECRET_FILE,
	O_NEW_SECRET,
	O_TIMEOUT,
	O_MAX_ATTEMPTS,
	O_PROJECT,
	O_DESC,
	O_ACTIVE,
	O_INACTIVE,
	O_JSON,
	O_REVEAL,
	O_DEAD,
	O_LIMIT,
};

/* Which options a verb takes. */
#define F_FIELDS 0x1 /* the webhook's fields */
#define F_JSON 0x2
#define F_REVEAL 0x4
#define F_DEAD 0x8 /* --dead, --limit */
#define F_RESEAL 0x10 /* --new-secret, --active */

struct opts {
	cJSON *fields;
	const char *secret_file;
	int new_secret, json, reveal, dead, given;
	long limit;
	char **args;
	int nargs;
};

struct verb {
	const char *name, *args;
	int (*fn)(struct opts *);
	int flags, nmin, nmax;
	const char *what;
};

static int w_create(struct opts *);
static int w_list(struct opts *);
static int w_show(struct opts *);
static int w_update(struct opts *);
static int w_rm(struct opts *);
static int w_test(struct opts *);
static int w_deliveries(struct opts *);
static int w_redeliver(struct opts *);

static const struct verb verbs[] = {
	{ "create", "--name NAME --url URL [FIELDS]", w_create,
	    F_FIELDS | F_JSON, 0, 0,
	    "Create a webhook and print its id.  Without --secret-file wf "
	    "makes a Standard Webhooks secret (whsec_...) and prints it once, "
	    "on the line after the id: configure the receiver with it." },
	{ "list", "[--json]", w_list, F_JSON, 0, 0,
	    "Every webhook, one line each." },
	{ "show", "ID [--json] [--reveal-secret]", w_show, F_JSON | F_REVEAL, 1,
	    1,
	    "Every field of webhook ID; the secret only with "
	    "--reveal-secret." },
	{ "update", "ID [FIELDS] [--active|--inactive] [--new-secret]",
	    w_update, F_FIELDS | F_JSON | F_RESEAL, 1, 1,
	    "Change the fields given.  --active turns a webhook back on (and "
	    "clears why wf turned it off); --new-secret makes a new secret "
	    "and prints it once." },
	{ "rm", "ID", w_rm, 0, 1, 1,
	    "Remove webhook ID; its waiting deliveries go to events/dead." },
	{ "test", "ID [--json]", w_test, F_JSON, 1, 1,
	    "Send a webhook.test event to webhook ID now and print the "
	    "outcome; exit 0 on a 2xx, 1 otherwise." },
	{ "deliveries", "[ID] [--dead] [--limit N] [--json]", w_deliveries,
	    F_JSON | F_DEAD, 0, 1,
	    "The last attempts (log/deliveries.jsonl and its rotated .1), of "
	    "webhook ID or of "
	    "all; with --dead, the deliveries given up (events/dead)." },
	{ "redeliver", "DELIVERY", w_redeliver, 0, 1, 1,
	    "Send a dead delivery again, its attempts reset." },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static int root = -1;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: wf webhook VERB [ARG...]\n"
	    "The webhooks wf-notify POSTs events to, signed with their secret\n"
	    "(X-Webhook-Signature and Standard Webhooks' "
	    "webhook-signature).\n\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(
		    fp, "  wf webhook %s %s\n", verbs[i].name, verbs[i].args);
	fprintf(fp,
	    "\nFIELDS:\n"
	    "  --name NAME           a unique name\n"
	    "  --url URL             http:// or https://, where events go\n"
	    "  --events GLOB[,GLOB]  event names it gets (repeatable; default\n"
	    "                        *): run.*, bug.created, the seed's\n"
	    "                        run_state_changed...\n"
	    "  --secret-file FILE    its secret, read from FILE (- for stdin)\n"
	    "  --timeout SECS        an attempt's limit ([notify] timeout)\n"
	    "  --max-attempts N      before a delivery is dead ([notify]\n"
	    "                        max_attempts)\n"
	    "  --project-id N        the project it belongs to\n"
	    "  --description TEXT    what it is for\n"
	    "  --inactive            created off: it gets nothing\n"
	    "\nwf webhook VERB --help tells more of each verb.\n");
}

static void
verb_usage(FILE *fp, const struct verb *v)
{
	fprintf(fp, "usage: wf webhook %s %s\n", v->name, v->args);
	fprintf(fp, "%s\n", v->what);
	if (v->flags & F_FIELDS)
		fprintf(fp, "(wf webhook --help lists the FIELDS.)\n");
}

static int
add_events(cJSON *fields, const char *val)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(fields, "events");
	char *copy, *tok, *save = NULL;
	int rc = 0;

	if (arr == NULL)
		arr = cJSON_AddArrayToObject(fields, "events");
	if ((copy = strdup(val)) == NULL)
		return EX_OSERR;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (!wf_webhook_pattern_ok(tok)) {
			wf_log_warn("--events: '%.64s' is not a name or a glob "
				    "of [A-Za-z0-9._*?-]",
			    tok);
			rc = EX_USAGE;
			break;
		}
		cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
	}
	free(copy);
	return rc;
}

static int
num_field(cJSON *fields, const char *name, const char *val, long long lo,
    long long hi)
{
	const char *errstr;
	long long v = strtonum(val, lo, hi, &errstr);

	if (errstr != NULL) {
		wf_log_warn(
		    "--%s: '%.40s' is not in %lld-%lld", name, val, lo, hi);
		return EX_USAGE;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(fields, name);
	cJSON_AddNumberToObject(fields, name, (double)v);
	return 0;
}

static int
parse(const struct verb *v, int argc, char *argv[], struct opts *o)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "url", required_argument, NULL, O_URL },
		{ "events", required_argument, NULL, O_EVENTS },
		{ "secret-file", required_argument, NULL, O_SECRET_FILE },
		{ "new-secret", no_argument, NULL, O_NEW_SECRET },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "max-attempts", required_argument, NULL, O_MAX_ATTEMPTS },
		{ "project-id", required_argument, NULL, O_PROJECT },
		{ "description", required_argument, NULL, O_DESC },
		{ "active", no_argument, NULL, O_ACTIVE },
		{ "inactive", no_argument, NULL, O_INACTIVE },
		{ "json", no_argument, NULL, O_JSON },
		{ "reveal-secret", no_argument, NULL, O_REVEAL },
		{ "dead", no_argument, NULL, O_DEAD },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *errstr;
	int c, need, rc = 0;

	optind = 1;
	opterr = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_NAME:
		case O_URL:
		case O_EVENTS:
		case O_SECRET_FILE:
		case O_TIMEOUT:
		case O_MAX_ATTEMPTS:
		case O_PROJECT:
		case O_DESC:
		case O_INACTIVE: need = F_FIELDS; break;
		case O_NEW_SECRET:
		case O_ACTIVE: need = F_RESEAL; break;
		case O_JSON: need = F_JSON; break;
		case O_REVEAL: need = F_REVEAL; break;
		case O_DEAD:
		case O_LIMIT: need = F_DEAD; break;
		case 'h': verb_usage(stdout, v); return -1;
		default:
			wf_log_warn("webhook %s: unknown option '%s'", v->name,
			    argv[optind - 1]);
			return EX_USAGE;
		}
		if (!(v->flags & need)) {
			wf_log_warn("webhook %s: %s does not apply", v->name,
			    argv[optind - 1]);
			return EX_USAGE;
		}
		switch (c) {
		case O_NAME:
			cJSON_AddStringToObject(o->fields, "name", optarg);
			break;
		case O_URL:
			cJSON_AddStringToObject(o->fields, "url", optarg);
			break;
		case O_DESC:
			cJSON_AddStringToObject(
			    o->fields, "description", optarg);
			break;
		case O_EVENTS: rc = add_events(o->fields, optarg); break;
		case O_TIMEOUT:
			rc = num_field(o->fields, "timeout", optarg, 1, 3600);
			break;
		case O_MAX_ATTEMPTS:
			rc = num_field(
			    o->fields, "max_attempts", optarg, 1, 100);
			break;
		case O_PROJECT:
			rc = num_field(o->fields, "project_id", optarg, 1,
			    INT64_C(1) << 50);
			break;
		case O_ACTIVE:
		case O_INACTIVE:
			cJSON_DeleteItemFromObjectCaseSensitive(
			    o->fields, "active");
			cJSON_AddBoolToObject(
			    o->fields, "active", c == O_ACTIVE);
			break;
		case O_SECRET_FILE: o->secret_file = optarg; break;
		case O_NEW_SECRET: o->new_secret = 1; break;
		case O_JSON: o->json = 1; break;
		case O_REVEAL: o->reveal = 1; break;
		case O_DEAD: o->dead = 1; break;
		case O_LIMIT:
			o->limit = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL) {
				wf_log_warn("--limit: '%.40s' is not in "
					    "1-1000000",
				    optarg);
				rc = EX_USAGE;
			}
			break;
		}
		o->given++;
	}
	if (rc != 0)
		return rc;
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < v->nmin || o->nargs > v->nmax) {
		verb_usage(stderr, v);
		return EX_USAGE;
	}
	if (o->secret_file != NULL && o->new_secret) {
		wf_log_warn("webhook %s: --secret-file or --new-secret, not "
			    "both",
		    v->name);
		return EX_USAGE;
	}
	return 0;
}

/* The secret from a file or stdin, without its trailing newline. */
static int
read_secret(const char *path, char *buf, size_t len)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd == -1) {
		wf_log_warn("--secret-file %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	while (n < len && (r = read(fd, buf + n, len - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			wf_log_warn(
			    "--secret-file %s: %s", path, strerror(errno));
			if (fd != 0)
				close(fd);
			return EX_IOERR;
		}
		n += (size_t)r;
	}
	if (fd != 0)
		close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == len || n == 0 || memchr(buf, '\0', n) != NULL) {
		wf_log_warn("--secret-file %s: the secret must be 1-%d bytes, "
			    "without NUL",
		    path, WF_WEBHOOK_SECRET_MAX - 1);
		return EX_DATAERR;
	}
	buf[n] = '\0';
	return 0;
}

/* Seal a secret (given, or made now) into fields.secret; made says which.
 */
static int
seal(cJSON *fields, const char *file, char *secret, size_t len, int *made)
{
	char err[ERRLEN];
	cJSON *sealed;
	int rc;

	*made = 0;
	if (file != NULL) {
		if ((rc = read_secret(file, secret, len)) != 0)
			return rc;
	} else {
		if (wf_webhook_secret_new(secret, len) == -1) {
			wf_log_warn("cannot make a secret");
			return EX_SOFTWARE;
		}
		*made = 1;
	}
	if ((sealed = wf_vault_seal(
		 root, secret, strlen(secret), err, sizeof(err))) == NULL) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(fields, "secret");
	cJSON_AddItemToObject(fields, "secret", sealed);
	return 0;
}

/* Checks the store does not make. */
static int
check_fields(const cJSON *fields)
{
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(fields, "url");
	char err[ERRLEN];

	if (cJSON_IsString(url) &&
	    wf_webhook_url_ok(url->valuestring, err, sizeof(err)) == -1) {
		wf_log_warn("webhook: %s", err);
		return EX_DATAERR;
	}
	return 0;
}

static void
audit(const char *action, int64_t id, const cJSON *fields)
{
	cJSON *d = fields != NULL ? cJSON_Duplicate(fields, 1) : NULL;

	if (d != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(d, "secret");
	wf_audit_append(root, action, "webhook", id, d);
	cJSON_Delete(d);
}


/* What create and update print: the id (or the record, --json, its
 * secret hidden), and a secret wf made, once, since it is shown nowhere
 * else. */
static int
print_saved(int64_t id, int json, const char *secret)
{
	char err[ERRLEN];
	cJSON *rec;

	if (json) {
		if (wf_store_get(root, &wf_kind_webhook, id, &rec, err,
			sizeof(err)) == -1)
			return cli_store_failed(err);
		wf_webhook_redact(rec);
		if (secret != NULL)
			cJSON_AddStringToObject(rec, "secret", secret);
		cli_json(rec);
		cJSON_Delete(rec);
	} else {
		printf("%lld\n", (long long)id);
		if (secret != NULL)
			printf("secret: %s\n", secret);
	}
	return cli_flush();
}

static int
w_create(struct opts *o)
{
	char err[ERRLEN], secret[WF_WEBHOOK_SECRET_MAX + 1] = "";
	cJSON *f = o->fields;
	int64_t id;
	int rc, made;

	o->fields = NULL; /* consumed by the library */
	if ((rc = check_fields(f)) != 0) {
		cJSON_Delete(f);
		return rc;
	}
	if (o->secret_file != NULL &&
	    (rc = read_secret(o->secret_file, secret, sizeof(secret))) != 0) {
		cJSON_Delete(f);
		return rc;
	}
	if (wf_webhook_create(root, f, secret, sizeof(secret), &made, &id, err,
		sizeof(err)) == -1)
		rc = errno == EINVAL || errno == ENOENT ? cli_store_failed(err)
		    : (wf_log_warn("%s", err), EX_CONFIG);
	else
		rc = print_saved(id, o->json, made ? secret : NULL);
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

static const char *
str_of(const cJSON *o, const char *k, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k), *it;

	buf[0] = '\0';
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v))
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsString(it))
				continue;
			if (buf[0] != '\0')
				strlcat(buf, ",", len);
			strlcat(buf, it->valuestring, len);
		}
	}
	return buf[0] != '\0' ? buf : "-";
}

static int
w_list(struct opts *o)
{
	cJSON *all = wf_store_list(root, &wf_kind_webhook, 0), *it;
	char a[64], b[64], c[512], d[64];

	cJSON_ArrayForEach(it, all) wf_webhook_redact(it);
	if (o->json)
		cli_json(all);
	else {
		printf("%-4s %-20s %-6s %-5s %-24s %s\n", "ID", "NAME",
		    "ACTIVE", "LAST", "EVENTS", "URL");
		cJSON_ArrayForEach(it, all)
		    printf("%-4s %-20s %-6s %-5s %-24s %s\n",
			str_of(it, "id", a, sizeof(a)),
			str_of(it, "name", b, sizeof(b)),
			str_of(it, "active", d, sizeof(d)),
			str_of(it, "last_status", b + 32, 32),
			str_of(it, "events", c, sizeof(c)),
			str_of(it, "url", c + 256, 256));
	}
	cJSON_Delete(all);
	return cli_flush();
}

static int
w_show(struct opts *o)
{
	char err[ERRLEN], buf[4096], *secret = NULL;
	cJSON *rec = NULL, *it;
	size_t slen;
	int64_t id;
	int rc;

	if ((rc = cli_id(o->args[0], "webhook", &id)) != 0)
		return rc;
	if (wf_store_get(root, &wf_kind_webhook, id, &rec, err, sizeof(err)) ==
	    -1)
		return cli_store_failed(err);
	if (o->reveal &&
	    wf_vault_open(root, cJSON_GetObjectItemCaseSensitive(rec, "secret"),
		&secret, &slen, err, sizeof(err)) == -1) {
		wf_log_warn("webhook %lld: its secret: %s", (long long)id, err);
		cJSON_Delete(rec);
		return EX_CONFIG;
	}
	wf_webhook_redact(rec);
	if (secret != NULL) {
		cJSON_AddStringToObject(rec, "secret", secret);
		audit("webhook.secret_revealed", id, NULL);
	}
	if (o->json)
		cli_json(rec);
	else
		cJSON_ArrayForEach(it, rec) printf("%-18s %s\n", it->string,
		    str_of(rec, it->string, buf, sizeof(buf)));
	wf_vault_free(secret);
	cJSON_Delete(rec);
	return cli_flush();
}

static int
w_update(struct opts *o)
{
	char err[ERRLEN], secret[WF_WEBHOOK_SECRET_MAX + 1] = "";
	cJSON *f = o->fields;
	int64_t id;
	int rc, made = 0, vl = -1;

	if ((rc = cli_id(o->args[0], "webhook", &id)) != 0)
		return rc;
	if (o->given == 0) {
		wf_log_warn("webhook update: nothing to change");
		return EX_USAGE;
	}
	if ((rc = check_fields(f)) != 0)
		goto out;
	if (wf_store_check(&wf_kind_webhook, f, 0, 0, err, sizeof(err)) == -1) {
		rc = cli_store_failed(err);
		goto out;
	}
	vl = wf_vault_lock(root, 0);
	if ((o->secret_file != NULL || o->new_secret) &&
	    (rc = seal(f, o->secret_file, secret, sizeof(secret), &made)) != 0)
		goto out;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "active")))
		cJSON_AddNullToObject(f, "disabled_reason");
	if (wf_store_update(
		root, &wf_kind_webhook, id, f, 1, err, sizeof(err)) == -1) {
		rc = cli_store_failed(err);
		goto out;
	}
	wf_vault_unlock(vl);
	vl = -1;
	audit("webhook.updated", id, f);
	rc = print_saved(id, o->json, made ? secret : NULL);
out:
	wf_vault_unlock(vl);
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

static int
w_rm(struct opts *o)
{
	char err[ERRLEN];
	int64_t id;
	int rc;

	if ((rc = cli_id(o->args[0], "webhook", &id)) != 0)
		return rc;
	if (wf_webhook_delete(root, id, err, sizeof(err)) == -1)
		return cli_store_failed(err);
	printf("%lld\n", (long long)id);
	return cli_flush();
}

static int
w_test(struct opts *o)
{
	char path[PATH_MAX];
	int64_t id;
	int rc;

	if ((rc = cli_id(o->args[0], "webhook", &id)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/wf-notify", wf_home_bindir());
	fflush(stdout);
	if (o->json)
		execl(path, path, "--test", o->args[0], "--json", (char *)NULL);
	else
		execl(path, path, "--test", o->args[0], (char *)NULL);
	wf_log_warn("%s: %s", path, strerror(errno));
	return EX_UNAVAILABLE;
}

/* Add the lines of one attempt log to arr, of webhook wid (0: all),
 * keeping the last limit. */
static void
log_scan(const char *path, int64_t wid, long limit, cJSON *arr)
{
	cJSON *l;
	char *buf = NULL, *line, *save = NULL;
	size_t len;

	if (wf_spool_read(root, path, LOG_MAX, &buf, &len) == -1) {
		if (errno != ENOENT)
			wf_log_warn("%s: %s", path, strerror(errno));
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const cJSON *w;

		if ((l = cJSON_Parse(line)) == NULL)
			continue;
		w = cJSON_GetObjectItem(l, "webhook_id");
		if (wid != 0 &&
		    (!cJSON_IsNumber(w) || (int64_t)w->valuedouble != wid)) {
			cJSON_Delete(l);
			continue;
		}
		cJSON_AddItemToArray(arr, l);
		if (cJSON_GetArraySize(arr) > limit)
			cJSON_DeleteItemFromArray(arr, 0);
	}
	free(buf);
}

/* The last limit attempts, of webhook wid (0: all): the rotated log
 * first, as its lines are the older. */
static cJSON *
log_tail(int64_t wid, long limit)
{
	cJSON *arr = cJSON_CreateArray();

	if (arr == NULL)
		return NULL;
	log_scan(WF_WEBHOOK_LOG ".1", wid, limit, arr);
	log_scan(WF_WEBHOOK_LOG, wid, limit, arr);
	return arr;
}

static int
w_deliveries(struct opts *o)
{
	char a[64], b[64], c[64], d[64], e[64], f[512], g[64], h[64];
	cJSON *arr, *it;
	int64_t wid = 0;
	int rc;

	if (o->nargs == 1 && (rc = cli_id(o->args[0], "webhook", &wid)) != 0)
		return rc;
	arr = o->dead ? wf_webhook_dead_list(root, wid)
		      : log_tail(wid, o->limit > 0 ? o->limit : 50);
	if (o->json)
		cli_json(arr);
	else if (o->dead) {
		printf("%-44s %-7s %-22s %-7s %s\n", "DELIVERY", "WEBHOOK",
		    "EVENT", "TRIES", "LAST ERROR");
		cJSON_ArrayForEach(it, arr) printf("%-44s %-7s %-22s %-7s %s\n",
		    str_of(it, "id", f, sizeof(f)),
		    str_of(it, "webhook_id", a, sizeof(a)),
		    str_of(it, "event", b, sizeof(b)),
		    str_of(it, "attempt", c, sizeof(c)),
		    str_of(it, "last_error", d, sizeof(d)));
	} else {
		printf("%-24s %-44s %-7s %-22s %-3s %-6s %-8s %s\n", "TIME",
		    "DELIVERY", "WEBHOOK", "EVENT", "TRY", "STATUS", "MS",
		    "OUTCOME");
		cJSON_ArrayForEach(it, arr)
		{
			const char *hook = cJSON_GetStringValue(
			    cJSON_GetObjectItem(it, "hook"));

			printf("%-24s %-44s %-7s %-22s %-3s %-6s %-8s %s%s%s\n",
			    str_of(it, "timestamp", a, sizeof(a)),
			    str_of(it, "delivery", f, sizeof(f)),
			    hook != NULL
				? "hook"
				: str_of(it, "webhook_id", b, sizeof(b)),
			    str_of(it, "event", c, sizeof(c)),
			    str_of(it, "attempt", d, sizeof(d)),
			    str_of(it, hook != NULL ? "exit" : "status", e,
				sizeof(e)),
			    str_of(it, "latency_ms", g, sizeof(g)),
			    hook != NULL ? hook
					 : str_of(it, "outcome", h, sizeof(h)),
			    cJSON_GetObjectItem(it, "error") ? ": " : "",
			    cJSON_GetObjectItem(it, "error")
				? str_of(it, "error", f + 256, 256)
				: "");
		}
	}
	cJSON_Delete(arr);
	return cli_flush();
}

static int
w_redeliver(struct opts *o)
{
	char err[ERRLEN];

	if (wf_webhook_redeliver(root, o->args[0], err, sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		switch (errno) {
		case ENOENT: return EX_NOINPUT;
		case EINVAL: return EX_DATAERR;
		case EBUSY: return EX_UNAVAILABLE;
		default: return EX_IOERR;
		}
	}
	printf("%s\n", o->args[0]);
	return cli_flush();
}

int
cmd_webhook(int argc, char *argv[])
{
	const struct verb *v = NULL;
	struct opts o;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			v = &verbs[i];
	if (v == NULL) {
		wf_log_warn("webhook %.40s: unknown verb", argv[1]);
		usage(stderr);
		return EX_USAGE;
	}
	memset(&o, 0, sizeof(o));
	if ((o.fields = cJSON_CreateObject()) == NULL)
		return EX_OSERR;
	rc = parse(v, argc - 1, argv + 1, &o);
	if (rc == -1)
		rc = 0;
	else if (rc == 0) {
		if ((root = wf_spool_attach(wf_home_dir())) == -1)
			rc = EX_CONFIG;
		else
			rc = v->fn(&o);
	}
	cJSON_Delete(o.fields);
	if (root != -1)
		close(root);
	return rc;
}
