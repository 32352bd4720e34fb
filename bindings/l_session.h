/*
 * vguest.Session: a vCenter session and the guest operations started on it
 * (see l_session.c).
 */
#ifndef L_SESSION_H
#define L_SESSION_H

#include <lua.h>

#include <vguest/vguest.h>

#include "l_check.h"
#include "l_runtime.h"

#define LVG_SESSION "vguest.Session"

void lvg_open_session(lua_State *L);
int lvg_core_session(lua_State *L);

/* The open vg_session of the Session at index 1 (self of a method; raises
   "attempt to use a closed vguest.Session"), and its runtime in *rt (may
   be NULL). For the files that add methods to the Session. */
vg_session *lvg_session_check(lua_State *L, const lvg_call *c,
                              lvg_runtime **rt);

#endif
