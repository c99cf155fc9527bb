/*
 * wf: the front door's subcommands, one function each.
 */
#ifndef WF_CMD_WF_H
#define WF_CMD_WF_H

int cmd_queue(int argc, char *argv[]);
int cmd_up(int argc, char *argv[]);
/* wf project|task|bug|env: the entities of the store (entity.c). */
int cmd_entity(const char *kind, int argc, char *argv[]);
/* wf run ... and wf pipeline (run.c). */
int cmd_run(int argc, char *argv[]);
int cmd_pipeline(int argc, char *argv[]);
/* wf discover PATH [--create] (discover.c). */
int cmd_discover(int argc, char *argv[]);
/* wf webhook ... (webhook.c). */
int cmd_webhook(int argc, char *argv[]);
/* wf cred ... (cred.c) and wf log (log.c). */
int cmd_cred(int argc, char *argv[]);
int cmd_log(int argc, char *argv[]);
/* wf board [--project-id N] [--json] (board.c). */
int cmd_board(int argc, char *argv[]);

#endif
