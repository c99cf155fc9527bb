/*
 * clock: wall-clock stamps for records and monotonic time for durations.
 * Records carry ISO 8601 UTC with milliseconds; durations never subtract
 * wall-clock readings.
 */
#ifndef WF_CLOCK_H
#define WF_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define WF_ISO_LEN 32 /* "2026-11-24T19:30:00.123Z" plus room */

/* Wall clock in milliseconds since the epoch. */
int64_t wf_clock_wall_ms(void);
/* Monotonic clock in milliseconds and microseconds. */
int64_t wf_clock_mono_ms(void);
int64_t wf_clock_mono_us(void);
/* Format a wall-clock millisecond count; returns buf. */
char *wf_clock_iso(int64_t wall_ms, char *buf, size_t len);
/* Parse "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; 0 on success, -1 on bad input. */
int wf_clock_parse_iso(const char *s, int64_t *wall_ms);
/* Parse a duration such as "90", "90s", "15m", "24h", "7d" into seconds. */
int wf_clock_parse_duration(const char *s, int64_t *secs);

#endif
