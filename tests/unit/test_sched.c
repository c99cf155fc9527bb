/*
 * test_sched: the dispatcher's heaps of waiting jobs (lib/sched.c).
 * Strict priority with FIFO inside a level when aging is off; aging that
 * lets an old LOW job pass a younger CRITICAL one; ties broken by insertion
 * order; one heap per lane plus the unknown lane; a random stress test
 * against a sorted reference; and the retry back-off.
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

#include "sched.h"

#define S_US INT64_C(1000000)

static void
add(struct wf_sched *s, int lane, int level, int64_t t_us, const char *name)
{
	assert_int_equal(wf_sched_add(s, lane, level, t_us, name), 0);
}

/* Pop from lane and check the name (and level) that comes out. */
static void
expect(struct wf_sched *s, int lane, const char *name)
{
	const struct wf_sched_ent *p;
	struct wf_sched_ent *e;

	assert_non_null(p = wf_sched_peek(s, lane));
	assert_string_equal(p->name, name);
	assert_non_null(e = wf_sched_pop(s, lane));
	assert_ptr_equal(e, p);
	assert_string_equal(e->name, name);
	wf_sched_release(s, e);
}

static void
test_strict_priority(void **state)
{
	struct wf_sched *s;
	char name[16];

	(void)state;
	assert_non_null(s = wf_sched_new(1, 0));
	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "low%d", i);
		add(s, 0, 4, i * S_US, name);
	}
	add(s, 0, 1, 6 * S_US, "crit");
	assert_int_equal(wf_sched_count(s, 0), 6);
	expect(s, 0, "crit");
	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "low%d", i);
		expect(s, 0, name);
	}
	assert_null(wf_sched_pop(s, 0));
	assert_int_equal(wf_sched_count(s, 0), 0);

	/* HIGH and NORMAL interleaved: level order, then FIFO. */
	add(s, 0, 3, 1 * S_US, "n1");
	add(s, 0, 2, 2 * S_US, "h1");
	add(s, 0, 3, 3 * S_US, "n2");
	add(s, 0, 2, 4 * S_US, "h2");
	add(s, 0, 3, 5 * S_US, "n3");
	add(s, 0, 2, 6 * S_US, "h3");
	expect(s, 0, "h1");
	expect(s, 0, "h2");
	expect(s, 0, "h3");
	expect(s, 0, "n1");
	expect(s, 0, "n2");
	expect(s, 0, "n3");
	assert_null(wf_sched_pop(s, 0));

	/* Arrival order, not insertion order, inside a level. */
	add(s, 0, 3, 9 * S_US, "late");
	add(s, 0, 3, 8 * S_US, "early");
	expect(s, 0, "early");
	expect(s, 0, "late");

	/* A very old LOW job still waits for a new CRITICAL one. */
	add(s, 0, 4, 1, "ancient");
	add(s, 0, 1, INT64_C(4000000000) * S_US, "future");
	expect(s, 0, "future");
	expect(s, 0, "ancient");
	wf_sched_free(s);
}

static void
test_same_time(void **state)
{
	const struct wf_sched_ent *a;
	struct wf_sched_ent *e;
	struct wf_sched *s;
	char name[16];
	uint32_t last = 0;

	(void)state;
	for (int aging = 0; aging <= 10; aging += 10) {
		assert_non_null(s = wf_sched_new(1, aging));
		for (int i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "j%03d", i);
			add(s, 0, 3, 42 * S_US, name);
		}
		for (int i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "j%03d", i);
			assert_non_null(a = wf_sched_peek(s, 0));
			assert_non_null(e = wf_sched_pop(s, 0));
			assert_string_equal(e->name, name);
			assert_int_equal(e->level, 3);
			if (i > 0)
				assert_true(e->seq > last);
			last = e->seq;
			wf_sched_release(s, e);
		}
		assert_null(wf_sched_peek(s, 0));
		wf_sched_free(s);
	}
}

static void
test_aging(void **state)
{
	int64_t t0 = INT64_C(1795589301) * S_US;
	struct wf_sched *s;

	(void)state;
	assert_non_null(s = wf_sched_new(1, 10));
	/* LOW 31 s older than CRITICAL: aged 3 levels, and older. */
	add(s, 0, 1, t0 + 31 * S_US, "crit");
	add(s, 0, 4, t0, "low");
	expect(s, 0, "low");
	expect(s, 0, "crit");
	/* LOW only 29 s older: CRITICAL first. */
	add(s, 0, 4, t0, "low");
	add(s, 0, 1, t0 + 29 * S_US, "crit");
	expect(s, 0, "crit");
	expect(s, 0, "low");
	/* 30 s: the same aged key; the first added goes first. */
	add(s, 0, 4, t0, "low");
	add(s, 0, 1, t0 + 30 * S_US, "crit");
	expect(s, 0, "low");
	expect(s, 0, "crit");
	add(s, 0, 1, t0 + 30 * S_US, "crit");
	add(s, 0, 4, t0, "low");
	expect(s, 0, "crit");
	expect(s, 0, "low");
	/* NORMAL 11 s older than HIGH passes it; 9 s older does not. */
	add(s, 0, 2, t0 + 11 * S_US, "high");
	add(s, 0, 3, t0, "normal");
	add(s, 0, 2, t0 + 100 * S_US, "high2");
	add(s, 0, 3, t0 + 91 * S_US, "normal2");
	expect(s, 0, "normal");
	expect(s, 0, "high");
	expect(s, 0, "high2");
	expect(s, 0, "normal2");
	assert_null(wf_sched_pop(s, 0));
	wf_sched_free(s);
}

static void
test_lanes(void **state)
{
	const int lanes[] = { 0, 1, 2, WF_SCHED_UNKNOWN };
	struct wf_sched_ent *e;
	struct wf_sched *s;
	char name[16];

	(void)state;
	assert_non_null(s = wf_sched_new(3, 0));
	for (size_t i = 0; i < 4; i++) {
		assert_null(wf_sched_peek(s, lanes[i]));
		assert_null(wf_sched_pop(s, lanes[i]));
		assert_int_equal(wf_sched_count(s, lanes[i]), 0);
	}
	/* Lane i gets i + 1 jobs, each behind the others' best. */
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k <= i; k++) {
			snprintf(name, sizeof(name), "l%zuj%zu", i, k);
			add(s, lanes[i], 4 - (int)i, (int64_t)(k + 1) * S_US,
			    name);
		}
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(wf_sched_count(s, lanes[i]), i + 1);
	/* Each lane gives back only its own, in its own order. */
	for (size_t i = 0; i < 4; i++) {
		for (size_t k = 0; k <= i; k++) {
			snprintf(name, sizeof(name), "l%zuj%zu", i, k);
			expect(s, lanes[i], name);
		}
		assert_null(wf_sched_pop(s, lanes[i]));
		for (size_t m = i + 1; m < 4; m++)
			assert_int_equal(wf_sched_count(s, lanes[m]), m + 1);
	}

	/* An entry popped from the unknown lane can be pushed to a lane. */
	add(s, WF_SCHED_UNKNOWN, 2, 5 * S_US, "moving");
	add(s, 1, 2, 6 * S_US, "staying");
	assert_non_null(e = wf_sched_pop(s, WF_SCHED_UNKNOWN));
	assert_int_equal(wf_sched_push(s, 1, e), 0);
	assert_int_equal(wf_sched_count(s, WF_SCHED_UNKNOWN), 0);
	assert_int_equal(wf_sched_count(s, 1), 2);
	expect(s, 1, "moving");
	expect(s, 1, "staying");

	/* Levels outside 1..4 are refused. */
	errno = 0;
	assert_int_equal(wf_sched_add(s, 0, 0, 1, "x"), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(wf_sched_add(s, 0, 5, 1, "x"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(wf_sched_count(s, 0), 0);

	/* Freeing with entries still in the heaps frees them (ASan). */
	add(s, 0, 1, 1, "left");
	add(s, WF_SCHED_UNKNOWN, 1, 1, "left");
	wf_sched_free(s);
	wf_sched_free(NULL);
}

static void
test_before(void **state)
{
	struct wf_sched *s;
	struct wf_sched_ent *a, *b;

	(void)state;
	assert_non_null(s = wf_sched_new(1, 0));
	add(s, 0, 2, 5 * S_US, "a");
	add(s, 0, 2, 5 * S_US, "b");
	assert_non_null(a = wf_sched_pop(s, 0));
	assert_non_null(b = wf_sched_pop(s, 0));
	assert_string_equal(a->name, "a");
	assert_true(wf_sched_before(a, b));
	assert_false(wf_sched_before(b, a));
	assert_false(wf_sched_before(a, a));
	wf_sched_release(s, a);
	wf_sched_release(s, b);
	wf_sched_free(s);
}

/* The reference: a plain array, searched for the best on every pop. */
struct ref {
	int lane, level, id;
	int64_t t;
};

static int
ref_before(const struct ref *a, const struct ref *b, int aging)
{
	int64_t ka, kb;

	if (aging == 0) {
		if (a->level != b->level)
			return a->level < b->level;
		ka = a->t;
		kb = b->t;
	} else {
		ka = a->t + (int64_t)(a->level - 1) * aging * S_US;
		kb = b->t + (int64_t)(b->level - 1) * aging * S_US;
	}
	if (ka != kb)
		return ka < kb;
	return a->id < b->id;
}

static void
stress(int aging, unsigned seed)
{
	enum { NOPS = 10000, NLANES = 3 };
	struct ref *r;
	struct wf_sched *s;
	size_t n = 0;
	int next = 0;

	srandom(seed);
	assert_non_null(r = calloc(NOPS, sizeof(*r)));
	assert_non_null(s = wf_sched_new(NLANES, aging));
	for (int op = 0; op < NOPS; op++) {
		int lane = (int)(random() % (NLANES + 1)) - 1;
		char name[32];

		if (lane < 0)
			lane = WF_SCHED_UNKNOWN;
		/* Add more than pop, so that the heaps grow and shrink. */
		if (random() % 5 < 3) {
			struct ref *x = &r[n++];

			x->lane = lane;
			x->level = 1 + (int)(random() % 4);
			/* Coarse times: many ties. */
			x->t = (int64_t)(random() % 200) * 5 * S_US;
			x->id = next++;
			snprintf(name, sizeof(name), "%d", x->id);
			add(s, lane, x->level, x->t, name);
		} else {
			struct wf_sched_ent *e;
			size_t best = n, cnt = 0;

			for (size_t i = 0; i < n; i++) {
				if (r[i].lane != lane)
					continue;
				cnt++;
				if (best == n ||
				    ref_before(&r[i], &r[best], aging))
					best = i;
			}
			assert_int_equal(wf_sched_count(s, lane), cnt);
			e = wf_sched_pop(s, lane);
			if (best == n) {
				assert_null(e);
				continue;
			}
			assert_non_null(e);
			snprintf(name, sizeof(name), "%d", r[best].id);
			if (strcmp(e->name, name) != 0)
				fail_msg("aging %d op %d lane %d: popped %s, "
				    "expected %s", aging, op, lane, e->name,
				    name);
			assert_int_equal(e->level, r[best].level);
			wf_sched_release(s, e);
			r[best] = r[--n];
		}
	}
	/* Drain: everything left comes out in reference order. */
	for (int lane = -1; lane < NLANES; lane++) {
		int l = lane < 0 ? WF_SCHED_UNKNOWN : lane;
		struct wf_sched_ent *e;

		while ((e = wf_sched_pop(s, l)) != NULL) {
			size_t best = n;
			char name[32];

			for (size_t i = 0; i < n; i++)
				if (r[i].lane == l && (best == n ||
				    ref_before(&r[i], &r[best], aging)))
					best = i;
			assert_true(best < n);
			snprintf(name, sizeof(name), "%d", r[best].id);
			assert_string_equal(e->name, name);
			wf_sched_release(s, e);
			r[best] = r[--n];
		}
	}
	assert_int_equal(n, 0);
	free(r);
	wf_sched_free(s);
}

static void
test_stress(void **state)
{
	(void)state;
	stress(0, 1);
	stress(10, 2);
	stress(300, 3);
}

static void
test_backoff(void **state)
{
	static const int want[] = { 2, 4, 8, 16, 32, 64, 128, 256, 300, 300 };

	(void)state;
	for (int n = 1; n <= 10; n++)
		assert_int_equal(wf_sched_backoff(2, 300, n), want[n - 1]);
	assert_int_equal(wf_sched_backoff(2, 300, 64), 300);
	assert_int_equal(wf_sched_backoff(2, 300, 1000000), 300);
	assert_int_equal(wf_sched_backoff(2, 300, 0), 2);
	assert_int_equal(wf_sched_backoff(2, 300, -1), 2);
	assert_int_equal(wf_sched_backoff(2, 300, -1000), 2);
	assert_int_equal(wf_sched_backoff(500, 300, 1), 300);
	assert_int_equal(wf_sched_backoff(500, 300, 5), 300);
	assert_int_equal(wf_sched_backoff(300, 300, 1), 300);
	assert_int_equal(wf_sched_backoff(1, 10, 4), 8);
	assert_int_equal(wf_sched_backoff(1, 10, 5), 10);
	assert_int_equal(wf_sched_backoff(86400, 604800, 4), 604800);
}

/* wf's own names keep only their suffix in memory; the whole name
 * comes back, with aging on or off, and foreign names are kept whole. */
static void
test_compact_names(void **state)
{
	static const char *const names[] = {
		"1795593151.M616889P15252Q0R7b094e2a",
		"1795593151.M000001P1Q22R00000000",
		"1795593151.M616889",      /* nothing after the time: whole */
		"1795593151.M61688P1",     /* not six digits: whole */
		"safecat.1795593151.host", /* foreign: whole */
	};
	static const int64_t times[] = {
		INT64_C(1795593151616889), INT64_C(1795593151000001),
		INT64_C(1795593151616889), INT64_C(1795593151616880),
		INT64_C(1795593151000000),
	};
	char buf[128];

	(void)state;
	for (int aging = 0; aging <= 300; aging += 300) {
		struct wf_sched *s = wf_sched_new(1, aging);
		struct wf_sched_ent *e;

		for (size_t i = 0; i < 5; i++)
			assert_int_equal(wf_sched_add(s, 0, 1 + (int)(i % 4),
			    times[i], names[i]), 0);
		for (size_t i = 0; i < 5; i++) {
			int found = 0;

			assert_non_null(e = wf_sched_pop(s, 0));
			wf_sched_name(s, e, buf, sizeof(buf));
			for (size_t k = 0; k < 5; k++)
				if (strcmp(buf, names[k]) == 0)
					found = 1;
			assert_true(found);
			if (strcmp(buf, names[0]) == 0)
				assert_true(e->compact);
			if (strcmp(buf, names[4]) == 0)
				assert_false(e->compact);
			wf_sched_release(s, e);
		}
		wf_sched_free(s);
	}
}

/* Many entries: slabs are filled, emptied and freed, and the names come
 * back intact (ASan sees any overrun of a slab). */
static void
test_slabs(void **state)
{
	struct wf_sched *s = wf_sched_new(1, 300);
	struct wf_sched_ent *e;
	char name[64], buf[64];

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20000; i++) {
			int64_t t = INT64_C(1795593151000000) + i;

			snprintf(name, sizeof(name), "%lld.M%06lldP%dQ%dRabc",
			    (long long)(t / 1000000), (long long)(t % 1000000),
			    round, i);
			assert_int_equal(wf_sched_add(s, 0, 3, t, name), 0);
		}
		for (int i = 0; i < 20000; i++) {
			int64_t t = INT64_C(1795593151000000) + i;

			snprintf(name, sizeof(name), "%lld.M%06lldP%dQ%dRabc",
			    (long long)(t / 1000000), (long long)(t % 1000000),
			    round, i);
			assert_non_null(e = wf_sched_pop(s, 0));
			assert_string_equal(wf_sched_name(s, e, buf, sizeof(buf)),
			    name);
			wf_sched_release(s, e);
		}
	}
	assert_null(wf_sched_pop(s, 0));
	wf_sched_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict_priority),
		cmocka_unit_test(test_same_time),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_lanes),
		cmocka_unit_test(test_before),
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_compact_names),
		cmocka_unit_test(test_slabs),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
