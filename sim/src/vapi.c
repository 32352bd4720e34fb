/* The two vSphere Automation REST flavours (NOTES §1 /api, §2 /rest).
 * They share routes and semantics and differ in a few wire details, which
 * one `struct dialect` describes: the {"value":…} wrapper, the error
 * envelope and HTTP statuses, maps as objects vs key/value arrays, and the
 * `filter.` prefix of VM list queries. */
#include "vapi.h"
#include "guestfs.h"
#include "guestops.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dialect {
  enum flavour fl;
  bool legacy;             /* /rest */
  const char *auth_msg_id; /* id of "no valid vAPI session" */
};

static const struct dialect API = {
    FL_API, false, "com.vmware.vapi.endpoint.method.authentication.required"};
static const struct dialect REST = {FL_REST, true,
                                    "vapi.method.authentication.required"};

/* ---- errors ------------------------------------------------------------ */

static unsigned error_status(const struct dialect *d, const char *type) {
  static const struct {
    const char *type;
    unsigned api, rest;
  } map[] = {
      {"UNAUTHENTICATED", 401, 401},
      {"UNAUTHORIZED", 403, 403},
      {"NOT_FOUND", 404, 404},
      {"OPERATION_NOT_FOUND", 404, 404},
      {"INVALID_ARGUMENT", 400, 400},
      {"ALREADY_EXISTS", 400, 400},
      {"ERROR", 500, 400},
      {"NOT_ALLOWED_IN_CURRENT_STATE", 400, 400},
      {"UNSUPPORTED", 400, 400},
      {"RESOURCE_BUSY", 500, 400},
      {"UNABLE_TO_ALLOCATE_RESOURCE", 500, 400},
      {"SERVICE_UNAVAILABLE", 503, 503},
      {"TIMED_OUT", 504, 504},
  };
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (strcmp(map[i].type, type) == 0)
      return d->legacy ? map[i].rest : map[i].api;
  return 500;
}

/* Sends a vAPI error. args (a JSON array of strings: the specs type
 * LocalizableMessage.args as string[]) and data are stolen; NULL ok. */
static void verror(struct reply *rp, const struct dialect *d, const char *type,
                   const char *id, const char *message, json_t *args,
                   json_t *data) {
  json_t *msg = json_pack("{s:s,s:s,s:o}", "id", id, "default_message", message,
                          "args", args ? args : json_array());
  json_t *value = json_pack("{s:s,s:[o]}", "error_type", type, "messages", msg);
  if (data)
    json_object_set_new(value, "data", data);
  if (d->legacy) {
    char snake[64];
    size_t i = 0;
    for (; type[i] && i < sizeof snake - 1; i++)
      snake[i] = (char)tolower((unsigned char)type[i]);
    snake[i] = '\0';
    char *t = xasprintf("com.vmware.vapi.std.errors.%s", snake);
    value = json_pack("{s:s,s:o}", "type", t, "value", value);
    free(t);
  }
  reply_json(rp, error_status(d, type), value);
}

static void invalid(struct reply *rp, const struct dialect *d,
                    const char *message) {
  verror(rp, d, "INVALID_ARGUMENT", "com.vmware.vapi.rest.invalid_argument",
         message, NULL, NULL);
}

static void unauthenticated(struct reply *rp, const struct dialect *d) {
  verror(rp, d, "UNAUTHENTICATED", d->auth_msg_id, "Authentication required.",
         NULL, NULL);
}

static void not_found_path(struct reply *rp, const struct dialect *d) {
  if (d->legacy)
    verror(rp, d, "OPERATION_NOT_FOUND",
           "com.vmware.vapi.rest.operation_not_found",
           "The requested operation was not found.", NULL, NULL);
  else
    api_not_found(rp);
}

void api_not_found(struct reply *rp) {
  verror(rp, &API, "NOT_FOUND", "com.vmware.vapi.rest.httpNotFound",
         "Not found.", NULL, NULL);
}

static json_t *file_details(const char *reason, const char *path) {
  return json_pack("{s:s,s:s}", "reason", reason, "file_path", path);
}

/* A filesystem fault with FileErrorDetails. */
static void ferror_(struct reply *rp, const struct dialect *d, const char *type,
                    const char *id, const char *fmt, const char *reason,
                    const struct gfault *f) {
  char m[4400];
  snprintf(m, sizeof m, fmt, f->text);
  verror(rp, d, type, id, m, json_pack("[s]", f->text),
         reason ? file_details(reason, f->text) : NULL);
}

/* Renders a guest-operation fault. */
static void gerror(struct reply *rp, const struct dialect *d,
                   const struct gfault *f) {
  char m[4400];
  switch (f->kind) {
  case GF_INVALID_ARGUMENT:
    snprintf(m, sizeof m, "Invalid value for field '%s'.", f->text);
    verror(rp, d, "INVALID_ARGUMENT", "com.vmware.vapi.rest.invalid_argument",
           m, json_pack("[s]", f->text), NULL);
    break;
  case GF_VM_NOT_FOUND:
    snprintf(m, sizeof m,
             "Virtual machine with identifier '%s:VirtualMachine' does not "
             "exist.",
             f->vm);
    verror(rp, d, "NOT_FOUND", "com.vmware.api.vcenter.vm.not_found", m,
           json_pack("[s]", f->vm), NULL);
    break;
  case GF_NOT_POWERED_ON:
    snprintf(m, sizeof m, "Virtual machine '%s' is not powered on (%s).", f->vm,
             power_state_name(f->power));
    verror(rp, d, "NOT_ALLOWED_IN_CURRENT_STATE",
           "com.vmware.api.vcenter.vm.guest.not_powered_on", m,
           json_pack("[s,s]", f->vm, power_state_name(f->power)), NULL);
    break;
  case GF_TOOLS_NOT_RUNNING:
    snprintf(m, sizeof m,
             "VMware Tools is not running in virtual machine '%s'.", f->vm);
    verror(rp, d, "SERVICE_UNAVAILABLE",
           "com.vmware.api.vcenter.vm.guest.tools_not_running", m,
           json_pack("[s]", f->vm), NULL);
    break;
  case GF_NO_INTERACTIVE:
    verror(rp, d, "NOT_ALLOWED_IN_CURRENT_STATE",
           "com.vmware.api.vcenter.vm.guest.no_interactive_session",
           "No interactive desktop session is running in the guest.", NULL,
           NULL);
    break;
  case GF_GUEST_LOGIN:
    verror(rp, d, "UNAUTHENTICATED",
           "com.vmware.vcenter.vm.guest.credentials.invalid",
           "The guest operating system credentials are not valid.", NULL, NULL);
    break;
  case GF_NOT_A_DIRECTORY: /* a file operation's, or a working directory */
    ferror_(rp, d, "INVALID_ARGUMENT",
            f->fs ? "com.vmware.api.vcenter.vm.guest.filesystem.not_a_directory"
                  : "com.vmware.api.vcenter.vm.guest.not_a_directory",
            "'%s' is not a directory in the guest.", "NOT_A_DIRECTORY", f);
    break;
  case GF_NOT_A_FILE:
    ferror_(rp, d, "INVALID_ARGUMENT",
            "com.vmware.api.vcenter.vm.guest.filesystem.not_a_file",
            "'%s' is not a file in the guest.", "NOT_A_FILE", f);
    break;
  case GF_FILE_EXISTS:
    ferror_(rp, d, "ALREADY_EXISTS",
            "com.vmware.api.vcenter.vm.guest.filesystem.already_exists",
            "'%s' already exists in the guest.", NULL, f);
    break;
  case GF_DIR_NOT_EMPTY:
    ferror_(rp, d, "INVALID_ARGUMENT",
            "com.vmware.api.vcenter.vm.guest.filesystem.directory_not_empty",
            "The directory '%s' is not empty.", "DIRECTORY_NOT_EMPTY", f);
    break;
  case GF_CANNOT_ACCESS:
    ferror_(rp, d, "UNAUTHORIZED",
            "com.vmware.api.vcenter.vm.guest.filesystem.access_denied",
            "'%s' cannot be accessed in the guest.", NULL, f);
    break;
  case GF_PATH_TOO_LONG:
    ferror_(rp, d, "INVALID_ARGUMENT",
            "com.vmware.api.vcenter.vm.guest.filesystem.path_too_long",
            "The path '%s' is too long.", "PATH_TOO_LONG", f);
    break;
  case GF_NO_SPACE:
    ferror_(rp, d, "UNABLE_TO_ALLOCATE_RESOURCE",
            "com.vmware.api.vcenter.vm.guest.filesystem.no_disk_space",
            "There is not enough space in the guest for '%s'.", "NO_DISK_SPACE",
            f);
    break;
  case GF_FS_ERROR:
    snprintf(m, sizeof m, "A guest file operation on '%s' failed: %s.", f->text,
             f->detail);
    verror(rp, d, "ERROR", "com.vmware.api.vcenter.vm.guest.filesystem.error",
           m, json_pack("[s,s]", f->text, f->detail), NULL);
    break;
  case GF_FILE_NOT_FOUND:
    snprintf(m, sizeof m, "File '%s' was not found in the guest.", f->text);
    verror(rp, d, "NOT_FOUND", "com.vmware.api.vcenter.vm.guest.file_not_found",
           m, json_pack("[s]", f->text),
           file_details("FILE_NOT_FOUND", f->text));
    break;
  case GF_PERMISSION:
    snprintf(m, sizeof m, "Permission denied for '%s' in the guest.", f->text);
    verror(rp, d, "UNAUTHORIZED",
           "com.vmware.api.vcenter.vm.guest.permission_denied", m,
           json_pack("[s]", f->text), NULL);
    break;
  case GF_PID_NOT_FOUND: {
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", (long long)f->pid);
    snprintf(m, sizeof m, "Process %s was not found in the guest.", pid);
    verror(rp, d, "NOT_FOUND",
           "com.vmware.api.vcenter.vm.guest.process_not_found", m,
           json_pack("[s]", pid),
           json_pack("{s:I}", "pid", (json_int_t)f->pid));
    break;
  }
  case GF_VAR_NOT_FOUND:
    snprintf(m, sizeof m, "Environment variable '%s' is not set.", f->text);
    verror(rp, d, "NOT_FOUND",
           "com.vmware.api.vcenter.vm.guest.environment.not_found", m,
           json_pack("[s]", f->text), NULL);
    break;
  case GF_START_FAILED:
    snprintf(m, sizeof m, "The program could not be started: %s.", f->text);
    verror(rp, d, "UNABLE_TO_ALLOCATE_RESOURCE",
           "com.vmware.api.vcenter.vm.guest.start_failed", m, NULL, NULL);
    break;
  case GF_NO_SESSION:
    unauthenticated(rp, d);
    break;
  case GF_BUSY:
    verror(rp, d, "RESOURCE_BUSY", "com.vmware.api.vcenter.vm.busy",
           "The virtual machine is busy.", NULL, NULL);
    break;
  case GF_UNAVAILABLE:
  case GF_NONE:
    verror(rp, d, "SERVICE_UNAVAILABLE",
           "com.vmware.vapi.endpoint.service_unavailable",
           "The service is unavailable.", NULL, NULL);
    break;
  }
}

/* Success: /api sends the bare value, /rest wraps it. j stolen. */
static void ok(struct reply *rp, const struct dialect *d, unsigned status,
               json_t *j) {
  reply_json(rp, status, d->legacy ? json_pack("{s:o}", "value", j) : j);
}

/* ---- request parsing --------------------------------------------------- */

static json_t *body_object(struct request *r, struct reply *rp,
                           const struct dialect *d) {
  json_error_t e;
  json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &e);
  if (!json_is_object(j)) {
    json_decref(j);
    invalid(rp, d, "The request body must be a JSON object.");
    return NULL;
  }
  return j;
}

/* Fetches an optional member of type check; false (and a 400) when the
 * member is required but missing or has the wrong type. */
static bool member(struct reply *rp, const struct dialect *d, json_t *obj,
                   const char *where, const char *key, bool required,
                   int (*check)(const json_t *), const char *tname,
                   json_t **out) {
  char m[256];
  *out = json_object_get(obj, key);
  if (!*out || json_is_null(*out)) {
    *out = NULL;
    if (!required)
      return true;
    snprintf(m, sizeof m, "Missing required field '%s%s'.", where, key);
    invalid(rp, d, m);
    return false;
  }
  if (!check(*out)) {
    snprintf(m, sizeof m, "Field '%s%s' must be %s.", where, key, tname);
    invalid(rp, d, m);
    return false;
  }
  return true;
}

static int is_object(const json_t *j) {
  return json_is_object(j);
}
static int is_string(const json_t *j) {
  return json_is_string(j);
}
static int is_bool(const json_t *j) {
  return json_is_boolean(j);
}
static int is_array(const json_t *j) {
  return json_is_array(j);
}

static bool parse_credentials(struct reply *rp, const struct dialect *d,
                              json_t *body, struct gauth *a) {
  json_t *c, *inter, *type, *user, *pw, *saml;
  memset(a, 0, sizeof *a);
  if (!member(rp, d, body, "", "credentials", true, is_object, "an object",
              &c) ||
      !member(rp, d, c, "credentials.", "interactive_session", true, is_bool,
              "a boolean", &inter) ||
      !member(rp, d, c, "credentials.", "type", true, is_string, "a string",
              &type) ||
      !member(rp, d, c, "credentials.", "user_name", false, is_string,
              "a string", &user) ||
      !member(rp, d, c, "credentials.", "password", false, is_string,
              "a string", &pw) ||
      !member(rp, d, c, "credentials.", "saml_token", false, is_string,
              "a string", &saml))
    return false;
  const char *t = json_string_value(type);
  a->interactive = json_is_true(inter);
  a->user = user ? json_string_value(user) : NULL;
  if (strcmp(t, "USERNAME_PASSWORD") == 0) {
    if (!pw) {
      invalid(rp, d,
              "Missing required field 'credentials.password' (required when "
              "credentials.type is USERNAME_PASSWORD).");
      return false;
    }
    a->password = json_string_value(pw);
  } else if (strcmp(t, "SAML_BEARER_TOKEN") == 0) {
    if (!saml) {
      invalid(rp, d,
              "Missing required field 'credentials.saml_token' (required "
              "when credentials.type is SAML_BEARER_TOKEN).");
      return false;
    }
    if (a->interactive) {
      invalid(rp, d,
              "Field 'credentials.interactive_session' is only supported "
              "with USERNAME_PASSWORD.");
      return false;
    }
    a->saml_token = json_string_value(saml);
  } else {
    invalid(rp, d,
            "Field 'credentials.type' must be USERNAME_PASSWORD or "
            "SAML_BEARER_TOKEN.");
    return false;
  }
  return true;
}

/* environment_variables: an object of strings (/api) or an array of
 * {key,value} (/rest). Returns-owned NULL-terminated "K=V" list in *env,
 * NULL when empty (the guest user's default environment is used). */
static bool parse_env(struct reply *rp, const struct dialect *d, json_t *ev,
                      char ***env) {
  size_t n = 0, cap = ev ? (json_is_object(ev) ? json_object_size(ev)
                                               : json_array_size(ev))
                         : 0;
  *env = NULL;
  if (!ev || cap == 0)
    return true;
  char **out = xcalloc(cap + 1, sizeof *out);
  const char *bad = NULL;
  if (!d->legacy) {
    const char *k;
    json_t *v;
    json_object_foreach(ev, k, v) {
      if (!json_is_string(v)) {
        bad = "Values of 'spec.environment_variables' must be strings.";
        break;
      }
      out[n++] = xasprintf("%s=%s", k, json_string_value(v));
    }
  } else {
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
      json_t *k = json_object_get(e, "key"), *v = json_object_get(e, "value");
      if (!json_is_string(k) || !json_is_string(v)) {
        bad = "Entries of 'spec.environment_variables' must be "
              "{\"key\":string,\"value\":string}.";
        break;
      }
      out[n++] = xasprintf("%s=%s", json_string_value(k), json_string_value(v));
    }
  }
  if (bad) {
    gop_free_strings(out, n);
    invalid(rp, d, bad);
    return false;
  }
  *env = out;
  return true;
}

/* Parses spec; *env returns-owned. */
static bool parse_spec(struct reply *rp, const struct dialect *d, json_t *body,
                       struct gspec *s) {
  json_t *spec, *path, *args, *wd, *ev, *min;
  memset(s, 0, sizeof *s);
  if (!member(rp, d, body, "", "spec", true, is_object, "an object", &spec) ||
      !member(rp, d, spec, "spec.", "path", true, is_string, "a string",
              &path) ||
      !member(rp, d, spec, "spec.", "arguments", false, is_string, "a string",
              &args) ||
      !member(rp, d, spec, "spec.", "working_directory", false, is_string,
              "a string", &wd) ||
      !member(rp, d, spec, "spec.", "environment_variables", d->legacy,
              d->legacy ? is_array : is_object,
              d->legacy ? "an array" : "an object", &ev) ||
      !member(rp, d, spec, "spec.", "start_minimized", false, is_bool,
              "a boolean", &min))
    return false;
  if (json_string_length(path) == 0) {
    invalid(rp, d, "Field 'spec.path' must not be empty.");
    return false;
  }
  s->path = json_string_value(path);
  s->arguments = args ? json_string_value(args) : NULL;
  s->working_directory = wd ? json_string_value(wd) : NULL;
  s->start_minimized = json_is_true(min);
  return parse_env(rp, d, ev, &s->env);
}

/* ---- authentication ---------------------------------------------------- */

static bool authed(struct sim *sim, struct request *r, struct reply *rp,
                   const struct dialect *d) {
  struct session s;
  char user[256];
  if (state_session(sim, req_token(r), &s, user, sizeof user))
    return true;
  unauthenticated(rp, d);
  return false;
}

/* Counts op and answers an injected failure; true when the caller may go on. */
static bool begin(struct sim *sim, struct reply *rp, const struct dialect *d,
                  enum op op) {
  struct gfault f = {0};
  if (!gfault_injected(req_begin_op(sim, rp, op), &f))
    return true;
  gerror(rp, d, &f);
  return false;
}

static void login(struct sim *sim, struct request *r, struct reply *rp,
                  const struct dialect *d) {
  char *user = NULL, *pass = NULL, token[33];
  if (!begin(sim, rp, d, OP_LOGIN))
    return;
  if (!req_basic_auth(r, &user, &pass) ||
      !state_login(sim, user, pass, d->fl, token, NULL)) {
    unauthenticated(rp, d);
  } else if (d->legacy) {
    ok(rp, d, 200, json_string(token));
    rp->set_cookie =
        xasprintf("vmware-api-session-id=%s;Path=/rest;Secure;HttpOnly", token);
  } else {
    ok(rp, d, 201, json_string(token));
  }
  if (pass)
    explicit_bzero(pass, strlen(pass));
  free(user);
  free(pass);
}

static void session_info(struct sim *sim, struct request *r, struct reply *rp,
                         const struct dialect *d) {
  struct session s;
  char user[256], created[32], last[32];
  if (!state_session(sim, req_token(r), &s, user, sizeof user)) {
    unauthenticated(rp, d);
    return;
  }
  if (!begin(sim, rp, d, OP_SESSION))
    return;
  util_format_time(s.created_ms, created);
  util_format_time(s.last_ms, last);
  ok(rp, d, 200,
     json_pack("{s:s,s:s,s:s}", "user", user, "created_time", created,
               "last_accessed_time", last));
}

static void logout(struct sim *sim, struct request *r, struct reply *rp,
                   const struct dialect *d) {
  const char *token = req_token(r);
  struct session s;
  char user[256];
  if (!state_session(sim, token, &s, user, sizeof user)) {
    unauthenticated(rp, d);
    return;
  }
  if (req_begin_op(sim, rp, OP_LOGOUT) == INJ_DROP)
    return;
  if (state_logout(sim, token))
    reply_empty(rp, d->legacy ? 200 : 204);
  else /* logged out meanwhile */
    unauthenticated(rp, d);
}

/* ---- VM list ----------------------------------------------------------- */

/* The container kinds a VM list filters by, in query order. */
enum { CK_FOLDERS, CK_DATACENTERS, CK_HOSTS, CK_CLUSTERS, CK_POOLS, CK_COUNT };
static const char *const container_args[CK_COUNT] = {
    "folders", "datacenters", "hosts", "clusters", "resource_pools"};

struct vm_filter {
  const struct dialect *d;
  json_t *names, *vms, *states; /* arrays of strings, or NULL */
  json_t *containers[CK_COUNT]; /* ids of each container kind, or NULL */
};

static void add_filter(json_t **arr, const char *v) {
  if (!*arr)
    *arr = json_array();
  json_array_append_new(*arr, json_string(v));
}

/* The name of a list query argument: /rest's "filter." dropped and its
 * indexed form (filter.names.1) folded; NULL for an argument that is not
 * a filter. */
static const char *filter_name(const struct dialect *d, const char *key,
                               char name[64]) {
  if (d->legacy) {
    if (strncmp(key, "filter.", 7) != 0)
      return NULL;
    key += 7;
  }
  snprintf(name, 64, "%s", key);
  char *dot = strchr(name, '.');
  if (dot && d->legacy)
    *dot = '\0';
  return name;
}

static void filter_arg(void *ctx, const char *key, const char *value) {
  struct vm_filter *f = ctx;
  char buf[64];
  const char *name = filter_name(f->d, key, buf);
  if (!name)
    return;
  if (strcmp(name, "names") == 0)
    add_filter(&f->names, value);
  else if (strcmp(name, "vms") == 0)
    add_filter(&f->vms, value);
  else if (strcmp(name, "power_states") == 0)
    add_filter(&f->states, value);
  else
    for (int k = 0; k < CK_COUNT; k++)
      if (strcmp(name, container_args[k]) == 0)
        add_filter(&f->containers[k], value);
}

/* Is vm in container c of kind k, as the VM list's filters mean it?
 * folders: the folder that holds the VM itself (the API does not look
 * into subfolders); datacenters, clusters and resource pools: at any
 * depth; hosts: the host it runs on. */
static bool vm_in_kind(const struct vm *vm, const struct entity *c, int k) {
  switch (k) {
  case CK_FOLDERS:
    return vm->folder == c;
  case CK_DATACENTERS:
    return c->kind == EK_DATACENTER && vm->folder->dc == c;
  case CK_HOSTS:
    return vm->host == c;
  case CK_CLUSTERS:
    return c->kind == EK_CLUSTER && vm->host->compute == c;
  default:
    return c->kind == EK_POOL && (vm->pool == c || entity_below(vm->pool, c));
  }
}

/* Every container kind given holds the VM (AND), through one of its ids
 * (OR); an unknown id holds nothing. The caller holds the lock. */
static bool in_containers(const struct inventory *inv,
                          const struct vm_filter *f, const struct vm *vm) {
  for (int k = 0; k < CK_COUNT; k++) {
    size_t i;
    json_t *e;
    bool any = false;
    if (!f->containers[k])
      continue;
    json_array_foreach(f->containers[k], i, e) {
      const struct entity *c = inventory_entity(inv, json_string_value(e));
      any = any || (c && vm_in_kind(vm, c, k));
    }
    if (!any)
      return false;
  }
  return true;
}

static bool in_filter(json_t *arr, const char *v) {
  size_t i;
  json_t *e;
  if (!arr)
    return true;
  json_array_foreach(arr, i,
                     e) if (strcmp(json_string_value(e), v) == 0) return true;
  return false;
}

static int by_index(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* The VMs a filter can match, found through the inventory's indexes: the
 * VMs named by `vms` or else by `names`, in inventory order, once each
 * (returns-owned, *n of them). NULL when neither is given: every VM, *n
 * of them. The caller holds the lock and applies the filters. */
static size_t *vm_candidates(const struct inventory *inv,
                             const struct vm_filter *f, size_t *n) {
  json_t *keys = f->vms ? f->vms : f->names, *e;
  size_t i, k = 0;
  if (!keys) {
    *n = inv->nvms;
    return NULL;
  }
  size_t cap = json_array_size(keys) + 1, *out = xmalloc(cap * sizeof *out);
  json_array_foreach(keys, i, e) {
    const char *key = json_string_value(e);
    struct vm *vm =
        f->vms ? inventory_vm(inv, key) : inventory_vm_named(inv, key);
    for (; vm; vm = f->vms ? NULL : vm->same_name) {
      if (k == cap)
        out = xrealloc(out, (cap *= 2) * sizeof *out);
      out[k++] = (size_t)(vm - inv->vms);
    }
  }
  qsort(out, k, sizeof *out, by_index);
  *n = 0;
  for (i = 0; i < k; i++)
    if (i == 0 || out[i] != out[i - 1])
      out[(*n)++] = out[i];
  return out;
}

static void vm_list(struct sim *sim, struct request *r, struct reply *rp,
                    const struct dialect *d) {
  struct vm_filter f = {d, NULL, NULL, NULL, {NULL}};
  req_args_each(r, filter_arg, &f);
  size_t i;
  json_t *e;
  enum power_state ps;
  json_array_foreach(f.states, i, e) {
    if (!power_state_parse(json_string_value(e), &ps)) {
      char m[256];
      snprintf(m, sizeof m,
               "Invalid value '%s' for power_states: expected POWERED_ON, "
               "POWERED_OFF or SUSPENDED.",
               json_string_value(e));
      invalid(rp, d, m);
      goto out;
    }
  }
  json_t *list = json_array();
  sim_lock(sim);
  size_t n = 0, *pick = vm_candidates(&sim->inv, &f, &n);
  for (size_t k = 0; k < n; k++) {
    struct vm *vm = &sim->inv.vms[pick ? pick[k] : k];
    const char *state = power_state_name(vm->power);
    if (in_filter(f.names, vm->name) && in_filter(f.vms, vm->id) &&
        in_filter(f.states, state) && in_containers(&sim->inv, &f, vm))
      json_array_append_new(
          list, json_pack("{s:s,s:s,s:s,s:I,s:I}", "vm", vm->id, "name",
                          vm->name, "power_state", state, "cpu_count",
                          (json_int_t)vm->cpu_count, "memory_size_MiB",
                          (json_int_t)vm->memory_mib));
  }
  sim_unlock(sim);
  free(pick);
  ok(rp, d, 200, list);
out:
  json_decref(f.names);
  json_decref(f.vms);
  json_decref(f.states);
  for (int k = 0; k < CK_COUNT; k++)
    json_decref(f.containers[k]);
}

/* ---- inventory lists ---------------------------------------------------- */

/* GET /vcenter/{folder|datacenter|cluster|host|resource-pool}: the
 * Summaries of one kind, filtered by its FilterSpec (README.md,
 * "Inventory tree"). */
struct inv_kind {
  const char *path;           /* vcenter/<path> */
  enum ent_kind kind;         /* what is listed */
  const char *id;             /* the Summary member of the id */
  const char *own;            /* the FilterSpec member of ids of this kind */
  size_t limit;               /* "at most N" of the API reference */
  const char *const *filters; /* other FilterSpec members, NULL-ended */
};

static const char *const folder_filters[] = {"type", "parent_folders",
                                             "datacenters", NULL};
static const char *const dc_filters[] = {"folders", NULL};
static const char *const cluster_filters[] = {"folders", "datacenters", NULL};
static const char *const host_filters[] = {"folders",           "datacenters",
                                           "standalone",        "clusters",
                                           "connection_states", NULL};
static const char *const pool_filters[] = {
    "parent_resource_pools", "datacenters", "hosts", "clusters", NULL};

static const struct inv_kind inv_kinds[] = {
    {"folder", EK_FOLDER, "folder", "folders", 1000, folder_filters},
    {"datacenter", EK_DATACENTER, "datacenter", "datacenters", 1000,
     dc_filters},
    {"cluster", EK_CLUSTER, "cluster", "clusters", 1000, cluster_filters},
    {"host", EK_HOST, "host", "hosts", 2500, host_filters},
    {"resource-pool", EK_POOL, "resource_pool", "resource_pools", 1000,
     pool_filters},
};

static const char *const folder_types[] = {"DATACENTER", "VIRTUAL_MACHINE",
                                           "HOST", "DATASTORE", "NETWORK"};

struct inv_args {
  const struct dialect *d;
  json_t *args; /* FilterSpec member -> array of strings */
};

static void inv_arg(void *ctx, const char *key, const char *value) {
  struct inv_args *a = ctx;
  char buf[64];
  const char *name = filter_name(a->d, key, buf);
  json_t *arr;
  if (!name)
    return;
  if (!(arr = json_object_get(a->args, name))) {
    arr = json_array();
    json_object_set_new(a->args, name, arr);
  }
  json_array_append_new(arr, json_string(value));
}

/* Is some entity of ids (an array) c itself, or, when below, above e? */
static bool any_is(const struct inventory *inv, json_t *ids,
                   const struct entity *e, bool below) {
  size_t i;
  json_t *id;
  json_array_foreach(ids, i, id) {
    const struct entity *c = inventory_entity(inv, json_string_value(id));
    if (c && (below ? entity_below(e, c) : e == c))
      return true;
  }
  return false;
}

/* Is some host of ids (an array) in compute resource cr? */
static bool any_host_of(const struct inventory *inv, json_t *ids,
                        const struct entity *cr) {
  size_t i;
  json_t *id;
  json_array_foreach(ids, i, id) {
    const struct entity *h = inventory_entity(inv, json_string_value(id));
    if (h && h->kind == EK_HOST && h->compute == cr)
      return true;
  }
  return false;
}

/* The folder that holds e: its parent, or for a host, its cluster's or
 * standalone compute resource's. */
static const struct entity *holder(const struct entity *e) {
  return e->kind == EK_HOST ? e->parent->parent : e->parent;
}

/* Does e pass every filter of args? The caller holds the lock. */
static bool inv_match(const struct inventory *inv, const struct inv_kind *k,
                      json_t *args, const struct entity *e) {
  const char *key;
  json_t *v;
  json_object_foreach(args, key, v) {
    bool ok = true;
    if (strcmp(key, "names") == 0)
      ok = in_filter(v, e->name);
    else if (strcmp(key, k->own) == 0)
      ok = in_filter(v, e->id);
    else if (strcmp(key, "type") == 0)
      ok = in_filter(v, folder_types[e->ftype]);
    else if (strcmp(key, "parent_folders") == 0 ||
             strcmp(key, "parent_resource_pools") == 0)
      ok = any_is(inv, v, e->parent, false);
    else if (strcmp(key, "folders") == 0)
      ok = any_is(inv, v, holder(e), false);
    else if (strcmp(key, "datacenters") == 0)
      ok = e->dc && any_is(inv, v, e->dc, false);
    else if (strcmp(key, "clusters") == 0)
      ok = e->compute && e->compute->kind == EK_CLUSTER &&
           any_is(inv, v, e->compute, false);
    else if (strcmp(key, "hosts") == 0) /* pools of the host's compute */
      ok = e->compute && any_host_of(inv, v, e->compute);
    else if (strcmp(key, "standalone") == 0)
      ok = (strcmp(json_string_value(json_array_get(v, 0)), "true") == 0) ==
           (e->compute->kind == EK_COMPUTE);
    else if (strcmp(key, "connection_states") == 0)
      ok = in_filter(v, "CONNECTED");
    if (!ok)
      return false;
  }
  return true;
}

/* Checks the query: enum values, one boolean; drops what the FilterSpec
 * does not have. False after a 400. */
static bool inv_check(struct reply *rp, const struct dialect *d,
                      const struct inv_kind *k, json_t *args) {
  const char *key;
  json_t *v, *e;
  size_t i;
  void *tmp;
  json_object_foreach_safe(args, tmp, key, v) {
    bool known = strcmp(key, "names") == 0 || strcmp(key, k->own) == 0;
    for (const char *const *f = k->filters; *f; f++)
      known = known || strcmp(key, *f) == 0;
    if (!known) { /* not a member of this FilterSpec: ignored */
      json_object_del(args, key);
      continue;
    }
    json_array_foreach(v, i, e) {
      const char *s = json_string_value(e);
      bool good = true;
      char m[256];
      if (strcmp(key, "type") == 0) {
        good = false;
        for (size_t t = 0; t < 5; t++)
          good = good || strcmp(s, folder_types[t]) == 0;
      } else if (strcmp(key, "standalone") == 0) {
        good = strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
      } else if (strcmp(key, "connection_states") == 0) {
        good = strcmp(s, "CONNECTED") == 0 || strcmp(s, "DISCONNECTED") == 0 ||
               strcmp(s, "NOT_RESPONDING") == 0;
      }
      if (!good) {
        snprintf(m, sizeof m, "Invalid value '%.100s' for '%s'.", s, key);
        invalid(rp, d, m);
        return false;
      }
    }
  }
  return true;
}

static json_t *inv_summary(const struct inv_kind *k, const struct entity *e) {
  json_t *j = json_pack("{s:s,s:s}", k->id, e->id, "name", e->name);
  if (e->kind == EK_FOLDER)
    json_object_set_new(j, "type", json_string(folder_types[e->ftype]));
  else if (e->kind == EK_CLUSTER) {
    json_object_set_new(j, "ha_enabled", json_boolean(e->ha_enabled));
    json_object_set_new(j, "drs_enabled", json_boolean(e->drs_enabled));
  } else if (e->kind == EK_HOST) {
    json_object_set_new(j, "connection_state", json_string("CONNECTED"));
    json_object_set_new(j, "power_state", json_string("POWERED_ON"));
  }
  return j;
}

static void inv_list(struct sim *sim, struct request *r, struct reply *rp,
                     const struct dialect *d, const struct inv_kind *k) {
  struct inv_args a = {d, json_object()};
  req_args_each(r, inv_arg, &a);
  if (inv_check(rp, d, k, a.args)) {
    json_t *list = json_array();
    sim_lock(sim);
    const struct inventory *inv = &sim->inv;
    for (size_t i = 0; i < inv->nents; i++) {
      const struct entity *e = inv->ents[i];
      if (e->kind == k->kind && inv_match(inv, k, a.args, e))
        json_array_append_new(list, inv_summary(k, e));
    }
    sim_unlock(sim);
    if (json_array_size(list) > k->limit) {
      char m[128];
      json_decref(list);
      snprintf(m, sizeof m,
               "Too many %ss match the filter (at most %zu are returned).",
               k->id, k->limit);
      verror(rp, d, "UNABLE_TO_ALLOCATE_RESOURCE",
             "com.vmware.api.vcenter.inventory.too_many", m, NULL, NULL);
    } else {
      ok(rp, d, 200, list);
    }
  }
  json_decref(a.args);
}

/* GET …/vcenter/vm/{vm}/tools: Tools.Info. open-vm-tools 12.3.5 on a
 * linux VM (unmanaged, as an OS package is), VMware Tools from the MSI on
 * a windows one. */
static void tools_info(struct sim *sim, const char *vm, struct reply *rp,
                       const struct dialect *d) {
  static const char *const run[] = {"NOT_RUNNING", "RUNNING",
                                    "EXECUTING_SCRIPTS"};
  struct gfault f = {0};
  enum gtools st;
  bool windows;
  if (!gop_tools(sim, vm, &st, &windows, &f)) {
    gerror(rp, d, &f);
    return;
  }
  /* version_number: (major << 10) + (minor << 5) + revision */
  ok(rp, d, 200,
     json_pack("{s:b,s:i,s:s,s:s,s:s,s:s,s:s}", "auto_update_supported",
               windows, "version_number",
               windows ? (12 << 10) + (5 << 5) + 0 : (12 << 10) + (3 << 5) + 5,
               "version", windows ? "12.5.0" : "12.3.5", "upgrade_policy",
               "MANUAL", "version_status", windows ? "CURRENT" : "UNMANAGED",
               "install_type", windows ? "MSI" : "OPEN_VM_TOOLS", "run_state",
               run[st]));
}

/* ---- guest operations -------------------------------------------------- */

static json_t *info_json(const struct ginfo *g, bool with_pid, bool with_exit) {
  char started[32], finished[32];
  util_format_time(g->started_ms, started);
  json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "name", g->name, "owner", g->owner,
                        "command", g->command, "started", started);
  if (with_pid)
    json_object_set_new(j, "pid", json_integer(g->pid));
  if (with_exit && g->exited) {
    util_format_time(g->finished_ms, finished);
    json_object_set_new(j, "finished", json_string(finished));
    json_object_set_new(j, "exit_code", json_integer(g->exit_code));
  }
  return j;
}

static void proc_create(struct sim *sim, const char *vm, json_t *body,
                        struct reply *rp, const struct dialect *d) {
  struct gauth a;
  struct gspec s;
  struct gfault f = {0};
  int64_t pid;
  if (!parse_credentials(rp, d, body, &a) || !parse_spec(rp, d, body, &s))
    return;
  if (!gop_create(sim, vm, &a, &s, &pid, &f)) {
    gerror(rp, d, &f);
  } else {
    ok(rp, d, d->legacy ? 200 : 201, json_integer(pid));
  }
  gop_free_env(s.env);
}

static void proc_list(struct sim *sim, const char *vm, json_t *body,
                      struct reply *rp, const struct dialect *d) {
  struct gauth a;
  struct gfault f = {0};
  struct ginfo *v;
  size_t n, i;
  json_t *pids_j = NULL, *e;
  int64_t *pids = NULL;
  if (!parse_credentials(rp, d, body, &a))
    return;
  if (d->legacy && !member(rp, d, body, "", "pids", false, is_array,
                           "an array of integers", &pids_j))
    return;
  if (pids_j) {
    pids = xcalloc(json_array_size(pids_j), sizeof *pids);
    json_array_foreach(pids_j, i, e) {
      if (!json_is_integer(e)) {
        free(pids);
        invalid(rp, d, "Field 'pids' must be an array of integers.");
        return;
      }
      pids[i] = json_integer_value(e);
    }
  }
  if (gop_list(sim, vm, &a, pids, pids_j ? json_array_size(pids_j) : 0, &v, &n,
               &f)) {
    json_t *list = json_array();
    for (i = 0; i < n; i++)
      json_array_append_new(list, info_json(&v[i], true, d->legacy));
    ginfo_free(v, n);
    ok(rp, d, 200, list);
  } else {
    gerror(rp, d, &f);
  }
  free(pids);
}

static void proc_one(struct sim *sim, const char *vm, const char *pid_s,
                     enum op op, json_t *body, struct reply *rp,
                     const struct dialect *d) {
  struct gauth a;
  struct gfault f = {0};
  struct ginfo g;
  int64_t pid;
  if (!util_parse_int64(pid_s, &pid)) {
    invalid(rp, d, "Path parameter 'pid' must be an integer.");
    return;
  }
  if (!parse_credentials(rp, d, body, &a))
    return;
  if (op == OP_GET && gop_get(sim, vm, &a, pid, &g, &f)) {
    ok(rp, d, 200, info_json(&g, d->legacy, true));
    free(g.name);
    free(g.owner);
    free(g.command);
  } else if (op == OP_DELETE && gop_delete(sim, vm, &a, pid, &f)) {
    reply_empty(rp, d->legacy ? 200 : 204);
  } else {
    gerror(rp, d, &f);
  }
}

static void env_list(struct sim *sim, const char *vm, const char *one,
                     json_t *body, struct reply *rp, const struct dialect *d) {
  struct gauth a;
  struct gfault f = {0};
  json_t *names_j = NULL, *e;
  size_t i, n = 0;
  char **keys, **vals;
  if (!parse_credentials(rp, d, body, &a))
    return;
  if (!one && !member(rp, d, body, "", "names", true, is_array,
                      "an array of strings", &names_j))
    return;
  size_t nnames = one ? 1 : json_array_size(names_j);
  const char **names = xcalloc(nnames, sizeof *names);
  if (one)
    names[0] = one;
  json_array_foreach(names_j, i, e) {
    if (!json_is_string(e)) {
      free(names);
      invalid(rp, d, "Field 'names' must be an array of strings.");
      return;
    }
    names[i] = json_string_value(e);
  }
  if (!gop_environment(sim, vm, &a, names, nnames, &keys, &vals, &n, &f)) {
    gerror(rp, d, &f);
  } else if (one && n == 0) {
    gfault_set(&f, GF_VAR_NOT_FOUND, one);
    gerror(rp, d, &f);
  } else if (one) {
    ok(rp, d, 200, json_string(vals[0]));
  } else {
    json_t *out = d->legacy ? json_array() : json_object();
    for (i = 0; i < n; i++) {
      if (d->legacy)
        json_array_append_new(
            out, json_pack("{s:s,s:s}", "key", keys[i], "value", vals[i]));
      else
        json_object_set_new(out, keys[i], json_string(vals[i]));
    }
    ok(rp, d, 200, out);
  }
  gop_free_strings(keys, n);
  gop_free_strings(vals, n);
  free(names);
}

static void operations(struct sim *sim, const char *vm, struct reply *rp,
                       const struct dialect *d) {
  struct gfault f = {0};
  bool ready;
  if (!gop_ready(sim, vm, &ready, &f))
    gerror(rp, d, &f);
  else
    ok(rp, d, 200,
       json_pack("{s:b,s:b}", "guest_operations_ready", ready,
                 "interactive_guest_operations_ready", 0));
}

/* ---- guest filesystem (/api only) -------------------------------------- */

static int is_integer(const json_t *j) {
  return json_is_integer(j);
}

/* A member that must be an absolute guest path; *out borrowed. */
static bool path_member(struct reply *rp, const struct dialect *d, json_t *obj,
                        const char *where, const char *key, bool required,
                        const char **out) {
  json_t *p;
  char m[256];
  *out = NULL;
  if (!member(rp, d, obj, where, key, required, is_string, "a string", &p))
    return false;
  if (!p)
    return true;
  if (!gfs_path_ok(json_string_value(p), json_string_length(p))) {
    snprintf(m, sizeof m, "Field '%s%s' must be an absolute path.", where, key);
    invalid(rp, d, m);
    return false;
  }
  *out = json_string_value(p);
  return true;
}

/* A string member without NUL; *out borrowed, NULL when absent. */
static bool text_member(struct reply *rp, const struct dialect *d, json_t *obj,
                        const char *where, const char *key, bool required,
                        const char **out) {
  json_t *v;
  char m[256];
  *out = NULL;
  if (!member(rp, d, obj, where, key, required, is_string, "a string", &v))
    return false;
  if (v && strlen(json_string_value(v)) != json_string_length(v)) {
    snprintf(m, sizeof m, "Field '%s%s' must not contain NUL.", where, key);
    invalid(rp, d, m);
    return false;
  }
  *out = v ? json_string_value(v) : NULL;
  return true;
}

static bool bool_member(struct reply *rp, const struct dialect *d, json_t *obj,
                        const char *where, const char *key, bool *out) {
  json_t *v;
  if (!member(rp, d, obj, where, key, false, is_bool, "a boolean", &v))
    return false;
  *out = json_is_true(v);
  return true;
}

/* A date-time member into *ms (left alone when absent). */
static bool time_member(struct reply *rp, const struct dialect *d, json_t *obj,
                        const char *where, const char *key, int64_t *ms) {
  json_t *v;
  char m[256];
  if (!member(rp, d, obj, where, key, false, is_string, "a string", &v))
    return false;
  if (v && !util_parse_time(json_string_value(v), ms)) {
    snprintf(m, sizeof m, "Field '%s%s' must be an RFC 3339 date-time.", where,
             key);
    invalid(rp, d, m);
    return false;
  }
  return true;
}

/* posix {owner_id, group_id, permissions} and windows {hidden, read_only}
 * of a creation or update spec at where ("spec.attributes."). */
static bool parse_attrs(struct reply *rp, const struct dialect *d, json_t *obj,
                        const char *where, struct gfattrs *at) {
  json_t *posix, *win, *v;
  char w[128], m[256];
  if (!time_member(rp, d, obj, where, "last_modified", &at->mtime_ms) ||
      !time_member(rp, d, obj, where, "last_accessed", &at->atime_ms) ||
      !member(rp, d, obj, where, "posix", false, is_object, "an object",
              &posix) ||
      !member(rp, d, obj, where, "windows", false, is_object, "an object",
              &win))
    return false;
  if (posix) {
    snprintf(w, sizeof w, "%sposix.", where);
    if (!member(rp, d, posix, w, "owner_id", false, is_integer, "an integer",
                &v))
      return false;
    at->uid = v ? json_integer_value(v) : -1;
    if (!member(rp, d, posix, w, "group_id", false, is_integer, "an integer",
                &v))
      return false;
    at->gid = v ? json_integer_value(v) : -1;
    if (!member(rp, d, posix, w, "permissions", false, is_string, "a string",
                &v))
      return false;
    if (v) {
      const char *p = json_string_value(v);
      char *end = NULL;
      long mode = strtol(p, &end, 8);
      if (!*p || *end || mode < 0 || mode > 07777 || *p == '-' || *p == '+' ||
          *p == ' ') {
        snprintf(m, sizeof m,
                 "Field '%spermissions' must be octal permissions such as "
                 "\"0644\".",
                 w);
        invalid(rp, d, m);
        return false;
      }
      at->mode = mode;
    }
    at->posix = at->uid >= 0 || at->gid >= 0 || at->mode >= 0;
    if ((v = json_object_get(posix, "owner_id")) && at->uid < 0) {
      snprintf(m, sizeof m, "Field '%sowner_id' must not be negative.", w);
      invalid(rp, d, m);
      return false;
    }
    if ((v = json_object_get(posix, "group_id")) && at->gid < 0) {
      snprintf(m, sizeof m, "Field '%sgroup_id' must not be negative.", w);
      invalid(rp, d, m);
      return false;
    }
  }
  if (win) {
    bool hidden, ro;
    snprintf(w, sizeof w, "%swindows.", where);
    if (!bool_member(rp, d, win, w, "hidden", &hidden) ||
        !bool_member(rp, d, win, w, "read_only", &ro))
      return false;
    at->windows = hidden || ro;
    at->read_only = ro;
  }
  return true;
}

static const char *type_name_api(enum gftype t) {
  return t == GFT_DIRECTORY ? "DIRECTORY"
         : t == GFT_SYMLINK ? "SYMLINK"
                            : "FILE";
}

static json_t *file_info_json(const struct gfinfo *g) {
  char mod[32], acc[32];
  util_format_time(g->mtime_ms, mod);
  util_format_time(g->atime_ms, acc);
  char *perm = xasprintf("0%o", (unsigned)(g->mode & 07777));
  json_t *attrs = json_pack(
      "{s:s,s:s,s:s,s:{s:I,s:I,s:s}}", "last_modified", mod, "last_accessed",
      acc, "filesystem_family", "POSIX", "posix_attributes", "owner",
      (json_int_t)g->uid, "group", (json_int_t)g->gid, "permissions", perm);
  free(perm);
  if (g->symlink_target)
    json_object_set_new(attrs, "symlink_target",
                        json_string(g->symlink_target));
  return json_pack("{s:s,s:I,s:o}", "type", type_name_api(g->type), "size",
                   (json_int_t)g->size, "attributes", attrs);
}

/* POST …/guest/filesystem?action=create: a transfer URL, an upload when
 * spec.attributes is set, else a download. */
static void fs_transfer(struct sim *sim, const char *vm, json_t *body,
                        struct reply *rp, const struct dialect *d,
                        struct gauth *a) {
  json_t *spec, *attrs, *size;
  const char *path;
  struct gfault f = {0};
  struct gfattrs at;
  char *url = NULL;
  bool overwrite = false, done;
  gfattrs_init(&at);
  if (!member(rp, d, body, "", "spec", true, is_object, "an object", &spec) ||
      !path_member(rp, d, spec, "spec.", "path", true, &path) ||
      !member(rp, d, spec, "spec.", "attributes", false, is_object, "an object",
              &attrs))
    return;
  if (attrs) {
    if (!member(rp, d, attrs, "spec.attributes.", "size", true, is_integer,
                "an integer", &size) ||
        !bool_member(rp, d, attrs, "spec.attributes.", "overwrite",
                     &overwrite) ||
        !parse_attrs(rp, d, attrs, "spec.attributes.", &at))
      return;
    if (json_integer_value(size) < 0) {
      invalid(rp, d, "Field 'spec.attributes.size' must not be negative.");
      return;
    }
    done = gfs_upload(sim, vm, a, path, "spec.path", &at, "spec.attributes",
                      json_integer_value(size), overwrite, &url, &f);
  } else {
    struct gfinfo info;
    done = gfs_download(sim, vm, a, path, "spec.path", &info, &url, &f);
    gfinfo_clear(&info);
  }
  if (done)
    ok(rp, d, 201, json_string(url));
  else
    gerror(rp, d, &f);
  free(url);
}

static void fs_mktemp(struct sim *sim, const char *vm, json_t *body,
                      struct reply *rp, const struct dialect *d,
                      struct gauth *a, bool directory) {
  const char *prefix, *suffix, *parent;
  struct gfault f = {0};
  char *path = NULL;
  if (!text_member(rp, d, body, "", "prefix", true, &prefix) ||
      !text_member(rp, d, body, "", "suffix", true, &suffix) ||
      !path_member(rp, d, body, "", "parent_path", false, &parent))
    return;
  if (gfs_mktemp(sim, vm, a, prefix, suffix, parent, directory, &path, &f))
    ok(rp, d, 200, json_string(path));
  else
    gerror(rp, d, &f);
  free(path);
}

static void fs_list(struct sim *sim, const char *vm, json_t *body,
                    struct reply *rp, const struct dialect *d,
                    struct gauth *a) {
  const char *path, *pattern = NULL;
  json_t *iter, *filter, *v;
  struct gfault f = {0};
  struct gfinfo *ents;
  size_t n;
  bool single;
  int64_t size = 50, index = 0;
  if (!path_member(rp, d, body, "", "path", true, &path) ||
      !member(rp, d, body, "", "iteration", false, is_object, "an object",
              &iter) ||
      !member(rp, d, body, "", "filter", false, is_object, "an object",
              &filter) ||
      (filter && !text_member(rp, d, filter, "filter.", "match_pattern", false,
                              &pattern)))
    return;
  if (iter) {
    if (!member(rp, d, iter, "iteration.", "size", false, is_integer,
                "an integer", &v))
      return;
    size = v ? json_integer_value(v) : 50;
    if (!member(rp, d, iter, "iteration.", "index", false, is_integer,
                "an integer", &v))
      return;
    index = v ? json_integer_value(v) : 0;
    if (size < 1 || index < 0) {
      invalid(rp, d,
              "Fields 'iteration.size' must be positive and "
              "'iteration.index' not negative.");
      return;
    }
  }
  if (!gfs_list(sim, vm, a, path, pattern, "filter.match_pattern", &ents, &n,
                &single, &f)) {
    gerror(rp, d, &f);
    return;
  }
  /* the logical list is the matching entries; a page of it is returned */
  json_t *files = json_array();
  int64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (!ents[i].match)
      continue;
    if (total >= index && total < index + size) {
      const char *name = ents[i].name;
      const char *slash = single ? strrchr(name, '/') : NULL;
      json_array_append_new(files,
                            json_pack("{s:s,s:s,s:I}", "filename",
                                      slash && slash[1] ? slash + 1 : name,
                                      "type", type_name_api(ents[i].type),
                                      "size", (json_int_t)ents[i].size));
    }
    total++;
  }
  gfinfo_free(ents, n);
  size_t got = json_array_size(files);
  json_t *res = json_pack(
      "{s:o,s:I,s:s}", "files", files, "total", (json_int_t)total, "status",
      index + (int64_t)got < total ? "READY" : "END_OF_DATA");
  if (got > 0) {
    json_object_set_new(res, "start_index", json_integer(index));
    json_object_set_new(res, "end_index",
                        json_integer(index + (json_int_t)got - 1));
  }
  ok(rp, d, 200, res);
}

static void fs_move(struct sim *sim, const char *vm, json_t *body,
                    struct reply *rp, const struct dialect *d, struct gauth *a,
                    bool directory) {
  const char *path, *new_path;
  bool overwrite = false;
  struct gfault f = {0};
  if (!path_member(rp, d, body, "", "path", true, &path) ||
      !path_member(rp, d, body, "", "new_path", true, &new_path) ||
      (!directory && !bool_member(rp, d, body, "", "overwrite", &overwrite)))
    return;
  if (gfs_move(sim, vm, a, path, new_path, directory, overwrite, &f))
    reply_empty(rp, 204);
  else
    gerror(rp, d, &f);
}

static void fs_update(struct sim *sim, const char *vm, json_t *body,
                      struct reply *rp, const struct dialect *d,
                      struct gauth *a) {
  const char *path;
  json_t *fa;
  struct gfattrs at;
  struct gfault f = {0};
  gfattrs_init(&at);
  if (!path_member(rp, d, body, "", "path", true, &path) ||
      !member(rp, d, body, "", "file_attributes", true, is_object, "an object",
              &fa) ||
      !parse_attrs(rp, d, fa, "file_attributes.", &at))
    return;
  if (gfs_set_attrs(sim, vm, a, path, &at, "file_attributes", &f))
    reply_empty(rp, 204);
  else
    gerror(rp, d, &f);
}

static void fs_dir(struct sim *sim, const char *vm, const char *action,
                   json_t *body, struct reply *rp, const struct dialect *d,
                   struct gauth *a) {
  const char *path;
  bool flag = false, done;
  struct gfault f = {0};
  bool create = strcmp(action, "create") == 0;
  if (!path_member(rp, d, body, "", "path", true, &path) ||
      !bool_member(rp, d, body, "", create ? "create_parents" : "recursive",
                   &flag))
    return;
  done = create ? gfs_mkdir(sim, vm, a, path, flag, &f)
                : gfs_delete_dir(sim, vm, a, path, flag, &f);
  if (done)
    reply_empty(rp, 204);
  else
    gerror(rp, d, &f);
}

static void fs_one(struct sim *sim, const char *vm, const char *path,
                   const char *action, struct reply *rp,
                   const struct dialect *d, struct gauth *a) {
  struct gfault f = {0};
  if (strcmp(action, "get") == 0) {
    struct gfinfo g;
    if (gfs_stat(sim, vm, a, path, &g, &f))
      ok(rp, d, 200, file_info_json(&g));
    else
      gerror(rp, d, &f);
    gfinfo_clear(&g);
  } else if (gfs_delete_file(sim, vm, a, path, &f)) {
    reply_empty(rp, 204);
  } else {
    gerror(rp, d, &f);
  }
}

/* Percent-decodes one path segment; returns-owned, NULL when malformed or
 * when it decodes to a NUL. */
static char *pct_decode(const char *in, size_t len) {
  char *out = xmalloc(len + 1), *o = out;
  for (size_t i = 0; i < len; i++) {
    if (in[i] != '%') {
      *o++ = in[i];
      continue;
    }
    char hex[3] = {0, 0, 0};
    if (i + 2 >= len || !isxdigit((unsigned char)in[i + 1]) ||
        !isxdigit((unsigned char)in[i + 2]) ||
        (in[i + 1] == '0' && in[i + 2] == '0')) {
      free(out);
      return NULL;
    }
    hex[0] = in[i + 1];
    hex[1] = in[i + 2];
    *o++ = (char)strtol(hex, NULL, 16);
    i += 2;
  }
  *o = '\0';
  return out;
}

/* Routes the guest filesystem under the raw (undecoded) request path
 * raw, relative to /api: …/vcenter/vm/{vm}/guest/filesystem, /files,
 * /files/{path}, /directories. {path} is one percent-encoded segment
 * (README.md, "Path encoding"). False when no route matches. */
static bool filesystem(struct sim *sim, struct request *r, const char *raw,
                       struct reply *rp, const struct dialect *d) {
  const char *q = strchr(raw, '?');
  size_t len = q ? (size_t)(q - raw) : strlen(raw);
  const char *seg[8];
  size_t segl[8], n = 0;
  if (len == 0 || raw[0] != '/')
    return false;
  for (size_t i = 1, start = 1; i <= len; i++) {
    if (i == len || raw[i] == '/') {
      if (n == 8)
        return false;
      seg[n] = raw + start;
      segl[n++] = i - start;
      start = i + 1;
    }
  }
#define SEG(k, s) (segl[k] == strlen(s) && strncmp(seg[k], s, segl[k]) == 0)
  if (n < 5 || n > 7 || !SEG(0, "vcenter") || !SEG(1, "vm") ||
      !SEG(3, "guest") || !SEG(4, "filesystem"))
    return false;
  bool files = n >= 6 && SEG(5, "files");
  bool dirs = n == 6 && SEG(5, "directories");
#undef SEG
  const char *action = req_arg(r, "action");
  if (!req_is(r, "POST") || !action || (n >= 6 && !files && !dirs))
    return false;
  enum op op = OP_FILES;
  if (n == 5) {
    if (strcmp(action, "create") != 0)
      return false;
    op = OP_TRANSFER;
  } else if (n == 7) {
    if (strcmp(action, "get") != 0 && strcmp(action, "delete") != 0)
      return false;
  } else if (files) {
    if (strcmp(action, "createTemporary") != 0 && strcmp(action, "list") != 0 &&
        strcmp(action, "move") != 0 && strcmp(action, "update") != 0)
      return false;
  } else if (strcmp(action, "create") != 0 &&
             strcmp(action, "createTemporary") != 0 &&
             strcmp(action, "delete") != 0 && strcmp(action, "move") != 0) {
    return false;
  }
  if (!authed(sim, r, rp, d) || !begin(sim, rp, d, op))
    return true;
  char *vm = pct_decode(seg[2], segl[2]);
  char *path = n == 7 ? pct_decode(seg[6], segl[6]) : NULL;
  json_t *body = NULL;
  struct gauth a;
  if (!vm || (n == 7 && (!path || !gfs_path_ok(path, strlen(path))))) {
    invalid(rp, d,
            "Path parameter 'path' must be a percent-encoded absolute path, "
            "such as %2Ftmp%2Fout.txt.");
  } else if ((body = body_object(r, rp, d)) &&
             parse_credentials(rp, d, body, &a)) {
    if (n == 5)
      fs_transfer(sim, vm, body, rp, d, &a);
    else if (n == 7)
      fs_one(sim, vm, path, action, rp, d, &a);
    else if (strcmp(action, "createTemporary") == 0)
      fs_mktemp(sim, vm, body, rp, d, &a, dirs);
    else if (strcmp(action, "move") == 0)
      fs_move(sim, vm, body, rp, d, &a, dirs);
    else if (files && strcmp(action, "list") == 0)
      fs_list(sim, vm, body, rp, d, &a);
    else if (files)
      fs_update(sim, vm, body, rp, d, &a);
    else
      fs_dir(sim, vm, action, body, rp, d, &a);
  }
  json_decref(body);
  free(vm);
  free(path);
  return true;
}

/* GET …/guest/identity: Identity.Info as Tools report it; Tools must be
 * running (503 otherwise). */
static void identity(struct sim *sim, const char *vm, struct reply *rp,
                     const struct dialect *d) {
  struct gfault f = {0};
  struct gidentity g;
  if (!gop_identity(sim, vm, &g, &f)) {
    gerror(rp, d, &f);
    return;
  }
  const char *full = g.windows ? "Microsoft Windows 10 (64-bit)"
                               : "Other 5.x or later Linux (64-bit)";
  json_t *j =
      json_pack("{s:s,s:s,s:{s:s,s:s,s:[]},s:s}", "name",
                g.windows ? "WINDOWS_9_64" : "OTHER_5X_LINUX_64", "family",
                g.windows ? "WINDOWS" : "LINUX", "full_name", "id",
                g.windows ? "vmsg.guestos.windows9_64.label"
                          : "vmsg.guestos.other5xlinux_64.label",
                "default_message", full, "args", "host_name", g.host_name);
  if (g.ip_address[0]) /* the spec leaves it out when the guest has none */
    json_object_set_new(j, "ip_address", json_string(g.ip_address));
  ok(rp, d, 200, j);
}

/* Splits path ("/a/b/c") into at most max segments; returns the count or
 * max + 1 when there are more. */
static size_t split(char *path, char **seg, size_t max) {
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r(path, "/", &save); t;
       t = strtok_r(NULL, "/", &save)) {
    if (n == max)
      return max + 1;
    seg[n++] = t;
  }
  return n;
}

/* Routes under /vcenter/vm/{vm}/guest/…; false when no route matches. */
static bool guest(struct sim *sim, struct request *r, char **seg, size_t n,
                  struct reply *rp, const struct dialect *d) {
  const char *vm = seg[0], *what = seg[2];
  const char *action = req_arg(r, "action");
  enum op op;
  if (n == 3 && strcmp(what, "operations") == 0 && req_is(r, "GET")) {
    if (authed(sim, r, rp, d) && begin(sim, rp, d, OP_OPERATIONS))
      operations(sim, vm, rp, d);
    return true;
  }
  if (n == 3 && strcmp(what, "identity") == 0 && req_is(r, "GET")) {
    if (authed(sim, r, rp, d) && begin(sim, rp, d, OP_OPERATIONS))
      identity(sim, vm, rp, d);
    return true;
  }
  if (!req_is(r, "POST") || !action || n > 4)
    return false;
  bool procs = strcmp(what, "processes") == 0;
  bool env = strcmp(what, "environment") == 0;
  if (procs && n == 3 && strcmp(action, "create") == 0)
    op = OP_CREATE;
  else if (procs && n == 3 && strcmp(action, "list") == 0)
    op = OP_LIST;
  else if (procs && n == 4 && strcmp(action, "get") == 0)
    op = OP_GET;
  else if (procs && n == 4 && strcmp(action, "delete") == 0)
    op = OP_DELETE;
  else if (env && ((n == 3 && strcmp(action, "list") == 0) ||
                   (n == 4 && strcmp(action, "get") == 0)))
    op = OP_ENVIRONMENT;
  else
    return false;
  if (!authed(sim, r, rp, d) || !begin(sim, rp, d, op))
    return true;
  json_t *body = body_object(r, rp, d);
  if (!body)
    return true;
  if (op == OP_CREATE)
    proc_create(sim, vm, body, rp, d);
  else if (op == OP_LIST)
    proc_list(sim, vm, body, rp, d);
  else if (op == OP_GET || op == OP_DELETE)
    proc_one(sim, vm, seg[3], op, body, rp, d);
  else
    env_list(sim, vm, n == 4 ? seg[3] : NULL, body, rp, d);
  json_decref(body);
  return true;
}

/* Routes under /vcenter; false when no route matches. raw is the
 * undecoded path relative to the flavour's base, or NULL (/rest: it has no
 * guest filesystem). */
static bool vcenter(struct sim *sim, struct request *r, const char *path,
                    const char *raw, struct reply *rp,
                    const struct dialect *d) {
  if (raw && filesystem(sim, r, raw, rp, d))
    return true;
  char *copy = xstrdup(path), *seg[8];
  size_t n = split(copy, seg, 8);
  bool found = false;
  for (size_t k = 0; n == 2 && k < sizeof inv_kinds / sizeof *inv_kinds; k++) {
    if (strcmp(seg[0], "vcenter") == 0 &&
        strcmp(seg[1], inv_kinds[k].path) == 0 && req_is(r, "GET")) {
      found = true;
      if (authed(sim, r, rp, d) && begin(sim, rp, d, OP_VMS))
        inv_list(sim, r, rp, d, &inv_kinds[k]);
    }
  }
  if (n >= 2 && n <= 8 && strcmp(seg[0], "vcenter") == 0 &&
      strcmp(seg[1], "vm") == 0) {
    if (n == 2 && req_is(r, "GET")) {
      found = true;
      if (authed(sim, r, rp, d) && begin(sim, rp, d, OP_VMS))
        vm_list(sim, r, rp, d);
    } else if (n == 4 && strcmp(seg[3], "tools") == 0 && req_is(r, "GET")) {
      found = true;
      if (authed(sim, r, rp, d) && begin(sim, rp, d, OP_OPERATIONS))
        tools_info(sim, seg[2], rp, d);
    } else if (n >= 5 && strcmp(seg[3], "guest") == 0) {
      found = guest(sim, r, seg + 2, n - 2, rp, d);
    }
  }
  free(copy);
  return found;
}

void api_handle(struct sim *sim, struct request *r, const char *path,
                struct reply *rp) {
  const struct dialect *d = &API;
  if (strcmp(path, "/session") == 0) {
    if (req_is(r, "POST") && !req_arg(r, "action"))
      login(sim, r, rp, d);
    else if (req_is(r, "GET"))
      session_info(sim, r, rp, d);
    else if (req_is(r, "DELETE"))
      logout(sim, r, rp, d);
    else
      not_found_path(rp, d);
    return;
  }
  const char *raw = req_raw_uri(r);
  if (!vcenter(sim, r, path, strncmp(raw, "/api/", 5) == 0 ? raw + 4 : NULL, rp,
               d))
    not_found_path(rp, d);
}

void rest_handle(struct sim *sim, struct request *r, const char *path,
                 struct reply *rp) {
  const struct dialect *d = &REST;
  if (strcmp(path, "/com/vmware/cis/session") == 0) {
    const char *action = req_arg(r, "~action");
    if (req_is(r, "POST") && !action)
      login(sim, r, rp, d);
    else if (req_is(r, "POST") && strcmp(action, "get") == 0)
      session_info(sim, r, rp, d);
    else if (req_is(r, "DELETE") && !action)
      logout(sim, r, rp, d);
    else
      not_found_path(rp, d);
    return;
  }
  if (!vcenter(sim, r, path, NULL, rp, d))
    not_found_path(rp, d);
}
