/*
 * benchclock: the clocks a benchmark playbook needs and Lua lacks
 * (os.time has whole seconds, os.clock is CPU time only).
 *
 *   local clock = require "benchclock"
 *   clock.monotonic()  -- seconds, CLOCK_MONOTONIC (durations)
 *   clock.realtime()   -- seconds since the epoch, CLOCK_REALTIME (to set
 *                      -- against a `finished` timestamp of the simulator)
 *   clock.cpu()        -- CPU seconds of the process, all threads
 *
 * Built into build/bench/benchclock.so; Lua's symbols come from the host
 * (`vguest`), so liblua is not linked.
 */
#include <lauxlib.h>
#include <lua.h>

#include <time.h>

static int clock_of(lua_State *L, clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0)
    return luaL_error(L, "clock_gettime failed");
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int l_monotonic(lua_State *L) {
  return clock_of(L, CLOCK_MONOTONIC);
}

static int l_realtime(lua_State *L) {
  return clock_of(L, CLOCK_REALTIME);
}

static int l_cpu(lua_State *L) {
  return clock_of(L, CLOCK_PROCESS_CPUTIME_ID);
}

int luaopen_benchclock(lua_State *L);

int luaopen_benchclock(lua_State *L) {
  static const luaL_Reg fns[] = {{"monotonic", l_monotonic},
                                 {"realtime", l_realtime},
                                 {"cpu", l_cpu},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
