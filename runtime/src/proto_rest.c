/* The legacy vSphere Automation API, /rest (vCenter 7.0 GA), NOTES §2:
   bodies and results wrapped in {"value": ...}, maps as key/value arrays,
   filter.* query parameters, session at /rest/com/vmware/cis/session.
   Its process list carries pids, exit codes and finish times. */
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
    req->path = strdup("/rest/com/vmware/cis/session");
    req->basic_auth = 1;
    req->no_token = 1;
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_LOGOUT:
    req->method = "DELETE";
    req->path = strdup("/rest/com/vmware/cis/session");
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_CHECK:
    req->path = strdup("/rest/com/vmware/cis/session?~action=get");
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_VMS:
    req->method = "GET";
    req->path = vgi_vapi_vms_path(op, "/rest/vcenter/vm", "filter.names",
                                  "filter.vms", "filter.power_states");
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_CREATE:
    action = "create";
    body = json_pack("{s:o,s:o}", "credentials", vgi_vapi_credentials(op->cred),
                     "spec", vgi_vapi_spec(op, 1));
    break;
  case VGI_OP_LIST:
    action = "list";
    body = json_pack("{s:o}", "credentials", vgi_vapi_credentials(op->cred));
    if (json_object_get(op->args, "pids"))
      json_object_set(body, "pids", json_object_get(op->args, "pids"));
    break;
  case VGI_OP_GET:
  case VGI_OP_DELETE:
    action = op->kind == VGI_OP_GET ? "get" : "delete";
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
  req->path = vgi_vapi_guest_path("/rest", op, what, action);
  req->body = vgi_body_dump(body);
  return req->path && req->body ? VG_OK : VG_ENOMEM;
}

static vg_status unfit(vg_op *op, const char *what) {
  vgi_error_set(&op->err, VG_EPROTOCOL, "%s answer does not fit the API", what);
  return VG_EPROTOCOL;
}

static vg_status parse(vg_op *op, const vgi_response *r) {
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
  json_t *v = json_object_get(j, "value");
  vg_status st = VG_OK;
  switch (op->kind) {
  case VGI_OP_LOGIN:
    if (!json_is_string(v) || !json_string_length(v))
      st = unfit(op, "session login");
    else
      vgi_session_set_token(op->s, json_string_value(v), json_string_length(v));
    break;
  case VGI_OP_VMS:
    st = vgi_vapi_set_vms(op, v);
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
    break;
  case VGI_OP_ENV: {
    size_t i;
    json_t *kv;
    if (!json_is_array(v) || vgi_op_set_env(op, json_array_size(v))) {
      st = unfit(op, "environment");
      break;
    }
    json_array_append(op->keep ? op->keep : (op->keep = json_array()), v);
    json_array_foreach(v, i, kv) {
      const char *k = vgi_json_str(kv, "key"), *val = vgi_json_str(kv, "value");
      if (!k || !val)
        continue;
      op->env_names[op->nenv] = (char *)k;
      op->env_values[op->nenv++] = (char *)val;
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
  return vgi_vapi_error(op, r, 1);
}

static int not_served(const vg_op *op, const vgi_response *r) {
  (void)op;
  return r->status == 404 || r->status == 405 || r->status == 501;
}

const vgi_proto vgi_proto_rest = {
    .name = "rest",
    .list_has_exit_codes = 1,
    .build = build,
    .parse = parse,
    .error = error,
    .session_rejected = vgi_vapi_session_rejected,
    .not_served = not_served,
};
