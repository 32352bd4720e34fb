/* Pieces shared by the two vSphere Automation (vAPI) flavours, /api and
   legacy /rest: guest credentials, error bodies, the ambiguous 401. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

json_t *vgi_vapi_credentials(const vg_credentials *c) {
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

vg_status vgi_vapi_error(vg_op *op, const vgi_response *r, int wrapped) {
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
char *vgi_vapi_guest_path(const char *prefix, const vg_op *op, const char *what,
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
int vgi_query_add(vgi_buf *b, const char *key, json_t *values) {
  size_t i;
  json_t *v;
  json_array_foreach(values, i, v) {
    if (vgi_buf_printf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', key) ||
        vgi_buf_add_escaped(b, json_string_value(v)))
      return -1;
  }
  return 0;
}

vg_status vgi_vapi_set_vms(vg_op *op, json_t *arr) {
  size_t i;
  json_t *v;
  if (!json_is_array(arr) || vgi_op_set_vms(op, json_array_size(arr))) {
    vgi_error_set(&op->err, VG_EPROTOCOL, "VM list answer is not an array");
    return VG_EPROTOCOL;
  }
  json_array_append(op->keep ? op->keep : (op->keep = json_array()), arr);
  json_array_foreach(arr, i, v) {
    vg_vm_info *vm = &op->vms[op->nvms];
    vm->id = vgi_json_str(v, "vm");
    vm->name = vgi_json_str(v, "name");
    vm->power_state = vgi_json_str(v, "power_state");
    if (!vm->id || !vm->name || !vm->power_state) {
      vgi_error_set(&op->err, VG_EPROTOCOL,
                    "VM summary lacks vm, name or power_state");
      return VG_EPROTOCOL;
    }
    op->nvms++;
  }
  return VG_OK;
}

/* Keeps only the processes whose pid op->args.pids lists (api has no pid
   filter on list). */
void vgi_filter_pids(vg_op *op) {
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

int vgi_op_set_env(vg_op *op, size_t n) {
  op->env_names = calloc(n ? n : 1, sizeof *op->env_names);
  op->env_values = calloc(n ? n : 1, sizeof *op->env_values);
  op->nenv = 0;
  return op->env_names && op->env_values ? 0 : -1;
}

/* The CreateSpec of a process; maps are objects on /api and key/value
   arrays on /rest. */
json_t *vgi_vapi_spec(const vg_op *op, int map_as_pairs) {
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

/* GET path of the VM list: base plus the filters under their names. */
char *vgi_vapi_vms_path(const vg_op *op, const char *base, const char *names,
                        const char *ids, const char *power_states) {
  vgi_buf b = {0};
  char *out = NULL;
  const char *ps = vgi_json_str(op->args, "power_state");
  if (vgi_buf_printf(&b, "%s", base) ||
      vgi_query_add(&b, names, json_object_get(op->args, "names")) ||
      vgi_query_add(&b, ids, json_object_get(op->args, "ids")))
    goto out;
  if (ps && vgi_buf_printf(&b, "%c%s=%s", strchr(b.data, '?') ? '&' : '?',
                           power_states, ps))
    goto out;
  out = strdup(b.data);
out:
  vgi_buf_zfree(&b);
  return out;
}
