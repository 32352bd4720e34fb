/*
 * Failures reported to Lua: error tables for failed operations, and
 * messages for statuses a runtime call returns at once.
 */
#ifndef L_ERROR_H
#define L_ERROR_H

#include <lua.h>

#include <vguest/vguest.h>

/* Pushes the error table of a failed op (README "Error tables"). e may be
   NULL or carry VG_OK: st and op then stand in. */
void lvg_pusherror(lua_State *L, const vg_error *e, vg_status st,
                   const char *op);
/* Raises "<call>: <status text> [(<why>)]" for a status returned at once
   (out of memory, ...): a programming or configuration error, not an
   error object. */
int lvg_raisestatus(lua_State *L, const char *call, vg_status st,
                    const char *why);

#endif
