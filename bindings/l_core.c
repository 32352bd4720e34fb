/*
 * vguest.core: the module entry, on top of the bindings. It makes the
 * runtime of this Lua state (l_runtime.c), registers each type's metatable,
 * and gathers the module's functions from the files that own them.
 *
 * The files form a stack; each calls only those below it:
 *
 *   l_core.c                                     module entry
 *   l_loop.c  l_edit.c                           loop functions, line editing
 *   l_files.c  l_run.c  l_inventory.c            guest files; runs; inventory
 *                                                (Session methods)
 *   l_session.c                                  Session and its operations
 *   l_op.c  l_credentials.c                      Op; Credentials
 *   l_secret.c                                   Secret
 *   l_runtime.c  l_error.c                       runtime of a state; errors
 *   l_interrupt.c  l_check.c                     Ctrl-C; argument checking
 *   l_alloc.c                                    the zeroing allocator
 */
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>

#include "l_alloc.h"
#include "l_break.h"
#include "l_core.h"
#include "l_credentials.h"
#include "l_edit.h"
#include "l_files.h"
#include "l_loop.h"
#include "l_op.h"
#include "l_inventory.h"
#include "l_run.h"
#include "l_runtime.h"
#include "l_secret.h"
#include "l_session.h"

/* core.clock() -> seconds on the monotonic clock (progress, rates). */
static int core_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.file_mode(path) -> the permission bits of a file, or nil (no such
   file). The config file's check for others' access. */
static int core_file_mode(lua_State *L) {
  struct stat st;
  if (stat(luaL_checkstring(L, 1), &st) != 0)
    return 0;
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  return 1;
}

static const luaL_Reg funcs[] = {
    {"clock", core_clock},
    {"file_mode", core_file_mode},
    {"secret", lvg_core_secret},
    {"secret_env", lvg_core_secret_env},
    {"has_secret_env", lvg_core_has_secret_env},
    {"secret_file", lvg_core_secret_file},
    {"secret_prompt", lvg_core_secret_prompt},
    {"credentials", lvg_core_credentials},
    {"session", lvg_core_session},
    {"command_line", lvg_core_command_line},
    {"timer", lvg_core_timer},
    {"step", lvg_core_step},
    {"pending", lvg_core_pending},
    {"interrupt", lvg_core_interrupt},
    {"interrupted", lvg_core_interrupted},
    {"catch_interrupts", lvg_core_catch_interrupts},
    {"readline", lvg_readline},
    {"history_add", lvg_history_add},
    {"history_load", lvg_history_load},
    {"history_save", lvg_history_save},
    {"isatty", lvg_isatty},
    {"history_append", lvg_history_append},
    {"history_truncate", lvg_history_truncate},
    {"edit_begin", lvg_edit_begin},
    {"edit_take", lvg_edit_take},
    {"edit_end", lvg_edit_end},
    {"edit_print", lvg_edit_print},
    {"edit_completer", lvg_edit_completer},
    {"resume", lvg_core_resume},
    {"interrupt_setup", lvg_core_interrupt_setup},
    {NULL, NULL}};

/* core.protocols: the flavour names of the runtime's one registry, in its
   order ("auto" first). */
static void pushprotocols(lua_State *L) {
  int p;
  lua_newtable(L);
  for (p = 0; vg_protocol_name((vg_protocol)p) != NULL; p++) {
    lua_pushstring(L, vg_protocol_name((vg_protocol)p));
    lua_rawseti(L, -2, p + 1);
  }
}

int luaopen_vguest_core(lua_State *L) {
  /* first: from here on no freed block keeps a secret's bytes */
  lvg_alloc_wrap(L);
  lvg_runtime_open(L);
  lvg_open_secret(L);
  lvg_open_credentials(L);
  lvg_open_session(L);
  lvg_open_files(L);
  lvg_open_run(L);
  lvg_open_inventory(L);
  lvg_open_op(L);
  luaL_newlib(L, funcs);
  lua_pushliteral(L, VG_VERSION);
  lua_setfield(L, -2, "version");
  pushprotocols(L);
  lua_setfield(L, -2, "protocols");
  return 1;
}
