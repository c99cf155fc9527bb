/*
 * home: where the runtime tree, the config and the programs are.  Paths are
 * baked in at build time (a checkout's own spool/ and etc/, or the installed
 * /var/spool/wf and /etc/wf/wf.ini); WF_HOME, WF_CONFIG and -c override
 * them.  No program guesses from its working directory.
 */
#ifndef WF_HOME_H
#define WF_HOME_H

/* The runtime tree: $WF_HOME or the built-in default. */
const char *wf_home_dir(void);
/* The config file: the -c argument when given, else $WF_CONFIG, else the
 * built-in default. */
const char *wf_home_config(const char *opt);
/* The directory holding wf-agent and the other wf-* programs. */
const char *wf_home_bindir(void);

#endif
