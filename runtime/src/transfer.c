/* Transfers: the bytes of a guest file, through a URL served by the VM's
   ESXi host (vg_transfer_get, vg_transfer_put), and the two steps of a
   whole download or upload in one op (vg_file_download, vg_file_upload).
   A transfer host's answer is its own: a refusal there says nothing
   about the vCenter session. */
#include "session.h"

#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES (64u << 20)

static const char *what(const vg_op *op) {
  return op->kind == VGI_OP_TRANSFER ? "transfer" : vgi_op_kind_name(op->kind);
}

/* Completes a transfer op from the ESXi host's answer. */
static void transfer_done(vg_op *op, vgi_http *h, const vgi_http_result *r) {
  (void)h;
  if (r->status >= 200 && r->status < 300) {
    op->res.size = op->res.data.len ? (int64_t)op->res.data.len : -1;
    vgi_op_complete(op, VG_OK);
    return;
  }
  if (op->res.data_over) {
    vgi_op_fail(op, VG_EPROTOCOL,
                "the guest file is larger than the %zu bytes a download "
                "into memory keeps (max_bytes)",
                op->res.data_cap);
    return;
  }
  if (r->status == 0) {
    vg_status st = vgi_http_failure(r);
    if (st == VG_ETLS) {
      vgi_http_tls_error(&op->err, "the ESXi host", "transfer_thumbprint", r);
      vgi_op_complete(op, st);
    } else
      vgi_op_fail(op, st, "%s with the ESXi host failed: %s", what(op),
                  r->curl_error);
    /* a PUT that left may have written the file: it is not sent again */
    op->err.pub.retryable = 0;
    return;
  }
  vg_status st = r->status == 401 || r->status == 403 ? VG_EUNAUTHORIZED
                 : r->status == 404 || r->status == 410
                     ? VG_ENOTFOUND
                     : vgi_http_status_fallback(r->status);
  if (st == VG_ENOTFOUND)
    vgi_op_fail(op, st,
                "the ESXi host does not know the transfer URL (HTTP %ld): "
                "it was used already, or expired",
                r->status);
  else
    vgi_op_fail(op, st, "the ESXi host refused the %s (HTTP %ld)", what(op),
                r->status);
  op->err.pub.http_status = (int)r->status;
}

static int to_memory(const char *p, size_t n, void *ud) {
  vg_op *op = ud;
  if (n > op->res.data_cap - op->res.data.len) {
    op->res.data_over = 1;
    return -1;
  }
  return vgi_buf_add(&op->res.data, p, n);
}

static vg_status exchange(vg_session *s, vgi_http_request *req, int download,
                          const vg_transfer_spec *spec, vg_callback cb,
                          void *ud, vg_op **out) {
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_TRANSFER, NULL, NULL, cb, ud, &op);
  if (st != VG_OK) {
    if (req->body)
      vgi_buf_zfree(req->body);
    return st;
  }
  if (download && !spec->local_path && !spec->write) {
    op->res.data_cap = spec->max_bytes ? spec->max_bytes : DEFAULT_MAX_BYTES;
    req->sink = to_memory;
    req->sink_ud = op;
  }
  st = vgi_session_exchange(op, req, transfer_done);
  if (st == VG_ENOTFOUND && (req->sink_file || req->body_file)) {
    /* the local file, not the guest's: the op fails and says which */
    const char *path = req->sink_file ? req->sink_file : req->body_file;
    vgi_op_fail(op, VG_EINVALID, "cannot %s the local file %s: %s",
                req->sink_file ? "write" : "read", path, strerror(errno));
  } else if (st != VG_OK) {
    vg_op_free(op);
    return st;
  }
  *out = op;
  return VG_OK;
}

vg_status vg_transfer_get(vg_session *s, const char *url,
                          const vg_transfer_spec *to, vg_callback cb, void *ud,
                          vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s || !url || !*url || !to || to->data || to->read ||
      (to->local_path && to->write))
    return VG_EMISUSE;
  vgi_http_request req;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.url = url;
  req.sink_file = to->local_path;
  req.sink = to->write;
  req.sink_ud = to->ud;
  return exchange(s, &req, 1, to, cb, ud, out);
}

vg_status vg_transfer_put(vg_session *s, const char *url,
                          const vg_transfer_spec *from, int64_t size,
                          vg_callback cb, void *ud, vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  int sources = (from && from->local_path != NULL) +
                (from && (from->data != NULL || from->len)) +
                (from && from->read != NULL);
  if (!s || !url || !*url || !from || sources > 1 || from->write ||
      (from->read && size < 0))
    return VG_EMISUSE;
  vgi_http_request req;
  vgi_buf body = {0};
  memset(&req, 0, sizeof req);
  req.method = "PUT";
  req.url = url;
  if (from->local_path) {
    req.body_file = from->local_path;
  } else if (from->read) {
    req.body_read = from->read;
    req.body_ud = from->ud;
    req.body_size = size;
  } else {
    /* from memory (possibly empty): a copy, zeroed when sent */
    if (vgi_buf_add(&body, from->data ? from->data : "", from->len))
      return VG_ENOMEM;
    req.body = &body;
  }
  return exchange(s, &req, 0, from, cb, ud, out);
}

/* ---- a whole download or upload in one op ------------------------------ */

typedef struct move {
  vg_op *op; /* the whole download or upload */
  vg_session *s;
  vg_credentials *cred;
  char *path;
  vg_transfer_spec spec; /* the caller's, data copied into copy */
  void *copy;
  vg_file_attributes attrs;
  vg_op *sub; /* the op in flight */
} move;

static void move_stop(vg_op *op, void *p, int closing) {
  move *m = p;
  (void)op;
  /* When the session closes it fails the sub-op itself: it is freed when
     its callback comes, or with the op. */
  if (!closing) {
    vg_op_free(m->sub);
    m->sub = NULL;
  }
}

static void move_release(vg_op *op, void *p) {
  move *m = p;
  (void)op;
  vg_op_free(m->sub);
  vg_credentials_free(m->cred);
  free(m->path);
  if (m->copy) {
    vgi_zero(m->copy, m->spec.len);
    free(m->copy);
  }
  free(m);
}

static const vgi_driver move_driver = {move_stop, move_release};

/* Takes the sub-op that completed; NULL when the whole op is over. */
static vg_op *took(move *m, vg_op *sub) {
  m->sub = NULL;
  if (m->op->status != VG_EPENDING) {
    vg_op_free(sub);
    return NULL;
  }
  if (sub->status != VG_OK) {
    vgi_error_copy(&m->op->err, &sub->err);
    vg_status st = sub->status;
    vg_op_free(sub);
    vgi_op_complete(m->op, st);
    return NULL;
  }
  return sub;
}

static void on_moved(vg_op *sub, void *ud) {
  move *m = ud;
  if (!(sub = took(m, sub)))
    return;
  vg_op *op = m->op;
  vgi_buf_zfree(&op->res.data);
  op->res.data = sub->res.data;
  memset(&sub->res.data, 0, sizeof sub->res.data);
  op->res.size = sub->res.size;
  vg_op_free(sub);
  vgi_op_complete(op, VG_OK);
}

/* The URL is known: the bytes go. */
static void on_url(vg_op *sub, void *ud) {
  move *m = ud;
  if (!(sub = took(m, sub)))
    return;
  vg_status st = m->op->kind == VGI_OP_DOWNLOAD
                     ? vg_transfer_get(m->s, vg_op_path(sub), &m->spec,
                                       on_moved, m, &m->sub)
                     : vg_transfer_put(m->s, vg_op_path(sub), &m->spec,
                                       m->attrs.size, on_moved, m, &m->sub);
  vg_op_free(sub);
  if (st != VG_OK)
    vgi_op_fail(m->op, st, "%s of %s: cannot start the transfer (%s)",
                vgi_op_kind_name(m->op->kind), m->path, vg_status_text(st));
}

static vg_status start_move(vg_session *s, vgi_op_kind kind, const char *vm,
                            const vg_credentials *c, const char *path,
                            const vg_file_attributes *a,
                            const vg_transfer_spec *spec, vg_callback cb,
                            void *ud, vg_op **out) {
  move *m = calloc(1, sizeof *m);
  if (!m)
    return VG_ENOMEM;
  m->s = s;
  m->spec = *spec;
  if (a)
    m->attrs = *a;
  if (!(m->path = strdup(path)) || vgi_credentials_dup(c, &m->cred) != VG_OK ||
      (spec->data && spec->len && !(m->copy = malloc(spec->len)))) {
    move_release(NULL, m);
    return VG_ENOMEM;
  }
  if (m->copy) {
    memcpy(m->copy, spec->data, spec->len);
    m->spec.data = m->copy;
  }
  vg_status st =
      vgi_session_driven(s, kind, vm, &move_driver, m, cb, ud, &m->op);
  if (st != VG_OK) {
    move_release(NULL, m);
    return st;
  }
  st = kind == VGI_OP_DOWNLOAD
           ? vg_transfer_from_guest(s, vm, m->cred, path, on_url, m, &m->sub)
           : vg_transfer_to_guest(s, vm, m->cred, path, &m->attrs, on_url, m,
                                  &m->sub);
  if (st != VG_OK) {
    vg_op_free(m->op); /* releases m */
    return st;
  }
  *out = m->op;
  return VG_OK;
}

vg_status vg_file_download(vg_session *s, const char *vm,
                           const vg_credentials *c, const char *path,
                           const vg_transfer_spec *to, vg_callback cb, void *ud,
                           vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s || !vm || !*vm || !c || !path || !*path || !to || to->data ||
      to->read || (to->local_path && to->write))
    return VG_EMISUSE;
  return start_move(s, VGI_OP_DOWNLOAD, vm, c, path, NULL, to, cb, ud, out);
}

/* The size of an upload's source: a file's, memory's, or the one given. */
static int64_t source_size(const vg_transfer_spec *from, int64_t given) {
  if (from->local_path) {
    FILE *f = fopen(from->local_path, "rb");
    int64_t n = -1;
    if (f && fseeko(f, 0, SEEK_END) == 0)
      n = (int64_t)ftello(f);
    if (f)
      fclose(f);
    return n;
  }
  return from->read ? given : (int64_t)from->len;
}

vg_status vg_file_upload(vg_session *s, const char *vm, const vg_credentials *c,
                         const char *path, const vg_file_attributes *a,
                         const vg_transfer_spec *from, vg_callback cb, void *ud,
                         vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s || !vm || !*vm || !c || !path || !*path || !a || !from ||
      from->write || (from->local_path && (from->data || from->read)) ||
      (from->data && from->read))
    return VG_EMISUSE;
  vg_file_attributes attrs = *a;
  attrs.size = source_size(from, a->size);
  if (attrs.size < 0)
    return from->local_path ? VG_ENOTFOUND : VG_EMISUSE;
  return start_move(s, VGI_OP_UPLOAD, vm, c, path, &attrs, from, cb, ud, out);
}
