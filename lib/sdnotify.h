/*
 * sdnotify: the sd_notify datagram (READY=1, STATUS=..., STOPPING=1) to
 * $NOTIFY_SOCKET, without libsystemd.  A no-op when the variable is unset.
 */
#ifndef WF_SDNOTIFY_H
#define WF_SDNOTIFY_H

int wf_sd_notify(const char *state);

#endif
