/*
 * wf: the front door's subcommands, one function each.
 */
#ifndef WF_CMD_WF_H
#define WF_CMD_WF_H

int cmd_queue(int argc, char *argv[]);
int cmd_up(int argc, char *argv[]);

#endif
