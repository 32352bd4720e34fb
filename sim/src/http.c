#include "http.h"
#include "router.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BODY (1024 * 1024)

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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  struct sim *sim = cls;
  struct request *r = *con_cls;
  (void)version;
  if (!r) /* on_uri always runs first; this is only a safety net */
    *con_cls = r = xcalloc(1, sizeof *r);
  if (!r->conn) { /* the first call: headers only */
    r->conn = conn;
    r->method = method;
    r->path = url;
    return MHD_YES;
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

  struct reply rp = {0};
  rp.status = 500;
  router_dispatch(sim, r, &rp);
  if (sim->cfg.verbose)
    fprintf(stderr, "%s %s %u%s\n", method, url, rp.status,
            rp.drop        ? " (dropped)"
            : rp.truncated ? " (truncated)"
                           : "");
  enum MHD_Result ret = MHD_NO;
  if (!rp.drop) {
    struct MHD_Response *resp = response(&rp);
    if (rp.content_type)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                              rp.content_type);
    if (rp.session_header)
      MHD_add_response_header(resp, "vmware-api-session-id", rp.session_header);
    if (rp.set_cookie)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, rp.set_cookie);
    if (rp.allow)
      MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rp.allow);
    ret = MHD_queue_response(conn, rp.status, resp);
    MHD_destroy_response(resp);
  }
  free(rp.body);
  free(rp.session_header);
  free(rp.set_cookie);
  return ret;
}

/* Called with the request target before MHD decodes it: the start of
 * every request's struct request (*con_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  struct request *r = xcalloc(1, sizeof *r);
  (void)cls;
  (void)conn;
  r->raw_uri = xstrdup(uri);
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct request *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (r) {
    free(r->body);
    free(r->raw_uri);
    free(r);
    *con_cls = NULL;
  }
}

struct MHD_Daemon *http_start(struct sim *sim, const char *cert_pem,
                              const char *key_pem, unsigned *port) {
  struct sockaddr_storage ss;
  bool v6;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO | MHD_USE_TLS;
  if (!util_sockaddr(sim->cfg.bind, sim->cfg.port, &ss, &v6))
    return NULL;
  if (v6)
    flags |= MHD_USE_IPv6;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, (uint16_t)sim->cfg.port, NULL, NULL, on_request, sim,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_CERT,
      cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, sim, MHD_OPTION_URI_LOG_CALLBACK, on_uri, sim,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
  if (!d)
    return NULL;
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  *port = info ? info->port : sim->cfg.port;
  return d;
}
