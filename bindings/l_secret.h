/*
 * vguest.Secret: a vg_secret in C memory (see l_secret.c).
 */
#ifndef L_SECRET_H
#define L_SECRET_H

#include <lua.h>

#include <vguest/vguest.h>

#include "l_check.h"

#define LVG_SECRET "vguest.Secret"

void lvg_open_secret(lua_State *L);
int lvg_core_has_secret_env(lua_State *L);
int lvg_core_secret(lua_State *L);
int lvg_core_secret_env(lua_State *L);
int lvg_core_secret_file(lua_State *L);
int lvg_core_secret_prompt(lua_State *L);

/* The open Secret in option field `field` of the table at idx, or NULL when
   absent (raises when required). A closed one is refused:
   "field 'password' is a closed vguest.Secret". Valid while the table
   holds it. */
const vg_secret *lvg_optfield_secret(lua_State *L, const lvg_call *c, int idx,
                                     const char *field, int required);

#endif
