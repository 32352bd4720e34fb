/* The vSphere Web Services API over JSON ("VI/JSON", vCenter 8.0U1+),
   NOTES §3: POST {base}/{MoType}/{moId}/{Method} with the named parameters
   as one object, `_typeName` on every object sent, faults as HTTP 500 with
   the fault's `_typeName`, the session token in the vmware-api-session-id
   header. Login reads the service content first (it names the managers and
   tells whether the release is served), then logs in, then looks up the
   guest process manager. VM lookup goes through a container view and the
   property collector. */
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const vgi_proc_names names = {
    "pid", "name", "owner", "cmdLine", "startTime", "endTime", "exitCode"};

static json_t *moref(const char *type, const char *value) {
  return json_pack("{s:s,s:s,s:s}", "_typeName", "ManagedObjectReference",
                   "type", type, "value", value ? value : "");
}

static char *path(const vg_op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *path(const vg_op *op, const char *fmt, ...) {
  vgi_buf b = {0};
  char *out = NULL;
  va_list ap;
  va_start(ap, fmt);
  char *rest = NULL;
  if (vasprintf(&rest, fmt, ap) < 0)
    rest = NULL;
  va_end(ap);
  if (rest && vgi_buf_printf(&b, "/sdk/vim25/") == 0 &&
      vgi_buf_add_escaped(&b, op->s->release) == 0 &&
      vgi_buf_printf(&b, "/%s", rest) == 0)
    out = strdup(b.data);
  free(rest);
  vgi_buf_zfree(&b);
  return out;
}

static json_t *auth(const vg_credentials *c) {
  if (c->saml_token) {
    json_t *a = json_pack("{s:s,s:b,s:s}", "_typeName",
                          "SAMLTokenAuthentication", "interactiveSession", 0,
                          "token", vg_secret_reveal(c->saml_token));
    if (c->user)
      json_object_set_new(a, "username", json_string(c->user));
    return a;
  }
  return json_pack("{s:s,s:b,s:s,s:s}", "_typeName",
                   "NamePasswordAuthentication", "interactiveSession",
                   c->interactive, "username", c->user, "password",
                   vg_secret_reveal(c->password));
}

static json_t *guest_body(const vg_op *op) {
  return json_pack("{s:o,s:o}", "vm", moref("VirtualMachine", op->vm), "auth",
                   auth(op->cred));
}

static json_t *program_spec(const vg_op *op) {
  json_t *a = op->args;
  int minimized = json_is_true(json_object_get(a, "start_minimized"));
  json_t *s = json_pack(
      "{s:s,s:O,s:O}", "_typeName",
      minimized ? "GuestWindowsProgramSpec" : "GuestProgramSpec", "programPath",
      json_object_get(a, "path"), "arguments", json_object_get(a, "arguments"));
  json_t *wd = json_object_get(a, "working_directory");
  if (json_is_string(wd))
    json_object_set(s, "workingDirectory", wd);
  json_t *env = json_object_get(a, "env");
  if (json_is_array(env))
    json_object_set(s, "envVariables", env);
  if (minimized)
    json_object_set_new(s, "startMinimized", json_true());
  return s;
}

static json_t *retrieve_spec(const char *view) {
  return json_pack(
      "{s:[{s:s,s:[{s:s,s:s,s:[s,s]}],s:[{s:s,s:o,s:b,s:[{s:s,s:s,s:s,s:b}]}]"
      "}],s:{s:s}}",
      "specSet", "_typeName", "PropertyFilterSpec", "propSet", "_typeName",
      "PropertySpec", "type", "VirtualMachine", "pathSet", "name",
      "runtime.powerState", "objectSet", "_typeName", "ObjectSpec", "obj",
      moref("ContainerView", view), "skip", 1, "selectSet", "_typeName",
      "TraversalSpec", "type", "ContainerView", "path", "view", "skip", 0,
      "options", "_typeName", "RetrieveOptions");
}

static const char *scratch_str(const vg_op *op, const char *key) {
  return vgi_json_str(op->scratch, key);
}

static vg_status build(vg_op *op, vgi_request *req) {
  vg_session *s = op->s;
  json_t *body = NULL;
  req->method = "POST";
  switch (op->kind) {
  case VGI_OP_LOGIN:
    req->no_token = 1;
    if (op->step == 0) {
      req->method = "GET";
      req->path = path(op, "ServiceInstance/ServiceInstance/content");
    } else if (op->step == 1) {
      req->path = path(op, "SessionManager/%s/Login", s->vim_session_manager);
      body = json_pack("{s:s,s:s}", "userName", s->user, "password",
                       vg_secret_reveal(s->password));
    } else {
      req->no_token = 0;
      req->method = "GET";
      req->path = path(op, "GuestOperationsManager/%s/processManager",
                       s->vim_guest_ops_manager);
    }
    break;
  case VGI_OP_LOGOUT:
    req->path = path(op, "SessionManager/%s/Logout", s->vim_session_manager);
    break;
  case VGI_OP_VMS:
    if (op->step == 0) {
      req->path =
          path(op, "ViewManager/%s/CreateContainerView", s->vim_view_manager);
      body = json_pack("{s:o,s:[s],s:b}", "container",
                       moref("Folder", s->vim_root_folder), "type",
                       "VirtualMachine", "recursive", 1);
    } else if (op->step == 1) {
      req->path = path(op, "PropertyCollector/%s/RetrievePropertiesEx",
                       s->vim_property_collector);
      body = retrieve_spec(scratch_str(op, "view"));
    } else if (op->step == 2) {
      req->path = path(op, "PropertyCollector/%s/ContinueRetrievePropertiesEx",
                       s->vim_property_collector);
      body = json_pack("{s:s}", "token", scratch_str(op, "token"));
    } else {
      req->path =
          path(op, "ContainerView/%s/DestroyView", scratch_str(op, "view"));
    }
    break;
  case VGI_OP_CREATE:
    req->path = path(op, "GuestProcessManager/%s/StartProgramInGuest",
                     s->vim_process_manager);
    body = guest_body(op);
    json_object_set_new(body, "spec", program_spec(op));
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST:
    req->path = path(op, "GuestProcessManager/%s/ListProcessesInGuest",
                     s->vim_process_manager);
    body = guest_body(op);
    if (op->kind == VGI_OP_GET)
      json_object_set_new(body, "pids", json_pack("[I]", (json_int_t)op->pid));
    else if (json_object_get(op->args, "pids"))
      json_object_set(body, "pids", json_object_get(op->args, "pids"));
    break;
  case VGI_OP_DELETE:
    req->path = path(op, "GuestProcessManager/%s/TerminateProcessInGuest",
                     s->vim_process_manager);
    body = guest_body(op);
    json_object_set_new(body, "pid", json_integer((json_int_t)op->pid));
    break;
  case VGI_OP_ENV:
    req->path =
        path(op, "GuestProcessManager/%s/ReadEnvironmentVariableInGuest",
             s->vim_process_manager);
    body = guest_body(op);
    if (json_array_size(json_object_get(op->args, "names")))
      json_object_set(body, "names", json_object_get(op->args, "names"));
    break;
  default:
    return VG_EMISUSE;
  }
  if (body && !(req->body = vgi_body_dump(body)))
    return VG_ENOMEM;
  return req->path ? VG_OK : VG_ENOMEM;
}

static vg_status unfit(vg_op *op, const char *what) {
  vgi_error_set(&op->err, VG_EPROTOCOL, "%s answer does not fit the API", what);
  return VG_EPROTOCOL;
}

static int set_str(char **slot, const char *v) {
  free(*slot);
  *slot = v ? strdup(v) : NULL;
  return *slot != NULL;
}

static vg_status parse_content(vg_op *op, json_t *c) {
  vg_session *s = op->s;
  json_t *about = json_object_get(c, "about");
  const char *rel = vgi_json_str(about, "apiVersion");
  set_str(&s->server_release, rel ? rel : vgi_json_str(about, "version"));
  if (!set_str(&s->vim_session_manager,
               vgi_json_str(json_object_get(c, "sessionManager"), "value")) ||
      !set_str(&s->vim_view_manager,
               vgi_json_str(json_object_get(c, "viewManager"), "value")) ||
      !set_str(
          &s->vim_property_collector,
          vgi_json_str(json_object_get(c, "propertyCollector"), "value")) ||
      !set_str(&s->vim_root_folder,
               vgi_json_str(json_object_get(c, "rootFolder"), "value")))
    return unfit(op, "service content");
  if (!set_str(&s->vim_guest_ops_manager,
               vgi_json_str(json_object_get(c, "guestOperationsManager"),
                            "value"))) {
    vgi_error_set(&op->err, VG_EUNSUPPORTED,
                  "%s has no guest operations manager", s->server);
    return VG_EUNSUPPORTED;
  }
  return VG_OK;
}

static const char *power_state(const char *vim) {
  if (!vim)
    return NULL;
  if (strcmp(vim, "poweredOn") == 0)
    return "POWERED_ON";
  if (strcmp(vim, "poweredOff") == 0)
    return "POWERED_OFF";
  if (strcmp(vim, "suspended") == 0)
    return "SUSPENDED";
  return vim;
}

static int wanted(json_t *filter, const char *v) {
  size_t i;
  json_t *f;
  if (!json_array_size(filter))
    return 1;
  json_array_foreach(filter, i, f) {
    if (v && strcmp(json_string_value(f), v) == 0)
      return 1;
  }
  return 0;
}

/* Adds the VMs of one RetrieveResult to scratch.vms, filtered. */
static vg_status add_objects(vg_op *op, json_t *res) {
  json_t *vms = json_object_get(op->scratch, "vms");
  const char *ps_want = vgi_json_str(op->args, "power_state");
  size_t i, k;
  json_t *o, *p;
  json_t *objects = json_object_get(res, "objects");
  /* null (nothing matched) is an answer; anything else must be a
     RetrieveResult with an array of objects */
  if (!json_is_null(res) &&
      (!json_is_object(res) || (objects && !json_is_array(objects))))
    return unfit(op, "RetrievePropertiesEx");
  json_array_foreach(objects, i, o) {
    const char *id = vgi_json_str(json_object_get(o, "obj"), "value");
    const char *name = NULL, *ps = NULL;
    json_array_foreach(json_object_get(o, "propSet"), k, p) {
      const char *pn = vgi_json_str(p, "name");
      json_t *val = json_object_get(p, "val");
      const char *sv = json_is_string(val) ? json_string_value(val)
                                           : vgi_json_str(val, "_value");
      if (pn && strcmp(pn, "name") == 0)
        name = sv;
      else if (pn && strcmp(pn, "runtime.powerState") == 0)
        ps = power_state(sv);
    }
    if (!id || !name || !ps)
      return unfit(op, "RetrievePropertiesEx");
    if (!wanted(json_object_get(op->args, "names"), name) ||
        !wanted(json_object_get(op->args, "ids"), id) ||
        (ps_want && strcmp(ps_want, ps) != 0))
      continue;
    json_array_append_new(vms, json_pack("{s:s,s:s,s:s}", "vm", id, "name",
                                         name, "power_state", ps));
  }
  const char *token = vgi_json_str(res, "token");
  json_object_set_new(op->scratch, "token",
                      token ? json_string(token) : json_null());
  return VG_OK;
}

static vg_status parse_vms(vg_op *op, json_t *j) {
  switch (op->step) {
  case 0: {
    const char *view = vgi_json_str(j, "value");
    if (!view)
      return unfit(op, "CreateContainerView");
    op->scratch = json_pack("{s:s,s:[]}", "view", view, "vms");
    op->step = 1;
    return VG_EPENDING;
  }
  case 1:
  case 2: {
    vg_status st = add_objects(op, j);
    if (st != VG_OK)
      return st;
    op->step = scratch_str(op, "token") ? 2 : 3;
    return VG_EPENDING;
  }
  default:
    return vgi_op_vms_from_json(op, json_object_get(op->scratch, "vms"));
  }
}

static vg_status parse(vg_op *op, const vgi_response *r) {
  vg_session *s = op->s;
  int empty = r->status == 204 || r->len == 0;
  if (op->kind == VGI_OP_LOGOUT || op->kind == VGI_OP_DELETE)
    return VG_OK;
  if (op->kind == VGI_OP_LOGIN && op->step == 1) {
    if (!r->token || !*r->token) {
      vgi_error_set(&op->err, VG_EPROTOCOL,
                    "Login answered without a vmware-api-session-id header");
      return VG_EPROTOCOL;
    }
    vgi_session_set_token(s, r->token, strlen(r->token));
    op->step = 2;
    return VG_EPENDING;
  }
  if (op->kind == VGI_OP_VMS && op->step == 3)
    return parse_vms(op, NULL);
  json_t *j = empty ? json_null() : vgi_parse_body(op, r);
  if (!j)
    return VG_EPROTOCOL;
  vg_status st = VG_OK;
  switch (op->kind) {
  case VGI_OP_LOGIN:
    if (op->step == 0) {
      st = parse_content(op, j);
      op->step = 1;
      if (st == VG_OK)
        st = VG_EPENDING;
    } else if (!set_str(&s->vim_process_manager, vgi_json_str(j, "value")))
      st = unfit(op, "processManager");
    break;
  case VGI_OP_VMS:
    st = parse_vms(op, j);
    break;
  case VGI_OP_CREATE:
    if (!json_is_integer(j))
      st = unfit(op, "StartProgramInGuest");
    else
      op->rpid = (int64_t)json_integer_value(j);
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST: {
    json_t *arr = json_is_null(j) ? json_array() : json_incref(j);
    if (!json_is_array(arr) || vgi_op_add_processes(op, arr, &names, 0))
      st = unfit(op, "ListProcessesInGuest");
    else if (op->kind == VGI_OP_GET && op->nprocs != 1) {
      vgi_error_set(&op->err, VG_ENOTFOUND, "process %lld not found",
                    (long long)op->pid);
      vgi_error_set_fault(&op->err, "GuestProcessNotFound");
      st = VG_ENOTFOUND;
    }
    json_decref(arr);
    break;
  }
  case VGI_OP_ENV: {
    /* "NAME=value" strings */
    size_t i;
    json_t *e;
    if (!json_is_array(j) && !json_is_null(j)) {
      st = unfit(op, "ReadEnvironmentVariableInGuest");
      break;
    }
    json_array_foreach(j, i, e) {
      const char *kv = json_string_value(e), *eq = kv ? strchr(kv, '=') : NULL;
      if (!eq) {
        st = unfit(op, "ReadEnvironmentVariableInGuest");
        break;
      }
      if (vgi_op_add_env(op, kv, (size_t)(eq - kv), eq + 1)) {
        st = VG_ENOMEM;
        break;
      }
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
  json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
  const char *fault = vgi_json_str(j, "_typeName");
  const char *auth_kind = NULL;
  vg_status st = fault ? vgi_vim_fault_status(fault, &auth_kind)
                       : vgi_http_status_fallback(r->status);
  const char *msg = vgi_json_str(j, "faultstring");
  if (!msg)
    msg = vgi_json_str(json_array_get(json_object_get(j, "faultMessage"), 0),
                       "message");
  const char *state = vgi_json_str(j, "existingState");
  if (msg && *msg)
    vgi_error_set(&op->err, st, "%s", msg);
  else if (fault && state)
    vgi_error_set(&op->err, st, "%s (the VM is %s)", fault, state);
  else if (fault)
    vgi_error_set(&op->err, st, "%s", fault);
  else
    vgi_error_set(&op->err, st, "HTTP %ld from the server", r->status);
  vgi_error_set_fault(&op->err, fault);
  vgi_error_set_message_id(&op->err, NULL);
  op->err.pub.http_status = (int)r->status;
  op->err.pub.auth = auth_kind;
  json_decref(j);
  return st;
}

static int session_rejected(const vg_op *op, const vgi_response *r) {
  (void)op;
  if (r->status == 401)
    return 1;
  json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
  const char *fault = vgi_json_str(j, "_typeName");
  int rej = fault && strcmp(fault, "NotAuthenticated") == 0;
  json_decref(j);
  return rej;
}

/* Releases tried, in order, when the user named none: a server serves the
   releases up to its own, so the oldest JSON release (8.0U1) is the most
   widely served; later ones cover servers that dropped it. */
static const char *const releases[] = {"8.0.1.0", "8.0.2.0", "8.0.3.0",
                                       "9.0.0.0", NULL};

static int not_served(vg_op *op, const vgi_response *r) {
  vg_session *s = op->s;
  /* The service content needs no login: any refusal of it means the
     release (or VI/JSON) is not served here. */
  if (op->step != 0 ||
      (r->status != 404 && r->status != 405 && r->status != 501 &&
       r->status != 401 && r->status != 403))
    return 0;
  if (s->release_given || !releases[s->release_try + 1])
    return 1;
  char *next = strdup(releases[++s->release_try]);
  if (!next)
    return 1;
  free(s->release);
  s->release = next;
  return -1;
}

const vgi_proto vgi_proto_vim25 = {
    .name = "vim25",
    .list_has_exit_codes = 1,
    .build = build,
    .parse = parse,
    .error = error,
    .session_rejected = session_rejected,
    .not_served = not_served,
};
