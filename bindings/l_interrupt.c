/*
 * Ctrl-C (see l_interrupt.h).
 */
#include <signal.h>
#include <string.h>

#include "l_interrupt.h"

static volatile sig_atomic_t interrupted = 0;
static volatile sig_atomic_t sigint_count = 0; /* wraps; compared only */
static vg_runtime *volatile sig_runtime = NULL;
static volatile lvg_interrupt_action sig_action = NULL;
static void *volatile sig_target = NULL;
static struct sigaction old_action;
static int handler_installed = 0;

static void on_sigint(int sig) {
  vg_runtime *rt = sig_runtime;
  lvg_interrupt_action action = sig_action;
  void *target = sig_target;
  (void)sig;
  interrupted = 1;
  sigint_count = (sig_atomic_t)((sigint_count + 1) & 0x3fffffff);
  if (rt != NULL)
    vg_runtime_interrupt(rt);
  if (action != NULL && target != NULL)
    action(target);
}

void lvg_interrupt_catch(vg_runtime *rt, int on) {
  if (on) {
    struct sigaction sa;
    sig_runtime = rt;
    if (handler_installed)
      return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    /* Restart plain system calls: the loop is woken through the runtime,
       and Lua's io library does not expect EINTR. */
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, &old_action) == 0)
      handler_installed = 1;
  } else if (handler_installed) {
    sigaction(SIGINT, &old_action, NULL);
    handler_installed = 0;
    sig_runtime = NULL;
  }
}

void lvg_interrupt_forget_runtime(vg_runtime *rt) {
  if (sig_runtime == rt)
    sig_runtime = NULL;
}

int lvg_interrupt_caught(void) {
  return interrupted != 0;
}

void lvg_interrupt_clear(void) {
  interrupted = 0;
}

long lvg_interrupt_count(void) {
  return (long)sigint_count;
}

void lvg_interrupt_set_action(lvg_interrupt_action action) {
  sig_action = action;
}

void *lvg_interrupt_target(void *target) {
  void *prev = sig_target;
  sig_target = target;
  return prev;
}
