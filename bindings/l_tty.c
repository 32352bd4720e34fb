/*
 * Reading a secret at the terminal (see l_tty.h).
 *
 * The terminal stays in canonical mode with echo off, so the line
 * discipline edits the line; Ctrl-C sends SIGINT (ISIG stays on), whose
 * handler only counts it: poll(2), which a signal always interrupts
 * (read(2) is restarted under SA_RESTART), notices the count changed.
 * Ctrl-D on an empty line is the end of input.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "l_interrupt.h"
#include "l_tty.h"

typedef struct line {
  char *b;
  size_t len, cap;
} line;

static int add(line *l, char c) {
  if (l->len == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    char *b = malloc(cap);
    if (b == NULL)
      return -1;
    if (l->b != NULL) {
      memcpy(b, l->b, l->len);
      explicit_bzero(l->b, l->cap);
      free(l->b);
    }
    l->b = b;
    l->cap = cap;
  }
  l->b[l->len++] = c;
  return 0;
}

static lvg_tty_status read_line(int fd, line *l, long count) {
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    char c;
    ssize_t n;
    if (lvg_interrupt_count() != count)
      return LVG_TTY_INTERRUPTED;
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      return l->len ? LVG_TTY_OK : LVG_TTY_EOF;
    }
    n = read(fd, &c, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0)
      return l->len ? LVG_TTY_OK : LVG_TTY_EOF;
    if (c == '\n')
      return LVG_TTY_OK;
    if (add(l, c) != 0)
      return LVG_TTY_NOMEM;
  }
}

lvg_tty_status lvg_tty_read_secret(const char *prompt, vg_secret **out,
                                   int *is_tty) {
  long count = lvg_interrupt_count();
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  int own = fd >= 0;
  struct termios old, quiet;
  int echo_off;
  line l = {NULL, 0, 0};
  lvg_tty_status st;
  *out = NULL;
  if (!own)
    fd = STDIN_FILENO;
  echo_off = isatty(fd) && tcgetattr(fd, &old) == 0;
  *is_tty = echo_off;
  if (echo_off) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ISIG | ICANON;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  if (prompt != NULL && own) {
    ssize_t w = write(fd, prompt, strlen(prompt));
    (void)w;
  } else if (prompt != NULL) {
    fputs(prompt, stderr);
    fflush(stderr);
  }
  st = read_line(fd, &l, count);
  if (echo_off) {
    ssize_t w;
    tcsetattr(fd, TCSAFLUSH, &old);
    w = write(fd, "\n", 1);
    (void)w;
  }
  if (own)
    close(fd);
  if (st == LVG_TTY_OK && vg_secret_new(l.b ? l.b : "", l.len, out) != VG_OK)
    st = LVG_TTY_NOMEM;
  if (l.b != NULL) {
    explicit_bzero(l.b, l.cap);
    free(l.b);
  }
  return st;
}
