/*
 * vguest.core: module entry, the runtime of each Lua state, and the loop
 * functions (step, pending, timer, interrupts).
 *
 * The runtime userdata lives in the registry under LVG_RUNTIME_KEY and is
 * only collected by lua_close. Its __gc frees whatever Ops and Sessions
 * are still open before vg_runtime_free (the header requires that order),
 * so finalization order at lua_close does not matter.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "l_util.h"

/* ---------------------------------------------------------------------- */
/* SIGINT                                                                  */

/*
 * A signal handler cannot find a Lua state, so the runtime it wakes is kept
 * in a static. Signal dispositions are process-wide anyway: only one Lua
 * state at a time can own Ctrl-C, the last one to call catch_interrupts.
 * The handler only sets a flag and calls vg_runtime_interrupt(), which the
 * header documents as async-signal-safe.
 */
static volatile sig_atomic_t interrupted = 0;
static volatile sig_atomic_t sigint_count = 0; /* wraps; compared only */
static vg_runtime *volatile sig_runtime = NULL;
static struct sigaction old_action;
static int handler_installed = 0;

static void on_sigint(int sig) {
  vg_runtime *rt = sig_runtime;
  (void)sig;
  interrupted = 1;
  sigint_count = (sig_atomic_t)((sigint_count + 1) & 0x3fffffff);
  if (rt != NULL)
    vg_runtime_interrupt(rt);
}

void lvg_catch_interrupts(lua_State *L, int on) {
  if (on) {
    struct sigaction sa;
    sig_runtime = lvg_getruntime(L)->rt;
    if (handler_installed)
      return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    /* Restart plain system calls: the loop is woken through the runtime,
       and Lua's io library does not expect EINTR. */
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, &old_action) == 0)
      handler_installed = 1;
  } else if (handler_installed) {
    sigaction(SIGINT, &old_action, NULL);
    handler_installed = 0;
    sig_runtime = NULL;
  }
}

long lvg_sigint_count(void) {
  return (long)sigint_count;
}

/*
 * Forgets a Ctrl-C that only meant "discard this input line" (l_edit.c):
 * clears the flag and consumes the runtime's wake-up with a zero-wait
 * step. Completions delivered by that step only join the done list, so
 * the next core.step still reports them.
 */
void lvg_forget_interrupt(lua_State *L) {
  lvg_runtime *rt = lvg_getruntime(L);
  interrupted = 0;
  vg_runtime_step(rt->rt, 0);
}

/* ---------------------------------------------------------------------- */
/* The runtime of a Lua state                                              */

lvg_runtime *lvg_getruntime(lua_State *L) {
  lvg_runtime *rt;
  lua_getfield(L, LUA_REGISTRYINDEX, LVG_RUNTIME_KEY);
  rt = (lvg_runtime *)luaL_testudata(L, -1, LVG_RUNTIME);
  lua_pop(L, 1); /* anchored in the registry */
  if (rt == NULL || rt->rt == NULL)
    luaL_error(L, "the vguest runtime of this Lua state is closed");
  return rt;
}

void lvg_pushruntime(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LVG_RUNTIME_KEY);
}

static int runtime_gc(lua_State *L) {
  lvg_runtime *rt = (lvg_runtime *)luaL_checkudata(L, 1, LVG_RUNTIME);
  if (rt->rt != NULL) {
    if (sig_runtime == rt->rt)
      sig_runtime = NULL;
    lvg_op_freeall(rt);
    lvg_session_freeall(rt);
    vg_runtime_free(rt->rt);
    rt->rt = NULL;
  }
  return 0;
}

static int runtime_tostring(lua_State *L) {
  lvg_runtime *rt = (lvg_runtime *)luaL_checkudata(L, 1, LVG_RUNTIME);
  if (rt->rt == NULL)
    lua_pushliteral(L, "vguest.Runtime (closed)");
  else
    lua_pushfstring(L, "vguest.Runtime (%d pending)",
                    (int)vg_runtime_pending(rt->rt));
  return 1;
}

/* Runtime warnings (e.g. insecure TLS) go to stderr: Lua's own warning
   system is off unless the host turns it on, and these must be seen. */
static void on_warning(void *ud, const char *line) {
  (void)ud;
  fprintf(stderr, "vguest: warning: %s\n", line);
  fflush(stderr);
}

static void newruntime(lua_State *L) {
  static const luaL_Reg meta[] = {
      {"__gc", runtime_gc}, {"__tostring", runtime_tostring}, {NULL, NULL}};
  vg_runtime_options opts;
  lvg_runtime *rt;
  vg_status st;

  /* Created closed, metatable set, then opened. */
  rt = (lvg_runtime *)lua_newuserdatauv(L, sizeof *rt, 0);
  memset(rt, 0, sizeof *rt);
  if (luaL_newmetatable(L, LVG_RUNTIME)) {
    luaL_setfuncs(L, meta, 0);
    lua_pushliteral(L, "vguest.Runtime");
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  memset(&opts, 0, sizeof opts);
  opts.warn_fn = on_warning;
  st = vg_runtime_new(&opts, &rt->rt);
  if (st != VG_OK) {
    rt->rt = NULL;
    luaL_error(L, "cannot create the vguest runtime: %s", vg_status_text(st));
  }
  lua_setfield(L, LUA_REGISTRYINDEX, LVG_RUNTIME_KEY);
}

/* ---------------------------------------------------------------------- */
/* Loop functions                                                          */

/* core.step([timeout_ms]) -> ops [, true] */
static int l_step(lua_State *L) {
  lvg_runtime *rt = lvg_getruntime(L);
  long ms = -1;
  vg_status st;
  if (!lua_isnoneornil(L, 1)) {
    lua_Number t = luaL_checknumber(L, 1);
    if (t != t)
      luaL_argerror(L, 1, "timeout must not be NaN");
    if (t >= 0) {
      ms = t > 2147483647.0 ? 2147483647L : (long)t;
      if ((lua_Number)ms < t && ms < 2147483647L)
        ms++; /* round up: never wake before the deadline */
    }
  }
  lua_settop(L, 0);
  st = vg_runtime_step(rt->rt, ms);
  if (st != VG_OK && st != VG_ECANCELED)
    return lvg_raisestatus(L, st, NULL); /* completions stay queued */
  lvg_op_report(L, rt);
  if (st == VG_ECANCELED) {
    lua_pushboolean(L, 1);
    return 2;
  }
  return 1;
}

static int l_pending(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)vg_runtime_pending(lvg_getruntime(L)->rt));
  return 1;
}

static int l_interrupt(lua_State *L) {
  vg_runtime_interrupt(lvg_getruntime(L)->rt);
  return 0;
}

/* core.interrupted([clear]) -> bool: was SIGINT caught since last clear */
static int l_interrupted(lua_State *L) {
  int clear = lua_toboolean(L, 1);
  if (!lua_isnoneornil(L, 1))
    luaL_checktype(L, 1, LUA_TBOOLEAN);
  lua_pushboolean(L, interrupted != 0);
  if (clear)
    interrupted = 0;
  return 1;
}

/* core.catch_interrupts(on) */
static int l_catch_interrupts(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lvg_catch_interrupts(L, lua_toboolean(L, 1));
  return 0;
}

/* core.timer(ms) -> Op */
int lvg_core_timer(lua_State *L) {
  lvg_runtime *rt = lvg_getruntime(L);
  lua_Integer ms = luaL_checkinteger(L, 1);
  lvg_op *o;
  vg_op *op = NULL;
  vg_status st;
  luaL_argcheck(L, ms >= 0, 1, "delay must not be negative");
  luaL_argcheck(L, ms <= 2147483647, 1, "delay too large");
  o = lvg_op_new(L, rt, 0, "timer", LVG_OP_TRUE);
  st = vg_timer_start(rt->rt, (long)ms, lvg_op_callback(), o, &op);
  lvg_op_started(L, o, st, op);
  return 1;
}

static const luaL_Reg funcs[] = {{"secret", lvg_core_secret},
                                 {"secret_env", lvg_core_secret_env},
                                 {"secret_file", lvg_core_secret_file},
                                 {"secret_prompt", lvg_core_secret_prompt},
                                 {"credentials", lvg_core_credentials},
                                 {"session", lvg_core_session},
                                 {"timer", lvg_core_timer},
                                 {"step", l_step},
                                 {"pending", l_pending},
                                 {"interrupt", l_interrupt},
                                 {"interrupted", l_interrupted},
                                 {"catch_interrupts", l_catch_interrupts},
                                 {"readline", lvg_readline},
                                 {"history_add", lvg_history_add},
                                 {"history_load", lvg_history_load},
                                 {"history_save", lvg_history_save},
                                 {"isatty", lvg_isatty},
                                 {NULL, NULL}};

int luaopen_vguest_core(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LVG_RUNTIME_KEY);
  if (lua_isnil(L, -1))
    newruntime(L);
  lua_pop(L, 1);
  lvg_open_secret(L);
  lvg_open_credentials(L);
  lvg_open_session(L);
  lvg_open_op(L);
  luaL_newlib(L, funcs);
  lua_pushliteral(L, VG_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
