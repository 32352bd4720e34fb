/*
 * The loop functions of vguest.core: step, pending, timer, interrupts.
 */
#ifndef L_LOOP_H
#define L_LOOP_H

#include <lua.h>

int lvg_core_step(lua_State *L);
int lvg_core_pending(lua_State *L);
int lvg_core_timer(lua_State *L);
int lvg_core_interrupt(lua_State *L);
int lvg_core_interrupted(lua_State *L);
int lvg_core_catch_interrupts(lua_State *L);

/* Installs (on != 0) or removes the SIGINT handler waking this state's
   runtime (also for the host program, before any Lua runs). */
void lvg_catch_interrupts(lua_State *L, int on);

#endif
