/*
 * vguest.Session: a vCenter session and the guest operations started on it.
 *
 * Every operation method checks its arguments completely, then creates the
 * Op userdata (user value 2 = this Session, so the session outlives its
 * pending ops), then starts the vg_op. The runtime copies every input
 * before the start function returns, so nothing else is anchored.
 *
 * Methods whose arguments come from a caller take an optional last
 * argument, the name of the caller's call (l_check.h): the Lua layer binds
 * self, the VM id and the credentials; the caller's argument #1 is the one
 * after them.
 *
 * close, __close and __gc share one idempotent function. Closing frees the
 * vg_session: its pending ops complete with "canceled" at the next
 * core.step, and a logged-in session is logged out in the background.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>

#include "l_check.h"
#include "l_credentials.h"
#include "l_error.h"
#include "l_op.h"
#include "l_runtime.h"
#include "l_secret.h"
#include "l_session.h"

typedef struct lvg_session {
  lvg_tracked tracked;            /* in rt while open */
  vg_session *s;                  /* NULL when closed */
  lvg_runtime *rt;                /* kept alive by user value 1 */
  const char *requested_protocol; /* static: "auto", "api", ... */
} lvg_session;

#define UV_RUNTIME 1

/* Room for the flavour names of the runtime's registry. */
#define MAX_PROTOCOLS 16

static const char *const power_states[] = {"POWERED_ON", "POWERED_OFF",
                                           "SUSPENDED", NULL};

/* Longest timeout accepted, in seconds: a year. */
#define MAX_TIMEOUT_S 31536000

/* Runtime __gc of a session still open (lvg_runtime_track). */
static void release(lvg_tracked *t) {
  lvg_session *s =
      (lvg_session *)(void *)((char *)t - offsetof(lvg_session, tracked));
  vg_session_free(s->s);
  s->s = NULL;
}

/* self of a method: an open Session */
static lvg_session *checksession(lua_State *L, const lvg_call *c) {
  lvg_session *s = (lvg_session *)lvg_checkself(L, c, 1, LVG_SESSION);
  if (s->s == NULL)
    luaL_error(L, "attempt to use a closed " LVG_SESSION);
  if (s->rt->rt == NULL)
    luaL_error(L, "the vguest runtime of this Lua state is closed");
  return s;
}

/*
 * After lvg_op_new, a call's last allocation: a finalizer that ran there
 * (or at any allocation before) may have closed the session or the
 * credentials the call checked. They are checked again, and nothing
 * allocates from here to the start of the op.
 */
static void again(lua_State *L, const lvg_call *c,
                  const vg_credentials **cred) {
  checksession(L, c);
  if (cred != NULL)
    *cred = lvg_checkcredentials(L, c, 3);
}

vg_session *lvg_session_check(lua_State *L, const lvg_call *c,
                              lvg_runtime **rt) {
  lvg_session *s = checksession(L, c);
  if (rt != NULL)
    *rt = s->rt;
  return s->s;
}

/*
 * Field 'transfer_thumbprint' of the option table at idx: a string (one
 * pin for every transfer host) into o->transfer_thumbprint, or a table
 * host -> thumbprint into o->transfer_pins ("host=thumbprint" strings,
 * kept by a table and a userdata left on the stack).
 */
static void transfer_pins(lua_State *L, const lvg_call *c, int idx,
                          vg_session_options *o) {
  static const char field[] = "transfer_thumbprint";
  static const char expected[] =
      "a string or a table mapping host names to thumbprints";
  lua_Integer n = 0, i;
  const char **v;
  int t = lvg_rawfield(L, idx, field);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (t == LUA_TSTRING) {
    lua_pop(L, 1);
    o->transfer_thumbprint = lvg_optfield_string(L, c, idx, field, 0);
    return;
  }
  if (t != LUA_TTABLE)
    lvg_argerrorf(L, c, idx, "field '%s' must be %s, got %s", field, expected,
                  lvg_typename(L, -1));
  lua_newtable(L); /* the "host=thumbprint" strings */
  lua_pushnil(L);
  while (lua_next(L, -3) != 0) {
    size_t hlen, tlen;
    const char *host, *tp;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      lvg_argerrorf(L, c, idx, "field '%s' must be %s, got %s = %s", field,
                    expected, lvg_typename(L, -2), lvg_typename(L, -1));
    host = lua_tolstring(L, -2, &hlen);
    tp = lua_tolstring(L, -1, &tlen);
    if (hlen == 0 || strlen(host) != hlen || strchr(host, '=') != NULL)
      lvg_argerrorf(L, c, idx,
                    "field '%s' has a host name that is empty or holds '=' "
                    "or a NUL byte",
                    field);
    if (strlen(tp) != tlen)
      lvg_argerrorf(L, c, idx, "field '%s' has a thumbprint with a NUL byte",
                    field);
    lua_pushvalue(L, -2);
    lua_pushliteral(L, "=");
    lua_pushvalue(L, -3);
    lua_concat(L, 3);
    lua_rawseti(L, -4, ++n);
    lua_pop(L, 1); /* thumbprint */
  }
  v = (const char **)lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    v[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1); /* kept by the table below */
  }
  v[n] = NULL;
  o->transfer_pins = v;
}

/* core.session({server=, user=, password=Secret, protocol=, release=,
   ca_file=, thumbprint=, insecure=, timeout=, max_connections=,
   transfer_thumbprint=, insecure_transfers=} [, call]) */

/* Does the server URL carry user info ("user:pw@") in its authority? */
static int has_userinfo(const char *server) {
  const char *a = server ? strstr(server, "://") : NULL;
  a = a ? a + 3 : server;
  if (!a)
    return 0;
  size_t n = strcspn(a, "/?#");
  return memchr(a, '@', n) != NULL;
}

int lvg_core_session(lua_State *L) {
  static const char *const known[] = {"server",
                                      "user",
                                      "password",
                                      "protocol",
                                      "release",
                                      "ca_file",
                                      "thumbprint",
                                      "insecure",
                                      "timeout",
                                      "max_connections",
                                      "transfer_thumbprint",
                                      "insecure_transfers",
                                      NULL};
  lvg_runtime *rt = lvg_runtime_get(L);
  lvg_call c = lvg_call_get(L, "session", 2, 0);
  const char *protocols[MAX_PROTOCOLS + 1];
  vg_session_options o;
  const char *why = NULL;
  lvg_session *s;
  double timeout;
  lua_Integer maxconn;
  int p, userinfo;
  vg_status st;

  memset(&o, 0, sizeof o);
  /* the names from the runtime's one registry, in its order */
  for (p = 0; p < MAX_PROTOCOLS && vg_protocol_name((vg_protocol)p); p++)
    protocols[p] = vg_protocol_name((vg_protocol)p);
  protocols[p] = NULL;
  lvg_checkoptions(L, &c, 1, known);
  /* a Secret when the URL carries a password (VGUEST_SERVER's, taken
     from the environment by l_secret.c) */
  if (lua_getfield(L, 1, "server") == LUA_TUSERDATA) {
    lua_pop(L, 1);
    o.server = vg_secret_reveal(lvg_optfield_secret(L, &c, 1, "server", 1));
  } else {
    lua_pop(L, 1);
    o.server = lvg_optfield_string(L, &c, 1, "server", LVG_REQUIRED);
  }
  /* a server URL with user info (https://user:pw@vc, as govc takes it)
     can stand in for user and password: the runtime takes them from it */
  userinfo = has_userinfo(o.server);
  o.user = lvg_optfield_string(L, &c, 1, "user", userinfo ? 0 : LVG_REQUIRED);
  o.password = lvg_optfield_secret(L, &c, 1, "password", !userinfo);
  p = lvg_optfield_choice(L, &c, 1, "protocol", protocols);
  if (p < 0 || vg_protocol_from_name(protocols[p], &o.protocol) != VG_OK)
    o.protocol = VG_PROTOCOL_AUTO;
  o.release = lvg_optfield_string(L, &c, 1, "release", 0);
  o.ca_file =
      lvg_optfield_string(L, &c, 1, "ca_file", LVG_NONEMPTY | LVG_LOCAL);
  o.thumbprint = lvg_optfield_string(L, &c, 1, "thumbprint", 0);
  o.insecure = lvg_optfield_boolean(L, &c, 1, "insecure", 0);
  if (lvg_optfield_number(L, &c, 1, "timeout", &timeout)) {
    if (!(timeout > 0) || timeout > MAX_TIMEOUT_S) {
      lvg_rawfield(L, 1, "timeout"); /* shown as given */
      if (!(timeout > 0))
        lvg_argerrorf(L, &c, 1,
                      "field 'timeout' must be a positive number of seconds, "
                      "got %s",
                      lvg_describe(L, -1));
      lvg_argerrorf(L, &c, 1,
                    "field 'timeout' must be at most %d seconds, got %s",
                    MAX_TIMEOUT_S, lvg_describe(L, -1));
    }
    o.timeout_ms = (long)(timeout * 1000.0 + 0.5);
    if (o.timeout_ms < 1)
      o.timeout_ms = 1; /* 0 would mean the default */
  }
  if (lvg_optfield_count(L, &c, 1, "max_connections", 65536, &maxconn))
    o.max_connections = (long)maxconn;
  o.insecure_transfers =
      lvg_optfield_boolean(L, &c, 1, "insecure_transfers", 0);
  transfer_pins(L, &c, 1, &o); /* may leave the pins on the stack */

  /* Created closed, metatable set, then opened. */
  s = (lvg_session *)lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  s->rt = rt;
  s->requested_protocol = vg_protocol_name(o.protocol);
  luaL_setmetatable(L, LVG_SESSION);
  lvg_runtime_push(L);
  lua_setiuservalue(L, -2, UV_RUNTIME);
  /* the secret again: a finalizer run at an allocation since it was read
     may have closed it (nothing allocates from here on) */
  o.password = lvg_optfield_secret(L, &c, 1, "password", !userinfo);
  st = vg_session_new(rt->rt, &o, &s->s, &why);
  if (st != VG_OK) {
    s->s = NULL;
    if (st == VG_EMISUSE) /* the runtime's own checks: their reason */
      return lvg_argerror(L, &c, 1, why != NULL ? why : vg_status_text(st));
    return lvg_raisestatus(L, c.name, st, why);
  }
  lvg_runtime_track(rt, LVG_RANK_SESSION, &s->tracked, release);
  return 1;
}

/* ---------------------------------------------------------------------- */
/* Operations                                                              */

static int session_login(lua_State *L) {
  lvg_call c = lvg_call_get(L, "login", 0, 0);
  lvg_session *s = checksession(L, &c);
  vg_op *op = NULL;
  lvg_op *o = lvg_op_new(L, s->rt, 1, "login", LVG_OP_TRUE);
  again(L, &c, NULL);
  return lvg_op_start(L, o, vg_session_login(s->s, lvg_op_callback(), o, &op),
                      &op);
}

static int session_logout(lua_State *L) {
  lvg_call c = lvg_call_get(L, "logout", 0, 0);
  lvg_session *s = checksession(L, &c);
  vg_op *op = NULL;
  lvg_op *o = lvg_op_new(L, s->rt, 1, "logout", LVG_OP_TRUE);
  again(L, &c, NULL);
  return lvg_op_start(L, o, vg_session_logout(s->s, lvg_op_callback(), o, &op),
                      &op);
}

int lvg_session_vm_op(lua_State *L, const char *name, int kind,
                      lvg_vm_start start) {
  lvg_call c = lvg_call_get(L, name, 3, 2);
  lvg_runtime *rt;
  vg_session *s = lvg_session_check(L, &c, &rt);
  const char *vm = lvg_checkvm(L, &c, 2);
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 3);
  o = lvg_op_new(L, rt, 1, name, (lvg_op_kind)kind);
  /* a finalizer run at that allocation may have closed the session */
  s = lvg_session_check(L, &c, NULL);
  return lvg_op_start(L, o, start(s, vm, lvg_op_callback(), o, &op), &op);
}

/* Session:vms([{names=, ids=, power_state=, folders=, datacenters=,
   clusters=, hosts=, resource_pools=}] [, call]) */
static int session_vms(lua_State *L) {
  static const char *const known[] = {
      "names",    "ids",   "power_state",    "folders", "datacenters",
      "clusters", "hosts", "resource_pools", NULL};
  lvg_call c = lvg_call_get(L, "vms", 3, 1);
  lvg_session *s = checksession(L, &c);
  vg_vm_filter f;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&f, 0, sizeof f);
  lua_settop(L, 3);
  if (!lua_isnil(L, 2)) {
    int p;
    lvg_checkoptions(L, &c, 2, known);
    if (lvg_rawfield(L, 2, "names") != LUA_TNIL)
      f.names =
          lvg_checkstrings(L, &c, -1, 2, "field 'names'"); /* keeps both */
    if (lvg_rawfield(L, 2, "ids") != LUA_TNIL)
      f.ids = lvg_checkstrings(L, &c, -1, 2, "field 'ids'");
#define CONTAINERS(name)                                                       \
  if (lvg_rawfield(L, 2, #name) != LUA_TNIL)                                   \
    f.name = lvg_checkstrings(L, &c, -1, 2, "field '" #name "'");
    CONTAINERS(folders)
    CONTAINERS(datacenters)
    CONTAINERS(clusters)
    CONTAINERS(hosts)
    CONTAINERS(resource_pools)
#undef CONTAINERS
    p = lvg_optfield_choice(L, &c, 2, "power_state", power_states);
    f.power_state = p >= 0 ? power_states[p] : NULL;
  }
  o = lvg_op_new(L, s->rt, 1, "vms", LVG_OP_VMS);
  again(L, &c, NULL);
  return lvg_op_start(L, o, vg_vm_list(s->s, &f, lvg_op_callback(), o, &op),
                      &op);
}

/* Session:create(vm, cred, {path=, arguments=, working_directory=,
   environment={K="V"}, start_minimized=} [, call]) */
static int session_create(lua_State *L) {
  static const char *const known[] = {
      "path",        "arguments",       "working_directory",
      "environment", "start_minimized", NULL};
  lvg_call c = lvg_call_get(L, "create", 5, 3);
  lvg_session *s = checksession(L, &c);
  const char *vm = lvg_checkvm(L, &c, 2);
  const vg_credentials *cred = lvg_checkcredentials(L, &c, 3);
  vg_program_spec p;
  vg_op *op = NULL;
  lvg_op *o;
  memset(&p, 0, sizeof p);
  lvg_checkoptions(L, &c, 4, known); /* before settop: "got no value" */
  lua_settop(L, 5);
  p.path = lvg_optfield_string(L, &c, 4, "path", LVG_REQUIRED | LVG_NONEMPTY);
  p.arguments = lvg_optfield_string(L, &c, 4, "arguments", 0);
  p.working_directory =
      lvg_optfield_string(L, &c, 4, "working_directory", LVG_NONEMPTY);
  p.start_minimized = lvg_optfield_boolean(L, &c, 4, "start_minimized", 0);
  if (lvg_rawfield(L, 4, "environment") != LUA_TNIL)
    p.env = lvg_checkenv(L, &c, -1, 4, "environment"); /* stays on the stack */
  o = lvg_op_new(L, s->rt, 1, "create", LVG_OP_PID);
  again(L, &c, &cred);
  return lvg_op_start(
      L, o, vg_process_create(s->s, vm, cred, &p, lvg_op_callback(), o, &op),
      &op);
}

typedef vg_status (*pid_fn)(vg_session *, const char *, const vg_credentials *,
                            int64_t, vg_callback, void *, vg_op **);

/* Session:get / Session:delete (vm, cred, pid [, call]) */
static int pid_call(lua_State *L, const char *name, pid_fn fn,
                    lvg_op_kind result) {
  lvg_call c = lvg_call_get(L, name, 5, 3);
  lvg_session *s = checksession(L, &c);
  const char *vm = lvg_checkvm(L, &c, 2);
  const vg_credentials *cred = lvg_checkcredentials(L, &c, 3);
  int64_t pid = lvg_checkcount(L, &c, 4, "pid");
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 5);
  o = lvg_op_new(L, s->rt, 1, name, result);
  again(L, &c, &cred);
  return lvg_op_start(L, o, fn(s->s, vm, cred, pid, lvg_op_callback(), o, &op),
                      &op);
}

static int session_get(lua_State *L) {
  return pid_call(L, "get", vg_process_get, LVG_OP_INFO);
}

/* Session:poll(vm, cred, pid [, call]): a get for a waiter, whose result
   is false while the process runs (no table built), its info once ended. */
static int session_poll(lua_State *L) {
  return pid_call(L, "get", vg_process_get, LVG_OP_POLL);
}

static int session_delete(lua_State *L) {
  return pid_call(L, "delete", vg_process_delete, LVG_OP_TRUE);
}

/* Session:list(vm, cred [, pids [, call]]) and Session:poll_list (the
   same request for waiters: {[pid] = false | info}). */
static int list_call(lua_State *L, lvg_op_kind result) {
  lvg_call c =
      lvg_call_get(L, result == LVG_OP_LIST ? "list" : "poll_list", 5, 3);
  lvg_session *s = checksession(L, &c);
  const char *vm = lvg_checkvm(L, &c, 2);
  const vg_credentials *cred = lvg_checkcredentials(L, &c, 3);
  int64_t *pids = NULL;
  size_t n = 0;
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 5);
  if (!lua_isnil(L, 4))
    pids = lvg_checkcounts(L, &c, 4, 4, "pids", &n); /* stays on the stack */
  o = lvg_op_new(L, s->rt, 1, "list", result);
  again(L, &c, &cred);
  return lvg_op_start(
      L, o, vg_process_list(s->s, vm, cred, pids, n, lvg_op_callback(), o, &op),
      &op);
}

static int session_list(lua_State *L) {
  return list_call(L, LVG_OP_LIST);
}

static int session_poll_list(lua_State *L) {
  return list_call(L, LVG_OP_POLL_LIST);
}

/* Session:env(vm, cred [, names [, call]]) */
static int session_env(lua_State *L) {
  lvg_call c = lvg_call_get(L, "env", 5, 3);
  lvg_session *s = checksession(L, &c);
  const char *vm = lvg_checkvm(L, &c, 2);
  const vg_credentials *cred = lvg_checkcredentials(L, &c, 3);
  const char *const *names = NULL;
  vg_op *op = NULL;
  lvg_op *o;
  lua_settop(L, 5);
  if (!lua_isnil(L, 4))
    names = lvg_checkstrings(L, &c, 4, 4, "names");
  o = lvg_op_new(L, s->rt, 1, "env", LVG_OP_ENV);
  again(L, &c, &cred);
  return lvg_op_start(
      L, o, vg_guest_env(s->s, vm, cred, names, lvg_op_callback(), o, &op),
      &op);
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
  lvg_call c = lvg_call_get(L, "info", 0, 0);
  lvg_session *s = checksession(L, &c);
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
  lvg_call c = lvg_call_get(L, "close", 0, 0);
  lvg_session *s = (lvg_session *)lvg_checkself(L, &c, 1, LVG_SESSION);
  if (s->s != NULL) {
    lvg_runtime_untrack(s->rt, LVG_RANK_SESSION, &s->tracked);
    release(&s->tracked);
  }
  return 0;
}

static int session_closed(lua_State *L) {
  lvg_call c = lvg_call_get(L, "closed", 0, 0);
  lvg_session *s = (lvg_session *)lvg_checkself(L, &c, 1, LVG_SESSION);
  lua_pushboolean(L, s->s == NULL);
  return 1;
}

static int session_tostring(lua_State *L) {
  lvg_call c = lvg_call_get(L, "__tostring", 0, 0);
  lvg_session *s = (lvg_session *)lvg_checkself(L, &c, 1, LVG_SESSION);
  const char *protocol;
  if (s->s == NULL) {
    lua_pushliteral(L, LVG_SESSION " (closed)");
    return 1;
  }
  protocol = vg_session_protocol(s->s);
  lua_pushfstring(L, LVG_SESSION " (%s, user=%s, protocol=%s, %s)",
                  nz(vg_session_server(s->s)), nz(vg_session_user(s->s)),
                  protocol != NULL ? protocol : nz(s->requested_protocol),
                  vg_session_logged_in(s->s) ? "logged in" : "not logged in");
  return 1;
}

void lvg_open_session(lua_State *L) {
  static const luaL_Reg methods[] = {{"login", session_login},
                                     {"logout", session_logout},
                                     {"vms", session_vms},
                                     {"create", session_create},
                                     {"get", session_get},
                                     {"list", session_list},
                                     {"delete", session_delete},
                                     {"env", session_env},
                                     {"info", session_info},
                                     {"close", session_close},
                                     {"closed", session_closed},
                                     {"poll", session_poll},
                                     {"poll_list", session_poll_list},
                                     {NULL, NULL}};
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
