#include "inventory.h"
#include "util.h"

#include <arpa/inet.h>
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

struct entity *inventory_entity(const struct inventory *inv, const char *id) {
  return hmap_get(&inv->by_ent, id);
}

const char *ent_kind_type(enum ent_kind k) {
  static const char *const names[] = {
      "Folder",     "Datacenter",   "ClusterComputeResource", "ComputeResource",
      "HostSystem", "ResourcePool", "VirtualMachine"};
  return names[k];
}

bool entity_below(const struct entity *e, const struct entity *c) {
  for (const struct entity *p = e ? e->parent : NULL; p; p = p->parent)
    if (p == c)
      return true;
  return false;
}

bool inventory_vm_in(const struct vm *vm, const struct entity *c,
                     bool recursive) {
  if (vm->folder == c || vm->host == c || vm->pool == c)
    return true;
  return recursive && (entity_below(vm->folder, c) ||
                       entity_below(vm->host, c) || entity_below(vm->pool, c));
}

struct loader {
  const char *path;
  char *err;
  size_t errlen;
  struct inventory *inv;
  struct hmap given; /* every "id" the file names: never generated */
  unsigned next_id;  /* numbers of generated ids, shared by every prefix */
  size_t cap;        /* of inv->ents */
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

/* ---- the tree ------------------------------------------------------------ */

/* Collects every "id" member of the file into l->given. */
static void collect_ids(struct loader *l, json_t *j) {
  size_t i;
  const char *k;
  json_t *v;
  if (json_is_array(j)) {
    json_array_foreach(j, i, v) collect_ids(l, v);
  } else if (json_is_object(j)) {
    json_object_foreach(j, k, v) {
      if (strcmp(k, "id") == 0 && json_is_string(v))
        hmap_put(&l->given, json_string_value(v), l);
      else
        collect_ids(l, v);
    }
  }
}

/* prefix-N with the next N that names nothing the file or the loader
 * uses (returns-owned). */
static char *gen_id(struct loader *l, const char *prefix) {
  for (;;) {
    char *id = xasprintf("%s%u", prefix, ++l->next_id);
    if (!hmap_get(&l->given, id) && !hmap_get(&l->inv->by_ent, id) &&
        !hmap_get(&l->inv->by_id, id))
      return id;
    free(id);
  }
}

/* Adds an entity (id and name stolen); false (and an error naming where)
 * when the id is taken. */
static struct entity *add_entity(struct loader *l, const char *where, char *id,
                                 char *name, enum ent_kind kind,
                                 struct entity *parent) {
  struct inventory *inv = l->inv;
  struct entity *e = xcalloc(1, sizeof *e);
  e->id = id;
  e->name = name;
  e->kind = kind;
  e->parent = parent;
  e->dc = kind == EK_DATACENTER ? e : parent ? parent->dc : NULL;
  if (parent && (kind == EK_HOST || kind == EK_POOL))
    e->compute = parent->kind == EK_POOL ? parent->compute : parent;
  if (inv->nents == l->cap)
    inv->ents = xrealloc(inv->ents, (l->cap = l->cap ? l->cap * 2 : 16) *
                                        sizeof *inv->ents);
  inv->ents[inv->nents++] = e;
  if (!hmap_put(&inv->by_ent, e->id, e)) {
    inv->nents--;
    fail(l, "%s: duplicate id \"%s\"", where, id);
    free(e->id);
    free(e->name);
    free(e);
    return NULL;
  }
  return e;
}

static struct entity *add_folder(struct loader *l, const char *where,
                                 const char *prefix, const char *name,
                                 enum folder_type t, struct entity *parent) {
  struct entity *f =
      add_entity(l, where, gen_id(l, prefix), xstrdup(name), EK_FOLDER, parent);
  if (f)
    f->ftype = t;
  return f;
}

/* The id and name of an object of the tree. */
static bool id_name(struct loader *l, json_t *o, const char *at,
                    const char *const *members, char **id, char **name) {
  *id = *name = NULL;
  if (!json_is_object(o))
    return fail(l, "%s must be an object", at);
  if (only_members(l, o, at, members) && get_string(l, o, at, "id", true, id) &&
      get_string(l, o, at, "name", true, name))
    return true;
  free(*id);
  free(*name);
  return false;
}

/* Member key of o: absent, or an array. */
static bool get_array(struct loader *l, json_t *o, const char *at,
                      const char *key, json_t **out) {
  *out = json_object_get(o, key);
  if (*out && !json_is_array(*out))
    return fail(l, "%s: \"%s\" must be an array", at, key);
  return true;
}

static bool get_bool(struct loader *l, json_t *o, const char *at,
                     const char *key, bool dflt, bool *out) {
  json_t *v = json_object_get(o, key);
  *out = dflt;
  if (!v)
    return true;
  if (!json_is_boolean(v))
    return fail(l, "%s: \"%s\" must be a boolean", at, key);
  *out = json_is_true(v);
  return true;
}

/* Entities of one kind under parent, each with children of its kind
 * through the same key: "folders" (VM folders) or "resource_pools". */
static bool load_nested(struct loader *l, json_t *arr, const char *where,
                        struct entity *parent, const char *key,
                        enum ent_kind kind) {
  const char *const members[] = {"id", "name", key, NULL};
  size_t i;
  json_t *o, *sub;
  json_array_foreach(arr, i, o) {
    char at[256], *id, *name;
    snprintf(at, sizeof at, "%s.%s[%zu]", where, key, i);
    if (!id_name(l, o, at, members, &id, &name))
      return false;
    struct entity *e = add_entity(l, at, id, name, kind, parent);
    if (!e)
      return false;
    if (kind == EK_FOLDER)
      e->ftype = FT_VM;
    if (!get_array(l, o, at, key, &sub) ||
        (sub && !load_nested(l, sub, at, e, key, kind)))
      return false;
  }
  return true;
}

/* A compute resource's root pool "Resources" and its child pools. */
static bool root_pool(struct loader *l, const char *at, struct entity *cr,
                      json_t *pools) {
  cr->pool = add_entity(l, at, gen_id(l, "resgroup-"), xstrdup("Resources"),
                        EK_POOL, cr);
  return cr->pool && (!pools || load_nested(l, pools, at, cr->pool,
                                            "resource_pools", EK_POOL));
}

static struct entity *add_host(struct loader *l, const char *at, char *id,
                               char *name, struct entity *cr) {
  struct entity *h = add_entity(l, at, id, name, EK_HOST, cr);
  if (h && !cr->first_host)
    cr->first_host = h;
  return h;
}

static bool load_cluster(struct loader *l, json_t *o, const char *at,
                         struct entity *hf) {
  static const char *const members[] = {
      "id",         "name",        "hosts", "resource_pools",
      "ha_enabled", "drs_enabled", NULL};
  static const char *const host_members[] = {"id", "name", NULL};
  char *id, *name;
  json_t *hosts, *pools, *h;
  size_t i;
  if (!id_name(l, o, at, members, &id, &name))
    return false;
  struct entity *c = add_entity(l, at, id, name, EK_CLUSTER, hf);
  if (!c || !get_bool(l, o, at, "ha_enabled", true, &c->ha_enabled) ||
      !get_bool(l, o, at, "drs_enabled", true, &c->drs_enabled) ||
      !get_array(l, o, at, "hosts", &hosts) ||
      !get_array(l, o, at, "resource_pools", &pools))
    return false;
  json_array_foreach(hosts, i, h) {
    char hat[256];
    snprintf(hat, sizeof hat, "%s.hosts[%zu]", at, i);
    if (!id_name(l, h, hat, host_members, &id, &name) ||
        !add_host(l, hat, id, name, c))
      return false;
  }
  return root_pool(l, at, c, pools);
}

/* A standalone host: a ComputeResource of the same name holding it. */
static bool load_standalone(struct loader *l, json_t *o, const char *at,
                            struct entity *hf) {
  static const char *const members[] = {"id", "name", "resource_pools", NULL};
  char *id, *name;
  json_t *pools;
  if (!id_name(l, o, at, members, &id, &name))
    return false;
  struct entity *cr =
      add_entity(l, at, gen_id(l, "domain-s"), xstrdup(name), EK_COMPUTE, hf);
  if (!cr) {
    free(id);
    free(name);
    return false;
  }
  return add_host(l, at, id, name, cr) &&
         get_array(l, o, at, "resource_pools", &pools) &&
         root_pool(l, at, cr, pools);
}

/* A datacenter and its four root folders (vm, host, datastore, network),
 * named as vCenter names them. */
static struct entity *add_datacenter(struct loader *l, const char *at, char *id,
                                     char *name) {
  struct entity *dc = add_entity(l, at, id, name, EK_DATACENTER, l->inv->root);
  if (!dc)
    return NULL;
  dc->vm_folder = add_folder(l, at, "group-v", "vm", FT_VM, dc);
  dc->host_folder = add_folder(l, at, "group-h", "host", FT_HOST, dc);
  if (!dc->vm_folder || !dc->host_folder ||
      !add_folder(l, at, "group-s", "datastore", FT_DATASTORE, dc) ||
      !add_folder(l, at, "group-n", "network", FT_NETWORK, dc))
    return NULL;
  return dc;
}

static bool load_datacenters(struct loader *l, json_t *arr) {
  static const char *const members[] = {"id",       "name",  "folders",
                                        "clusters", "hosts", NULL};
  size_t i, k;
  json_t *o, *folders, *clusters, *hosts, *c;
  if (!json_is_array(arr))
    return fail(l, "datacenters must be an array");
  json_array_foreach(arr, i, o) {
    char at[64], *id, *name;
    snprintf(at, sizeof at, "datacenters[%zu]", i);
    if (!id_name(l, o, at, members, &id, &name))
      return false;
    struct entity *dc = add_datacenter(l, at, id, name);
    if (!dc || !get_array(l, o, at, "folders", &folders) ||
        !get_array(l, o, at, "clusters", &clusters) ||
        !get_array(l, o, at, "hosts", &hosts) ||
        (folders &&
         !load_nested(l, folders, at, dc->vm_folder, "folders", EK_FOLDER)))
      return false;
    json_array_foreach(clusters, k, c) {
      char cat[96];
      snprintf(cat, sizeof cat, "%s.clusters[%zu]", at, k);
      if (!load_cluster(l, c, cat, dc->host_folder))
        return false;
    }
    json_array_foreach(hosts, k, c) {
      char hat[96];
      snprintf(hat, sizeof hat, "%s.hosts[%zu]", at, k);
      if (!load_standalone(l, c, hat, dc->host_folder))
        return false;
    }
  }
  return true;
}

/* The first host of a datacenter (of its first compute resource), or
 * NULL. */
static struct entity *first_host_of(const struct inventory *inv,
                                    const struct entity *dc) {
  for (size_t i = 0; i < inv->nents; i++)
    if (inv->ents[i]->kind == EK_HOST && (!dc || inv->ents[i]->dc == dc))
      return inv->ents[i];
  return NULL;
}

/* Places a VM: its folder, host and pool as given (ids, NULL when not
 * given), or the defaults (README.md, "Inventory tree"). */
static bool place_vm(struct loader *l, const char *at, struct vm *vm,
                     const char *folder, const char *host, const char *pool) {
  struct inventory *inv = l->inv;
  struct entity *f = NULL, *h = NULL, *p = NULL;
  if (folder && (!(f = inventory_entity(inv, folder)) || f->kind != EK_FOLDER ||
                 f->ftype != FT_VM))
    return fail(l, "%s: \"folder\" \"%s\" is not a VM folder of the tree", at,
                folder);
  if (host && (!(h = inventory_entity(inv, host)) || h->kind != EK_HOST))
    return fail(l, "%s: \"host\" \"%s\" is not a host of the tree", at, host);
  if (pool && (!(p = inventory_entity(inv, pool)) || p->kind != EK_POOL))
    return fail(l,
                "%s: \"resource_pool\" \"%s\" is not a resource pool of "
                "the tree",
                at, pool);
  if (!h && p)
    h = p->compute->first_host;
  if (!h)
    h = first_host_of(inv, f ? f->dc : NULL);
  if (!h)
    return fail(l, "%s: no host to place it on in its datacenter", at);
  if (!f)
    f = h->dc->vm_folder;
  if (!p)
    p = h->compute->pool;
  if (f->dc != h->dc)
    return fail(l, "%s: \"folder\" and \"host\" are in different datacenters",
                at);
  if (p->compute != h->compute)
    return fail(l,
                "%s: \"resource_pool\" \"%s\" does not belong to the "
                "cluster or standalone host of \"host\" \"%s\"",
                at, p->id, h->id);
  vm->folder = f;
  vm->host = h;
  vm->pool = p;
  return true;
}

/* The root folder, and without datacenters in the file, the default
 * datacenter DC0 with one standalone host esx-01. */
static bool make_root(struct loader *l, bool with_default) {
  l->inv->root = add_entity(l, "top level", xstrdup("group-d1"),
                            xstrdup("Datacenters"), EK_FOLDER, NULL);
  if (!l->inv->root)
    return false;
  l->inv->root->ftype = FT_DATACENTER;
  if (!with_default)
    return true;
  struct entity *dc =
      add_datacenter(l, "top level", gen_id(l, "datacenter-"), xstrdup("DC0"));
  if (!dc)
    return false;
  struct entity *cr =
      add_entity(l, "top level", gen_id(l, "domain-s"), xstrdup("esx-01"),
                 EK_COMPUTE, dc->host_folder);
  return cr &&
         add_host(l, "top level", gen_id(l, "host-"), xstrdup("esx-01"), cr) &&
         root_pool(l, "top level", cr, NULL);
}

static bool load_vm(struct loader *l, json_t *o, size_t i, struct vm *vm) {
  static const char *const members[] = {
      "id",     "name",      "power_state",     "tools",
      "os",     "cpu_count", "memory_size_MiB", "accounts",
      "folder", "host",      "resource_pool",   "ip_address",
      NULL};
  char at[64], *power = NULL, *tools = NULL;
  char *folder = NULL, *host = NULL, *pool = NULL;
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
      !get_posint(l, o, at, "memory_size_MiB", 4096, &vm->memory_mib) ||
      !get_string(l, o, at, "folder", false, &folder) ||
      !get_string(l, o, at, "host", false, &host) ||
      !get_string(l, o, at, "resource_pool", false, &pool) ||
      !get_string(l, o, at, "ip_address", false, &vm->ip_address))
    goto out;
  struct in_addr a4;
  if (vm->ip_address && inet_pton(AF_INET, vm->ip_address, &a4) != 1) {
    fail(l, "%s: \"ip_address\" must be an IPv4 address, not \"%s\"", at,
         vm->ip_address);
    goto out;
  }
  if (!place_vm(l, at, vm, folder, host, pool))
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
  if (strcmp(tools, "running") != 0 && strcmp(tools, "not_running") != 0 &&
      strcmp(tools, "executing_scripts") != 0) {
    fail(l,
         "%s: tools must be \"running\", \"not_running\" or "
         "\"executing_scripts\"",
         at);
    goto out;
  }
  vm->tools_running = strcmp(tools, "running") == 0;
  vm->tools_scripts = strcmp(tools, "executing_scripts") == 0;
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
  free(folder);
  free(host);
  free(pool);
  return ok;
}

bool inventory_load(const char *path, struct inventory *inv, char *err,
                    size_t errlen) {
  static const char *const members[] = {"users", "vms", "datacenters", NULL};
  struct loader l = {path, err, errlen, inv, {0}, 0, 0};
  json_error_t jerr;
  bool ok = false;
  memset(inv, 0, sizeof *inv);
  hmap_init(&inv->by_id, false);
  hmap_init(&inv->by_name, false);
  hmap_init(&inv->by_ent, false);
  hmap_init(&l.given, false);
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    if (jerr.line < 1)
      fail(&l, "%s", jerr.text);
    else
      fail(&l, "line %d: %s", jerr.line, jerr.text);
    hmap_free(&l.given);
    inventory_free(inv);
    return false;
  }
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
  json_t *dcs = json_object_get(root, "datacenters");
  collect_ids(&l, root);
  if (!make_root(&l, !dcs) || (dcs && !load_datacenters(&l, dcs)))
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
    if (!hmap_put(&inv->by_id, vm->id, vm) || inventory_entity(inv, vm->id)) {
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
  hmap_free(&l.given);
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
  char err[256];
  struct entity *folders[4], *hosts[4];
  memset(inv, 0, sizeof *inv);
  hmap_init(&inv->by_id, false);
  hmap_init(&inv->by_name, false);
  hmap_init(&inv->by_ent, false);
  struct loader l = {"(--vms)", err, sizeof err, inv, {0}, 0, 0};
  hmap_init(&l.given, false);
  /* DC0: folders folder-1..4 in its VM folder, cluster Cluster0 with
   * hosts esx-01..04; VM k goes to folder and host (k - 1) % 4 + 1 */
  make_root(&l, false);
  struct entity *dc =
      add_datacenter(&l, "", gen_id(&l, "datacenter-"), xstrdup("DC0"));
  struct entity *cl =
      add_entity(&l, "", gen_id(&l, "domain-c"), xstrdup("Cluster0"),
                 EK_CLUSTER, dc->host_folder);
  cl->ha_enabled = cl->drs_enabled = true;
  for (int k = 0; k < 4; k++) {
    folders[k] = add_folder(&l, "", "group-v", "", FT_VM, dc->vm_folder);
    free(folders[k]->name);
    folders[k]->name = xasprintf("folder-%d", k + 1);
    hosts[k] =
        add_host(&l, "", gen_id(&l, "host-"), xasprintf("esx-%02d", k + 1), cl);
  }
  root_pool(&l, "", cl, NULL);
  hmap_free(&l.given);
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
    vm->folder = folders[i % 4];
    vm->host = hosts[i % 4];
    vm->pool = cl->pool;
    vm->ip_address = xasprintf("10.%zu.%zu.%zu", 1 + (i / 62500) % 250,
                               (i / 250) % 250, 1 + i % 250);
    hmap_put(&inv->by_id, vm->id, vm);
    hmap_put(&inv->by_name, vm->name, vm);
  }
}

void inventory_free(struct inventory *inv) {
  hmap_free(&inv->by_id);
  hmap_free(&inv->by_name);
  hmap_free(&inv->by_ent);
  for (size_t i = 0; i < inv->nents; i++) {
    free(inv->ents[i]->id);
    free(inv->ents[i]->name);
    free(inv->ents[i]);
  }
  free(inv->ents);
  free_accounts(inv->users, inv->nusers);
  for (size_t i = 0; inv->vms && i < inv->nvms; i++) {
    struct vm *vm = &inv->vms[i];
    free(vm->id);
    free(vm->name);
    free(vm->os);
    free(vm->ip_address);
    free_accounts(vm->accounts, vm->naccounts);
  }
  free(inv->vms);
  memset(inv, 0, sizeof *inv);
}
