/*
 * test_clock: wall-clock stamps and durations (lib/clock.c).  ISO 8601
 * UTC with milliseconds, "YYYY-MM-DDTHH:MM:SS.mmmZ": known values, the
 * round trip through wf_clock_parse_iso, and rejections; duration parsing;
 * the clocks themselves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static const struct {
	int64_t ms;
	const char *iso;
} known[] = {
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ 1, "1970-01-01T00:00:00.001Z" },
	{ 999, "1970-01-01T00:00:00.999Z" },
	{ 1000, "1970-01-01T00:00:01.000Z" },
	{ INT64_C(1795589301123), "2026-11-25T06:48:21.123Z" },
	{ INT64_C(1795588800000), "2026-11-25T06:40:00.000Z" },
	{ INT64_C(951782400000), "2000-02-29T00:00:00.000Z" },
	{ INT64_C(1709251199999), "2024-02-29T23:59:59.999Z" },
	{ INT64_C(4102444800000), "2100-01-01T00:00:00.000Z" },
	{ INT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
};

static void
test_iso_format(void **state)
{
	char buf[WF_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_ptr_equal(wf_clock_iso(known[i].ms, buf, sizeof(buf)),
		    buf);
		assert_string_equal(buf, known[i].iso);
		assert_int_equal(strlen(buf), 24);
	}
}

static void
test_iso_parse(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} forms[] = {
		{ "2026-11-25T06:48:21Z", INT64_C(1795589301000) },
		{ "2026-11-25T06:48:21.1Z", INT64_C(1795589301100) },
		{ "2026-11-25T06:48:21.12Z", INT64_C(1795589301120) },
		{ "2026-11-25T06:48:21.123Z", INT64_C(1795589301123) },
		{ "2026-11-25T06:48:21.123999Z", INT64_C(1795589301123) },
		{ "2026-11-25T06:48:21.123+00:00", INT64_C(1795589301123) },
		{ "2026-11-25T06:48:21+00:00", INT64_C(1795589301000) },
		{ "1970-01-01T00:00:00.000Z", 0 },
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		ms = -1;
		assert_int_equal(wf_clock_parse_iso(known[i].iso, &ms), 0);
		assert_int_equal(ms, known[i].ms);
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ms = -1;
		if (wf_clock_parse_iso(forms[i].s, &ms) != 0)
			fail_msg("refused %s", forms[i].s);
		assert_int_equal(ms, forms[i].ms);
	}
}

static void
test_iso_round_trip(void **state)
{
	char buf[WF_ISO_LEN], again[WF_ISO_LEN];
	int64_t ms, back;

	(void)state;
	srandom(1);
	for (int i = 0; i < 10000; i++) {
		/* Any millisecond from 1970 to 9999. */
		ms = (((int64_t)random() << 31) ^ random()) %
		    INT64_C(253402300800000);
		wf_clock_iso(ms, buf, sizeof(buf));
		back = -1;
		if (wf_clock_parse_iso(buf, &back) != 0)
			fail_msg("refused its own %s", buf);
		assert_int_equal(back, ms);
		wf_clock_iso(back, again, sizeof(again));
		assert_string_equal(again, buf);
	}
}

static void
test_iso_reject(void **state)
{
	static const char *const bad[] = {
		"", "Z", "2026", "2026-11-25", "2026-11-25T",
		"2026-11-25T06:48",
		"2026-11-25T06:48:21", "2026-11-25T06:48:21.123",
		"2026-11-25 06:48:21Z", "2026-11-25t06:48:21Z",
		"2026-11-25T06:48:21z", "2026-11-25T06:48:21.Z",
		"2026-11-25T06:48:21.123ZZ", "2026-11-25T06:48:21Z ",
		" 2026-11-25T06:48:21Z", "2026-11-25T06:48:21+01:00",
		"2026-11-25T06:48:21-00:00", "2026-11-25T06:48:21+0000",
		"26-11-25T06:48:21Z", "2026-1-25T06:48:21Z",
		"2026-11-5T06:48:21Z", "2026-11-25T6:48:21Z",
		"2026/11/25T06:48:21Z", "2026-11-25T06-48-21Z",
		"2026-00-25T06:48:21Z", "2026-13-25T06:48:21Z",
		"2026-11-00T06:48:21Z", "2026-11-32T06:48:21Z",
		"2026-11-25T24:00:00Z", "2026-11-25T06:60:00Z",
		"2026-11-25T06:48:61Z", "2026-11-25T06:48:21.-1Z",
		"+026-11-25T06:48:21Z", "2026-+1-25T06:48:21Z",
		"abcd-ef-ghTij:kl:mnZ", "1795589301123", "tomorrow",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		if (wf_clock_parse_iso(bad[i], &ms) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
}

/*
 * A day the month does not have is bad input, not the next month:
 * "2026-02-30" must not become 2 March.
 */
static void
test_iso_reject_impossible_dates(void **state)
{
	static const char *const bad[] = {
		"2026-02-29T00:00:00Z", "2024-02-30T00:00:00Z",
		"2026-02-31T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-06-31T00:00:00Z", "2026-09-31T00:00:00Z",
		"2026-11-31T00:00:00Z", "2100-02-29T00:00:00Z",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[WF_ISO_LEN];

		ms = 0;
		if (wf_clock_parse_iso(bad[i], &ms) != -1)
			fail_msg("accepted '%s' as %s", bad[i],
			    wf_clock_iso(ms, buf, sizeof(buf)));
	}
	/* The last day of each month is fine. */
	assert_int_equal(wf_clock_parse_iso("2024-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(wf_clock_parse_iso("2000-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(wf_clock_parse_iso("2026-04-30T00:00:00Z", &ms), 0);
	assert_int_equal(wf_clock_parse_iso("2026-12-31T00:00:00Z", &ms), 0);
}

static void
test_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t secs;
	} ok[] = {
		{ "90", 90 }, { "90s", 90 }, { "15m", 900 }, { "24h", 86400 },
		{ "7d", 604800 }, { "0", 0 }, { "0s", 0 }, { "1", 1 },
		{ "1m", 60 }, { "1h", 3600 }, { "1d", 86400 },
		{ "36500d", INT64_C(36500) * 86400 },
	};
	static const char *const bad[] = {
		"", "h", "s", "-1h", "-1", "1x", "1.5h", "1 h", "h1", "1hh",
		"1w", "1H", "abc", "36501d", "99999999999999999999",
		"99999999999999999999999999",
	};
	int64_t secs;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		secs = -1;
		if (wf_clock_parse_duration(ok[i].s, &secs) != 0)
			fail_msg("refused '%s'", ok[i].s);
		assert_int_equal(secs, ok[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		secs = 777;
		if (wf_clock_parse_duration(bad[i], &secs) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void
test_clocks(void **state)
{
	int64_t w, m1, m2, u1, u2;

	(void)state;
	w = wf_clock_wall_ms();
	assert_true(w / 1000 >= (int64_t)time(NULL) - 2 &&
	    w / 1000 <= (int64_t)time(NULL) + 2);
	u1 = wf_clock_mono_us();
	m1 = wf_clock_mono_ms();
	for (int i = 0; i < 1000; i++) {
		u2 = wf_clock_mono_us();
		m2 = wf_clock_mono_ms();
		assert_true(u2 >= u1);
		assert_true(m2 >= m1);
		u1 = u2;
		m1 = m2;
	}
	assert_true(m1 - u1 / 1000 <= 1 && m1 - u1 / 1000 >= -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_format),
		cmocka_unit_test(test_iso_parse),
		cmocka_unit_test(test_iso_round_trip),
		cmocka_unit_test(test_iso_reject),
		cmocka_unit_test(test_iso_reject_impossible_dates),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_clocks),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
