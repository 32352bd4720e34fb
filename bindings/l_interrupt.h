/*
 * Ctrl-C: a SIGINT handler that only sets a flag, counts, and wakes the
 * runtime it was installed for (vg_runtime_interrupt is async-signal-safe).
 *
 * A signal handler cannot find a Lua state, so the runtime it wakes is kept
 * in a static. Signal dispositions are process-wide anyway: one runtime at a
 * time owns Ctrl-C, the last one installed. Knows nothing of Lua.
 */
#ifndef L_INTERRUPT_H
#define L_INTERRUPT_H

#include <vguest/vguest.h>

/* Installs the handler waking rt (on != 0), or restores the previous
   disposition (on == 0). Installing again only changes the runtime. */
void lvg_interrupt_catch(vg_runtime *rt, int on);
/* rt is being freed: the handler must not wake it any more. */
void lvg_interrupt_forget_runtime(vg_runtime *rt);
/* Whether SIGINT was caught since the flag was last cleared. */
int lvg_interrupt_caught(void);
void lvg_interrupt_clear(void);
/* SIGINTs caught so far: a wrapping counter, only compared. */
long lvg_interrupt_count(void);

/*
 * Ctrl-C of running code (l_break.c): besides the flag and the wake-up,
 * the handler calls `action(target)` when both are set. The target is the
 * thing running now that the action can stop (a Lua thread, for
 * l_break.c); NULL while the program waits (a loop step, a prompt), when
 * the wake-up is all a Ctrl-C needs.
 */
typedef void (*lvg_interrupt_action)(void *target);
void lvg_interrupt_set_action(lvg_interrupt_action action);
/* Sets the target; returns the previous one (to restore). */
void *lvg_interrupt_target(void *target);

#endif
