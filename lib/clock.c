/*
 * clock: wall-clock stamps (ISO 8601 UTC, milliseconds) and monotonic
 * durations.  Keeps the rule that durations never subtract wall time.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

int64_t
wf_clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wf_clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
wf_clock_mono_ms(void)
{
	return wf_clock_mono_us() / 1000;
}

char *
wf_clock_iso(int64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL) {
		strlcpy(buf, "1970-01-01T00:00:00.000Z", len);
		return buf;
	}
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int
wf_clock_parse_iso(const char *s, int64_t *wall_ms)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, ms = 0;
	const char *p = s;
	time_t t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || *p++ != 'T' ||
	    digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int frac = 0, n = 0;

		p++;
		while (isdigit((unsigned char)*p)) {
			if (n < 3) {
				frac = frac * 10 + (*p - '0');
				n++;
			}
			p++;
		}
		if (n == 0)
			return -1;
		while (n++ < 3)
			frac *= 10;
		ms = frac;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	/* timegm rolls 2026-02-30 over into March: refuse what moved. */
	{
		struct tm back;

		if (gmtime_r(&t, &back) == NULL || back.tm_mday != d ||
		    back.tm_mon != mo - 1)
			return -1;
	}
	*wall_ms = (int64_t)t * 1000 + ms;
	return 0;
}

int
wf_clock_parse_duration(const char *s, int64_t *secs)
{
	const char *errstr;
	char num[24];
	size_t n = strlen(s);
	long long mult = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	strlcpy(num, s, sizeof(num));
	switch (num[n - 1]) {
	case 's': mult = 1; num[n - 1] = '\0'; break;
	case 'm': mult = 60; num[n - 1] = '\0'; break;
	case 'h': mult = 3600; num[n - 1] = '\0'; break;
	case 'd': mult = 86400; num[n - 1] = '\0'; break;
	default:
		if (!isdigit((unsigned char)num[n - 1]))
			return -1;
	}
	v = strtonum(num, 0, 100LL * 365 * 86400, &errstr);
	if (errstr != NULL || v * mult > 100LL * 365 * 86400)
		return -1;
	*secs = v * mult;
	return 0;
}
