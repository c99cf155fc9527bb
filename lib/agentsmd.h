/*
 * agentsmd: what a repository tells coding agents about itself, its
 * AGENTS.md and its spec (the .md files of _spec/), read from a run's
 * worktree for a role's prompt.  The worktree is the agent's: every file
 * is opened beneath it (openat2 RESOLVE_BENEATH), so that a symlink there
 * leads nowhere outside, and only regular files are read; what is read
 * is bounded, and says so when it was cut.
 */
#ifndef WF_AGENTSMD_H
#define WF_AGENTSMD_H

#include <stddef.h>

#define WF_AGENTSMD_MAX (16 << 10) /* {{agents}} in a prompt */
#define WF_AGENTSMD_SPEC_MAX (64 << 10) /* {{spec}} */

/* What the text holds. */
#define WF_AGENTSMD_AGENTS 0x1 /* AGENTS.md */
#define WF_AGENTSMD_SPEC 0x2   /* the .md files of _spec/, by name */

/*
 * The files of what (WF_AGENTSMD_*) in repo, each after a line
 * "--- PATH ---", at most max bytes of them (cut on a character, and
 * then a line "…truncated"), as a malloc'd string; "" when there is
 * none (or repo is NULL), NULL when out of memory.  A file that is not
 * a regular file beneath repo is not read; a line says so.
 */
char *wf_agentsmd_text(const char *repo, int what, size_t max);

#endif
