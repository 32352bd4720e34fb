/* The modern vSphere Automation API, /api (vCenter 7.0U2+), NOTES §1:
   bare JSON bodies, maps as objects, session by Basic auth at /api/session,
   guest processes at /api/vcenter/vm/{vm}/guest/processes. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const vgi_proc_names names = {
    "pid", "name", "owner", "command", "started", "finished", "exit_code"};

static vg_status build(vg_op *op, vgi_request *req) {
  json_t *body = NULL;
  const char *what = "processes", *action = NULL;
  req->method = "POST";
  switch (op->kind) {
  case VGI_OP_LOGIN:
    req->path = strdup("/api/session");
    req->basic_auth = 1;
    req->no_token = 1;
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_LOGOUT:
  case VGI_OP_CHECK:
    req->method = op->kind == VGI_OP_LOGOUT ? "DELETE" : "GET";
    req->path = strdup("/api/session");
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_VMS:
    req->method = "GET";
    req->path = vgi_vapi_vms_path(op, "/api/vcenter/vm", "names", "vms",
                                  "power_states");
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_CREATE:
    action = "create";
    body = json_pack("{s:o,s:o}", "credentials", vgi_vapi_credentials(op->cred),
                     "spec", vgi_vapi_spec(op, 0));
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST:
  case VGI_OP_DELETE:
    action = op->kind == VGI_OP_GET    ? "get"
             : op->kind == VGI_OP_LIST ? "list"
                                       : "delete";
    body = json_pack("{s:o}", "credentials", vgi_vapi_credentials(op->cred));
    break;
  case VGI_OP_ENV:
    what = "environment";
    action = "list";
    body = json_pack("{s:o,s:O}", "credentials", vgi_vapi_credentials(op->cred),
                     "names", json_object_get(op->args, "names"));
    break;
  default:
    return VG_EMISUSE;
  }
  req->path = vgi_vapi_guest_path("/api", op, what, action);
  req->body = vgi_body_dump(body);
  return req->path && req->body ? VG_OK : VG_ENOMEM;
}

static vg_status parse(vg_op *op, const vgi_response *r) {
  json_t *j = NULL;
  vg_status st = VG_OK;
  switch (op->kind) {
  case VGI_OP_LOGOUT:
  case VGI_OP_CHECK:
  case VGI_OP_DELETE:
    return VG_OK;
  default:
    break;
  }
  if (!(j = vgi_parse_body(op, r)))
    return VG_EPROTOCOL;
  switch (op->kind) {
  case VGI_OP_LOGIN:
    if (!json_is_string(j) || !json_string_length(j)) {
      vgi_error_set(&op->err, VG_EPROTOCOL,
                    "POST /api/session answered without a session token");
      st = VG_EPROTOCOL;
    } else
      vgi_session_set_token(op->s, json_string_value(j), json_string_length(j));
    break;
  case VGI_OP_VMS:
    st = vgi_vapi_set_vms(op, j);
    break;
  case VGI_OP_CREATE:
    if (!json_is_integer(j)) {
      vgi_error_set(&op->err, VG_EPROTOCOL, "create answered without a pid");
      st = VG_EPROTOCOL;
    } else
      op->rpid = (int64_t)json_integer_value(j);
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST:
    if ((op->kind == VGI_OP_GET ? !json_is_object(j) : !json_is_array(j)) ||
        vgi_op_add_processes(op, j, &names, op->pid)) {
      vgi_error_set(&op->err, VG_EPROTOCOL,
                    "process %s answer does not fit the API",
                    vgi_op_kind_name(op->kind));
      st = VG_EPROTOCOL;
    } else if (op->kind == VGI_OP_LIST)
      vgi_filter_pids(op);
    break;
  case VGI_OP_ENV: {
    const char *k;
    json_t *v;
    if (!json_is_object(j) || vgi_op_set_env(op, json_object_size(j))) {
      vgi_error_set(&op->err, VG_EPROTOCOL,
                    "environment answer is not an object");
      st = VG_EPROTOCOL;
      break;
    }
    json_array_append(op->keep ? op->keep : (op->keep = json_array()), j);
    json_object_foreach(j, k, v) {
      if (!json_is_string(v))
        continue;
      op->env_names[op->nenv] = (char *)k;
      op->env_values[op->nenv++] = (char *)json_string_value(v);
    }
    break;
  }
  default:
    st = VG_EMISUSE;
  }
  json_decref(j);
  return st;
}

static vg_status error(vg_op *op, const vgi_response *r) {
  return vgi_vapi_error(op, r, 0);
}

static int not_served(const vg_op *op, const vgi_response *r) {
  (void)op;
  return r->status == 404 || r->status == 405 || r->status == 501;
}

const vgi_proto vgi_proto_api = {
    .name = "api",
    .list_has_exit_codes = 0,
    .build = build,
    .parse = parse,
    .error = error,
    .session_rejected = vgi_vapi_session_rejected,
    .not_served = not_served,
};
