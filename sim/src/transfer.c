/* The transfer listener (README.md, "Transfers"). Each request is one
 * struct xreq. A download is a callback response reading the guest file
 * in blocks (struct reader owns the claim from then on); an upload writes
 * each chunk MHD hands over to a temporary file beside the target, which
 * replaces the target only when the whole body has arrived. Neither ever
 * holds more than a block of the file in memory. */
#include "transfer.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

struct xreq {
  struct sim *sim;
  bool started;
  bool responded;    /* an answer is queued: ignore any further body */
  struct gxfer *x;   /* upload: the claimed URL, NULL when none */
  bool done;         /* upload: the URL is used up */
  enum xfail inject; /* upload: XF_CUT drops the connection midway */
  int fd;
  char *tmp; /* upload: the temporary file */
  int64_t got;
  int err; /* upload: errno of the first failed write */
};

/* A download in flight; freed (with its claim ended) by MHD. */
struct reader {
  struct sim *sim;
  int64_t id;
  int fd;
  uint64_t size, limit; /* limit < size: cut after limit bytes */
  bool done;
};

/* ---- answers ------------------------------------------------------------ */

static enum MHD_Result answer(struct xreq *xr, struct MHD_Connection *conn,
                              const char *method, const char *url,
                              unsigned status, const char *text,
                              const char *allow) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
  if (!resp)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
  if (allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  xr->responded = true;
  if (status >= 300)
    state_xfer_note(xr->sim, XN_FAILED, 0);
  if (xr->sim->cfg.verbose)
    fprintf(stderr, "transfer: %s %s %u\n", method, url, status);
  return ret;
}

/* The answer to a URL that cannot be used, as the host gives it: its own
 * plain-text errors, never a vCenter session error. */
static enum MHD_Result refuse(struct xreq *xr, struct MHD_Connection *conn,
                              const char *method, const char *url,
                              enum xfer_refusal why) {
  switch (why) {
  case XR_USED:
    return answer(xr, conn, method, url, 404,
                  "guestFile: this transfer URL was already used\n", NULL);
  case XR_EXPIRED:
    return answer(xr, conn, method, url, 404,
                  "guestFile: this transfer URL has expired\n", NULL);
  case XR_INVALID:
    return answer(xr, conn, method, url, 404,
                  "guestFile: this transfer URL is no longer valid: the "
                  "virtual machine was powered off or suspended\n",
                  NULL);
  case XR_BUSY:
    return answer(xr, conn, method, url, 409,
                  "guestFile: another request is using this transfer URL\n",
                  NULL);
  case XR_NO_TOOLS:
    return answer(xr, conn, method, url, 503,
                  "guestFile: VMware Tools is not running in the guest\n",
                  NULL);
  case XR_WRONG_METHOD:
    return answer(xr, conn, method, url, 405,
                  "guestFile: wrong method for this transfer URL\n",
                  strcmp(method, "GET") == 0 ? "PUT" : "GET");
  case XR_UNKNOWN:
  case XR_OK:
    break;
  }
  return answer(xr, conn, method, url, 404, "guestFile: no such transfer\n",
                NULL);
}

/* ---- downloads ------------------------------------------------------------
 */

static ssize_t read_block(void *cls, uint64_t pos, char *buf, size_t max) {
  struct reader *rd = cls;
  uint64_t end = rd->limit < rd->size ? rd->limit : rd->size;
  if (pos >= end)
    return MHD_CONTENT_READER_END_WITH_ERROR; /* cut, or nothing left */
  if (max > end - pos)
    max = (size_t)(end - pos);
  ssize_t n = pread(rd->fd, buf, max, (off_t)pos);
  if (n <= 0) /* the file shrank or failed: the body cannot be completed */
    return MHD_CONTENT_READER_END_WITH_ERROR;
  state_xfer_note(rd->sim, XN_BYTES_DOWN, n);
  if (pos + (uint64_t)n == rd->size && !rd->done) {
    /* the last byte is handed over: the URL is used up before the client
     * can read it and try again */
    rd->done = true;
    state_xfer_release(rd->sim, rd->id, true);
    state_xfer_note(rd->sim, XN_DOWNLOAD, 0);
  }
  return n;
}

static void free_reader(void *cls) {
  struct reader *rd = cls;
  close(rd->fd);
  if (!rd->done) {
    state_xfer_release(rd->sim, rd->id, false);
    state_xfer_note(rd->sim, XN_FAILED, 0);
  }
  free(rd);
}

static enum MHD_Result download(struct xreq *xr, struct MHD_Connection *conn,
                                const char *method, const char *url,
                                struct gxfer *x) {
  struct sim *sim = xr->sim;
  enum xfail how = state_xfer_take_fail(sim, false);
  struct stat st;
  int fd = -1;
  if (how == XF_DROP || how == XF_ERROR) {
    state_xfer_release(sim, x->id, false);
    if (how == XF_DROP) {
      state_xfer_note(sim, XN_FAILED, 0);
      return MHD_NO;
    }
    return answer(xr, conn, method, url, 500, "guestFile: injected failure\n",
                  NULL);
  }
  fd = open(x->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = fd < 0 ? errno : EISDIR;
    if (fd >= 0)
      close(fd);
    state_xfer_release(sim, x->id, false);
    if (e == ENOENT)
      return answer(xr, conn, method, url, 404,
                    "guestFile: the file is no longer in the guest\n", NULL);
    char text[256];
    snprintf(text, sizeof text, "guestFile: cannot read the file: %s\n",
             strerror(e));
    return answer(xr, conn, method, url, 500, text, NULL);
  }
  struct reader *rd = xcalloc(1, sizeof *rd);
  rd->sim = sim;
  rd->id = x->id;
  rd->fd = fd;
  rd->size = (uint64_t)st.st_size;
  rd->limit = how == XF_CUT ? rd->size / 2 : rd->size;
  struct MHD_Response *resp = MHD_create_response_from_callback(
      rd->size, BLOCK, read_block, rd, free_reader);
  if (!resp) {
    free_reader(rd);
    return MHD_NO;
  }
  if (rd->size == 0) { /* no block to hand over: done now */
    rd->done = true;
    state_xfer_release(sim, x->id, true);
    state_xfer_note(sim, XN_DOWNLOAD, 0);
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "application/octet-stream");
  enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
  MHD_destroy_response(resp);
  xr->responded = true;
  if (sim->cfg.verbose)
    fprintf(stderr, "transfer: %s %s 200%s\n", method, url,
            how == XF_CUT ? " (cut)" : "");
  return ret;
}

/* ---- uploads --------------------------------------------------------------
 */

/* Opens the temporary file beside x->path; errno set on failure. */
static bool open_tmp(struct xreq *xr) {
  const char *slash = strrchr(xr->x->path, '/');
  for (int attempt = 0; attempt < 10; attempt++) {
    char rnd[9];
    util_random_hex(rnd, 8);
    free(xr->tmp);
    xr->tmp = xasprintf("%.*s/.%s.vguest-upload-%s", (int)(slash - xr->x->path),
                        xr->x->path, slash + 1, rnd);
    xr->fd = open(xr->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (xr->fd >= 0)
      return true;
    if (errno != EEXIST)
      break;
  }
  free(xr->tmp);
  xr->tmp = NULL;
  return false;
}

static enum MHD_Result upload_start(struct xreq *xr,
                                    struct MHD_Connection *conn,
                                    const char *method, const char *url,
                                    struct gxfer *x) {
  struct sim *sim = xr->sim;
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_LENGTH);
  int64_t len;
  xr->x = x;
  if (!cl || !util_parse_int64(cl, &len) || len < 0)
    return answer(xr, conn, method, url, 411,
                  "guestFile: an upload needs a Content-Length\n", NULL);
  if (len != x->size)
    return answer(xr, conn, method, url, 400,
                  "guestFile: Content-Length is not the size given when the "
                  "transfer was created\n",
                  NULL);
  xr->inject = state_xfer_take_fail(sim, true);
  if (xr->inject == XF_DROP) {
    state_xfer_note(sim, XN_FAILED, 0);
    return MHD_NO;
  }
  if (xr->inject == XF_ERROR)
    return answer(xr, conn, method, url, 500, "guestFile: injected failure\n",
                  NULL);
  if (!open_tmp(xr)) {
    char text[256];
    snprintf(text, sizeof text, "guestFile: cannot create the file: %s\n",
             strerror(errno));
    return answer(xr, conn, method, url, errno == ENOENT ? 404 : 500, text,
                  NULL);
  }
  return MHD_YES;
}

static void write_chunk(struct xreq *xr, const char *data, size_t n) {
  state_xfer_note(xr->sim, XN_BYTES_UP, (int64_t)n);
  xr->got += (int64_t)n;
  while (n > 0 && xr->err == 0) {
    ssize_t w = write(xr->fd, data, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      xr->err = errno;
      break;
    }
    data += w;
    n -= (size_t)w;
  }
}

static struct timespec ms_ts(int64_t ms, bool set) {
  struct timespec ts = {0, UTIME_NOW};
  if (set) {
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec < 0) {
      ts.tv_sec--;
      ts.tv_nsec += 1000000000L;
    }
  }
  return ts;
}

/* Gives the temporary file its attributes and puts it in place; errno
 * (EEXIST when overwrite is false and the target appeared) on failure. */
static bool commit(struct xreq *xr) {
  const struct gxfer *x = xr->x;
  struct timespec ts[2] = {ms_ts(x->atime_ms, x->atime_ms != INT64_MIN),
                           ms_ts(x->mtime_ms, x->mtime_ms != INT64_MIN)};
  if (xr->err) {
    errno = xr->err;
    return false;
  }
  if (fchmod(xr->fd, x->mode >= 0 ? (mode_t)x->mode : 0644) != 0 ||
      ((x->uid >= 0 || x->gid >= 0) &&
       fchown(xr->fd, x->uid >= 0 ? (uid_t)x->uid : (uid_t)-1,
              x->gid >= 0 ? (gid_t)x->gid : (gid_t)-1) != 0) ||
      futimens(xr->fd, ts) != 0)
    return false;
  int fd = xr->fd;
  xr->fd = -1;
  if (close(fd) != 0)
    return false;
  if (x->overwrite)
    return rename(xr->tmp, x->path) == 0;
  if (renameat2(AT_FDCWD, xr->tmp, AT_FDCWD, x->path, RENAME_NOREPLACE) == 0)
    return true;
  if (errno != EINVAL && errno != ENOSYS)
    return false;
  /* a filesystem without RENAME_NOREPLACE */
  if (link(xr->tmp, x->path) != 0)
    return false;
  unlink(xr->tmp);
  return true;
}

static enum MHD_Result upload_end(struct xreq *xr, struct MHD_Connection *conn,
                                  const char *method, const char *url) {
  struct sim *sim = xr->sim;
  if (xr->got != xr->x->size)
    return answer(xr, conn, method, url, 400,
                  "guestFile: the body is not the announced size\n", NULL);
  if (!commit(xr)) {
    char text[256];
    int e = errno;
    snprintf(text, sizeof text, "guestFile: cannot write the file: %s\n",
             strerror(e));
    return answer(xr, conn, method, url, e == EEXIST ? 409 : 500, text, NULL);
  }
  free(xr->tmp);
  xr->tmp = NULL;
  xr->done = true;
  state_xfer_release(sim, xr->x->id, true);
  state_xfer_note(sim, XN_UPLOAD, 0);
  return answer(xr, conn, method, url, 200, "", NULL);
}

/* ---- the handler ------------------------------------------------------------
 */

static enum MHD_Result begin(struct xreq *xr, struct MHD_Connection *conn,
                             const char *url, const char *method) {
  struct sim *sim = xr->sim;
  bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0;
  state_xfer_note(sim, XN_REQUEST, 0);
  if (strcmp(url, "/guestFile") != 0)
    return answer(xr, conn, method, url, 404, "Not Found\n", NULL);
  if (!get && !put)
    return answer(xr, conn, method, url, 405, "Method Not Allowed\n",
                  "GET, PUT");
  const char *id_s =
      MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
  const char *token =
      MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
  int64_t id;
  if (!id_s || !token || !util_parse_int64(id_s, &id))
    return answer(xr, conn, method, url, 400,
                  "guestFile: the URL needs id and token\n", NULL);
  struct gxfer *x;
  enum xfer_refusal why = state_xfer_claim(sim, id, token, put, &x);
  if (why != XR_OK)
    return refuse(xr, conn, method, url, why);
  if (get) {
    enum MHD_Result ret = download(xr, conn, method, url, x);
    state_xfer_free(x);
    return ret;
  }
  return upload_start(xr, conn, method, url, x);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **con_cls) {
  struct xreq *xr = *con_cls;
  (void)version;
  if (!xr) {
    *con_cls = xr = xcalloc(1, sizeof *xr);
    xr->sim = cls;
    xr->fd = -1;
  }
  if (!xr->started) {
    xr->started = true;
    return begin(xr, conn, url, method);
  }
  if (xr->responded || !xr->x || xr->fd < 0) { /* a body nobody wants */
    *data_size = 0;
    return MHD_YES;
  }
  if (*data_size > 0) {
    write_chunk(xr, data, *data_size);
    *data_size = 0;
    if (xr->inject == XF_CUT && xr->got >= xr->x->size / 2) {
      state_xfer_note(xr->sim, XN_FAILED, 0);
      if (xr->sim->cfg.verbose)
        fprintf(stderr, "transfer: %s %s (cut)\n", method, url);
      return MHD_NO; /* the connection is closed midway */
    }
    return MHD_YES;
  }
  return upload_end(xr, conn, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct xreq *xr = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (!xr)
    return;
  if (xr->fd >= 0)
    close(xr->fd);
  if (xr->tmp)
    unlink(xr->tmp);
  if (xr->x && !xr->done)
    state_xfer_release(xr->sim, xr->x->id, false);
  state_xfer_free(xr->x);
  free(xr->tmp);
  free(xr);
  *con_cls = NULL;
}

struct transfer {
  struct MHD_Daemon *d;
  struct tls_tickets *tickets;
};

void transfer_stop(struct transfer *t) {
  if (!t)
    return;
  if (t->d)
    MHD_stop_daemon(t->d);
  tls_tickets_free(t->tickets);
  free(t);
}

struct transfer *transfer_start(struct sim *sim, const char *cert_pem,
                                const char *key_pem, unsigned *port) {
  struct sockaddr_storage ss;
  bool v6;
  /* one polling thread for every connection: a handler reads or writes
   * at most a block of a file and never waits */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TLS;
  if (!util_sockaddr(sim->cfg.bind, sim->cfg.transfer_port, &ss, &v6))
    return NULL;
  if (v6)
    flags |= MHD_USE_IPv6;
  struct transfer *t = xcalloc(1, sizeof *t);
  t->tickets = tls_tickets_new();
  if (!t->tickets) {
    transfer_stop(t);
    return NULL;
  }
  t->d = MHD_start_daemon(
      flags, (uint16_t)sim->cfg.transfer_port, NULL, NULL, on_request, sim,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_CERT,
      cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, sim, MHD_OPTION_NOTIFY_CONNECTION, tls_on_connection,
      t->tickets, MHD_OPTION_CONNECTION_LIMIT, sim->cfg.conn_limit,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)SIM_LISTEN_BACKLOG,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
  if (!t->d) {
    transfer_stop(t);
    return NULL;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_BIND_PORT);
  *port = info ? info->port : sim->cfg.transfer_port;
  return t;
}
