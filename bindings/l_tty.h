/*
 * Reading a secret at the terminal: /dev/tty with echo off (stdin and
 * stderr when there is no terminal), stopped by Ctrl-C. Knows nothing of
 * Lua; the bytes read are wiped before their buffer is freed.
 */
#ifndef L_TTY_H
#define L_TTY_H

#include <vguest/vguest.h>

typedef enum lvg_tty_status {
  LVG_TTY_OK,          /* *out holds the line (maybe empty) */
  LVG_TTY_EOF,         /* end of input (Ctrl-D) before a line */
  LVG_TTY_INTERRUPTED, /* Ctrl-C (a SIGINT caught, l_interrupt.c) */
  LVG_TTY_NOMEM
} lvg_tty_status;

/* Writes prompt (borrows), reads one line without its newline into *out
   (returns-owned, vg_secret_free). *is_tty: whether it was a terminal. */
lvg_tty_status lvg_tty_read_secret(const char *prompt, vg_secret **out,
                                   int *is_tty);

#endif
