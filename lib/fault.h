/*
 * fault: kills at chosen points, for the tests only.  A program whose
 * environment has WF_FAULT=POINT[,POINT...] kills itself with SIGKILL
 * when it reaches one of those points, so that a test can crash a daemon
 * between two writes it could never hit by chance.  Nothing else reads
 * WF_FAULT, and no job's environment carries it.
 *
 * The points, "<daemon>.<what>":
 *   dispatch.claimed   wf-dispatch: a job renamed into active/, before it
 *                      is read or started
 *   dispatch.started   wf-dispatch: a job's process started (its attempt
 *                      said in active/ID.pid), before its pid is written
 *   dispatch.released  wf-dispatch: a model lane's worker said its model
 *                      call returned (the armed job's turn)
 *   dispatch.settled   wf-dispatch: the turn's records written and
 *                      synced, before their active/ files are unlinked
 *   pipeline.written   lib/pipeline (wf-gate, wf): a run's transition
 *                      written with its effects, before any is done
 *   pipeline.effect    lib/pipeline: an effect done, before the run's
 *                      file drops it
 *   pipeline.created   lib/pipeline (wf run create): a new run written,
 *                      before its worktree and PM's job
 *   gate.applied       wf-gate: a report applied, before it is filed in
 *                      reports/cur
 *   notify.fanout      wf-notify: an event's deliveries written and
 *                      synced, before the event is claimed (events/cur)
 *   notify.delivered   wf-notify: a delivery answered 2xx and logged,
 *                      before its file leaves events/deferred
 * bench/crash.sh kills at each of them; the e2e tests at some.
 */
#ifndef WF_FAULT_H
#define WF_FAULT_H

/* Die here (SIGKILL) if WF_FAULT names point. */
void wf_fault(const char *point);

#endif
