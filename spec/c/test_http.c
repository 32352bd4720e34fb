/* C tests of the HTTP layer (http.c) on its own: exchanges to any URL with
   bodies from memory, a file or a callback, answers buffered with a cap or
   streamed to a callback or a file, per-request headers, response headers,
   TLS by pool (CA file, pin, insecure, and no connection shared between
   pools), cancellation. Against an echo server of its own (libmicrohttpd,
   plain HTTP on 127.0.0.1) and a simulator (HTTPS). */
#include "http.h"
#include "loop.h"
#include "sim_util.h"

#include "check.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the echo server ---------------------------------------------------- */

typedef struct upload {
  char *data;
  size_t len;
} upload;

static char pattern(size_t i) {
  return (char)((i * 7 + i / 251) & 0xff);
}

static ssize_t big_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  size_t total = (size_t)(uintptr_t)cls;
  if (pos >= total)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = total - (size_t)pos < max ? total - (size_t)pos : max;
  for (size_t i = 0; i < n; i++)
    buf[i] = pattern((size_t)pos + i);
  return (ssize_t)n;
}

/* /big/N: N bytes of pattern(); /status/N: that status; else the request
   body back, with X-Method, X-Got (the X-Test header) and X-Length. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *size, void **state) {
  (void)cls;
  (void)version;
  upload *u = *state;
  if (!u) {
    *state = calloc(1, sizeof *u);
    return *state ? MHD_YES : MHD_NO;
  }
  if (*size) {
    char *d = realloc(u->data, u->len + *size);
    if (!d)
      return MHD_NO;
    memcpy(d + u->len, data, *size);
    u->data = d;
    u->len += *size;
    *size = 0;
    return MHD_YES;
  }
  struct MHD_Response *r;
  unsigned status = 200;
  if (strncmp(url, "/big/", 5) == 0) {
    size_t n = (size_t)strtoull(url + 5, NULL, 10);
    r = MHD_create_response_from_callback(n, 64 * 1024, big_reader,
                                          (void *)(uintptr_t)n, NULL);
  } else {
    if (strncmp(url, "/status/", 8) == 0)
      status = (unsigned)atoi(url + 8);
    r = MHD_create_response_from_buffer(u->len, u->data ? u->data : "",
                                        MHD_RESPMEM_MUST_COPY);
    const char *got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Test");
    char len[32];
    snprintf(len, sizeof len, "%zu", u->len);
    MHD_add_response_header(r, "X-Method", method);
    MHD_add_response_header(r, "X-Got", got ? got : "");
    MHD_add_response_header(r, "x-length", len);
  }
  enum MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode why) {
  (void)cls;
  (void)c;
  (void)why;
  upload *u = *state;
  if (u) {
    free(u->data);
    free(u);
  }
  *state = NULL;
}

static struct MHD_Daemon *echo;
static char echo_url[64];

static int echo_start(void) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  echo = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                          handle, NULL, MHD_OPTION_SOCK_ADDR, &a,
                          MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                          MHD_OPTION_END);
  if (!echo)
    return -1;
  const union MHD_DaemonInfo *i =
      MHD_get_daemon_info(echo, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(echo_url, sizeof echo_url, "http://127.0.0.1:%u", i->port);
  return 0;
}

/* ---- one exchange, run to its end -------------------------------------- */

typedef struct got {
  int done;
  long status;
  CURLcode curl;
  int too_large, local_error;
  char *body;
  size_t len;
  char method[16], echoed[64], length[32];
} got;

static void on_done(vgi_http *h, const vgi_http_result *r, void *ud) {
  got *g = ud;
  g->done = 1;
  g->status = r->status;
  g->curl = r->curl;
  g->too_large = r->too_large;
  g->local_error = r->local_error;
  g->body = malloc(r->len + 1);
  memcpy(g->body, r->body, r->len + 1);
  g->len = r->len;
  const char *v;
  if ((v = vgi_http_header(h, "x-method")))
    snprintf(g->method, sizeof g->method, "%s", v);
  if ((v = vgi_http_header(h, "X-GOT")))
    snprintf(g->echoed, sizeof g->echoed, "%s", v);
  if ((v = vgi_http_header(h, "X-Length")))
    snprintf(g->length, sizeof g->length, "%s", v);
}

static vg_runtime *rt;

static vg_status exchange(vgi_http_request *req, got *g) {
  vgi_http *h;
  memset(g, 0, sizeof *g);
  vg_status st = vgi_http_start(rt, req, on_done, g, &h);
  if (st != VG_OK)
    return st;
  for (int i = 0; !g->done && i < 100000; i++)
    vg_runtime_step(rt, 1000);
  return g->done ? VG_OK : VG_ETIMEDOUT;
}

static void got_free(got *g) {
  free(g->body);
  g->body = NULL;
}

static char *url(const char *base, const char *path) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s%s", base, path);
  return buf;
}

/* ---- the tests ---------------------------------------------------------- */

static vgi_pool *plain;

typedef struct feed {
  const char *p;
  size_t left;
} feed;

static size_t feed_read(char *dst, size_t max, void *ud) {
  feed *f = ud;
  size_t n = f->left < max ? f->left : max;
  if (n > 4096)
    n = 4096; /* many small reads */
  memcpy(dst, f->p, n);
  f->p += n;
  f->left -= n;
  return n;
}

typedef struct sunk {
  size_t len, wrong, calls, refuse_after;
} sunk;

static void test_bodies(void) {
  got g;
  const char *headers[] = {"X-Test: per-request", NULL};
  vgi_http_request req;

  /* from memory, with a header; the buffer is taken over */
  memset(&req, 0, sizeof req);
  vgi_buf body = {0};
  vgi_buf_add(&body, "hello\0world", 11);
  req.method = "POST";
  req.url = url(echo_url, "/echo");
  req.pool = plain;
  req.headers = headers;
  req.body = &body;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 200);
  CHECK(g.len == 11 && memcmp(g.body, "hello\0world", 11) == 0);
  CHECK(strcmp(g.method, "POST") == 0 && strcmp(g.echoed, "per-request") == 0);
  CHECK(body.data == NULL && body.len == 0);
  got_free(&g);

  /* from a file (1 MiB of binary), PUT */
  char path[] = "/tmp/vguest-http-XXXXXX";
  int fd = mkstemp(path);
  size_t n = 1u << 20;
  char *bytes = malloc(n);
  for (size_t i = 0; i < n; i++)
    bytes[i] = pattern(i);
  CHECK(write(fd, bytes, n) == (ssize_t)n);
  close(fd);
  memset(&req, 0, sizeof req);
  req.method = "PUT";
  req.url = url(echo_url, "/file");
  req.pool = plain;
  req.body_file = path;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 200);
  CHECK(strcmp(g.method, "PUT") == 0 && g.len == n &&
        memcmp(g.body, bytes, n) == 0 && strcmp(g.length, "1048576") == 0);
  got_free(&g);
  unlink(path);
  req.body_file = "/nonexistent/vguest";
  CHECK(exchange(&req, &g) == VG_ENOTFOUND);

  /* from a callback, length unknown (chunked), POST */
  memset(&req, 0, sizeof req);
  feed f = {bytes, 300000};
  req.method = "POST";
  req.url = url(echo_url, "/cb");
  req.pool = plain;
  req.body_read = feed_read;
  req.body_ud = &f;
  req.body_size = -1;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 200 && g.len == 300000 &&
        memcmp(g.body, bytes, 300000) == 0);
  got_free(&g);
  /* ... and with its length given */
  f.p = bytes;
  f.left = 1000;
  req.body_size = 1000;
  CHECK(exchange(&req, &g) == VG_OK && g.len == 1000 &&
        strcmp(g.length, "1000") == 0);
  got_free(&g);

  /* two bodies at once, or no pool, is misuse */
  req.body_file = "/etc/hostname";
  CHECK(exchange(&req, &g) == VG_EMISUSE);
  req.body_file = NULL;
  req.pool = NULL;
  CHECK(exchange(&req, &g) == VG_EMISUSE);
  free(bytes);
}

static int count_sink(const char *p, size_t n, void *ud) {
  sunk *k = ud;
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(k->len + i))
      k->wrong++;
  k->len += n;
  k->calls++;
  return k->refuse_after && k->len >= k->refuse_after ? -1 : 0;
}

static void test_answers(void) {
  got g;
  vgi_http_request req;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.pool = plain;

  /* streamed to a callback: 20 MB never held in memory */
  sunk k = {0, 0, 0, 0};
  req.url = url(echo_url, "/big/20000000");
  req.sink = count_sink;
  req.sink_ud = &k;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 200 && g.len == 0);
  CHECK(k.len == 20000000 && k.wrong == 0 && k.calls > 1);
  got_free(&g);
  /* a sink that gives up ends the exchange with a local error */
  sunk stop = {0, 0, 0, 1000};
  req.sink_ud = &stop;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 0 && g.local_error);
  got_free(&g);

  /* streamed to a file */
  char path[] = "/tmp/vguest-http-XXXXXX";
  close(mkstemp(path));
  req.sink = NULL;
  req.sink_ud = NULL;
  req.sink_file = path;
  req.url = url(echo_url, "/big/3000000");
  CHECK(exchange(&req, &g) == VG_OK && g.status == 200 && g.len == 0);
  got_free(&g);
  FILE *f = fopen(path, "rb");
  size_t n = 0, wrong = 0;
  int c;
  while (f && (c = fgetc(f)) != EOF)
    wrong += (char)c != pattern(n++);
  if (f)
    fclose(f);
  CHECK(n == 3000000 && wrong == 0);
  unlink(path);
  req.sink_file = "/nonexistent/dir/out";
  CHECK(exchange(&req, &g) == VG_ENOTFOUND);
  req.sink_file = NULL;

  /* buffered with a cap: over it is too_large, never a truncated answer */
  req.url = url(echo_url, "/big/100000");
  req.max_answer = 1000;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 0 && g.too_large &&
        g.curl == CURLE_FILESIZE_EXCEEDED);
  got_free(&g);
  req.max_answer = 100000;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 200 && g.len == 100000);
  got_free(&g);

  /* any status comes back as it is */
  req.url = url(echo_url, "/status/404");
  req.max_answer = 0;
  CHECK(exchange(&req, &g) == VG_OK && g.status == 404);
  got_free(&g);
}

/* A status > 0 means TLS succeeded (any HTTP answer will do). */
static long tls_status(vgi_pool *p, const test_sim *sim) {
  got g;
  vgi_http_request req;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.url = url(sim->url, "/api/session");
  req.pool = p;
  if (exchange(&req, &g) != VG_OK)
    return -1;
  long st = g.status;
  got_free(&g);
  return st;
}

static void fingerprint(const char *pem, char fp[128]) {
  char cmd[700];
  snprintf(cmd, sizeof cmd,
           "openssl x509 -noout -fingerprint -sha256 -in '%s' | cut -d= -f2 "
           "| tr -d ':' | tr A-F a-f",
           pem);
  FILE *p = popen(cmd, "r");
  fp[0] = '\0';
  if (p && fgets(fp, 128, p))
    fp[strcspn(fp, "\n")] = '\0';
  if (p)
    pclose(p);
}

static void test_tls(const test_sim *sim, const test_sim *other) {
  vgi_pool *p;
  vgi_tls right_ca = {sim->ca_file, NULL, 0};
  vgi_tls wrong_ca = {other->ca_file, NULL, 0};
  vgi_tls system_ca = {NULL, NULL, 0};
  vgi_tls insecure = {NULL, NULL, 1};
  char right[128], wrong[128];
  fingerprint(sim->ca_file, right);
  fingerprint(other->ca_file, wrong);
  vgi_tls right_pin = {NULL, right, 0};
  vgi_tls wrong_pin = {NULL, wrong, 0};
  CHECK(strlen(right_pin.thumbprint) == 64);

  /* insecure first: its connection must not serve the pools after it */
  vgi_pool_new(&insecure, &p);
  CHECK(tls_status(p, sim) == 401);
  vgi_pool *keep = p;
  vgi_pool_new(&wrong_pin, &p);
  CHECK(tls_status(p, sim) == 0);
  vgi_pool_free(p);
  vgi_pool_new(&wrong_ca, &p);
  CHECK(tls_status(p, sim) == 0);
  vgi_pool_free(p);
  vgi_pool_new(&system_ca, &p);
  CHECK(tls_status(p, sim) == 0);
  vgi_pool_free(p);
  vgi_pool_new(&right_ca, &p);
  CHECK(tls_status(p, sim) == 401);
  vgi_pool_free(p);
  vgi_pool_new(&right_pin, &p);
  CHECK(tls_status(p, sim) == 401);
  CHECK(tls_status(p, sim) == 401); /* again, on the kept-alive connection */
  vgi_pool_free(p);
  CHECK(tls_status(keep, sim) == 401);
  vgi_pool_free(keep);

  /* one runtime, two servers, two pools, in flight at once */
  vgi_pool_new(&right_ca, &p);
  got a, b;
  vgi_http *ha, *hb;
  vgi_http_request ra, rb;
  memset(&ra, 0, sizeof ra);
  memset(&rb, 0, sizeof rb);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  ra.method = rb.method = "GET";
  ra.url = "https://127.0.0.1:1/unused"; /* replaced below */
  char sim_url[300], echo_big[300];
  snprintf(sim_url, sizeof sim_url, "%s/api/session", sim->url);
  snprintf(echo_big, sizeof echo_big, "%s/big/10", echo_url);
  ra.url = sim_url;
  ra.pool = p;
  rb.url = echo_big;
  rb.pool = plain;
  CHECK(vgi_http_start(rt, &ra, on_done, &a, &ha) == VG_OK);
  CHECK(vgi_http_start(rt, &rb, on_done, &b, &hb) == VG_OK);
  for (int i = 0; (!a.done || !b.done) && i < 10000; i++)
    vg_runtime_step(rt, 1000);
  CHECK(a.status == 401 && b.status == 200 && b.len == 10);
  got_free(&a);
  got_free(&b);
  vgi_pool_free(p);
}

static void test_cancel(void) {
  got g;
  memset(&g, 0, sizeof g);
  vgi_http_request req;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.url = url(echo_url, "/big/50000000");
  req.pool = plain;
  vgi_http *h;
  CHECK(vgi_http_start(rt, &req, on_done, &g, &h) == VG_OK);
  vg_runtime_step(rt, 10);
  vgi_http_cancel(h);
  for (int i = 0; i < 5; i++)
    vg_runtime_step(rt, 10);
  CHECK(!g.done); /* a canceled exchange never calls back */
  vgi_http_cancel(NULL);
}

int main(void) {
  test_sim sim, other;
  if (echo_start() != 0 || test_sim_start(&sim, NULL) != 0 ||
      test_sim_start(&other, NULL) != 0) {
    fprintf(stderr, "cannot start the servers (VGUEST_SIM)\n");
    return 1;
  }
  CHECK(vg_runtime_new(NULL, &rt) == VG_OK);
  CHECK(vgi_pool_new(NULL, &plain) == VG_OK);
  test_bodies();
  test_answers();
  test_tls(&sim, &other);
  test_cancel();
  vgi_pool_free(plain);
  vg_runtime_free(rt);
  test_sim_stop(&sim);
  test_sim_stop(&other);
  MHD_stop_daemon(echo);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
