/* One HTTP exchange to any absolute URL, on the runtime's loop: a request
   body from memory, a file or a read callback; the answer into a capped
   buffer or streamed to a callback or a file; per-request headers; TLS
   by the policy of the pool the request names. It knows nothing of
   sessions, tokens or protocols. */
#ifndef VGUEST_HTTP_H
#define VGUEST_HTTP_H

#include "vguest/vguest.h"

#include "buf.h"

#include <curl/curl.h>
#include <stdint.h>

/* How the server's certificate is checked. */
typedef struct vgi_tls {
  const char *ca_file;    /* PEM bundle; NULL: the system's CAs */
  const char *thumbprint; /* SHA-1 (40) or SHA-256 (64) lower-case hex of
                             the leaf certificate: pins it (chain and name
                             are then not checked) */
  int insecure;           /* no verification at all */
} vgi_tls;

/* max_connections when a session gives none. */
#define VGI_DEFAULT_MAX_CONNECTIONS 64

/* A pool: one TLS policy and the connections, TLS sessions and DNS
   answers made under it. A connection verified under one policy never
   serves a request of another pool (libcurl would reuse it: it does not
   compare a pin callback). The pool must outlive its requests. */
typedef struct vgi_pool vgi_pool;

/* tls: borrows (copied). *out: returns-owned, vgi_pool_free. */
vg_status vgi_pool_new(const vgi_tls *tls, vgi_pool **out);
void vgi_pool_free(vgi_pool *p); /* NULL is a no-op */
const vgi_tls *vgi_pool_tls(const vgi_pool *p);
/* Requests of the pool in flight at most (max_connections; 0: no limit).
   The others wait, first come first served, and their timeouts start when
   their turn comes. */
void vgi_pool_set_limit(vgi_pool *p, size_t n);
size_t vgi_pool_active(const vgi_pool *p); /* handed to libcurl */
size_t vgi_pool_queued(const vgi_pool *p); /* waiting for a slot */

typedef size_t (*vgi_http_read_fn)(char *dst, size_t n, void *ud);
typedef int (*vgi_http_sink_fn)(const char *p, size_t n, void *ud); /* 0 ok */

typedef struct vgi_http_request {
  const char *method; /* "GET", "POST", "PUT", "DELETE", ... */
  const char *url;    /* absolute http(s) URL */
  vgi_pool *pool;     /* required: TLS policy and connection cache */
  /* Extra header lines ("Name: value"), NULL-terminated, or NULL. They may
     hold a secret: the copies are zeroed when the exchange ends. */
  const char *const *headers;

  /* The body: at most one of the three. */
  vgi_buf *body;         /* from memory: its contents are taken over (b is left
                            empty) and zeroed when the exchange ends */
  const char *body_file; /* a local file, streamed */
  vgi_http_read_fn body_read; /* a callback (returns 0 at the end) */
  void *body_ud;
  int64_t body_size; /* with body_read: the length, or -1: chunked */

  /* The answer: buffered (capped at max_answer bytes, 0: 64 MiB), or
     streamed to sink or to sink_file (created or truncated). */
  size_t max_answer;
  vgi_http_sink_fn sink;
  void *sink_ud;
  const char *sink_file;

  long timeout_ms;         /* whole exchange, 0: none */
  long connect_timeout_ms; /* 0: libcurl's default */
  long stall_timeout_ms;   /* fail when no byte moved for this long; 0: no */
  int once; /* sent at most once: libcurl silently re-sends a request whose
               reused connection died before an answer came, and a create
               must not run twice. Its body is handed to libcurl through a
               read callback that refuses to rewind once read (the exchange
               then fails as sent: the server may have acted); a request
               with no body gets a fresh connection instead. */
} vgi_http_request;

typedef struct vgi_http vgi_http;

/* What came back; valid during the done callback only. */
/* What was wrong with the server's certificate. */
typedef enum vgi_tls_problem {
  VGI_TLS_NONE,          /* no certificate was checked, or it was fine */
  VGI_TLS_EXPIRED,       /* past its notAfter */
  VGI_TLS_NOT_YET_VALID, /* before its notBefore (a clock off?) */
  VGI_TLS_UNTRUSTED,     /* not signed by a CA of ca_file or the system's */
  VGI_TLS_WRONG_HOST,    /* a good chain, for another host name */
  VGI_TLS_WRONG_PIN,     /* not the certificate the thumbprint pins */
  VGI_TLS_OTHER          /* refused for another reason */
} vgi_tls_problem;

typedef struct vgi_http_result {
  long status;      /* HTTP status, 0 when there was no answer */
  const char *body; /* the buffered answer, NUL-terminated ("" if none or
                       streamed) */
  size_t len;
  CURLcode curl; /* CURLE_OK, or why the exchange failed */
  const char *curl_error;
  int sent;           /* request bytes left: the server may have acted */
  int too_large;      /* the answer passed max_answer (curl is then
                         CURLE_FILESIZE_EXCEEDED) */
  int local_error;    /* the body file could not be read or the sink file
                         written (curl_error says which) */
  int head_too_large; /* libcurl would not build a request line and headers
                         that long (a name, path or user name in them) */
  const vgi_tls *tls; /* the policy the exchange ran under */
  vgi_tls_problem tls_problem; /* of a failed exchange */
  const char *peer_sha256;     /* the server certificate's SHA-256 digest
                                  (lowercase hex) when a failed exchange saw
                                  one, else NULL */
} vgi_http_result;

/* Sets err (kind tls) for an exchange that failed its TLS check: what was
   wrong with peer's certificate (peer: the server, or "the ESXi host"),
   what to do about it (pin: the option that pins it), and the
   certificate's SHA-256 thumbprint when one was seen, colon-separated as
   the pin options take it. */
struct vgi_error;
void vgi_http_tls_error(struct vgi_error *err, const char *peer,
                        const char *pin, const vgi_http_result *r);

/* Called once, from vg_runtime_step, when the exchange ends (it is freed
   when the callback returns). */
typedef void (*vgi_http_done_fn)(vgi_http *h, const vgi_http_result *r,
                                 void *ud);

/* Starts an exchange. req: borrows (everything is copied or taken over
   before return). *out: the exchange, valid until done runs or
   vgi_http_cancel. VG_EMISUSE for a bad request, VG_ENOTFOUND when
   body_file cannot be opened, VG_ENOMEM. */
vg_status vgi_http_start(vg_runtime *rt, const vgi_http_request *req,
                         vgi_http_done_fn done, void *ud, vgi_http **out);

/* Stops and frees an exchange; done is not called. NULL is a no-op. */
void vgi_http_cancel(vgi_http *h);

/* The status of an exchange that got no answer (r->status == 0):
   VG_ETIMEDOUT, VG_ETLS, VG_ENOMEM, VG_EPROTOCOL (too large), VG_EINVALID
   (a local file or sink failed), else VG_ETRANSPORT. */
vg_status vgi_http_failure(const vgi_http_result *r);

/* A response header's value (the last one of that name, case-insensitive),
   or NULL. Valid during the done callback. Header storage is zeroed. */
const char *vgi_http_header(const vgi_http *h, const char *name);

#endif
