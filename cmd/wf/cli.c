/*
 * cli: what every subcommand of wf does the same way: read an id operand,
 * print a record as one line of JSON, turn a store failure into its exit
 * code, and check standard output before exiting.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "wf.h"

int
cli_id(const char *s, const char *what, int64_t *id)
{
	const char *errstr;

	*id = strtonum(s, 1, CLI_ID_MAX, &errstr);
	if (errstr != NULL) {
		wf_log_warn("'%.40s': not a%s %s id (a positive integer)", s,
		    strchr("aeiou", what[0]) != NULL ? "n" : "", what);
		return EX_USAGE;
	}
	return 0;
}

void
cli_json(const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

int
cli_store_failed(const char *err)
{
	int e = errno;

	wf_log_warn("%s", err);
	if (e == ENOENT)
		return EX_NOINPUT;
	return e == EINVAL ? EX_DATAERR : EX_IOERR;
}

int
cli_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		wf_log_warn("stdout: %s", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}
