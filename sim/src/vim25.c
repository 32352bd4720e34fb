/* The VI/JSON flavour (NOTES §3): POST {base}/{MoType}/{moId}/{Method},
 * GET {base}/{MoType}/{moId}/{property}, with base /sdk/vim25/{release}.
 * Results are bare JSON values, void methods answer 204, faults are HTTP
 * 500 with {"_typeName":<fault>, fields…, "faultstring":…}. */
#include "vim25.h"
#include "guestfs.h"
#include "guestops.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
  struct sim *sim;
  struct request *r;
  struct reply *rp;
  const char *release;
  const char *type, *moid;
  json_t *body; /* an object; {} when the request had no body */
};

/* ---- replies ----------------------------------------------------------- */

static json_t *moref(const char *type, const char *value) {
  return json_pack("{s:s,s:s,s:s}", "_typeName", "ManagedObjectReference",
                   "type", type, "value", value);
}

static void result(struct ctx *c, json_t *j) {
  reply_json(c->rp, 200, j);
}

static void no_content(struct ctx *c) {
  reply_empty(c->rp, 204);
  c->rp->content_type = "application/json";
}

/* Sends fault type with fields (stolen, may be NULL) and HTTP status. */
static void fault_status(struct ctx *c, unsigned status, const char *type,
                         const char *message, json_t *fields) {
  json_t *j = json_pack("{s:s}", "_typeName", type);
  if (fields)
    json_object_update(j, fields);
  json_decref(fields);
  json_object_set_new(j, "faultstring", json_string(message));
  reply_json(c->rp, status, j);
}

/* A method fault: HTTP 500. */
static void fault(struct ctx *c, const char *type, const char *message,
                  json_t *fields) {
  fault_status(c, 500, type, message, fields);
}

static void invalid(struct ctx *c, const char *property) {
  char m[256];
  snprintf(m, sizeof m, "A specified parameter was not correct: %.200s",
           property);
  fault(c, "InvalidArgument", m,
        json_pack("{s:s}", "invalidProperty", property));
}

static void not_authenticated(struct ctx *c) {
  fault(c, "NotAuthenticated", "The session is not authenticated.",
        json_pack("{s:o,s:s}", "object", moref(c->type, c->moid), "privilegeId",
                  "System.View"));
}

static void object_not_found(struct ctx *c, const char *type,
                             const char *value) {
  char m[256];
  snprintf(m, sizeof m,
           "The object '%s:%s' has already been deleted or has "
           "not been completely created",
           type, value);
  fault(c, "ManagedObjectNotFound", m,
        json_pack("{s:o}", "obj", moref(type, value)));
}

static const char *vim_power(enum power_state ps) {
  return ps == PS_POWERED_ON    ? "poweredOn"
         : ps == PS_POWERED_OFF ? "poweredOff"
                                : "suspended";
}

/* A FileFault subtype with its file. */
static void file_fault(struct ctx *c, const char *type, const char *fmt,
                       const struct gfault *f) {
  char m[4400];
  snprintf(m, sizeof m, fmt, f->text);
  fault(c, type, m, json_pack("{s:s}", "file", f->text));
}

static void gfault_reply(struct ctx *c, const struct gfault *f) {
  char m[4400];
  switch (f->kind) {
  case GF_INVALID_ARGUMENT:
    invalid(c, f->text);
    break;
  case GF_VM_NOT_FOUND:
    object_not_found(c, "VirtualMachine", f->vm);
    break;
  case GF_NOT_POWERED_ON:
    snprintf(m, sizeof m,
             "The attempted operation cannot be performed in the current "
             "state (%s).",
             vim_power(f->power));
    fault(c, "InvalidPowerState", m,
          json_pack("{s:s,s:s}", "requestedState", "poweredOn", "existingState",
                    vim_power(f->power)));
    break;
  case GF_TOOLS_NOT_RUNNING:
    fault(c, "GuestOperationsUnavailable",
          "The guest operations agent could not be contacted.", NULL);
    break;
  case GF_NO_INTERACTIVE:
    fault(c, "InvalidState",
          "The operation is not allowed in the current state: no "
          "interactive session.",
          NULL);
    break;
  case GF_GUEST_LOGIN:
    fault(c, "InvalidGuestLogin",
          "Failed to authenticate with the guest operating system using the "
          "supplied credentials.",
          NULL);
    break;
  case GF_FILE_NOT_FOUND:
  case GF_NOT_A_DIRECTORY: {
    bool nf = f->kind == GF_FILE_NOT_FOUND;
    snprintf(m, sizeof m,
             nf ? "File %s was not found" : "%s is not a directory", f->text);
    fault(c, nf ? "FileNotFound" : "NotADirectory", m,
          json_pack("{s:s}", "file", f->text));
    break;
  }
  case GF_NOT_A_FILE:
    file_fault(c, "NotAFile", "%s is not a file", f);
    break;
  case GF_FILE_EXISTS:
    file_fault(c, "FileAlreadyExists", "File %s already exists", f);
    break;
  case GF_DIR_NOT_EMPTY:
    file_fault(c, "DirectoryNotEmpty", "Directory %s is not empty", f);
    break;
  case GF_CANNOT_ACCESS:
    file_fault(c, "CannotAccessFile", "Cannot access file %s", f);
    break;
  case GF_PATH_TOO_LONG:
    file_fault(c, "FileNameTooLong", "File name %s is too long", f);
    break;
  case GF_NO_SPACE:
    file_fault(c, "FileFault", "No space left in the guest for %s", f);
    break;
  case GF_FS_ERROR:
    snprintf(m, sizeof m, "Error caused by file %s: %s", f->text, f->detail);
    fault(c, "FileFault", m, json_pack("{s:s}", "file", f->text));
    break;
  case GF_PERMISSION:
    fault(c, "GuestPermissionDenied",
          "Insufficient permissions in guest operating system.", NULL);
    break;
  case GF_PID_NOT_FOUND:
    snprintf(m, sizeof m, "A process with the pid %lld was not found.",
             (long long)f->pid);
    fault(c, "GuestProcessNotFound", m,
          json_pack("{s:I}", "pid", (json_int_t)f->pid));
    break;
  case GF_VAR_NOT_FOUND:
  case GF_START_FAILED:
    snprintf(m, sizeof m, "A general guest operations error occurred: %s",
             f->text);
    fault(c, "GuestOperationsFault", m, NULL);
    break;
  case GF_NO_SESSION:
    not_authenticated(c);
    break;
  case GF_BUSY:
    fault(c, "TaskInProgress",
          "The operation is not allowed in the current "
          "state because another task is in progress.",
          json_pack("{s:o}", "task", moref("Task", "task-busy")));
    break;
  case GF_UNAVAILABLE:
  case GF_NONE:
    reply_text(c->rp, 503, "Service Unavailable");
    break;
  }
}

/* ---- request members --------------------------------------------------- */

/* An optional/required member of the body with a type check; false after
 * answering InvalidArgument. */
static bool member(struct ctx *c, json_t *obj, const char *where,
                   const char *key, bool required, int jtype, json_t **out) {
  char prop[128];
  *out = json_object_get(obj, key);
  snprintf(prop, sizeof prop, "%s%s", where, key);
  if (!*out || json_is_null(*out)) {
    *out = NULL;
    if (required)
      invalid(c, prop);
    return !required;
  }
  bool okay = jtype == JSON_TRUE ? json_is_boolean(*out)
                                 : json_typeof(*out) == (json_type)jtype;
  if (!okay)
    invalid(c, prop);
  return okay;
}

/* A MoRef member of the given type; *value borrowed from the body. */
static bool moref_member(struct ctx *c, const char *key, const char *type,
                         const char **value) {
  json_t *m, *t, *v, *tn;
  if (!member(c, c->body, "", key, true, JSON_OBJECT, &m))
    return false;
  t = json_object_get(m, "type");
  v = json_object_get(m, "value");
  tn = json_object_get(m, "_typeName");
  if (!json_is_string(t) || !json_is_string(v) ||
      strcmp(json_string_value(t), type) != 0 ||
      (tn && (!json_is_string(tn) ||
              strcmp(json_string_value(tn), "ManagedObjectReference") != 0))) {
    invalid(c, key);
    return false;
  }
  *value = json_string_value(v);
  return true;
}

/* _typeName of a polymorphic member, which the server requires. */
static const char *type_name(json_t *obj) {
  json_t *t = json_object_get(obj, "_typeName");
  return json_is_string(t) ? json_string_value(t) : "";
}

static bool parse_auth(struct ctx *c, struct gauth *a) {
  json_t *auth, *inter, *user, *pw, *token;
  memset(a, 0, sizeof *a);
  if (!member(c, c->body, "", "auth", true, JSON_OBJECT, &auth))
    return false;
  const char *tn = type_name(auth);
  bool np = strcmp(tn, "NamePasswordAuthentication") == 0;
  bool saml = strcmp(tn, "SAMLTokenAuthentication") == 0;
  if (!np && !saml) {
    invalid(c, "auth");
    return false;
  }
  if (!member(c, auth, "auth.", "interactiveSession", true, JSON_TRUE,
              &inter) ||
      !member(c, auth, "auth.", "username", np, JSON_STRING, &user) ||
      !member(c, auth, "auth.", "password", np, JSON_STRING, &pw) ||
      !member(c, auth, "auth.", "token", saml, JSON_STRING, &token))
    return false;
  a->interactive = json_is_true(inter);
  if (saml && a->interactive) {
    invalid(c, "auth.interactiveSession");
    return false;
  }
  a->user = user ? json_string_value(user) : NULL;
  a->password = np ? json_string_value(pw) : NULL;
  a->saml_token = saml ? json_string_value(token) : NULL;
  return true;
}

/* The vm MoRef, auth, and the operation's injection. */
static bool guest_common(struct ctx *c, enum op op, const char **vm,
                         struct gauth *a) {
  struct gfault f = {0};
  if (gfault_injected(req_begin_op(c->sim, c->rp, op), &f)) {
    gfault_reply(c, &f);
    return false;
  }
  return moref_member(c, "vm", "VirtualMachine", vm) && parse_auth(c, a);
}

/* ---- GuestProcessManager ----------------------------------------------- */

static json_t *process_info(const struct ginfo *g) {
  char started[32], finished[32];
  util_format_time(g->started_ms, started);
  json_t *j =
      json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "_typeName", "GuestProcessInfo",
                "name", g->name, "pid", (json_int_t)g->pid, "owner", g->owner,
                "cmdLine", g->command, "startTime", started);
  if (g->exited) {
    util_format_time(g->finished_ms, finished);
    json_object_set_new(j, "endTime", json_string(finished));
    json_object_set_new(j, "exitCode", json_integer(g->exit_code));
  }
  return j;
}

static bool parse_spec(struct ctx *c, struct gspec *s) {
  json_t *spec, *path, *args, *wd, *env, *min, *e;
  size_t i;
  memset(s, 0, sizeof *s);
  if (!member(c, c->body, "", "spec", true, JSON_OBJECT, &spec))
    return false;
  const char *tn = type_name(spec);
  bool win = strcmp(tn, "GuestWindowsProgramSpec") == 0;
  if (!win && strcmp(tn, "GuestProgramSpec") != 0) {
    invalid(c, "spec");
    return false;
  }
  if (!member(c, spec, "spec.", "programPath", true, JSON_STRING, &path) ||
      !member(c, spec, "spec.", "arguments", true, JSON_STRING, &args) ||
      !member(c, spec, "spec.", "workingDirectory", false, JSON_STRING, &wd) ||
      !member(c, spec, "spec.", "envVariables", false, JSON_ARRAY, &env) ||
      !member(c, spec, "spec.", "startMinimized", win, JSON_TRUE, &min))
    return false;
  if (json_string_length(path) == 0) {
    invalid(c, "spec.programPath");
    return false;
  }
  json_array_foreach(env, i, e) {
    if (!json_is_string(e)) {
      invalid(c, "spec.envVariables");
      return false;
    }
  }
  s->path = json_string_value(path);
  s->arguments = json_string_value(args);
  s->working_directory = wd ? json_string_value(wd) : NULL;
  s->start_minimized = json_is_true(min);
  if (env && json_array_size(env) > 0) {
    s->env = xcalloc(json_array_size(env) + 1, sizeof *s->env);
    json_array_foreach(env, i, e) s->env[i] = xstrdup(json_string_value(e));
  }
  return true;
}

static void start_program(struct ctx *c) {
  const char *vm;
  struct gauth a;
  struct gspec s;
  struct gfault f = {0};
  int64_t pid;
  if (!guest_common(c, OP_CREATE, &vm, &a) || !parse_spec(c, &s))
    return;
  if (gop_create(c->sim, vm, &a, &s, &pid, &f)) {
    result(c, json_integer(pid));
  } else {
    if (f.kind == GF_INVALID_ARGUMENT)
      gfault_set(&f, GF_INVALID_ARGUMENT, "spec.startMinimized");
    gfault_reply(c, &f);
  }
  gop_free_env(s.env);
}

static void list_processes(struct ctx *c) {
  const char *vm;
  struct gauth a;
  struct gfault f = {0};
  json_t *pids_j, *e;
  struct ginfo *v;
  size_t n, i;
  if (!guest_common(c, OP_LIST, &vm, &a) ||
      !member(c, c->body, "", "pids", false, JSON_ARRAY, &pids_j))
    return;
  int64_t *pids =
      pids_j ? xcalloc(json_array_size(pids_j), sizeof *pids) : NULL;
  json_array_foreach(pids_j, i, e) {
    if (!json_is_integer(e)) {
      free(pids);
      invalid(c, "pids");
      return;
    }
    pids[i] = json_integer_value(e);
  }
  if (gop_list(c->sim, vm, &a, pids, pids_j ? json_array_size(pids_j) : 0, &v,
               &n, &f)) {
    json_t *list = json_array();
    for (i = 0; i < n; i++)
      json_array_append_new(list, process_info(&v[i]));
    ginfo_free(v, n);
    result(c, list);
  } else {
    gfault_reply(c, &f);
  }
  free(pids);
}

static void terminate_process(struct ctx *c) {
  const char *vm;
  struct gauth a;
  struct gfault f = {0};
  json_t *pid;
  if (!guest_common(c, OP_DELETE, &vm, &a) ||
      !member(c, c->body, "", "pid", true, JSON_INTEGER, &pid))
    return;
  if (gop_delete(c->sim, vm, &a, json_integer_value(pid), &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void read_environment(struct ctx *c) {
  const char *vm;
  struct gauth a;
  struct gfault f = {0};
  json_t *names_j, *e;
  size_t i, n;
  char **keys, **vals;
  if (!guest_common(c, OP_ENVIRONMENT, &vm, &a) ||
      !member(c, c->body, "", "names", false, JSON_ARRAY, &names_j))
    return;
  size_t nnames = names_j ? json_array_size(names_j) : 0;
  const char **names = xcalloc(nnames, sizeof *names);
  json_array_foreach(names_j, i, e) {
    if (!json_is_string(e)) {
      free(names);
      invalid(c, "names");
      return;
    }
    names[i] = json_string_value(e);
  }
  if (gop_environment(c->sim, vm, &a, names, nnames, &keys, &vals, &n, &f)) {
    json_t *out = json_array();
    for (i = 0; i < n; i++) {
      char *kv = xasprintf("%s=%s", keys[i], vals[i]);
      json_array_append_new(out, json_string(kv));
      free(kv);
    }
    gop_free_strings(keys, n);
    gop_free_strings(vals, n);
    result(c, out);
  } else {
    gfault_reply(c, &f);
  }
  free(names);
}

/* ---- GuestFileManager -------------------------------------------------- */

/* A required guest path member: a non-empty absolute path. */
static bool path_member(struct ctx *c, const char *key, const char **out) {
  json_t *p;
  if (!member(c, c->body, "", key, true, JSON_STRING, &p))
    return false;
  if (!gfs_path_ok(json_string_value(p), json_string_length(p))) {
    invalid(c, key);
    return false;
  }
  *out = json_string_value(p);
  return true;
}

static bool bool_member(struct ctx *c, const char *key, bool required,
                        bool *out) {
  json_t *v;
  if (!member(c, c->body, "", key, required, JSON_TRUE, &v))
    return false;
  *out = json_is_true(v);
  return true;
}

static const char *file_type(enum gftype t) {
  return t == GFT_DIRECTORY ? "directory"
         : t == GFT_SYMLINK ? "symlink"
                            : "file";
}

static json_t *file_attributes(const struct gfinfo *g) {
  char mod[32], acc[32];
  util_format_time(g->mtime_ms, mod);
  util_format_time(g->atime_ms, acc);
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:I,s:I,s:I}", "_typeName", "GuestPosixFileAttributes",
      "modificationTime", mod, "accessTime", acc, "ownerId", (json_int_t)g->uid,
      "groupId", (json_int_t)g->gid, "permissions", (json_int_t)g->mode);
  if (g->symlink_target)
    json_object_set_new(j, "symlinkTarget", json_string(g->symlink_target));
  return j;
}

/* The fileAttributes of an upload or an attribute change: a
 * GuestFileAttributes, GuestPosixFileAttributes or
 * GuestWindowsFileAttributes (its _typeName is required). */
static bool parse_file_attributes(struct ctx *c, struct gfattrs *at) {
  json_t *fa, *v;
  gfattrs_init(at);
  if (!member(c, c->body, "", "fileAttributes", true, JSON_OBJECT, &fa))
    return false;
  const char *tn = type_name(fa);
  bool posix = strcmp(tn, "GuestPosixFileAttributes") == 0;
  bool win = strcmp(tn, "GuestWindowsFileAttributes") == 0;
  if (!posix && !win && strcmp(tn, "GuestFileAttributes") != 0) {
    invalid(c, "fileAttributes");
    return false;
  }
  static const char *const times[] = {"modificationTime", "accessTime"};
  for (int i = 0; i < 2; i++) {
    char prop[64];
    snprintf(prop, sizeof prop, "fileAttributes.%s", times[i]);
    if (!member(c, fa, "fileAttributes.", times[i], false, JSON_STRING, &v))
      return false;
    if (v && !util_parse_time(json_string_value(v),
                              i == 0 ? &at->mtime_ms : &at->atime_ms)) {
      invalid(c, prop);
      return false;
    }
  }
  if (posix) {
    if (!member(c, fa, "fileAttributes.", "ownerId", false, JSON_INTEGER, &v))
      return false;
    at->uid = v ? json_integer_value(v) : -1;
    if (!member(c, fa, "fileAttributes.", "groupId", false, JSON_INTEGER, &v))
      return false;
    at->gid = v ? json_integer_value(v) : -1;
    if (!member(c, fa, "fileAttributes.", "permissions", false, JSON_INTEGER,
                &v))
      return false;
    at->mode = v ? json_integer_value(v) : -1;
    if ((json_object_get(fa, "ownerId") && at->uid < 0) ||
        (json_object_get(fa, "groupId") && at->gid < 0) ||
        (v && (at->mode < 0 || at->mode > 07777))) {
      invalid(c, "fileAttributes");
      return false;
    }
    at->posix = at->uid >= 0 || at->gid >= 0 || at->mode >= 0;
  }
  if (win) {
    json_t *hidden, *ro;
    if (!member(c, fa, "fileAttributes.", "hidden", false, JSON_TRUE,
                &hidden) ||
        !member(c, fa, "fileAttributes.", "readOnly", false, JSON_TRUE, &ro))
      return false;
    at->read_only = json_is_true(ro);
    at->windows = json_is_true(hidden) || at->read_only;
  }
  return true;
}

static void create_temporary(struct ctx *c, bool directory) {
  const char *vm;
  struct gauth a;
  struct gfault f = {0};
  json_t *prefix, *suffix, *dir;
  char *path = NULL;
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !member(c, c->body, "", "prefix", true, JSON_STRING, &prefix) ||
      !member(c, c->body, "", "suffix", true, JSON_STRING, &suffix) ||
      !member(c, c->body, "", "directoryPath", false, JSON_STRING, &dir))
    return;
  const char *d = dir ? json_string_value(dir) : NULL;
  if (strlen(json_string_value(prefix)) != json_string_length(prefix) ||
      strlen(json_string_value(suffix)) != json_string_length(suffix)) {
    invalid(c, strlen(json_string_value(prefix)) != json_string_length(prefix)
                   ? "prefix"
                   : "suffix");
    return;
  }
  if (d && *d && !gfs_path_ok(d, json_string_length(dir))) {
    invalid(c, "directoryPath");
    return;
  }
  if (gfs_mktemp(c->sim, vm, &a, json_string_value(prefix),
                 json_string_value(suffix), d, directory, &path, &f))
    result(c, json_string(path));
  else
    gfault_reply(c, &f);
  free(path);
}

static void create_temporary_file(struct ctx *c) {
  create_temporary(c, false);
}

static void create_temporary_directory(struct ctx *c) {
  create_temporary(c, true);
}

static void delete_file(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  if (!guest_common(c, OP_FILES, &vm, &a) || !path_member(c, "filePath", &path))
    return;
  if (gfs_delete_file(c->sim, vm, &a, path, &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void delete_directory(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  bool recursive;
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !path_member(c, "directoryPath", &path) ||
      !bool_member(c, "recursive", true, &recursive))
    return;
  if (gfs_delete_dir(c->sim, vm, &a, path, recursive, &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void make_directory(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  bool parents;
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !path_member(c, "directoryPath", &path) ||
      !bool_member(c, "createParentDirectories", true, &parents))
    return;
  if (gfs_mkdir(c->sim, vm, &a, path, parents, &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void list_files(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  json_t *index_j, *max_j, *pattern_j;
  struct gfinfo *ents;
  size_t n;
  bool single;
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !path_member(c, "filePath", &path) ||
      !member(c, c->body, "", "index", false, JSON_INTEGER, &index_j) ||
      !member(c, c->body, "", "maxResults", false, JSON_INTEGER, &max_j) ||
      !member(c, c->body, "", "matchPattern", false, JSON_STRING, &pattern_j))
    return;
  int64_t index = index_j ? json_integer_value(index_j) : 0;
  int64_t max = max_j ? json_integer_value(max_j) : 0;
  if (index < 0 || max < 0) {
    invalid(c, index < 0 ? "index" : "maxResults");
    return;
  }
  if (max == 0)
    max = 50;
  const char *pattern = pattern_j ? json_string_value(pattern_j) : NULL;
  if (pattern && strlen(pattern) != json_string_length(pattern_j)) {
    invalid(c, "matchPattern");
    return;
  }
  if (!gfs_list(c->sim, vm, &a, path, pattern, "matchPattern", &ents, &n,
                &single, &f)) {
    gfault_reply(c, &f);
    return;
  }
  /* as Tools page it: index skips entries of the listing, then the
   * pattern filters, and remaining counts matches beyond maxResults */
  json_t *files = json_array();
  int64_t remaining = 0;
  for (size_t i = (size_t)index; i < n; i++) {
    if (!ents[i].match)
      continue;
    if ((int64_t)json_array_size(files) < max)
      json_array_append_new(files,
                            json_pack("{s:s,s:s,s:s,s:I,s:o}", "_typeName",
                                      "GuestFileInfo", "path", ents[i].name,
                                      "type", file_type(ents[i].type), "size",
                                      (json_int_t)ents[i].size, "attributes",
                                      file_attributes(&ents[i])));
    else
      remaining++;
  }
  gfinfo_free(ents, n);
  json_t *res = json_pack("{s:s,s:I}", "_typeName", "GuestListFileInfo",
                          "remaining", (json_int_t)remaining);
  if (json_array_size(files) > 0)
    json_object_set_new(res, "files", files);
  else
    json_decref(files);
  result(c, res);
}

static void move_file(struct ctx *c) {
  const char *vm, *src, *dst;
  struct gauth a;
  struct gfault f = {0};
  bool overwrite;
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !path_member(c, "srcFilePath", &src) ||
      !path_member(c, "dstFilePath", &dst) ||
      !bool_member(c, "overwrite", true, &overwrite))
    return;
  if (gfs_move(c->sim, vm, &a, src, dst, false, overwrite, &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void move_directory(struct ctx *c) {
  const char *vm, *src, *dst;
  struct gauth a;
  struct gfault f = {0};
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !path_member(c, "srcDirectoryPath", &src) ||
      !path_member(c, "dstDirectoryPath", &dst))
    return;
  if (gfs_move(c->sim, vm, &a, src, dst, true, false, &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void change_file_attributes(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  struct gfattrs at;
  if (!guest_common(c, OP_FILES, &vm, &a) ||
      !path_member(c, "guestFilePath", &path) || !parse_file_attributes(c, &at))
    return;
  if (gfs_set_attrs(c->sim, vm, &a, path, &at, "fileAttributes", &f))
    no_content(c);
  else
    gfault_reply(c, &f);
}

static void transfer_from_guest(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  struct gfinfo info;
  char *url = NULL;
  if (!guest_common(c, OP_TRANSFER, &vm, &a) ||
      !path_member(c, "guestFilePath", &path))
    return;
  if (gfs_download(c->sim, vm, &a, path, "guestFilePath", &info, &url, &f))
    result(c, json_pack("{s:s,s:o,s:I,s:s}", "_typeName",
                        "FileTransferInformation", "attributes",
                        file_attributes(&info), "size", (json_int_t)info.size,
                        "url", url));
  else
    gfault_reply(c, &f);
  gfinfo_clear(&info);
  free(url);
}

static void transfer_to_guest(struct ctx *c) {
  const char *vm, *path;
  struct gauth a;
  struct gfault f = {0};
  struct gfattrs at;
  json_t *size;
  bool overwrite;
  char *url = NULL;
  if (!guest_common(c, OP_TRANSFER, &vm, &a) ||
      !path_member(c, "guestFilePath", &path) ||
      !parse_file_attributes(c, &at) ||
      !member(c, c->body, "", "fileSize", true, JSON_INTEGER, &size) ||
      !bool_member(c, "overwrite", true, &overwrite))
    return;
  if (json_integer_value(size) < 0) {
    invalid(c, "fileSize");
    return;
  }
  if (gfs_upload(c->sim, vm, &a, path, "guestFilePath", &at, "fileAttributes",
                 json_integer_value(size), overwrite, &url, &f))
    result(c, json_string(url));
  else
    gfault_reply(c, &f);
  free(url);
}

/* ---- ServiceInstance, SessionManager, GuestOperationsManager ---------- */

/* The product the simulator plays: a server of the newest release it
 * serves (a.b.c.d), i.e. product version "a.b.c". Releases that are not
 * four numbers do not count; the build is the simulator's own, made from
 * the release so that it grows with it. */
static void product(const struct sim *sim, char version[32], char build[16]) {
  long best[4] = {-1, 0, 0, 0};
  for (size_t i = 0; i < sim->cfg.nreleases; i++) {
    long v[4];
    char end;
    if (sscanf(sim->cfg.releases[i], "%ld.%ld.%ld.%ld%c", &v[0], &v[1], &v[2],
               &v[3], &end) != 4 ||
        v[0] < 0 || v[0] > 99 || v[1] < 0 || v[1] > 9 || v[2] < 0 || v[2] > 9 ||
        v[3] < 0 || v[3] > 9)
      continue;
    int k = 0;
    while (k < 3 && v[k] == best[k])
      k++;
    if (v[k] > best[k])
      memcpy(best, v, sizeof best);
  }
  if (best[0] < 0) { /* nothing numeric: name the first release as it is */
    snprintf(version, 32, "%.31s", sim->cfg.releases[0]);
    snprintf(build, 16, "0");
    return;
  }
  snprintf(version, 32, "%ld.%ld.%ld", best[0], best[1], best[2]);
  snprintf(build, 16, "%ld",
           best[0] * 1000000 + best[1] * 100000 + best[2] * 10000 +
               best[3] * 1000);
}

static void service_content(struct ctx *c) {
  char version[32], build[16];
  product(c->sim, version, build);
  char *full = xasprintf("VMware vCenter Server %s build-%s", version, build);
  json_t *about = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "_typeName",
      "AboutInfo", "name", "VMware vCenter Server", "fullName", full, "vendor",
      "VMware, Inc.", "version", version, "build", build, "localeVersion",
      "INTL", "localeBuild", "000", "osType", "linux-x64", "productLineId",
      "vpx", "apiType", "VirtualCenter", "apiVersion", c->release,
      "instanceUuid", "5b4f3c2e-7a1d-4e3a-9c1b-0d2e3f4a5b6c",
      "licenseProductName", "VMware VirtualCenter Server");
  free(full);
  json_t *sc = json_pack(
      "{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "_typeName", "ServiceContent",
      "rootFolder", moref("Folder", "group-d1"), "propertyCollector",
      moref("PropertyCollector", "propertyCollector"), "viewManager",
      moref("ViewManager", "ViewManager"), "about", about, "sessionManager",
      moref("SessionManager", "SessionManager"), "searchIndex",
      moref("SearchIndex", "SearchIndex"), "guestOperationsManager",
      moref("GuestOperationsManager", "guestOperationsManager"),
      "authorizationManager",
      moref("AuthorizationManager", "AuthorizationManager"));
  result(c, sc);
}

/* The UserSession of a session: key is the session's own (state.c), the
 * same on every call. */
static json_t *user_session(struct ctx *c, const char *key, const char *user,
                            int64_t login_ms, int64_t last_ms) {
  char login[32], last[32];
  const char *ua = req_header(c->r, "User-Agent");
  util_format_time(login_ms, login);
  util_format_time(last_ms, last);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:i}",
                   "_typeName", "UserSession", "key", key, "userName", user,
                   "fullName", user, "loginTime", login, "lastActiveTime", last,
                   "locale", "en", "messageLocale", "en", "extensionSession", 0,
                   "ipAddress", "127.0.0.1", "userAgent", ua ? ua : "",
                   "callCount", 0);
}

static void login(struct ctx *c) {
  json_t *user, *pw, *locale;
  char token[33], key[37];
  struct gfault f = {0};
  if (gfault_injected(req_begin_op(c->sim, c->rp, OP_LOGIN), &f)) {
    gfault_reply(c, &f);
    return;
  }
  if (!member(c, c->body, "", "userName", true, JSON_STRING, &user) ||
      !member(c, c->body, "", "password", true, JSON_STRING, &pw) ||
      !member(c, c->body, "", "locale", false, JSON_STRING, &locale))
    return;
  if (!state_login(c->sim, json_string_value(user), json_string_value(pw),
                   FL_VIM25, token, key)) {
    fault(c, "InvalidLogin",
          "Cannot complete login due to an incorrect user name or password.",
          NULL);
    return;
  }
  int64_t now = util_now_ms();
  result(c, user_session(c, key, json_string_value(user), now, now));
  c->rp->session_header = xstrdup(token);
}

static bool authed(struct ctx *c) {
  struct session s;
  char user[256];
  if (state_session(c->sim, req_token(c->r), &s, user, sizeof user))
    return true;
  not_authenticated(c);
  return false;
}

static void logout(struct ctx *c) {
  const char *token = req_token(c->r);
  if (req_begin_op(c->sim, c->rp, OP_LOGOUT) == INJ_DROP)
    return;
  if (token && state_logout(c->sim, token))
    no_content(c);
  else
    not_authenticated(c);
}

/* Needs no privilege (System.Anonymous): without a valid session the
 * value is null, sent as a void answer. */
static void current_session(struct ctx *c) {
  struct session s;
  char user[256];
  if (req_begin_op(c->sim, c->rp, OP_SESSION) == INJ_DROP)
    return;
  if (state_session(c->sim, req_token(c->r), &s, user, sizeof user))
    result(c, user_session(c, s.key, user, s.created_ms, s.last_ms));
  else
    no_content(c);
}

static void process_manager(struct ctx *c) {
  result(c, moref("GuestProcessManager", "guestOperationsProcessManager"));
}

static void file_manager(struct ctx *c) {
  result(c, moref("GuestFileManager", "guestOperationsFileManager"));
}

/* ---- finding VMs ------------------------------------------------------- */

static bool begin_vms(struct ctx *c) {
  struct gfault f = {0};
  if (!gfault_injected(req_begin_op(c->sim, c->rp, OP_VMS), &f))
    return true;
  gfault_reply(c, &f);
  return false;
}

/* The kinds a type name stands for, as a mask of 1u << enum ent_kind: a
 * type and its subtypes (ComputeResource takes in clusters, ManagedEntity
 * everything); 0 for a type the simulator does not know. */
static unsigned type_mask(const char *type) {
  if (strcmp(type, "ManagedEntity") == 0)
    return (1u << EK_COUNT) - 1;
  if (strcmp(type, "ComputeResource") == 0)
    return 1u << EK_COMPUTE | 1u << EK_CLUSTER;
  for (int k = 0; k < EK_COUNT; k++)
    if (k != EK_COMPUTE && strcmp(type, ent_kind_type((enum ent_kind)k)) == 0)
      return 1u << k;
  return 0;
}

static void create_container_view(struct ctx *c) {
  json_t *m, *types, *rec, *t;
  size_t i;
  unsigned mask = 0;
  if (!begin_vms(c) ||
      !member(c, c->body, "", "container", true, JSON_OBJECT, &m) ||
      !member(c, c->body, "", "type", false, JSON_ARRAY, &types) ||
      !member(c, c->body, "", "recursive", true, JSON_TRUE, &rec))
    return;
  const char *type = json_string_value(json_object_get(m, "type"));
  const char *value = json_string_value(json_object_get(m, "value"));
  json_t *tn = json_object_get(m, "_typeName");
  if (!type || !value ||
      (tn && (!json_is_string(tn) ||
              strcmp(json_string_value(tn), "ManagedObjectReference") != 0))) {
    invalid(c, "container");
    return;
  }
  json_array_foreach(types, i, t) {
    unsigned k = json_is_string(t) ? type_mask(json_string_value(t)) : 0;
    if (!k) {
      invalid(c, "type");
      return;
    }
    mask |= k;
  }
  if (!mask) /* an empty list: every type */
    mask = (1u << EK_COUNT) - 1;
  sim_lock(c->sim);
  const struct entity *e = inventory_entity(&c->sim->inv, value);
  bool is_vm = inventory_vm(&c->sim->inv, value) != NULL;
  sim_unlock(c->sim);
  if (is_vm && strcmp(type, "VirtualMachine") == 0) { /* not a container */
    invalid(c, "container");
    return;
  }
  if (!e || strcmp(type, ent_kind_type(e->kind)) != 0) {
    object_not_found(c, type, value);
    return;
  }
  char *id = state_view_new(c->sim, e, mask, json_is_true(rec));
  result(c, moref("ContainerView", id));
  free(id);
}

static void destroy_view(struct ctx *c) {
  if (state_view_destroy(c->sim, c->moid))
    no_content(c);
  else
    object_not_found(c, "ContainerView", c->moid);
}

/* What Tools report of a VM: only while it is powered on with Tools
 * running. */
static bool guest_ready(const struct vm *vm) {
  return vm->power == PS_POWERED_ON && vm->tools_running;
}

static const char *guest_family(const struct vm *vm) {
  return strcmp(vm->os, "windows") == 0 ? "windowsGuest" : "linuxGuest";
}

static const char *tools_running_status(const struct vm *vm) {
  if (guest_ready(vm))
    return "guestToolsRunning";
  return vm->power == PS_POWERED_ON && vm->tools_scripts
             ? "guestToolsExecutingScripts"
             : "guestToolsNotRunning";
}

/* Supported VirtualMachine properties, as Any values; NULL for one that is
 * unset (it is left out of the propSet, as a real PropertyCollector does). */
static json_t *vm_property(const struct vm *vm, const char *name) {
  bool ready = guest_ready(vm);
  if (strcmp(name, "guest.guestFamily") == 0) /* reported by Tools */
    return ready ? json_pack("{s:s,s:s}", "_typeName", "string", "_value",
                             guest_family(vm))
                 : NULL;
  if (strcmp(name, "name") == 0)
    return json_pack("{s:s,s:s}", "_typeName", "string", "_value", vm->name);
  if (strcmp(name, "runtime.powerState") == 0)
    return json_pack("{s:s,s:s}", "_typeName", "VirtualMachinePowerState",
                     "_value", vim_power(vm->power));
  if (strcmp(name, "guest.toolsRunningStatus") == 0)
    return json_pack("{s:s,s:s}", "_typeName", "string", "_value",
                     tools_running_status(vm));
  if (strcmp(name, "guest.guestOperationsReady") == 0)
    return json_pack("{s:s,s:b}", "_typeName", "boolean", "_value", ready);
  if (strcmp(name, "guest.interactiveGuestOperationsReady") == 0)
    return json_pack("{s:s,s:b}", "_typeName", "boolean", "_value", 0);
  if (strcmp(name, "guest.hostName") == 0) /* reported by Tools */
    return ready ? json_pack("{s:s,s:s}", "_typeName", "string", "_value",
                             vm->name)
                 : NULL;
  if (strcmp(name, "guest.ipAddress") == 0)
    return ready && vm->ip_address
               ? json_pack("{s:s,s:s}", "_typeName", "string", "_value",
                           vm->ip_address)
               : NULL;
  if (strcmp(name, "runtime.host") == 0) /* a MoRef is its own type */
    return moref("HostSystem", vm->host->id);
  return NULL;
}

/* VirtualMachine.runtime: a VirtualMachineRuntimeInfo with the members
 * the WSDL requires, and cleanPowerOff for a powered-off VM. */
static json_t *vm_runtime(const struct vm *vm) {
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:s,s:b,s:i,s:s,s:b,s:b}", "_typeName",
      "VirtualMachineRuntimeInfo", "connectionState", "connected", "powerState",
      vim_power(vm->power), "faultToleranceState", "notConfigured",
      "toolsInstallerMounted", 0, "numMksConnections", 0, "recordReplayState",
      "inactive", "onlineStandby", 0, "consolidationNeeded", 0);
  json_object_set_new(j, "host", moref("HostSystem", vm->host->id));
  if (vm->power == PS_POWERED_OFF)
    json_object_set_new(j, "cleanPowerOff", json_true());
  return j;
}

/* VirtualMachine.guest: a GuestInfo. What Tools report (family, host
 * name) is there only while they run, as in vm_property. */
static json_t *vm_guest(const struct vm *vm) {
  bool ready = guest_ready(vm);
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:s,s:b,s:b}", "_typeName", "GuestInfo", "toolsStatus",
      ready ? "toolsOk" : "toolsNotRunning", "toolsRunningStatus",
      tools_running_status(vm), "guestState", ready ? "running" : "notRunning",
      "guestOperationsReady", ready, "interactiveGuestOperationsReady", 0);
  if (ready) {
    json_object_set_new(j, "guestFamily", json_string(guest_family(vm)));
    json_object_set_new(j, "hostName", json_string(vm->name));
    if (vm->ip_address)
      json_object_set_new(j, "ipAddress", json_string(vm->ip_address));
  }
  return j;
}

/* GET VirtualMachine/{moId}/{name|runtime|guest}: a property read. */
static void vm_read(struct ctx *c, json_t *(*value)(const struct vm *)) {
  if (!begin_vms(c))
    return;
  sim_lock(c->sim);
  const struct vm *vm = inventory_vm(&c->sim->inv, c->moid);
  json_t *j = vm ? value(vm) : NULL;
  sim_unlock(c->sim);
  if (j)
    result(c, j);
  else
    object_not_found(c, "VirtualMachine", c->moid);
}

static json_t *vm_name(const struct vm *vm) {
  return json_string(vm->name);
}

static void vm_name_read(struct ctx *c) {
  vm_read(c, vm_name);
}

static void vm_runtime_read(struct ctx *c) {
  vm_read(c, vm_runtime);
}

static void vm_guest_read(struct ctx *c) {
  vm_read(c, vm_guest);
}

static const char *const all_properties[] = {
    "name",
    "runtime.powerState",
    "guest.toolsRunningStatus",
    "guest.guestOperationsReady",
    "guest.interactiveGuestOperationsReady",
    "guest.guestFamily",
    "guest.hostName",
    "guest.ipAddress",
    "runtime.host",
    NULL};

/* What a RetrievePropertiesEx selects: VMs by index of inv.vms, other
 * entities by index of inv.ents. */
struct want {
  bool *vms, *ents;
};

/* Adds the objects of a view; the caller holds the lock. */
static void select_view(const struct inventory *inv, const struct entity *ct,
                        unsigned types, bool recursive, struct want *w) {
  for (size_t i = 0; i < inv->nents; i++) {
    const struct entity *e = inv->ents[i];
    if ((types & 1u << e->kind) &&
        (recursive ? entity_below(e, ct) : e->parent == ct))
      w->ents[i] = true;
  }
  for (size_t v = 0; (types & 1u << EK_VM) && v < inv->nvms; v++)
    if (inventory_vm_in(&inv->vms[v], ct, recursive))
      w->vms[v] = true;
}

/* Collects what an ObjectSpec selects; false after a fault. */
static bool select_objects(struct ctx *c, json_t *os, struct want *w) {
  json_t *obj = json_object_get(os, "obj"), *sel, *s;
  size_t i;
  const char *type = json_string_value(json_object_get(obj, "type"));
  const char *value = json_string_value(json_object_get(obj, "value"));
  bool skip = json_is_true(json_object_get(os, "skip"));
  const struct inventory *inv = &c->sim->inv;
  if (!type || !value) {
    invalid(c, "specSet.objectSet.obj");
    return false;
  }
  if (strcmp(type, "VirtualMachine") == 0) {
    struct vm *vm = inventory_vm(inv, value);
    if (!vm) {
      object_not_found(c, type, value);
      return false;
    }
    w->vms[vm - inv->vms] = w->vms[vm - inv->vms] || !skip;
    return true;
  }
  const struct entity *e = inventory_entity(inv, value);
  if (e && strcmp(type, ent_kind_type(e->kind)) == 0) {
    for (size_t k = 0; !skip && k < inv->nents; k++)
      w->ents[k] = w->ents[k] || inv->ents[k] == e;
    return true;
  }
  const struct entity *ct;
  unsigned types;
  bool rec;
  if (strcmp(type, "ContainerView") != 0 ||
      !state_view_get(c->sim, value, &ct, &types, &rec)) {
    object_not_found(c, type, value);
    return false;
  }
  sel = json_object_get(os, "selectSet");
  json_array_foreach(sel, i, s) {
    const char *path = json_string_value(json_object_get(s, "path"));
    if (path && strcmp(path, "view") == 0)
      select_view(inv, ct, types, rec, w);
  }
  return true;
}

/* The PropertySpecs of a filter: for each, the kinds it applies to and
 * its paths (borrowed). */
struct pspec {
  unsigned mask;
  const char *paths[16];
  size_t n;
};

/* A property of a managed entity other than a VM, or NULL: name, and a
 * folder's childType (pyvmomi docs/vim/Folder.rst: the object types a
 * folder holds, "Folder" and its kind's). */
static json_t *entity_property(const struct entity *e, const char *name) {
  static const char *const child_types[][4] = {
      [FT_DATACENTER] = {"Folder", "Datacenter"},
      [FT_VM] = {"Folder", "VirtualMachine", "VirtualApp"},
      [FT_HOST] = {"Folder", "ComputeResource"},
      [FT_DATASTORE] = {"Folder", "Datastore"},
      [FT_NETWORK] = {"Folder", "Network"}};
  if (strcmp(name, "name") == 0)
    return json_pack("{s:s,s:s}", "_typeName", "string", "_value", e->name);
  if (strcmp(name, "childType") == 0 && e->kind == EK_FOLDER) {
    json_t *types = json_array();
    for (size_t i = 0; i < 4 && child_types[e->ftype][i]; i++)
      json_array_append_new(types, json_string(child_types[e->ftype][i]));
    return json_pack("{s:s,s:o}", "_typeName", "ArrayOfString", "_value",
                     types);
  }
  return NULL;
}

/* Parses propSet into out (at most 8 specs, *n of them); false after a
 * fault. Other types than VirtualMachine have name, and Folder has
 * childType too. */
static bool prop_specs(struct ctx *c, json_t *propset, struct pspec *out,
                       size_t *n) {
  json_t *ps, *p;
  size_t i, j;
  *n = 0;
  json_array_foreach(propset, i, ps) {
    const char *type = json_string_value(json_object_get(ps, "type"));
    unsigned mask = type ? type_mask(type) : 0;
    if (!mask || *n == 8)
      continue;
    struct pspec *sp = &out[(*n)++];
    bool vm_only = mask == 1u << EK_VM;
    sp->mask = mask;
    sp->n = 0;
    if (json_is_true(json_object_get(ps, "all"))) {
      for (j = 0; (vm_only ? all_properties[j] != NULL : j < 1) && sp->n < 16;
           j++)
        sp->paths[sp->n++] = all_properties[j];
      continue;
    }
    json_array_foreach(json_object_get(ps, "pathSet"), j, p) {
      const char *name = json_string_value(p);
      bool known =
          name && (strcmp(name, "name") == 0 ||
                   (mask == 1u << EK_FOLDER && strcmp(name, "childType") == 0));
      for (size_t k = 0; vm_only && name && all_properties[k]; k++)
        known = known || strcmp(all_properties[k], name) == 0;
      if (!known) {
        fault(c, "InvalidProperty", "Property not valid.",
              json_pack("{s:s}", "name", name ? name : ""));
        return false;
      }
      if (sp->n < 16)
        sp->paths[sp->n++] = name;
    }
  }
  return true;
}

/* The ObjectContent of an object of kind k (props from every spec that
 * applies to it), or NULL when no spec does. */
static json_t *object_content(const struct pspec *sp, size_t nsp,
                              enum ent_kind k, const char *id,
                              const struct vm *vm, const struct entity *e) {
  json_t *props = NULL;
  for (size_t i = 0; i < nsp; i++) {
    if (!(sp[i].mask & 1u << k))
      continue;
    if (!props)
      props = json_array();
    for (size_t p = 0; p < sp[i].n; p++) {
      json_t *val = vm ? vm_property(vm, sp[i].paths[p])
                       : entity_property(e, sp[i].paths[p]);
      if (val)
        json_array_append_new(props, json_pack("{s:s,s:s,s:o}", "_typeName",
                                               "DynamicProperty", "name",
                                               sp[i].paths[p], "val", val));
    }
  }
  if (!props)
    return NULL;
  return json_pack("{s:s,s:o,s:o}", "_typeName", "ObjectContent", "obj",
                   moref(ent_kind_type(k), id), "propSet", props);
}

static json_t *retrieve_result(json_t *objects, const char *token) {
  json_t *j =
      json_pack("{s:s,s:o}", "_typeName", "RetrieveResult", "objects", objects);
  if (token)
    json_object_set_new(j, "token", json_string(token));
  return j;
}

static void retrieve_properties(struct ctx *c) {
  json_t *specs, *spec, *os, *opts;
  size_t i, j;
  struct pspec sp[8];
  size_t nsp;
  if (!begin_vms(c) ||
      !member(c, c->body, "", "specSet", true, JSON_ARRAY, &specs) ||
      !member(c, c->body, "", "options", false, JSON_OBJECT, &opts))
    return;
  json_t *objects = json_array();
  /* the tree never changes and VMs are never added: sizes stay */
  const struct inventory *inv = &c->sim->inv;
  struct want w = {xcalloc(inv->nvms + 1, 1), xcalloc(inv->nents + 1, 1)};
  json_array_foreach(specs, i, spec) {
    if (!prop_specs(c, json_object_get(spec, "propSet"), sp, &nsp))
      goto fail;
    memset(w.vms, 0, inv->nvms);
    memset(w.ents, 0, inv->nents);
    /* what selects reads never changes (ids, places): no lock */
    json_array_foreach(json_object_get(spec, "objectSet"), j, os) {
      if (!select_objects(c, os, &w))
        goto fail;
    }
    sim_lock(c->sim);
    for (size_t e = 0; e < inv->nents; e++) {
      json_t *o = w.ents[e]
                      ? object_content(sp, nsp, inv->ents[e]->kind,
                                       inv->ents[e]->id, NULL, inv->ents[e])
                      : NULL;
      if (o)
        json_array_append_new(objects, o);
    }
    for (size_t v = 0; v < inv->nvms; v++) {
      json_t *o = w.vms[v] ? object_content(sp, nsp, EK_VM, inv->vms[v].id,
                                            &inv->vms[v], NULL)
                           : NULL;
      if (o)
        json_array_append_new(objects, o);
    }
    sim_unlock(c->sim);
  }
  free(w.vms);
  free(w.ents);
  json_t *max = json_object_get(opts, "maxObjects");
  size_t page = json_is_integer(max) && json_integer_value(max) > 0
                    ? (size_t)json_integer_value(max)
                    : 0;
  if (page && json_array_size(objects) > page) {
    json_t *rest = json_array();
    size_t all = json_array_size(objects);
    for (size_t k = page; k < all; k++)
      json_array_append(rest, json_array_get(objects, k));
    while (json_array_size(objects) > page) /* from the end: no moves */
      json_array_remove(objects, json_array_size(objects) - 1);
    char *token = state_page_new(c->sim, rest, page);
    result(c, retrieve_result(objects, token));
    free(token);
  } else {
    result(c, retrieve_result(objects, NULL));
  }
  return;
fail:
  free(w.vms);
  free(w.ents);
  json_decref(objects);
}

static void continue_retrieve(struct ctx *c) {
  json_t *token;
  bool more = false;
  if (!begin_vms(c) ||
      !member(c, c->body, "", "token", true, JSON_STRING, &token))
    return;
  json_t *objects = state_page_next(c->sim, json_string_value(token), &more);
  if (!objects) {
    invalid(c, "token");
    return;
  }
  result(c, retrieve_result(objects, more ? json_string_value(token) : NULL));
}

/* Decodes one inventory path component ("%2f" is '/'); returns-owned. */
static char *path_name(const char *src, size_t len) {
  char *name = xcalloc(len + 1, 1);
  for (size_t i = 0, o = 0; i < len; i++) {
    if (src[i] == '%' && i + 2 < len + 1 &&
        (strncmp(src + i, "%2f", 3) == 0 || strncmp(src + i, "%2F", 3) == 0)) {
      name[o++] = '/';
      i += 2;
    } else {
      name[o++] = src[i];
    }
  }
  return name;
}

/* The child of cur named name: an entity of the tree or, in a VM folder,
 * a VM (the first in inventory order). */
static json_t *path_child(const struct inventory *inv,
                          const struct entity **cur, const char *name) {
  for (size_t i = 0; i < inv->nents; i++) {
    const struct entity *e = inv->ents[i];
    if (e->parent == *cur && strcmp(e->name, name) == 0) {
      *cur = e;
      return moref(ent_kind_type(e->kind), e->id);
    }
  }
  for (struct vm *vm = inventory_vm_named(inv, name); vm; vm = vm->same_name)
    if (vm->folder == *cur) {
      *cur = NULL;
      return moref("VirtualMachine", vm->id);
    }
  return NULL;
}

/* "DC0/vm/web/web-01": a walk from the root folder, one name per
 * component; leading and trailing slashes ignored, "%2f" for a '/' in a
 * name. The answer is null when a component names nothing. */
static void find_by_inventory_path(struct ctx *c) {
  json_t *path;
  if (!begin_vms(c) ||
      !member(c, c->body, "", "inventoryPath", true, JSON_STRING, &path))
    return;
  const char *p = json_string_value(path);
  const struct inventory *inv = &c->sim->inv; /* the tree never changes */
  const struct entity *cur = inv->root;
  json_t *found = NULL;
  while (*p == '/')
    p++;
  while (*p && (cur || !found)) {
    size_t len = strcspn(p, "/");
    char *name = path_name(p, len);
    json_decref(found);
    found = cur ? path_child(inv, &cur, name) : NULL;
    free(name);
    p += len;
    while (*p == '/')
      p++;
    if (!found || (!cur && *p)) { /* nothing, or a path below a VM */
      json_decref(found);
      found = NULL;
      break;
    }
  }
  result(c, found ? found : json_null());
}

/* ---- routing ----------------------------------------------------------- */

struct route {
  const char *type;
  const char *moid; /* NULL: any (checked by the handler) */
  const char *name;
  bool post;
  bool auth;
  void (*fn)(struct ctx *c);
};

static const struct route routes[] = {
    {"ServiceInstance", "ServiceInstance", "content", false, false,
     service_content},
    {"ServiceInstance", "ServiceInstance", "RetrieveServiceContent", true,
     false, service_content},
    {"SessionManager", "SessionManager", "Login", true, false, login},
    {"SessionManager", "SessionManager", "Logout", true, false, logout},
    {"SessionManager", "SessionManager", "currentSession", false, false,
     current_session},
    {"GuestOperationsManager", "guestOperationsManager", "processManager",
     false, false, process_manager},
    {"GuestOperationsManager", "guestOperationsManager", "fileManager", false,
     false, file_manager},
    {"GuestProcessManager", "guestOperationsProcessManager",
     "StartProgramInGuest", true, true, start_program},
    {"GuestProcessManager", "guestOperationsProcessManager",
     "ListProcessesInGuest", true, true, list_processes},
    {"GuestProcessManager", "guestOperationsProcessManager",
     "TerminateProcessInGuest", true, true, terminate_process},
    {"GuestProcessManager", "guestOperationsProcessManager",
     "ReadEnvironmentVariableInGuest", true, true, read_environment},
#define GFM "GuestFileManager", "guestOperationsFileManager"
    {GFM, "CreateTemporaryFileInGuest", true, true, create_temporary_file},
    {GFM, "CreateTemporaryDirectoryInGuest", true, true,
     create_temporary_directory},
    {GFM, "DeleteFileInGuest", true, true, delete_file},
    {GFM, "DeleteDirectoryInGuest", true, true, delete_directory},
    {GFM, "MakeDirectoryInGuest", true, true, make_directory},
    {GFM, "ListFilesInGuest", true, true, list_files},
    {GFM, "MoveFileInGuest", true, true, move_file},
    {GFM, "MoveDirectoryInGuest", true, true, move_directory},
    {GFM, "ChangeFileAttributesInGuest", true, true, change_file_attributes},
    {GFM, "InitiateFileTransferFromGuest", true, true, transfer_from_guest},
    {GFM, "InitiateFileTransferToGuest", true, true, transfer_to_guest},
#undef GFM
    {"ViewManager", "ViewManager", "CreateContainerView", true, true,
     create_container_view},
    {"ContainerView", NULL, "DestroyView", true, true, destroy_view},
    {"PropertyCollector", "propertyCollector", "RetrievePropertiesEx", true,
     true, retrieve_properties},
    {"PropertyCollector", "propertyCollector", "ContinueRetrievePropertiesEx",
     true, true, continue_retrieve},
    {"SearchIndex", "SearchIndex", "FindByInventoryPath", true, true,
     find_by_inventory_path},
    {"VirtualMachine", NULL, "name", false, true, vm_name_read},
    {"VirtualMachine", NULL, "runtime", false, true, vm_runtime_read},
    {"VirtualMachine", NULL, "guest", false, true, vm_guest_read},
};

static bool release_served(struct sim *sim, const char *release) {
  for (size_t i = 0; i < sim->cfg.nreleases; i++)
    if (strcmp(sim->cfg.releases[i], release) == 0)
      return true;
  return false;
}

static void dispatch(struct ctx *c, const char *name) {
  const struct route *rt = NULL;
  bool type_known = false;
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    if (strcmp(routes[i].type, c->type) != 0)
      continue;
    type_known = true;
    if (strcmp(routes[i].name, name) == 0)
      rt = &routes[i];
  }
  if (!type_known || !rt) {
    reply_text(c->rp, 404, "Not Found");
    return;
  }
  if (rt->post != req_is(c->r, "POST") || (!rt->post && !req_is(c->r, "GET"))) {
    /* a method is POST, a property GET: say which, in the API's shape */
    char m[128];
    snprintf(m, sizeof m, "Method Not Allowed: %s takes %s, not %.20s.",
             rt->post ? "a method" : "a property", rt->post ? "POST" : "GET",
             c->r->method);
    fault_status(c, 405, "InvalidRequest", m, NULL);
    c->rp->allow = rt->post ? "POST" : "GET";
    return;
  }
  if (rt->auth && !authed(c))
    return;
  if (rt->moid && strcmp(rt->moid, c->moid) != 0) {
    object_not_found(c, c->type, c->moid);
    return;
  }
  if (rt->post && c->r->body_len > 0) {
    json_error_t e;
    c->body = json_loadb(c->r->body, c->r->body_len, 0, &e);
    if (!json_is_object(c->body)) {
      json_decref(c->body);
      c->body = NULL;
      fault(c, "InvalidRequest", "The request body is not a JSON object.",
            NULL);
      return;
    }
  }
  if (!c->body)
    c->body = json_object();
  rt->fn(c);
}

void vim25_handle(struct sim *sim, struct request *r, const char *path,
                  struct reply *rp) {
  char *copy = xstrdup(path), *seg[5], *save = NULL;
  size_t n = 0;
  for (char *t = strtok_r(copy, "/", &save); t && n < 5;
       t = strtok_r(NULL, "/", &save))
    seg[n++] = t;
  if (n != 4 || !release_served(sim, seg[0])) {
    reply_text(rp, 404, "Not Found");
  } else {
    struct ctx c = {sim, r, rp, seg[0], seg[1], seg[2], NULL};
    dispatch(&c, seg[3]);
    json_decref(c.body);
  }
  free(copy);
}
