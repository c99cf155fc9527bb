/*
 * role: a role of the pipeline (pm, dev, qa, security) as configured in
 * <roles_dir>/<role>.ini, not in C: its backend, its command or prompt,
 * the paths it owns.
 */
#ifndef WF_ROLE_H
#define WF_ROLE_H

#include <stddef.h>

enum wf_backend { WF_BE_COMMAND, WF_BE_LLM, WF_BE_GOOSE, WF_BE_SCAN };

#define WF_ROLE_OWNS_MAX 16
#define WF_ROLE_ENV_MAX 16
#define WF_ROLE_SCANNERS_MAX 8

/* env = NAME:cred:REF[.FIELD]: the credential REF (an id, or a name in the
 * run's project) opened at run time into the agent's variable NAME; with
 * .FIELD, that string field of a secret that is a JSON object. */
struct wf_role_env {
	char var[64];
	char ref[128];
	char field[64];
};

/*
 * backend = scan: scanners = NAME[:FORMAT][, ...].  NAME names the
 * scanner in the findings; FORMAT is the parser of its output (lib/scan:
 * semgrep, bandit, gitleaks, npm-audit, trivy, sarif), NAME itself when
 * left out.  scanner.NAME = CMD is its /bin/sh command line, run in the
 * repository, JSON on stdout; a known NAME has a default one.
 */
struct wf_role_scanner {
	char name[32];
	char format[16];
	char command[512];
};

struct wf_role {
	char name[16];
	enum wf_backend backend;
	char command[4096]; /* command: a /bin/sh command line */
	char prompt[256];   /* llm, goose: the prompt template's file */
	char tdd_command[4096]; /* QA under tdd: writes the failing tests */
	char tdd_prompt[256];
	/* QA: a JUnit XML report, a glob relative to the repository; its
	 * counts are taken over the runner's output. */
	char junit[256];
	int timeout;
	char owns[WF_ROLE_OWNS_MAX][256];
	int nowns;
	struct wf_role_env env[WF_ROLE_ENV_MAX];
	int nenv;
	struct wf_role_scanner scanners[WF_ROLE_SCANNERS_MAX];
	int nscanners;
	int unscanned_pass; /* unscanned = pass: no scanner ran is a pass */
	/* network = yes: its sandbox keeps the host's network.  Else a
	 * command or a scanner has none, and goose reaches its model's port
	 * alone. */
	int network;
};

/*
 * Ownership: each entry of owns is a directory ("tests/"), a glob matched
 * against the path, or against its last component when it has no slash
 * ("test_*.py"), or "*": every path that no other role owns.  A role with
 * no owns (SEC) may touch nothing.
 */
int wf_role_owns(const struct wf_role *r, const char *path);
/* May r touch path, given all the roles?  1 yes; 0 no, and *owner names
 * the role that owns it (NULL when none does). */
int wf_role_may_touch(const struct wf_role *all, int n,
    const struct wf_role *r, const char *path, const char **owner);

/* Load dir/<name>.ini.  -1 and a one-line reason in err. */
int wf_role_load(const char *dir, const char *name, struct wf_role *r,
    char *err, size_t errlen);

/*
 * Can QA give the gates evidence for a project whose test command is
 * test_command (NULL or "": none), given the QA role r?  Without a test
 * command the gate has nothing of its own to run (and tdd is skipped),
 * so QA's counts must come from its own program: not from a command
 * role whose command is the project's test command ($WF_TEST_COMMAND),
 * nor from a scan role.  1 yes; 0 no, with the reason in why and what to
 * do about it in fix (each one line).
 */
int wf_role_qa_evidence(const struct wf_role *r, const char *test_command,
    char *why, size_t whylen, char *fix, size_t fixlen);

#endif
