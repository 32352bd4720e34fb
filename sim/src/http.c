#include "http.h"
#include "router.h"
#include "timer.h"
#include "tls.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_BODY (1024 * 1024)

struct http {
  struct sim *sim;
  struct MHD_Daemon *d;
  struct timer *timer;         /* latency_ms: resumes held connections */
  struct tls_tickets *tickets; /* session resumption */
  pthread_mutex_t mu;          /* guards what follows, and exchange.due */
  pthread_cond_t cv;           /* nheld went down to 0 */
  size_t nheld;                /* held answers not yet sent out */
  bool stopping;               /* hold no more answers */
};

/* One exchange on a connection (MHD's *con_cls): the request handlers
 * see, and once answered the reply, kept while latency_ms holds it. */
struct exchange {
  struct http *h;
  struct request r;
  struct reply rp;
  bool held;    /* rp is ready, the connection suspended until due */
  bool counted; /* in nheld until MHD reports the exchange complete */
  bool due;     /* set by the timer: send rp now */
};

/* A truncated answer: the first half of the body, then an error, which
 * makes MHD close the connection short of the announced Content-Length. */
struct half {
  char *data;
  size_t len;
};

static ssize_t half_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct half *h = cls;
  if (pos >= h->len)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = h->len - (size_t)pos < max ? h->len - (size_t)pos : max;
  memcpy(buf, h->data + pos, n);
  return (ssize_t)n;
}

static void half_free(void *cls) {
  struct half *h = cls;
  free(h->data);
  free(h);
}

static struct MHD_Response *response(struct reply *rp) {
  if (!rp->truncated)
    return MHD_create_response_from_buffer(rp->len, rp->body ? rp->body : "",
                                           MHD_RESPMEM_MUST_COPY);
  struct half *h = xcalloc(1, sizeof *h);
  h->len = rp->len / 2;
  h->data = xmalloc(h->len + 1);
  memcpy(h->data, rp->body, h->len);
  return MHD_create_response_from_callback(rp->len, 4096, half_read, h,
                                           half_free);
}

/* Sends (or drops) rp; frees what it owns. */
static enum MHD_Result send_reply(struct http *h, struct exchange *x) {
  struct reply *rp = &x->rp;
  if (h->sim->cfg.verbose)
    fprintf(stderr, "%s %s %u%s\n", x->r.method, x->r.path, rp->status,
            rp->drop        ? " (dropped)"
            : rp->truncated ? " (truncated)"
                            : "");
  enum MHD_Result ret = MHD_NO;
  if (!rp->drop) {
    struct MHD_Response *resp = response(rp);
    if (rp->content_type)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                              rp->content_type);
    if (rp->session_header)
      MHD_add_response_header(resp, "vmware-api-session-id",
                              rp->session_header);
    if (rp->set_cookie)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, rp->set_cookie);
    if (rp->allow)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rp->allow);
    ret = MHD_queue_response(x->r.conn, rp->status, resp);
    MHD_destroy_response(resp);
  }
  free(rp->body);
  free(rp->session_header);
  free(rp->set_cookie);
  memset(rp, 0, sizeof *rp);
  return ret;
}

/* The held answer of x has gone out (or x ended without it): MHD has
 * reported the exchange complete. */
static void unhold(struct http *h, struct exchange *x) {
  if (!x->counted)
    return;
  x->counted = false;
  pthread_mutex_lock(&h->mu);
  if (--h->nheld == 0)
    pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

/* On the timer's thread: the held answer is due. */
static void wake(void *arg) {
  struct exchange *x = arg;
  pthread_mutex_lock(&x->h->mu);
  x->due = true;
  pthread_mutex_unlock(&x->h->mu);
  MHD_resume_connection(x->r.conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  struct http *h = cls;
  struct exchange *x = *con_cls;
  (void)version;
  if (!x) { /* on_uri always runs first; this is only a safety net */
    *con_cls = x = xcalloc(1, sizeof *x);
    x->h = h;
  }
  struct request *r = &x->r;
  if (!r->conn) { /* the first call: headers only */
    r->conn = conn;
    r->method = method;
    r->path = url;
    return MHD_YES;
  }
  if (x->held) {
    /* resumed by wake(), or (rarely) called again before it ran */
    pthread_mutex_lock(&h->mu);
    bool due = x->due;
    pthread_mutex_unlock(&h->mu);
    if (!due) {
      MHD_suspend_connection(conn);
      return MHD_YES;
    }
    x->held = false;
    return send_reply(h, x);
  }
  if (*upload_size) {
    if (r->body_len + *upload_size > MAX_BODY) {
      r->too_large = true;
    } else {
      if (r->body_len + *upload_size + 1 > r->body_cap) {
        r->body_cap = (r->body_len + *upload_size + 1) * 2;
        r->body = xrealloc(r->body, r->body_cap);
      }
      memcpy(r->body + r->body_len, upload, *upload_size);
      r->body_len += *upload_size;
      r->body[r->body_len] = '\0';
    }
    *upload_size = 0;
    return MHD_YES;
  }

  x->rp.status = 500;
  router_dispatch(h->sim, r, &x->rp);
  if (x->rp.delay_ms <= 0)
    return send_reply(h, x);
  /* latency_ms: the operation is done; its answer (or its drop) waits on
   * the timer with the connection suspended, so the thread goes on
   * serving every other connection meanwhile */
  pthread_mutex_lock(&h->mu);
  if (h->stopping) {
    pthread_mutex_unlock(&h->mu);
    return send_reply(h, x);
  }
  x->held = x->counted = true;
  h->nheld++;
  MHD_suspend_connection(conn);
  timer_after(h->timer, x->rp.delay_ms, wake, x);
  pthread_mutex_unlock(&h->mu);
  return MHD_YES;
}

/* Called with the request target before MHD decodes it: the start of
 * every exchange (*con_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  struct exchange *x = xcalloc(1, sizeof *x);
  (void)conn;
  x->h = cls;
  x->r.raw_uri = xstrdup(uri);
  return x;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct exchange *x = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (x) {
    unhold(x->h, x);
    free(x->rp.body);
    free(x->rp.session_header);
    free(x->rp.set_cookie);
    free(x->r.body);
    free(x->r.raw_uri);
    free(x);
    *con_cls = NULL;
  }
}

void http_stop(struct http *h) {
  if (!h)
    return;
  /* every held answer is sent now, and MHD is given the time to send
   * them (a few seconds at most): it may not stop with a connection
   * still suspended */
  pthread_mutex_lock(&h->mu);
  h->stopping = true;
  pthread_mutex_unlock(&h->mu);
  timer_stop(h->timer);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 5;
  pthread_mutex_lock(&h->mu);
  while (h->nheld > 0 && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0)
    ;
  pthread_mutex_unlock(&h->mu);
  if (h->d)
    MHD_stop_daemon(h->d);
  tls_tickets_free(h->tickets);
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

struct http *http_start(struct sim *sim, const char *cert_pem,
                        const char *key_pem, unsigned *port) {
  struct sockaddr_storage ss;
  bool v6;
  /* one thread polls every connection (epoll on Linux); a handler never
   * waits, and latency suspends the connection instead of sleeping */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                   MHD_USE_TLS | MHD_ALLOW_SUSPEND_RESUME;
  if (!util_sockaddr(sim->cfg.bind, sim->cfg.port, &ss, &v6))
    return NULL;
  if (v6)
    flags |= MHD_USE_IPv6;
  struct http *h = xcalloc(1, sizeof *h);
  h->sim = sim;
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  h->timer = timer_start();
  h->tickets = tls_tickets_new();
  if (!h->timer || !h->tickets) {
    http_stop(h);
    return NULL;
  }
  h->d = MHD_start_daemon(
      flags, (uint16_t)sim->cfg.port, NULL, NULL, on_request, h,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_CERT,
      cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, h, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
      MHD_OPTION_NOTIFY_CONNECTION, tls_on_connection, h->tickets,
      MHD_OPTION_CONNECTION_LIMIT, sim->cfg.conn_limit,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)SIM_LISTEN_BACKLOG,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
  if (!h->d) {
    http_stop(h);
    return NULL;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  *port = info ? info->port : sim->cfg.port;
  return h;
}
