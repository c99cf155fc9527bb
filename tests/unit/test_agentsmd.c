/*
 * test_agentsmd: AGENTS.md and _spec/ read from a worktree made with
 * mkdtemp: the files in order, a symlink that leads outside not followed
 * (one inside is), a FIFO and a directory not read (and no hang), the
 * bound with its marker, cut on a character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentsmd.h"

static char top[PATH_MAX], wt[PATH_MAX + 8];

/* Has this kernel openat2 (valgrind, or a seccomp filter, may not)?
 * Without it no symlink is followed, not even one inside. */
static int
have_openat2(void)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static void
put(const char *rel, const char *text)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", rel[0] == '/' ? "" : wt, rel);
	assert_non_null(f = fopen(rel[0] == '/' ? rel : p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
in(const char *rel, char *p, size_t len)
{
	snprintf(p, len, "%s/%s", wt, rel);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "%s/wf-agentsmd-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(top));
	snprintf(wt, sizeof(wt), "%s/wt", top);
	assert_int_equal(mkdir(wt, 0700), 0);
	return 0;
}

static int
rm1(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int
teardown(void **state)
{
	(void)state;
	nftw(top, rm1, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
test_read(void **state)
{
	char p[PATH_MAX * 2], *t;

	(void)state;
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS | WF_AGENTSMD_SPEC, 4096);
	assert_string_equal(t, "");
	free(t);
	put("AGENTS.md", "Use tabs.\nRun make check.");
	in("_spec", p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	put("_spec/b.md", "B spec\n");
	put("_spec/a.md", "A spec\n");
	put("_spec/notes.txt", "not markdown\n");
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS | WF_AGENTSMD_SPEC, 4096);
	assert_string_equal(t, "--- AGENTS.md ---\nUse tabs.\nRun make check.\n"
	    "--- _spec/a.md ---\nA spec\n--- _spec/b.md ---\nB spec\n");
	free(t);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_SPEC, 4096);
	assert_null(strstr(t, "AGENTS.md"));
	assert_non_null(strstr(t, "A spec"));
	free(t);
}

static void
test_outside(void **state)
{
	char p[PATH_MAX * 2], secret[PATH_MAX + 16], dir[PATH_MAX + 16], *t;

	(void)state;
	/* a secret outside the worktree, and links to it */
	snprintf(secret, sizeof(secret), "%s/secret", top);
	put(secret, "TOP SECRET\n");
	in("AGENTS.md", p, sizeof(p));
	assert_int_equal(symlink(secret, p), 0);
	snprintf(dir, sizeof(dir), "%s/elsewhere", top);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/x.md", dir);
	put(p, "TOP SECRET SPEC\n");
	in("_spec", p, sizeof(p));
	assert_int_equal(symlink("../elsewhere", p), 0);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS | WF_AGENTSMD_SPEC, 4096);
	assert_null(strstr(t, "SECRET"));
	assert_non_null(strstr(t, have_openat2() ? "--- AGENTS.md: not read "
	    "(a symlink that leads outside the repository) ---\n" :
	    "--- AGENTS.md: not read (a symlink, not followed) ---\n"));
	assert_non_null(strstr(t, "--- _spec/: not read"));
	free(t);
	/* a relative link that climbs out is refused as well; one that
	 * stays inside is followed */
	in("AGENTS.md", p, sizeof(p));
	unlink(p);
	assert_int_equal(symlink("../secret", p), 0);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS, 4096);
	assert_null(strstr(t, "SECRET"));
	free(t);
	unlink(p);
	put("CONVENTIONS.md", "inside\n");
	assert_int_equal(symlink("CONVENTIONS.md", p), 0);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS, 4096);
	assert_string_equal(t, have_openat2() ? "--- AGENTS.md ---\ninside\n" :
	    "--- AGENTS.md: not read (a symlink, not followed) ---\n");
	free(t);
}

static void
test_not_regular(void **state)
{
	char p[PATH_MAX * 2], *t;

	(void)state;
	in("AGENTS.md", p, sizeof(p));
	assert_int_equal(mkfifo(p, 0600), 0);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS, 4096);
	assert_string_equal(t, "--- AGENTS.md: not read (not a regular "
	    "file) ---\n");
	free(t);
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS, 4096);
	assert_non_null(strstr(t, "not read"));
	free(t);
	t = wf_agentsmd_text(NULL, WF_AGENTSMD_AGENTS, 4096);
	assert_string_equal(t, "");
	free(t);
}

static void
test_bound(void **state)
{
	char *big = malloc(40000), *t;
	size_t n;

	(void)state;
	assert_non_null(big);
	for (int i = 0; i < 39998; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[39998] = '\0';
	put("AGENTS.md", big);
	t = wf_agentsmd_text(wt, WF_AGENTSMD_AGENTS, WF_AGENTSMD_MAX + 1);
	n = strlen(t);
	assert_true(n <= WF_AGENTSMD_MAX + 1 + 80);
	assert_non_null(strstr(t, "\n\xe2\x80\xa6truncated"));
	/* cut between two characters, not inside one */
	assert_int_equal((unsigned char)strstr(t,
	    "\n\xe2\x80\xa6truncated")[-1], 0xa9);
	free(t);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
