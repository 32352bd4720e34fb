/* The vSphere Web Services API over JSON ("VI/JSON", vCenter 8.0U1+),
   NOTES §3: POST {base}/{MoType}/{moId}/{Method} with the named parameters
   as one object, `_typeName` on every object sent, faults as HTTP 500 with
   the fault's `_typeName`, the session token in the vmware-api-session-id
   header. Login reads the service content first (it names the managers and
   tells whether the release is served), then logs in, then looks up the
   guest process manager. VM lookup goes through a container view and the
   property collector. The release in use and the managed object ids live
   in the flavour's per-session state. */
#include "proto.h"

#include "inventory.h"
#include "json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Releases tried, in order, when the user named none: a server serves the
   releases up to its own, so the oldest JSON release (8.0U1) is the most
   widely served; later ones cover servers that dropped it. */
static const char *const releases[] = {"8.0.1.0", "8.0.2.0", "8.0.3.0",
                                       "9.0.0.0", NULL};

typedef struct state {
  char *release; /* in use, or being tried */
  int release_given;
  int release_try; /* index into releases */
  /* from the service content and the login */
  char *session_manager, *view_manager, *property_collector, *root_folder,
      *guest_ops_manager, *process_manager, *file_manager;
} state;

static void *state_new(const char *release) {
  state *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->release_given = release && *release;
  s->release = strdup(s->release_given ? release : releases[0]);
  if (!s->release) {
    free(s);
    return NULL;
  }
  return s;
}

static void state_free(void *p) {
  state *s = p;
  if (!s)
    return;
  free(s->release);
  free(s->session_manager);
  free(s->view_manager);
  free(s->property_collector);
  free(s->root_folder);
  free(s->guest_ops_manager);
  free(s->process_manager);
  free(s->file_manager);
  free(s);
}

static void login_failed(void *p) {
  state *s = p;
  if (s->release_given || s->release_try == 0)
    return;
  char *first = strdup(releases[0]); /* probe releases again next time */
  if (first) {
    free(s->release);
    s->release = first;
    s->release_try = 0;
  }
}

static int describe(void *p, vgi_buf *b) {
  state *s = p;
  if (s->release_given)
    return vgi_buf_printf(b, "vim25 (release %s)", s->release);
  return vgi_buf_printf(b, "vim25 (releases %s to %s)", releases[0],
                        s->release);
}

static const vgi_proc_names names = {
    "pid", "name", "owner", "cmdLine", "startTime", "endTime", "exitCode"};

static json_t *moref(const char *type, const char *value) {
  return json_pack("{s:s,s:s,s:s}", "_typeName", "ManagedObjectReference",
                   "type", type, "value", value ? value : "");
}

/* {base}/<type>/<moId>/<member>: the moId percent-encoded, as a path
   segment must be (a ContainerView id holds "[" and "]"). */
static char *path(const state *s, const char *type, const char *moid,
                  const char *member) {
  vgi_buf b = {0};
  char *out = NULL;
  if (vgi_buf_printf(&b, "/sdk/vim25/") == 0 &&
      vgi_buf_add_escaped(&b, s->release) == 0 &&
      vgi_buf_printf(&b, "/%s/", type) == 0 &&
      vgi_buf_add_escaped(&b, moid ? moid : "") == 0 &&
      vgi_buf_printf(&b, "/%s", member) == 0)
    out = vgi_buf_steal(&b);
  vgi_buf_zfree(&b);
  return out;
}

/* {"vm":MoRef,"auth":{...}<members of rest>}: the auth object is written
   by hand (it holds a secret), the rest through jansson. */
static int guest_body(vgi_buf *b, const vgi_call *c, json_t *rest) {
  const vg_credentials *cr = c->cred;
  json_t *vm = moref("VirtualMachine", c->vm);
  int saml = cr->saml_token != NULL;
  const vg_secret *sec = saml ? cr->saml_token : cr->password;
  int rc =
      vgi_buf_adds(b, "{\"vm\":") || vgi_buf_add_json(b, vm) ||
      vgi_buf_printf(b,
                     ",\"auth\":{\"_typeName\":\"%s\","
                     "\"interactiveSession\":%s,",
                     saml ? "SAMLTokenAuthentication"
                          : "NamePasswordAuthentication",
                     !saml && cr->interactive ? "true" : "false") ||
      vgi_buf_add_json_member(b, saml ? "token" : "password",
                              vg_secret_reveal(sec), vg_secret_len(sec)) ||
      (cr->user &&
       (vgi_buf_add(b, ",", 1) ||
        vgi_buf_add_json_member(b, "username", cr->user, strlen(cr->user)))) ||
      vgi_buf_add(b, "}", 1) || (rest && vgi_buf_add_json_members(b, rest)) ||
      vgi_buf_add(b, "}", 1);
  json_decref(vm);
  json_decref(rest);
  return rc ? -1 : 0;
}

static json_t *program_spec(const vgi_call *c) {
  json_t *a = c->args;
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

/* RetrievePropertiesEx of paths (a json array, taken) of every object of
   type in a view. */
static json_t *retrieve_spec(const char *view, const char *type,
                             json_t *paths) {
  return json_pack(
      "{s:[{s:s,s:[{s:s,s:s,s:o}],s:[{s:s,s:o,s:b,s:[{s:s,s:s,s:s,s:b}]}]"
      "}],s:{s:s}}",
      "specSet", "_typeName", "PropertyFilterSpec", "propSet", "_typeName",
      "PropertySpec", "type", type, "pathSet", paths, "objectSet", "_typeName",
      "ObjectSpec", "obj", moref("ContainerView", view), "skip", 1, "selectSet",
      "_typeName", "TraversalSpec", "type", "ContainerView", "path", "view",
      "skip", 0, "options", "_typeName", "RetrieveOptions");
}

static int streq0(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

/* What a guest info asks of a VM. */
static const char *const guest_paths[] = {
    "guest.toolsRunningStatus", "guest.guestOperationsReady",
    "guest.guestFamily",        "guest.ipAddress",
    "guest.hostName",           "runtime.host"};

/* The views a VM list or an inventory list goes through. A VM list
   filtered by containers looks into one view per container (its VMs, at
   any depth: "in" of the scratch notes which), then into the root
   folder's; an inventory list into the root folder's only. pass: the
   index of the view; passes: the containers [[type, id, kind]...]. */
static json_t *view_container(const state *s, const vgi_call *c) {
  json_t *passes = json_object_get(c->scratch, "passes");
  json_int_t i = json_integer_value(json_object_get(c->scratch, "pass"));
  json_t *p = json_array_get(passes, (size_t)i);
  if (p)
    return moref(json_string_value(json_array_get(p, 0)),
                 json_string_value(json_array_get(p, 1)));
  return moref("Folder", s->root_folder);
}

/* Folders are listed by their childType: VM folders only, as /api's
   type=VIRTUAL_MACHINE has them (a datacenter's "host" folder is not
   one). */
static int is_folder_kind(const vgi_inventory_kind *k) {
  return k != NULL && strcmp(k->vim_type, "Folder") == 0;
}

/* The type a view holds, and what is read of its objects. */
static const char *view_type(const vgi_call *c, json_t **paths) {
  if (c->kind == VGI_OP_INVENTORY) {
    const vgi_inventory_kind *k = vgi_inventory_kind_of(c->args);
    *paths = is_folder_kind(k) ? json_pack("[s,s]", "name", "childType")
                               : json_pack("[s]", "name");
    return k ? k->vim_type : "ManagedEntity";
  }
  *paths = json_pack("[s,s]", "name", "runtime.powerState");
  return "VirtualMachine";
}

/* The first notes of a VM list: the containers to look into. */
static json_t *vms_scratch(const vgi_call *c) {
  json_t *sc = json_pack("{s:[],s:i,s:{}}", "passes", "pass", 0, "in");
  size_t k, i;
  json_t *id;
  for (k = 0; sc && k < VGI_NINVENTORY_KINDS; k++) {
    json_array_foreach(json_object_get(c->args, vgi_inventory_kinds[k].filter),
                       i, id) {
      json_array_append_new(
          json_object_get(sc, "passes"),
          json_pack("[s,O,i]", vgi_inventory_kinds[k].vim_type, id, (int)k));
    }
  }
  return sc;
}

static const char *scratch_str(const vgi_call *c, const char *key) {
  return vgi_json_str(c->scratch, key);
}

static vg_status login_body(vgi_buf *b, const vgi_call *c) {
  return vgi_buf_adds(b, "{") ||
                 vgi_buf_add_json_member(b, "userName", c->user,
                                         strlen(c->user)) ||
                 vgi_buf_add(b, ",", 1) ||
                 vgi_buf_add_json_member(b, "password",
                                         vg_secret_reveal(c->password),
                                         vg_secret_len(c->password)) ||
                 vgi_buf_add(b, "}", 1)
             ? VG_ENOMEM
             : VG_OK;
}

/* ---- guest files (NOTES §3.3) ---------------------------------------- */

static int is_file_kind(vgi_op_kind k) {
  return k == VGI_OP_MKTEMP || k == VGI_OP_STAT || k == VGI_OP_LS ||
         k == VGI_OP_MKDIR || k == VGI_OP_REMOVE || k == VGI_OP_FROM_GUEST ||
         k == VGI_OP_TO_GUEST;
}

/* A regular expression matching exactly s (ListFilesInGuest's
   matchPattern is a Perl-compatible pattern). */
static int add_literal_pattern(vgi_buf *b, const char *s) {
  if (vgi_buf_add(b, "^", 1))
    return -1;
  for (; *s; s++) {
    if (strchr("\\^$.|?*+()[]{}", *s) && vgi_buf_add(b, "\\", 1))
      return -1;
    if (vgi_buf_add(b, s, 1))
      return -1;
  }
  return vgi_buf_add(b, "$", 1);
}

/* stat on vim25: the parent directory listed for exactly that name. */
static json_t *stat_args(const char *path) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  vgi_buf pat = {0};
  json_t *r = NULL;
  if (!slash || !slash[1])
    return NULL;
  char *dir =
      slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
  if (dir && add_literal_pattern(&pat, slash + 1) == 0)
    r = json_pack("{s:s,s:s,s:i}", "filePath", dir, "matchPattern", pat.data,
                  "maxResults", 2);
  free(dir);
  vgi_buf_zfree(&pat);
  return r;
}

static json_t *file_attributes(const json_t *a) {
  json_t *at = json_pack("{s:s}", "_typeName", "GuestPosixFileAttributes");
  if (json_is_integer(json_object_get(a, "mode")))
    json_object_set(at, "permissions", json_object_get(a, "mode"));
  if (json_is_integer(json_object_get(a, "owner")))
    json_object_set(at, "ownerId", json_object_get(a, "owner"));
  if (json_is_integer(json_object_get(a, "group")))
    json_object_set(at, "groupId", json_object_get(a, "group"));
  return at;
}

/* The path of a file call once the file manager is known; *rest gets the
   members beside vm and auth. */
static char *file_request(state *s, vgi_call *c, json_t **rest) {
  json_t *a = c->args;
  const char *file = vgi_json_str(a, "path");
  const char *method = NULL;
  switch (c->kind) {
  case VGI_OP_MKTEMP: {
    int dir = json_is_true(json_object_get(a, "directory"));
    method =
        dir ? "CreateTemporaryDirectoryInGuest" : "CreateTemporaryFileInGuest";
    *rest = json_pack("{s:O,s:O}", "prefix", json_object_get(a, "prefix"),
                      "suffix", json_object_get(a, "suffix"));
    if (*rest && json_is_string(json_object_get(a, "dir")))
      json_object_set(*rest, "directoryPath", json_object_get(a, "dir"));
    break;
  }
  case VGI_OP_STAT:
    method = "ListFilesInGuest";
    *rest = stat_args(file);
    break;
  case VGI_OP_LS:
    method = "ListFilesInGuest";
    *rest = json_pack("{s:s,s:I,s:i}", "filePath", file, "index",
                      json_integer_value(json_object_get(c->scratch, "index")),
                      "maxResults", 200);
    break;
  case VGI_OP_MKDIR:
    method = "MakeDirectoryInGuest";
    *rest =
        json_pack("{s:s,s:b}", "directoryPath", file, "createParentDirectories",
                  json_is_true(json_object_get(a, "parents")));
    break;
  case VGI_OP_REMOVE:
    if (json_is_true(json_object_get(a, "directory"))) {
      method = "DeleteDirectoryInGuest";
      *rest = json_pack("{s:s,s:b}", "directoryPath", file, "recursive",
                        json_is_true(json_object_get(a, "recursive")));
    } else {
      method = "DeleteFileInGuest";
      *rest = json_pack("{s:s}", "filePath", file);
    }
    break;
  case VGI_OP_FROM_GUEST:
    method = "InitiateFileTransferFromGuest";
    *rest = json_pack("{s:s}", "guestFilePath", file);
    break;
  case VGI_OP_TO_GUEST:
    method = "InitiateFileTransferToGuest";
    *rest =
        json_pack("{s:s,s:o,s:I,s:b}", "guestFilePath", file, "fileAttributes",
                  file_attributes(a), "fileSize",
                  json_integer_value(json_object_get(a, "size")), "overwrite",
                  json_is_true(json_object_get(a, "overwrite")));
    break;
  default:
    return NULL;
  }
  if (!*rest)
    return NULL;
  return path(s, "GuestFileManager", s->file_manager, method);
}

static vg_status build(void *p, vgi_call *c, vgi_request *req, vgi_error *err) {
  state *s = p;
  json_t *body = NULL, *rest = NULL;
  int guest = 0;
  req->method = "POST";
  switch (c->kind) {
  case VGI_OP_LOGIN:
    req->no_token = 1;
    if (c->step == 0) {
      req->method = "GET";
      req->path = path(s, "ServiceInstance", "ServiceInstance", "content");
    } else if (c->step == 1) {
      req->path = path(s, "SessionManager", s->session_manager, "Login");
      if (login_body(&req->body, c) != VG_OK)
        return VG_ENOMEM;
    } else {
      req->no_token = 0;
      req->method = "GET";
      req->path = path(s, "GuestOperationsManager", s->guest_ops_manager,
                       "processManager");
    }
    break;
  case VGI_OP_LOGOUT:
    req->path = path(s, "SessionManager", s->session_manager, "Logout");
    break;
  case VGI_OP_VMS:
  case VGI_OP_INVENTORY:
    if (!c->scratch) {
      c->scratch = c->kind == VGI_OP_VMS
                       ? vms_scratch(c)
                       : json_pack("{s:[],s:i}", "passes", "pass", 0);
      if (!c->scratch)
        return VG_ENOMEM;
    }
    if (c->step == 0) {
      json_t *paths;
      const char *type = view_type(c, &paths);
      json_decref(paths);
      req->path =
          path(s, "ViewManager", s->view_manager, "CreateContainerView");
      json_t *container = view_container(s, c);
      /* a folder's VMs are those directly in it, as the vAPI's VM filter
         has them (sim/README.md "Inventory tree"); any other container's
         at any depth */
      int recursive =
          c->kind != VGI_OP_VMS ||
          !streq0(vgi_json_str(container, "type"), "Folder") ||
          !json_array_size(json_object_get(c->scratch, "passes")) ||
          (size_t)json_integer_value(json_object_get(c->scratch, "pass")) >=
              json_array_size(json_object_get(c->scratch, "passes"));
      body = json_pack("{s:o,s:[s],s:b}", "container", container, "type", type,
                       "recursive", recursive);
    } else if (c->step == 1) {
      json_t *paths;
      const char *type = view_type(c, &paths);
      req->path = path(s, "PropertyCollector", s->property_collector,
                       "RetrievePropertiesEx");
      body = retrieve_spec(scratch_str(c, "view"), type, paths);
    } else if (c->step == 2) {
      req->path = path(s, "PropertyCollector", s->property_collector,
                       "ContinueRetrievePropertiesEx");
      body = json_pack("{s:s}", "token", scratch_str(c, "token"));
    } else {
      req->path =
          path(s, "ContainerView", scratch_str(c, "view"), "DestroyView");
    }
    break;
  case VGI_OP_CREATE:
    req->path = path(s, "GuestProcessManager", s->process_manager,
                     "StartProgramInGuest");
    guest = 1;
    rest = json_pack("{s:o}", "spec", program_spec(c));
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST:
    req->path = path(s, "GuestProcessManager", s->process_manager,
                     "ListProcessesInGuest");
    guest = 1;
    if (c->kind == VGI_OP_GET)
      rest = json_pack("{s:[I]}", "pids", (json_int_t)c->pid);
    else if (json_object_get(c->args, "pids"))
      rest = json_pack("{s:O}", "pids", json_object_get(c->args, "pids"));
    break;
  case VGI_OP_DELETE:
    req->path = path(s, "GuestProcessManager", s->process_manager,
                     "TerminateProcessInGuest");
    guest = 1;
    rest = json_pack("{s:I}", "pid", (json_int_t)c->pid);
    break;
  case VGI_OP_ENV:
    req->path = path(s, "GuestProcessManager", s->process_manager,
                     "ReadEnvironmentVariableInGuest");
    guest = 1;
    if (json_array_size(json_object_get(c->args, "names")))
      rest = json_pack("{s:O}", "names", json_object_get(c->args, "names"));
    break;
  case VGI_OP_FAMILY:
  case VGI_OP_GUEST_INFO: {
    json_t *paths = json_array();
    size_t i;
    if (c->kind == VGI_OP_FAMILY)
      json_array_append_new(paths, json_string("guest.guestFamily"));
    else
      for (i = 0; i < sizeof guest_paths / sizeof guest_paths[0]; i++)
        json_array_append_new(paths, json_string(guest_paths[i]));
    req->path = path(s, "PropertyCollector", s->property_collector,
                     "RetrievePropertiesEx");
    body = json_pack("{s:[{s:s,s:[{s:s,s:s,s:o}],s:[{s:s,s:o,s:b}]}],s:{s:s}}",
                     "specSet", "_typeName", "PropertyFilterSpec", "propSet",
                     "_typeName", "PropertySpec", "type", "VirtualMachine",
                     "pathSet", paths, "objectSet", "_typeName", "ObjectSpec",
                     "obj", moref("VirtualMachine", c->vm), "skip", 0,
                     "options", "_typeName", "RetrieveOptions");
    break;
  }
  default:
    if (is_file_kind(c->kind)) {
      if (c->step == 0 && s->file_manager)
        c->step = 1; /* known from an earlier call */
      if (c->step == 0) {
        req->method = "GET";
        req->path = path(s, "GuestOperationsManager", s->guest_ops_manager,
                         "fileManager");
      } else {
        req->path = file_request(s, c, &rest);
        guest = 1;
        if (!req->path) {
          json_decref(rest);
          rest = NULL;
          if (c->kind == VGI_OP_STAT) {
            vgi_error_set(err, VG_EINVALID,
                          "stat needs an absolute path "
                          "below a directory");
            return VG_EINVALID;
          }
          return VG_ENOMEM;
        }
      }
      break;
    }
    vgi_error_set(err, VG_EUNSUPPORTED, "the vim25 API has no %s operation",
                  vgi_op_kind_name(c->kind));
    return VG_EUNSUPPORTED;
  }
  if (guest) {
    if (guest_body(&req->body, c, rest))
      return VG_ENOMEM;
  } else if (body) {
    int rc = vgi_buf_add_json(&req->body, body);
    json_decref(body);
    if (rc)
      return VG_ENOMEM;
  }
  return req->path ? VG_OK : VG_ENOMEM;
}

static vg_status unfit(vgi_error *err, const char *what) {
  vgi_error_set(err, VG_EPROTOCOL, "%s answer does not fit the API", what);
  return VG_EPROTOCOL;
}

static int set_str(char **slot, const char *v) {
  free(*slot);
  *slot = vgi_strdup0(v);
  return *slot != NULL;
}

static const char *moid(json_t *c, const char *key) {
  return vgi_json_str(json_object_get(c, key), "value");
}

static vg_status parse_content(state *s, json_t *c, vgi_result *res,
                               vgi_error *err) {
  json_t *about = json_object_get(c, "about");
  const char *rel = vgi_json_str(about, "apiVersion");
  set_str(&res->server_release, rel ? rel : vgi_json_str(about, "version"));
  if (!set_str(&s->session_manager, moid(c, "sessionManager")) ||
      !set_str(&s->view_manager, moid(c, "viewManager")) ||
      !set_str(&s->property_collector, moid(c, "propertyCollector")) ||
      !set_str(&s->root_folder, moid(c, "rootFolder")))
    return unfit(err, "service content");
  if (!set_str(&s->guest_ops_manager, moid(c, "guestOperationsManager"))) {
    vgi_error_set(err, VG_EUNSUPPORTED,
                  "the server has no guest operations "
                  "manager");
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

/* The value of a property of an object of a RetrieveResult (a string,
   or the _value of an Any), or NULL. */
static json_t *prop_raw(json_t *o, const char *name) {
  size_t k;
  json_t *p;
  json_array_foreach(json_object_get(o, "propSet"), k, p) {
    const char *pn = vgi_json_str(p, "name");
    if (pn && strcmp(pn, name) == 0)
      return json_object_get(p, "val");
  }
  return NULL;
}

static json_t *prop_val(json_t *o, const char *name) {
  json_t *val = prop_raw(o, name);
  return json_is_object(val) ? json_object_get(val, "_value") : val;
}

/* The view of a container pass: note which VMs it holds, under their
   kind ("in": {kind: {id: true}}). The root pass adds them (below). */
static vg_status note_members(vgi_call *c, json_t *objects, vgi_error *err) {
  json_t *passes = json_object_get(c->scratch, "passes");
  json_int_t pass = json_integer_value(json_object_get(c->scratch, "pass"));
  json_t *p = json_array_get(passes, (size_t)pass);
  const char *kind =
      vgi_inventory_kinds[json_integer_value(json_array_get(p, 2)) %
                          VGI_NINVENTORY_KINDS]
          .name;
  json_t *in = json_object_get(c->scratch, "in"), *set, *o;
  size_t i;
  if (!(set = json_object_get(in, kind))) {
    set = json_object();
    if (json_object_set_new(in, kind, set))
      return VG_ENOMEM;
  }
  json_array_foreach(objects, i, o) {
    const char *id = vgi_json_str(json_object_get(o, "obj"), "value");
    if (!id)
      return unfit(err, "RetrievePropertiesEx");
    if (json_object_set_new(set, id, json_true()))
      return VG_ENOMEM;
  }
  return VG_OK;
}

/* Does a folder's childType (ArrayOfString: "Folder", "VirtualMachine",
   "VirtualApp" for a VM folder, pyvmomi docs/vim/Folder.rst) say it holds
   VMs? 1 yes, 0 no, -1 not an array of strings. A folder without the
   property is kept: it is what the server did not say. */
static int holds_vms(json_t *o) {
  json_t *types, *t;
  size_t i;
  int vms = 0;
  if (!prop_raw(o, "childType"))
    return 1;
  types = prop_val(o, "childType");
  if (!json_is_array(types))
    return -1;
  json_array_foreach(types, i, t) {
    if (!json_is_string(t))
      return -1;
    vms = vms || strcmp(json_string_value(t), "VirtualMachine") == 0;
  }
  return vms;
}

/* Adds the objects of an inventory view, filtered by name (and folders
   by what they hold). */
static vg_status add_inventory(vgi_call *c, json_t *objects, vgi_result *out,
                               vgi_error *err) {
  int folders = is_folder_kind(vgi_inventory_kind_of(c->args));
  size_t i;
  json_t *o;
  json_array_foreach(objects, i, o) {
    const char *id = vgi_json_str(json_object_get(o, "obj"), "value");
    const char *name = json_string_value(prop_val(o, "name"));
    int vms = folders ? holds_vms(o) : 1;
    if (!id || !name || vms < 0)
      return unfit(err, "RetrievePropertiesEx");
    if (!vms || !wanted(json_object_get(c->args, "names"), name))
      continue;
    if (vgi_result_add_object(out, id, name))
      return VG_ENOMEM;
  }
  return VG_OK;
}

/* Is vm in a container of every kind the filter names? */
static int in_containers(void *ud, const vg_vm_info *vm) {
  json_t *in = ud, *set;
  const char *kind;
  json_object_foreach(in, kind, set) {
    if (!json_object_get(set, vm->id))
      return 0;
  }
  return 1;
}

/* Adds the VMs of one RetrieveResult to the result, filtered. */
static vg_status add_objects(vgi_call *c, json_t *res, vgi_result *out,
                             vgi_error *err) {
  const char *ps_want = vgi_json_str(c->args, "power_state");
  size_t i, k;
  json_t *o, *p;
  json_t *objects = json_object_get(res, "objects");
  /* null (nothing matched) is an answer; anything else must be a
     RetrieveResult with an array of objects */
  if (!json_is_null(res) &&
      (!json_is_object(res) || (objects && !json_is_array(objects))))
    return unfit(err, "RetrievePropertiesEx");
  json_t *passes = json_object_get(c->scratch, "passes");
  json_int_t pass = json_integer_value(json_object_get(c->scratch, "pass"));
  vg_status st = VG_OK;
  if (c->kind == VGI_OP_INVENTORY)
    st = add_inventory(c, objects, out, err);
  else if ((size_t)pass < json_array_size(passes))
    st = note_members(c, objects, err);
  if (c->kind == VGI_OP_INVENTORY || (size_t)pass < json_array_size(passes))
    objects = NULL;
  if (st != VG_OK)
    return st;
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
      return unfit(err, "RetrievePropertiesEx");
    if (!wanted(json_object_get(c->args, "names"), name) ||
        !wanted(json_object_get(c->args, "ids"), id) ||
        (ps_want && strcmp(ps_want, ps) != 0))
      continue;
    if (vgi_result_add_vm(out, id, name, ps))
      return VG_ENOMEM;
  }
  const char *token = vgi_json_str(res, "token");
  json_object_set_new(c->scratch, "token",
                      token ? json_string(token) : json_null());
  return VG_OK;
}

static vg_status parse_vms(vgi_call *c, json_t *j, vgi_result *res,
                           vgi_error *err) {
  switch (c->step) {
  case 0: {
    const char *view = vgi_json_str(j, "value");
    if (!view)
      return unfit(err, "CreateContainerView");
    if (json_object_set_new(c->scratch, "view", json_string(view)))
      return VG_ENOMEM;
    c->step = 1;
    return VG_EPENDING;
  }
  case 1:
  case 2: {
    vg_status st = add_objects(c, j, res, err);
    if (st != VG_OK)
      return st;
    c->step = scratch_str(c, "token") ? 2 : 3;
    return VG_EPENDING;
  }
  default: { /* the view is destroyed: the next one, or the end */
    json_t *passes = json_object_get(c->scratch, "passes");
    json_int_t pass = json_integer_value(json_object_get(c->scratch, "pass"));
    if ((size_t)pass < json_array_size(passes)) {
      json_object_set_new(c->scratch, "pass", json_integer(pass + 1));
      c->step = 0;
      return VG_EPENDING;
    }
    if (c->kind == VGI_OP_VMS)
      vgi_result_keep_vms(res, in_containers,
                          json_object_get(c->scratch, "in"));
    return VG_OK;
  }
  }
}

static const char *vim_file_type(const char *t) {
  if (!t)
    return NULL;
  if (strcmp(t, "file") == 0)
    return "file";
  if (strcmp(t, "directory") == 0)
    return "directory";
  if (strcmp(t, "symlink") == 0)
    return "symlink";
  return NULL;
}

/* GuestFileInfo {path, type, size, attributes{modificationTime,
   symlinkTarget, permissions, ownerId, groupId}}; "." and ".." are left
   out of listings. 1 added, 0 skipped, -1 does not fit. */
static int add_guest_file(vgi_result *res, json_t *o, const char *name) {
  vg_file_info fi;
  memset(&fi, 0, sizeof fi);
  const char *p = vgi_json_str(o, "path");
  json_t *size = json_object_get(o, "size");
  fi.type = vim_file_type(vgi_json_str(o, "type"));
  if (!p || !fi.type || !json_is_integer(size))
    return -1;
  if (!name && (strcmp(p, ".") == 0 || strcmp(p, "..") == 0))
    return 0;
  fi.name = name ? name : p;
  fi.size = (int64_t)json_integer_value(size);
  fi.owner = fi.group = -1;
  json_t *at = json_object_get(o, "attributes");
  json_t *perm = json_object_get(at, "permissions");
  if (json_is_integer(perm)) {
    fi.has_mode = 1;
    fi.mode = (unsigned)(json_integer_value(perm) & 07777);
  }
  if (json_is_integer(json_object_get(at, "ownerId")))
    fi.owner = json_integer_value(json_object_get(at, "ownerId"));
  if (json_is_integer(json_object_get(at, "groupId")))
    fi.group = json_integer_value(json_object_get(at, "groupId"));
  fi.modified = vgi_json_str(at, "modificationTime");
  fi.symlink_target = vgi_json_str(at, "symlinkTarget");
  return vgi_result_add_file(res, &fi) ? -1 : 1;
}

static vg_status parse_files(state *s, vgi_call *c, json_t *j, vgi_result *res,
                             vgi_error *err) {
  if (c->step == 0) {
    if (!set_str(&s->file_manager, vgi_json_str(j, "value")))
      return unfit(err, "fileManager");
    c->step = 1;
    return VG_EPENDING;
  }
  switch (c->kind) {
  case VGI_OP_MKTEMP:
  case VGI_OP_TO_GUEST:
    if (!json_is_string(j) || !json_string_length(j))
      return unfit(err, vgi_op_kind_name(c->kind));
    res->size = -1;
    return vgi_result_set_path(res, json_string_value(j)) ? VG_ENOMEM : VG_OK;
  case VGI_OP_FROM_GUEST: {
    const char *url = vgi_json_str(j, "url");
    json_t *size = json_object_get(j, "size");
    if (!url || !*url || (size && !json_is_integer(size)))
      return unfit(err, "InitiateFileTransferFromGuest");
    res->size = size ? (int64_t)json_integer_value(size) : -1;
    return vgi_result_set_path(res, url) ? VG_ENOMEM : VG_OK;
  }
  case VGI_OP_STAT:
  case VGI_OP_LS: {
    json_t *files = json_object_get(j, "files"), *f;
    json_t *remaining = json_object_get(j, "remaining");
    size_t i;
    if (!json_is_null(j) &&
        (!json_is_object(j) || (files && !json_is_array(files)) ||
         (remaining && !json_is_integer(remaining))))
      return unfit(err, "ListFilesInGuest");
    const char *path = vgi_json_str(c->args, "path");
    json_array_foreach(files, i, f) {
      if (add_guest_file(res, f, c->kind == VGI_OP_STAT ? path : NULL) < 0)
        return unfit(err, "ListFilesInGuest");
    }
    if (c->kind == VGI_OP_STAT) {
      if (res->nfiles != 1) {
        vgi_error_set(err, VG_ENOTFOUND, "%s: no such file or directory", path);
        vgi_error_set_fault(err, "FileNotFound");
        return VG_ENOTFOUND;
      }
      return VG_OK;
    }
    if (json_integer_value(remaining) > 0 && json_array_size(files)) {
      if (!c->scratch)
        c->scratch = json_object();
      json_t *before = json_object_get(c->scratch, "remaining");
      if ((before &&
           json_integer_value(remaining) >= json_integer_value(before)) ||
          c->step + 1 >= VGI_MAX_LISTING_PAGES) {
        vgi_error_set(err, VG_EPROTOCOL,
                      "ListFilesInGuest: the listing does not end (page %d "
                      "leaves %lld entries to come)",
                      c->step + 1, (long long)json_integer_value(remaining));
        return VG_EPROTOCOL;
      }
      json_object_set(c->scratch, "remaining", remaining);
      json_int_t at = json_integer_value(json_object_get(c->scratch, "index"));
      json_object_set_new(
          c->scratch, "index",
          json_integer(at + (json_int_t)json_array_size(files)));
      c->step++;
      return VG_EPENDING;
    }
    return VG_OK;
  }
  default:
    return unfit(err, vgi_op_kind_name(c->kind));
  }
}

static vg_status parse_family(json_t *j, vgi_result *res, vgi_error *err) {
  json_t *o = json_array_get(json_object_get(j, "objects"), 0), *p;
  size_t i;
  if (!json_is_null(j) && !json_is_object(j))
    return unfit(err, "RetrievePropertiesEx");
  res->os = VG_OS_POSIX;
  json_array_foreach(json_object_get(o, "propSet"), i, p) {
    json_t *val = json_object_get(p, "val");
    const char *v = json_is_string(val) ? json_string_value(val)
                                        : vgi_json_str(val, "_value");
    if (v && strcmp(v, "windowsGuest") == 0)
      res->os = VG_OS_WINDOWS;
  }
  return VG_OK;
}

/* The guest properties of one VM (guest_paths). */
static vg_status parse_guest_info(json_t *j, vgi_result *res, vgi_error *err) {
  json_t *o = json_array_get(json_object_get(j, "objects"), 0);
  vg_guest_info g = {0};
  if (!json_is_null(j) && !json_is_object(j))
    return unfit(err, "RetrievePropertiesEx");
  const char *ts = json_string_value(prop_val(o, "guest.toolsRunningStatus"));
  const char *fam = json_string_value(prop_val(o, "guest.guestFamily"));
  /* a MoRef: {"_typeName":"ManagedObjectReference","type":"HostSystem",
     "value":"host-11"} */
  json_t *host = prop_raw(o, "runtime.host");
  g.tools = !ts                                             ? "not_running"
            : strcmp(ts, "guestToolsRunning") == 0          ? "running"
            : strcmp(ts, "guestToolsExecutingScripts") == 0 ? "starting"
                                                            : "not_running";
  g.ops_ready = json_is_true(prop_val(o, "guest.guestOperationsReady"));
  g.family = !fam                               ? NULL
             : strcmp(fam, "linuxGuest") == 0   ? "LINUX"
             : strcmp(fam, "windowsGuest") == 0 ? "WINDOWS"
                                                : "OTHER";
  g.ip_address = json_string_value(prop_val(o, "guest.ipAddress"));
  g.host_name = json_string_value(prop_val(o, "guest.hostName"));
  g.host = vgi_json_str(host, "value");
  return vgi_result_set_guest(res, &g) ? VG_ENOMEM : VG_OK;
}

static vg_status parse(void *p, vgi_call *c, const vgi_answer *a,
                       vgi_result *res, vgi_error *err) {
  state *s = p;
  int empty = a->status == 204 || a->len == 0;
  if (c->kind == VGI_OP_LOGOUT || c->kind == VGI_OP_DELETE ||
      ((c->kind == VGI_OP_MKDIR || c->kind == VGI_OP_REMOVE) && c->step > 0))
    return VG_OK;
  if (c->kind == VGI_OP_LOGIN && c->step == 1) {
    if (!a->token || !*a->token) {
      vgi_error_set(err, VG_EPROTOCOL,
                    "Login answered without a vmware-api-session-id header");
      return VG_EPROTOCOL;
    }
    vg_status st = vgi_result_set_token(res, a->token, strlen(a->token));
    if (st == VG_EPROTOCOL)
      vgi_error_set(err, st,
                    "Login answered with a session token that is "
                    "not one (control characters, spaces or over "
                    "4096 bytes)");
    if (st != VG_OK)
      return st;
    c->step = 2;
    return VG_EPENDING;
  }
  if ((c->kind == VGI_OP_VMS || c->kind == VGI_OP_INVENTORY) && c->step == 3)
    return parse_vms(c, NULL, res, err);
  json_t *j = empty ? json_null()
                    : vgi_json_parse_answer(a->body, a->len, a->status,
                                            vgi_op_kind_name(c->kind), err);
  if (!j)
    return VG_EPROTOCOL;
  vg_status st = VG_OK;
  switch (c->kind) {
  case VGI_OP_LOGIN:
    if (c->step == 0) {
      st = parse_content(s, j, res, err);
      c->step = 1;
      if (st == VG_OK)
        st = VG_EPENDING;
    } else if (!set_str(&s->process_manager, vgi_json_str(j, "value")))
      st = unfit(err, "processManager");
    break;
  case VGI_OP_VMS:
  case VGI_OP_INVENTORY:
    st = parse_vms(c, j, res, err);
    break;
  case VGI_OP_GUEST_INFO:
    st = parse_guest_info(j, res, err);
    break;
  case VGI_OP_CREATE:
    if (vgi_result_set_pid(res, j) != VG_OK)
      st = unfit(err, "StartProgramInGuest (a pid > 0)");
    break;
  case VGI_OP_GET:
  case VGI_OP_LIST: {
    json_t *arr = json_is_null(j) ? json_array() : json_incref(j);
    if (!json_is_array(arr) || vgi_result_add_processes(res, arr, &names, 0))
      st = unfit(err, "ListProcessesInGuest");
    else if (c->kind == VGI_OP_GET && res->nprocs != 1) {
      vgi_error_set(err, VG_ENOTFOUND, "process %lld not found",
                    (long long)c->pid);
      vgi_error_set_fault(err, "GuestProcessNotFound");
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
      st = unfit(err, "ReadEnvironmentVariableInGuest");
      break;
    }
    json_array_foreach(j, i, e) {
      const char *kv = json_string_value(e), *eq = kv ? strchr(kv, '=') : NULL;
      if (!eq) {
        st = unfit(err, "ReadEnvironmentVariableInGuest");
        break;
      }
      if (vgi_result_add_env(res, kv, (size_t)(eq - kv), eq + 1)) {
        st = VG_ENOMEM;
        break;
      }
    }
    break;
  }
  case VGI_OP_FAMILY:
    st = parse_family(j, res, err);
    break;
  default:
    st = is_file_kind(c->kind) ? parse_files(s, c, j, res, err)
                               : unfit(err, vgi_op_kind_name(c->kind));
  }
  json_decref(j);
  return st;
}

static vg_status error(void *p, const vgi_call *c, const vgi_answer *a,
                       vgi_error *err) {
  (void)p;
  (void)c;
  json_t *j = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
  const char *fault = vgi_json_str(j, "_typeName");
  const char *auth_kind = NULL;
  vg_status st = fault ? vgi_vim_fault_status(fault, &auth_kind)
                       : vgi_http_status_fallback(a->status);
  const char *msg = vgi_json_str(j, "faultstring");
  if (!msg)
    msg = vgi_json_str(json_array_get(json_object_get(j, "faultMessage"), 0),
                       "message");
  const char *vmstate = vgi_json_str(j, "existingState");
  if (msg && *msg)
    vgi_error_set(err, st, "%s", msg);
  else if (fault && vmstate)
    vgi_error_set(err, st, "%s (the VM is %s)", fault, vmstate);
  else if (fault)
    vgi_error_set(err, st, "%s", fault);
  else
    vgi_error_set(err, st, "HTTP %ld from the server", a->status);
  vgi_error_set_fault(err, fault);
  vgi_error_set_message_id(err, NULL);
  err->pub.http_status = (int)a->status;
  err->pub.auth = auth_kind;
  json_decref(j);
  return st;
}

static int session_rejected(void *p, const vgi_call *c, const vgi_answer *a) {
  (void)p;
  (void)c;
  if (a->status == 401)
    return 1;
  json_t *j = json_loadb(a->body, a->len, JSON_DECODE_ANY, NULL);
  const char *fault = vgi_json_str(j, "_typeName");
  int rej = fault && strcmp(fault, "NotAuthenticated") == 0;
  json_decref(j);
  return rej;
}

static int not_served(void *p, const vgi_call *c, const vgi_answer *a) {
  state *s = p;
  /* The service content needs no login: any refusal of it means the
     release (or VI/JSON) is not served here. */
  if (c->step != 0 ||
      (a->status != 404 && a->status != 405 && a->status != 501 &&
       a->status != 401 && a->status != 403))
    return 0;
  if (s->release_given || !releases[s->release_try + 1])
    return 1;
  char *next = strdup(releases[s->release_try + 1]);
  if (!next)
    return 1;
  s->release_try++;
  free(s->release);
  s->release = next;
  return -1;
}

const vgi_proto vgi_proto_vim25 = {
    .name = "vim25",
    .list_has_exit_codes = 1,
    .state_new = state_new,
    .state_free = state_free,
    .build = build,
    .parse = parse,
    .error = error,
    .session_rejected = session_rejected,
    .not_served = not_served,
    .login_failed = login_failed,
    .describe = describe,
};
