/* /sim/ control endpoints (no authentication: a loopback test tool).
 *   POST /sim/control   injection and state changes (README.md)
 *   GET  /sim/stats     counters
 *   GET  /sim/transfers the transfer URLs still remembered (no tokens)
 *   GET|POST /sim/vm/{id}  a VM's place and state; change its power and
 *                          Tools, optionally with a delay (README.md)
 *   POST /sim/shutdown  stop the simulator */
#include "control.h"
#include "util.h"

#include <string.h>

static void bad(struct reply *rp, const char *msg) {
  reply_json(rp, 400, json_pack("{s:s}", "error", msg));
}

/* The ops filter of fail_next and malform_next (member names the
 * control member in messages); without ops, the guest operations. */
static bool parse_ops(json_t *ops, bool mask[OP_COUNT], const char **err) {
  size_t i;
  json_t *o;
  enum op op;
  memset(mask, 0, OP_COUNT * sizeof *mask);
  if (!ops) {
    mask[OP_CREATE] = mask[OP_LIST] = mask[OP_GET] = mask[OP_DELETE] = true;
    mask[OP_ENVIRONMENT] = true;
    return true;
  }
  if (!json_is_array(ops)) {
    *err = "ops must be an array of operation names";
    return false;
  }
  json_array_foreach(ops, i, o) {
    if (!json_is_string(o) || !op_parse(json_string_value(o), &op)) {
      *err = "ops: unknown operation name";
      return false;
    }
    mask[op] = true;
  }
  return true;
}

/* Checks that obj has only the members in known (NULL-terminated). */
static bool only_members(json_t *obj, const char *const *known) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    bool ok = false;
    for (const char *const *k = known; *k; k++)
      ok = ok || strcmp(*k, key) == 0;
    if (!ok)
      return false;
  }
  return true;
}

static bool parse_fail_next(struct sim *sim, json_t *fn, const char **err) {
  static const char *const known[] = {"count", "kind", "ops", NULL};
  json_t *count = json_object_get(fn, "count");
  json_t *kind = json_object_get(fn, "kind");
  bool mask[OP_COUNT];
  if (!json_is_object(fn) || !only_members(fn, known) ||
      !json_is_integer(count) || json_integer_value(count) < 0 ||
      !json_is_string(kind)) {
    *err = "fail_next needs {count:int>=0, kind:\"busy\"|\"unavailable\"|"
           "\"unauthenticated\", ops?}";
    return false;
  }
  enum inject inj;
  if (strcmp(json_string_value(kind), "busy") == 0)
    inj = INJ_BUSY;
  else if (strcmp(json_string_value(kind), "unavailable") == 0)
    inj = INJ_UNAVAILABLE;
  else if (strcmp(json_string_value(kind), "unauthenticated") == 0)
    inj = INJ_UNAUTHENTICATED;
  else {
    *err = "fail_next.kind must be \"busy\", \"unavailable\" or "
           "\"unauthenticated\"";
    return false;
  }
  if (!parse_ops(json_object_get(fn, "ops"), mask, err))
    return false;
  sim_lock(sim);
  sim->fail_count = json_integer_value(count);
  sim->fail_kind = inj;
  memcpy(sim->fail_ops, mask, sizeof mask);
  sim_unlock(sim);
  return true;
}

static bool parse_malform_next(struct sim *sim, json_t *mn, const char **err) {
  static const char *const known[] = {"count", "how", "ops", NULL};
  json_t *count = json_object_get(mn, "count");
  json_t *how_j = json_object_get(mn, "how");
  bool mask[OP_COUNT];
  enum malform how;
  if (!json_is_object(mn) || !only_members(mn, known) ||
      !json_is_integer(count) || json_integer_value(count) < 0 ||
      !json_is_string(how_j)) {
    *err = "malform_next needs {count:int>=0, how:string, ops?}";
    return false;
  }
  if (!malform_parse(json_string_value(how_j), &how)) {
    *err = "malform_next.how must be not_json, wrong_type, empty, truncated "
           "or huge_number";
    return false;
  }
  if (!parse_ops(json_object_get(mn, "ops"), mask, err))
    return false;
  sim_lock(sim);
  sim->malform_count = json_integer_value(count);
  sim->malform_how = how;
  memcpy(sim->malform_ops, mask, sizeof mask);
  sim_unlock(sim);
  return true;
}

/* drop_next {count, when: "before"|"after", ops?}. */
static bool parse_drop_next(struct sim *sim, json_t *dn, const char **err) {
  static const char *const known[] = {"count", "when", "ops", NULL};
  json_t *count = json_object_get(dn, "count");
  json_t *when = json_object_get(dn, "when");
  bool mask[OP_COUNT];
  if (!json_is_object(dn) || !only_members(dn, known) ||
      !json_is_integer(count) || json_integer_value(count) < 0 ||
      !json_is_string(when)) {
    *err = "drop_next needs {count:int>=0, when:\"before\"|\"after\", ops?}";
    return false;
  }
  bool before = strcmp(json_string_value(when), "before") == 0;
  if (!before && strcmp(json_string_value(when), "after") != 0) {
    *err = "drop_next.when must be \"before\" or \"after\"";
    return false;
  }
  if (!parse_ops(json_object_get(dn, "ops"), mask, err))
    return false;
  sim_lock(sim);
  sim->drop_count = json_integer_value(count);
  sim->drop_before = before;
  memcpy(sim->drop_ops, mask, sizeof mask);
  sim_unlock(sim);
  return true;
}

static bool parse_transfer_fail_next(struct sim *sim, json_t *tf,
                                     const char **err) {
  static const char *const known[] = {"count", "how", "direction", NULL};
  json_t *count = json_object_get(tf, "count");
  json_t *how_j = json_object_get(tf, "how");
  json_t *dir = json_object_get(tf, "direction");
  enum xfail how;
  bool dirs[2] = {true, true};
  if (!json_is_object(tf) || !only_members(tf, known) ||
      !json_is_integer(count) || json_integer_value(count) < 0 ||
      !json_is_string(how_j)) {
    *err = "transfer_fail_next needs {count:int>=0, how:\"error\"|\"cut\"|"
           "\"drop\", direction?}";
    return false;
  }
  const char *h = json_string_value(how_j);
  if (strcmp(h, "error") == 0)
    how = XF_ERROR;
  else if (strcmp(h, "cut") == 0)
    how = XF_CUT;
  else if (strcmp(h, "drop") == 0)
    how = XF_DROP;
  else {
    *err = "transfer_fail_next.how must be \"error\", \"cut\" or \"drop\"";
    return false;
  }
  if (dir) {
    const char *dv = json_is_string(dir) ? json_string_value(dir) : "";
    if (strcmp(dv, "download") != 0 && strcmp(dv, "upload") != 0) {
      *err = "transfer_fail_next.direction must be \"download\" or "
             "\"upload\"";
      return false;
    }
    dirs[0] = strcmp(dv, "download") == 0;
    dirs[1] = !dirs[0];
  }
  sim_lock(sim);
  sim->xfail_count = json_integer_value(count);
  sim->xfail_how = how;
  memcpy(sim->xfail_dir, dirs, sizeof dirs);
  sim_unlock(sim);
  return true;
}

/* Changes a VM's power state and Tools (set_vm, POST /sim/vm/{id}):
 * {power_state?, tools?: "running"|"not_running"|"executing_scripts",
 * tools_delay?: seconds before Tools do that (not running meanwhile)}.
 * *unknown is set for an unknown id. */
static bool change_vm(struct sim *sim, const char *id, json_t *sv,
                      const char *where, bool *unknown, const char **err) {
  static const char *const known[] = {"id", "power_state", "tools",
                                      "tools_delay", NULL};
  static char msg[160];
  json_t *ps = json_object_get(sv, "power_state");
  json_t *tools = json_object_get(sv, "tools");
  json_t *delay = json_object_get(sv, "tools_delay");
  enum power_state power = PS_POWERED_ON;
  int t = -1;
  *unknown = false;
  if (!only_members(sv, known)) {
    snprintf(msg, sizeof msg,
             "%s takes power_state, tools and tools_delay only", where);
    *err = msg;
    return false;
  }
  if (ps && (!json_is_string(ps) ||
             !power_state_parse(json_string_value(ps), &power))) {
    snprintf(msg, sizeof msg,
             "%s.power_state must be POWERED_ON|POWERED_OFF|SUSPENDED", where);
    *err = msg;
    return false;
  }
  if (tools && json_is_string(tools)) {
    const char *v = json_string_value(tools);
    t = strcmp(v, "not_running") == 0         ? 0
        : strcmp(v, "running") == 0           ? 1
        : strcmp(v, "executing_scripts") == 0 ? 2
                                              : -1;
  }
  if (tools && t < 0) {
    snprintf(msg, sizeof msg,
             "%s.tools must be \"running\", \"not_running\" or "
             "\"executing_scripts\"",
             where);
    *err = msg;
    return false;
  }
  if (delay && (!json_is_number(delay) || json_number_value(delay) < 0 ||
                json_number_value(delay) > 86400 || !tools)) {
    snprintf(msg, sizeof msg,
             "%s.tools_delay must be seconds from 0 to 86400, with tools",
             where);
    *err = msg;
    return false;
  }
  sim_lock(sim);
  struct vm *vm = inventory_vm(&sim->inv, id);
  if (vm && ps)
    vm->power = power;
  if (vm && tools)
    state_vm_tools(sim, vm, t,
                   delay ? (int64_t)(json_number_value(delay) * 1000) : 0);
  sim_unlock(sim);
  if (!vm) {
    snprintf(msg, sizeof msg, "%s: unknown VM id", where);
    *err = msg;
    *unknown = true;
  } else if (ps && power != PS_POWERED_ON) { /* its transfer URLs die */
    state_xfer_invalidate_vm(sim, id);
  }
  return vm != NULL;
}

static bool parse_set_vm(struct sim *sim, json_t *sv, const char **err) {
  json_t *id = json_object_get(sv, "id");
  bool unknown;
  if (!json_is_object(sv) || !json_is_string(id)) {
    *err = "set_vm needs {id:string, power_state?, tools?, tools_delay?}";
    return false;
  }
  return change_vm(sim, json_string_value(id), sv, "set_vm", &unknown, err);
}

/* GET /sim/vm/{id}: where a VM is and what it does. */
static json_t *vm_json(struct sim *sim, const char *id) {
  static const char *const tools[] = {"not_running", "running",
                                      "executing_scripts"};
  sim_lock(sim);
  const struct vm *vm = inventory_vm(&sim->inv, id);
  json_t *j = NULL;
  if (vm) {
    int t = vm->tools_running ? 1 : vm->tools_scripts ? 2 : 0;
    j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", vm->id, "name",
                  vm->name, "power_state", power_state_name(vm->power), "tools",
                  tools[t], "datacenter", vm->folder->dc->id, "folder",
                  vm->folder->id, "host", vm->host->id, "resource_pool",
                  vm->pool->id);
    if (vm->ip_address)
      json_object_set_new(j, "ip_address", json_string(vm->ip_address));
    if (vm->tools_due) {
      int64_t left = vm->tools_due - util_mono_ms();
      json_object_set_new(j, "tools_next", json_string(tools[vm->tools_next]));
      json_object_set_new(j, "tools_due_in_ms",
                          json_integer(left > 0 ? left : 0));
    }
  }
  sim_unlock(sim);
  return j;
}

/* /sim/vm/{id}: GET the VM, POST a change (change_vm). */
static void vm_endpoint(struct sim *sim, struct request *r, const char *id,
                        struct reply *rp) {
  json_t *j;
  if (req_is(r, "GET")) {
    if ((j = vm_json(sim, id)))
      reply_json(rp, 200, j);
    else
      reply_json(rp, 404, json_pack("{s:s}", "error", "unknown VM id"));
    return;
  }
  if (!req_is(r, "POST")) {
    reply_text(rp, 405, "Method Not Allowed");
    rp->allow = "GET, POST";
    return;
  }
  json_error_t jerr;
  json_t *body = json_loadb(r->body ? r->body : "", r->body_len, 0, &jerr);
  const char *err = NULL;
  bool unknown = false;
  if (!json_is_object(body) || json_object_get(body, "id"))
    bad(rp, "body must be a JSON object of power_state, tools, tools_delay");
  else if (!change_vm(sim, id, body, "vm", &unknown, &err))
    reply_json(rp, unknown ? 404 : 400, json_pack("{s:s}", "error", err));
  else
    reply_json(rp, 200, vm_json(sim, id));
  json_decref(body);
}

static void control(struct sim *sim, struct request *r, struct reply *rp) {
  static const char *const known[] = {
      "expire_sessions",           "latency_ms", "fail_next",
      "drop_next_create_response", "set_vm",     "malform_next",
      "transfer_fail_next",        "drop_next",  NULL};
  json_error_t jerr;
  json_t *body = json_loadb(r->body ? r->body : "", r->body_len, 0, &jerr);
  const char *err = NULL;
  json_t *v;
  if (!json_is_object(body)) {
    json_decref(body);
    bad(rp, "body must be a JSON object");
    return;
  }
  if (!only_members(body, known)) {
    err = "unknown control member";
    goto out;
  }
  if ((v = json_object_get(body, "latency_ms"))) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
      err = "latency_ms must be an integer >= 0";
      goto out;
    }
    sim_lock(sim);
    sim->latency_ms = json_integer_value(v);
    sim_unlock(sim);
  }
  if ((v = json_object_get(body, "fail_next")) &&
      !parse_fail_next(sim, v, &err))
    goto out;
  if ((v = json_object_get(body, "malform_next")) &&
      !parse_malform_next(sim, v, &err))
    goto out;
  if ((v = json_object_get(body, "set_vm")) && !parse_set_vm(sim, v, &err))
    goto out;
  if ((v = json_object_get(body, "transfer_fail_next")) &&
      !parse_transfer_fail_next(sim, v, &err))
    goto out;
  if ((v = json_object_get(body, "drop_next")) &&
      json_object_get(body, "drop_next_create_response")) {
    err = "drop_next and drop_next_create_response exclude each other";
    goto out;
  }
  if ((v = json_object_get(body, "drop_next")) &&
      !parse_drop_next(sim, v, &err))
    goto out;
  if ((v = json_object_get(body, "drop_next_create_response"))) {
    /* drop_next {count:1, when:"after", ops:["create"]}; false cancels */
    if (!json_is_boolean(v)) {
      err = "drop_next_create_response must be a boolean";
      goto out;
    }
    sim_lock(sim);
    sim->drop_count = json_is_true(v) ? 1 : 0;
    sim->drop_before = false;
    memset(sim->drop_ops, 0, sizeof sim->drop_ops);
    sim->drop_ops[OP_CREATE] = true;
    sim_unlock(sim);
  }
  if ((v = json_object_get(body, "expire_sessions"))) {
    if (!json_is_boolean(v)) {
      err = "expire_sessions must be a boolean";
      goto out;
    }
    if (json_is_true(v))
      state_expire_sessions(sim);
  }
out:
  json_decref(body);
  if (err)
    bad(rp, err);
  else
    reply_json(rp, 200, json_pack("{s:b}", "ok", 1));
}

void control_handle(struct sim *sim, struct request *r, const char *path,
                    struct reply *rp) {
  if (strcmp(path, "/control") == 0 && req_is(r, "POST")) {
    control(sim, r, rp);
  } else if (strcmp(path, "/stats") == 0 && req_is(r, "GET")) {
    reply_json(rp, 200, state_stats(sim));
  } else if (strcmp(path, "/transfers") == 0 && req_is(r, "GET")) {
    reply_json(rp, 200, state_xfers_json(sim));
  } else if (strncmp(path, "/vm/", 4) == 0 && path[4] &&
             !strchr(path + 4, '/')) {
    vm_endpoint(sim, r, path + 4, rp);
  } else if (strcmp(path, "/shutdown") == 0 && req_is(r, "POST")) {
    sim_lock(sim);
    sim->shutdown = true;
    sim_unlock(sim);
    reply_json(rp, 200, json_pack("{s:b}", "ok", 1));
  } else {
    reply_text(rp, 404, "Not Found");
  }
}
