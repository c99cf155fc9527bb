/*
 * test_room: the sandbox made ahead (lib/room.c).  Its key is the bwrap
 * options up to "--" and the working directory, so that a job with any
 * other option never lands in it; the room's argv is those options and
 * the stub; a job packed is unpacked whole (empty words too) and nothing
 * malformed is taken; the stub execs the job with the job's environment,
 * and a room let go (its pipe closed with nothing) runs nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "room.h"

static const char *const sb1[] = { "/usr/bin/bwrap", "--unshare-pid",
	"--bind", "/w", "/w", "--chdir", "/w", "--", "sh", "-c", "true",
	NULL };

static void
test_key(void **state)
{
	static const char *const sb2[] = { "/usr/bin/bwrap", "--unshare-pid",
		"--bind", "/w", "/w", "--chdir", "/w", "--", "make", "test",
		NULL };
	static const char *const sb3[] = { "/usr/bin/bwrap", "--unshare-pid",
		"--unshare-net", "--bind", "/w", "/w", "--chdir", "/w", "--",
		"sh", "-c", "true", NULL };
	static const char *const nodash[] = { "/usr/bin/bwrap", "sh", NULL };
	static const char *const stub[] = { "/bin/wf-agent", "--room", NULL };
	char *k1, *k2, *k3, *k4, **av;
	size_t l1, l2, l3, l4, n = 0;

	(void)state;
	k1 = wf_room_key(sb1, "/", &l1);
	k2 = wf_room_key(sb2, "/", &l2);
	k3 = wf_room_key(sb3, "/", &l3);
	k4 = wf_room_key(sb1, NULL, &l4);
	assert_non_null(k1);
	assert_non_null(k2);
	assert_non_null(k3);
	assert_non_null(k4);
	/* The job's own argv is not in the key: another job fits. */
	assert_int_equal(l1, l2);
	assert_memory_equal(k1, k2, l1);
	/* Another option, or another working directory, does not. */
	assert_true(l1 != l3 || memcmp(k1, k3, l1) != 0);
	assert_true(l1 != l4 || memcmp(k1, k4, l1) != 0);
	assert_string_equal(wf_room_key_cwd(k1), "/");
	assert_string_equal(wf_room_key_cwd(k4), "");
	assert_null(wf_room_key(nodash, "/", &l4));

	av = wf_room_argv(k1, l1, stub);
	assert_non_null(av);
	while (av[n] != NULL)
		n++;
	assert_int_equal(n, 8 + 2);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(av[i], sb1[i]);
	assert_string_equal(av[8], "/bin/wf-agent");
	assert_string_equal(av[9], "--room");
	free(av);
	free(k1);
	free(k2);
	free(k3);
	free(k4);
}

static void
test_pack(void **state)
{
	static const char *const argv[] = { "sh", "-c", "", "x y", NULL };
	static const char *const envp[] = { "PATH=/usr/bin:/bin", "A=", NULL };
	static const char *const none[] = { NULL };
	char *buf, **av, **ev, err[256];
	size_t len;

	(void)state;
	buf = wf_room_pack(argv, envp, &len);
	assert_non_null(buf);
	assert_int_equal(wf_room_unpack(buf, len, &av, &ev, err, sizeof(err)),
	    0);
	for (int i = 0; i < 4; i++)
		assert_string_equal(av[i], argv[i]);
	assert_null(av[4]);
	assert_string_equal(ev[0], envp[0]);
	assert_string_equal(ev[1], "A=");
	assert_null(ev[2]);
	free(av);
	free(ev);

	/* Cut anywhere, it is refused. */
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_equal(wf_room_unpack(buf, cut, &av, &ev, err,
		    sizeof(err)), -1);
		assert_null(av);
		assert_null(ev);
	}
	free(buf);

	/* No environment is fine; no program is not. */
	buf = wf_room_pack(argv, none, &len);
	assert_int_equal(wf_room_unpack(buf, len, &av, &ev, err, sizeof(err)),
	    0);
	assert_null(ev[0]);
	free(av);
	free(ev);
	free(buf);
	buf = wf_room_pack(none, envp, &len);
	assert_int_equal(wf_room_unpack(buf, len, &av, &ev, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no program"));
	free(buf);
}

static void
test_unpack_bad(void **state)
{
	static const struct {
		const char *buf;
		size_t len;
		const char *why;
	} bad[] = {
		{ "", 0, "ends before" },
		{ "x\0", 2, "bad argv count" },
		{ "-1\0", 3, "bad argv count" },
		{ "99999999999999999999\0", 21, "bad argv count" },
		{ "9000\0", 5, "bad argv count" },
		{ "2\0sh\0", 5, "cut short" },
		{ "1\0sh\0", 5, "ends before its environment" },
		{ "1\0sh\0" "0\0junk", 11, "bytes after" },
		{ "1\0\0" "0\0", 5, "no program" },
		{ "1\0sh", 4, "cut short" },
	};
	char **av, **ev, err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(wf_room_unpack(bad[i].buf, bad[i].len, &av,
		    &ev, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].why);
	}
}

static void
test_pack_too_big(void **state)
{
	static const char *const envp[] = { NULL };
	const char *argv[3];
	char *big, *buf;
	size_t len;

	(void)state;
	big = malloc(WF_ROOM_PACK_MAX);
	assert_non_null(big);
	memset(big, 'x', WF_ROOM_PACK_MAX - 1);
	big[WF_ROOM_PACK_MAX - 1] = '\0';
	argv[0] = "echo";
	argv[1] = big;
	argv[2] = NULL;
	errno = 0;
	buf = wf_room_pack(argv, envp, &len);
	assert_null(buf);
	assert_int_equal(errno, E2BIG);
	free(big);
}

/* Run the stub on a pipe that holds data (or nothing); its exit status,
 * and what it wrote in out. */
static int
stub(const char *data, size_t len, char *out, size_t outlen)
{
	int in[2], o[2], ws;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(o), 0);
	assert_int_equal(write(in[1], data, len), (ssize_t)len);
	close(in[1]);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char err[256];
		int rc;

		dup2(o[1], 1);
		dup2(o[1], 2);
		close(o[0]);
		rc = wf_room_exec(in[0], err, sizeof(err));
		if (rc != 0)
			dprintf(2, "%s", err);
		_exit(rc);
	}
	close(in[0]);
	close(o[1]);
	while (got + 1 < outlen &&
	    (n = read(o[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(o[0]);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void
test_exec(void **state)
{
	static const char *const argv[] = { "sh", "-c",
		"read x; echo \"in=$x v=$V\"; exit 7", NULL };
	static const char *const envp[] = { "PATH=/usr/bin:/bin", "V=42",
		NULL };
	static const char *const nope[] = { "wf-no-such-program", NULL };
	char *buf, out[512];
	size_t len;

	(void)state;
	/* The job's environment, its PATH, and /dev/null on stdin. */
	buf = wf_room_pack(argv, envp, &len);
	assert_int_equal(stub(buf, len, out, sizeof(out)), 7);
	assert_string_equal(out, "in= v=42\n");
	free(buf);

	buf = wf_room_pack(nope, envp, &len);
	assert_int_equal(stub(buf, len, out, sizeof(out)), 127);
	assert_non_null(strstr(out, "cannot run 'wf-no-such-program'"));
	free(buf);

	/* Let go: nothing runs, no complaint. */
	assert_int_equal(stub("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Garbage: refused. */
	assert_int_equal(stub("zz", 2, out, sizeof(out)), 127);
	assert_non_null(strstr(out, "room: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_unpack_bad),
		cmocka_unit_test(test_pack_too_big),
		cmocka_unit_test(test_exec),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
