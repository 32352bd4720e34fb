/*
 * Ctrl-C of running Lua code, as lua.c does it: the SIGINT handler sets a
 * hook on the Lua thread running now (lua_sethook may be called from a
 * signal handler), and the hook raises the interrupt error in it.
 *
 * Which thread runs now: core.resume (the scheduler's coroutine.resume)
 * makes the coroutine it resumes the handler's target while it runs; a
 * loop step or a prompt makes it NULL while it waits (then a Ctrl-C only
 * wakes the loop, as before, and the waits deal with it: a g:run is
 * stopped first, and so on).
 *
 * The hook never raises inside the vguest library (its Lua files, whose
 * sources start with the prefix given to core.interrupt_setup): it stays
 * set until the thread is back in the caller's code (and raises there,
 * at the caller's line) or yields to wait (then core.resume takes it off
 * and the wait sees the Ctrl-C as before). So library state is never left
 * half-updated by an interrupt.
 */
#ifndef L_BREAK_H
#define L_BREAK_H

#include <lua.h>

/* The handler's action (l_interrupt.h): arms the hook on thread target. */
void lvg_break_arm(void *target);
/* The Ctrl-C was dealt with here (a prompt canceled, code stopped): clears
   the flag and consumes the loop's wake-up, so no later wait sees it. */
void lvg_break_consume(lua_State *L);
/* Pushes the interrupt error (core.interrupt_setup's, else "interrupted"). */
void lvg_break_pusherror(lua_State *L);

/* core.resume(co, ...): coroutine.resume with co the Ctrl-C target. */
int lvg_core_resume(lua_State *L);
/* core.interrupt_setup(err, library_prefix): the value the hook and the
   prompts raise, and the source prefix of the library's Lua files. */
int lvg_core_interrupt_setup(lua_State *L);

#endif
