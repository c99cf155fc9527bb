/*
 * log: one-line diagnostics on stderr, "prog: message".  Daemons log here
 * and let systemd's journal keep it; nothing is written to files.
 */
#ifndef WF_LOG_H
#define WF_LOG_H

void wf_log_init(const char *prog, int verbose);
const char *wf_log_prog(void);
void wf_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wf_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wf_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
