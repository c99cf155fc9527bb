/*
 * scan: turn the JSON that security scanners print into wf findings
 * {"scanner","severity","title","path","line","rule"}, the shape the SEC
 * gate reads (severity: critical, high, medium, low or info).  Parsers
 * take a buffer and a length (outside bytes: fuzzed) and copy only what a
 * finding needs: never a matched secret.
 */
#ifndef WF_SCAN_H
#define WF_SCAN_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Bounds: a report (and the run that keeps it) must stay under 1 MiB. */
#define WF_SCAN_INPUT_MAX (64u << 20)
#define WF_SCAN_FINDINGS_MAX 500
#define WF_SCAN_NAME_MAX 32

/* Is format one that wf_scan_parse_as reads?  semgrep, bandit, gitleaks,
 * npm-audit, trivy, sarif. */
int wf_scan_known(const char *format);

/* The command line a known scanner runs with by default (in the
 * repository, its JSON on stdout); NULL for sarif and unknown names. */
const char *wf_scan_default_command(const char *name);

/*
 * Parse len bytes of buf, the output of a scanner of that format, and
 * append one finding per issue to the array findings, each with
 * "scanner": name.  The number of findings added, or -1 with a one-line
 * reason in err (not JSON, not that scanner's shape, too many findings);
 * on -1 findings holds what it held before.
 */
int wf_scan_parse_as(const char *format, const char *name, const char *buf,
    size_t len, cJSON *findings, char *err, size_t errlen);

/* wf_scan_parse_as(scanner, scanner, ...). */
int wf_scan_parse(const char *scanner, const char *buf, size_t len,
    cJSON *findings, char *err, size_t errlen);

#endif
