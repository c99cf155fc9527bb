/*
 * wf token: the bearer tokens of wf-httpd.  add prints a new token once
 * (only its hash is kept, in state/tokens/NAME); list shows the names and
 * when each was made, never a token; rm removes one, and a client using
 * it is refused from its next request on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "home.h"
#include "log.h"
#include "spool.h"
#include "token.h"
#include "wf.h"

static const char token_usage[] =
    "usage: wf token add NAME\n"
    "       wf token list [--json]\n"
    "       wf token rm NAME\n"
    "The tokens a client of wf-httpd sends as \"Authorization: Bearer\n"
    "TOKEN\" with every request that changes something.  add prints a new\n"
    "token once: only its hash is kept ($WF_HOME/state/tokens/NAME), so it\n"
    "cannot be shown again.  What a client does with it is recorded under\n"
    "the actor http:NAME (and a deploy it approves, as approved by\n"
    "http:NAME).  NAME: 1-32 of A-Z a-z 0-9 . _ -.  rm refuses the token\n"
    "from the next request on.\n"
    "Exit status: 0 done; 64 usage; 65 a bad or taken NAME; 66 no such\n"
    "token; 74 I/O error; 78 no runtime tree.\n";

int
cmd_token(int argc, char *argv[])
{
	char err[256], hex[WF_TOKEN_HEX];
	int root = -1, rc = EX_USAGE, json = 0;
	const cJSON *it;
	cJSON *list;

	/* --help anywhere (wf token add --help), runtime tree or not. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0 ||
		    (i == 1 && strcmp(argv[i], "help") == 0)) {
			fputs(token_usage, stdout);
			return 0;
		}
	if (argc == 3 && strcmp(argv[1], "list") == 0 &&
	    strcmp(argv[2], "--json") == 0)
		json = 1;
	else if (!(argc == 2 && strcmp(argv[1], "list") == 0) &&
	    !(argc == 3 &&
		(strcmp(argv[1], "add") == 0 || strcmp(argv[1], "rm") == 0))) {
		fputs(token_usage, stderr);
		return EX_USAGE;
	}
	if ((root = wf_spool_attach(wf_home_dir())) == -1)
		return EX_CONFIG;
	if (strcmp(argv[1], "add") == 0) {
		if (wf_token_add(root, argv[2], hex, err, sizeof(err)) == -1) {
			wf_log_warn("%s", err);
			rc = errno == EINVAL || errno == EEXIST ? EX_DATAERR
								: EX_IOERR;
			goto out;
		}
		printf("%s\n", hex);
		sodium_memzero(hex, sizeof(hex));
	} else if (strcmp(argv[1], "rm") == 0) {
		if (wf_token_rm(root, argv[2], err, sizeof(err)) == -1) {
			wf_log_warn("%s", err);
			rc = errno == ENOENT  ? EX_NOINPUT
			    : errno == EINVAL ? EX_DATAERR
					      : EX_IOERR;
			goto out;
		}
	} else {
		if ((list = wf_token_list(root)) == NULL) {
			rc = EX_OSERR;
			goto out;
		}
		if (json)
			cli_json(list);
		else
			cJSON_ArrayForEach(it, list) printf("%-32s %s\n",
			    cJSON_GetObjectItem(it, "name")->valuestring,
			    cJSON_GetObjectItem(it, "created_at")->valuestring);
		cJSON_Delete(list);
	}
	rc = cli_flush();
out:
	close(root);
	return rc;
}
