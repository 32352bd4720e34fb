/*
 * Session:inventory(kind [, names] [, call]) -> Op (result: an array of
 * {id, name}) and Session:guest_info(vm [, call]) -> Op (result: {tools,
 * ops_ready, family, ip_address, host_name, host}). Above l_session.c,
 * like l_run.c: added to the session's methods.
 */
#include <string.h>

#include <lauxlib.h>

#include "l_check.h"
#include "l_inventory.h"
#include "l_op.h"
#include "l_session.h"

/* The kind names, in vg_inventory_kind's order (from the runtime). */
static const char *const *kind_names(void) {
  static const char *names[8];
  int k;
  if (names[0] == NULL)
    for (k = 0; k < 7 && vg_inventory_kind_name((vg_inventory_kind)k); k++)
      names[k] = vg_inventory_kind_name((vg_inventory_kind)k);
  return names;
}

static int session_inventory(lua_State *L) {
  lvg_call c = lvg_call_get(L, "inventory", 4, 3);
  lvg_runtime *rt;
  vg_session *s = lvg_session_check(L, &c, &rt);
  const char *const *names = NULL;
  const char *const *kinds = kind_names();
  const char *kind;
  vg_op *op = NULL;
  lvg_op *o;
  int k;
  lua_settop(L, 4);
  if (lua_type(L, 2) != LUA_TSTRING)
    lvg_typeerror(L, &c, 2, "string");
  kind = lua_tostring(L, 2);
  for (k = 0; kinds[k] != NULL; k++)
    if (strcmp(kinds[k], kind) == 0)
      break;
  if (kinds[k] == NULL)
    lvg_argerror(L, &c, 2,
                 "kind must be 'folder', 'datacenter', 'cluster', 'host' or "
                 "'resource_pool'");
  if (!lua_isnil(L, 3))
    names = lvg_checkstrings(L, &c, 3, 3, "names"); /* pushed: kept */
  o = lvg_op_new(L, rt, 1, "inventory", LVG_OP_OBJECTS);
  s = lvg_session_check(L, &c, NULL);
  return lvg_op_start(L, o,
                      vg_inventory_list(s, (vg_inventory_kind)k, names,
                                        lvg_op_callback(), o, &op),
                      &op);
}

static int session_guest_info(lua_State *L) {
  return lvg_session_vm_op(L, "guest_info", LVG_OP_GUEST_INFO,
                           vg_vm_guest_info);
}

void lvg_open_inventory(lua_State *L) {
  static const luaL_Reg methods[] = {{"inventory", session_inventory},
                                     {"guest_info", session_guest_info},
                                     {NULL, NULL}};
  luaL_getmetatable(L, LVG_SESSION);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 2);
}
