/* Command lines for a guest family: POSIX shell quoting, and the Windows
   rules (MSVCRT argument parsing behind cmd.exe /c). Pure functions. */
#ifndef VGUEST_QUOTE_H
#define VGUEST_QUOTE_H

#include "vguest/vguest.h"

#include "buf.h"

/* Appends one argument, quoted so that /bin/sh gives it back unchanged. */
int vgi_quote_posix(vgi_buf *b, const char *arg);
/* Appends one argument quoted for the MSVCRT rules (CommandLineToArgvW),
   then escaped for cmd.exe (every metacharacter behind a caret).
   -1: no memory; -2: cmd.exe cannot carry it (a line break). */
int vgi_quote_windows(vgi_buf *b, const char *arg);
/* Appends a path for a cmd.exe redirection ("C:\\x y\\out"). -2 when it
   cannot be one (a quote, a line break). */
int vgi_quote_windows_path(vgi_buf *b, const char *path);

#endif
