/* One HTTP exchange: a curl easy handle on the runtime's loop, sharing the
   connections of its pool, with the pool's TLS policy. */
#include "http.h"

#include "error.h"
#include "loop.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_ANSWER (64u << 20)
/* Response headers kept per exchange; more is refused as too large. */
#define MAX_HEADERS (1u << 20)

struct vgi_pool {
  vgi_tls tls; /* owned copies */
  CURLSH *share;
  size_t limit;            /* requests in flight at most; 0: no limit */
  size_t active;           /* requests handed to libcurl */
  vgi_http *qhead, *qtail; /* requests waiting for a slot, oldest first */
};

typedef enum body_kind {
  BODY_NONE,       /* a GET or DELETE */
  BODY_EMPTY_POST, /* a POST with no body, and so no content type */
  BODY_FIELDS,     /* h->body, which libcurl may send again */
  BODY_ONCE,       /* h->body read through on_read, never rewound */
  BODY_UPLOAD      /* body_fp or body_read, through on_read */
} body_kind;

struct vgi_http {
  vgi_transfer xfer; /* first: the loop's handle on us */
  vg_runtime *rt;
  vgi_pool *pool;
  int admitted;            /* handed to libcurl (counted in pool->active) */
  vgi_http *qprev, *qnext; /* in pool's queue while not admitted */
  CURL *easy;
  vgi_http_done_fn done;
  void *ud;
  struct curl_slist *headers;
  vgi_buf body;
  FILE *body_fp;
  vgi_http_read_fn body_read;
  void *body_ud;
  vgi_buf answer;
  size_t max_answer;
  vgi_http_sink_fn sink;
  void *sink_ud;
  FILE *sink_fp;
  vgi_buf resp_headers; /* "name\0value\0" pairs of the last header block */
  int too_large;
  int local_error;
  size_t head_len; /* of the URL and the headers given */
  char local_msg[128];
  char errbuf[CURL_ERROR_SIZE];
  int once;         /* the body is read through on_read, never rewound */
  size_t body_pos;  /* of once's body: how much libcurl has read */
  int verify_error; /* OpenSSL's, -1 before any check */
  int pin_mismatch; /* the leaf was not the pinned one */
  char peer_sha256[2 * 32 + 1]; /* the leaf's digest, "" if none seen */
  /* What the easy handle is made of. A request waiting in its pool's
     queue holds only these: the handle (kilobytes of libcurl state) is
     made when the request is admitted, so 10,000 queued polls cost their
     URLs and bodies, not 10,000 handles. */
  char *url;
  char *method; /* CURLOPT_CUSTOMREQUEST, NULL for a GET or a PUT upload */
  body_kind bkind;
  int64_t up_size; /* BODY_UPLOAD: -1 when chunked */
  long timeout_ms, connect_timeout_ms, stall_timeout_ms;
  int fresh; /* a connection of its own (a once request, no body) */
};

/* ---- pools ------------------------------------------------------------- */

vg_status vgi_pool_new(const vgi_tls *tls, vgi_pool **out) {
  *out = NULL;
  vgi_pool *p = calloc(1, sizeof *p);
  if (!p)
    return VG_ENOMEM;
  p->tls.insecure = tls && tls->insecure;
  p->tls.ca_file = tls ? vgi_strdup0(tls->ca_file) : NULL;
  p->tls.thumbprint = tls ? vgi_strdup0(tls->thumbprint) : NULL;
  p->share = curl_share_init();
  if (!p->share || (tls && tls->ca_file && !p->tls.ca_file) ||
      (tls && tls->thumbprint && !p->tls.thumbprint)) {
    vgi_pool_free(p);
    return VG_ENOMEM;
  }
  curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  *out = p;
  return VG_OK;
}

void vgi_pool_free(vgi_pool *p) {
  if (!p)
    return;
  if (p->share)
    curl_share_cleanup(p->share);
  free((char *)p->tls.ca_file);
  free((char *)p->tls.thumbprint);
  free(p);
}

void vgi_pool_set_limit(vgi_pool *p, size_t n) {
  p->limit = n;
}

size_t vgi_pool_queued(const vgi_pool *p) {
  size_t n = 0;
  for (const vgi_http *h = p->qhead; h; h = h->qnext)
    n++;
  return n;
}

size_t vgi_pool_active(const vgi_pool *p) {
  return p->active;
}

const vgi_tls *vgi_pool_tls(const vgi_pool *p) {
  return &p->tls;
}

/* ---- certificate checks ------------------------------------------------ */

/* Every verified handshake goes through check_cert (OpenSSL's certificate
   verification callback), which notes the leaf's SHA-256 digest and why
   the check failed, for the message: a pin is then compared with the
   leaf's digest (chain and host name do not matter: the pinned leaf is
   trusted as such), else OpenSSL's own chain verification runs. libcurl
   makes one OpenSSL context per connection, so each handshake reports to
   the exchange that opened its connection. */
static int check_cert(X509_STORE_CTX *x, void *arg) {
  vgi_http *h = arg;
  const char *want = h->pool->tls.thumbprint;
  X509 *leaf = X509_STORE_CTX_get0_cert(x);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
  if (leaf && X509_digest(leaf, EVP_sha256(), md, &mdlen)) {
    for (unsigned int i = 0; i < mdlen; i++)
      snprintf(h->peer_sha256 + 2 * i, 3, "%02x", md[i]);
  }
  if (!want) {
    int ok = X509_verify_cert(x);
    h->verify_error = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(x);
    return ok;
  }
  const EVP_MD *type = strlen(want) == 40 ? EVP_sha1() : EVP_sha256();
  if (!leaf || !X509_digest(leaf, type, md, &mdlen))
    goto refuse;
  for (unsigned int i = 0; i < mdlen; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  if (strcmp(hex, want) != 0)
    goto refuse;
  X509_STORE_CTX_set_error(x, X509_V_OK);
  h->verify_error = X509_V_OK;
  return 1;
refuse:
  h->pin_mismatch = 1;
  X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
  return 0;
}

static CURLcode on_ssl_ctx(CURL *e, void *sslctx, void *ud) {
  (void)e;
  vgi_http *h = ud;
  /* With a pin libcurl set SSL_VERIFY_NONE (verification is ours): a
     failed pin must still end the handshake. */
  if (h->pool->tls.thumbprint)
    SSL_CTX_set_verify(sslctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_cert_verify_callback(sslctx, check_cert, h);
  return CURLE_OK;
}

static void apply_tls(vgi_http *h, const vgi_pool *p) {
  CURL *e = h->easy;
  curl_easy_setopt(e, CURLOPT_SHARE, p->share);
  if (p->tls.insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    return;
  }
  if (p->tls.thumbprint) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (p->tls.ca_file) {
    curl_easy_setopt(e, CURLOPT_CAINFO, p->tls.ca_file);
  }
  curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
  curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
}

/* What was wrong with the server's certificate, for a failed exchange. */
static vgi_tls_problem tls_problem(const vgi_http *h, CURLcode code) {
  if (h->pin_mismatch)
    return VGI_TLS_WRONG_PIN;
  switch (h->verify_error) {
  case X509_V_ERR_CERT_HAS_EXPIRED:
    return VGI_TLS_EXPIRED;
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return VGI_TLS_NOT_YET_VALID;
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_UNTRUSTED:
    return VGI_TLS_UNTRUSTED;
  case X509_V_OK:
    /* the chain was fine: libcurl checks the host name after it */
    return code == CURLE_PEER_FAILED_VERIFICATION && h->peer_sha256[0] &&
                   !h->pool->tls.thumbprint
               ? VGI_TLS_WRONG_HOST
               : VGI_TLS_OTHER;
  default:
    return h->verify_error >= 0 ? VGI_TLS_OTHER : VGI_TLS_NONE;
  }
}

void vgi_http_tls_error(vgi_error *err, const char *peer, const char *pin,
                        const vgi_http_result *r) {
  const char *what, *advice;
  char fp[3 * 32 + 1] = "";
  switch (r->tls_problem) {
  case VGI_TLS_EXPIRED:
    what = "its certificate has expired";
    advice = "renew the server's certificate";
    break;
  case VGI_TLS_NOT_YET_VALID:
    what = "its certificate is not valid yet";
    advice = "check this machine's clock";
    break;
  case VGI_TLS_UNTRUSTED:
    what = "its certificate is not signed by a CA this client trusts";
    advice = NULL; /* ca_file or the pin option */
    break;
  case VGI_TLS_WRONG_HOST:
    what = "its certificate is for another host name";
    advice = "connect with a name the certificate is for (ca_file does "
             "not change this)";
    break;
  case VGI_TLS_WRONG_PIN:
    what = "its certificate is not the one the thumbprint pins";
    advice = NULL;
    break;
  default:
    what = r->curl_error;
    advice = NULL;
    break;
  }
  char hint[128];
  if (!advice) {
    if (r->tls && r->tls->thumbprint)
      snprintf(hint, sizeof hint, "check %s", pin);
    else
      snprintf(hint, sizeof hint,
               "set ca_file to the CA that signed it, or pin it with %s", pin);
    advice = hint;
  }
  if (r->peer_sha256)
    for (size_t i = 0; r->peer_sha256[2 * i] && i < 32; i++)
      snprintf(fp + (i ? 3 * i - 1 : 0), 4, "%s%.2s", i ? ":" : "",
               r->peer_sha256 + 2 * i);
  vgi_error_set_thumbprint(err, fp[0] ? fp : NULL);
  if (what == r->curl_error)
    vgi_error_set(err, VG_ETLS, "TLS with %s failed: %s (%s)%s%s", peer, what,
                  advice, fp[0] ? "; its SHA-256 thumbprint is " : "", fp);
  else
    vgi_error_set(err, VG_ETLS, "TLS with %s failed: %s: %s (%s)%s%s", peer,
                  what, r->curl_error, advice,
                  fp[0] ? "; its SHA-256 thumbprint is " : "", fp);
}

/* ---- callbacks --------------------------------------------------------- */

static void local_error(vgi_http *h, const char *what) {
  if (h->local_error)
    return;
  h->local_error = 1;
  snprintf(h->local_msg, sizeof h->local_msg, "%s: %s", what, strerror(errno));
}

static size_t on_answer(char *p, size_t size, size_t n, void *ud) {
  vgi_http *h = ud;
  size_t len = size * n;
  if (h->sink) {
    if (h->sink(p, len, h->sink_ud)) {
      h->local_error = 1;
      snprintf(h->local_msg, sizeof h->local_msg,
               "the receiver of the answer gave up");
      return 0;
    }
    return len;
  }
  if (h->sink_fp) {
    if (fwrite(p, 1, len, h->sink_fp) != len) {
      local_error(h, "cannot write the answer to its file");
      return 0;
    }
    return len;
  }
  if (len > h->max_answer - h->answer.len) {
    h->too_large = 1;
    return 0;
  }
  return vgi_buf_add(&h->answer, p, len) ? 0 : len;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud) {
  vgi_http *h = ud;
  size_t want = size * n;
  if (h->once) { /* the buffered body, handed out once (see on_seek) */
    size_t left = h->body.len - h->body_pos;
    size_t k = want < left ? want : left;
    if (k)
      memcpy(dst, h->body.data + h->body_pos, k);
    h->body_pos += k;
    return k;
  }
  if (h->body_read)
    return h->body_read(dst, want, h->body_ud);
  size_t got = fread(dst, 1, want, h->body_fp);
  if (got < want && ferror(h->body_fp)) {
    local_error(h, "cannot read the body's file");
    return CURL_READFUNC_ABORT;
  }
  return got;
}

/* libcurl rewinds the body of a request it means to send again: when a
   reused connection died before any answer came. A request sent once at
   most refuses, unless libcurl has read none of its body yet (then the
   server cannot have acted on it): the exchange then fails with
   CURLE_SEND_FAIL_REWIND, reported as sent. */
static int on_seek(void *ud, curl_off_t offset, int origin) {
  vgi_http *h = ud;
  if (offset != 0 || origin != SEEK_SET || h->body_pos != 0)
    return CURL_SEEKFUNC_FAIL;
  return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  vgi_http *h = ud;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    /* a new header block (after a 100 Continue, say): forget the last */
    vgi_buf_zfree(&h->resp_headers);
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon)
    return len;
  if (h->resp_headers.len + len > MAX_HEADERS) {
    h->too_large = 1;
    return 0;
  }
  const char *v = colon + 1, *end = p + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
                     end[-1] == '\t'))
    end--;
  if (vgi_buf_add(&h->resp_headers, p, (size_t)(colon - p)) ||
      vgi_buf_add(&h->resp_headers, "", 1) ||
      vgi_buf_add(&h->resp_headers, v, (size_t)(end - v)) ||
      vgi_buf_add(&h->resp_headers, "", 1))
    return 0;
  return len;
}

const char *vgi_http_header(const vgi_http *h, const char *name) {
  const char *found = NULL;
  const char *p = h->resp_headers.data, *end = p + h->resp_headers.len;
  while (p && p < end) {
    const char *value = p + strlen(p) + 1;
    if (strcasecmp(p, name) == 0)
      found = value;
    p = value + strlen(value) + 1;
  }
  return found;
}

/* ---- exchanges --------------------------------------------------------- */

static void http_free(vgi_http *h) {
  if (h->easy)
    curl_easy_cleanup(h->easy);
  free(h->url);
  free(h->method);
  for (struct curl_slist *i = h->headers; i; i = i->next)
    vgi_zero(i->data, strlen(i->data));
  curl_slist_free_all(h->headers);
  vgi_buf_zfree(&h->body);
  vgi_buf_zfree(&h->answer);
  vgi_buf_zfree(&h->resp_headers);
  if (h->body_fp)
    fclose(h->body_fp);
  if (h->sink_fp)
    fclose(h->sink_fp);
  free(h);
}

/* ---- admission ---------------------------------------------------------

   A pool hands libcurl no more requests than its limit (max_connections):
   the others wait in its queue, oldest first, and their timeouts start
   when they are handed over, so waiting for a connection is not counted
   against them. libcurl's own queue (a request added while every
   connection to its host is busy) would serve them in no set order and
   count the wait against their timeouts. */

static void unqueue(vgi_http *h) {
  vgi_pool *p = h->pool;
  if (h->qprev)
    h->qprev->qnext = h->qnext;
  else if (p->qhead == h)
    p->qhead = h->qnext;
  else
    return; /* not queued */
  if (h->qnext)
    h->qnext->qprev = h->qprev;
  else
    p->qtail = h->qprev;
  h->qprev = h->qnext = NULL;
}

static int make_easy(vgi_http *h);

static int admit(vgi_http *h) {
  if (make_easy(h) || vgi_loop_add(h->rt, h->easy))
    return -1;
  h->admitted = 1;
  h->pool->active++;
  return 0;
}

static void on_done(vgi_transfer *t, CURLcode code);

/* Hands queued requests to libcurl while the pool has room. One that
   libcurl refuses (no memory) fails as such. */
static void admit_queued(vgi_pool *p) {
  while (p->qhead && (p->limit == 0 || p->active < p->limit)) {
    vgi_http *h = p->qhead;
    unqueue(h);
    if (admit(h))
      on_done(&h->xfer, CURLE_OUT_OF_MEMORY);
  }
}

/* Gives back h's slot (or its place in the queue). */
static void release_slot(vgi_http *h) {
  if (h->admitted) {
    h->admitted = 0;
    h->pool->active--;
  } else {
    unqueue(h);
  }
}

/* libcurl builds a request's line and headers in a buffer of at most
   1 MiB (its own lines, Host, User-Agent, ..., take well under 4 KiB of
   it) and calls a longer one "out of memory" (CURLE_TOO_LARGE from 8.6):
   the caller gave a name, path or user name too long to send. */
#define CURL_MAX_HEAD (1024 * 1024)

static int head_refused(const vgi_http *h, CURLcode code) {
#if LIBCURL_VERSION_NUM >= 0x080600
  if (code == CURLE_TOO_LARGE)
    code = CURLE_OUT_OF_MEMORY;
#endif
  return code == CURLE_OUT_OF_MEMORY && h->head_len + 4096 > CURL_MAX_HEAD;
}

static void on_done(vgi_transfer *t, CURLcode code) {
  vgi_http *h = (vgi_http *)t;
  vgi_http_result r;
  memset(&r, 0, sizeof r);
  long status = 0, sent = 0;
  if (h->easy) { /* none when it could not be made at admission */
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h->easy, CURLINFO_REQUEST_SIZE, &sent);
  }
  if (h->sink_fp && fflush(h->sink_fp) != 0 && code == CURLE_OK) {
    local_error(h, "cannot write the answer to its file");
    code = CURLE_WRITE_ERROR;
  }
  r.status = code == CURLE_OK ? status : 0;
  r.body = h->answer.data ? h->answer.data : "";
  r.len = h->answer.len;
  r.curl = code;
  r.curl_error = h->errbuf[0] ? h->errbuf : curl_easy_strerror(code);
  r.tls = &h->pool->tls;
  if (code == CURLE_SEND_FAIL_REWIND && h->once)
    r.curl_error = "the connection closed before the answer came";
  if (code != CURLE_OK) {
    r.tls_problem = tls_problem(h, code);
    r.peer_sha256 = h->peer_sha256[0] ? h->peer_sha256 : NULL;
  }
  r.sent = code == CURLE_OK || sent > 0;
  if (h->too_large) {
    r.status = 0;
    r.too_large = 1;
    r.curl = CURLE_FILESIZE_EXCEEDED;
    r.curl_error = "the answer is larger than this client accepts";
  } else if (h->local_error) {
    r.status = 0;
    r.local_error = 1;
    r.curl_error = h->local_msg;
  } else if (head_refused(h, code)) {
    r.head_too_large = 1;
    r.curl_error = "the request line and headers would be over the 1 MiB "
                   "libcurl sends";
  }
  vgi_pool *pool = h->pool;
  release_slot(h);
  h->done(h, &r, h->ud);
  http_free(h);
  admit_queued(pool);
}

static int add_header(vgi_http *h, const char *line) {
  struct curl_slist *l = curl_slist_append(h->headers, line);
  if (!l)
    return -1;
  h->headers = l;
  return 0;
}

/* Takes the body of the request (and the headers it needs); VG_OK or a
   failure status. */
static vg_status take_body(vgi_http *h, const vgi_http_request *req) {
  int post = strcmp(req->method, "POST") == 0;
  if (req->body) {
    h->body = *req->body;
    memset(req->body, 0, sizeof *req->body);
    /* once: read through on_read, so that libcurl cannot send it again */
    h->bkind = req->once && h->body.len > 0 ? BODY_ONCE : BODY_FIELDS;
    h->once = h->bkind == BODY_ONCE;
    return VG_OK;
  }
  int64_t size = req->body_size;
  if (req->body_file) {
    h->body_fp = fopen(req->body_file, "rb");
    if (!h->body_fp)
      return VG_ENOTFOUND;
    if (fseeko(h->body_fp, 0, SEEK_END) != 0 ||
        (size = (int64_t)ftello(h->body_fp)) < 0 ||
        fseeko(h->body_fp, 0, SEEK_SET) != 0)
      return VG_ENOTFOUND;
  } else if (req->body_read) {
    h->body_read = req->body_read;
    h->body_ud = req->body_ud;
  } else {
    h->bkind = post ? BODY_EMPTY_POST : BODY_NONE;
    return post && add_header(h, "Content-Type:") ? VG_ENOMEM : VG_OK;
  }
  h->bkind = BODY_UPLOAD;
  h->up_size = size >= 0 ? size : -1;
  if (size < 0 && add_header(h, "Transfer-Encoding: chunked"))
    return VG_ENOMEM;
  return VG_OK;
}

static void apply_body(vgi_http *h) {
  CURL *e = h->easy;
  switch (h->bkind) {
  case BODY_NONE:
    break;
  case BODY_EMPTY_POST:
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    break;
  case BODY_FIELDS:
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body.data ? h->body.data : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body.len);
    break;
  case BODY_ONCE:
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body.len);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, h);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, h);
    break;
  case BODY_UPLOAD:
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, h);
    if (h->up_size >= 0)
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)h->up_size);
    break;
  }
}

/* Makes the easy handle of an admitted request; 0, or -1 (no memory). */
static int make_easy(vgi_http *h) {
  CURL *e = h->easy = curl_easy_init();
  if (!e)
    return -1;
  apply_body(h);
  curl_easy_setopt(e, CURLOPT_URL, h->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&h->xfer);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
  if (h->timeout_ms > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
  if (h->connect_timeout_ms > 0)
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
  if (h->stall_timeout_ms > 0) {
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                     (h->stall_timeout_ms + 999) / 1000);
  }
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (h->fresh)
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "vguest/" VG_VERSION);
  apply_tls(h, h->pool);
  if (h->method)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h->method);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  return 0;
}

static int bodies(const vgi_http_request *req) {
  return (req->body != NULL) + (req->body_file != NULL) +
         (req->body_read != NULL);
}

vg_status vgi_http_start(vg_runtime *rt, const vgi_http_request *req,
                         vgi_http_done_fn done, void *ud, vgi_http **out) {
  *out = NULL;
  if (!rt || !req || !req->method || !req->url || !req->pool || !done ||
      bodies(req) > 1 || (req->sink && req->sink_file))
    return VG_EMISUSE;
  vgi_http *h = calloc(1, sizeof *h);
  if (!h)
    return VG_ENOMEM;
  vg_status st = VG_ENOMEM;
  h->xfer.done = on_done;
  h->verify_error = -1;
  h->rt = rt;
  h->pool = req->pool;
  h->done = done;
  h->ud = ud;
  h->max_answer = req->max_answer ? req->max_answer : DEFAULT_MAX_ANSWER;
  h->sink = req->sink;
  h->sink_ud = req->sink_ud;
  h->timeout_ms = req->timeout_ms;
  h->connect_timeout_ms = req->connect_timeout_ms;
  h->stall_timeout_ms = req->stall_timeout_ms;
  int put =
      strcmp(req->method, "PUT") == 0 && (req->body_file || req->body_read);
  h->url = strdup(req->url);
  if (!h->url || (strcmp(req->method, "GET") != 0 && !put &&
                  !(h->method = strdup(req->method))))
    goto fail;
  if ((st = take_body(h, req)) != VG_OK)
    goto fail;
  st = VG_ENOMEM;
  h->fresh = req->once && !h->once; /* no body to guard: no reused connection */
  if (req->sink_file && !(h->sink_fp = fopen(req->sink_file, "wb"))) {
    st = VG_ENOTFOUND;
    goto fail;
  }
  h->head_len = strlen(req->url);
  for (const char *const *l = req->headers; l && *l; l++)
    h->head_len += strlen(*l) + 2;
  if (add_header(h, "Expect:"))
    goto fail;
  for (const char *const *l = req->headers; l && *l; l++)
    if (add_header(h, *l))
      goto fail;
  vgi_pool *p = h->pool;
  if (p->qhead || (p->limit && p->active >= p->limit)) {
    h->qprev = p->qtail; /* behind every request already waiting */
    if (p->qtail)
      p->qtail->qnext = h;
    else
      p->qhead = h;
    p->qtail = h;
  } else if (admit(h)) {
    goto fail;
  }
  *out = h;
  return VG_OK;
fail : {
  int e = errno; /* why a local file did not open, for the caller */
  http_free(h);
  errno = e;
  return st;
}
}

void vgi_http_cancel(vgi_http *h) {
  if (!h)
    return;
  vgi_pool *pool = h->pool;
  int was_admitted = h->admitted;
  if (was_admitted)
    vgi_loop_remove(h->rt, h->easy);
  release_slot(h);
  http_free(h);
  if (was_admitted)
    admit_queued(pool);
}

/* A handshake that broke off (the peer reset or closed the connection
   mid-handshake: a proxy restarting) is a transport failure worth a retry,
   not a certificate problem. */
static int handshake_cut(const char *msg) {
  static const char *const cut[] = {"reset by peer",        "SSL_ERROR_SYSCALL",
                                    "unexpected eof",       "Connection reset",
                                    "connection was reset", NULL};
  for (const char *const *c = cut; msg && *c; c++)
    if (strstr(msg, *c))
      return 1;
  return 0;
}

vg_status vgi_http_failure(const vgi_http_result *r) {
  if (r->too_large)
    return VG_EPROTOCOL;
  if (r->local_error || r->head_too_large)
    return VG_EINVALID;
  switch (r->curl) {
  case CURLE_OPERATION_TIMEDOUT:
    return VG_ETIMEDOUT;
  case CURLE_SSL_CONNECT_ERROR:
    return handshake_cut(r->curl_error) ? VG_ETRANSPORT : VG_ETLS;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_ISSUER_ERROR:
    return VG_ETLS;
  case CURLE_OUT_OF_MEMORY:
    /* libcurl's word for a header line over its limit: the answer's
       fault, not this process's memory */
    return r->curl_error && strstr(r->curl_error, "header") ? VG_EPROTOCOL
                                                            : VG_ENOMEM;
  default:
    return VG_ETRANSPORT;
  }
}
