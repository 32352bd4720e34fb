/* The event loop of a runtime (loop.c owns struct vg_runtime): libcurl's
   multi handle driven through its socket API and epoll, a min-heap of
   timers, a queue of deferred calls, and the runtime's background work.
   It knows nothing of what runs on it: every transfer, timer and deferred
   call carries its own callback. */
#ifndef VGUEST_LOOP_H
#define VGUEST_LOOP_H

#include "vguest/vguest.h"

#include "buf.h"

#include <curl/curl.h>
#include <stdint.h>

/* Milliseconds of a monotonic clock. */
uint64_t vgi_now_ms(void);

/* A timer, embedded in whatever it times. fire runs from vg_runtime_step
   once due (the timer is stopped by then). */
typedef struct vgi_timer {
  uint64_t due_ms;
  size_t idx; /* place in the heap; SIZE_MAX when stopped */
  void (*fire)(struct vgi_timer *t);
} vgi_timer;

void vgi_timer_init(vgi_timer *t, void (*fire)(vgi_timer *t));
/* 0 ok, -1 no memory. A running timer is moved. */
int vgi_timer_start(vg_runtime *rt, vgi_timer *t, long ms);
void vgi_timer_stop(vg_runtime *rt, vgi_timer *t); /* no-op when stopped */

/* A call made from vg_runtime_step after the current step's network and
   timer work: how completions reach their callbacks outside libcurl. */
typedef struct vgi_deferred {
  struct vgi_deferred *prev, *next;
  int queued;
  void (*run)(struct vgi_deferred *d);
} vgi_deferred;

void vgi_defer(vg_runtime *rt, vgi_deferred *d);        /* once until run */
void vgi_defer_cancel(vg_runtime *rt, vgi_deferred *d); /* no-op if not */

/* A transfer: the CURLOPT_PRIVATE of every easy handle added to the loop
   points at one. done runs from vg_runtime_step when it ends, after the
   handle has been removed from the multi handle. */
typedef struct vgi_transfer {
  void (*done)(struct vgi_transfer *t, CURLcode result);
} vgi_transfer;

/* 0 ok, -1 refused by libcurl. */
int vgi_loop_add(vg_runtime *rt, CURL *easy);
void vgi_loop_remove(vg_runtime *rt, CURL *easy);

/* Background work owned by the runtime (a logout sent after its session
   was freed). vg_runtime_free gives it about a second, then calls abandon
   on whatever is left, which must unregister and free it. */
typedef struct vgi_background {
  struct vgi_background *prev, *next;
  void (*abandon)(struct vgi_background *b);
} vgi_background;

void vgi_background_add(vg_runtime *rt, vgi_background *b);
void vgi_background_remove(vg_runtime *rt, vgi_background *b);

/* vg_runtime_pending() counts what its users count here. */
void vgi_runtime_pending_add(vg_runtime *rt, int delta);

/* One warning line through the runtime's warn hook (or stderr). Never pass
   it a secret. */
void vgi_runtime_warn(vg_runtime *rt, const char *fmt, ...) VGI_PRINTF(2, 3);

/* Raises the per-host connection limit to at least n. */
void vgi_runtime_max_connections(vg_runtime *rt, long n);

#endif
