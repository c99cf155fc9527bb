/*
 * test_cred: lib/cred.c and the env mappings of lib/role.c on a private
 * tree.  A credential's secret is sealed, read whole or by field, and each
 * read leaves an audit line without the secret; a ref finds a credential by
 * name in its project and refuses another project's id; a rotation
 * re-seals every sealed value of state/ wherever it sits in a file (of any
 * kind), leaves alone what only looks like one, keeps the key of a value
 * that does not open, and drops the others; role env lines parse into
 * NAME, REF and FIELD, and bad ones are refused with the reason; the
 * seed's NAME_encrypted members of a body make the secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred.h"
#include "role.h"
#include "spool.h"
#include "store.h"
#include "vault.h"

struct tree {
	char home[PATH_MAX - 64];
	int root;
	int64_t proj, proj2;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int64_t
project(struct tree *tr, const char *name)
{
	char err[256];
	cJSON *f = cJSON_CreateObject();
	int64_t id = 0;

	cJSON_AddStringToObject(f, "name", name);
	if (wf_store_create(
		tr->root, &wf_kind_project, f, 0, &id, err, sizeof err) == -1)
		return 0;
	return id;
}

static int
setup(void **state)
{
	struct tree *tr = calloc(1, sizeof(*tr));
	const char *t = getenv("TMPDIR");
	char err[256];

	if (tr == NULL)
		return -1;
	snprintf(tr->home, sizeof(tr->home), "%s/wf-test-cred.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tr->home) == NULL || wf_spool_init(tr->home) == -1 ||
	    (tr->root = wf_spool_open(tr->home)) == -1 ||
	    wf_vault_init(tr->root, err, sizeof err) == -1) {
		free(tr);
		return -1;
	}
	tr->proj = project(tr, "one");
	tr->proj2 = project(tr, "two");
	*state = tr;
	return tr->proj > 0 && tr->proj2 > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	struct tree *tr = *state;

	close(tr->root);
	nftw(tr->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tr);
	return 0;
}

static int64_t
cred(struct tree *tr, int64_t proj, const char *name, const char *secret)
{
	char err[256];
	cJSON *f = cJSON_CreateObject();
	int64_t id = 0;

	cJSON_AddNumberToObject(f, "project_id", (double)proj);
	cJSON_AddStringToObject(f, "name", name);
	cJSON_AddStringToObject(f, "credential_type", "other");
	assert_int_equal(wf_cred_create(tr->root, f, secret, strlen(secret),
			     &id, err, sizeof err),
	    0);
	return id;
}

static char *
slurp(struct tree *tr, const char *path)
{
	char *buf = NULL;
	size_t len;

	if (wf_spool_read(tr->root, path, 1 << 22, &buf, &len) == -1)
		return NULL;
	return buf;
}

static void
put(struct tree *tr, const char *path, const char *text)
{
	int fd = openat(tr->root, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Key files in keys/: 16 hex digits each. */
static int
nkeys(struct tree *tr)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "%s/keys", tr->home);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) == 16 &&
		    strspn(de->d_name, "0123456789abcdef") == 16)
			n++;
	closedir(d);
	return n;
}

static void
read_fields(void **state)
{
	struct tree *tr = *state;
	const char *secret = "{\"username\":\"u\",\"password\":\"s3cr3t-pw\"}";
	char err[256], *out, *audit, *text;
	size_t len;
	cJSON *rec, *d = cJSON_CreateObject();
	int64_t id = cred(tr, tr->proj, "db", secret);

	/* At rest: sealed, with the names of its fields only. */
	text = slurp(tr, "state/credentials/1.json");
	assert_non_null(text);
	assert_null(strstr(text, "s3cr3t-pw"));
	assert_non_null(strstr(text,
	    "\"secret_fields\":[\"username\","
	    "\"password\"]"));
	free(text);
	assert_int_equal(wf_store_get(tr->root, &wf_kind_credential, id, &rec,
			     err, sizeof err),
	    0);
	wf_cred_redact(rec);
	assert_null(cJSON_GetObjectItem(rec, "secret"));
	cJSON_Delete(rec);

	cJSON_AddStringToObject(d, "why", "test");
	assert_int_equal(
	    wf_cred_read(tr->root, id, NULL, d, &out, &len, err, sizeof err),
	    0);
	assert_int_equal(len, strlen(secret));
	assert_string_equal(out, secret);
	wf_vault_free(out);
	assert_int_equal(wf_cred_read(tr->root, id, "password", d, &out, &len,
			     err, sizeof err),
	    0);
	assert_string_equal(out, "s3cr3t-pw");
	assert_int_equal(len, 9);
	wf_vault_free(out);
	assert_int_equal(
	    wf_cred_read(tr->root, id, "nope", d, &out, &len, err, sizeof err),
	    -1);
	assert_null(out);
	assert_non_null(strstr(err, "nope"));
	assert_int_equal(
	    wf_cred_read(tr->root, 99, NULL, d, &out, &len, err, sizeof err),
	    -1);
	assert_int_equal(errno, ENOENT);
	/* Two reads, two lines; the failed ones left none; no secret. */
	audit = slurp(tr, "log/audit.jsonl");
	assert_non_null(audit);
	assert_null(strstr(audit, "s3cr3t-pw"));
	assert_non_null(strstr(audit, "\"field\":\"password\""));
	assert_non_null(strstr(audit, "\"why\":\"test\""));
	len = 0;
	for (char *p = audit; (p = strstr(p, "credential.read")) != NULL; p++)
		len++;
	assert_int_equal(len, 2);
	free(audit);
	cJSON_Delete(d);
}

static void
find(void **state)
{
	struct tree *tr = *state;
	char err[256];
	int64_t a = cred(tr, tr->proj, "github", "t1");
	int64_t b = cred(tr, tr->proj2, "github", "t2");
	int64_t id;
	char num[32];

	assert_int_equal(
	    wf_cred_find(tr->root, "github", tr->proj, &id, err, sizeof err),
	    0);
	assert_int_equal(id, a);
	assert_int_equal(
	    wf_cred_find(tr->root, "github", tr->proj2, &id, err, sizeof err),
	    0);
	assert_int_equal(id, b);
	snprintf(num, sizeof num, "%lld", (long long)b);
	/* Another project's credential is not this run's to read. */
	assert_int_equal(
	    wf_cred_find(tr->root, num, tr->proj, &id, err, sizeof err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(
	    wf_cred_find(tr->root, num, tr->proj2, &id, err, sizeof err), 0);
	assert_int_equal(
	    wf_cred_find(tr->root, "gitlab", tr->proj, &id, err, sizeof err),
	    -1);
	assert_int_equal(errno, ENOENT);
}

static void
rotate_everywhere(void **state)
{
	struct tree *tr = *state;
	struct wf_cred_rotation r;
	char err[512], *text, *s, *out, oldk[WF_VAULT_KIDLEN + 1];
	size_t len;
	cJSON *sealed, *doc, *inner;
	int64_t id = cred(tr, tr->proj, "a", "alpha");

	assert_int_equal(wf_vault_current(tr->root, oldk, err, sizeof err), 0);
	/* A kind this module does not know, a sealed value deep inside, and
	 * an object that has one key too many to be a sealed value. */
	sealed = wf_vault_seal(tr->root, "beta", 4, err, sizeof err);
	assert_non_null(sealed);
	doc = cJSON_CreateObject();
	inner = cJSON_AddArrayToObject(doc, "list");
	cJSON_AddItemToArray(inner, cJSON_CreateObject());
	cJSON_AddItemToObject(cJSON_GetArrayItem(inner, 0), "s", sealed);
	sealed = wf_vault_seal(tr->root, "gamma", 5, err, sizeof err);
	cJSON_AddStringToObject(sealed, "extra", "x");
	cJSON_AddItemToObject(doc, "lookalike", sealed);
	s = cJSON_PrintUnformatted(doc);
	assert_int_equal(mkdirat(tr->root, "state/widgets", 0700), 0);
	put(tr, "state/widgets/7.json", s);
	put(tr, "state/widgets/8.json", "not json");
	free(s);
	cJSON_Delete(doc);

	assert_int_equal(wf_cred_rotate(tr->root, &r, err, sizeof err), 0);
	assert_int_equal(r.resealed, 2);
	assert_int_equal(r.failed, 0);
	assert_string_equal(r.oldkid, oldk);
	assert_string_not_equal(r.newkid, oldk);
	/* the lookalike still names the old key; it is not a sealed value,
	 * so it does not keep the key */
	assert_int_equal(r.dropped, 1);
	assert_int_equal(nkeys(tr), 1);
	text = slurp(tr, "state/widgets/7.json");
	doc = cJSON_Parse(text);
	free(text);
	sealed = cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "list"), 0), "s");
	assert_string_equal(wf_vault_kid(sealed), r.newkid);
	assert_int_equal(
	    wf_vault_open(tr->root, sealed, &out, &len, err, sizeof err), 0);
	assert_string_equal(out, "beta");
	wf_vault_free(out);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "lookalike"), "kid")
		->valuestring,
	    oldk);
	cJSON_Delete(doc);
	text = slurp(tr, "state/widgets/8.json");
	assert_string_equal(text, "not json");
	free(text);
	assert_int_equal(
	    wf_cred_read(tr->root, id, NULL, NULL, &out, &len, err, sizeof err),
	    0);
	assert_string_equal(out, "alpha");
	wf_vault_free(out);
}

static void
rotate_tampered(void **state)
{
	struct tree *tr = *state;
	struct wf_cred_rotation r;
	char err[512], *text, *before, *out, *p;
	size_t len;
	int64_t good = cred(tr, tr->proj, "good", "fine");

	cred(tr, tr->proj, "bad", "broken");
	before = slurp(tr, "state/credentials/2.json");
	assert_non_null(before);
	p = strstr(before, "\"box\":\"") + 7;
	*p = *p == 'A' ? 'B' : 'A';
	put(tr, "state/credentials/2.json", before);
	assert_int_equal(wf_cred_rotate(tr->root, &r, err, sizeof err), -1);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.resealed, 1);
	assert_int_equal(r.dropped, 0);
	assert_non_null(strstr(err, "state/credentials/2.json"));
	assert_non_null(strstr(err, "does not open"));
	/* the old key is kept, the bad file untouched, the good one moved */
	assert_int_equal(nkeys(tr), 2);
	text = slurp(tr, "state/credentials/2.json");
	assert_string_equal(text, before);
	free(text);
	free(before);
	assert_int_equal(wf_cred_read(tr->root, good, NULL, NULL, &out, &len,
			     err, sizeof err),
	    0);
	assert_string_equal(out, "fine");
	wf_vault_free(out);
}

static void
role_env(void **state)
{
	struct tree *tr = *state;
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "env = WF_TOKEN:cred:1", "wf's" },
		{ "env = PATH:cred:1", "wf's" },
		{ "env = LD_PRELOAD:cred:1", "loader" },
		{ "env = 9X:cred:1", "variable name" },
		{ "env = A-B:cred:1", "variable name" },
		{ "env = X:file:1", "NAME:cred:REF" },
		{ "env = X:cred:", "empty" },
		{ "env = X:cred:1.", "empty" },
		{ "env = X:cred:1\nenv = X:cred:2", "twice" },
	};
	struct wf_role r;
	char dir[PATH_MAX], path[PATH_MAX + 16], err[512];
	FILE *f;

	snprintf(dir, sizeof dir, "%s/roles", tr->home);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/dev.ini", dir);
	f = fopen(path, "w");
	fputs("[role]\nbackend = command\ncommand = true\n"
	      "env = GITHUB_TOKEN:cred:github\nenv = "
	      "DB_PASSWORD:cred:3.password\n",
	    f);
	fclose(f);
	assert_int_equal(wf_role_load(dir, "dev", &r, err, sizeof err), 0);
	assert_int_equal(r.nenv, 2);
	assert_string_equal(r.env[0].var, "GITHUB_TOKEN");
	assert_string_equal(r.env[0].ref, "github");
	assert_string_equal(r.env[0].field, "");
	assert_string_equal(r.env[1].var, "DB_PASSWORD");
	assert_string_equal(r.env[1].ref, "3");
	assert_string_equal(r.env[1].field, "password");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f = fopen(path, "w");
		fprintf(f, "[role]\nbackend = command\ncommand = true\n%s\n",
		    bad[i].line);
		fclose(f);
		assert_int_equal(
		    wf_role_load(dir, "dev", &r, err, sizeof err), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("'%s': '%s' does not say '%s'", bad[i].line,
			    err, bad[i].why);
	}
}

/* The seed's body: its NAME_encrypted members are the secret, taken out
 * of the fields; one alone as it is, several as an object of fields. */
static void
seed_secret(void **state)
{
	char err[256], *sec;
	cJSON *f, *o;

	(void)state;
	f = cJSON_Parse("{\"name\":\"GitHub API\",\"credential_type\":"
			"\"api_key\",\"service\":\"github\","
			"\"api_key_encrypted\":\"your_api_key\"}");
	assert_int_equal(wf_cred_seed_secret(f, &sec, err, sizeof err), 1);
	assert_string_equal(sec, "your_api_key");
	assert_null(cJSON_GetObjectItem(f, "api_key_encrypted"));
	assert_non_null(cJSON_GetObjectItem(f, "service"));
	free(sec);
	cJSON_Delete(f);

	/* several: fields named as the seed's columns without _encrypted;
	 * null and "" are the seed's "none" */
	f = cJSON_Parse("{\"name\":\"db\",\"token_encrypted\":null,"
			"\"database_url_encrypted\":\"postgres://x\","
			"\"password_encrypted\":\"hunter2\","
			"\"api_key_encrypted\":\"\"}");
	assert_int_equal(wf_cred_seed_secret(f, &sec, err, sizeof err), 2);
	o = cJSON_Parse(sec);
	assert_int_equal(cJSON_GetArraySize(o), 2);
	assert_string_equal(
	    cJSON_GetObjectItem(o, "password")->valuestring, "hunter2");
	assert_string_equal(cJSON_GetObjectItem(o, "database_url")->valuestring,
	    "postgres://x");
	assert_int_equal(cJSON_GetArraySize(f), 1); /* name alone is left */
	cJSON_Delete(o);
	free(sec);
	cJSON_Delete(f);

	/* none: nothing taken, nothing made */
	f = cJSON_Parse("{\"name\":\"x\",\"secret\":\"s\"}");
	assert_int_equal(wf_cred_seed_secret(f, &sec, err, sizeof err), 0);
	assert_null(sec);
	assert_int_equal(cJSON_GetArraySize(f), 2);
	cJSON_Delete(f);

	/* not a string: refused, naming the field */
	f = cJSON_Parse("{\"ssh_key_encrypted\":42}");
	assert_int_equal(wf_cred_seed_secret(f, &sec, err, sizeof err), -1);
	assert_null(sec);
	assert_non_null(strstr(err, "ssh_key_encrypted"));
	cJSON_Delete(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(find, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    rotate_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    rotate_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(role_env, setup, teardown),
		cmocka_unit_test(seed_secret),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
