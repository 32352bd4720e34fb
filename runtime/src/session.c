/*
 * Sessions: one login shared by all work on it.
 *
 * State machine: OUT -> LOGGING_IN -> IN. An op started while the session is
 * not IN waits in the session's queue; the first one starts a login (an
 * internal LOGIN op). When the login ends the queue is sent, or failed with
 * the login's error.
 *
 * A request whose token is rejected (expired session) is re-sent after a
 * new login, up to MAX_RELOGINS times: a rejected request was never
 * executed, so this holds even for create, and one still rejected after
 * that is retryable. On the vAPI flavours a 401 on a guest operation may
 * also mean "bad guest credentials"; a cheap CHECK of the token tells the
 * two apart.
 * A request whose answer was lost in transport is retried once only when it
 * is idempotent; a lost create is reported (maybe_done), never re-sent.
 *
 * The protocol flavour is one vgi_proto behind this file (proto.h); with
 * VG_PROTOCOL_AUTO the first login probes the registry's order.
 */
#include "session.h"

#include "credentials.h"
#include "http.h"
#include "json.h"
#include "loop.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The session's side of one op. */
typedef struct sop {
  vg_session *s; /* NULL once the session is gone */
  vg_op *op;
  vgi_call call;
  vg_credentials *cred;    /* owned copy */
  struct sop *prev, *next; /* the session's ops */
  struct sop *q_next;      /* the queue waiting for the login */
  int queued;
  vgi_http *http; /* exchange in flight, or NULL */
  int token_gen;  /* token generation the request was sent with */
  int relogins;   /* re-logins for this op (a rejected request never ran,
                     so even a create may be sent again) */
  int transport_retried;
  vg_op *check;          /* internal CHECK deciding this op's 401 */
  vgi_error saved;       /* the ambiguous 401 while checking */
  size_t probe;          /* login: place in the auto probe order */
  const vgi_driver *drv; /* driven ops: the layer driving it */
  void *drv_state;
  vgi_exchange_done xdone; /* transfer exchanges: who reads the answer */
} sop;

/* A transfer host pinned by name. */
typedef struct pin {
  char *host;
  vgi_pool *pool;
} pin;

struct vg_session {
  vg_runtime *rt;
  char *server; /* without trailing slash */
  char *user;
  vg_secret *password;
  vg_protocol want;
  const vgi_proto *proto; /* NULL until known */
  void *pstate;           /* proto's state: one of states[] */
  void **states;          /* per flavour of the probe order */
  vgi_pool *pool;         /* this session's connections and TLS policy */
  char *host;             /* the server's host, for "*" in transfer URLs */
  vgi_pool *xfer_pool;    /* transfer hosts without a pin of their own */
  pin *pins;
  size_t npins;
  int closing; /* vg_session_free is failing its ops */
  long timeout_ms;

  vg_secret *token;
  int token_gen;
  enum { S_OUT, S_LOGGING_IN, S_IN } state;
  vg_op *login_op; /* internal login in flight */
  sop *queue_head, *queue_tail;
  sop *ops; /* every op of this session */
  char *server_release;
  int ever_in; /* logged in once: the flavour is settled */
  int zombie;  /* freed by the user; lives until its background logout */
};

/* Sessions may expire again right after a re-login (a vCenter under
   load, a short session lifetime): an op logs in again up to this often,
   each time with the token a new login gave. */
#define MAX_RELOGINS 3

static const vgi_op_hooks hooks;
static vg_status session_new(vg_runtime *rt, const vg_session_options *o,
                             vg_session **out, const char **why);
static void send_op(sop *o);
static void start_login(vg_session *s, vg_op *login);
static sop *dequeue_all(vg_session *s);
static void session_destroy(vg_session *s);

static sop *of(const vg_op *op) {
  return op->owner;
}

/* Use this flavour (i: its place in the probe order). */
static void use(vg_session *s, size_t i) {
  s->proto = vgi_protocol_probe(i);
  s->pstate = s->proto ? s->states[i] : NULL;
}

static size_t place_of(const vgi_proto *p) {
  size_t i = 0;
  while (vgi_protocol_probe(i) && vgi_protocol_probe(i) != p)
    i++;
  return i;
}

/* ---- creation ---------------------------------------------------------- */

static char *normalize_thumbprint(const char *t) {
  size_t n = 0, len = strlen(t);
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)t[i];
    if (c == ':' || c == ' ')
      continue;
    if (!isxdigit(c)) {
      free(out);
      return NULL;
    }
    out[n++] = (char)tolower(c);
  }
  out[n] = '\0';
  if (n != 40 && n != 64) {
    free(out);
    return NULL;
  }
  return out;
}

/* Whether p, what follows a server URL's host and port, is nothing or one
   of the endpoints users copy from other tools (govc's and pyVmomi's
   https://vc/sdk), which vguest drops: it picks the endpoint itself.
   Trailing slashes do not count. */
static int is_endpoint(const char *p) {
  static const char *const known[] = {"/sdk/vim25", "/sdk", "/api", "/rest",
                                      NULL};
  size_t n = strlen(p);
  while (n > 0 && p[n - 1] == '/')
    n--;
  if (n == 0)
    return 1;
  for (const char *const *k = known; *k; k++)
    if (n == strlen(*k) && strncasecmp(p, *k, n) == 0)
      return 1;
  return 0;
}

static const char *check_options(const vg_session_options *o) {
  if (!o->server || !*o->server)
    return "server is required";
  if (!o->user || !*o->user)
    return "user is required (or in the server URL: https://user:pw@host)";
  if (!o->password)
    return "password is required (or in the server URL)";
  if (!vg_protocol_name(o->protocol))
    return "protocol must be auto, api, rest or vim25";
  if (o->timeout_ms < 0 || o->max_connections < 0)
    return "timeout and max_connections must not be negative";
  if (o->insecure && o->thumbprint && *o->thumbprint)
    return "insecure and thumbprint exclude each other: a pin is a check, "
           "insecure turns every check off";
  if (o->insecure && o->ca_file && *o->ca_file)
    return "insecure and ca_file exclude each other: ca_file is for "
           "verifying, insecure turns verification off";
  if (o->insecure_transfers &&
      (o->transfer_thumbprint || (o->transfer_pins && *o->transfer_pins)))
    return "insecure_transfers and transfer pins exclude each other";
  const char *srv = o->server;
  if (strstr(srv, "://") && strncmp(srv, "https://", 8) != 0 &&
      strncmp(srv, "http://", 7) != 0)
    return "server must be an https:// URL or a host name";
  const char *host = strstr(srv, "://");
  host = host ? host + 3 : srv;
  size_t hlen = strcspn(host, "/?#");
  const char *at = memchr(host, '@', hlen); /* user info, taken apart later */
  if (hlen == 0 || (at && at + 1 == host + hlen))
    return "server has no host name (https://HOST[:PORT])";
  if (!is_endpoint(host + hlen))
    return "server must be https://HOST[:PORT] with no path: vguest adds "
           "/api, /rest or /sdk itself (a path of /sdk, /api or /rest, as "
           "govc and pyVmomi take it, is accepted and dropped)";
  return NULL;
}

/* The host of a URL (lower case, IPv6 without brackets), or NULL. */
static char *url_host(const char *url) {
  CURLU *u = curl_url();
  char *h = NULL, *out = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h && *h) {
    size_t n = strlen(h);
    out = (h[0] == '[' && n > 2) ? strndup(h + 1, n - 2) : strdup(h);
    for (char *p = out; p && *p; p++)
      *p = (char)tolower((unsigned char)*p);
  }
  curl_free(h);
  curl_url_cleanup(u);
  return out;
}

/* The TLS pools of the transfer hosts: one per pinned host, one for the
   rest (the session's CA file, the one pin for all, or none). NULL, or
   what is wrong. */
static const char *transfer_pools(vg_session *s, const vg_session_options *o) {
  char *all = NULL;
  if (o->transfer_thumbprint && *o->transfer_thumbprint &&
      !(all = normalize_thumbprint(o->transfer_thumbprint)))
    return "transfer_thumbprint must be a SHA-1 (40) or SHA-256 (64) hex "
           "digest";
  vgi_tls tls = {o->ca_file, all, o->insecure_transfers ? 1 : 0};
  vg_status st = vgi_pool_new(&tls, &s->xfer_pool);
  free(all);
  if (st != VG_OK)
    return "out of memory";
  size_t n = 0;
  for (const char *const *p = o->transfer_pins; p && *p; p++)
    n++;
  if (!n)
    return NULL;
  if (!(s->pins = calloc(n, sizeof *s->pins)))
    return "out of memory";
  for (size_t i = 0; i < n; i++) {
    const char *e = o->transfer_pins[i], *eq = strrchr(e, '=');
    if (!eq || eq == e)
      return "transfer_pins entries must be \"host=thumbprint\"";
    char *fp = normalize_thumbprint(eq + 1);
    if (!fp)
      return "a transfer pin must be a SHA-1 (40) or SHA-256 (64) hex digest";
    pin *p = &s->pins[s->npins++];
    p->host = strndup(e, (size_t)(eq - e));
    for (char *c = p->host; c && *c; c++)
      *c = (char)tolower((unsigned char)*c);
    vgi_tls pt = {NULL, fp, 0};
    st = vgi_pool_new(&pt, &p->pool);
    free(fp);
    if (!p->host || st != VG_OK)
      return "out of memory";
  }
  return NULL;
}

/* A server URL's user info, as govc takes it ("https://user:pass@vc"):
   the user and the password (percent-decoded, the password into a
   secret), and the URL without them. Nothing here is kept in memory that
   is not zeroed. */
typedef struct userinfo {
  char *url;           /* the URL without user info */
  char *user;          /* or NULL */
  vg_secret *password; /* or NULL */
} userinfo;

static int hexval(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* Percent-decodes s[0..n) into b (zeroing). -1 on a bad escape. */
static int decode(vgi_buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
        return -1;
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    }
    if (vgi_buf_add(b, &c, 1))
      return -1;
  }
  return 0;
}

static void userinfo_clear(userinfo *u) {
  free(u->url);
  free(u->user);
  vg_secret_free(u->password);
  memset(u, 0, sizeof *u);
}

/* 0 ok (u filled), -1 no memory or a bad escape. */
static int split_userinfo(const char *srv, userinfo *u) {
  memset(u, 0, sizeof *u);
  const char *auth = strstr(srv, "://");
  auth = auth ? auth + 3 : srv;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < auth + alen; p++)
    if (*p == '@')
      at = p;
  if (!at)
    return (u->url = strdup(srv)) ? 0 : -1;
  const char *colon = memchr(auth, ':', (size_t)(at - auth));
  vgi_buf user = {0}, pass = {0};
  int rc = -1;
  if (decode(&user, auth, (size_t)((colon ? colon : at) - auth)) ||
      (colon && decode(&pass, colon + 1, (size_t)(at - colon - 1))))
    goto out;
  if (user.len && !(u->user = strdup(user.data)))
    goto out;
  if (colon && vg_secret_new(pass.data ? pass.data : "", pass.len,
                             &u->password) != VG_OK)
    goto out;
  u->url = vgi_printf("%.*s%s", (int)(auth - srv), srv, at + 1);
  rc = u->url ? 0 : -1;
out:
  vgi_buf_zfree(&user);
  vgi_buf_zfree(&pass);
  if (rc)
    userinfo_clear(u);
  return rc;
}

/* The server's base URL: https:// added to a bare host, and an endpoint
   path (check_options allowed no other) dropped. */
static char *server_url(const char *srv) {
  char *url = strstr(srv, "://") ? strdup(srv) : vgi_printf("https://%s", srv);
  if (url) {
    char *host = strstr(url, "://") + 3;
    char *path = host + strcspn(host, "/?#");
    if (is_endpoint(path)) /* check_options refused any other */
      *path = '\0';
  }
  return url;
}

vg_status vg_session_new(vg_runtime *rt, const vg_session_options *o,
                         vg_session **out, const char **why) {
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!rt || !o) {
    *why = "runtime and options are required";
    return VG_EMISUSE;
  }
  /* The server URL's user info: user and password when the options give
     none, never shown (every printed form of the server drops it), sent
     only with the login. */
  userinfo ui;
  if (o->server && split_userinfo(o->server, &ui)) {
    *why = "server has a user info part that does not decode";
    return VG_EMISUSE;
  }
  vg_session_options opts = *o;
  if (o->server) {
    opts.server = ui.url;
    if ((!opts.user || !*opts.user) && ui.user)
      opts.user = ui.user;
    if (!opts.password && ui.password)
      opts.password = ui.password;
  }
  vg_status st = session_new(rt, &opts, out, why);
  if (o->server)
    userinfo_clear(&ui);
  return st;
}

static vg_status session_new(vg_runtime *rt, const vg_session_options *o,
                             vg_session **out, const char **why) {
  if ((*why = check_options(o)) != NULL)
    return VG_EMISUSE;
  char *pin = NULL;
  if (o->thumbprint && *o->thumbprint &&
      !(pin = normalize_thumbprint(o->thumbprint))) {
    *why = "thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest";
    return VG_EMISUSE;
  }
  vg_status st;
  vg_session *s = calloc(1, sizeof *s);
  size_t n = vgi_protocol_count();
  if (!s || !(s->states = calloc(n, sizeof *s->states))) {
    free(s);
    free(pin);
    return VG_ENOMEM;
  }
  s->rt = rt;
  s->server = server_url(o->server);
  s->user = strdup(o->user);
  s->want = o->protocol;
  s->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
  st = vg_secret_dup(o->password, &s->password);
  vgi_tls tls = {o->ca_file, pin, o->insecure ? 1 : 0};
  if (st == VG_OK)
    st = vgi_pool_new(&tls, &s->pool);
  free(pin);
  for (size_t i = 0; i < n && st == VG_OK; i++) {
    const vgi_proto *p = vgi_protocol_probe(i);
    if (p->state_new && !(s->states[i] = p->state_new(o->release)))
      st = VG_ENOMEM;
  }
  if (!s->server || !s->user || st != VG_OK) {
    session_destroy(s);
    return VG_ENOMEM;
  }
  if (!(s->host = url_host(s->server))) {
    session_destroy(s);
    *why = "server must be a URL with a host name";
    return VG_EMISUSE;
  }
  if ((*why = transfer_pools(s, o)) != NULL) {
    session_destroy(s);
    return strcmp(*why, "out of memory") == 0 ? (*why = NULL, VG_ENOMEM)
                                              : VG_EMISUSE;
  }
  if (o->protocol != VG_PROTOCOL_AUTO)
    use(s, place_of(vgi_protocol_get(o->protocol)));
  /* max_connections: requests in flight at most, per pool (the vCenter,
     and the ESXi hosts of transfers); libcurl keeps that many idle */
  size_t limit = o->max_connections ? (size_t)o->max_connections
                                    : VGI_DEFAULT_MAX_CONNECTIONS;
  vgi_pool_set_limit(s->pool, limit);
  vgi_pool_set_limit(s->xfer_pool, limit);
  for (size_t i = 0; i < s->npins; i++)
    vgi_pool_set_limit(s->pins[i].pool, limit);
  vgi_runtime_max_connections(rt, (long)(limit * (2 + s->npins)));
  if (o->insecure)
    vgi_runtime_warn(rt,
                     "TLS verification is off for %s (insecure = true): "
                     "anyone on the path can read the credentials",
                     s->server);
  else if (strncmp(s->server, "http://", 7) == 0)
    vgi_runtime_warn(rt, "%s is plain HTTP: credentials travel unencrypted",
                     s->server);
  if (o->insecure_transfers)
    vgi_runtime_warn(rt,
                     "TLS verification is off for the file transfers of %s "
                     "(insecure_transfers = true): anyone on the path can "
                     "read or change the files",
                     s->server);
  *out = s;
  return VG_OK;
}

static void forget_token(vg_session *s) {
  vg_secret_free(s->token);
  s->token = NULL;
  s->state = S_OUT;
}

static void session_destroy(vg_session *s) {
  forget_token(s);
  vgi_pool_free(s->pool);
  vgi_pool_free(s->xfer_pool);
  for (size_t i = 0; i < s->npins; i++) {
    free(s->pins[i].host);
    vgi_pool_free(s->pins[i].pool);
  }
  free(s->pins);
  free(s->host);
  vg_secret_free(s->password);
  for (size_t i = 0; s->states && i < vgi_protocol_count(); i++) {
    const vgi_proto *p = vgi_protocol_probe(i);
    if (p->state_free)
      p->state_free(s->states[i]);
  }
  free(s->states);
  free(s->server);
  free(s->user);
  free(s->server_release);
  free(s);
}

void vg_session_free(vg_session *s) {
  if (!s || s->zombie)
    return;
  /* Pending ops end canceled; every op forgets the session. */
  s->closing = 1;
  dequeue_all(s);
  s->login_op = NULL;
  sop *next;
  for (sop *o = s->ops; o; o = next) {
    next = o->next;
    if (o->op->status == VG_EPENDING)
      vgi_op_fail(o->op, VG_ECANCELED,
                  "session closed while %s was in progress",
                  vgi_op_kind_name(o->op->kind));
  }
  for (sop *o = s->ops; o; o = next) {
    next = o->next;
    o->s = NULL;
    o->prev = o->next = NULL;
  }
  s->ops = NULL;
  if (s->state == S_IN && s->token) {
    vg_op *op = NULL;
    if (vgi_session_op(s, VGI_OP_LOGOUT, NULL, NULL, NULL, NULL, &op) ==
        VG_OK) {
      s->zombie = 1;
      vgi_op_detach(op);
      send_op(of(op));
      return; /* destroyed when the logout op is released */
    }
  }
  session_destroy(s);
}

/* ---- ops of the session ------------------------------------------------ */

vg_status vgi_session_op(vg_session *s, vgi_op_kind kind, const char *vm,
                         const vg_credentials *c, vg_callback cb, void *ud,
                         vg_op **out) {
  *out = NULL;
  if (!s || (s->zombie && kind != VGI_OP_LOGOUT))
    return VG_EMISUSE;
  vg_op *op = vgi_op_new(s->rt, kind, cb, ud);
  sop *o = op ? calloc(1, sizeof *o) : NULL;
  if (!o) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  o->s = s;
  o->op = op;
  op->owner = o;
  op->hooks = &hooks;
  o->next = s->ops;
  if (s->ops)
    s->ops->prev = o;
  s->ops = o;
  if ((vm && !(op->vm = strdup(vm))) ||
      (c && vgi_credentials_dup(c, &o->cred) != VG_OK)) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  o->call.kind = kind;
  o->call.vm = op->vm;
  o->call.cred = o->cred;
  *out = op;
  return VG_OK;
}

vgi_call *vgi_session_call(vg_op *op) {
  return &of(op)->call;
}

vg_status vgi_session_start(vg_op *op, json_t *args, vg_op **out) {
  of(op)->call.args = args;
  vgi_session_run(op);
  *out = op;
  return VG_OK;
}

/* ---- queue ------------------------------------------------------------- */

static void enqueue(vg_session *s, sop *o) {
  o->q_next = NULL;
  o->queued = 1;
  if (s->queue_tail)
    s->queue_tail->q_next = o;
  else
    s->queue_head = o;
  s->queue_tail = o;
}

static sop *dequeue_all(vg_session *s) {
  sop *h = s->queue_head;
  s->queue_head = s->queue_tail = NULL;
  for (sop *i = h; i; i = i->q_next)
    i->queued = 0;
  return h;
}

static void unqueue(vg_session *s, sop *o) {
  sop *prev = NULL;
  for (sop *i = s->queue_head; i; prev = i, i = i->q_next)
    if (i == o) {
      if (prev)
        prev->q_next = o->q_next;
      else
        s->queue_head = o->q_next;
      if (s->queue_tail == o)
        s->queue_tail = prev;
      break;
    }
  o->queued = 0;
}

/* A new internal login for whoever waits in the queue. */
static int relogin(vg_session *s) {
  vg_op *l = NULL;
  if (vgi_session_op(s, VGI_OP_LOGIN, NULL, NULL, NULL, NULL, &l) != VG_OK)
    return -1;
  vgi_op_detach(l);
  start_login(s, l);
  return 0;
}

/* hooks->stop: the op is no longer pending. */
static void op_stop(vg_op *op) {
  sop *o = of(op);
  if (o->drv)
    o->drv->stop(op, o->drv_state, !o->s || o->s->closing);
  if (o->http) {
    vgi_http_cancel(o->http);
    o->http = NULL;
  }
  if (o->check) {
    vg_op *c = o->check;
    o->check = NULL;
    vg_op_free(c);
  }
  vg_session *s = o->s;
  if (!s)
    return;
  if (o->queued)
    unqueue(s, o);
  if (s->login_op == op) {
    /* A login went away (canceled): whoever still waits needs another. */
    s->login_op = NULL;
    if (s->state == S_LOGGING_IN)
      s->state = S_OUT;
    if (s->queue_head && !s->zombie)
      relogin(s);
  }
}

/* hooks->release: the op is being freed. */
static void op_release(vg_op *op) {
  sop *o = of(op);
  vg_session *s = o->s;
  if (o->drv)
    o->drv->release(op, o->drv_state);
  if (s) {
    if (o->prev)
      o->prev->next = o->next;
    else
      s->ops = o->next;
    if (o->next)
      o->next->prev = o->prev;
  }
  json_decref(o->call.args);
  json_decref(o->call.scratch);
  vg_credentials_free(o->cred);
  vgi_error_clear(&o->saved);
  free(o);
  op->owner = NULL;
  if (s && s->zombie && !s->ops)
    session_destroy(s);
}

static const vgi_op_hooks hooks = {op_stop, op_release};

/* ---- sending ----------------------------------------------------------- */

static int idempotent(const vg_op *op) {
  return op->kind != VGI_OP_CREATE && op->kind != VGI_OP_DELETE;
}

static void on_answer(vgi_http *h, const vgi_http_result *r, void *ud);

/* "Authorization: Basic base64(user:password)" into line (zeroing). */
static int basic_auth(vgi_buf *line, const vg_session *s) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  vgi_buf plain = {0};
  int rc = -1;
  if (vgi_buf_printf(&plain, "%s:", s->user) ||
      vgi_buf_add(&plain, vg_secret_reveal(s->password),
                  vg_secret_len(s->password)) ||
      vgi_buf_adds(line, "Authorization: Basic "))
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
    if (vgi_buf_add(line, q, 4))
      goto out;
  }
  rc = 0;
out:
  vgi_buf_zfree(&plain);
  return rc;
}

/* Sends req for o to the session's server. */
static vg_status exchange(sop *o, vgi_request *req) {
  vg_session *s = o->s;
  vgi_buf url = {0}, auth = {0};
  const char *headers[6];
  size_t n = 0;
  vg_status st = VG_ENOMEM;
  headers[n++] = "Accept: application/json";
  if (req->body.len)
    headers[n++] = "Content-Type: application/json";
  if (req->header)
    headers[n++] = req->header;
  if (req->basic_auth) {
    if (basic_auth(&auth, s))
      goto out;
  } else if (!req->no_token && s->token) {
    if (vgi_buf_adds(&auth, "vmware-api-session-id: ") ||
        vgi_buf_add(&auth, vg_secret_reveal(s->token), vg_secret_len(s->token)))
      goto out;
  }
  if (auth.len)
    headers[n++] = auth.data;
  headers[n] = NULL;
  if (vgi_buf_adds(&url, s->server) || vgi_buf_adds(&url, req->path))
    goto out;
  vgi_http_request hr;
  memset(&hr, 0, sizeof hr);
  hr.method = req->method;
  hr.url = url.data;
  hr.pool = s->pool;
  hr.headers = headers;
  hr.body = req->body.len ? &req->body : NULL;
  hr.timeout_ms = s->timeout_ms;
  hr.connect_timeout_ms = s->timeout_ms < 15000 ? s->timeout_ms : 15000;
  hr.once = !idempotent(o->op);
  st = vgi_http_start(s->rt, &hr, on_answer, o, &o->http);
  if (st == VG_OK)
    o->token_gen = s->token_gen;
out:
  vgi_buf_zfree(&url);
  vgi_buf_zfree(&auth);
  return st;
}

static void send_op(sop *o) {
  vg_session *s = o->s;
  vg_op *op = o->op;
  vgi_request req;
  memset(&req, 0, sizeof req);
  o->call.user = op->kind == VGI_OP_LOGIN ? s->user : NULL;
  o->call.password = op->kind == VGI_OP_LOGIN ? s->password : NULL;
  vg_status st = s->proto->build(s->pstate, &o->call, &req, &op->err);
  if (st == VG_OK)
    st = exchange(o, &req);
  vgi_request_clear(&req);
  if (st == VG_OK || op->status != VG_EPENDING)
    return;
  if (st == VG_EUNSUPPORTED)
    vgi_op_complete(op, st);
  else
    vgi_op_fail(op, st, "%s: cannot send the request (%s)",
                vgi_op_kind_name(op->kind), vg_status_text(st));
}

static void start_login(vg_session *s, vg_op *login) {
  sop *o = of(login);
  s->login_op = login;
  s->state = S_LOGGING_IN;
  o->call.step = 0;
  o->probe = 0;
  if (!s->proto) /* VG_PROTOCOL_AUTO, first login */
    use(s, 0);
  send_op(o);
}

void vgi_session_run(vg_op *op) {
  sop *o = of(op);
  vg_session *s = o->s;
  if (s->state == S_IN) {
    send_op(o);
    return;
  }
  enqueue(s, o);
  if (s->state == S_OUT && relogin(s))
    vgi_op_fail(op, VG_ENOMEM, "out of memory starting a login");
}

/* Takes the token a login found. */
static void take_token(vg_session *s, vg_op *login) {
  if (!login->res.token)
    return;
  vg_secret_free(s->token);
  s->token = login->res.token;
  login->res.token = NULL;
  s->token_gen++;
}

/* Keeps the server's release; the old pointer stays valid while the
   release does not change (vguest.h). */
static void take_release(vg_session *s, vg_op *login) {
  const char *r = login->res.server_release;
  if (!r || (s->server_release && strcmp(r, s->server_release) == 0))
    return;
  char *copy = strdup(r);
  if (copy) {
    free(s->server_release);
    s->server_release = copy;
  }
}

static void login_finished(vg_session *s, vg_op *login, vg_status st) {
  s->login_op = NULL;
  sop *q = dequeue_all(s);
  if (st == VG_OK) {
    s->state = S_IN;
    s->ever_in = 1;
    take_release(s, login);
  } else {
    forget_token(s);
    if (!s->ever_in) {
      if (s->proto->login_failed)
        s->proto->login_failed(s->pstate);
      if (s->want == VG_PROTOCOL_AUTO)
        use(s, SIZE_MAX); /* never logged in: probe again next time */
    }
  }
  vgi_op_complete(login, st);
  sop *next;
  for (sop *o = q; o; o = next) {
    next = o->q_next;
    if (st != VG_OK) {
      vgi_error_copy(&o->op->err, &login->err);
      vgi_op_complete(o->op, st);
    } else if (o->op->kind == VGI_OP_LOGIN) {
      vgi_op_complete(o->op, VG_OK);
    } else {
      send_op(o);
    }
  }
}

/* ---- answers ----------------------------------------------------------- */

/* Sets op->err for a failed exchange and returns the status. */
static vg_status transport_error(sop *o, const vgi_http_result *r) {
  vg_session *s = o->s;
  vg_op *op = o->op;
  vg_status st = vgi_http_failure(r);
  if (st == VG_ETLS)
    vgi_http_tls_error(&op->err, s->server, "thumbprint", r);
  else if (r->sent && !idempotent(op)) {
    vgi_error_set(&op->err, st,
                  "%s was sent to %s but its answer was lost (%s); it may "
                  "have taken effect in the guest, so it is not sent again",
                  vgi_op_kind_name(op->kind), s->server, r->curl_error);
    op->err.pub.maybe_done = 1;
  } else if (r->too_large)
    vgi_error_set(&op->err, st, "%s: the answer is larger than 64 MiB",
                  s->server);
  else
    vgi_error_set(&op->err, st, "%s: %s", s->server, r->curl_error);
  op->err.pub.retryable = !op->err.pub.maybe_done && vgi_status_retryable(st);
  return st;
}

/* Retries an idempotent op once (often a kept-alive connection the server
   had closed); 1 when it did. */
static int retry_transport(sop *o, const vgi_http_result *r) {
  if (!idempotent(o->op) || o->transport_retried ||
      vgi_http_failure(r) != VG_ETRANSPORT)
    return 0;
  o->transport_retried = 1;
  send_op(o);
  return 1;
}

/* "the api, vim25 (releases ...) and rest" or one flavour's description. */
static void describe(vg_session *s, size_t i, vgi_buf *b) {
  const vgi_proto *p = vgi_protocol_probe(i);
  if (p->describe)
    p->describe(s->states[i], b);
  else
    vgi_buf_adds(b, p->name);
}

static void unserved(sop *o, const vgi_answer *a, int probing) {
  vg_session *s = o->s;
  vg_op *op = o->op;
  vgi_buf what = {0};
  if (probing) {
    size_t n = vgi_protocol_count();
    for (size_t i = 0; i < n; i++) {
      if (i)
        vgi_buf_adds(&what, i + 1 == n ? " and " : ", ");
      describe(s, i, &what);
    }
    vgi_error_set(&op->err, VG_EUNSUPPORTED,
                  "%s serves none of the %s APIs (HTTP %ld)", s->server,
                  what.data ? what.data : "", a->status);
  } else {
    describe(s, place_of(s->proto), &what);
    vgi_error_set(&op->err, VG_EUNSUPPORTED,
                  "%s does not serve the %s API (HTTP %ld)", s->server,
                  what.data ? what.data : "", a->status);
  }
  vgi_buf_zfree(&what);
  op->err.pub.http_status = (int)a->status;
}

static void login_answer(sop *o, const vgi_answer *a,
                         const vgi_http_result *r) {
  vg_session *s = o->s;
  vg_op *op = o->op;
  vg_status st;
  if (a->status == 0) {
    if (!retry_transport(o, r))
      login_finished(s, op, transport_error(o, r));
    return;
  }
  if (a->status >= 200 && a->status < 300) {
    st = s->proto->parse(s->pstate, &o->call, a, &op->res, &op->err);
    take_token(s, op);
    if (st == VG_EPENDING)
      send_op(o);
    else
      login_finished(s, op, st);
    return;
  }
  int probing = s->want == VG_PROTOCOL_AUTO && !s->ever_in;
  int ns = s->proto->not_served(s->pstate, &o->call, a);
  if (ns && !probing && (a->status == 401 || a->status == 403))
    ns = 0; /* a flavour the user chose: a refusal is a refusal */
  if (ns < 0) {
    o->call.step = 0;
    send_op(o);
    return;
  }
  if (ns) {
    if (probing && vgi_protocol_probe(o->probe + 1)) {
      use(s, ++o->probe);
      o->call.step = 0;
      json_decref(o->call.scratch);
      o->call.scratch = NULL;
      send_op(o);
      return;
    }
    unserved(o, a, probing);
    login_finished(s, op, VG_EUNSUPPORTED);
    return;
  }
  st = s->proto->error(s->pstate, &o->call, a, &op->err);
  if (st == VG_EUNAUTHENTICATED) {
    op->err.pub.auth = "session";
    vgi_error_prefix(&op->err, "vCenter login as %s rejected", s->user);
  }
  login_finished(s, op, st);
}

static void session_rejected(sop *o) {
  vg_session *s = o->s;
  o->relogins++;
  if (o->token_gen == s->token_gen && s->state == S_IN)
    forget_token(s);
  vgi_session_run(o->op);
}

static void on_check(vg_op *c, void *ud) {
  vg_op *op = ud;
  sop *o = of(op);
  vg_status st = c->status;
  o->check = NULL;
  vg_op_free(c);
  if (st == VG_EUNAUTHENTICATED) {
    session_rejected(o);
    return;
  }
  /* The token is fine (or cannot be judged): the guest login failed. */
  vgi_error_copy(&op->err, &o->saved);
  op->err.pub.auth = "guest";
  vgi_op_complete(op, op->err.pub.status);
}

static void start_check(sop *o) {
  vg_op *c = NULL;
  if (vgi_session_op(o->s, VGI_OP_CHECK, NULL, NULL, on_check, o->op, &c) !=
      VG_OK) {
    vgi_error_copy(&o->op->err, &o->saved);
    vgi_op_complete(o->op, o->op->err.pub.status);
    return;
  }
  o->check = c;
  send_op(of(c));
}

static void answer(sop *o, const vgi_answer *a, const vgi_http_result *r) {
  vg_session *s = o->s;
  vg_op *op = o->op;
  if (op->kind == VGI_OP_LOGIN) {
    login_answer(o, a, r);
    return;
  }
  if (a->status == 0) {
    if (!retry_transport(o, r))
      vgi_op_complete(op, transport_error(o, r));
    return;
  }
  if (a->status >= 200 && a->status < 300) {
    vg_status st = s->proto->parse(s->pstate, &o->call, a, &op->res, &op->err);
    if (st != VG_OK && st != VG_EPENDING && !idempotent(op)) {
      /* the server said it did it, in words that do not parse: it may
         well have (a started process), so it is not done again */
      op->err.pub.maybe_done = 1;
      op->err.pub.retryable = 0;
      vgi_error_prefix(&op->err,
                       "%s was done by %s, but its answer cannot "
                       "be read",
                       vgi_op_kind_name(op->kind), s->server);
    }
    if (op->kind == VGI_OP_LOGOUT)
      forget_token(s);
    if (st == VG_EPENDING)
      send_op(o);
    else if (op->status == VG_EPENDING)
      vgi_op_complete(op, st);
    return;
  }
  if (op->kind == VGI_OP_LOGOUT) {
    /* An already expired session is as logged out as it gets. */
    vg_status st = s->proto->error(s->pstate, &o->call, a, &op->err);
    forget_token(s);
    vgi_op_complete(op, st == VG_EUNAUTHENTICATED ? VG_OK : st);
    return;
  }
  int rej = op->kind == VGI_OP_CHECK
                ? 0
                : s->proto->session_rejected(s->pstate, &o->call, a);
  if (rej && o->relogins < MAX_RELOGINS) {
    if (rej == 1) {
      session_rejected(o);
      return;
    }
    s->proto->error(s->pstate, &o->call, a, &op->err);
    vgi_error_copy(&o->saved, &op->err);
    start_check(o);
    return;
  }
  vg_status st = s->proto->error(s->pstate, &o->call, a, &op->err);
  if (st == VG_OK) { /* a refusal the flavour reads as the answer */
    vgi_op_complete(op, VG_OK);
    return;
  }
  /* still refused after logging in again: about the session when the
     refusal says so (or the op carries no guest credentials), else about
     the guest credentials */
  if (st == VG_EUNAUTHENTICATED && !op->err.pub.auth)
    op->err.pub.auth = rej == 2 ? "guest" : "session";
  /* refused for its session at every try though every login worked
     (sessions expiring faster than requests go through): the request
     never ran, and a later one may well go through, as a poll does */
  if (rej == 1)
    op->err.pub.retryable = 1;
  vgi_op_complete(op, st);
}

static void on_answer(vgi_http *h, const vgi_http_result *r, void *ud) {
  sop *o = ud;
  o->http = NULL;
  if (o->xdone) {
    o->xdone(o->op, h, r);
    return;
  }
  vgi_answer a = {r->status, r->body, r->len,
                  vgi_http_header(h, "vmware-api-session-id")};
  answer(o, &a, r);
}

/* ---- driven ops and transfer exchanges ---------------------------------- */

vg_status vgi_session_driven(vg_session *s, vgi_op_kind kind, const char *vm,
                             const vgi_driver *d, void *state, vg_callback cb,
                             void *ud, vg_op **out) {
  vg_status st = vgi_session_op(s, kind, vm, NULL, cb, ud, out);
  if (st == VG_OK) {
    of(*out)->drv = d;
    of(*out)->drv_state = state;
  }
  return st;
}

int vgi_session_alive(const vg_op *op) {
  return op && op->owner && of(op)->s;
}

void *vgi_session_driver_state(const vg_op *op) {
  return op && op->owner && of(op)->drv ? of(op)->drv_state : NULL;
}

vg_runtime *vgi_session_runtime(const vg_session *s) {
  return s->rt;
}

/* url with a "*" host replaced by the session's host. */
static char *star_host(const vg_session *s, const char *url) {
  const char *h = strstr(url, "://");
  if (!h || h[3] != '*' || (h[4] && !strchr(":/?", h[4])))
    return strdup(url);
  int v6 = strchr(s->host, ':') != NULL;
  return vgi_printf("%.*s%s%s%s%s", (int)(h + 3 - url), url, v6 ? "[" : "",
                    s->host, v6 ? "]" : "", h + 4);
}

static vgi_pool *transfer_pool(const vg_session *s, const char *host) {
  for (size_t i = 0; i < s->npins; i++)
    if (strcmp(s->pins[i].host, host) == 0)
      return s->pins[i].pool;
  return s->xfer_pool;
}

vg_status vgi_session_exchange(vg_op *op, vgi_http_request *req,
                               vgi_exchange_done done) {
  sop *o = of(op);
  vg_session *s = o->s;
  if (!s)
    return VG_ECANCELED;
  char *url = star_host(s, req->url);
  char *host = url ? url_host(url) : NULL;
  vg_status st = VG_ENOMEM;
  if (url && !host)
    st = VG_EINVALID;
  if (host) {
    req->url = url;
    req->pool = transfer_pool(s, host);
    /* a large file takes what it takes, but a stalled one ends */
    req->timeout_ms = 0;
    req->stall_timeout_ms = s->timeout_ms;
    req->connect_timeout_ms = s->timeout_ms < 15000 ? s->timeout_ms : 15000;
    o->xdone = done;
    st = vgi_http_start(s->rt, req, on_answer, o, &o->http);
  }
  free(url);
  free(host);
  return st;
}

/* ---- login and logout -------------------------------------------------- */

vg_status vg_session_login(vg_session *s, vg_callback cb, void *ud,
                           vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  vg_status st = vgi_session_op(s, VGI_OP_LOGIN, NULL, NULL, cb, ud, out);
  if (st != VG_OK)
    return st;
  if (s->state == S_IN)
    vgi_op_complete(*out, VG_OK);
  else if (s->state == S_LOGGING_IN)
    enqueue(s, of(*out));
  else
    start_login(s, *out);
  return VG_OK;
}

vg_status vg_session_logout(vg_session *s, vg_callback cb, void *ud,
                            vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  vg_status st = vgi_session_op(s, VGI_OP_LOGOUT, NULL, NULL, cb, ud, out);
  if (st != VG_OK)
    return st;
  if (s->state != S_IN || !s->token)
    vgi_op_complete(*out, VG_OK); /* nothing to log out of */
  else
    send_op(of(*out));
  return VG_OK;
}

/* ---- accessors --------------------------------------------------------- */

const char *vg_session_protocol(const vg_session *s) {
  return s && s->proto && (s->ever_in || s->want != VG_PROTOCOL_AUTO)
             ? s->proto->name
             : NULL;
}

const char *vg_session_release(const vg_session *s) {
  return s ? s->server_release : NULL;
}

const char *vg_session_user(const vg_session *s) {
  return s ? s->user : NULL;
}

const char *vg_session_server(const vg_session *s) {
  return s ? s->server : NULL;
}

int vg_session_logged_in(const vg_session *s) {
  return s && s->state == S_IN;
}

int vg_session_list_has_exit_codes(const vg_session *s) {
  return s && s->proto && s->proto->list_has_exit_codes;
}
