/*
 * vguest.Credentials: guest credentials (see l_credentials.c).
 */
#ifndef L_CREDENTIALS_H
#define L_CREDENTIALS_H

#include <lua.h>

#include <vguest/vguest.h>

#include "l_check.h"

#define LVG_CREDENTIALS "vguest.Credentials"

void lvg_open_credentials(lua_State *L);
int lvg_core_credentials(lua_State *L);

/* The open Credentials at idx. A closed one passed as an argument is
   "vguest.Credentials is closed"; one bound by the Lua layer (part of
   self) is "attempt to use a closed vguest.Credentials". */
const vg_credentials *lvg_checkcredentials(lua_State *L, const lvg_call *c,
                                           int idx);

#endif
