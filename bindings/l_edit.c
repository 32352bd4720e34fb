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

#include "l_edit.h"
#include "l_interrupt.h"
#include "l_runtime.h"

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
  const char *prompt = luaL_optstring(L, 1, "");
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
  const char *line = luaL_checkstring(L, 1);
  init_edit();
  if (line[0] != '\0')
    add_history(line);
  return 0;
}

/* Runs libedit's read_history or write_history on the path argument:
   true | nil, message (io-style). */
static int history_file(lua_State *L, int (*fn)(const char *)) {
  const char *path = luaL_checkstring(L, 1);
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
  return history_file(L, read_history);
}

/* core.history_save(path) */
int lvg_history_save(lua_State *L) {
  return history_file(L, write_history);
}

/* core.isatty(fd) -> bool */
int lvg_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  lua_pushboolean(L, fd >= 0 && fd <= 0x7fffffff && isatty((int)fd));
  return 1;
}
