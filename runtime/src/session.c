/*
 * Sessions: one login shared by all work on it.
 *
 * State machine: OUT -> LOGGING_IN -> IN. An op started while the session is
 * not IN waits in the session's queue; the first one starts a login (an
 * internal LOGIN op). When the login ends the queue is sent, or failed with
 * the login's error.
 *
 * A request whose token is rejected (expired session) is re-sent once after
 * a new login: a rejected request was never executed, so this holds even
 * for create. On the vAPI flavours a 401 on a guest operation may also mean
 * "bad guest credentials"; a cheap CHECK of the token tells the two apart.
 * A request whose answer was lost in transport is retried once only when it
 * is idempotent; a lost create is reported (maybe_done), never re-sent.
 *
 * The protocol flavour is one vgi_proto behind this file; with
 * VG_PROTOCOL_AUTO the first login probes api, vim25, then rest.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const vgi_proto *const probe_order[] = {&vgi_proto_api, &vgi_proto_vim25,
                                               &vgi_proto_rest};
#define NPROBE (sizeof probe_order / sizeof *probe_order)

static void send_op(vg_op *op);
static void start_login(vg_session *s, vg_op *op);
static vg_op *dequeue_all(vg_session *s);
static int idempotent(const vg_op *op);

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

vg_status vg_session_new(vg_runtime *rt, const vg_session_options *o,
                         vg_session **out, const char **why) {
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  *out = NULL;
  if (!rt || !o) {
    *why = "runtime and options are required";
    return VG_EMISUSE;
  }
  if (!o->server || !*o->server) {
    *why = "server is required";
    return VG_EMISUSE;
  }
  if (!o->user || !*o->user) {
    *why = "user is required";
    return VG_EMISUSE;
  }
  if (!o->password) {
    *why = "password is required";
    return VG_EMISUSE;
  }
  if (o->protocol < VG_PROTOCOL_AUTO || o->protocol > VG_PROTOCOL_VIM25) {
    *why = "protocol must be auto, api, rest or vim25";
    return VG_EMISUSE;
  }
  if (o->timeout_ms < 0 || o->max_connections < 0) {
    *why = "timeout and max_connections must not be negative";
    return VG_EMISUSE;
  }
  const char *srv = o->server;
  int has_scheme = strstr(srv, "://") != NULL;
  if (has_scheme && strncmp(srv, "https://", 8) != 0 &&
      strncmp(srv, "http://", 7) != 0) {
    *why = "server must be an https:// URL or a host name";
    return VG_EMISUSE;
  }
  vg_session *s = vgi_calloc(rt, 1, sizeof *s);
  if (!s)
    return VG_ENOMEM;
  s->rt = rt;
  s->server = has_scheme ? strdup(srv) : vgi_printf("https://%s", srv);
  if (s->server) {
    size_t n = strlen(s->server);
    while (n > 8 && s->server[n - 1] == '/')
      s->server[--n] = '\0';
  }
  s->user = strdup(o->user);
  s->want = o->protocol;
  s->proto = o->protocol == VG_PROTOCOL_API     ? &vgi_proto_api
             : o->protocol == VG_PROTOCOL_REST  ? &vgi_proto_rest
             : o->protocol == VG_PROTOCOL_VIM25 ? &vgi_proto_vim25
                                                : NULL;
  s->release_given = o->release && *o->release;
  s->release = strdup(s->release_given ? o->release : "8.0.1.0");
  s->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
  s->insecure = o->insecure ? 1 : 0;
  s->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
  vg_status st = vg_secret_dup(o->password, &s->password);
  s->share = curl_share_init();
  if (s->share) {
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  }
  if (!s->server || !s->user || !s->release || (o->ca_file && !s->ca_file) ||
      !s->share || st != VG_OK) {
    vgi_session_destroy(s);
    return VG_ENOMEM;
  }
  if (o->thumbprint && *o->thumbprint) {
    s->thumbprint = normalize_thumbprint(o->thumbprint);
    if (!s->thumbprint) {
      vgi_session_destroy(s);
      *why = "thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest";
      return VG_EMISUSE;
    }
  }
  vgi_runtime_max_connections(rt, o->max_connections ? o->max_connections : 16);
  if (s->insecure)
    vgi_runtime_warn(rt,
                     "TLS verification is off for %s (insecure = true): "
                     "anyone on the path can read the credentials",
                     s->server);
  else if (strncmp(s->server, "http://", 7) == 0)
    vgi_runtime_warn(rt, "%s is plain HTTP: credentials travel unencrypted",
                     s->server);
  *out = s;
  return VG_OK;
}

void vgi_session_set_token(vg_session *s, const char *token, size_t len) {
  vg_secret_free(s->token);
  s->token = NULL;
  if (vg_secret_new(token, len, &s->token) == VG_OK)
    s->token_gen++;
}

static void forget_token(vg_session *s) {
  vg_secret_free(s->token);
  s->token = NULL;
  s->state = VGI_S_OUT;
}

void vgi_session_destroy(vg_session *s) {
  if (!s)
    return;
  forget_token(s);
  if (s->share)
    curl_share_cleanup(s->share);
  vg_secret_free(s->password);
  free(s->server);
  free(s->user);
  free(s->release);
  free(s->ca_file);
  free(s->thumbprint);
  free(s->server_release);
  free(s->vim_process_manager);
  free(s->vim_view_manager);
  free(s->vim_property_collector);
  free(s->vim_root_folder);
  free(s->vim_session_manager);
  free(s->vim_guest_ops_manager);
  free(s->logged_user);
  vgi_free(s->rt, s);
}

static void on_detached_done(vg_op *op, void *ud) {
  (void)op;
  (void)ud;
}

void vg_session_free(vg_session *s) {
  if (!s || s->zombie)
    return;
  /* Pending ops end canceled; every op forgets the session. */
  dequeue_all(s);
  s->login_op = NULL;
  vg_op *next;
  for (vg_op *op = s->ops; op; op = next) {
    next = op->s_next;
    if (op->status == VG_EPENDING)
      vgi_op_fail(op, VG_ECANCELED, "session closed while %s was in progress",
                  vgi_op_kind_name(op->kind));
  }
  for (vg_op *op = s->ops; op; op = next) {
    next = op->s_next;
    op->s = NULL;
    op->s_prev = op->s_next = NULL;
  }
  s->ops = NULL;
  s->queue_head = s->queue_tail = NULL;
  s->login_op = NULL;
  if (s->state == VGI_S_IN && s->token) {
    vg_op *op = vgi_op_new(s->rt, s, VGI_OP_LOGOUT, on_detached_done, NULL);
    if (op) {
      s->zombie = 1;
      vgi_runtime_detach(s->rt, op);
      send_op(op);
      return; /* destroyed when the logout op is freed */
    }
  }
  vgi_session_destroy(s);
}

/* ---- queue ------------------------------------------------------------- */

static void enqueue(vg_session *s, vg_op *op) {
  op->q_next = NULL;
  op->queued = 1;
  if (s->queue_tail)
    s->queue_tail->q_next = op;
  else
    s->queue_head = op;
  s->queue_tail = op;
}

static vg_op *dequeue_all(vg_session *s) {
  vg_op *h = s->queue_head;
  s->queue_head = s->queue_tail = NULL;
  for (vg_op *i = h; i; i = i->q_next)
    i->queued = 0;
  return h;
}

void vgi_session_op_unlink(vg_op *op) {
  vg_session *s = op->s;
  if (!s)
    return;
  if (op->queued) {
    vg_op *prev = NULL;
    for (vg_op *i = s->queue_head; i; prev = i, i = i->q_next)
      if (i == op) {
        if (prev)
          prev->q_next = op->q_next;
        else
          s->queue_head = op->q_next;
        if (s->queue_tail == op)
          s->queue_tail = prev;
        break;
      }
    op->queued = 0;
  }
  if (s->login_op == op) {
    /* A login went away (canceled): whoever still waits needs another. */
    s->login_op = NULL;
    if (s->state == VGI_S_LOGGING_IN)
      s->state = VGI_S_OUT;
    if (s->queue_head && !s->zombie) {
      vg_op *l = vgi_op_new(s->rt, s, VGI_OP_LOGIN, NULL, NULL);
      if (l) {
        vgi_runtime_detach(s->rt, l);
        start_login(s, l);
      }
    }
  }
}

/* ---- sending ----------------------------------------------------------- */

static void send_op(vg_op *op) {
  vg_session *s = op->s;
  vgi_request req;
  memset(&req, 0, sizeof req);
  vg_status st = s->proto->build(op, &req);
  req.once = !idempotent(op);
  if (st == VG_OK)
    st = vgi_http_start(s, op, &req);
  else
    vgi_request_clear(&req);
  if (st != VG_OK && op->status == VG_EPENDING)
    vgi_op_fail(op, st, "%s: cannot build the request (%s)",
                vgi_op_kind_name(op->kind), vg_status_text(st));
}

static void start_login(vg_session *s, vg_op *op) {
  s->login_op = op;
  s->state = VGI_S_LOGGING_IN;
  op->step = 0;
  op->probe = 0;
  if (!s->proto) /* VG_PROTOCOL_AUTO, first login */
    s->proto = probe_order[0];
  send_op(op);
}

void vgi_session_run(vg_op *op) {
  vg_session *s = op->s;
  if (s->state == VGI_S_IN) {
    send_op(op);
    return;
  }
  enqueue(s, op);
  if (s->state == VGI_S_OUT) {
    vg_op *l = vgi_op_new(s->rt, s, VGI_OP_LOGIN, NULL, NULL);
    if (!l) {
      vgi_op_fail(op, VG_ENOMEM, "out of memory starting a login");
      return;
    }
    vgi_runtime_detach(s->rt, l);
    start_login(s, l);
  }
}

static void login_finished(vg_session *s, vg_op *login, vg_status st) {
  s->login_op = NULL;
  vg_op *q = dequeue_all(s);
  if (st == VG_OK) {
    s->state = VGI_S_IN;
    free(s->logged_user);
    s->logged_user = strdup(s->user);
  } else {
    forget_token(s);
    if (!s->logged_user && !s->release_given && s->release_try) {
      char *first = strdup("8.0.1.0"); /* probe releases again next time */
      if (first) {
        free(s->release);
        s->release = first;
        s->release_try = 0;
      }
    }
    if (s->want == VG_PROTOCOL_AUTO && !s->logged_user)
      s->proto = NULL; /* never logged in: probe again next time */
  }
  vgi_op_complete(login, st);
  vg_op *next;
  for (vg_op *op = q; op; op = next) {
    next = op->q_next;
    if (st != VG_OK) {
      vgi_error_copy(&op->err, &login->err);
      vgi_op_complete(op, st);
    } else if (op->kind == VGI_OP_LOGIN) {
      vgi_op_complete(op, VG_OK);
    } else {
      send_op(op);
    }
  }
}

/* ---- responses --------------------------------------------------------- */

static int idempotent(const vg_op *op) {
  return op->kind != VGI_OP_CREATE && op->kind != VGI_OP_DELETE;
}

static vg_status transport_status(CURLcode c) {
  switch (c) {
  case CURLE_OPERATION_TIMEDOUT:
    return VG_ETIMEDOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_ISSUER_ERROR:
    return VG_ETLS;
  case CURLE_OUT_OF_MEMORY:
    return VG_ENOMEM;
  case CURLE_FILESIZE_EXCEEDED:
    return VG_EPROTOCOL;
  default:
    return VG_ETRANSPORT;
  }
}

/* Sets op->err for a failed transfer and returns the status. */
static vg_status transport_error(vg_op *op, const vgi_response *r) {
  vg_session *s = op->s;
  vg_status st = transport_status(r->curl);
  if (st == VG_ETLS && s->thumbprint)
    vgi_error_set(&op->err, st,
                  "TLS with %s failed: %s (is the pinned thumbprint the "
                  "server's certificate?)",
                  s->server, r->curl_error);
  else if (st == VG_ETLS)
    vgi_error_set(&op->err, st,
                  "TLS with %s failed: %s (set ca_file to the CA that signed "
                  "the server's certificate, or pin it with thumbprint)",
                  s->server, r->curl_error);
  else if (r->sent && !idempotent(op)) {
    vgi_error_set(&op->err, st,
                  "%s was sent to %s but its answer was lost (%s); it may "
                  "have taken effect in the guest, so it is not sent again",
                  vgi_op_kind_name(op->kind), s->server, r->curl_error);
    op->err.pub.maybe_done = 1;
  } else
    vgi_error_set(&op->err, st, "%s: %s", s->server, r->curl_error);
  op->err.pub.retryable = !op->err.pub.maybe_done && st != VG_ETLS;
  return st;
}

/* Retries an idempotent op once (often a kept-alive connection the server
   had closed); 1 when it did. */
static int retry_transport(vg_op *op, const vgi_response *r) {
  if (!idempotent(op) || op->transport_retried ||
      transport_status(r->curl) != VG_ETRANSPORT)
    return 0;
  op->transport_retried = 1;
  send_op(op);
  return 1;
}

static void login_response(vg_op *op, const vgi_response *r) {
  vg_session *s = op->s;
  vg_status st;
  if (r->status == 0) {
    if (!retry_transport(op, r))
      login_finished(s, op, transport_error(op, r));
    return;
  }
  if (r->status >= 200 && r->status < 300) {
    st = s->proto->parse(op, r);
    if (st == VG_EPENDING) {
      send_op(op);
      return;
    }
    login_finished(s, op, st);
    return;
  }
  int probing = s->want == VG_PROTOCOL_AUTO && !s->logged_user;
  int ns = s->proto->not_served(op, r);
  if (ns && !probing && (r->status == 401 || r->status == 403))
    ns = 0; /* a flavour the user chose: a refusal is a refusal */
  if (ns < 0) {
    op->step = 0;
    send_op(op);
    return;
  }
  if (ns) {
    if (probing && (size_t)op->probe + 1 < NPROBE) {
      s->proto = probe_order[++op->probe];
      op->step = 0;
      send_op(op);
      return;
    }
    if (probing)
      vgi_error_set(&op->err, VG_EUNSUPPORTED,
                    "%s serves none of the api, vim25 (releases 8.0.1.0 to "
                    "%s) and rest APIs (HTTP %ld)",
                    s->server, s->release, r->status);
    else if (s->proto == &vgi_proto_vim25)
      vgi_error_set(&op->err, VG_EUNSUPPORTED,
                    "%s does not serve VI/JSON release %s%s (HTTP %ld); set "
                    "release to one it serves",
                    s->server, s->release_given ? "" : "8.0.1.0 to ",
                    s->release, r->status);
    else
      vgi_error_set(&op->err, VG_EUNSUPPORTED,
                    "%s does not serve the %s API (HTTP %ld)", s->server,
                    s->proto->name, r->status);
    op->err.pub.http_status = (int)r->status;
    login_finished(s, op, VG_EUNSUPPORTED);
    return;
  }
  st = s->proto->error(op, r);
  if (st == VG_EUNAUTHENTICATED) {
    op->err.pub.auth = "session";
    char *m = vgi_printf("vCenter login as %s rejected: %s", s->user,
                         op->err.message ? op->err.message : "");
    if (m) {
      free(op->err.message);
      op->err.message = m;
      op->err.pub.message = m;
    }
  }
  login_finished(s, op, st);
}

static void session_rejected(vg_op *op) {
  vg_session *s = op->s;
  op->relogged = 1;
  if (op->token_gen == s->token_gen && s->state == VGI_S_IN)
    forget_token(s);
  vgi_session_run(op);
}

static void on_check(vg_op *c, void *ud) {
  vg_op *op = ud;
  vg_status st = c->status;
  op->check = NULL;
  vg_op_free(c);
  if (st == VG_EUNAUTHENTICATED) {
    session_rejected(op);
    return;
  }
  /* The token is fine (or cannot be judged): the guest login failed. */
  vgi_error_copy(&op->err, &op->saved);
  op->err.pub.auth = "guest";
  vgi_op_complete(op, op->err.pub.status);
}

static void start_check(vg_op *op) {
  vg_session *s = op->s;
  vg_op *c = vgi_op_new(s->rt, s, VGI_OP_CHECK, on_check, op);
  if (!c) {
    vgi_error_copy(&op->err, &op->saved);
    vgi_op_complete(op, op->err.pub.status);
    return;
  }
  op->check = c;
  send_op(c);
}

void vgi_session_response(vg_op *op, const vgi_response *r) {
  vg_session *s = op->s;
  if (op->kind == VGI_OP_LOGIN) {
    login_response(op, r);
    return;
  }
  if (r->status == 0) {
    if (!retry_transport(op, r))
      vgi_op_complete(op, transport_error(op, r));
    return;
  }
  if (r->status >= 200 && r->status < 300) {
    vg_status st = s->proto->parse(op, r);
    if (op->kind == VGI_OP_LOGOUT)
      forget_token(s);
    if (st == VG_EPENDING)
      send_op(op);
    else if (op->status == VG_EPENDING)
      vgi_op_complete(op, st);
    return;
  }
  if (op->kind == VGI_OP_LOGOUT) {
    /* An already expired session is as logged out as it gets. */
    vg_status st = s->proto->error(op, r);
    forget_token(s);
    vgi_op_complete(op, st == VG_EUNAUTHENTICATED ? VG_OK : st);
    return;
  }
  int rej = op->kind == VGI_OP_CHECK ? 0 : s->proto->session_rejected(op, r);
  if (rej && !op->relogged) {
    if (rej == 1) {
      session_rejected(op);
      return;
    }
    s->proto->error(op, r);
    vgi_error_copy(&op->saved, &op->err);
    start_check(op);
    return;
  }
  vg_status st = s->proto->error(op, r);
  if (st == VG_EUNAUTHENTICATED && !op->err.pub.auth)
    op->err.pub.auth = rej ? "guest" : "session";
  vgi_op_complete(op, st);
}

/* ---- public operations ------------------------------------------------- */

static vg_status start(vg_session *s, vgi_op_kind kind, const char *vm,
                       const vg_credentials *c, vg_callback cb, void *ud,
                       vg_op **out, vg_op **opp) {
  *out = NULL;
  if (!s || s->zombie)
    return VG_EMISUSE;
  vg_op *op = vgi_op_new(s->rt, s, kind, cb, ud);
  if (!op)
    return VG_ENOMEM;
  if ((vm && !(op->vm = strdup(vm))) ||
      (c && vgi_credentials_dup(c, &op->cred) != VG_OK)) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  op->err.pub.vm = op->vm;
  *opp = op;
  return VG_OK;
}

static vg_status launch(vg_op *op, vg_op **out) {
  *out = op;
  vgi_session_run(op);
  return VG_OK;
}

vg_status vg_session_login(vg_session *s, vg_callback cb, void *ud,
                           vg_op **out) {
  vg_op *op;
  vg_status st = start(s, VGI_OP_LOGIN, NULL, NULL, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  *out = op;
  if (s->state == VGI_S_IN)
    vgi_op_complete(op, VG_OK);
  else if (s->state == VGI_S_LOGGING_IN)
    enqueue(s, op);
  else
    start_login(s, op);
  return VG_OK;
}

vg_status vg_session_logout(vg_session *s, vg_callback cb, void *ud,
                            vg_op **out) {
  vg_op *op;
  vg_status st = start(s, VGI_OP_LOGOUT, NULL, NULL, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  *out = op;
  if (s->state != VGI_S_IN || !s->token)
    vgi_op_complete(op, VG_OK); /* nothing to log out of */
  else
    send_op(op);
  return VG_OK;
}

static json_t *string_array(const char *const *v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

vg_status vg_vm_list(vg_session *s, const vg_vm_filter *f, vg_callback cb,
                     void *ud, vg_op **out) {
  vg_op *op;
  static const char *const states[] = {"POWERED_ON", "POWERED_OFF", "SUSPENDED",
                                       NULL};
  if (f && f->power_state) {
    const char *const *p = states;
    while (*p && strcmp(*p, f->power_state) != 0)
      p++;
    if (!*p)
      return VG_EMISUSE;
  }
  vg_status st = start(s, VGI_OP_VMS, NULL, NULL, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  op->args =
      json_pack("{s:o,s:o,s:s*}", "names", string_array(f ? f->names : NULL),
                "ids", string_array(f ? f->ids : NULL), "power_state",
                f ? f->power_state : NULL);
  if (!op->args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return launch(op, out);
}

static int bad_guest_args(const vg_session *s, const char *vm,
                          const vg_credentials *c) {
  return !s || !vm || !*vm || !c;
}

vg_status vg_process_create(vg_session *s, const char *vm,
                            const vg_credentials *c, const vg_program_spec *p,
                            vg_callback cb, void *ud, vg_op **out) {
  vg_op *op;
  *out = NULL;
  if (bad_guest_args(s, vm, c) || !p || !p->path || !*p->path)
    return VG_EMISUSE;
  for (const char *const *e = p->env; e && *e; e++)
    if (!strchr(*e, '=') || **e == '=')
      return VG_EMISUSE;
  vg_status st = start(s, VGI_OP_CREATE, vm, c, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  op->args = json_pack("{s:s,s:s,s:s*,s:o*,s:b}", "path", p->path, "arguments",
                       p->arguments ? p->arguments : "", "working_directory",
                       p->working_directory, "env",
                       p->env ? string_array(p->env) : NULL, "start_minimized",
                       p->start_minimized);
  if (!op->args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return launch(op, out);
}

static vg_status pid_op(vg_session *s, vgi_op_kind kind, const char *vm,
                        const vg_credentials *c, int64_t pid, vg_callback cb,
                        void *ud, vg_op **out) {
  vg_op *op;
  *out = NULL;
  if (bad_guest_args(s, vm, c) || pid <= 0)
    return VG_EMISUSE;
  vg_status st = start(s, kind, vm, c, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  op->pid = pid;
  op->err.pub.pid = pid;
  return launch(op, out);
}

vg_status vg_process_get(vg_session *s, const char *vm, const vg_credentials *c,
                         int64_t pid, vg_callback cb, void *ud, vg_op **out) {
  return pid_op(s, VGI_OP_GET, vm, c, pid, cb, ud, out);
}

vg_status vg_process_delete(vg_session *s, const char *vm,
                            const vg_credentials *c, int64_t pid,
                            vg_callback cb, void *ud, vg_op **out) {
  return pid_op(s, VGI_OP_DELETE, vm, c, pid, cb, ud, out);
}

vg_status vg_process_list(vg_session *s, const char *vm,
                          const vg_credentials *c, const int64_t *pids,
                          size_t npids, vg_callback cb, void *ud, vg_op **out) {
  vg_op *op;
  *out = NULL;
  if (bad_guest_args(s, vm, c) || (npids && !pids))
    return VG_EMISUSE;
  vg_status st = start(s, VGI_OP_LIST, vm, c, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  if (pids) {
    json_t *a = json_array();
    for (size_t i = 0; i < npids; i++)
      json_array_append_new(a, json_integer(pids[i]));
    op->args = json_pack("{s:o}", "pids", a);
    if (!op->args) {
      vg_op_free(op);
      return VG_ENOMEM;
    }
  }
  return launch(op, out);
}

vg_status vg_guest_env(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *const *names, vg_callback cb, void *ud,
                       vg_op **out) {
  vg_op *op;
  *out = NULL;
  if (bad_guest_args(s, vm, c))
    return VG_EMISUSE;
  vg_status st = start(s, VGI_OP_ENV, vm, c, cb, ud, out, &op);
  if (st != VG_OK)
    return st;
  op->args = json_pack("{s:o}", "names", string_array(names));
  if (!op->args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return launch(op, out);
}

/* ---- accessors --------------------------------------------------------- */

const char *vg_session_protocol(const vg_session *s) {
  return s && s->proto && (s->logged_user || s->want != VG_PROTOCOL_AUTO)
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
  return s && s->state == VGI_S_IN;
}

int vg_session_list_has_exit_codes(const vg_session *s) {
  return s && s->proto && s->proto->list_has_exit_codes;
}
