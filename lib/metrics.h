/*
 * metrics: the state of a runtime tree in the Prometheus text exposition
 * format (version 0.0.4), for wf-httpd's GET /metrics: jobs waiting and
 * running, job wait and run time histograms, outcomes and retries, tokens
 * by model, runs by state, gate verdicts, webhook deliveries and dead
 * letters, and each daemon's marker (lib/daemon).
 *
 * Gauges are read afresh at each scrape.  Counters and histograms are
 * totals over the records on disk: the terminal job records of done/,
 * failed/ and cancelled/, and the lines of log/audit.jsonl and
 * log/deliveries.jsonl.  They are kept in a struct wf_metrics between
 * scrapes, so that a scrape reads only what is new: a record is parsed
 * once (a sorted set of the hashes of the names seen), a log is read on
 * from where the last scrape stopped.  A scrape parses at most
 * WF_METRICS_PARSE_MAX new records and reads at most WF_METRICS_LOG_MAX
 * bytes of each log; what is left is read by the next scrapes
 * (wf_metrics_records_behind says how many records wait), so that the
 * first scrape of a long history stays bounded and the totals only ever
 * rise while the process lives.
 */
#ifndef WF_METRICS_H
#define WF_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define WF_METRICS_MAX (16 << 20)     /* bytes of a rendering */
#define WF_METRICS_PARSE_MAX 20000    /* new job records a scrape parses */
#define WF_METRICS_LOG_MAX (8 << 20)  /* bytes of a log a scrape reads */
#define WF_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

struct wf_metrics;

/* The state kept between scrapes; NULL with errno. */
struct wf_metrics *wf_metrics_new(void);
void wf_metrics_free(struct wf_metrics *m);

/*
 * Render the metrics of the tree at root into *out (malloc'd, NUL-
 * terminated, *outlen bytes without the NUL; the caller frees it).  lanes
 * (nlanes names) are the configured lanes: each has its gauges even with
 * no job.  now_ms is the wall clock.  0, or -1 with errno (EFBIG past
 * WF_METRICS_MAX).
 */
int wf_metrics_render(struct wf_metrics *m, int root,
    const char *const *lanes, int nlanes, int64_t now_ms, char **out,
    size_t *outlen);

/* A label value escaped for the format (backslash, double quote and line
 * feed; a byte that is not UTF-8 becomes '?'), truncated to fit len. */
void wf_metrics_escape(const char *in, char *out, size_t len);

#endif
