/*
 * sched: binary min-heaps of waiting jobs, one per lane plus one for jobs
 * not parsed yet, ordered by an aged key (see sched.h), then by arrival.
 * Entries hold only a name, its level and its key: a queue of 100 000 jobs
 * costs a few MB, and no job file is read until it nears the head.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

struct heap {
	struct wf_sched_ent **v;
	size_t n, cap;
};

struct wf_sched {
	int nlanes;
	int aging;
	uint32_t seq;
	struct heap *h; /* nlanes + 1: the last is the unknown lane */
};

static struct heap *
heap_of(const struct wf_sched *s, int lane)
{
	if (lane == WF_SCHED_UNKNOWN)
		return &s->h[s->nlanes];
	if (lane < 0 || lane >= s->nlanes)
		abort();
	return &s->h[lane];
}

struct wf_sched *
wf_sched_new(int nlanes, int aging)
{
	struct wf_sched *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->h = calloc((size_t)nlanes + 1, sizeof(*s->h))) == NULL) {
		free(s);
		return NULL;
	}
	s->nlanes = nlanes;
	s->aging = aging;
	return s;
}

void
wf_sched_free(struct wf_sched *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i <= s->nlanes; i++) {
		for (size_t k = 0; k < s->h[i].n; k++)
			free(s->h[i].v[k]);
		free(s->h[i].v);
	}
	free(s->h);
	free(s);
}

void
wf_sched_set_aging(struct wf_sched *s, int aging)
{
	/* Keys already made keep their aging; new ones use the new value.
	 * The dispatcher rebuilds its index on a change, so this is rare. */
	s->aging = aging;
}

int
wf_sched_before(const struct wf_sched_ent *a, const struct wf_sched_ent *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return (int32_t)(a->seq - b->seq) < 0;
}

static void
sift_up(struct heap *h, size_t i)
{
	struct wf_sched_ent *e = h->v[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!wf_sched_before(e, h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = e;
}

static void
sift_down(struct heap *h, size_t i)
{
	struct wf_sched_ent *e = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && wf_sched_before(h->v[c + 1], h->v[c]))
			c++;
		if (!wf_sched_before(h->v[c], e))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	h->v[i] = e;
}

int
wf_sched_push(struct wf_sched *s, int lane, struct wf_sched_ent *e)
{
	struct heap *h = heap_of(s, lane);

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct wf_sched_ent **v;

		if ((v = reallocarray(h->v, cap, sizeof(*v))) == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = e;
	sift_up(h, h->n - 1);
	return 0;
}

int
wf_sched_add(struct wf_sched *s, int lane, int level, int64_t t_us,
    const char *name)
{
	struct wf_sched_ent *e;
	size_t n = strlen(name);

	if (level < 1 || level > 4) {
		errno = EINVAL;
		return -1;
	}
	if ((e = malloc(sizeof(*e) + n + 1)) == NULL)
		return -1;
	/* Aged key: a job's level costs `aging` seconds of waiting each, so
	 * comparing keys compares priorities aged to the same moment. */
	if (s->aging > 0)
		e->key = t_us + (int64_t)(level - 1) * s->aging * 1000000;
	else
		e->key = ((int64_t)level << 56) + t_us;
	e->seq = s->seq++;
	e->level = (uint8_t)level;
	memcpy(e->name, name, n + 1);
	if (wf_sched_push(s, lane, e) == -1) {
		free(e);
		return -1;
	}
	return 0;
}

const struct wf_sched_ent *
wf_sched_peek(const struct wf_sched *s, int lane)
{
	struct heap *h = heap_of(s, lane);

	return h->n > 0 ? h->v[0] : NULL;
}

struct wf_sched_ent *
wf_sched_pop(struct wf_sched *s, int lane)
{
	struct heap *h = heap_of(s, lane);
	struct wf_sched_ent *e;

	if (h->n == 0)
		return NULL;
	e = h->v[0];
	h->v[0] = h->v[--h->n];
	if (h->n > 0)
		sift_down(h, 0);
	return e;
}

size_t
wf_sched_count(const struct wf_sched *s, int lane)
{
	return heap_of(s, lane)->n;
}

int
wf_sched_backoff(int base, int max, int attempt)
{
	long long d = base;

	if (attempt < 1)
		attempt = 1;
	for (int i = 1; i < attempt && d < max; i++)
		d *= 2;
	return d > max ? max : (int)d;
}
