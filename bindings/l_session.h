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

/* Session:<name>(vm [, call]) -> Op of kind: an op about one VM that
   start (vg_guest_os, vg_vm_guest_info) starts. */
typedef vg_status (*lvg_vm_start)(vg_session *s, const char *vm, vg_callback cb,
                                  void *ud, vg_op **out);
int lvg_session_vm_op(lua_State *L, const char *name, int kind,
                      lvg_vm_start start);

#endif
