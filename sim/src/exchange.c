#include "exchange.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *req_header(const struct request *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_raw_uri(const struct request *r) {
  return r->raw_uri ? r->raw_uri : r->path;
}

const char *req_cookie(const struct request *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *req_arg(const struct request *r, const char *key) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct each_ctx {
  void (*fn)(void *, const char *, const char *);
  void *ctx;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value) {
  struct each_ctx *e = cls;
  (void)kind;
  e->fn(e->ctx, key, value ? value : "");
  return MHD_YES;
}

void req_args_each(const struct request *r,
                   void (*fn)(void *ctx, const char *key, const char *value),
                   void *ctx) {
  struct each_ctx e = {fn, ctx};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &e);
}

bool req_basic_auth(const struct request *r, char **user, char **password) {
  char *pass = NULL;
  char *u = MHD_basic_auth_get_username_password(r->conn, &pass);
  if (!u) {
    if (pass)
      MHD_free(pass);
    return false;
  }
  *user = xstrdup(u);
  *password = xstrdup(pass ? pass : "");
  if (pass) {
    explicit_bzero(pass, strlen(pass));
    MHD_free(pass);
  }
  MHD_free(u);
  return true;
}

const char *req_token(const struct request *r) {
  const char *t = req_header(r, "vmware-api-session-id");
  return t ? t : req_cookie(r, "vmware-api-session-id");
}

bool req_is(const struct request *r, const char *method) {
  return strcmp(r->method, method) == 0;
}

enum inject req_begin_op(struct sim *sim, struct reply *rp, enum op op) {
  rp->has_op = true;
  rp->op = op;
  enum inject inj = state_begin_op(sim, op);
  if (inj == INJ_DROP) /* whatever the handler answers now is never sent */
    rp->drop = true;
  return inj;
}

void reply_json(struct reply *rp, unsigned status, json_t *j) {
  free(rp->body);
  rp->status = status;
  rp->content_type = "application/json";
  rp->body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  rp->len = rp->body ? strlen(rp->body) : 0;
  json_decref(j);
}

void reply_text(struct reply *rp, unsigned status, const char *text) {
  free(rp->body);
  rp->status = status;
  rp->content_type = "text/plain";
  rp->body = xstrdup(text);
  rp->len = strlen(rp->body);
}

void reply_empty(struct reply *rp, unsigned status) {
  free(rp->body);
  rp->status = status;
  rp->body = NULL;
  rp->len = 0;
}
