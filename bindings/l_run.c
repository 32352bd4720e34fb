/*
 * Running a command with its output captured (vg_run), the guest family
 * (vg_guest_os) and the quoting of argument vectors (vg_command_line).
 * Above l_session.c: Session:run and Session:guest_os are added to the
 * Session's methods (lvg_open_run).
 *
 * Session:run(vm, cred, spec [, call]) takes one table: the argument
 * vector in its array part ({ "/usr/bin/printf", "%s\n", "it's" }) or
 * `command` (shell text, untouched), and named options. Every value is
 * copied by vg_run before it returns (the stdin bytes too), so only the
 * Session is kept by the Op. A run is stopped with Op:stop (l_op.c:
 * vg_run_stop), which lets its clean-up in the guest finish before the op
 * completes.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "l_check.h"
#include "l_credentials.h"
#include "l_error.h"
#include "l_op.h"
#include "l_run.h"
#include "l_session.h"

/* Longest timeout accepted, in seconds: a year (as core.session's). */
#define MAX_TIMEOUT_S 31536000

static const char *const os_names[] = {"auto", "posix", "windows", NULL};
static const vg_os os_values[] = {VG_OS_AUTO, VG_OS_POSIX, VG_OS_WINDOWS};
static const char *const env_modes[] = {"merge", "replace", NULL};

/*
 * The keys of a run spec: 1..#t (the argument vector) and the names in
 * known; anything else is "unknown option".
 */
static void checkspec(lua_State *L, const lvg_call *c, int idx,
                      const char *const known[]) {
  lua_Integer n;
  if (lua_type(L, idx) != LUA_TTABLE)
    lvg_typeerror(L, c, idx, "table");
  n = (lua_Integer)lua_rawlen(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int i;
    lua_pop(L, 1); /* value */
    if (lua_type(L, -1) == LUA_TNUMBER) {
      int isint = 0;
      lua_Integer k = lua_tointegerx(L, -1, &isint);
      if (isint && k >= 1 && k <= n)
        continue;
      lvg_argerrorf(L, c, idx,
                    "the argument vector must be an array (keys 1..n), got "
                    "key %s",
                    lvg_describe(L, -1));
    }
    if (lua_type(L, -1) != LUA_TSTRING)
      lvg_argerrorf(L, c, idx, "option names must be strings, got %s",
                    lvg_typename(L, -1));
    for (i = 0; known[i] != NULL; i++)
      if (strcmp(known[i], lua_tostring(L, -1)) == 0)
        break;
    if (known[i] == NULL)
      lvg_argerrorf(L, c, idx, "unknown option '%s'", lua_tostring(L, -1));
  }
}

/* Pushes a userdata holding the NULL-terminated argument vector of the
   table at idx (its strings kept by the table); NULL when it has none. */
static const char *const *checkargv(lua_State *L, const lvg_call *c, int idx) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, idx);
  const char **v;
  if (n == 0)
    return NULL;
  v = (const char **)lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
      lvg_argerrorf(L, c, idx,
                    "argument vector element %I must be a string, got %s", i,
                    lvg_typename(L, -1));
    s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
      lvg_argerrorf(L, c, idx, "argument vector element %I contains a NUL byte",
                    i);
    if (!lvg_utf8(s, len))
      lvg_argerrorf(L, c, idx, "argument vector element %I is not valid UTF-8",
                    i);
    if (i == 1 && len == 0)
      lvg_argerror(L, c, idx,
                   "argument vector element 1 (the program) must not be "
                   "empty");
    v[i - 1] = s;
    lua_pop(L, 1); /* kept by the table */
  }
  v[n] = NULL;
  return v;
}

/* One of two names for a field (the second kept from g:create's
   vocabulary): at most one may be given. Returns the name used, or the
   first when neither is. */
static const char *alias(lua_State *L, const lvg_call *c, int idx,
                         const char *name, const char *old) {
  int a = lvg_rawfield(L, idx, name) != LUA_TNIL;
  int b = lvg_rawfield(L, idx, old) != LUA_TNIL;
  lua_pop(L, 2);
  if (a && b)
    lvg_argerrorf(L, c, idx, "fields '%s' and '%s' are exclusive", name, old);
  return b ? old : name;
}

/* Field 'stdin': a string (any bytes), or {file = local path}. */
static void checkstdin(lua_State *L, const lvg_call *c, int idx,
                       vg_transfer_spec *in) {
  static const char *const known[] = {"file", NULL};
  int t = lvg_rawfield(L, idx, "stdin");
  memset(in, 0, sizeof *in);
  if (t == LUA_TSTRING) {
    in->data = lua_tolstring(L, -1, &in->len); /* kept by the table */
  } else if (t == LUA_TTABLE) {
    int sub = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, sub) != 0) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING ||
          strcmp(lua_tostring(L, -1), known[0]) != 0)
        lvg_argerrorf(L, c, idx, "field 'stdin': unknown option '%s'",
                      lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                     : lvg_typename(L, -1));
    }
    if (lvg_rawfield(L, sub, "file") != LUA_TSTRING || lua_rawlen(L, -1) == 0 ||
        strlen(lua_tostring(L, -1)) != lua_rawlen(L, -1))
      lvg_argerrorf(L, c, idx,
                    "field 'stdin': field 'file' must be a non-empty string "
                    "(a local path), got %s",
                    lua_type(L, -1) == LUA_TSTRING ? "an empty string or a "
                                                     "NUL byte"
                                                   : lvg_typename(L, -1));
    in->local_path = lua_tostring(L, -1);
    lua_pop(L, 1); /* kept by the stdin table */
    lvg_check_local_in(L, c->name, in->local_path);
  } else if (t != LUA_TNIL) {
    lvg_argerrorf(L, c, idx,
                  "field 'stdin' must be a string or a table {file=...}, got "
                  "%s",
                  lvg_typename(L, -1));
  }
  lua_pop(L, 1); /* kept by the spec table */
}

/* Session:run(vm, cred, {argv... | command=, os=, cwd=, env=, env_mode=,
   stdin=, timeout=, max_output=, stdout_file=, stderr_file=} [, call])
   -> Op (result: {exit_code, stdout, stderr, pid, started, finished,
   stdout_truncated?, stderr_truncated?}) */
static int session_run(lua_State *L) {
  static const char *const known[] = {
      "command",     "os",          "cwd",   "working_directory", "env",
      "environment", "env_mode",    "stdin", "timeout",           "max_output",
      "stdout_file", "stderr_file", NULL};
  lvg_call c = lvg_call_get(L, "run", 5, 3);
  lvg_runtime *rt;
  vg_session *s = lvg_session_check(L, &c, &rt);
  const char *vm = lvg_checkvm(L, &c, 2);
  const vg_credentials *cred = lvg_checkcredentials(L, &c, 3);
  const char *field;
  vg_run_spec r;
  vg_op *op = NULL;
  lvg_op *o;
  double timeout;
  lua_Integer max;
  int i;

  memset(&r, 0, sizeof r);
  checkspec(L, &c, 4, known); /* before settop: "got no value" */
  lua_settop(L, 5);
  r.argv = checkargv(L, &c, 4); /* stays on the stack */
  r.command = lvg_optfield_string(L, &c, 4, "command", LVG_NONEMPTY);
  if (r.argv != NULL && r.command != NULL)
    lvg_argerror(L, &c, 4,
                 "an argument vector and field 'command' are exclusive");
  if (r.argv == NULL && r.command == NULL)
    lvg_argerror(L, &c, 4,
                 "a program is required: {program, arguments...} or field "
                 "'command'");
  i = lvg_optfield_choice(L, &c, 4, "os", os_names);
  r.os = i >= 0 ? os_values[i] : VG_OS_AUTO;
  field = alias(L, &c, 4, "cwd", "working_directory");
  r.cwd = lvg_optfield_string(L, &c, 4, field, LVG_NONEMPTY);
  field = alias(L, &c, 4, "env", "environment");
  if (lvg_rawfield(L, 4, field) != LUA_TNIL)
    r.env = lvg_checkenv(L, &c, -1, 4, field); /* stays on the stack */
  i = lvg_optfield_choice(L, &c, 4, "env_mode", env_modes);
  r.env_mode = i == 1 ? VG_ENV_REPLACE : VG_ENV_MERGE;
  checkstdin(L, &c, 4, &r.stdin_from);
  if (lvg_optfield_number(L, &c, 4, "timeout", &timeout)) {
    if (!(timeout > 0) || timeout > MAX_TIMEOUT_S) {
      lvg_rawfield(L, 4, "timeout"); /* shown as given */
      if (!(timeout > 0))
        lvg_argerrorf(L, &c, 4,
                      "field 'timeout' must be a positive number of seconds, "
                      "got %s",
                      lvg_describe(L, -1));
      lvg_argerrorf(L, &c, 4,
                    "field 'timeout' must be at most %d seconds, got %s",
                    MAX_TIMEOUT_S, lvg_describe(L, -1));
    }
    r.timeout_ms = (long)(timeout * 1000.0 + 0.5);
    if (r.timeout_ms < 1)
      r.timeout_ms = 1; /* 0 would mean none */
  }
  if (lvg_optfield_count(L, &c, 4, "max_output", LUA_MAXINTEGER, &max))
    r.max_output = (size_t)max;
  r.stdout_file =
      lvg_optfield_string(L, &c, 4, "stdout_file", LVG_NONEMPTY | LVG_LOCAL);
  r.stderr_file =
      lvg_optfield_string(L, &c, 4, "stderr_file", LVG_NONEMPTY | LVG_LOCAL);
  /* before any I/O, and because the runtime would take a local file it
     cannot create for an output the program never wrote */
  if (r.stdout_file != NULL)
    lvg_check_local_out(L, c.name, r.stdout_file);
  if (r.stderr_file != NULL)
    lvg_check_local_out(L, c.name, r.stderr_file);
  o = lvg_op_new(L, rt, 1, "run", LVG_OP_RUN);
  /* a finalizer run at an allocation since they were checked may have
     closed the session or the credentials (l_files.c: again) */
  s = lvg_session_check(L, &c, NULL);
  cred = lvg_checkcredentials(L, &c, 3);
  return lvg_op_start(L, o, vg_run(s, vm, cred, &r, lvg_op_callback(), o, &op),
                      &op);
}

/* Session:guest_os(vm [, call]) -> Op (result: "posix" | "windows") */
static int session_guest_os(lua_State *L) {
  return lvg_session_vm_op(L, "guest_os", LVG_OP_OS, vg_guest_os);
}

/* core.command_line(os, argv) -> the command line of argv quoted for the
   guest family os ("posix" or "windows"). */
int lvg_core_command_line(lua_State *L) {
  static const char *const families[] = {"posix", "windows", NULL};
  lvg_call c = lvg_call_get(L, "command_line", 0, 0);
  const char *const *argv;
  char *line = NULL;
  vg_status st;
  const char *os;
  int i;
  if (lua_type(L, 1) != LUA_TSTRING)
    lvg_typeerror(L, &c, 1, "string");
  os = lua_tostring(L, 1);
  for (i = 0; families[i] != NULL; i++)
    if (strcmp(families[i], os) == 0)
      break;
  if (families[i] == NULL)
    lvg_argerror(L, &c, 1, "guest family must be 'posix' or 'windows'");
  if (lua_type(L, 2) != LUA_TTABLE)
    lvg_typeerror(L, &c, 2, "table");
  lua_settop(L, 2);
  argv = checkargv(L, &c, 2);
  if (argv == NULL)
    lvg_argerror(L, &c, 2, "the argument vector is empty");
  st = vg_command_line(i == 1 ? VG_OS_WINDOWS : VG_OS_POSIX, argv, &line);
  if (st == VG_EINVALID)
    lvg_argerror(L, &c, 2,
                 "an argument holds a line break, which cmd.exe "
                 "cannot carry");
  if (st != VG_OK)
    return lvg_raisestatus(L, c.name, st, NULL);
  lua_pushstring(L, line);
  free(line);
  return 1;
}

void lvg_open_run(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"run", session_run}, {"guest_os", session_guest_os}, {NULL, NULL}};
  luaL_getmetatable(L, LVG_SESSION);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 2);
}
