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

/* The open Credentials at idx; closed ones are refused as
   "vguest.Credentials is closed". */
const vg_credentials *lvg_checkcredentials(lua_State *L, const lvg_call *c,
                                           int idx);

#endif
