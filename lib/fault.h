/*
 * fault: kills at chosen points, for the tests only.  A program whose
 * environment has WF_FAULT=POINT[,POINT...] kills itself with SIGKILL
 * when it reaches one of those points, so that a test can crash a daemon
 * between two writes it could never hit by chance.  Nothing else reads
 * WF_FAULT, and no job's environment carries it.
 */
#ifndef WF_FAULT_H
#define WF_FAULT_H

/* Die here (SIGKILL) if WF_FAULT names point. */
void wf_fault(const char *point);

#endif
