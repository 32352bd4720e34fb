#include "inventory.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const power_names[] = {"POWERED_ON", "POWERED_OFF",
                                          "SUSPENDED"};

const char *power_state_name(enum power_state ps) {
  return power_names[ps];
}

bool power_state_parse(const char *s, enum power_state *out) {
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(s, power_names[i]) == 0) {
      *out = (enum power_state)i;
      return true;
    }
  }
  return false;
}

struct vm *inventory_vm(const struct inventory *inv, const char *id) {
  return hmap_get(&inv->by_id, id);
}

struct vm *inventory_vm_named(const struct inventory *inv, const char *name) {
  return hmap_get(&inv->by_name, name);
}

struct loader {
  const char *path;
  char *err;
  size_t errlen;
};

static bool fail(struct loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool fail(struct loader *l, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(l->err, l->errlen, "inventory %s: %s", l->path, msg);
  return false;
}

/* Every member of obj must be one of allowed (NULL-terminated). */
static bool only_members(struct loader *l, json_t *obj, const char *where,
                         const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
      ok = ok || strcmp(*a, key) == 0;
    if (!ok)
      return fail(l, "%s: unknown member \"%s\"", where, key);
  }
  return true;
}

static bool get_string(struct loader *l, json_t *obj, const char *where,
                       const char *key, bool required, char **out) {
  json_t *v = json_object_get(obj, key);
  if (!v) {
    if (required)
      return fail(l, "%s: missing member \"%s\"", where, key);
    return true;
  }
  if (!json_is_string(v) || json_string_length(v) == 0)
    return fail(l, "%s: \"%s\" must be a non-empty string", where, key);
  *out = xstrdup(json_string_value(v));
  return true;
}

static bool get_posint(struct loader *l, json_t *obj, const char *where,
                       const char *key, int64_t dflt, int64_t *out) {
  json_t *v = json_object_get(obj, key);
  *out = dflt;
  if (!v)
    return true;
  if (!json_is_integer(v) || json_integer_value(v) <= 0)
    return fail(l, "%s: \"%s\" must be a positive integer", where, key);
  *out = json_integer_value(v);
  return true;
}

static bool load_accounts(struct loader *l, json_t *arr, const char *where,
                          struct account **out, size_t *n) {
  static const char *const members[] = {"user", "password", NULL};
  if (!json_is_array(arr))
    return fail(l, "%s must be an array", where);
  *n = json_array_size(arr);
  *out = xcalloc(*n, sizeof **out);
  for (size_t i = 0; i < *n; i++) {
    char at[128];
    json_t *a = json_array_get(arr, i);
    snprintf(at, sizeof at, "%s[%zu]", where, i);
    if (!json_is_object(a))
      return fail(l, "%s must be an object", at);
    if (!only_members(l, a, at, members) ||
        !get_string(l, a, at, "user", true, &(*out)[i].user) ||
        !get_string(l, a, at, "password", true, &(*out)[i].password))
      return false;
    for (size_t j = 0; j < i; j++)
      if (strcmp((*out)[j].user, (*out)[i].user) == 0)
        return fail(l, "%s: duplicate user \"%s\"", at, (*out)[i].user);
  }
  return true;
}

static bool load_vm(struct loader *l, json_t *o, size_t i, struct vm *vm) {
  static const char *const members[] = {
      "id", "name",      "power_state",     "tools",
      "os", "cpu_count", "memory_size_MiB", "accounts",
      NULL};
  char at[64], *power = NULL, *tools = NULL;
  bool ok = false;
  snprintf(at, sizeof at, "vms[%zu]", i);
  if (!json_is_object(o))
    return fail(l, "%s must be an object", at);
  if (!only_members(l, o, at, members) ||
      !get_string(l, o, at, "id", true, &vm->id) ||
      !get_string(l, o, at, "name", true, &vm->name) ||
      !get_string(l, o, at, "power_state", true, &power) ||
      !get_string(l, o, at, "tools", true, &tools) ||
      !get_string(l, o, at, "os", false, &vm->os) ||
      !get_posint(l, o, at, "cpu_count", 2, &vm->cpu_count) ||
      !get_posint(l, o, at, "memory_size_MiB", 4096, &vm->memory_mib))
    goto out;
  if (!vm->os)
    vm->os = xstrdup("linux");
  if (strcmp(vm->os, "linux") != 0 && strcmp(vm->os, "windows") != 0) {
    fail(l, "%s: os must be \"linux\" or \"windows\", not \"%s\"", at, vm->os);
    goto out;
  }
  if (!power_state_parse(power, &vm->power)) {
    fail(l, "%s: power_state must be POWERED_ON, POWERED_OFF or SUSPENDED", at);
    goto out;
  }
  if (strcmp(tools, "running") != 0 && strcmp(tools, "not_running") != 0) {
    fail(l, "%s: tools must be \"running\" or \"not_running\"", at);
    goto out;
  }
  vm->tools_running = strcmp(tools, "running") == 0;
  char where[96];
  snprintf(where, sizeof where, "%s.accounts", at);
  json_t *acc = json_object_get(o, "accounts");
  if (!acc) {
    fail(l, "%s: missing member \"accounts\"", at);
    goto out;
  }
  ok = load_accounts(l, acc, where, &vm->accounts, &vm->naccounts);
out:
  free(power);
  free(tools);
  return ok;
}

bool inventory_load(const char *path, struct inventory *inv, char *err,
                    size_t errlen) {
  static const char *const members[] = {"users", "vms", NULL};
  struct loader l = {path, err, errlen};
  json_error_t jerr;
  bool ok = false;
  memset(inv, 0, sizeof *inv);
  hmap_init(&inv->by_id, false);
  hmap_init(&inv->by_name, false);
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!root && jerr.line < 1)
    return fail(&l, "%s", jerr.text);
  if (!root)
    return fail(&l, "line %d: %s", jerr.line, jerr.text);
  if (!json_is_object(root)) {
    fail(&l, "top level must be an object");
    goto out;
  }
  if (!only_members(&l, root, "top level", members))
    goto out;
  json_t *users = json_object_get(root, "users");
  json_t *vms = json_object_get(root, "vms");
  if (!users || !vms) {
    fail(&l, "top level: \"users\" and \"vms\" are required");
    goto out;
  }
  if (!load_accounts(&l, users, "users", &inv->users, &inv->nusers))
    goto out;
  if (!json_is_array(vms)) {
    fail(&l, "vms must be an array");
    goto out;
  }
  inv->nvms = json_array_size(vms);
  inv->vms = xcalloc(inv->nvms, sizeof *inv->vms);
  for (size_t i = 0; i < inv->nvms; i++) {
    struct vm *vm = &inv->vms[i];
    if (!load_vm(&l, json_array_get(vms, i), i, vm))
      goto out;
    if (!hmap_put(&inv->by_id, vm->id, vm)) {
      fail(&l, "vms[%zu]: duplicate id \"%s\"", i, vm->id);
      goto out;
    }
    if (!hmap_put(&inv->by_name, vm->name, vm)) { /* the first stays */
      struct vm *last = hmap_get(&inv->by_name, vm->name);
      while (last->same_name)
        last = last->same_name;
      last->same_name = vm;
    }
  }
  ok = true;
out:
  json_decref(root);
  if (!ok)
    inventory_free(inv);
  return ok;
}

static void free_accounts(struct account *a, size_t n) {
  for (size_t i = 0; a && i < n; i++) {
    free(a[i].user);
    if (a[i].password) {
      explicit_bzero(a[i].password, strlen(a[i].password));
      free(a[i].password);
    }
  }
  free(a);
}

static struct account *one_account(const char *user, const char *password) {
  struct account *a = xcalloc(1, sizeof *a);
  a->user = xstrdup(user);
  a->password = xstrdup(password);
  return a;
}

void inventory_generate(size_t n, struct inventory *inv) {
  int width = 4;
  for (size_t m = n; m > 9999; m /= 10)
    width++;
  memset(inv, 0, sizeof *inv);
  hmap_init(&inv->by_id, false);
  hmap_init(&inv->by_name, false);
  inv->users = one_account("administrator@vsphere.local", "VMware1!");
  inv->nusers = 1;
  inv->vms = xcalloc(n, sizeof *inv->vms);
  inv->nvms = n;
  for (size_t i = 0; i < n; i++) {
    struct vm *vm = &inv->vms[i];
    vm->id = xasprintf("vm-%0*zu", width, i + 1);
    vm->name = xstrdup(vm->id);
    vm->os = xstrdup("linux");
    vm->power = PS_POWERED_ON;
    vm->tools_running = true;
    vm->cpu_count = 2;
    vm->memory_mib = 4096;
    vm->accounts = one_account("root", "guest-secret");
    vm->naccounts = 1;
    hmap_put(&inv->by_id, vm->id, vm);
    hmap_put(&inv->by_name, vm->name, vm);
  }
}

void inventory_free(struct inventory *inv) {
  hmap_free(&inv->by_id);
  hmap_free(&inv->by_name);
  free_accounts(inv->users, inv->nusers);
  for (size_t i = 0; inv->vms && i < inv->nvms; i++) {
    struct vm *vm = &inv->vms[i];
    free(vm->id);
    free(vm->name);
    free(vm->os);
    free_accounts(vm->accounts, vm->naccounts);
  }
  free(inv->vms);
  memset(inv, 0, sizeof *inv);
}
