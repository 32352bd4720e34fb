/*
 * vguest: the host program. A small C main after lua.c: it makes a Lua
 * state, preloads the statically linked vguest.core, points package.path
 * at the Lua layer, sets `arg`, and runs require("vguest.cli").main(arg)
 * under a message handler that adds a traceback. Everything else (options,
 * REPL, playbooks) is Lua.
 *
 * Lua directory: $VGUEST_LUA_PATH if set (a directory, or a package.path
 * template when it contains '?'); else the installed one beside this
 * program (VGUEST_LUA_EXE_REL_DIR from its directory: P/bin -> P/share/lua/5.4,
 * whatever P is) when it holds vguest/init.lua; else the configured
 * install directory, unless this program runs from its build tree; else
 * the source tree's lua/ (running from a build tree).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "l_core.h"
#include "l_loop.h"

#ifndef VGUEST_LUA_SRC_DIR
#define VGUEST_LUA_SRC_DIR ""
#endif
#ifndef VGUEST_LUA_INSTALL_DIR
#define VGUEST_LUA_INSTALL_DIR "/usr/local/share/lua/5.4"
#endif
#ifndef VGUEST_LUA_EXE_REL_DIR
#define VGUEST_LUA_EXE_REL_DIR "../share/lua/5.4"
#endif
#ifndef VGUEST_BUILD_DIR
#define VGUEST_BUILD_DIR ""
#endif

static const char *progname = "vguest";

static void message(const char *msg) {
  fprintf(stderr, "%s: %s\n", progname, msg);
  fflush(stderr);
}

/* lua.c's msghandler: a traceback, using __tostring for error objects. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1; /* an error object that prints itself */
    msg =
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int isdir(const char *path) {
  struct stat st;
  return path[0] != '\0' && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int haslua(const char *dir) {
  char probe[PATH_MAX];
  int n = snprintf(probe, sizeof probe, "%s/vguest/init.lua", dir);
  return n > 0 && (size_t)n < sizeof probe && access(probe, R_OK) == 0;
}

/* The directory of this program (/proc/self/exe) into exe; 0 if unknown. */
static int exedir(char exe[PATH_MAX]) {
  ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
  char *slash;
  if (n <= 0)
    return 0;
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  if (slash == NULL)
    return 0;
  *slash = '\0';
  return 1;
}

/* package.path = <lua dir templates>;<default package.path> */
static void setpath(lua_State *L) {
  const char *env = getenv("VGUEST_LUA_PATH");
  const char *dir = VGUEST_LUA_INSTALL_DIR;
  char exe[PATH_MAX], rel[PATH_MAX], beside[PATH_MAX], build[PATH_MAX];
  int known = exedir(exe);
  int n = known
              ? snprintf(rel, sizeof rel, "%s/%s", exe, VGUEST_LUA_EXE_REL_DIR)
              : -1;
  if (n > 0 && (size_t)n < sizeof rel && realpath(rel, beside) == NULL)
    n = -1; /* not installed here */
  int inbuild = known && realpath(VGUEST_BUILD_DIR, build) != NULL &&
                strcmp(exe, build) == 0;
  lua_getglobal(L, "package");
  if (env != NULL && env[0] != '\0' && strchr(env, '?') != NULL) {
    lua_pushstring(L, env);
  } else {
    if (env != NULL && env[0] != '\0')
      dir = env;
    else if (n > 0 && (size_t)n < sizeof beside && haslua(beside))
      dir = beside;
    else if (!inbuild && haslua(VGUEST_LUA_INSTALL_DIR))
      dir = VGUEST_LUA_INSTALL_DIR;
    else if (isdir(VGUEST_LUA_SRC_DIR))
      dir = VGUEST_LUA_SRC_DIR;
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", dir, dir);
  }
  lua_pushliteral(L, ";");
  lua_getfield(L, -3, "path");
  lua_concat(L, 3);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

/* package.preload["vguest.core"] = luaopen_vguest_core */
static void preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_vguest_core);
  lua_setfield(L, -2, "vguest.core");
  lua_pop(L, 1);
}

/* arg = { [0] = program, args... }, as lua.c does for a script. */
static void createargtable(lua_State *L, int argc, char **argv) {
  int i;
  lua_createtable(L, argc > 1 ? argc - 1 : 0, 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  lua_setglobal(L, "arg");
}

/* Runs in protected mode; leaves the exit status as an integer. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int status;
  int rc = 0;
  luaL_checkversion(L);
  luaL_openlibs(L);
  preload(L);
  setpath(L);
  createargtable(L, argc, argv);

  /* Load the module now so Ctrl-C is caught before any Lua runs: the
     handler only sets a flag and wakes the loop (l_interrupt.c). */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "vguest.core");
  lua_call(L, 1, 1);
  lua_pop(L, 1);
  lvg_catch_interrupts(L, 1);

  lua_settop(L, 0);
  lua_pushcfunction(L, msghandler); /* index 1 */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "vguest.cli");
  if (lua_pcall(L, 1, 1, 1) != LUA_OK)
    return lua_error(L); /* already has its traceback */
  if (lua_getfield(L, -1, "main") != LUA_TFUNCTION)
    return luaL_error(L, "vguest.cli has no function 'main'");
  lua_getglobal(L, "arg");
  status = lua_pcall(L, 1, 1, 1);
  if (status != LUA_OK)
    return lua_error(L);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    int isint;
    lua_Integer n = lua_tointegerx(L, -1, &isint);
    rc = isint ? (int)(n & 0xff) : 1;
  } else if (lua_isnil(L, -1)) {
    rc = 0;
  } else {
    rc = lua_toboolean(L, -1) ? 0 : 1; /* true: 0, false (or junk): 1 */
  }
  lua_pushinteger(L, rc);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L;
  int rc;
  if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0')
    progname = argv[0];
  L = luaL_newstate();
  if (L == NULL) {
    message("cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  /* A playbook waiting on 10,000 processes holds ~40 MB of live Lua data
     and makes garbage at every poll; Lua's default pause (200: a cycle
     when the heap has doubled) then peaks at 2-2.5x that. A pause of 125
     with a faster step keeps the peak near 1.4x for the same CPU
     (bench/README.md, memory row). */
  lua_gc(L, LUA_GCINC, 125, 400, 0);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    message(msg != NULL ? msg : "(error object is not a string)");
    rc = EXIT_FAILURE;
  } else {
    rc = (int)lua_tointeger(L, -1);
  }
  lvg_catch_interrupts(L, 0);
  lua_close(L);
  return rc;
}
