/* One HTTP exchange of an op: a curl easy handle on the runtime's multi
   handle, reusing the kept-alive connections of its session (the session's
   share), with the session's TLS settings, the response gathered into
   buffers. */
#include "internal.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* No vCenter answer is anywhere near this; a larger one is refused rather
   than buffered without end. */
#define MAX_RESPONSE (64u << 20)

struct vgi_http {
  int too_large;
  CURL *easy;
  vg_op *op;
  struct curl_slist *headers;
  char *body; /* request body, zeroed on free */
  vgi_buf resp;
  char *token;
  char *content_type;
  char errbuf[CURL_ERROR_SIZE];
  const char *thumbprint; /* borrowed from the session */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  vgi_http *h = ud;
  if (h->resp.len + size * n > MAX_RESPONSE) {
    h->too_large = 1;
    return 0;
  }
  if (vgi_buf_add(&h->resp, p, size * n))
    return 0;
  return size * n;
}

static char *header_value(const char *line, size_t len, const char *name) {
  size_t nl = strlen(name);
  if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return NULL;
  const char *v = line + nl + 1, *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  vgi_http *h = ud;
  size_t len = size * n;
  char *v;
  if ((v = header_value(p, len, "vmware-api-session-id")) != NULL) {
    if (h->token) {
      vgi_zero(h->token, strlen(h->token));
      free(h->token);
    }
    h->token = v;
  } else if ((v = header_value(p, len, "content-type")) != NULL) {
    free(h->content_type);
    h->content_type = v;
  }
  return len;
}

/* ---- certificate thumbprint pinning ---------------------------------- */

static int pin_index = -1;

static int pin_verify(int ok, X509_STORE_CTX *x) {
  (void)ok;
  SSL *ssl =
      X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
  const char *want =
      ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_index) : NULL;
  X509 *leaf = X509_STORE_CTX_get0_cert(x);
  if (!want || !leaf)
    return 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  const EVP_MD *type = strlen(want) == 40 ? EVP_sha1() : EVP_sha256();
  if (!X509_digest(leaf, type, md, &mdlen))
    return 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < mdlen; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  if (strcmp(hex, want) != 0)
    return 0;
  /* The pinned leaf is trusted as such: chain errors do not matter. */
  X509_STORE_CTX_set_error(x, X509_V_OK);
  return 1;
}

static CURLcode on_ssl_ctx(CURL *e, void *sslctx, void *ud) {
  (void)e;
  vgi_http *h = ud;
  if (pin_index < 0)
    pin_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  SSL_CTX_set_ex_data(sslctx, pin_index, (void *)h->thumbprint);
  SSL_CTX_set_verify(sslctx, SSL_VERIFY_PEER, pin_verify);
  return CURLE_OK;
}

/* ---- requests ---------------------------------------------------------- */

void vgi_request_clear(vgi_request *r) {
  free(r->path);
  vgi_zfree(r->body);
  r->path = NULL;
  r->body = NULL;
}

static void free_headers(struct curl_slist *l) {
  for (struct curl_slist *i = l; i; i = i->next)
    vgi_zero(i->data, strlen(i->data));
  curl_slist_free_all(l);
}

static void http_free(vgi_http *h) {
  if (!h)
    return;
  if (h->easy)
    curl_easy_cleanup(h->easy);
  free_headers(h->headers);
  vgi_zfree(h->body);
  vgi_buf_zfree(&h->resp);
  if (h->token) {
    vgi_zero(h->token, strlen(h->token));
    free(h->token);
  }
  free(h->content_type);
  free(h);
}

static int add_header(vgi_http *h, const char *line) {
  struct curl_slist *l = curl_slist_append(h->headers, line);
  if (!l)
    return -1;
  h->headers = l;
  return 0;
}

/* "Authorization: Basic base64(user:password)", zeroed after use. */
static int add_basic_auth(vgi_http *h, const vg_session *s) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  vgi_buf plain = {0}, line = {0};
  int rc = -1;
  if (vgi_buf_printf(&plain, "%s:", s->user) ||
      vgi_buf_add(&plain, vg_secret_reveal(s->password),
                  vg_secret_len(s->password)) ||
      vgi_buf_printf(&line, "Authorization: Basic "))
    goto out;
  const unsigned char *p = (const unsigned char *)plain.data;
  for (size_t i = 0; i < plain.len; i += 3) {
    unsigned v = (unsigned)p[i] << 16;
    if (i + 1 < plain.len)
      v |= (unsigned)p[i + 1] << 8;
    if (i + 2 < plain.len)
      v |= p[i + 2];
    char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                 i + 1 < plain.len ? b64[(v >> 6) & 63] : '=',
                 i + 2 < plain.len ? b64[v & 63] : '='};
    if (vgi_buf_add(&line, q, 4))
      goto out;
  }
  rc = add_header(h, line.data);
out:
  vgi_buf_zfree(&plain);
  vgi_buf_zfree(&line);
  return rc;
}

static int add_token(vgi_http *h, const vg_session *s) {
  vgi_buf line = {0};
  int rc = vgi_buf_printf(&line, "vmware-api-session-id: ") ||
                   vgi_buf_add(&line, vg_secret_reveal(s->token),
                               vg_secret_len(s->token))
               ? -1
               : add_header(h, line.data);
  vgi_buf_zfree(&line);
  return rc;
}

vg_status vgi_http_start(vg_session *s, vg_op *op, vgi_request *req) {
  vgi_http *h = calloc(1, sizeof *h);
  char *url = NULL;
  vg_status st = VG_ENOMEM;
  if (!h)
    goto fail;
  h->op = op;
  h->body = req->body;
  req->body = NULL;
  h->thumbprint = s->thumbprint;
  url = vgi_printf("%s%s", s->server, req->path);
  h->easy = curl_easy_init();
  if (!url || !h->easy)
    goto fail;
  CURL *e = h->easy;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)h);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   s->timeout_ms < 15000 ? s->timeout_ms : 15000L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_SHARE, s->share);
  if (req->once)
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "vguest/" VG_VERSION);
  if (s->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (s->thumbprint) {
    /* The pin replaces chain and name checks (pin_verify). */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h);
  } else if (s->ca_file) {
    curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
  }
  if (strcmp(req->method, "GET") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
  if (h->body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(h->body));
    if (add_header(h, "Content-Type: application/json"))
      goto fail;
  } else if (strcmp(req->method, "POST") == 0) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
  }
  if (add_header(h, "Accept: application/json") || add_header(h, "Expect:"))
    goto fail;
  if (req->header && add_header(h, req->header))
    goto fail;
  if (req->basic_auth && add_basic_auth(h, s))
    goto fail;
  if (!req->no_token && s->token && add_token(h, s))
    goto fail;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  if (curl_multi_add_handle(vgi_runtime_multi(s->rt), e) != CURLM_OK)
    goto fail;
  free(url);
  vgi_request_clear(req);
  op->http = h;
  op->token_gen = s->token_gen;
  return VG_OK;
fail:
  free(url);
  vgi_request_clear(req);
  http_free(h);
  return st;
}

void vgi_http_cancel(vgi_http *h) {
  if (!h)
    return;
  curl_multi_remove_handle(vgi_runtime_multi(h->op->rt), h->easy);
  http_free(h);
}

void vgi_http_done(vgi_http *h, CURLcode code) {
  vg_op *op = h->op;
  vgi_response r;
  memset(&r, 0, sizeof r);
  long status = 0;
  curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
  r.status = code == CURLE_OK ? status : 0;
  r.body = h->resp.data ? h->resp.data : "";
  r.len = h->resp.len;
  r.token = h->token;
  r.content_type = h->content_type;
  r.curl = code;
  r.curl_error = h->errbuf[0] ? h->errbuf : curl_easy_strerror(code);
  /* Once request bytes left, the server may have acted on them. */
  long sent = 0;
  curl_easy_getinfo(h->easy, CURLINFO_REQUEST_SIZE, &sent);
  r.sent = code == CURLE_OK || sent > 0;
  if (h->too_large) {
    r.status = 0;
    r.curl = CURLE_FILESIZE_EXCEEDED;
    r.curl_error = "the answer is larger than 64 MiB";
  }
  op->http = NULL;
  vgi_session_response(op, &r);
  http_free(h);
}
