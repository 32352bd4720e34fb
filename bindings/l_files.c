/*
 * Guest files: the Session methods that start vg_file_* ops (mktemp, stat,
 * list_files, mkdir, remove) and whole transfers (read_file, write_file,
 * upload, download). Above l_session.c: they add themselves to the
 * Session's methods (lvg_open_files).
 *
 * As everywhere in the bindings, each method checks every argument, then
 * makes the Op (user value: the Session), then starts the vg_op. The
 * runtime copies every input (paths, the bytes of write_file) before the
 * start function returns, so nothing else is anchored; the bytes of
 * read_file stay in the vg_op until core.step converts them.
 *
 * Guest operations take the optional last argument `call` (l_check.h);
 * the Lua layer binds self, the VM id and the credentials.
 */
#include <string.h>

#include <lauxlib.h>

#include "l_check.h"
#include "l_credentials.h"
#include "l_error.h"
#include "l_files.h"
#include "l_op.h"
#include "l_session.h"

/* What every guest file method starts with. */
typedef struct guestop {
  lvg_call c;
  vg_session *s;
  lvg_runtime *rt;
  const char *vm;
  const vg_credentials *cred;
} guestop;

/* self, the VM id (2) and the credentials (3); `callidx` is where the
   optional call name is. */
static guestop begin(lua_State *L, const char *own, int callidx) {
  guestop g;
  g.c = lvg_call_get(L, own, callidx, 3);
  g.s = lvg_session_check(L, &g.c, &g.rt);
  g.vm = lvg_checkvm(L, &g.c, 2);
  g.cred = lvg_checkcredentials(L, &g.c, 3);
  return g;
}

/* After lvg_op_new, a call's last allocation: a finalizer run there (or
   at any allocation before) may have closed the session or the
   credentials; they are checked again, and nothing allocates from here
   to the start of the op. */
static void again(lua_State *L, guestop *g) {
  g->s = lvg_session_check(L, &g->c, NULL);
  g->cred = lvg_checkcredentials(L, &g->c, 3);
}

/* An optional option table at idx (nil: none): checked against known.
   Returns 1 when there is one. */
static int options(lua_State *L, const lvg_call *c, int idx,
                   const char *const known[]) {
  if (lua_isnoneornil(L, idx))
    return 0;
  lvg_checkoptions(L, c, idx, known);
  return 1;
}

/*
 * File attributes of write_file and upload: mode (an integer 0..07777, or
 * a string of octal digits such as "0644"), owner and group (uid, gid:
 * integers >= 0), overwrite (boolean, default false: the Lua layer sets
 * its own default).
 */
static void attributes(lua_State *L, const lvg_call *c, int idx,
                       vg_file_attributes *a) {
  static const char *const known[] = {"mode", "owner", "group", "overwrite",
                                      NULL};
  static const char *const ids[] = {"owner", "group", NULL};
  int i, t;
  memset(a, 0, sizeof *a);
  a->owner = a->group = -1;
  if (!options(L, c, idx, known))
    return;
  a->overwrite = lvg_optfield_boolean(L, c, idx, "overwrite", 0);
  t = lvg_rawfield(L, idx, "mode");
  if (t == LUA_TSTRING) {
    const char *m = lua_tostring(L, -1);
    size_t len = strlen(m);
    unsigned v = 0;
    if (len == 0 || len > 5 || strspn(m, "01234567") != len ||
        lua_rawlen(L, -1) != len)
      lvg_argerror(L, c, idx,
                   "field 'mode' must be an integer or a string of octal "
                   "digits (\"0644\"), got a string that is neither");
    while (*m != '\0')
      v = v * 8 + (unsigned)(*m++ - '0');
    if (v > 07777)
      lvg_argerror(L, c, idx, "field 'mode' must be at most 07777 (4095)");
    a->has_mode = 1;
    a->mode = v;
  } else if (t != LUA_TNIL) {
    lua_Integer v = 0;
    int isint = 0;
    if (t == LUA_TNUMBER)
      v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < 0 || v > 07777)
      lvg_argerrorf(L, c, idx,
                    "field 'mode' must be an integer in 0..4095 (07777) or a "
                    "string of octal digits, got %s",
                    lvg_describe(L, -1));
    a->has_mode = 1;
    a->mode = (unsigned)v;
  }
  lua_pop(L, 1);
  for (i = 0; ids[i] != NULL; i++) {
    lua_Integer v = 0;
    int isint = 0;
    t = lvg_rawfield(L, idx, ids[i]);
    if (t != LUA_TNIL) {
      if (t == LUA_TNUMBER)
        v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 0 || v > 0x7fffffff)
        lvg_argerrorf(L, c, idx,
                      "field '%s' must be a non-negative integer (a numeric "
                      "id), got %s",
                      ids[i], lvg_describe(L, -1));
      if (i == 0)
        a->owner = (int64_t)v;
      else
        a->group = (int64_t)v;
    }
    lua_pop(L, 1);
  }
}

/* Session:mktemp(vm, cred [, {prefix=, suffix=, dir=, directory=}]
   [, call]) -> Op (result: the path) */
static int files_mktemp(lua_State *L) {
  static const char *const known[] = {"prefix", "suffix", "dir", "directory",
                                      NULL};
  guestop g = begin(L, "mktemp", 5);
  vg_mktemp_spec m;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&m, 0, sizeof m);
  if (options(L, &g.c, 4, known)) {
    m.prefix = lvg_optfield_string(L, &g.c, 4, "prefix", 0);
    m.suffix = lvg_optfield_string(L, &g.c, 4, "suffix", 0);
    m.dir = lvg_optfield_string(L, &g.c, 4, "dir", LVG_NONEMPTY);
    m.directory = lvg_optfield_boolean(L, &g.c, 4, "directory", 0);
  }
  lua_settop(L, 5);
  o = lvg_op_new(L, g.rt, 1, "mktemp", LVG_OP_PATH);
  again(L, &g);
  return lvg_op_start(
      L, o, vg_file_mktemp(g.s, g.vm, g.cred, &m, lvg_op_callback(), o, &op),
      &op);
}

typedef vg_status (*path_fn)(vg_session *, const char *, const vg_credentials *,
                             const char *, vg_callback, void *, vg_op **);

/* Session:stat / Session:list_files (vm, cred, path [, call]) */
static int path_call(lua_State *L, const char *name, path_fn fn,
                     lvg_op_kind kind) {
  guestop g = begin(L, name, 5);
  const char *path = lvg_checkpath(L, &g.c, 4, "path");
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 5);
  o = lvg_op_new(L, g.rt, 1, name, kind);
  again(L, &g);
  return lvg_op_start(
      L, o, fn(g.s, g.vm, g.cred, path, lvg_op_callback(), o, &op), &op);
}

static int files_stat(lua_State *L) {
  return path_call(L, "stat", vg_file_stat, LVG_OP_STAT);
}

static int files_list(lua_State *L) {
  return path_call(L, "list_files", vg_file_list, LVG_OP_FILES);
}

/* Session:mkdir(vm, cred, path [, {parents=}] [, call]) -> Op (true) */
static int files_mkdir(lua_State *L) {
  static const char *const known[] = {"parents", NULL};
  guestop g = begin(L, "mkdir", 6);
  const char *path = lvg_checkpath(L, &g.c, 4, "path");
  int parents = 0;
  vg_op *op = NULL;
  lvg_op *o;
  if (options(L, &g.c, 5, known))
    parents = lvg_optfield_boolean(L, &g.c, 5, "parents", 0);
  lua_settop(L, 6);
  o = lvg_op_new(L, g.rt, 1, "mkdir", LVG_OP_TRUE);
  again(L, &g);
  return lvg_op_start(L, o,
                      vg_file_mkdir(g.s, g.vm, g.cred, path, parents,
                                    lvg_op_callback(), o, &op),
                      &op);
}

/* Session:remove(vm, cred, path [, {directory=, recursive=}] [, call])
   -> Op (true). As vg_file_remove: recursive needs directory. */
static int files_remove(lua_State *L) {
  static const char *const known[] = {"directory", "recursive", NULL};
  guestop g = begin(L, "remove", 6);
  const char *path = lvg_checkpath(L, &g.c, 4, "path");
  unsigned flags = 0;
  vg_op *op = NULL;
  lvg_op *o;
  if (options(L, &g.c, 5, known)) {
    if (lvg_optfield_boolean(L, &g.c, 5, "directory", 0))
      flags |= VG_REMOVE_DIRECTORY;
    if (lvg_optfield_boolean(L, &g.c, 5, "recursive", 0)) {
      if (!(flags & VG_REMOVE_DIRECTORY))
        lvg_argerror(L, &g.c, 5, "field 'recursive' needs 'directory'");
      flags |= VG_REMOVE_RECURSIVE;
    }
  }
  lua_settop(L, 6);
  o = lvg_op_new(L, g.rt, 1, "remove", LVG_OP_TRUE);
  again(L, &g);
  return lvg_op_start(
      L, o,
      vg_file_remove(g.s, g.vm, g.cred, path, flags, lvg_op_callback(), o, &op),
      &op);
}

/* Session:read_file(vm, cred, path [, {max_bytes=}] [, call]) -> Op (the
   bytes). A file larger than max_bytes (default 64 MiB) fails the op. */
static int files_read(lua_State *L) {
  static const char *const known[] = {"max_bytes", NULL};
  guestop g = begin(L, "read_file", 6);
  const char *path = lvg_checkpath(L, &g.c, 4, "path");
  vg_transfer_spec to;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&to, 0, sizeof to);
  if (options(L, &g.c, 5, known)) {
    lua_Integer max;
    if (lvg_optfield_count(L, &g.c, 5, "max_bytes", LUA_MAXINTEGER, &max))
      to.max_bytes = (size_t)max;
  }
  lua_settop(L, 6);
  o = lvg_op_new(L, g.rt, 1, "read_file", LVG_OP_DATA);
  again(L, &g);
  return lvg_op_start(
      L, o,
      vg_file_download(g.s, g.vm, g.cred, path, &to, lvg_op_callback(), o, &op),
      &op);
}

/* Session:write_file(vm, cred, path, data [, attributes] [, call]) -> Op
   (true). data: a string, any bytes. */
static int files_write(lua_State *L) {
  guestop g = begin(L, "write_file", 7);
  const char *path = lvg_checkpath(L, &g.c, 4, "path");
  vg_file_attributes a;
  vg_transfer_spec from;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&from, 0, sizeof from);
  if (lua_type(L, 5) != LUA_TSTRING) /* never converts a number */
    lvg_typeerror(L, &g.c, 5, "string");
  from.data = lua_tolstring(L, 5, &from.len);
  attributes(L, &g.c, 6, &a);
  lua_settop(L, 7);
  o = lvg_op_new(L, g.rt, 1, "write_file", LVG_OP_TRUE);
  again(L, &g);
  return lvg_op_start(L, o,
                      vg_file_upload(g.s, g.vm, g.cred, path, &a, &from,
                                     lvg_op_callback(), o, &op),
                      &op);
}

/* Session:upload(vm, cred, local_path, guest_path [, attributes]
   [, call]) -> Op (true); the local file is streamed. */
static int files_upload(lua_State *L) {
  guestop g = begin(L, "upload", 7);
  const char *local = lvg_checklocal(L, &g.c, 4, "local path");
  const char *path = lvg_checkpath(L, &g.c, 5, "guest path");
  vg_file_attributes a;
  vg_transfer_spec from;
  vg_op *op = NULL;
  lvg_op *o;
  attributes(L, &g.c, 6, &a);
  lua_settop(L, 7);
  /* the runtime reads its size first: say why when it cannot */
  lvg_check_local_in(L, g.c.name, local);
  memset(&from, 0, sizeof from);
  from.local_path = local;
  o = lvg_op_new(L, g.rt, 1, "upload", LVG_OP_TRUE);
  again(L, &g);
  return lvg_op_start(L, o,
                      vg_file_upload(g.s, g.vm, g.cred, path, &a, &from,
                                     lvg_op_callback(), o, &op),
                      &op);
}

/* Session:download(vm, cred, guest_path, local_path [, call]) -> Op
   (true); streamed into the local file. */
static int files_download(lua_State *L) {
  guestop g = begin(L, "download", 6);
  const char *path = lvg_checkpath(L, &g.c, 4, "guest path");
  const char *local = lvg_checklocal(L, &g.c, 5, "local path");
  vg_transfer_spec to;
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 6);
  lvg_check_local_out(L, g.c.name, local);
  memset(&to, 0, sizeof to);
  to.local_path = local;
  o = lvg_op_new(L, g.rt, 1, "download", LVG_OP_TRUE);
  again(L, &g);
  return lvg_op_start(
      L, o,
      vg_file_download(g.s, g.vm, g.cred, path, &to, lvg_op_callback(), o, &op),
      &op);
}

void lvg_open_files(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"mktemp", files_mktemp},     {"stat", files_stat},
      {"list_files", files_list},   {"mkdir", files_mkdir},
      {"remove", files_remove},     {"read_file", files_read},
      {"write_file", files_write},  {"upload", files_upload},
      {"download", files_download}, {NULL, NULL}};
  luaL_getmetatable(L, LVG_SESSION);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 2);
}
