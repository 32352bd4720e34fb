/*
 * The loop functions of vguest.core: core.step drives the runtime and
 * reports completed ops (and, while the REPL reads a line, feeds the line
 * editor: l_edit.c); timers; Ctrl-C (l_interrupt.c holds its state,
 * l_break.c stops running Lua code).
 */
#include <lauxlib.h>

#include "l_break.h"
#include "l_check.h"
#include "l_edit.h"
#include "l_error.h"
#include "l_interrupt.h"
#include "l_loop.h"
#include "l_op.h"
#include "l_runtime.h"

/* core.step([timeout_ms]) -> ops [, true] */
int lvg_core_step(lua_State *L) {
  lvg_runtime *rt = lvg_runtime_get(L);
  long ms = -1;
  vg_status st;
  if (!lua_isnoneornil(L, 1)) {
    lvg_call c = lvg_call_get(L, "step", 0, 0);
    lua_Number t;
    if (lua_type(L, 1) != LUA_TNUMBER)
      lvg_typeerror(L, &c, 1, "number");
    t = lua_tonumber(L, 1);
    if (t != t)
      lvg_argerror(L, &c, 1, "timeout must not be NaN");
    if (t >= 0) {
      ms = t > 2147483647.0 ? 2147483647L : (long)t;
      if ((lua_Number)ms < t && ms < 2147483647L)
        ms++; /* round up: never wake before the deadline */
    }
  }
  lua_settop(L, 0);
  if (lvg_op_queued(rt))
    ms = 0; /* completions left by a step that ran out of memory */
  {
    /* waiting, not running: a Ctrl-C now only wakes the loop */
    void *target = lvg_interrupt_target(NULL);
    if (lvg_edit_reading())
      st = lvg_edit_step(L, rt->rt, ms); /* and the line being edited */
    else
      st = vg_runtime_step(rt->rt, ms);
    lvg_interrupt_target(target);
  }
  if (st != VG_OK && st != VG_ECANCELED)
    return lvg_raisestatus(L, "step", st, NULL); /* completions stay queued */
  lvg_op_report(L, rt);
  if (st == VG_ECANCELED) {
    lua_pushboolean(L, 1);
    return 2;
  }
  return 1;
}

int lvg_core_pending(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)vg_runtime_pending(lvg_runtime_get(L)->rt));
  return 1;
}

int lvg_core_interrupt(lua_State *L) {
  vg_runtime_interrupt(lvg_runtime_get(L)->rt);
  return 0;
}

/* core.interrupted([clear]) -> bool: was SIGINT caught since last clear */
int lvg_core_interrupted(lua_State *L) {
  int clear = lua_toboolean(L, 1);
  if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TBOOLEAN) {
    lvg_call c = lvg_call_get(L, "interrupted", 0, 0);
    lvg_typeerror(L, &c, 1, "boolean");
  }
  lua_pushboolean(L, lvg_interrupt_caught());
  if (clear)
    lvg_interrupt_clear();
  return 1;
}

void lvg_catch_interrupts(lua_State *L, int on) {
  lvg_interrupt_catch(on ? lvg_runtime_get(L)->rt : NULL, on);
  /* and Ctrl-C stops running Lua code (l_break.c) */
  lvg_interrupt_set_action(on ? lvg_break_arm : NULL);
}

/* core.catch_interrupts(on) */
int lvg_core_catch_interrupts(lua_State *L) {
  if (lua_type(L, 1) != LUA_TBOOLEAN) {
    lvg_call c = lvg_call_get(L, "catch_interrupts", 0, 0);
    lvg_typeerror(L, &c, 1, "boolean");
  }
  lvg_catch_interrupts(L, lua_toboolean(L, 1));
  return 0;
}

/* core.timer(ms) -> Op */
int lvg_core_timer(lua_State *L) {
  lvg_runtime *rt = lvg_runtime_get(L);
  lvg_call c = lvg_call_get(L, "timer", 0, 0);
  lua_Integer ms;
  int isint = 0;
  lvg_op *o;
  vg_op *op = NULL;
  vg_status st;
  if (lua_type(L, 1) != LUA_TNUMBER)
    lvg_typeerror(L, &c, 1, "number");
  ms = lua_tointegerx(L, 1, &isint);
  if (!isint)
    lvg_argerror(L, &c, 1, "number has no integer representation");
  if (ms < 0)
    lvg_argerror(L, &c, 1, "delay must not be negative");
  if (ms > 2147483647)
    lvg_argerror(L, &c, 1, "delay too large");
  o = lvg_op_new(L, rt, 0, "timer", LVG_OP_TRUE);
  st = vg_timer_start(rt->rt, (long)ms, lvg_op_callback(), o, &op);
  lvg_op_started(L, o, st, op);
  return 1;
}
