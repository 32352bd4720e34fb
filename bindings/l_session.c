/*
 * vguest.Session: a vCenter session and the guest operations started on it.
 *
 * Every operation method checks its arguments completely, then creates the
 * Op userdata (user value 2 = this Session, so the session outlives its
 * pending ops), then starts the vg_op. The runtime copies every input
 * before the start function returns, so nothing else is anchored.
 *
 * close, __close and __gc share one idempotent function. Closing frees the
 * vg_session: its pending ops complete with "canceled" at the next
 * core.step, and a logged-in session is logged out in the background.
 */
#include <math.h>
#include <string.h>

#include "l_util.h"

static void link_session(lvg_runtime *rt, lvg_session *s) {
  s->prev = NULL;
  s->next = rt->sessions;
  if (rt->sessions != NULL)
    rt->sessions->prev = s;
  rt->sessions = s;
}

static void unlink_session(lvg_runtime *rt, lvg_session *s) {
  if (s->prev != NULL)
    s->prev->next = s->next;
  else if (rt->sessions == s)
    rt->sessions = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

void lvg_session_freeall(lvg_runtime *rt) {
  while (rt->sessions != NULL) {
    lvg_session *s = rt->sessions;
    unlink_session(rt, s);
    vg_session_free(s->s);
    s->s = NULL;
  }
}

static lvg_session *checksession(lua_State *L) {
  lvg_session *s = (lvg_session *)luaL_checkudata(L, 1, LVG_SESSION);
  if (s->s == NULL)
    luaL_error(L, "attempt to use a closed vguest.Session");
  if (s->rt->rt == NULL)
    luaL_error(L, "the vguest runtime of this Lua state is closed");
  return s;
}

/* core.session{server=, user=, password=Secret, protocol=, release=,
   ca_file=, thumbprint=, insecure=, timeout=, max_connections=} */
int lvg_core_session(lua_State *L) {
  static const char *const known[] = {"server",          "user",     "password",
                                      "protocol",        "release",  "ca_file",
                                      "thumbprint",      "insecure", "timeout",
                                      "max_connections", NULL};
  static const char *const protocols[] = {"auto", "api", "rest", "vim25", NULL};
  static const vg_protocol protocol_values[] = {
      VG_PROTOCOL_AUTO, VG_PROTOCOL_API, VG_PROTOCOL_REST, VG_PROTOCOL_VIM25};
  lvg_runtime *rt = lvg_getruntime(L);
  vg_session_options o;
  const char *protocol, *why = NULL;
  lvg_session *s;
  double timeout;
  lua_Integer maxconn;
  int i;
  vg_status st;

  memset(&o, 0, sizeof o);
  lvg_checkoptions(L, 1, known);
  o.server = lvg_optfield_string(L, 1, "server", 1);
  o.user = lvg_optfield_string(L, 1, "user", 1);
  o.password = lvg_optfield_secret(L, 1, "password", 1);
  protocol = lvg_optfield_string(L, 1, "protocol", 0);
  if (protocol == NULL)
    protocol = "auto";
  for (i = 0; protocols[i] != NULL; i++)
    if (strcmp(protocols[i], protocol) == 0)
      break;
  if (protocols[i] == NULL)
    luaL_argerror(L, 1,
                  lua_pushfstring(L,
                                  "field 'protocol' must be one of 'auto', "
                                  "'api', 'rest', 'vim25' (got '%s')",
                                  protocol));
  o.protocol = protocol_values[i];
  o.release = lvg_optfield_string(L, 1, "release", 0);
  o.ca_file = lvg_optfield_string(L, 1, "ca_file", 0);
  o.thumbprint = lvg_optfield_string(L, 1, "thumbprint", 0);
  o.insecure = lvg_optfield_boolean(L, 1, "insecure", 0);
  timeout = lvg_optfield_number(L, 1, "timeout", -HUGE_VAL);
  if (timeout != -HUGE_VAL) { /* given */
    if (!(timeout > 0) || timeout > 86400.0 * 365)
      luaL_argerror(L, 1,
                    "field 'timeout' must be a positive number of "
                    "seconds");
    o.timeout_ms = (long)(timeout * 1000.0 + 0.5);
    if (o.timeout_ms < 1)
      o.timeout_ms = 1; /* 0 would mean the default */
  }
  maxconn = lvg_optfield_integer(L, 1, "max_connections", LUA_MININTEGER);
  if (maxconn != LUA_MININTEGER) { /* given */
    if (maxconn < 1 || maxconn > 65536)
      luaL_argerror(L, 1,
                    "field 'max_connections' must be a positive "
                    "integer");
    o.max_connections = (long)maxconn;
  }

  /* Created closed, metatable set, then opened. */
  s = (lvg_session *)lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  s->rt = rt;
  s->requested_protocol = protocols[i];
  luaL_setmetatable(L, LVG_SESSION);
  lvg_pushruntime(L);
  lua_setiuservalue(L, -2, LVG_UV_RUNTIME);
  st = vg_session_new(rt->rt, &o, &s->s, &why);
  if (st != VG_OK) {
    s->s = NULL;
    if (st == VG_EMISUSE)
      return luaL_argerror(L, 1, why != NULL ? why : vg_status_text(st));
    return lvg_raisestatus(L, st, why);
  }
  link_session(rt, s);
  return 1;
}

/* ---------------------------------------------------------------------- */
/* Argument checks                                                         */

static const char *checkvm(lua_State *L, int arg) {
  size_t len;
  const char *vm;
  luaL_checktype(L, arg, LUA_TSTRING);
  vm = lua_tolstring(L, arg, &len);
  luaL_argcheck(L, len > 0 && strlen(vm) == len, arg, "invalid VM id");
  return vm;
}

static int64_t checkpid(lua_State *L, int arg) {
  lua_Integer pid;
  int isnum;
  luaL_checktype(L, arg, LUA_TNUMBER);
  pid = lua_tointegerx(L, arg, &isnum);
  luaL_argcheck(L, isnum && pid > 0, arg, "pid must be a positive integer");
  return (int64_t)pid;
}

/* ---------------------------------------------------------------------- */
/* Operations                                                              */

/* op is read through a pointer: C does not order the evaluation of
   arguments, so startop(L, o, vg_x(..., &op), op) could read op first. */
static int startop(lua_State *L, lvg_op *o, vg_status st, vg_op *const *op) {
  lvg_op_started(L, o, st, *op);
  return 1;
}

static int session_login(lua_State *L) {
  lvg_session *s = checksession(L);
  vg_op *op = NULL;
  lvg_op *o = lvg_op_new(L, s->rt, 1, "login", LVG_OP_TRUE);
  return startop(L, o, vg_session_login(s->s, lvg_op_callback(), o, &op), &op);
}

static int session_logout(lua_State *L) {
  lvg_session *s = checksession(L);
  vg_op *op = NULL;
  lvg_op *o = lvg_op_new(L, s->rt, 1, "logout", LVG_OP_TRUE);
  return startop(L, o, vg_session_logout(s->s, lvg_op_callback(), o, &op), &op);
}

/* Session:vms{names=, ids=, power_state=} */
static int session_vms(lua_State *L) {
  static const char *const known[] = {"names", "ids", "power_state", NULL};
  lvg_session *s = checksession(L);
  vg_vm_filter f;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&f, 0, sizeof f);
  if (!lua_isnoneornil(L, 2)) {
    lvg_checkoptions(L, 2, known);
    lua_settop(L, 2);
    if (lua_getfield(L, 2, "names") != LUA_TNIL)
      f.names = lvg_checkstringarray(L, -1, 2, "names"); /* keeps both */
    if (lua_getfield(L, 2, "ids") != LUA_TNIL)
      f.ids = lvg_checkstringarray(L, -1, 2, "ids");
    f.power_state = lvg_optfield_string(L, 2, "power_state", 0);
    if (f.power_state != NULL && strcmp(f.power_state, "POWERED_ON") != 0 &&
        strcmp(f.power_state, "POWERED_OFF") != 0 &&
        strcmp(f.power_state, "SUSPENDED") != 0)
      luaL_argerror(L, 2,
                    lua_pushfstring(L,
                                    "field 'power_state' must be one of "
                                    "'POWERED_ON', 'POWERED_OFF', "
                                    "'SUSPENDED' (got '%s')",
                                    f.power_state));
  }
  o = lvg_op_new(L, s->rt, 1, "vms", LVG_OP_VMS);
  return startop(L, o, vg_vm_list(s->s, &f, lvg_op_callback(), o, &op), &op);
}

/*
 * Pushes a userdata holding the NULL-terminated "K=V" array for the
 * environment table at idx, and below it a table keeping the strings.
 */
static const char *const *checkenv(lua_State *L, int idx, int arg) {
  lua_Integer n = 0, i;
  const char **v;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushvalue(L, idx);
    lvg_fielderror(L, arg, "environment", "a table");
  }
  lua_newtable(L); /* the "K=V" strings */
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    size_t klen;
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING ||
        (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      luaL_argerror(L, arg,
                    lua_pushfstring(L,
                                    "field 'environment' must map names to "
                                    "strings, got %s = %s",
                                    lvg_typename(L, -2), lvg_typename(L, -1)));
    k = lua_tolstring(L, -2, &klen);
    if (klen == 0 || strchr(k, '=') != NULL || strlen(k) != klen)
      luaL_argerror(L, arg,
                    lua_pushfstring(L,
                                    "invalid environment variable name "
                                    "'%s'",
                                    k));
    lua_pushvalue(L, -2); /* key */
    lua_pushliteral(L, "=");
    lua_pushvalue(L, -3); /* value (number converted on this copy) */
    lua_concat(L, 3);
    lua_rawseti(L, -4, ++n);
    lua_pop(L, 1); /* value */
  }
  v = (const char **)lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    v[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1); /* kept by the table below */
  }
  v[n] = NULL;
  return v;
}

/* Session:create(vm, cred, {path=, arguments=, working_directory=,
   environment={K="V"}, start_minimized=}) */
static int session_create(lua_State *L) {
  static const char *const known[] = {
      "path",        "arguments",       "working_directory",
      "environment", "start_minimized", NULL};
  lvg_session *s = checksession(L);
  const char *vm = checkvm(L, 2);
  const vg_credentials *c = lvg_checkcredentials(L, 3);
  vg_program_spec p;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&p, 0, sizeof p);
  lvg_checkoptions(L, 4, known);
  lua_settop(L, 4);
  p.path = lvg_optfield_string(L, 4, "path", 1);
  p.arguments = lvg_optfield_string(L, 4, "arguments", 0);
  p.working_directory = lvg_optfield_string(L, 4, "working_directory", 0);
  p.start_minimized = lvg_optfield_boolean(L, 4, "start_minimized", 0);
  if (lua_getfield(L, 4, "environment") != LUA_TNIL)
    p.env = checkenv(L, -1, 4); /* stays on the stack */
  o = lvg_op_new(L, s->rt, 1, "create", LVG_OP_PID);
  return startop(
      L, o, vg_process_create(s->s, vm, c, &p, lvg_op_callback(), o, &op), &op);
}

typedef vg_status (*pid_fn)(vg_session *, const char *, const vg_credentials *,
                            int64_t, vg_callback, void *, vg_op **);

/* Session:get / Session:delete (vm, cred, pid) */
static int pid_call(lua_State *L, const char *name, pid_fn fn,
                    lvg_op_kind result) {
  lvg_session *s = checksession(L);
  const char *vm = checkvm(L, 2);
  const vg_credentials *c = lvg_checkcredentials(L, 3);
  int64_t pid = checkpid(L, 4);
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 4);
  o = lvg_op_new(L, s->rt, 1, name, result);
  return startop(L, o, fn(s->s, vm, c, pid, lvg_op_callback(), o, &op), &op);
}

static int session_get(lua_State *L) {
  return pid_call(L, "get", vg_process_get, LVG_OP_INFO);
}

static int session_delete(lua_State *L) {
  return pid_call(L, "delete", vg_process_delete, LVG_OP_TRUE);
}

/* Session:list(vm, cred [, pids]) */
static int session_list(lua_State *L) {
  lvg_session *s = checksession(L);
  const char *vm = checkvm(L, 2);
  const vg_credentials *c = lvg_checkcredentials(L, 3);
  int64_t *pids = NULL;
  size_t n = 0, i;
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 4);
  if (!lua_isnil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    n = lua_rawlen(L, 4);
    pids = (int64_t *)lua_newuserdatauv(L, (n > 0 ? n : 1) * sizeof *pids, 0);
    for (i = 0; i < n; i++) {
      lua_Integer pid;
      int isnum;
      lua_rawgeti(L, 4, (lua_Integer)i + 1);
      pid = lua_tointegerx(L, -1, &isnum);
      if (lua_type(L, -1) != LUA_TNUMBER || !isnum || pid <= 0)
        luaL_argerror(L, 4,
                      lua_pushfstring(L,
                                      "pids must be positive integers, got "
                                      "%s at index %d",
                                      lvg_typename(L, -1), (int)i + 1));
      pids[i] = (int64_t)pid;
      lua_pop(L, 1);
    }
  }
  o = lvg_op_new(L, s->rt, 1, "list", LVG_OP_LIST);
  return startop(
      L, o, vg_process_list(s->s, vm, c, pids, n, lvg_op_callback(), o, &op),
      &op);
}

/* Session:env(vm, cred [, names]) */
static int session_env(lua_State *L) {
  lvg_session *s = checksession(L);
  const char *vm = checkvm(L, 2);
  const vg_credentials *c = lvg_checkcredentials(L, 3);
  const char *const *names = NULL;
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 4);
  if (!lua_isnil(L, 4))
    names = lvg_checkstringarray(L, 4, 4, NULL);
  o = lvg_op_new(L, s->rt, 1, "env", LVG_OP_ENV);
  return startop(
      L, o, vg_guest_env(s->s, vm, c, names, lvg_op_callback(), o, &op), &op);
}

/* ---------------------------------------------------------------------- */
/* Information, close                                                      */

static const char *nz(const char *s) {
  return s != NULL ? s : "?";
}

static void setstring(lua_State *L, const char *k, const char *v) {
  if (v != NULL) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

/* Session:info() -> table; never a secret */
static int session_info(lua_State *L) {
  lvg_session *s = checksession(L);
  lua_createtable(L, 0, 6);
  setstring(L, "server", vg_session_server(s->s));
  setstring(L, "user", vg_session_user(s->s));
  setstring(L, "protocol", vg_session_protocol(s->s));
  setstring(L, "release", vg_session_release(s->s));
  lua_pushboolean(L, vg_session_logged_in(s->s));
  lua_setfield(L, -2, "logged_in");
  lua_pushboolean(L, vg_session_list_has_exit_codes(s->s));
  lua_setfield(L, -2, "list_has_exit_codes");
  return 1;
}

/* The one close function behind close, __close and __gc. */
static int session_close(lua_State *L) {
  lvg_session *s = (lvg_session *)luaL_checkudata(L, 1, LVG_SESSION);
  if (s->s != NULL) {
    unlink_session(s->rt, s);
    vg_session_free(s->s);
    s->s = NULL;
  }
  return 0;
}

static int session_closed(lua_State *L) {
  lvg_session *s = (lvg_session *)luaL_checkudata(L, 1, LVG_SESSION);
  lua_pushboolean(L, s->s == NULL);
  return 1;
}

static int session_tostring(lua_State *L) {
  lvg_session *s = (lvg_session *)luaL_checkudata(L, 1, LVG_SESSION);
  const char *protocol;
  if (s->s == NULL) {
    lua_pushliteral(L, "vguest.Session (closed)");
    return 1;
  }
  protocol = vg_session_protocol(s->s);
  lua_pushfstring(L, "vguest.Session (%s, user=%s, protocol=%s, %s)",
                  nz(vg_session_server(s->s)), nz(vg_session_user(s->s)),
                  protocol != NULL ? protocol : s->requested_protocol,
                  vg_session_logged_in(s->s) ? "logged in" : "not logged in");
  return 1;
}

void lvg_open_session(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"login", session_login},   {"logout", session_logout},
      {"vms", session_vms},       {"create", session_create},
      {"get", session_get},       {"list", session_list},
      {"delete", session_delete}, {"env", session_env},
      {"info", session_info},     {"close", session_close},
      {"closed", session_closed}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", session_close},
                                  {"__close", session_close},
                                  {"__tostring", session_tostring},
                                  {NULL, NULL}};
  if (luaL_newmetatable(L, LVG_SESSION)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}
