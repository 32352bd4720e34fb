/*
 * The event loop: one curl multi handle driven through its socket API and
 * epoll, plus a binary min-heap of timers, plus a list of completed ops
 * waiting for their callbacks. Nothing is scanned per tick: epoll reports
 * only ready sockets, curl_multi_info_read only finished transfers, and the
 * heap yields only due timers. Callbacks run from vg_runtime_step(), never
 * from inside libcurl.
 */
#include "internal.h"

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
  volatile sig_atomic_t interrupted;
  uint64_t curl_due; /* 0: no libcurl timeout pending */
  long max_conns;

  vg_op **heap;
  size_t nheap, capheap;

  vg_op *done_head, *done_tail;
  vg_op *detached; /* singly linked through q_next */
  size_t pending;
};

uint64_t vgi_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- allocation through the hooks ------------------------------------ */

void *vgi_malloc(const vg_runtime *rt, size_t n) {
  return rt && rt->opt.malloc_fn ? rt->opt.malloc_fn(n) : malloc(n);
}

void *vgi_calloc(const vg_runtime *rt, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size)
    return NULL;
  void *p = vgi_malloc(rt, n * size);
  if (p)
    memset(p, 0, n * size);
  return p;
}

void vgi_free(const vg_runtime *rt, void *p) {
  if (!p)
    return;
  if (rt && rt->opt.free_fn)
    rt->opt.free_fn(p);
  else
    free(p);
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
  static int curl_ready;
  *out = NULL;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return VG_ENOMEM;
    curl_ready = 1;
  }
  vgi_json_init();
  vg_runtime tmp;
  memset(&tmp, 0, sizeof tmp);
  if (opts)
    tmp.opt = *opts;
  vg_runtime *rt = vgi_calloc(&tmp, 1, sizeof *rt);
  if (!rt)
    return VG_ENOMEM;
  *rt = tmp;
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
  if (n > rt->max_conns) {
    rt->max_conns = n;
    curl_multi_setopt(rt->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
  }
}

CURLM *vgi_runtime_multi(vg_runtime *rt) {
  return rt->multi;
}

int vg_runtime_fd(const vg_runtime *rt) {
  return rt ? rt->epfd : -1;
}

size_t vg_runtime_pending(const vg_runtime *rt) {
  return rt ? rt->pending : 0;
}

void vgi_runtime_op_started(vg_runtime *rt) {
  rt->pending++;
}

void vgi_runtime_op_ended(vg_runtime *rt) {
  if (rt->pending)
    rt->pending--;
}

void vg_runtime_interrupt(vg_runtime *rt) {
  if (!rt)
    return;
  rt->interrupted = 1;
  uint64_t one = 1;
  ssize_t n = write(rt->evfd, &one, sizeof one);
  (void)n;
}

/* ---- timer heap -------------------------------------------------------- */

static int earlier(const vg_op *a, const vg_op *b) {
  return a->due_ms < b->due_ms;
}

static void heap_set(vg_runtime *rt, size_t i, vg_op *op) {
  rt->heap[i] = op;
  op->heap_idx = i;
}

static void sift_up(vg_runtime *rt, size_t i) {
  vg_op *op = rt->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!earlier(op, rt->heap[p]))
      break;
    heap_set(rt, i, rt->heap[p]);
    i = p;
  }
  heap_set(rt, i, op);
}

static void sift_down(vg_runtime *rt, size_t i) {
  vg_op *op = rt->heap[i];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const vg_op *best = op;
    if (l < rt->nheap && earlier(rt->heap[l], best))
      m = l, best = rt->heap[l];
    if (r < rt->nheap && earlier(rt->heap[r], best))
      m = r;
    if (m == i)
      break;
    heap_set(rt, i, rt->heap[m]);
    i = m;
  }
  heap_set(rt, i, op);
}

void vgi_timer_add(vg_runtime *rt, vg_op *op, long ms) {
  if (rt->nheap == rt->capheap) {
    size_t cap = rt->capheap ? rt->capheap * 2 : 64;
    vg_op **h = realloc(rt->heap, cap * sizeof *h);
    if (!h) {
      vgi_op_fail(op, VG_ENOMEM, "out of memory for a timer");
      return;
    }
    rt->heap = h;
    rt->capheap = cap;
  }
  op->due_ms = vgi_now_ms() + (uint64_t)(ms < 0 ? 0 : ms);
  rt->heap[rt->nheap] = op;
  op->heap_idx = rt->nheap++;
  sift_up(rt, op->heap_idx);
}

void vgi_timer_remove(vg_runtime *rt, vg_op *op) {
  size_t i = op->heap_idx;
  if (i == SIZE_MAX || i >= rt->nheap || rt->heap[i] != op)
    return;
  op->heap_idx = SIZE_MAX;
  vg_op *last = rt->heap[--rt->nheap];
  if (i == rt->nheap)
    return;
  heap_set(rt, i, last);
  sift_down(rt, i);
  sift_up(rt, last->heap_idx);
}

vg_status vg_timer_start(vg_runtime *rt, long ms, vg_callback cb, void *ud,
                         vg_op **out) {
  *out = NULL;
  if (!rt || ms < 0)
    return VG_EMISUSE;
  vg_op *op = vgi_op_new(rt, NULL, VGI_OP_TIMER, cb, ud);
  if (!op)
    return VG_ENOMEM;
  vgi_timer_add(rt, op, ms);
  *out = op;
  return VG_OK;
}

/* ---- completions ------------------------------------------------------- */

void vgi_runtime_done_push(vg_runtime *rt, vg_op *op) {
  if (op->in_done)
    return;
  op->in_done = 1;
  op->d_next = NULL;
  op->d_prev = rt->done_tail;
  if (rt->done_tail)
    rt->done_tail->d_next = op;
  else
    rt->done_head = op;
  rt->done_tail = op;
}

void vgi_runtime_done_remove(vg_runtime *rt, vg_op *op) {
  if (!op->in_done)
    return;
  if (op->d_prev)
    op->d_prev->d_next = op->d_next;
  else
    rt->done_head = op->d_next;
  if (op->d_next)
    op->d_next->d_prev = op->d_prev;
  else
    rt->done_tail = op->d_prev;
  op->d_prev = op->d_next = NULL;
  op->in_done = 0;
}

void vgi_runtime_detach(vg_runtime *rt, vg_op *op) {
  op->detached = 1;
  op->q_next = rt->detached;
  rt->detached = op;
}

static void drop_detached(vg_runtime *rt, vg_op *op) {
  for (vg_op **p = &rt->detached; *p; p = &(*p)->q_next)
    if (*p == op) {
      *p = op->q_next;
      return;
    }
}

static void deliver(vg_runtime *rt) {
  vg_op *op;
  while ((op = rt->done_head) != NULL) {
    vgi_runtime_done_remove(rt, op);
    if (op->detached) {
      drop_detached(rt, op);
      vg_op_free(op);
    } else if (op->cb) {
      op->cb(op, op->ud);
    }
  }
}

static void read_transfers(vg_runtime *rt) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(rt->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL *e = m->easy_handle;
    CURLcode code = m->data.result;
    vgi_http *h = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&h);
    curl_multi_remove_handle(rt->multi, e);
    if (h)
      vgi_http_done(h, code);
  }
}

static void fire_timers(vg_runtime *rt) {
  uint64_t now = vgi_now_ms();
  while (rt->nheap && rt->heap[0]->due_ms <= now) {
    vg_op *op = rt->heap[0];
    vgi_timer_remove(rt, op);
    vgi_op_complete(op, VG_OK);
  }
}

long vg_runtime_timeout_ms(const vg_runtime *rt) {
  if (!rt)
    return -1;
  if (rt->done_head)
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
  deliver(rt);
  if (rt->interrupted) {
    rt->interrupted = 0;
    return VG_ECANCELED;
  }
  return VG_OK;
}

void vg_runtime_free(vg_runtime *rt) {
  if (!rt)
    return;
  /* Give detached work (background logouts) a moment to finish. */
  uint64_t until = vgi_now_ms() + 1000;
  while (rt->detached && vgi_now_ms() < until)
    if (vg_runtime_step(rt, 50) != VG_OK)
      break;
  while (rt->detached) {
    vg_op *op = rt->detached;
    rt->detached = op->q_next;
    op->detached = 0;
    vg_op_free(op);
  }
  if (rt->multi)
    curl_multi_cleanup(rt->multi);
  if (rt->epfd >= 0)
    close(rt->epfd);
  if (rt->evfd >= 0)
    close(rt->evfd);
  free(rt->heap);
  vgi_free(rt, rt);
}
