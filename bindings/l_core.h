/*
 * vguest.core: the module entry (also preloaded by the host program).
 */
#ifndef L_CORE_H
#define L_CORE_H

#include <lua.h>

int luaopen_vguest_core(lua_State *L);

#endif
