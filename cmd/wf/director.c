/*
 * wf director on|off|status: wf-director's switch and limits, kept in
 * state/director.json (lib/director), which the daemon reads again when
 * it changes and which survives a restart.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "director.h"
#include "home.h"
#include "log.h"
#include "spool.h"
#include "wf.h"

static const char director_usage[] =
    "usage: wf director on [--max-active N] [--interval S] [--stuck-after S]\n"
    "                      [--retries N]\n"
    "       wf director off\n"
    "       wf director status [--json]\n"
    "Turn wf-director on or off and set its limits over [director] of\n"
    "wf.ini; the setting survives a restart.\n";

static int
limit(const char *opt, const char *s, long long lo, long long hi, int *v)
{
	const char *errstr;

	*v = (int)strtonum(s, lo, hi, &errstr);
	if (errstr != NULL) {
		wf_log_warn("--%s: '%.40s' is %s (%lld-%lld)", opt, s, errstr,
		    lo, hi);
		return -1;
	}
	return 0;
}

static void
print_status(const cJSON *st)
{
	const cJSON *act = cJSON_GetObjectItem(st, "active"), *a;
	const cJSON *ready = cJSON_GetObjectItem(st, "ready"), *r;

	printf("director: %s (wf-director %s)\n",
	    cJSON_IsTrue(cJSON_GetObjectItem(st, "enabled")) ? "on" : "off",
	    cJSON_IsTrue(cJSON_GetObjectItem(st, "running")) ? "running" :
	    "not running");
	printf("interval: %ds  max_active: %d a project  stuck_after: %ds  "
	    "retries: %d\n",
	    cJSON_GetObjectItem(st, "interval")->valueint,
	    cJSON_GetObjectItem(st, "max_active")->valueint,
	    cJSON_GetObjectItem(st, "stuck_after")->valueint,
	    cJSON_GetObjectItem(st, "retries")->valueint);
	printf("active runs:");
	if (cJSON_GetArraySize(act) == 0)
		printf(" none");
	cJSON_ArrayForEach(a, act)
		printf(" project %s: %d", a->string, a->valueint);
	printf("\nready tasks:");
	if (cJSON_GetArraySize(ready) == 0)
		printf(" none");
	cJSON_ArrayForEach(r, ready)
		printf(" %d", r->valueint);
	printf("\n");
}

int
cmd_director(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "max-active", required_argument, NULL, 'm' },
		{ "interval", required_argument, NULL, 'i' },
		{ "stuck-after", required_argument, NULL, 's' },
		{ "retries", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wf_config cfg;
	const char *verb;
	char err[512];
	int c, root, json = 0, on, rc;
	int ma = -1, iv = -1, sa = -1, rt = -1;
	cJSON *st;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fputs(director_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE : 0;
	}
	verb = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "m:i:s:r:jh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm':
			if (limit("max-active", optarg, 1, 64, &ma) == -1)
				return EX_USAGE;
			break;
		case 'i':
			if (limit("interval", optarg, 1, 86400, &iv) == -1)
				return EX_USAGE;
			break;
		case 's':
			if (limit("stuck-after", optarg, 1, 86400 * 7,
			    &sa) == -1)
				return EX_USAGE;
			break;
		case 'r':
			if (limit("retries", optarg, 0, 100, &rt) == -1)
				return EX_USAGE;
			break;
		case 'j': json = 1; break;
		case 'h': fputs(director_usage, stdout); return 0;
		default: fputs(director_usage, stderr); return EX_USAGE;
		}
	}
	on = strcmp(verb, "on") == 0 ? 1 : strcmp(verb, "off") == 0 ? 0 : -1;
	if (optind != argc || (on == -1 && strcmp(verb, "status") != 0) ||
	    (on != 1 && (ma != -1 || iv != -1 || sa != -1 || rt != -1)) ||
	    (on != -1 && json)) {
		fputs(director_usage, stderr);
		return EX_USAGE;
	}
	if (wf_config_read(&cfg, wf_home_config(NULL), err, sizeof(err)) ==
	    -1) {
		wf_log_warn("%s", err);
		return EX_CONFIG;
	}
	if ((root = wf_spool_attach(wf_home_dir())) == -1)
		return EX_CONFIG;
	if (on != -1 && wf_director_set(root, on, ma, iv, sa, rt, err,
	    sizeof(err)) == -1) {
		wf_log_warn("%s", err);
		close(root);
		return EX_IOERR;
	}
	if ((st = wf_director_status(root, &cfg.director, err,
	    sizeof(err))) == NULL) {
		wf_log_warn("%s", err);
		close(root);
		return EX_IOERR;
	}
	if (json)
		cli_json(st);
	else
		print_status(st);
	cJSON_Delete(st);
	close(root);
	rc = cli_flush();
	return rc;
}
