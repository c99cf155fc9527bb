/*
 * handoff: each stage's record in the run (see handoff.h).  What an agent
 * wrote (its summary, a model's findings) is cut to a bound here, never
 * trusted to be small; so is what git says.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handoff.h"
#include "json.h"
#include "repo.h"

#define SUMMARY_MAX 1024
#define REQUEST_MAX 1024
#define ITEM_MAX 512        /* one finding, as JSON */
#define FINDINGS_MAX 10     /* of each role */
#define COMMITS_MAX 20
#define SUBJECT_MAX 120
#define STAT_MAX 2048
#define OUTPUT_MAX 2048     /* the tail of the gate's output */
#define PATHS_MAX 30
#define PART_MAX (24 << 10) /* a handoff's agent part, as JSON */
#define ONE_TEXT_MAX (12 << 10)

static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */

/* o's string member k, else dflt. */
static const char *
str_or(const cJSON *o, const char *k, const char *dflt)
{
	const char *v = wf_json_str(o, k);

	return v != NULL ? v : dflt;
}

/* s cut to at most max bytes (on a UTF-8 boundary), with "…truncated"
 * when cut; a new cJSON string. */
static cJSON *
cut_string(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *b;
	cJSON *o;

	if (n <= max)
		return cJSON_CreateString(s);
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	if ((b = malloc(max + 16)) == NULL)
		return NULL;
	memcpy(b, s, max);
	snprintf(b + max, 16, "%struncated", ellipsis);
	o = cJSON_CreateString(b);
	free(b);
	return o;
}

/* The last max bytes of s (on a UTF-8 boundary), after "…" when cut. */
static cJSON *
tail_string(const char *s, size_t len, size_t max)
{
	const char *p = s;
	char *b;
	cJSON *o;

	if (len > max) {
		p = s + len - max;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
	}
	if ((b = malloc(len - (size_t)(p - s) + sizeof(ellipsis) + 1)) == NULL)
		return NULL;
	snprintf(b, len - (size_t)(p - s) + sizeof(ellipsis) + 1, "%s%.*s",
	    p != s ? ellipsis : "", (int)(len - (size_t)(p - s)), p);
	o = cJSON_CreateString(b);
	free(b);
	return o;
}

static void
add_cut(cJSON *o, const char *k, const char *s, size_t max)
{
	cJSON *v;

	if (s != NULL && (v = cut_string(s, max)) != NULL)
		cJSON_AddItemToObject(o, k, v);
}

/* A copy of item when its JSON is at most max bytes, else that JSON as a
 * cut string. */
static cJSON *
bounded_dup(const cJSON *item, size_t max)
{
	char *s = cJSON_PrintUnformatted(item);
	cJSON *o;

	if (s == NULL)
		return NULL;
	o = strlen(s) <= max ? cJSON_Duplicate(item, 1) : cut_string(s, max);
	free(s);
	return o;
}

/* At most n items of array a, each bounded; "cut": true when more. */
static cJSON *
bounded_array(const cJSON *a, int n, size_t itemmax, int *cut)
{
	cJSON *o = cJSON_CreateArray();
	const cJSON *e;
	int i = 0;

	cJSON_ArrayForEach(e, a) {
		cJSON *d;

		if (i++ == n) {
			*cut = 1;
			break;
		}
		if ((d = bounded_dup(e, itemmax)) != NULL)
			cJSON_AddItemToArray(o, d);
	}
	return o;
}

/* Is s a full commit id (hex), safe as one of git's arguments? */
static int
sha_ok(const char *s)
{
	size_t n = s != NULL ? strspn(s, "0123456789abcdef") : 0;

	return s != NULL && (n == 40 || n == 64) && s[n] == '\0';
}

/* What the roles before this one found, for the role to fix: QA's and
 * SEC's failed reports for DEV, and the gate's refusal of the role's own
 * last work for any role. */
static void
findings_given(cJSON *asked, const cJSON *run, const char *role,
    const char *phase)
{
	const cJSON *results = cJSON_GetObjectItem(run, "results"), *r;
	static const char *const others[] = { "qa", "security" };
	const char *self;
	cJSON *f = cJSON_CreateArray(), *e;
	int cut = 0;

	for (int i = 0; i < 2 && strcmp(role, "dev") == 0; i++) {
		const cJSON *d;

		r = cJSON_GetObjectItem(results, others[i]);
		d = cJSON_GetObjectItem(r, "details");
		/* A failed report, or findings the gate judged (SEC's pass
		 * with a high finding fails at the gate): what {{findings}}
		 * shows DEV. */
		if (strcmp(str_or(r, "status", ""), "fail") != 0 &&
		    cJSON_GetArraySize(cJSON_GetObjectItem(d,
		    "findings")) == 0 &&
		    cJSON_GetArraySize(cJSON_GetObjectItem(d,
		    "failures")) == 0)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "from", others[i]);
		add_cut(e, "summary", wf_json_str(r, "summary") ?
		    wf_json_str(r, "summary") : "", SUMMARY_MAX / 2);
		if (cJSON_IsArray(cJSON_GetObjectItem(d, "findings")))
			cJSON_AddItemToObject(e, "findings", bounded_array(
			    cJSON_GetObjectItem(d, "findings"), FINDINGS_MAX,
			    ITEM_MAX, &cut));
		if (cJSON_IsArray(cJSON_GetObjectItem(d, "failures")))
			cJSON_AddItemToObject(e, "failures", bounded_array(
			    cJSON_GetObjectItem(d, "failures"), FINDINGS_MAX,
			    ITEM_MAX, &cut));
		cJSON_AddItemToArray(f, e);
	}
	self = phase != NULL && strcmp(phase, "tdd") == 0 ? "qa_tdd" : role;
	r = cJSON_GetObjectItem(results, self);
	if (wf_json_str(r, "refused_by") != NULL) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "from", "gate");
		add_cut(e, "summary", wf_json_str(r, "summary") ?
		    wf_json_str(r, "summary") : "", SUMMARY_MAX);
		cJSON_AddItemToArray(f, e);
	}
	if (cut)
		cJSON_AddTrueToObject(asked, "findings_cut");
	if (cJSON_GetArraySize(f) > 0)
		cJSON_AddItemToObject(asked, "findings", f);
	else
		cJSON_Delete(f);
}

/* The commits since base (newest first) and their diff stat. */
static void
git_work(cJSON *h, const char *repo, const char *base)
{
	char range[160], err[256], *out = NULL;
	const char *logv[] = { "log", "--no-color", "--format=%h%x09%s", "-n",
		"21", range, "--", NULL };
	const char *statv[] = { "-c", "core.quotepath=off", "diff",
		"--no-color", "--no-ext-diff", "--stat=100", "--stat-count=40",
		base, "HEAD", "--", NULL };
	cJSON *commits;
	size_t len = 0;
	int n = 0;

	snprintf(range, sizeof(range), "%s..HEAD", base);
	if (wf_repo_git_out(repo, logv, 1 << 20, &out, &len, NULL, err,
	    sizeof(err)) == 0) {
		commits = cJSON_AddArrayToObject(h, "commits");
		for (char *line = out, *nl; line < out + len; line = nl + 1) {
			char *tab;
			cJSON *c;

			nl = memchr(line, '\n', len - (size_t)(line - out));
			if (nl == NULL)
				nl = out + len;
			*nl = '\0';
			if ((tab = strchr(line, '\t')) == NULL)
				continue;
			*tab = '\0';
			if (n++ == COMMITS_MAX) {
				cJSON_AddTrueToObject(h, "commits_cut");
				break;
			}
			c = cJSON_CreateObject();
			add_cut(c, "sha", line, 64);
			add_cut(c, "subject", tab + 1, SUBJECT_MAX);
			cJSON_AddItemToArray(commits, c);
		}
	}
	free(out);
	out = NULL;
	if (wf_repo_git_out(repo, statv, 1 << 20, &out, &len, NULL, err,
	    sizeof(err)) == 0) {
		while (len > 0 && out[len - 1] == '\n')
			out[--len] = '\0';
		add_cut(h, "diff_stat", out, STAT_MAX);
	}
	free(out);
}

cJSON *
wf_handoff_make(const cJSON *run, const char *role, const char *phase,
    const cJSON *task, const char *repo, const char *job_id)
{
	const char *base = wf_json_str(run, "stage_base");
	cJSON *h = cJSON_CreateObject(), *asked;
	char log[256];

	if (h == NULL)
		return NULL;
	cJSON_AddStringToObject(h, "role", role);
	if (phase != NULL)
		cJSON_AddStringToObject(h, "phase", phase);
	if (job_id != NULL) {
		add_cut(h, "job_id", job_id, 128);
		snprintf(log, sizeof(log), "output/%.128s.log", job_id);
		cJSON_AddStringToObject(h, "log", log);
	}
	asked = cJSON_AddObjectToObject(h, "asked");
	if (cJSON_IsObject(task)) {
		cJSON *t = cJSON_AddObjectToObject(asked, "task");

		cJSON_AddNumberToObject(t, "id",
		    (double)wf_json_int(task, "id"));
		add_cut(t, "task_id", wf_json_str(task, "task_id"), 128);
		add_cut(t, "title", wf_json_str(task, "title"), 256);
	}
	add_cut(asked, "request", wf_json_str(run, "request"), REQUEST_MAX);
	if (strcmp(role, "dev") == 0 &&
	    cJSON_IsArray(cJSON_GetObjectItem(run, "tdd_tests"))) {
		int cut = 0;

		cJSON_AddItemToObject(asked, "tdd_tests", bounded_array(
		    cJSON_GetObjectItem(run, "tdd_tests"), PATHS_MAX, 256,
		    &cut));
	}
	findings_given(asked, run, role, phase);
	if (repo != NULL && wf_repo_is_git(repo) && sha_ok(base)) {
		cJSON_AddStringToObject(h, "base", base);
		git_work(h, repo, base);
	}
	return h;
}

/* Copy o's member k into h when it has type t (a cJSON type flag). */
static void
take(cJSON *h, const cJSON *o, const char *k, int t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v != NULL && (v->type & 0xff) == t)
		cJSON_AddItemToObject(h, k, cJSON_Duplicate(v, 1));
}

/* The agent's part, checked: only what wf-agent makes, of its types, and
 * not past PART_MAX. */
static void
agent_part(cJSON *h, const cJSON *part)
{
	static const char *const strs[] = { "phase", "job_id", "log", "base",
		"diff_stat" };
	const cJSON *v;
	char *s;
	int cut = 0;

	if (!cJSON_IsObject(part))
		return;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (cJSON_IsString(v = cJSON_GetObjectItem(part, strs[i])))
			add_cut(h, strs[i], v->valuestring,
			    strcmp(strs[i], "diff_stat") == 0 ? STAT_MAX : 256);
	if (cJSON_IsObject(v = cJSON_GetObjectItem(part, "asked"))) {
		s = cJSON_PrintUnformatted(v);
		if (s != NULL && strlen(s) <= PART_MAX / 2)
			cJSON_AddItemToObject(h, "asked",
			    cJSON_Duplicate(v, 1));
		else
			cJSON_AddTrueToObject(h, "asked_cut");
		free(s);
	}
	if (cJSON_IsArray(v = cJSON_GetObjectItem(part, "commits")))
		cJSON_AddItemToObject(h, "commits", bounded_array(v,
		    COMMITS_MAX, SUBJECT_MAX + 96, &cut));
	if (cut || cJSON_IsTrue(cJSON_GetObjectItem(part, "commits_cut")))
		cJSON_AddTrueToObject(h, "commits_cut");
}

static void
gate_part(cJSON *h, const cJSON *gate)
{
	const cJSON *v;
	cJSON *g;
	char log[256];
	int cut = 0;

	if (!cJSON_IsObject(gate))
		return;
	g = cJSON_AddObjectToObject(h, "gate");
	if (cJSON_IsString(v = cJSON_GetObjectItem(gate, "job_id"))) {
		add_cut(g, "job_id", v->valuestring, 128);
		snprintf(log, sizeof(log), "output/%.128s.log", v->valuestring);
		cJSON_AddStringToObject(g, "log", log);
	}
	take(g, gate, "job_status", cJSON_String);
	take(g, gate, "exit_code", cJSON_Number);
	take(g, gate, "tests_run", cJSON_Number);
	take(g, gate, "tests_passed", cJSON_Number);
	take(g, gate, "tests_failed", cJSON_Number);
	take(g, gate, "format", cJSON_String);
	take(g, gate, "agrees", cJSON_True);
	take(g, gate, "agrees", cJSON_False);
	take(g, gate, "tdd", cJSON_True);
	if (cJSON_IsString(v = cJSON_GetObjectItem(gate, "output")))
		cJSON_AddItemToObject(g, "output", tail_string(v->valuestring,
		    strlen(v->valuestring), OUTPUT_MAX));
	if (cJSON_IsArray(v = cJSON_GetObjectItem(gate, "changed_paths")))
		cJSON_AddItemToObject(g, "changed_paths", bounded_array(v,
		    PATHS_MAX, 256, &cut));
	if (cJSON_GetArraySize(v = cJSON_GetObjectItem(gate,
	    "offending_paths")) > 0)
		cJSON_AddItemToObject(g, "offending_paths", bounded_array(v,
		    PATHS_MAX, 300, &cut));
	if (cut)
		cJSON_AddTrueToObject(g, "paths_cut");
}

/* The tasks PM gave: their task_id, title and what they wait on. */
static void
pm_tasks(cJSON *h, const cJSON *tasks)
{
	const cJSON *t;
	cJSON *all;
	int n = 0, cut = 0;

	if (!cJSON_IsArray(tasks))
		return;
	all = cJSON_AddArrayToObject(h, "tasks");
	cJSON_ArrayForEach(t, tasks) {
		cJSON *e;

		if (!cJSON_IsObject(t))
			continue;
		if (n++ == FINDINGS_MAX * 2) {
			cJSON_AddTrueToObject(h, "tasks_cut");
			break;
		}
		e = cJSON_CreateObject();
		add_cut(e, "task_id", wf_json_str(t, "task_id"), 128);
		add_cut(e, "title", wf_json_str(t, "title"), 256);
		if (cJSON_IsArray(cJSON_GetObjectItem(t, "blocked_by")))
			cJSON_AddItemToObject(e, "blocked_by", bounded_array(
			    cJSON_GetObjectItem(t, "blocked_by"), FINDINGS_MAX,
			    130, &cut));
		cJSON_AddItemToArray(all, e);
	}
}

/* Drop the oldest handoffs past the bounds. */
static void
trim(cJSON *all)
{
	char *s;

	while (cJSON_GetArraySize(all) > WF_HANDOFF_KEEP)
		cJSON_DeleteItemFromArray(all, 0);
	while (cJSON_GetArraySize(all) > 1 &&
	    (s = cJSON_PrintUnformatted(all)) != NULL) {
		size_t n = strlen(s);

		free(s);
		if (n <= WF_HANDOFF_ALL_MAX)
			break;
		cJSON_DeleteItemFromArray(all, 0);
	}
}

cJSON *
wf_handoff_record(cJSON *run, const cJSON *report, const cJSON *gate,
    const char *report_id, const char *refused)
{
	static const char *const counts[] = { "tests_run", "tests_passed",
		"tests_failed", "tests_skipped" };
	const cJSON *d = cJSON_GetObjectItem(report, "details"), *last;
	const char *role = wf_json_str(report, "role");
	cJSON *all = cJSON_GetObjectItemCaseSensitive(run, "handoffs"), *h, *t;
	char iso[WF_ISO_LEN];

	if (!cJSON_IsArray(all)) {
		cJSON_DeleteItemFromObjectCaseSensitive(run, "handoffs");
		if ((all = cJSON_AddArrayToObject(run, "handoffs")) == NULL)
			return NULL;
	}
	if ((h = cJSON_CreateObject()) == NULL)
		return NULL;
	last = cJSON_GetArrayItem(all, cJSON_GetArraySize(all) - 1);
	cJSON_AddNumberToObject(h, "n", (double)wf_json_int(last, "n") + 1);
	cJSON_AddStringToObject(h, "at",
	    wf_clock_iso(wf_clock_wall_ms(), iso, sizeof(iso)));
	cJSON_AddStringToObject(h, "role", role != NULL && strcmp(role,
	    "sec") == 0 ? "security" : role != NULL ? role : "?");
	cJSON_AddNumberToObject(h, "iteration",
	    wf_json_int(run, "iteration") > 0 ?
	    (double)wf_json_int(run, "iteration") : 1);
	agent_part(h, cJSON_GetObjectItem(report, "handoff"));
	if (cJSON_GetObjectItem(h, "phase") == NULL &&
	    wf_json_str(run, "phase") != NULL)
		add_cut(h, "phase", wf_json_str(run, "phase"), 32);
	cJSON_AddStringToObject(h, "status", refused != NULL ? "fail" :
	    str_or(report, "status", "?"));
	add_cut(h, "summary", wf_json_str(report, "summary"), SUMMARY_MAX);
	if (refused != NULL)
		add_cut(h, "refused", refused, SUMMARY_MAX);
	t = cJSON_CreateObject();
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		take(t, d, counts[i], cJSON_Number);
	if (cJSON_GetArraySize(t) > 0) {
		take(t, d, "format", cJSON_String);
		take(t, d, "verified_by", cJSON_String);
		cJSON_AddItemToObject(h, "tests", t);
	} else
		cJSON_Delete(t);
	if (cJSON_IsArray(cJSON_GetObjectItem(d, "findings")))
		cJSON_AddNumberToObject(h, "findings", cJSON_GetArraySize(
		    cJSON_GetObjectItem(d, "findings")));
	pm_tasks(h, cJSON_GetObjectItem(d, "tasks"));
	gate_part(h, gate);
	if (report_id != NULL)
		add_cut(h, "report_id", report_id, 128);
	cJSON_AddItemToArray(all, h);
	trim(all);
	/* trim keeps the newest: h is still the run's. */
	return h;
}

void
wf_handoff_outcome(cJSON *h, const cJSON *run, const char *report_id)
{
	const cJSON *e, *found = NULL;

	if (h == NULL)
		return;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(run, "history")) {
		if (report_id != NULL && wf_json_str(e, "report_id") != NULL &&
		    strcmp(wf_json_str(e, "report_id"), report_id) == 0)
			found = e;
	}
	if (found != NULL) {
		add_cut(h, "next", wf_json_str(found, "to"), 32);
		add_cut(h, "outcome", wf_json_str(found, "why"), SUMMARY_MAX);
	} else if (cJSON_IsTrue(cJSON_GetObjectItem(run, "waiting_for_human")))
		add_cut(h, "outcome", wf_json_str(run, "waiting_reason"),
		    SUMMARY_MAX);
}

/* A growing text, bounded by its cap. */
struct text {
	char *p;
	size_t n, cap;
	int full;
};

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->n) {
		t->full = 1;
		t->n = t->cap - 1;
	} else
		t->n += (size_t)n;
}

/* Each line of s, indented. */
static void
put_lines(struct text *t, const char *s)
{
	while (s != NULL && *s != '\0') {
		size_t l = strcspn(s, "\n");

		put(t, "    %.*s\n", (int)l, s);
		s += l + (s[l] == '\n');
	}
}

static void
one_text(const cJSON *h, struct text *t)
{
	const cJSON *a = cJSON_GetObjectItem(h, "asked"), *e, *g, *ts;
	const char *role = wf_json_str(h, "role");
	char up[16];
	size_t i;

	for (i = 0; role != NULL && role[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)(role[i] >= 'a' && role[i] <= 'z' ?
		    role[i] - 'a' + 'A' : role[i]);
	up[i] = '\0';
	if (strcmp(up, "SECURITY") == 0)
		strlcpy(up, "SEC", sizeof(up));
	put(t, "== handoff %lld: %s%s, iteration %lld, %s (%s)\n",
	    wf_json_int(h, "n"), up, wf_json_str(h, "phase") != NULL &&
	    strcmp(wf_json_str(h, "phase"), "tdd") == 0 ?
	    " writing failing tests first" : "", wf_json_int(h, "iteration"),
	    wf_json_str(h, "status") ? wf_json_str(h, "status") : "?",
	    wf_json_str(h, "at") ? wf_json_str(h, "at") : "?");
	if (cJSON_IsObject(e = cJSON_GetObjectItem(a, "task")))
		put(t, "asked: task %lld %s: %s\n", wf_json_int(e, "id"),
		    wf_json_str(e, "task_id") ? wf_json_str(e, "task_id") : "",
		    wf_json_str(e, "title") ? wf_json_str(e, "title") : "");
	if (wf_json_str(a, "request") != NULL) {
		put(t, "asked: the request\n");
		put_lines(t, wf_json_str(a, "request"));
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "tdd_tests"))
		if (cJSON_IsString(e))
			put(t, "asked: make pass %s\n", e->valuestring);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "findings")) {
		const cJSON *f;

		put(t, "given: %s's findings: %s\n", wf_json_str(e, "from") ?
		    wf_json_str(e, "from") : "?", wf_json_str(e, "summary") ?
		    wf_json_str(e, "summary") : "");
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "findings")) {
			char *s = cJSON_PrintUnformatted(f);

			if (s != NULL)
				put(t, "    %s\n", s);
			free(s);
		}
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "failures")) {
			char *s = cJSON_PrintUnformatted(f);

			if (s != NULL)
				put(t, "    %s\n", s);
			free(s);
		}
	}
	if (cJSON_IsObject(a) && cJSON_GetArraySize(a) == 0)
		put(t, "asked: the project as it is (no task, no request, "
		    "no findings)\n");
	if (wf_json_str(h, "summary") != NULL)
		put(t, "summary: %s\n", wf_json_str(h, "summary"));
	if (cJSON_IsArray(cJSON_GetObjectItem(h, "tasks")))
		put(t, "tasks made: %d\n", cJSON_GetArraySize(
		    cJSON_GetObjectItem(h, "tasks")));
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(h, "tasks")) {
		const cJSON *b;
		int first = 1;

		put(t, "    %s: %s", wf_json_str(e, "task_id") ?
		    wf_json_str(e, "task_id") : "?", wf_json_str(e, "title") ?
		    wf_json_str(e, "title") : "");
		cJSON_ArrayForEach(b, cJSON_GetObjectItem(e, "blocked_by"))
			if (cJSON_IsString(b)) {
				put(t, "%s%s", first ? " (after " : ", ",
				    b->valuestring);
				first = 0;
			}
		put(t, "%s\n", first ? "" : ")");
	}
	if (wf_json_str(h, "refused") != NULL)
		put(t, "refused by the gate: %s\n", wf_json_str(h, "refused"));
	if (wf_json_str(h, "outcome") != NULL)
		put(t, "outcome: %s%s%s\n", wf_json_str(h, "next") ?
		    wf_json_str(h, "next") : "", wf_json_str(h, "next") ?
		    ": " : "", wf_json_str(h, "outcome"));
	if (cJSON_IsArray(cJSON_GetObjectItem(h, "commits"))) {
		if (cJSON_GetArraySize(cJSON_GetObjectItem(h, "commits")) == 0)
			put(t, "commits: none\n");
		else
			put(t, "commits:\n");
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(h, "commits"))
		put(t, "    %s %s\n", wf_json_str(e, "sha") ?
		    wf_json_str(e, "sha") : "?", wf_json_str(e, "subject") ?
		    wf_json_str(e, "subject") : "");
	if (cJSON_IsTrue(cJSON_GetObjectItem(h, "commits_cut")))
		put(t, "    %s and more\n", ellipsis);
	if (wf_json_str(h, "diff_stat") != NULL &&
	    wf_json_str(h, "diff_stat")[0] != '\0') {
		put(t, "diff stat:\n");
		put_lines(t, wf_json_str(h, "diff_stat"));
	}
	if (cJSON_IsObject(ts = cJSON_GetObjectItem(h, "tests")))
		put(t, "tests: %lld run, %lld passed, %lld failed%s%s%s\n",
		    wf_json_int(ts, "tests_run"),
		    wf_json_int(ts, "tests_passed"),
		    wf_json_int(ts, "tests_failed"),
		    wf_json_str(ts, "verified_by") ? " (counted by " : "",
		    str_or(ts, "verified_by", ""),
		    wf_json_str(ts, "verified_by") ? ")" : "");
	if (cJSON_IsNumber(cJSON_GetObjectItem(h, "findings")))
		put(t, "findings: %lld\n", wf_json_int(h, "findings"));
	g = cJSON_GetObjectItem(h, "gate");
	if (wf_json_str(g, "job_id") != NULL) {
		put(t, "gate: its own test run, job %s (%s, exit %lld): %lld "
		    "run, %lld failed; %s\n", wf_json_str(g, "job_id"),
		    str_or(g, "job_status", "?"), wf_json_int(g, "exit_code"),
		    wf_json_int(g, "tests_run"), wf_json_int(g, "tests_failed"),
		    cJSON_IsTrue(cJSON_GetObjectItem(g, "agrees")) ?
		    "it agrees" : "it disagrees");
		if (wf_json_str(g, "output") != NULL) {
			put(t, "the output the gate judged (%s):\n",
			    wf_json_str(g, "log") ? wf_json_str(g, "log") : "");
			put_lines(t, wf_json_str(g, "output"));
		}
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, "offending_paths"))
		put(t, "gate: not its path: %s (%s's)\n",
		    str_or(e, "path", "?"), str_or(e, "owner", "no role"));
	if (wf_json_str(h, "log") != NULL)
		put(t, "log: %s\n", wf_json_str(h, "log"));
}

char *
wf_handoff_text(const cJSON *handoffs, size_t max)
{
	int n = cJSON_GetArraySize(handoffs), first = 0;
	char **each;
	size_t total = 0, *len, cap;
	char *out;

	if ((each = calloc((size_t)n + 1, sizeof(*each))) == NULL ||
	    (len = calloc((size_t)n + 1, sizeof(*len))) == NULL) {
		free(each);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct text t = { malloc(ONE_TEXT_MAX), 0, ONE_TEXT_MAX, 0 };

		if (t.p == NULL)
			continue;
		t.p[0] = '\0';
		one_text(cJSON_GetArrayItem(handoffs, i), &t);
		if (t.full)
			snprintf(t.p + ONE_TEXT_MAX - 32, 32, "\n%struncated\n",
			    ellipsis);
		each[i] = t.p;
		len[i] = strlen(t.p);
	}
	/* The newest first into the bound; the oldest give way. */
	for (first = n; first > 0; first--) {
		size_t add = len[first - 1] + 1;

		if (max > 0 && total + add + 128 > max)
			break;
		total += add;
	}
	cap = total + 160;
	if ((out = malloc(cap)) != NULL) {
		struct text t = { out, 0, cap, 0 };

		out[0] = '\0';
		if (first > 0)
			put(&t, "(%d earlier handoff%s left out: wf run show "
			    "--handoffs has them all)\n\n", first,
			    first == 1 ? "" : "s");
		for (int i = first; i < n; i++)
			if (each[i] != NULL)
				put(&t, "%s%s", each[i], i + 1 < n ? "\n" : "");
	}
	for (int i = 0; i < n; i++)
		free(each[i]);
	free(each);
	free(len);
	return out;
}
