/*
 * test_vault: lib/vault.c on a private tree.  A sealed value opens to what
 * was sealed and holds no clear text; two seals of one secret differ (a
 * random nonce each); a tampered box, a missing key, a value sealed under
 * another vault's key and a key file others can read are refused with a
 * reason; after a rotation old values still open, new ones use the new
 * key, and the current key cannot be dropped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "vault.h"

struct tree {
	char home[PATH_MAX - 64];
	int root;
};

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int
mktree(struct tree *tr)
{
	char err[256];
	const char *t = getenv("TMPDIR");

	snprintf(tr->home, sizeof(tr->home), "%s/wf-test-vault.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tr->home) == NULL || wf_spool_init(tr->home) == -1 ||
	    (tr->root = wf_spool_open(tr->home)) == -1 ||
	    wf_vault_init(tr->root, err, sizeof err) == -1)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	struct tree *tr = calloc(1, sizeof(*tr));

	if (tr == NULL || mktree(tr) == -1)
		return -1;
	*state = tr;
	return 0;
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

static void
round_trip(void **state)
{
	struct tree *tr = *state;
	const char *secret = "hunter2-very-secret";
	char err[256], *out, *a, *b, kid[WF_VAULT_KIDLEN + 1];
	size_t len;
	cJSON *s1, *s2;
	struct stat st;

	s1 = wf_vault_seal(tr->root, secret, strlen(secret), err, sizeof err);
	assert_non_null(s1);
	s2 = wf_vault_seal(tr->root, secret, strlen(secret), err, sizeof err);
	assert_non_null(s2);
	a = cJSON_PrintUnformatted(s1);
	b = cJSON_PrintUnformatted(s2);
	assert_null(strstr(a, secret));
	assert_string_not_equal(a, b);
	assert_int_equal(wf_vault_current(tr->root, kid, err, sizeof err), 0);
	assert_string_equal(wf_vault_kid(s1), kid);
	assert_int_equal(
	    wf_vault_open(tr->root, s1, &out, &len, err, sizeof err), 0);
	assert_int_equal(len, strlen(secret));
	assert_string_equal(out, secret);
	wf_vault_free(out);
	/* The key file is private; init again keeps it. */
	assert_int_equal(fstatat(tr->root, "keys/current", &st, 0), 0);
	assert_int_equal(wf_vault_init(tr->root, err, sizeof err), 0);
	assert_int_equal(
	    wf_vault_open(tr->root, s2, &out, &len, err, sizeof err), 0);
	wf_vault_free(out);
	free(a);
	free(b);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

static void
tampered(void **state)
{
	struct tree *tr = *state;
	char err[256], *out;
	size_t len;
	cJSON *s, *box;
	char *v;

	s = wf_vault_seal(tr->root, "abc", 3, err, sizeof err);
	assert_non_null(s);
	box = cJSON_GetObjectItem(s, "box");
	v = box->valuestring;
	v[0] = v[0] == 'A' ? 'B' : 'A';
	assert_int_equal(
	    wf_vault_open(tr->root, s, &out, &len, err, sizeof err), -1);
	assert_null(out);
	assert_non_null(strstr(err, "does not open"));
	cJSON_ReplaceItemInObject(s, "box", cJSON_CreateString("!!"));
	assert_int_equal(
	    wf_vault_open(tr->root, s, &out, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "malformed"));
	cJSON_ReplaceItemInObject(s, "kid", cJSON_CreateString("../../etc"));
	assert_int_equal(
	    wf_vault_open(tr->root, s, &out, &len, err, sizeof err), -1);
	cJSON_Delete(s);
	s = wf_vault_seal(tr->root, "abc", 3, err, sizeof err);
	assert_non_null(s);
	cJSON_ReplaceItemInObject(
	    s, "kid", cJSON_CreateString("0123456789abcdef"));
	assert_int_equal(
	    wf_vault_open(tr->root, s, &out, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "0123456789abcdef"));
	cJSON_Delete(s);
}

static void
other_vault(void **state)
{
	struct tree *tr = *state, other = { 0 };
	char err[256], *out, kid[WF_VAULT_KIDLEN + 1], path[PATH_MAX + 64];
	size_t len;
	cJSON *s;
	FILE *f;

	assert_int_equal(mktree(&other), 0);
	s = wf_vault_seal(other.root, "xyz", 3, err, sizeof err);
	assert_non_null(s);
	/* The same key id with other bytes: the box does not open. */
	assert_int_equal(wf_vault_current(tr->root, kid, err, sizeof err), 0);
	cJSON_ReplaceItemInObject(s, "kid", cJSON_CreateString(kid));
	assert_int_equal(
	    wf_vault_open(tr->root, s, &out, &len, err, sizeof err), -1);
	/* A key file others may read is refused. */
	snprintf(path, sizeof path, "%s/keys/%s", tr->home, kid);
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(wf_vault_seal(tr->root, "a", 1, err, sizeof err));
	assert_non_null(strstr(err, "0600"));
	assert_int_equal(chmod(path, 0600), 0);
	/* A short key file is refused. */
	snprintf(path, sizeof path, "%s/keys/current", other.home);
	assert_int_equal(wf_vault_current(other.root, kid, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/keys/%s", other.home, kid);
	assert_non_null(f = fopen(path, "w"));
	fputs("short", f);
	fclose(f);
	assert_null(wf_vault_seal(other.root, "a", 1, err, sizeof err));
	assert_non_null(strstr(err, "bytes"));
	cJSON_Delete(s);
	close(other.root);
	nftw(other.home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
rotate(void **state)
{
	struct tree *tr = *state;
	char err[256], *out, oldk[WF_VAULT_KIDLEN + 1],
	    newk[WF_VAULT_KIDLEN + 1];
	size_t len;
	cJSON *s1, *s2;

	s1 = wf_vault_seal(tr->root, "old", 3, err, sizeof err);
	assert_non_null(s1);
	assert_int_equal(
	    wf_vault_rotate(tr->root, oldk, newk, err, sizeof err), 0);
	assert_string_not_equal(oldk, newk);
	assert_string_equal(wf_vault_kid(s1), oldk);
	s2 = wf_vault_seal(tr->root, "new", 3, err, sizeof err);
	assert_non_null(s2);
	assert_string_equal(wf_vault_kid(s2), newk);
	assert_int_equal(
	    wf_vault_open(tr->root, s1, &out, &len, err, sizeof err), 0);
	assert_string_equal(out, "old");
	wf_vault_free(out);
	assert_int_equal(wf_vault_drop(tr->root, newk, err, sizeof err), -1);
	assert_non_null(strstr(err, "current"));
	assert_int_equal(wf_vault_drop(tr->root, oldk, err, sizeof err), 0);
	assert_int_equal(
	    wf_vault_open(tr->root, s1, &out, &len, err, sizeof err), -1);
	assert_int_equal(
	    wf_vault_open(tr->root, s2, &out, &len, err, sizeof err), 0);
	assert_string_equal(out, "new");
	wf_vault_free(out);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(other_vault, setup, teardown),
		cmocka_unit_test_setup_teardown(rotate, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
