/*
 * Line editing for the REPL (libedit): core.readline, history, isatty.
 */
#ifndef L_EDIT_H
#define L_EDIT_H

#include <lua.h>

int lvg_readline(lua_State *L);
int lvg_history_add(lua_State *L);
int lvg_history_load(lua_State *L);
int lvg_history_save(lua_State *L);
int lvg_isatty(lua_State *L);

#endif
