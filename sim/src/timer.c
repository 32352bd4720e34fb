#include "timer.h"
#include "util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct deadline {
  int64_t due;  /* microseconds of CLOCK_MONOTONIC */
  uint64_t seq; /* ties: first added, first run */
  void (*fn)(void *);
  void *arg;
};

struct timer {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC: a new first deadline, or the stop */
  struct deadline *heap;
  size_t n, cap;
  uint64_t seq;
  bool stopping;
  pthread_t thread;
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool before(const struct deadline *a, const struct deadline *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void swap(struct deadline *a, struct deadline *b) {
  struct deadline t = *a;
  *a = *b;
  *b = t;
}

static void push(struct timer *t, struct deadline d) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 64;
    t->heap = xrealloc(t->heap, t->cap * sizeof *t->heap);
  }
  size_t i = t->n++;
  t->heap[i] = d;
  while (i > 0 && before(&t->heap[i], &t->heap[(i - 1) / 2])) {
    swap(&t->heap[i], &t->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
}

static struct deadline pop(struct timer *t) {
  struct deadline top = t->heap[0];
  t->heap[0] = t->heap[--t->n];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < t->n && before(&t->heap[l], &t->heap[m]))
      m = l;
    if (r < t->n && before(&t->heap[r], &t->heap[m]))
      m = r;
    if (m == i)
      break;
    swap(&t->heap[i], &t->heap[m]);
    i = m;
  }
  return top;
}

static void *run(void *arg) {
  struct timer *t = arg;
  pthread_mutex_lock(&t->mu);
  for (;;) {
    if (t->n > 0 && (t->stopping || t->heap[0].due <= now_us())) {
      struct deadline d = pop(t);
      pthread_mutex_unlock(&t->mu);
      d.fn(d.arg);
      pthread_mutex_lock(&t->mu);
    } else if (t->stopping) {
      break;
    } else if (t->n == 0) {
      pthread_cond_wait(&t->cv, &t->mu);
    } else {
      int64_t due = t->heap[0].due;
      struct timespec ts = {(time_t)(due / 1000000),
                            (long)(due % 1000000) * 1000L};
      pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

struct timer *timer_start(void) {
  struct timer *t = xcalloc(1, sizeof *t);
  pthread_condattr_t ca;
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&t->thread, NULL, run, t) != 0) {
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return NULL;
  }
  return t;
}

void timer_after(struct timer *t, int64_t delay_ms, void (*fn)(void *arg),
                 void *arg) {
  struct deadline d = {now_us() + delay_ms * 1000, 0, fn, arg};
  pthread_mutex_lock(&t->mu);
  d.seq = ++t->seq;
  push(t, d);
  if (t->heap[0].seq == d.seq) /* a new first deadline: wait less */
    pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

void timer_stop(struct timer *t) {
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  t->stopping = true;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->thread, NULL);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  free(t->heap);
  free(t);
}
