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

/*
 * Local files an operation reads or writes (an upload's source, a run's
 * stdin; a download's target, a run's stdout_file). A file that cannot be
 * opened is a failure of the operation found before any I/O: these raise
 * its error table (kind not_found, unauthorized or invalid_argument; op
 * `call`; message "cannot open local file 'P': reason"). Nothing is
 * created: for a target, its directory must let us create it.
 */
void lvg_check_local_in(lua_State *L, const char *call, const char *path);
void lvg_check_local_out(lua_State *L, const char *call, const char *path);

#endif
