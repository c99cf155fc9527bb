/*
 * home: the built-in paths and their overrides, WF_HOME, WF_CONFIG and
 * WF_BINDIR.  Nothing is guessed from the working directory.
 */
#include <stdlib.h>

#include "home.h"

#ifndef WF_DEFAULT_HOME
#define WF_DEFAULT_HOME "/var/spool/wf"
#endif
#ifndef WF_DEFAULT_CONFIG
#define WF_DEFAULT_CONFIG "/etc/wf/wf.ini"
#endif
#ifndef WF_DEFAULT_BINDIR
#define WF_DEFAULT_BINDIR "/usr/local/bin"
#endif

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

const char *
wf_home_dir(void)
{
	return env_or("WF_HOME", WF_DEFAULT_HOME);
}

const char *
wf_home_config(const char *opt)
{
	if (opt != NULL)
		return opt;
	return env_or("WF_CONFIG", WF_DEFAULT_CONFIG);
}

const char *
wf_home_bindir(void)
{
	return env_or("WF_BINDIR", WF_DEFAULT_BINDIR);
}
