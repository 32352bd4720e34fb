/* The two vSphere Automation (vAPI) flavours, modern /api (NOTES §1) and
   legacy /rest (NOTES §2), are one implementation: they differ only in the
   facts of a vgi_vapi_flavour (proto_api.c, proto_rest.c): path prefix,
   session paths, the {"value": ...} wrapper, maps as objects or key/value
   arrays, VM filter names, and whether list takes pids and returns exit
   codes. A 401 on a guest operation is ambiguous (expired session or bad
   guest credentials); vgi_vapi_session_rejected says which when the message
   id tells, else asks for a CHECK of the token. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static json_t *credentials(const vg_credentials *c) {
  json_t *o = json_object();
  json_object_set_new(o, "interactive_session", json_boolean(c->interactive));
  if (c->saml_token) {
    json_object_set_new(o, "type", json_string("SAML_BEARER_TOKEN"));
    json_object_set_new(o, "saml_token",
                        json_string(vg_secret_reveal(c->saml_token)));
  } else {
    json_object_set_new(o, "type", json_string("USERNAME_PASSWORD"));
    json_object_set_new(o, "password",
                        json_string(vg_secret_reveal(c->password)));
  }
  if (c->user)
    json_object_set_new(o, "user_name", json_string(c->user));
  return o;
}

json_t *vgi_parse_body(vg_op *op, const vgi_response *r) {
  json_error_t e;
  json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, &e);
  if (!j)
    vgi_error_set(&op->err, VG_EPROTOCOL,
                  "HTTP %ld answer to %s is not JSON (%zu bytes: %s)",
                  r->status, vgi_op_kind_name(op->kind), r->len, e.text);
  return j;
}

/* error_type from the /rest "type" name: "...errors.not_found" ->
   "NOT_FOUND" */
static void type_from_name(const char *type, char out[64]) {
  const char *dot = type ? strrchr(type, '.') : NULL;
  size_t i = 0;
  out[0] = '\0';
  if (!dot)
    return;
  for (dot++; *dot && i < 63; dot++)
    out[i++] = (*dot >= 'a' && *dot <= 'z') ? (char)(*dot - 32) : *dot;
  out[i] = '\0';
}

static vg_status error_body(vg_op *op, const vgi_response *r, int wrapped) {
  json_error_t e;
  json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, &e);
  json_t *v = wrapped ? json_object_get(j, "value") : j;
  const char *etype = vgi_json_str(v, "error_type");
  char derived[64];
  if (!etype && wrapped) {
    type_from_name(vgi_json_str(j, "type"), derived);
    if (derived[0])
      etype = derived;
  }
  vg_status st = etype ? vgi_vapi_error_status(etype)
                       : vgi_http_status_fallback(r->status);
  json_t *m0 = json_array_get(json_object_get(v, "messages"), 0);
  const char *msg = vgi_json_str(m0, "default_message");
  if (msg && *msg)
    vgi_error_set(&op->err, st, "%s", msg);
  else if (etype)
    vgi_error_set(&op->err, st, "%s (HTTP %ld)", etype, r->status);
  else
    vgi_error_set(&op->err, st, "HTTP %ld from the server", r->status);
  vgi_error_set_fault(&op->err, etype);
  vgi_error_set_message_id(&op->err, vgi_json_str(m0, "id"));
  op->err.pub.http_status = (int)r->status;
  json_decref(j);
  return st;
}

int vgi_vapi_session_rejected(const vg_op *op, const vgi_response *r) {
  if (r->status != 401)
    return 0;
  /* Only guest operations carry guest credentials that a 401 may be
     about; everything else is about the session. */
  if (!op->cred)
    return 1;
  json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
  json_t *v = json_object_get(j, "value");
  json_t *m0 =
      json_array_get(json_object_get(json_is_object(v) ? v : j, "messages"), 0);
  const char *id = vgi_json_str(m0, "id");
  int session = id && strstr(id, "authentication.required") != NULL;
  json_decref(j);
  return session ? 1 : 2;
}

/* Appends "/vcenter/vm/<vm>/guest/<what>" to a prefix. */
static char *guest_path(const char *prefix, const vg_op *op, const char *what,
                        const char *action) {
  vgi_buf b = {0};
  char *out = NULL;
  if (vgi_buf_printf(&b, "%s/vcenter/vm/", prefix) ||
      vgi_buf_add_escaped(&b, op->vm) || vgi_buf_printf(&b, "/guest/%s", what))
    goto out;
  if (op->kind == VGI_OP_GET || op->kind == VGI_OP_DELETE)
    if (vgi_buf_printf(&b, "/%lld", (long long)op->pid))
      goto out;
  if (vgi_buf_printf(&b, "?action=%s", action))
    goto out;
  out = strdup(b.data);
out:
  vgi_buf_zfree(&b);
  return out;
}

/* Adds repeated query parameters key=v for each string of a json array. */
static int query_add(vgi_buf *b, const char *key, json_t *values) {
  size_t i;
  json_t *v;
  json_array_foreach(values, i, v) {
    if (vgi_buf_printf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', key) ||
        vgi_buf_add_escaped(b, json_string_value(v)))
      return -1;
  }
  return 0;
}

/* Keeps only the processes whose pid op->args.pids lists (api has no pid
   filter on list). */
static void filter_pids(vg_op *op) {
  json_t *pids = json_object_get(op->args, "pids");
  if (!pids)
    return;
  size_t n = 0;
  for (size_t i = 0; i < op->nprocs; i++) {
    size_t k;
    json_t *p;
    int keep = 0;
    json_array_foreach(pids, k, p) {
      if (json_integer_value(p) == op->procs[i].pid)
        keep = 1;
    }
    if (keep)
      op->procs[n++] = op->procs[i];
  }
  op->nprocs = n;
}

/* The CreateSpec of a process; maps are objects on /api and key/value
   arrays on /rest. */
static json_t *spec(const vg_op *op, int map_as_pairs) {
  json_t *a = op->args, *s = json_object();
  json_object_set(s, "path", json_object_get(a, "path"));
  const char *args = vgi_json_str(a, "arguments");
  if (args && *args)
    json_object_set_new(s, "arguments", json_string(args));
  json_t *wd = json_object_get(a, "working_directory");
  if (json_is_string(wd))
    json_object_set(s, "working_directory", wd);
  json_t *env = json_object_get(a, "env");
  if (json_is_array(env) || map_as_pairs) {
    /* /rest requires the member; empty means the guest's defaults. */
    json_t *m = map_as_pairs ? json_array() : json_object();
    size_t i;
    json_t *kv;
    json_array_foreach(env, i, kv) {
      const char *e = json_string_value(kv), *eq = strchr(e, '=');
      char *k = strndup(e, (size_t)(eq - e));
      if (map_as_pairs)
        json_array_append_new(
            m, json_pack("{s:s,s:s}", "key", k, "value", eq + 1));
      else
        json_object_set_new(m, k, json_string(eq + 1));
      free(k);
    }
    json_object_set_new(s, "environment_variables", m);
  }
  if (json_is_true(json_object_get(a, "start_minimized")))
    json_object_set_new(s, "start_minimized", json_true());
  return s;
}

/* GET path of the VM list: <base>/vcenter/vm plus the filters under their
   names. */
static char *vms_path(const vg_op *op, const char *base, const char *names,
                      const char *ids, const char *power_states) {
  vgi_buf b = {0};
  char *out = NULL;
  const char *ps = vgi_json_str(op->args, "power_state");
  if (vgi_buf_printf(&b, "%s/vcenter/vm", base) ||
      query_add(&b, names, json_object_get(op->args, "names")) ||
      query_add(&b, ids, json_object_get(op->args, "ids")))
    goto out;
  if (ps && vgi_buf_printf(&b, "%c%s=%s", strchr(b.data, '?') ? '&' : '?',
                           power_states, ps))
    goto out;
  out = strdup(b.data);
out:
  vgi_buf_zfree(&b);
  return out;
}

/* ---- the vgi_proto functions of both flavours ------------------------- */

static const vgi_vapi_flavour *flavour(const vg_op *op) {
  return op->s->proto->vapi;
}

static const vgi_proc_names names = {
    "pid", "name", "owner", "command", "started", "finished", "exit_code"};

static char *dup_path(const char *a, const char *b) {
  return vgi_printf("%s%s", a, b ? b : "");
}

vg_status vgi_vapi_build(vg_op *op, vgi_request *req) {
  const vgi_vapi_flavour *f = flavour(op);
  json_t *body = NULL;
  const char *what = "processes", *action = NULL;
  req->method = "POST";
  switch (op->kind) {
  case VGI_OP_LOGIN:
    req->path = dup_path(f->session_path, NULL);
    req->header = f->login_header;
    req->basic_auth = 1;
    req->no_token = 1;
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_LOGOUT:
    req->method = "DELETE";
    req->path = dup_path(f->session_path, NULL);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_CHECK:
    req->method = f->check_method;
    req->path = dup_path(f->check_path, NULL);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_VMS:
    req->method = "GET";
    req->path = vms_path(op, f->prefix, f->q_names, f->q_ids, f->q_power);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_CREATE:
    action = "create";
    body = json_pack("{s:o,s:o}", "credentials", credentials(op->cred), "spec",
                     spec(op, f->map_as_pairs));
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST:
  case VGI_OP_DELETE:
    action = op->kind == VGI_OP_GET    ? "get"
             : op->kind == VGI_OP_LIST ? "list"
                                       : "delete";
    body = json_pack("{s:o}", "credentials", credentials(op->cred));
    if (op->kind == VGI_OP_LIST && f->list_pids &&
        json_object_get(op->args, "pids"))
      json_object_set(body, "pids", json_object_get(op->args, "pids"));
    break;
  case VGI_OP_ENV:
    what = "environment";
    action = "list";
    body = json_pack("{s:o,s:O}", "credentials", credentials(op->cred), "names",
                     json_object_get(op->args, "names"));
    break;
  default:
    return VG_EMISUSE;
  }
  req->path = guest_path(f->prefix, op, what, action);
  req->body = vgi_body_dump(body);
  return req->path && req->body ? VG_OK : VG_ENOMEM;
}

static vg_status unfit(vg_op *op, const char *what) {
  vgi_error_set(&op->err, VG_EPROTOCOL, "%s answer does not fit the API", what);
  return VG_EPROTOCOL;
}

static vg_status parse_env(vg_op *op, json_t *v, int pairs) {
  if (pairs ? !json_is_array(v) : !json_is_object(v))
    return unfit(op, "environment");
  if (pairs) {
    size_t i;
    json_t *kv;
    json_array_foreach(v, i, kv) {
      const char *k = vgi_json_str(kv, "key"), *val = vgi_json_str(kv, "value");
      if (!k || !val)
        return unfit(op, "environment");
      if (vgi_op_add_env(op, k, strlen(k), val))
        return VG_ENOMEM;
    }
  } else {
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
      if (!json_is_string(val))
        return unfit(op, "environment");
      if (vgi_op_add_env(op, k, strlen(k), json_string_value(val)))
        return VG_ENOMEM;
    }
  }
  return VG_OK;
}

vg_status vgi_vapi_parse(vg_op *op, const vgi_response *r) {
  const vgi_vapi_flavour *f = flavour(op);
  switch (op->kind) {
  case VGI_OP_LOGOUT:
  case VGI_OP_CHECK:
  case VGI_OP_DELETE:
    return VG_OK;
  default:
    break;
  }
  json_t *j = vgi_parse_body(op, r);
  if (!j)
    return VG_EPROTOCOL;
  json_t *v = f->wrapped ? json_object_get(j, "value") : j;
  vg_status st = VG_OK;
  switch (op->kind) {
  case VGI_OP_LOGIN:
    if (!json_is_string(v) || !json_string_length(v))
      st = unfit(op, "session login");
    else
      vgi_session_set_token(op->s, json_string_value(v), json_string_length(v));
    break;
  case VGI_OP_VMS:
    st = vgi_op_vms_from_json(op, v);
    break;
  case VGI_OP_CREATE:
    if (!json_is_integer(v))
      st = unfit(op, "create");
    else
      op->rpid = (int64_t)json_integer_value(v);
    break;
  case VGI_OP_GET:
    if (!json_is_object(v) || vgi_op_add_processes(op, v, &names, op->pid))
      st = unfit(op, "process get");
    break;
  case VGI_OP_LIST:
    if (!json_is_array(v) || vgi_op_add_processes(op, v, &names, 0))
      st = unfit(op, "process list");
    else
      filter_pids(op); /* /api has no pid filter; harmless on /rest */
    break;
  case VGI_OP_ENV:
    st = parse_env(op, v, f->map_as_pairs);
    break;
  default:
    st = VG_EMISUSE;
  }
  json_decref(j);
  return st;
}

vg_status vgi_vapi_error(vg_op *op, const vgi_response *r) {
  return error_body(op, r, flavour(op)->wrapped);
}

int vgi_vapi_not_served(vg_op *op, const vgi_response *r) {
  (void)op;
  if (r->status == 404 || r->status == 405 || r->status == 501)
    return 1;
  if (r->status != 401 && r->status != 403)
    return 0;
  /* A server that checks authentication before routing answers 401 for a
     path it does not have; a vAPI endpoint that rejects the password says
     so in a vAPI error body. Only the latter ends the probe (probing on
     after a real rejection would spend the account's lockout allowance). */
  json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
  int vapi = json_is_object(j) &&
             (json_object_get(j, "error_type") ||
              json_object_get(j, "messages") || json_object_get(j, "type"));
  json_decref(j);
  return !vapi;
}
