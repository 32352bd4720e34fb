/*
 * Running a command with its output captured: Session:run, Session:guest_os
 * and core.command_line (see l_run.c).
 */
#ifndef L_RUN_H
#define L_RUN_H

#include <lua.h>

/* Adds run and guest_os to the methods of vguest.Session (after
   lvg_open_session). */
void lvg_open_run(lua_State *L);
/* core.command_line(os, argv) -> string */
int lvg_core_command_line(lua_State *L);

#endif
