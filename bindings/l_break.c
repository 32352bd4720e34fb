/*
 * Ctrl-C of running Lua code (see l_break.h).
 */
#include <string.h>

#include <lauxlib.h>

#include "l_break.h"
#include "l_check.h"
#include "l_interrupt.h"
#include "l_runtime.h"

#define ERROR_KEY "vguest.interrupt_error"

/* The library's source prefix, for the hook: it cannot allocate or look
   in tables at every instruction. Process-wide, like the handler. */
static char library[512];
static size_t library_len = 0;

static int in_library(lua_State *L) {
  lua_Debug ar;
  int level;
  for (level = 0; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "S", &ar))
      return 0;
    if (strcmp(ar.what, "C") == 0)
      continue; /* the first Lua function above it decides */
    return library_len > 0 && strncmp(ar.source, library, library_len) == 0;
  }
  return 1; /* no Lua code at all: nothing of the user's to stop */
}

static void stop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (in_library(L))
    return; /* stays set: raised back in the user's code, or taken off */
  lua_sethook(L, NULL, 0, 0);
  lvg_break_consume(L);
  lvg_break_pusherror(L);
  lua_error(L);
}

void lvg_break_arm(void *target) {
  lua_sethook((lua_State *)target, stop,
              LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void lvg_break_consume(lua_State *L) {
  lvg_runtime *rt = lvg_runtime_get(L);
  lvg_interrupt_clear();
  /* Completions of this step only join the done list: the next core.step
     reports them. */
  vg_runtime_step(rt->rt, 0);
}

void lvg_break_pusherror(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, ERROR_KEY) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "interrupted");
  }
}

/* lcorolib's auxresume, with co the Ctrl-C target while it runs. */
static int resume(lua_State *L, lua_State *co, int narg) {
  int status, nres;
  void *prev;
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
    lua_pushliteral(L, "cannot resume dead coroutine");
    return -1;
  }
  lua_xmove(L, co, narg);
  prev = lvg_interrupt_target(co);
  status = lua_resume(co, L, narg, &nres);
  lvg_interrupt_target(prev);
  /* a hook left set (in library code when it yielded, or armed just as
     it returned) goes: the wait sees the Ctrl-C through the loop */
  if (lua_gethook(co) == stop)
    lua_sethook(co, NULL, 0, 0);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1); /* the error object */
  return -1;
}

int lvg_core_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  int r;
  if (co == NULL) {
    lvg_call c = lvg_call_get(L, "resume", 0, 0);
    lvg_typeerror(L, &c, 1, "coroutine");
  }
  r = resume(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

int lvg_core_interrupt_setup(lua_State *L) {
  size_t len = 0;
  const char *prefix = NULL;
  lvg_call c = lvg_call_get(L, "interrupt_setup", 0, 0);
  if (!lua_isnoneornil(L, 2)) {
    if (lua_type(L, 2) != LUA_TSTRING)
      lvg_typeerror(L, &c, 2, "string");
    prefix = lua_tolstring(L, 2, &len);
    if (len >= sizeof library)
      lvg_argerror(L, &c, 2, "too long");
  }
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, ERROR_KEY);
  if (prefix != NULL) {
    library_len = 0; /* the hook reads it: never half-written */
    memcpy(library, prefix, len);
    library[len] = '\0';
    library_len = len;
  }
  return 0;
}
