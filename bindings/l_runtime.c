/*
 * The runtime of each Lua state (see l_runtime.h).
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "l_interrupt.h"
#include "l_runtime.h"

/* Registry field holding the runtime userdata of this state. */
#define RUNTIME_KEY "vguest.core.runtime"

lvg_runtime *lvg_runtime_get(lua_State *L) {
  lvg_runtime *rt;
  lua_getfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
  rt = (lvg_runtime *)luaL_testudata(L, -1, LVG_RUNTIME);
  lua_pop(L, 1); /* anchored in the registry */
  if (rt == NULL || rt->rt == NULL)
    luaL_error(L, "the vguest runtime of this Lua state is closed");
  return rt;
}

void lvg_runtime_push(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
}

void lvg_runtime_track(lvg_runtime *rt, lvg_rank rank, lvg_tracked *t,
                       void (*release)(lvg_tracked *t)) {
  t->release = release;
  t->prev = NULL;
  t->next = rt->tracked[rank];
  if (t->next != NULL)
    t->next->prev = t;
  rt->tracked[rank] = t;
}

void lvg_runtime_untrack(lvg_runtime *rt, lvg_rank rank, lvg_tracked *t) {
  if (t->prev != NULL)
    t->prev->next = t->next;
  else if (rt->tracked[rank] == t)
    rt->tracked[rank] = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

static int runtime_gc(lua_State *L) {
  lvg_runtime *rt = (lvg_runtime *)luaL_checkudata(L, 1, LVG_RUNTIME);
  int rank;
  if (rt->rt == NULL)
    return 0;
  lvg_interrupt_forget_runtime(rt->rt);
  for (rank = 0; rank < LVG_NRANKS; rank++)
    while (rt->tracked[rank] != NULL) {
      lvg_tracked *t = rt->tracked[rank];
      lvg_runtime_untrack(rt, (lvg_rank)rank, t);
      t->release(t);
    }
  vg_runtime_free(rt->rt);
  rt->rt = NULL;
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

void lvg_runtime_open(lua_State *L) {
  static const luaL_Reg meta[] = {
      {"__gc", runtime_gc}, {"__tostring", runtime_tostring}, {NULL, NULL}};
  vg_runtime_options opts;
  lvg_runtime *rt;
  vg_status st;

  lua_getfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
  if (!lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  /* Created closed, metatable set, then opened. */
  rt = (lvg_runtime *)lua_newuserdatauv(L, sizeof *rt, 0);
  memset(rt, 0, sizeof *rt);
  if (luaL_newmetatable(L, LVG_RUNTIME)) {
    luaL_setfuncs(L, meta, 0);
    lua_pushliteral(L, LVG_RUNTIME);
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
  lua_setfield(L, LUA_REGISTRYINDEX, RUNTIME_KEY);
}
