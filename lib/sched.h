/*
 * sched: the dispatcher's in-memory index of waiting jobs, and the retry
 * schedule.  A job's key is its enqueue time plus its level times the aging
 * interval: comparing keys is comparing priorities aged to any common
 * moment, so one heap per lane orders strict priority, FIFO inside a level
 * and aging at once.  Jobs whose lane is not known yet (not parsed since the
 * start-up scan or their arrival) wait in a heap of their own with the same
 * keys, and are parsed only when they come near the head.
 */
#ifndef WF_SCHED_H
#define WF_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define WF_SCHED_UNKNOWN (-1) /* lane index of a job not parsed yet */

/*
 * An entry lives in a slab of the index (64 KiB blocks, no malloc per
 * job).  A name of wf's own form, "SECONDS.MMICROS" and a suffix, keeps
 * only its suffix: the time is in the key.  wf_sched_name gives the name.
 */
struct wf_sched_ent {
	int64_t key;
	uint32_t seq;
	uint8_t level;
	uint8_t compact; /* name holds the suffix after the time */
	char name[];     /* the file's name in queue/<level>/new */
};

struct wf_sched;

struct wf_sched *wf_sched_new(int nlanes, int aging);
void wf_sched_free(struct wf_sched *s);
/* Add a waiting job; lane is an index or WF_SCHED_UNKNOWN.  t_us is its
 * enqueue time. */
int wf_sched_add(struct wf_sched *s, int lane, int level, int64_t t_us,
    const char *name);
/* The best entry of a lane (or of the unknown heap), or NULL. */
const struct wf_sched_ent *wf_sched_peek(const struct wf_sched *s, int lane);
/* Remove and return it; the caller gives it back with wf_sched_release
 * (or puts it back with wf_sched_push). */
struct wf_sched_ent *wf_sched_pop(struct wf_sched *s, int lane);
void wf_sched_release(struct wf_sched *s, struct wf_sched_ent *e);
/* The entry's file name, whole, in buf; returns buf. */
const char *wf_sched_name(const struct wf_sched *s,
    const struct wf_sched_ent *e, char *buf, size_t len);
/* Put back an entry taken with wf_sched_pop, into lane. */
int wf_sched_push(struct wf_sched *s, int lane, struct wf_sched_ent *e);
size_t wf_sched_count(const struct wf_sched *s, int lane);
/* The aged key of a job of level enqueued at t_us (the order of the
 * index; wf queue show uses it to tell a job's place in line). */
int64_t wf_sched_key(int level, int64_t t_us, int aging);
/* Does a order before b? */
int wf_sched_before(const struct wf_sched_ent *a, const struct wf_sched_ent *b);

/* Seconds to wait before retry number attempt (1-based), exponential
 * from base, capped at max. */
int wf_sched_backoff(int base, int max, int attempt);

#endif
