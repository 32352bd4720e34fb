/*
 * Line editing for the REPL, through libedit's readline-compatible API
 * (BSD-licensed). History is process-wide in libedit, like in lua.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include <lauxlib.h>

#include "l_check.h"
#include "l_edit.h"
#include "l_interrupt.h"
#include "l_runtime.h"

/* A string argument (numbers are converted, as luaL_checkstring does). */
static const char *checkstring(lua_State *L, const char *own, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER) {
    lvg_call c = lvg_call_get(L, own, 0, 0);
    lvg_typeerror(L, &c, idx, "string");
  }
  return lua_tostring(L, idx);
}

static void init_edit(void) {
  static int done = 0;
  if (!done) {
    done = 1;
    rl_readline_name = (char *)"vguest"; /* ~/.editrc section */
    using_history();
  }
}

/*
 * Forgets a Ctrl-C that only meant "discard this input line": clears the
 * flag and consumes the runtime's wake-up with a zero-wait step.
 * Completions delivered by that step only join the done list, so the next
 * core.step still reports them.
 */
static void forget_interrupt(lua_State *L) {
  lvg_interrupt_clear();
  vg_runtime_step(lvg_runtime_get(L)->rt, 0);
}

/*
 * core.readline([prompt]) -> line without its newline, or nil at EOF.
 *
 * Ctrl-C while editing discards the line and prompts again, as shells do:
 * libedit's readline() returns NULL for it (as for EOF), so an interrupt
 * caught by our SIGINT handler during the call (l_interrupt.c) tells the
 * two apart. That interrupt is then forgotten: it was not meant for the
 * loop.
 */
int lvg_readline(lua_State *L) {
  const char *prompt =
      lua_isnoneornil(L, 1) ? "" : checkstring(L, "readline", 1);
  char *line;
  init_edit();
  for (;;) {
    long before = lvg_interrupt_count();
    line = readline(prompt);
    if (line != NULL || lvg_interrupt_count() == before)
      break;
    forget_interrupt(L);
    fputs("\n", stdout);
    fflush(stdout);
  }
  if (line == NULL) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

/* core.history_add(line) */
int lvg_history_add(lua_State *L) {
  const char *line = checkstring(L, "history_add", 1);
  init_edit();
  if (line[0] != '\0')
    add_history(line);
  return 0;
}

/* Runs libedit's read_history or write_history on the path argument:
   true | nil, message (io-style). */
static int history_file(lua_State *L, const char *own,
                        int (*fn)(const char *)) {
  const char *path = checkstring(L, own, 1);
  init_edit();
  errno = 0;
  int rc = fn(path);
  if (rc != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path,
                    strerror(errno != 0 ? errno : (rc > 0 ? rc : EIO)));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.history_load(path) */
int lvg_history_load(lua_State *L) {
  return history_file(L, "history_load", read_history);
}

/* core.history_save(path) */
int lvg_history_save(lua_State *L) {
  return history_file(L, "history_save", write_history);
}

/* core.isatty(fd) -> bool */
int lvg_isatty(lua_State *L) {
  lua_Integer fd = 0;
  int isint = 0;
  if (lua_type(L, 1) == LUA_TNUMBER)
    fd = lua_tointegerx(L, 1, &isint);
  if (!isint) {
    lvg_call c = lvg_call_get(L, "isatty", 0, 0);
    if (lua_type(L, 1) == LUA_TNUMBER)
      lvg_argerror(L, &c, 1, "number has no integer representation");
    lvg_typeerror(L, &c, 1, "number");
  }
  lua_pushboolean(L, fd >= 0 && fd <= 0x7fffffff && isatty((int)fd));
  return 1;
}
