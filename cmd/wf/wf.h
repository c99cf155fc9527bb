/*
 * wf: the front door's subcommands, one function each.
 */
#ifndef WF_CMD_WF_H
#define WF_CMD_WF_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* The store's largest id. */
#define CLI_ID_MAX (INT64_C(1) << 50)

/* cli.c: an id operand (0, or EX_USAGE after a one-line message naming
 * what); a record as one line of JSON; a store failure's exit code from
 * errno (after logging err); stdout checked (0 or EX_IOERR). */
int cli_id(const char *s, const char *what, int64_t *id);
void cli_json(const cJSON *o);
int cli_store_failed(const char *err);
int cli_flush(void);

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
/* wf token add|list|rm: wf-httpd's bearer tokens (token.c). */
int cmd_token(int argc, char *argv[]);
/* wf director on|off|status: wf-director's settings (director.c). */
int cmd_director(int argc, char *argv[]);

#endif
