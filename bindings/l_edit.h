/*
 * Line editing for the REPL (libedit): core.readline, reading a line from
 * the loop (core.edit_*), completion, history, isatty.
 */
#ifndef L_EDIT_H
#define L_EDIT_H

#include <lua.h>

#include <vguest/vguest.h>

int lvg_readline(lua_State *L);
int lvg_history_add(lua_State *L);
int lvg_history_load(lua_State *L);
int lvg_history_save(lua_State *L);
int lvg_isatty(lua_State *L);
int lvg_history_append(lua_State *L);
int lvg_history_truncate(lua_State *L);

/* Reading a line from the loop (see l_edit.c). */
int lvg_edit_begin(lua_State *L);
int lvg_edit_take(lua_State *L);
int lvg_edit_end(lua_State *L);
int lvg_edit_print(lua_State *L);
int lvg_edit_completer(lua_State *L);
/* Whether core.step should also read the line being edited. */
int lvg_edit_reading(void);
/* One step of the runtime (as vg_runtime_step(rt, ms)) that also feeds
   what is typed to the line editor. */
vg_status lvg_edit_step(lua_State *L, vg_runtime *rt, long ms);

#endif
