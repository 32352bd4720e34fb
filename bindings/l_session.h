/*
 * vguest.Session: a vCenter session and the guest operations started on it
 * (see l_session.c).
 */
#ifndef L_SESSION_H
#define L_SESSION_H

#include <lua.h>

#define LVG_SESSION "vguest.Session"

void lvg_open_session(lua_State *L);
int lvg_core_session(lua_State *L);

#endif
