/*
 * fault: the tests' switch for a crash at a chosen point (fault.h).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

void
wf_fault(const char *point)
{
	static const char *spec;
	static int read;
	const char *p;
	size_t n = strlen(point);

	if (!read) {
		spec = getenv("WF_FAULT");
		read = 1;
	}
	if (spec == NULL || *spec == '\0')
		return;
	for (p = spec; (p = strstr(p, point)) != NULL; p += n)
		if ((p == spec || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			kill(getpid(), SIGKILL);
}
