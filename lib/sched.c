/*
 * sched: binary min-heaps of waiting jobs, one per lane plus one for jobs
 * not parsed yet, ordered by an aged key (see sched.h), then by arrival.
 * Entries hold only a name, its level and its key, packed into 64 KiB
 * slabs: about 32 bytes a job with wf's own names, so that a queue of
 * 100 000 jobs costs some 4 MB, and no job file is read until it nears
 * the head.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define SLAB 65536

/* The head of a slab; entries follow it.  A slab is freed when its last
 * entry is released and it is not the one being filled. */
struct slab {
	uint32_t live;
	uint32_t used;
};

struct heap {
	struct wf_sched_ent **v;
	size_t n, cap;
};

struct wf_sched {
	int nlanes;
	int aging;
	uint32_t seq;
	struct heap *h; /* nlanes + 1: the last is the unknown lane */
	struct slab *cur;
};

static struct slab *
slab_of(const struct wf_sched_ent *e)
{
	return (struct slab *)((uintptr_t)e & ~(uintptr_t)(SLAB - 1));
}

static struct wf_sched_ent *
slab_alloc(struct wf_sched *s, size_t size)
{
	struct wf_sched_ent *e;

	size = (size + 7) & ~(size_t)7;
	if (size > SLAB - sizeof(struct slab))
		return NULL;
	if (s->cur == NULL || s->cur->used + size > SLAB) {
		struct slab *sl = aligned_alloc(SLAB, SLAB);

		if (sl == NULL)
			return NULL;
		if (s->cur != NULL && s->cur->live == 0)
			free(s->cur);
		sl->live = 0;
		sl->used = sizeof(struct slab);
		s->cur = sl;
	}
	e = (struct wf_sched_ent *)((char *)s->cur + s->cur->used);
	s->cur->used += (uint32_t)size;
	s->cur->live++;
	return e;
}

void
wf_sched_release(struct wf_sched *s, struct wf_sched_ent *e)
{
	struct slab *sl;

	if (e == NULL)
		return;
	sl = slab_of(e);
	if (sl->live == 0)
		abort(); /* a double release */
	if (--sl->live == 0 && sl != s->cur)
		free(sl);
}

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
			wf_sched_release(s, s->h[i].v[k]);
		free(s->h[i].v);
	}
	if (s->cur != NULL) {
		if (s->cur->live != 0)
			abort(); /* an entry popped and never released */
		free(s->cur);
	}
	free(s->h);
	free(s);
}

/* The time a key stands for. */
static int64_t
key_time(const struct wf_sched *s, const struct wf_sched_ent *e)
{
	if (s->aging > 0)
		return e->key - (int64_t)(e->level - 1) * s->aging * 1000000;
	return e->key - ((int64_t)e->level << 56);
}

const char *
wf_sched_name(const struct wf_sched *s, const struct wf_sched_ent *e,
    char *buf, size_t len)
{
	int64_t t;

	if (!e->compact) {
		snprintf(buf, len, "%s", e->name);
		return buf;
	}
	t = key_time(s, e);
	snprintf(buf, len, "%lld.M%06lld%s", (long long)(t / 1000000),
	    (long long)(t % 1000000), e->name);
	return buf;
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
	char prefix[48];
	size_t n = strlen(name), pl = 0;
	int w;

	if (level < 1 || level > 4 || t_us < 0) {
		errno = EINVAL;
		return -1;
	}
	/* wf's own names start with their time, which the key keeps. */
	w = snprintf(prefix, sizeof(prefix), "%lld.M%06lld",
	    (long long)(t_us / 1000000), (long long)(t_us % 1000000));
	if (w > 0 && (size_t)w < n && strncmp(name, prefix, (size_t)w) == 0)
		pl = (size_t)w;
	if ((e = slab_alloc(s, offsetof(struct wf_sched_ent, name) + n - pl +
	    1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	e->key = wf_sched_key(level, t_us, s->aging);
	e->seq = s->seq++;
	e->level = (uint8_t)level;
	e->compact = pl > 0;
	memcpy(e->name, name + pl, n - pl + 1);
	if (wf_sched_push(s, lane, e) == -1) {
		wf_sched_release(s, e);
		return -1;
	}
	return 0;
}

int64_t
wf_sched_key(int level, int64_t t_us, int aging)
{
	/* A job's level costs `aging` seconds of waiting each, so comparing
	 * keys compares priorities aged to the same moment.  Without aging,
	 * the level alone decides first. */
	if (aging > 0)
		return t_us + (int64_t)(level - 1) * aging * 1000000;
	return ((int64_t)level << 56) + t_us;
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
