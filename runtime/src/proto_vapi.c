/* The two vSphere Automation (vAPI) flavours, modern /api (NOTES §1) and
   legacy /rest (NOTES §2), are one implementation: they differ only in the
   facts of a vgi_vapi_flavour (proto_api.c, proto_rest.c): path prefix,
   session paths, the {"value": ...} wrapper, maps as objects or key/value
   arrays, VM filter names, and whether list takes pids and returns exit
   codes. A 401 on a guest operation is ambiguous (expired session or bad
   guest credentials); vgi_vapi_session_rejected says which when the message
   id tells, else asks for a check of the token. */
#include "proto_vapi.h"

#include "inventory.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vgi_request_clear(vgi_request *r) {
  free(r->path);
  r->path = NULL;
  vgi_buf_zfree(&r->body);
}

/* {"credentials":{...}<members of rest>}: the credentials are written by
   hand (they hold a secret), the rest through jansson. */
static int guest_body(vgi_buf *b, const vg_credentials *c, json_t *rest) {
  const vg_secret *s = c->saml_token ? c->saml_token : c->password;
  int rc =
      vgi_buf_printf(b,
                     "{\"credentials\":{\"interactive_session\":%s,"
                     "\"type\":\"%s\",",
                     c->interactive ? "true" : "false",
                     vg_credentials_type(c)) ||
      vgi_buf_add_json_member(b, c->saml_token ? "saml_token" : "password",
                              vg_secret_reveal(s), vg_secret_len(s)) ||
      (c->user &&
       (vgi_buf_add(b, ",", 1) ||
        vgi_buf_add_json_member(b, "user_name", c->user, strlen(c->user)))) ||
      vgi_buf_add(b, "}", 1) || (rest && vgi_buf_add_json_members(b, rest)) ||
      vgi_buf_add(b, "}", 1);
  json_decref(rest);
  return rc ? -1 : 0;
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

vg_status vgi_vapi_error(void *state, const vgi_call *c, const vgi_answer *a,
                         vgi_error *err) {
  const vgi_vapi_flavour *f = state;
  /* Tools said they run, then the identity is not there (yet): what
     Tools said stands */
  if (c->kind == VGI_OP_GUEST_INFO && c->step == 1 && a->status != 401)
    return VG_OK;
  json_t *j = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
  json_t *v = f->wrapped ? json_object_get(j, "value") : j;
  const char *etype = vgi_json_str(v, "error_type");
  char derived[64];
  if (!etype && f->wrapped) {
    type_from_name(vgi_json_str(j, "type"), derived);
    if (derived[0])
      etype = derived;
  }
  vg_status st = etype ? vgi_vapi_error_status(etype)
                       : vgi_http_status_fallback(a->status);
  json_t *m0 = json_array_get(json_object_get(v, "messages"), 0);
  const char *msg = vgi_json_str(m0, "default_message");
  if (msg && *msg)
    vgi_error_set(err, st, "%s", msg);
  else if (etype)
    vgi_error_set(err, st, "%s (HTTP %ld)", etype, a->status);
  else
    vgi_error_set(err, st, "HTTP %ld from the server", a->status);
  vgi_error_set_fault(err, etype);
  vgi_error_set_message_id(err, vgi_json_str(m0, "id"));
  err->pub.http_status = (int)a->status;
  json_decref(j);
  return st;
}

int vgi_vapi_session_rejected(void *state, const vgi_call *c,
                              const vgi_answer *a) {
  (void)state;
  if (a->status != 401)
    return 0;
  /* Only guest operations carry guest credentials that a 401 may be
     about; everything else is about the session. */
  if (!c->cred)
    return 1;
  json_t *j = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
  json_t *v = json_object_get(j, "value");
  json_t *m0 =
      json_array_get(json_object_get(json_is_object(v) ? v : j, "messages"), 0);
  const char *id = vgi_json_str(m0, "id");
  int session = id && strstr(id, "authentication.required") != NULL;
  json_decref(j);
  return session ? 1 : 2;
}

/* <prefix>/vcenter/vm/<vm>/guest/<what>[/<pid>]?action=<action> */
static char *guest_path(const char *prefix, const vgi_call *c, const char *what,
                        const char *action) {
  vgi_buf b = {0};
  if (vgi_buf_printf(&b, "%s/vcenter/vm/", prefix) ||
      vgi_buf_add_escaped(&b, c->vm) || vgi_buf_printf(&b, "/guest/%s", what))
    goto fail;
  if ((c->kind == VGI_OP_GET || c->kind == VGI_OP_DELETE) &&
      vgi_buf_printf(&b, "/%lld", (long long)c->pid))
    goto fail;
  if (vgi_buf_printf(&b, "?action=%s", action))
    goto fail;
  return vgi_buf_steal(&b);
fail:
  vgi_buf_zfree(&b);
  return NULL;
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

/* The CreateSpec of a process; maps are objects on /api and key/value
   arrays on /rest. */
static json_t *spec(const vgi_call *c, int map_as_pairs) {
  json_t *a = c->args, *s = json_object();
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
      json_t *val = json_string(eq + 1);
      if (map_as_pairs)
        json_array_append_new(m, json_pack("{s:s%,s:o}", "key", e,
                                           (size_t)(eq - e), "value", val));
      else {
        char *k = strndup(e, (size_t)(eq - e));
        if (k)
          json_object_set_new(m, k, val);
        else
          json_decref(val);
        free(k);
      }
    }
    json_object_set_new(s, "environment_variables", m);
  }
  if (json_is_true(json_object_get(a, "start_minimized")))
    json_object_set_new(s, "start_minimized", json_true());
  return s;
}

/* GET path of the VM list: <prefix>/vcenter/vm plus the filters. */
static char *vms_path(const vgi_call *c, const vgi_vapi_flavour *f) {
  vgi_buf b = {0};
  const char *ps = vgi_json_str(c->args, "power_state");
  size_t k;
  if (vgi_buf_printf(&b, "%s/vcenter/vm", f->prefix) ||
      query_add(&b, f->q_names, json_object_get(c->args, "names")) ||
      query_add(&b, f->q_ids, json_object_get(c->args, "ids")))
    goto fail;
  for (k = 0; k < VGI_NINVENTORY_KINDS; k++) {
    char key[64];
    snprintf(key, sizeof key, "%s%s", f->q_filter,
             vgi_inventory_kinds[k].filter);
    if (query_add(&b, key,
                  json_object_get(c->args, vgi_inventory_kinds[k].filter)))
      goto fail;
  }
  if (ps && vgi_buf_printf(&b, "%c%s=%s", strchr(b.data, '?') ? '&' : '?',
                           f->q_power, ps))
    goto fail;
  return vgi_buf_steal(&b);
fail:
  vgi_buf_zfree(&b);
  return NULL;
}

/* GET <prefix>/vcenter/<kind>[?names=...][&type=VIRTUAL_MACHINE]: the
   Summary list of a kind (folders: VM folders only). */
static char *inventory_path(const vgi_call *c, const vgi_vapi_flavour *f) {
  const vgi_inventory_kind *k = vgi_inventory_kind_of(c->args);
  vgi_buf b = {0};
  char key[32];
  snprintf(key, sizeof key, "%snames", f->q_filter);
  if (!k || vgi_buf_printf(&b, "%s/vcenter/%s", f->prefix, k->vapi_path) ||
      query_add(&b, key, json_object_get(c->args, "names")))
    goto fail;
  if (strcmp(k->name, "folder") == 0 &&
      vgi_buf_printf(&b, "%c%stype=VIRTUAL_MACHINE",
                     strchr(b.data, '?') ? '&' : '?', f->q_filter))
    goto fail;
  return vgi_buf_steal(&b);
fail:
  vgi_buf_zfree(&b);
  return NULL;
}

/* GET <prefix>/vcenter/vm/<vm>/tools (step 0), then
   .../guest/identity (step 1, when Tools run). */
static char *guest_info_path(const vgi_call *c, const vgi_vapi_flavour *f) {
  vgi_buf b = {0};
  if (vgi_buf_printf(&b, "%s/vcenter/vm/", f->prefix) ||
      vgi_buf_add_escaped(&b, c->vm) ||
      vgi_buf_adds(&b, c->step == 0 ? "/tools" : "/guest/identity")) {
    vgi_buf_zfree(&b);
    return NULL;
  }
  return vgi_buf_steal(&b);
}

/* ---- guest files (NOTES §1.7) --------------------------------------- */

static int is_file_kind(vgi_op_kind k) {
  return k == VGI_OP_MKTEMP || k == VGI_OP_STAT || k == VGI_OP_LS ||
         k == VGI_OP_MKDIR || k == VGI_OP_REMOVE || k == VGI_OP_FROM_GUEST ||
         k == VGI_OP_TO_GUEST || k == VGI_OP_FAMILY;
}

/* <prefix>/vcenter/vm/<vm>/guest/<what>[/<escaped path>]?action=<action> */
static char *fs_path(const char *prefix, const vgi_call *c, const char *what,
                     const char *item, const char *action) {
  vgi_buf b = {0};
  if (vgi_buf_printf(&b, "%s/vcenter/vm/", prefix) ||
      vgi_buf_add_escaped(&b, c->vm) || vgi_buf_printf(&b, "/guest/%s", what) ||
      (item && (vgi_buf_add(&b, "/", 1) || vgi_buf_add_escaped(&b, item))) ||
      (action && vgi_buf_printf(&b, "?action=%s", action)))
    goto fail;
  return vgi_buf_steal(&b);
fail:
  vgi_buf_zfree(&b);
  return NULL;
}

static json_t *creation_attributes(const json_t *a) {
  json_t *at = json_pack(
      "{s:I,s:b}", "size", json_integer_value(json_object_get(a, "size")),
      "overwrite", json_is_true(json_object_get(a, "overwrite")));
  json_t *posix = json_object();
  json_t *mode = json_object_get(a, "mode");
  if (json_is_integer(mode)) {
    char perm[16];
    snprintf(perm, sizeof perm, "%04llo",
             (unsigned long long)json_integer_value(mode));
    json_object_set_new(posix, "permissions", json_string(perm));
  }
  if (json_is_integer(json_object_get(a, "owner")))
    json_object_set(posix, "owner_id", json_object_get(a, "owner"));
  if (json_is_integer(json_object_get(a, "group")))
    json_object_set(posix, "group_id", json_object_get(a, "group"));
  if (json_object_size(posix))
    json_object_set_new(at, "posix", posix);
  else
    json_decref(posix);
  return at;
}

static vg_status build_files(const vgi_vapi_flavour *f, vgi_call *c,
                             vgi_request *req, vgi_error *err) {
  json_t *a = c->args, *rest = NULL;
  const char *path = vgi_json_str(a, "path");
  req->method = "POST";
  switch (c->kind) {
  case VGI_OP_FAMILY:
    req->method = "GET";
    req->path = fs_path(f->prefix, c, "identity", NULL, NULL);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_MKTEMP: {
    int dir = json_is_true(json_object_get(a, "directory"));
    req->path = fs_path(f->prefix, c,
                        dir ? "filesystem/directories" : "filesystem/files",
                        NULL, "createTemporary");
    rest = json_pack("{s:O,s:O}", "prefix", json_object_get(a, "prefix"),
                     "suffix", json_object_get(a, "suffix"));
    if (json_is_string(json_object_get(a, "dir")))
      json_object_set(rest, "parent_path", json_object_get(a, "dir"));
    break;
  }
  case VGI_OP_STAT:
    req->path = fs_path(f->prefix, c, "filesystem/files", path, "get");
    break;
  case VGI_OP_LS:
    req->path = fs_path(f->prefix, c, "filesystem/files", NULL, "list");
    rest = json_pack("{s:s,s:{s:I,s:i}}", "path", path, "iteration", "index",
                     json_integer_value(json_object_get(c->scratch, "index")),
                     "size", 200);
    break;
  case VGI_OP_MKDIR:
    req->path = fs_path(f->prefix, c, "filesystem/directories", NULL, "create");
    rest = json_pack("{s:s,s:b}", "path", path, "create_parents",
                     json_is_true(json_object_get(a, "parents")));
    break;
  case VGI_OP_REMOVE:
    if (json_is_true(json_object_get(a, "directory"))) {
      req->path =
          fs_path(f->prefix, c, "filesystem/directories", NULL, "delete");
      rest = json_pack("{s:s,s:b}", "path", path, "recursive",
                       json_is_true(json_object_get(a, "recursive")));
    } else {
      req->path = fs_path(f->prefix, c, "filesystem/files", path, "delete");
    }
    break;
  case VGI_OP_FROM_GUEST:
  case VGI_OP_TO_GUEST: {
    /* attributes must be set for an upload and must not be for a
       download (NOTES §1.7) */
    json_t *spec = json_pack("{s:s}", "path", path);
    if (c->kind == VGI_OP_TO_GUEST)
      json_object_set_new(spec, "attributes", creation_attributes(a));
    req->path = fs_path(f->prefix, c, "filesystem", NULL, "create");
    rest = json_pack("{s:o}", "spec", spec);
    break;
  }
  default:
    (void)err;
    return VG_EMISUSE;
  }
  if (!req->path || guest_body(&req->body, c->cred, rest))
    return VG_ENOMEM;
  return VG_OK;
}

static const char *file_type(const char *api) {
  if (!api)
    return NULL;
  if (strcmp(api, "FILE") == 0)
    return "file";
  if (strcmp(api, "DIRECTORY") == 0)
    return "directory";
  if (strcmp(api, "SYMLINK") == 0)
    return "symlink";
  return NULL;
}

static const vgi_proc_names names = {
    "pid", "name", "owner", "command", "started", "finished", "exit_code"};

static vg_status simple(vgi_request *req, const char *method,
                        const char *path) {
  req->method = method;
  req->path = strdup(path);
  return req->path ? VG_OK : VG_ENOMEM;
}

vg_status vgi_vapi_build(void *state, vgi_call *c, vgi_request *req,
                         vgi_error *err) {
  const vgi_vapi_flavour *f = state;
  json_t *rest = NULL;
  const char *what = "processes", *action = NULL;
  switch (c->kind) {
  case VGI_OP_LOGIN:
    req->header = f->login_header;
    req->basic_auth = 1;
    req->no_token = 1;
    return simple(req, "POST", f->session_path);
  case VGI_OP_LOGOUT:
    return simple(req, "DELETE", f->session_path);
  case VGI_OP_CHECK:
    return simple(req, f->check_method, f->check_path);
  case VGI_OP_VMS:
    req->method = "GET";
    req->path = vms_path(c, f);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_INVENTORY:
    req->method = "GET";
    req->path = inventory_path(c, f);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_GUEST_INFO:
    req->method = "GET";
    req->path = guest_info_path(c, f);
    return req->path ? VG_OK : VG_ENOMEM;
  case VGI_OP_CREATE:
    action = "create";
    rest = json_pack("{s:o}", "spec", spec(c, f->map_as_pairs));
    break;
  case VGI_OP_GET:
    action = "get";
    break;
  case VGI_OP_DELETE:
    action = "delete";
    break;
  case VGI_OP_LIST:
    action = "list";
    if (f->list_pids && json_object_get(c->args, "pids"))
      rest = json_pack("{s:O}", "pids", json_object_get(c->args, "pids"));
    break;
  case VGI_OP_ENV:
    what = "environment";
    action = "list";
    rest = json_pack("{s:O}", "names", json_object_get(c->args, "names"));
    break;
  default:
    if (is_file_kind(c->kind) && f->filesystem)
      return build_files(f, c, req, err);
    if (is_file_kind(c->kind)) {
      vgi_error_set(err, VG_EUNSUPPORTED,
                    "the %s API has no guest filesystem (%s): vCenter 7.0.3 "
                    "and later serve it on /api only",
                    f->prefix + 1, vgi_op_kind_name(c->kind));
      return VG_EUNSUPPORTED;
    }
    vgi_error_set(err, VG_EUNSUPPORTED, "the %s API has no %s operation",
                  f->prefix + 1, vgi_op_kind_name(c->kind));
    return VG_EUNSUPPORTED;
  }
  req->method = "POST";
  req->path = guest_path(f->prefix, c, what, action);
  if (!req->path || guest_body(&req->body, c->cred, rest))
    return VG_ENOMEM;
  return VG_OK;
}

static vg_status unfit(vgi_error *err, const char *what) {
  vgi_error_set(err, VG_EPROTOCOL, "%s answer does not fit the API", what);
  return VG_EPROTOCOL;
}

static vg_status parse_env(vgi_result *res, json_t *v, int pairs,
                           vgi_error *err) {
  if (pairs ? !json_is_array(v) : !json_is_object(v))
    return unfit(err, "environment");
  if (pairs) {
    size_t i;
    json_t *kv;
    json_array_foreach(v, i, kv) {
      const char *k = vgi_json_str(kv, "key"), *val = vgi_json_str(kv, "value");
      if (!k || !val)
        return unfit(err, "environment");
      if (vgi_result_add_env(res, k, strlen(k), val))
        return VG_ENOMEM;
    }
  } else {
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
      if (!json_is_string(val))
        return unfit(err, "environment");
      if (vgi_result_add_env(res, k, strlen(k), json_string_value(val)))
        return VG_ENOMEM;
    }
  }
  return VG_OK;
}

/* The login answer is the token: read outside jansson (json.h). */
static vg_status parse_login(const vgi_vapi_flavour *f, const vgi_answer *a,
                             vgi_result *res, vgi_error *err) {
  vgi_buf tok = {0};
  if (vgi_json_secret_string(a->body, a->len, f->wrapped ? "value" : NULL,
                             &tok) ||
      tok.len == 0) {
    vgi_buf_zfree(&tok);
    return unfit(err, "session login");
  }
  vg_status st = vgi_result_set_token(res, tok.data, tok.len);
  vgi_buf_zfree(&tok);
  if (st == VG_EPROTOCOL)
    vgi_error_set(err, st,
                  "session login answered with a token that is not "
                  "one (control characters, spaces or over 4096 "
                  "bytes)");
  return st;
}

static vg_status parse_vms(vgi_result *res, json_t *arr, vgi_error *err) {
  size_t i;
  json_t *v;
  if (!json_is_array(arr))
    return unfit(err, "VM list");
  json_array_foreach(arr, i, v) {
    const char *id = vgi_json_str(v, "vm"), *name = vgi_json_str(v, "name"),
               *ps = vgi_json_str(v, "power_state");
    if (!id || !name || !ps) {
      vgi_error_set(err, VG_EPROTOCOL,
                    "VM summary lacks vm, name or power_state");
      return VG_EPROTOCOL;
    }
    if (vgi_result_add_vm(res, id, name, ps))
      return VG_ENOMEM;
  }
  return VG_OK;
}

static vg_status parse_inventory(const vgi_call *c, vgi_result *res,
                                 json_t *arr, vgi_error *err) {
  const vgi_inventory_kind *k = vgi_inventory_kind_of(c->args);
  size_t i;
  json_t *v;
  if (!k || !json_is_array(arr))
    return unfit(err, "inventory list");
  json_array_foreach(arr, i, v) {
    const char *id = vgi_json_str(v, k->vapi_id),
               *name = vgi_json_str(v, "name");
    if (!id || !name) {
      vgi_error_set(err, VG_EPROTOCOL, "%s summary lacks %s or name", k->name,
                    k->vapi_id);
      return VG_EPROTOCOL;
    }
    if (vgi_result_add_object(res, id, name))
      return VG_ENOMEM;
  }
  return VG_OK;
}

/* Tools.Info (step 0): run_state; Identity.Info (step 1): family,
   ip_address, host_name. Guest operations are ready when Tools run (the
   vAPI tells no more). */
static vg_status parse_guest_info(vgi_call *c, vgi_result *res, json_t *v,
                                  vgi_error *err) {
  vg_guest_info g = {0};
  if (!json_is_object(v))
    return unfit(err, c->step == 0 ? "VM tools" : "guest identity");
  if (c->step == 0) {
    const char *rs = vgi_json_str(v, "run_state");
    if (!rs)
      return unfit(err, "VM tools (no run_state)");
    g.tools = strcmp(rs, "RUNNING") == 0             ? "running"
              : strcmp(rs, "NOT_RUNNING") == 0       ? "not_running"
              : strcmp(rs, "EXECUTING_SCRIPTS") == 0 ? "starting"
                                                     : NULL;
    if (!g.tools) {
      vgi_error_set(err, VG_EPROTOCOL,
                    "VM tools run_state '%s' is not one "
                    "of RUNNING, NOT_RUNNING, EXECUTING_SCRIPTS",
                    rs);
      return VG_EPROTOCOL;
    }
    g.ops_ready = strcmp(g.tools, "running") == 0;
    if (vgi_result_set_guest(res, &g))
      return VG_ENOMEM;
    if (!g.ops_ready)
      return VG_OK;
    c->step = 1;
    return VG_EPENDING;
  }
  g = *res->guest;
  g.family = vgi_json_str(v, "family");
  g.ip_address = vgi_json_str(v, "ip_address");
  g.host_name = vgi_json_str(v, "host_name");
  return vgi_result_set_guest(res, &g) ? VG_ENOMEM : VG_OK;
}

/* FilesInfo {type, size, attributes{posix_attributes{owner, group,
   permissions}, last_modified, symlink_target}} or a Summary {filename,
   type, size} of a list. */
static int add_file(vgi_result *res, json_t *o, const char *name) {
  vg_file_info fi;
  memset(&fi, 0, sizeof fi);
  json_t *size = json_object_get(o, "size");
  fi.type = file_type(vgi_json_str(o, "type"));
  fi.name = name ? name : vgi_json_str(o, "filename");
  if (!fi.type || !fi.name || !json_is_integer(size))
    return -1;
  fi.size = (int64_t)json_integer_value(size);
  fi.owner = fi.group = -1;
  json_t *at = json_object_get(o, "attributes");
  json_t *px = json_object_get(at, "posix_attributes");
  const char *perm = vgi_json_str(px, "permissions");
  if (perm) {
    char *end;
    unsigned long m = strtoul(perm, &end, 8);
    if (*end || m > 07777)
      return -1;
    fi.has_mode = 1;
    fi.mode = (unsigned)m;
  }
  if (json_is_integer(json_object_get(px, "owner")))
    fi.owner = json_integer_value(json_object_get(px, "owner"));
  if (json_is_integer(json_object_get(px, "group")))
    fi.group = json_integer_value(json_object_get(px, "group"));
  fi.modified = vgi_json_str(at, "last_modified");
  fi.symlink_target = vgi_json_str(at, "symlink_target");
  return vgi_result_add_file(res, &fi);
}

static vg_status parse_files(vgi_call *c, json_t *v, vgi_result *res,
                             vgi_error *err) {
  switch (c->kind) {
  case VGI_OP_FAMILY: {
    const char *fam = vgi_json_str(v, "family");
    if (!json_is_object(v))
      return unfit(err, "guest identity");
    res->os = fam && strcmp(fam, "WINDOWS") == 0 ? VG_OS_WINDOWS : VG_OS_POSIX;
    return VG_OK;
  }
  case VGI_OP_MKTEMP:
  case VGI_OP_FROM_GUEST:
  case VGI_OP_TO_GUEST:
    if (!json_is_string(v) || !json_string_length(v))
      return unfit(err, vgi_op_kind_name(c->kind));
    res->size = -1;
    return vgi_result_set_path(res, json_string_value(v)) ? VG_ENOMEM : VG_OK;
  case VGI_OP_STAT:
    if (!json_is_object(v) || add_file(res, v, vgi_json_str(c->args, "path")))
      return unfit(err, "file info");
    return VG_OK;
  case VGI_OP_LS: {
    json_t *files = json_object_get(v, "files");
    const char *status = vgi_json_str(v, "status");
    size_t i;
    json_t *f;
    if (!json_is_array(files))
      return unfit(err, "file list");
    json_array_foreach(files, i, f) {
      const char *name = vgi_json_str(f, "filename");
      if (name && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
        continue; /* as on vim25: a listing is of the entries */
      if (add_file(res, f, NULL))
        return unfit(err, "file list");
    }
    json_int_t total = json_integer_value(json_object_get(v, "total"));
    json_int_t next = json_integer_value(json_object_get(c->scratch, "index")) +
                      (json_int_t)json_array_size(files);
    if (status && strcmp(status, "READY") == 0 && json_array_size(files) &&
        next < total) {
      if (!c->scratch)
        c->scratch = json_object();
      json_t *was = json_object_get(c->scratch, "total");
      if ((was && json_integer_value(was) != total) ||
          c->step + 1 >= VGI_MAX_LISTING_PAGES) {
        vgi_error_set(err, VG_EPROTOCOL,
                      "file list: the listing does not end (page %d of "
                      "%lld entries in all)",
                      c->step + 1, (long long)total);
        return VG_EPROTOCOL;
      }
      json_object_set_new(c->scratch, "total", json_integer(total));
      json_object_set_new(c->scratch, "index", json_integer(next));
      c->step++;
      return VG_EPENDING;
    }
    return VG_OK;
  }
  default:
    return unfit(err, vgi_op_kind_name(c->kind));
  }
}

vg_status vgi_vapi_parse(void *state, vgi_call *c, const vgi_answer *a,
                         vgi_result *res, vgi_error *err) {
  const vgi_vapi_flavour *f = state;
  switch (c->kind) {
  case VGI_OP_LOGOUT:
  case VGI_OP_CHECK:
  case VGI_OP_DELETE:
  case VGI_OP_MKDIR:
  case VGI_OP_REMOVE:
    return VG_OK;
  case VGI_OP_LOGIN:
    return parse_login(f, a, res, err);
  default:
    break;
  }
  json_t *j = vgi_json_parse_answer(a->body, a->len, a->status,
                                    vgi_op_kind_name(c->kind), err);
  if (!j)
    return VG_EPROTOCOL;
  json_t *v = f->wrapped ? json_object_get(j, "value") : j;
  vg_status st = VG_OK;
  switch (c->kind) {
  case VGI_OP_VMS:
    st = parse_vms(res, v, err);
    break;
  case VGI_OP_INVENTORY:
    st = parse_inventory(c, res, v, err);
    break;
  case VGI_OP_GUEST_INFO:
    st = parse_guest_info(c, res, v, err);
    break;
  case VGI_OP_CREATE:
    if (vgi_result_set_pid(res, v) != VG_OK)
      st = unfit(err, "create (a pid > 0)");
    break;
  case VGI_OP_GET:
    if (!json_is_object(v) || vgi_result_add_processes(res, v, &names, c->pid))
      st = unfit(err, "process get");
    break;
  case VGI_OP_LIST:
    if (!json_is_array(v) || vgi_result_add_processes(res, v, &names, 0))
      st = unfit(err, "process list");
    else if (json_object_get(c->args, "pids"))
      /* /api has no pid filter; harmless on /rest */
      vgi_result_keep_pids(res, json_object_get(c->args, "pids"));
    break;
  case VGI_OP_ENV:
    st = parse_env(res, v, f->map_as_pairs, err);
    break;
  default:
    st = parse_files(c, v, res, err);
  }
  json_decref(j);
  return st;
}

int vgi_vapi_not_served(void *state, const vgi_call *c, const vgi_answer *a) {
  (void)state;
  (void)c;
  if (a->status == 404 || a->status == 405 || a->status == 501)
    return 1;
  if (a->status != 401 && a->status != 403)
    return 0;
  /* A server that checks authentication before routing answers 401 for a
     path it does not have; a vAPI endpoint that rejects the password says
     so in a vAPI error body. Only the latter ends the probe (probing on
     after a real rejection would spend the account's lockout allowance). */
  json_t *j = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
  int vapi = json_is_object(j) &&
             (json_object_get(j, "error_type") ||
              json_object_get(j, "messages") || json_object_get(j, "type"));
  json_decref(j);
  return !vapi;
}
