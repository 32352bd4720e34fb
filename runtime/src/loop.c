/*
 * The event loop: one curl multi handle driven through its socket API and
 * epoll, a binary min-heap of timers, and a queue of deferred calls.
 * Nothing is scanned per tick: epoll reports only ready sockets,
 * curl_multi_info_read only finished transfers, and the heap yields only
 * due timers. Callbacks run from vg_runtime_step(), never from inside
 * libcurl.
 */
#include "loop.h"
#include "wipe.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct vg_runtime {
  vg_runtime_options opt;
  CURLM *multi;
  int epfd;
  int evfd;
  int curl_initialized;
  volatile sig_atomic_t interrupted;
  uint64_t curl_due; /* 0: no libcurl timeout pending */
  long max_conns;

  vgi_timer **heap;
  size_t nheap, capheap;

  vgi_deferred *defer_head, *defer_tail;
  vgi_background *background;
  size_t pending;
};

uint64_t vgi_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vgi_runtime_warn(vg_runtime *rt, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (rt->opt.warn_fn)
    rt->opt.warn_fn(rt->opt.warn_ud, line);
  else
    fprintf(stderr, "vguest: warning: %s\n", line);
}

/* ---- libcurl socket and timer hooks ---------------------------------- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  (void)e;
  (void)socketp;
  vg_runtime *rt = userp;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(rt->epfd, EPOLL_CTL_DEL, fd, NULL);
    return 0;
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.data.fd = fd;
  if (what & CURL_POLL_IN)
    ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT)
    ev.events |= EPOLLOUT;
  if (epoll_ctl(rt->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
    epoll_ctl(rt->epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
  (void)m;
  vg_runtime *rt = userp;
  rt->curl_due = timeout_ms < 0 ? 0 : vgi_now_ms() + (uint64_t)timeout_ms;
  return 0;
}

/* ---- creation ---------------------------------------------------------- */

vg_status vg_runtime_new(const vg_runtime_options *opts, vg_runtime **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  vg_runtime *rt = calloc(1, sizeof *rt);
  if (!rt)
    return VG_ENOMEM;
  if (opts)
    rt->opt = *opts;
  rt->epfd = -1;
  rt->evfd = -1;
  /* Reference counted by libcurl (thread-safe since 7.84): every runtime
     takes one reference and gives it back in vg_runtime_free. The first
     one also gives libcurl allocation functions that zero what they free,
     since its request buffers hold the Basic-auth header and bodies with
     guest passwords; when the host initialized libcurl first, libcurl
     keeps the host's functions (README: "Secrets in memory"). */
  if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, vgi_wipe_malloc, vgi_wipe_free,
                           vgi_wipe_realloc, vgi_wipe_strdup,
                           vgi_wipe_calloc) != CURLE_OK) {
    vg_runtime_free(rt);
    return VG_ENOMEM;
  }
  rt->curl_initialized = 1;
  rt->epfd = epoll_create1(EPOLL_CLOEXEC);
  rt->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  rt->multi = curl_multi_init();
  if (rt->epfd < 0 || rt->evfd < 0 || !rt->multi) {
    vg_runtime_free(rt);
    return VG_ENOMEM;
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = rt->evfd;
  epoll_ctl(rt->epfd, EPOLL_CTL_ADD, rt->evfd, &ev);
  curl_multi_setopt(rt->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(rt->multi, CURLMOPT_SOCKETDATA, rt);
  curl_multi_setopt(rt->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(rt->multi, CURLMOPT_TIMERDATA, rt);
  vgi_runtime_max_connections(rt, 16);
  *out = rt;
  return VG_OK;
}

void vgi_runtime_max_connections(vg_runtime *rt, long n) {
  /* Each pool limits its own requests in flight (http.c): libcurl's limit
     per host stays off, or it would queue them in its own order. Its
     cache of idle connections holds what every session may keep open. */
  rt->max_conns += n;
  curl_multi_setopt(rt->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(rt->multi, CURLMOPT_MAXCONNECTS, rt->max_conns);
}

int vg_runtime_fd(const vg_runtime *rt) {
  return rt ? rt->epfd : -1;
}

size_t vg_runtime_pending(const vg_runtime *rt) {
  return rt ? rt->pending : 0;
}

void vgi_runtime_pending_add(vg_runtime *rt, int delta) {
  if (delta < 0 && rt->pending < (size_t)-delta)
    rt->pending = 0;
  else
    rt->pending += (size_t)(long)delta;
}

void vg_runtime_interrupt(vg_runtime *rt) {
  if (!rt)
    return;
  rt->interrupted = 1;
  uint64_t one = 1;
  ssize_t n = write(rt->evfd, &one, sizeof one);
  (void)n;
}

/* ---- transfers --------------------------------------------------------- */

int vgi_loop_add(vg_runtime *rt, CURL *easy) {
  return curl_multi_add_handle(rt->multi, easy) == CURLM_OK ? 0 : -1;
}

void vgi_loop_remove(vg_runtime *rt, CURL *easy) {
  curl_multi_remove_handle(rt->multi, easy);
}

static void read_transfers(vg_runtime *rt) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(rt->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL *e = m->easy_handle;
    CURLcode code = m->data.result;
    vgi_transfer *t = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(rt->multi, e);
    if (t)
      t->done(t, code);
  }
}

/* ---- timer heap -------------------------------------------------------- */

void vgi_timer_init(vgi_timer *t, void (*fire)(vgi_timer *t)) {
  t->due_ms = 0;
  t->idx = SIZE_MAX;
  t->fire = fire;
}

static void heap_set(vg_runtime *rt, size_t i, vgi_timer *t) {
  rt->heap[i] = t;
  t->idx = i;
}

static void sift_up(vg_runtime *rt, size_t i) {
  vgi_timer *t = rt->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (t->due_ms >= rt->heap[p]->due_ms)
      break;
    heap_set(rt, i, rt->heap[p]);
    i = p;
  }
  heap_set(rt, i, t);
}

static void sift_down(vg_runtime *rt, size_t i) {
  vgi_timer *t = rt->heap[i];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    uint64_t best = t->due_ms;
    if (l < rt->nheap && rt->heap[l]->due_ms < best)
      m = l, best = rt->heap[l]->due_ms;
    if (r < rt->nheap && rt->heap[r]->due_ms < best)
      m = r;
    if (m == i)
      break;
    heap_set(rt, i, rt->heap[m]);
    i = m;
  }
  heap_set(rt, i, t);
}

void vgi_timer_stop(vg_runtime *rt, vgi_timer *t) {
  size_t i = t->idx;
  if (i == SIZE_MAX || i >= rt->nheap || rt->heap[i] != t)
    return;
  t->idx = SIZE_MAX;
  vgi_timer *last = rt->heap[--rt->nheap];
  if (i == rt->nheap)
    return;
  heap_set(rt, i, last);
  sift_down(rt, i);
  sift_up(rt, last->idx);
}

int vgi_timer_start(vg_runtime *rt, vgi_timer *t, long ms) {
  vgi_timer_stop(rt, t);
  if (rt->nheap == rt->capheap) {
    size_t cap = rt->capheap ? rt->capheap * 2 : 64;
    vgi_timer **h = realloc(rt->heap, cap * sizeof *h);
    if (!h)
      return -1;
    rt->heap = h;
    rt->capheap = cap;
  }
  t->due_ms = vgi_now_ms() + (uint64_t)(ms < 0 ? 0 : ms);
  heap_set(rt, rt->nheap++, t);
  sift_up(rt, t->idx);
  return 0;
}

static void fire_timers(vg_runtime *rt) {
  uint64_t now = vgi_now_ms();
  while (rt->nheap && rt->heap[0]->due_ms <= now) {
    vgi_timer *t = rt->heap[0];
    vgi_timer_stop(rt, t);
    t->fire(t);
  }
}

/* ---- deferred calls ---------------------------------------------------- */

void vgi_defer(vg_runtime *rt, vgi_deferred *d) {
  if (d->queued)
    return;
  d->queued = 1;
  d->next = NULL;
  d->prev = rt->defer_tail;
  if (rt->defer_tail)
    rt->defer_tail->next = d;
  else
    rt->defer_head = d;
  rt->defer_tail = d;
}

void vgi_defer_cancel(vg_runtime *rt, vgi_deferred *d) {
  if (!d->queued)
    return;
  if (d->prev)
    d->prev->next = d->next;
  else
    rt->defer_head = d->next;
  if (d->next)
    d->next->prev = d->prev;
  else
    rt->defer_tail = d->prev;
  d->prev = d->next = NULL;
  d->queued = 0;
}

static void run_deferred(vg_runtime *rt) {
  vgi_deferred *d;
  while ((d = rt->defer_head) != NULL) {
    vgi_defer_cancel(rt, d);
    d->run(d);
  }
}

/* ---- background work --------------------------------------------------- */

void vgi_background_add(vg_runtime *rt, vgi_background *b) {
  b->prev = NULL;
  b->next = rt->background;
  if (rt->background)
    rt->background->prev = b;
  rt->background = b;
}

void vgi_background_remove(vg_runtime *rt, vgi_background *b) {
  if (b->prev)
    b->prev->next = b->next;
  else if (rt->background == b)
    rt->background = b->next;
  if (b->next)
    b->next->prev = b->prev;
  b->prev = b->next = NULL;
}

/* ---- stepping ---------------------------------------------------------- */

long vg_runtime_timeout_ms(const vg_runtime *rt) {
  if (!rt)
    return -1;
  if (rt->defer_head)
    return 0;
  uint64_t now = vgi_now_ms(), due = 0;
  if (rt->curl_due)
    due = rt->curl_due;
  if (rt->nheap && (!due || rt->heap[0]->due_ms < due))
    due = rt->heap[0]->due_ms;
  if (!due)
    return -1;
  return due <= now ? 0 : (long)(due - now);
}

vg_status vg_runtime_step(vg_runtime *rt, long max_wait_ms) {
  if (!rt)
    return VG_EMISUSE;
  long t = vg_runtime_timeout_ms(rt);
  if (max_wait_ms >= 0 && (t < 0 || t > max_wait_ms))
    t = max_wait_ms;
  if (rt->interrupted)
    t = 0;
  struct epoll_event evs[64];
  int n = epoll_wait(rt->epfd, evs, 64, t > INT32_MAX ? INT32_MAX : (int)t);
  int running;
  for (int i = 0; i < n; i++) {
    int fd = evs[i].data.fd;
    if (fd == rt->evfd) {
      uint64_t v;
      ssize_t r = read(rt->evfd, &v, sizeof v);
      (void)r;
      continue;
    }
    int flags = 0;
    if (evs[i].events & (EPOLLIN | EPOLLHUP))
      flags |= CURL_CSELECT_IN;
    if (evs[i].events & EPOLLOUT)
      flags |= CURL_CSELECT_OUT;
    if (evs[i].events & EPOLLERR)
      flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(rt->multi, fd, flags, &running);
  }
  if (rt->curl_due && rt->curl_due <= vgi_now_ms()) {
    rt->curl_due = 0;
    curl_multi_socket_action(rt->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  read_transfers(rt);
  fire_timers(rt);
  run_deferred(rt);
  if (rt->interrupted) {
    rt->interrupted = 0;
    return VG_ECANCELED;
  }
  return VG_OK;
}

void vg_runtime_free(vg_runtime *rt) {
  if (!rt)
    return;
  /* Give background work (logouts) a moment to finish. */
  uint64_t until = vgi_now_ms() + 1000;
  while (rt->background && rt->multi && vgi_now_ms() < until)
    if (vg_runtime_step(rt, 50) != VG_OK)
      break;
  while (rt->background)
    rt->background->abandon(rt->background);
  run_deferred(rt);
  if (rt->multi)
    curl_multi_cleanup(rt->multi);
  if (rt->epfd >= 0)
    close(rt->epfd);
  if (rt->evfd >= 0)
    close(rt->evfd);
  free(rt->heap);
  if (rt->curl_initialized)
    curl_global_cleanup();
  free(rt);
}
