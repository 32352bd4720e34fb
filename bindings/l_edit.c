/*
 * Line editing for the REPL, through libedit's readline-compatible API
 * (BSD-licensed). History is process-wide in libedit, like in lua.c.
 *
 * Two ways to read a line. core.readline blocks in libedit's readline().
 * The REPL reads from the loop instead (libedit's callback interface):
 * core.edit_begin(prompt) installs the line handler and shows the prompt;
 * from then on core.step (l_loop.c, lvg_edit_step) waits for the runtime
 * *and* for stdin, and feeds what was typed to rl_callback_read_char, so
 * background tasks run while the line is edited; core.edit_take() gives
 * the line once it is complete, core.edit_end() removes the handler.
 * core.edit_print writes text above the line being edited and draws the
 * line again. Tab completion calls the Lua function given to
 * core.edit_completer, in a protected call (no error unwinds through
 * libedit), with the word before the cursor.
 *
 * libedit's own signal handling is off (rl_catch_signals = 0): SIGINT is
 * ours (l_interrupt.c). Characters are read by edit_getc, which waits in
 * poll(2) (always interrupted by a signal, unlike a restarted read), so a
 * Ctrl-C ends a blocking readline() too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <editline/readline.h>

#include <lauxlib.h>

#include "l_break.h"
#include "l_check.h"
#include "l_edit.h"
#include "l_interrupt.h"
#include "l_runtime.h"

/* The line being read from the loop (libedit's state is process-wide). */
static struct {
  int active;           /* the callback handler is installed */
  int state;            /* 0 reading, 1 a line, 2 end of input */
  char *line;           /* owned, once state is 1 */
  int in_read;          /* inside rl_callback_read_char */
  int last_char;        /* the last character edit_getc read */
  int eof_char;         /* VEOF of the terminal (Ctrl-D) */
  lua_State *L;         /* the state stepping, for completion */
  int completer;        /* registry ref of the completion function */
  int completer_active; /* (one completion at a time) */
} ed = {0, 0, NULL, 0, -1, 4, NULL, LUA_NOREF, 0};

/* Lua's word breaks: everything but identifiers, '.' and ':'. */
static const char word_breaks[] = " \t\n\"\\'`@$><=;|&{}()[]+-*/%^~#,";

/* A string argument (numbers are converted, as luaL_checkstring does). */
static const char *checkstring(lua_State *L, const char *own, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER) {
    lvg_call c = lvg_call_get(L, own, 0, 0);
    lvg_typeerror(L, &c, idx, "string");
  }
  return lua_tostring(L, idx);
}

/* libedit's character reader: waits in poll(2), so that a Ctrl-C (the
   count of l_interrupt.c moves) ends the read as end of input does. */
static int edit_getc(FILE *f) {
  int fd = fileno(f);
  long before = lvg_interrupt_count();
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    unsigned char c;
    ssize_t n;
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR && lvg_interrupt_count() == before)
        continue; /* another signal */
      return -1;
    }
    n = read(fd, &c, 1);
    if (n == 1) {
      ed.last_char = c;
      return c;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    ed.last_char = -1;
    return -1;
  }
}

static char **complete(const char *text, int start, int end);

static void init_edit(void) {
  static int done = 0;
  if (!done) {
    struct termios t;
    done = 1;
    rl_readline_name = (char *)"vguest"; /* ~/.editrc section */
    rl_catch_signals = 0;
    rl_getc_function = edit_getc;
    if (tcgetattr(STDIN_FILENO, &t) == 0 && t.c_cc[VEOF] != 0)
      ed.eof_char = t.c_cc[VEOF];
    using_history(); /* initializes libedit */
    rl_basic_word_break_characters = word_breaks;
    rl_attempted_completion_function = complete;
    rl_completion_append_character = '\0';
  }
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
  const char *prompt =
      lua_isnoneornil(L, 1) ? "" : checkstring(L, "readline", 1);
  char *line;
  init_edit();
  for (;;) {
    long before = lvg_interrupt_count();
    void *target = lvg_interrupt_target(NULL); /* waiting, not running */
    ed.L = L;
    line = readline(prompt);
    ed.L = NULL;
    lvg_interrupt_target(target);
    if (line != NULL || lvg_interrupt_count() == before)
      break;
    lvg_break_consume(L); /* not meant for the loop */
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
  const char *line = checkstring(L, "history_add", 1);
  init_edit();
  if (line[0] != '\0')
    add_history(line);
  return 0;
}

/* Runs libedit's read_history or write_history on the path argument:
   true | nil, message (io-style). */
static int history_file(lua_State *L, const char *own,
                        int (*fn)(const char *)) {
  const char *path = checkstring(L, own, 1);
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
  return history_file(L, "history_load", read_history);
}

/* core.history_save(path) */
int lvg_history_save(lua_State *L) {
  return history_file(L, "history_save", write_history);
}

/* core.isatty(fd) -> bool */
int lvg_isatty(lua_State *L) {
  lua_Integer fd = 0;
  int isint = 0;
  if (lua_type(L, 1) == LUA_TNUMBER)
    fd = lua_tointegerx(L, 1, &isint);
  if (!isint) {
    lvg_call c = lvg_call_get(L, "isatty", 0, 0);
    if (lua_type(L, 1) == LUA_TNUMBER)
      lvg_argerror(L, &c, 1, "number has no integer representation");
    lvg_typeerror(L, &c, 1, "number");
  }
  lua_pushboolean(L, fd >= 0 && fd <= 0x7fffffff && isatty((int)fd));
  return 1;
}

/* ---- reading a line from the loop -------------------------------------- */

static void on_line(char *line) {
  if (ed.state != 0) {
    free(line);
    return;
  }
  ed.state = line != NULL ? 1 : 2;
  ed.line = line;
}

static void drop_line(void) {
  free(ed.line);
  ed.line = NULL;
  ed.state = 0;
}

/* core.edit_begin(prompt): shows the prompt; core.step now reads too. */
int lvg_edit_begin(lua_State *L) {
  const char *prompt = checkstring(L, "edit_begin", 1);
  init_edit();
  if (ed.active)
    rl_callback_handler_remove();
  drop_line();
  ed.active = 1;
  rl_callback_handler_install(prompt, on_line);
  return 0;
}

/* core.edit_take() -> line | false (end of input) | nil (not yet) */
int lvg_edit_take(lua_State *L) {
  if (ed.state == 1) {
    lua_pushstring(L, ed.line != NULL ? ed.line : "");
    drop_line();
    ed.state = 3; /* taken: read nothing more until edit_begin */
    return 1;
  }
  if (ed.state == 2) {
    ed.state = 3;
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushnil(L);
  return 1;
}

/* core.edit_end(): removes the handler (the terminal is as before). */
int lvg_edit_end(lua_State *L) {
  (void)L;
  if (ed.active) {
    rl_callback_handler_remove();
    ed.active = 0;
  }
  drop_line();
  return 0;
}

/* core.edit_print(text): text on stderr above the line being edited,
   which is then drawn again (at once, when no line is edited). */
int lvg_edit_print(lua_State *L) {
  size_t len;
  const char *text = checkstring(L, "edit_print", 1);
  len = lua_rawlen(L, 1);
  if (!ed.active || ed.state != 0) {
    fwrite(text, 1, len, stderr);
    fflush(stderr);
    return 0;
  }
  fflush(stdout);
  fputs("\r\033[K", stdout); /* the prompt's row, emptied */
  fflush(stdout);
  /* the terminal is in libedit's mode: a line feed may not return */
  while (len > 0) {
    const char *nl = memchr(text, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - text) : len;
    fwrite(text, 1, n, stderr);
    if (nl != NULL) {
      fputs("\r\n", stderr);
      n++;
    }
    text += n;
    len -= n;
  }
  fflush(stderr);
  rl_forced_update_display(); /* the prompt and the line, as they were */
  fflush(stdout);
  return 0;
}

int lvg_edit_reading(void) {
  return ed.active && ed.state == 0 && !ed.in_read;
}

/* Feeds one character (or key sequence) to libedit. */
static void feed(lua_State *L) {
  int was_empty = rl_end == 0;
  ed.in_read = 1;
  ed.L = L;
  ed.last_char = -1;
  rl_callback_read_char();
  ed.L = NULL;
  ed.in_read = 0;
  /* Ctrl-D on an empty line, or stdin at its end */
  if (ed.state == 0 &&
      (ed.last_char == -1 || (was_empty && ed.last_char == ed.eof_char)))
    ed.state = 2;
}

vg_status lvg_edit_step(lua_State *L, vg_runtime *rt, long ms) {
  struct pollfd p[2];
  long t = vg_runtime_timeout_ms(rt);
  if (ms >= 0 && (t < 0 || t > ms))
    t = ms;
  p[0].fd = vg_runtime_fd(rt);
  p[0].events = POLLIN;
  p[0].revents = 0;
  p[1].fd = STDIN_FILENO;
  p[1].events = POLLIN;
  p[1].revents = 0;
  /* a Ctrl-C makes the runtime's fd readable (vg_runtime_interrupt) */
  if (poll(p, 2, t > INT_MAX ? INT_MAX : (int)t) > 0 &&
      (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    do {
      struct pollfd more = {STDIN_FILENO, POLLIN, 0};
      feed(L);
      if (ed.state != 0 || poll(&more, 1, 0) <= 0)
        break;
    } while (1);
  }
  return vg_runtime_step(rt, 0);
}

/* ---- completion --------------------------------------------------------- */

/* The candidates of the completion running now, for the generator. */
static struct {
  const char **items;
  size_t n, next;
} cands;

static char *generate(const char *text, int state) {
  (void)text;
  if (state == 0)
    cands.next = 0;
  if (cands.next >= cands.n)
    return NULL;
  return strdup(cands.items[cands.next++]);
}

/* rl_attempted_completion_function: the completer's strings, each a
   replacement of text (the word before the cursor). */
static char **complete(const char *text, int start, int end) {
  lua_State *L = ed.L;
  char **matches = NULL;
  size_t i, n;
  (void)end;
  rl_attempted_completion_over = 1; /* never file names */
  if (L == NULL || ed.completer == LUA_NOREF || ed.completer_active ||
      !lua_checkstack(L, 4))
    return NULL;
  ed.completer_active = 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ed.completer);
  lua_pushstring(L, text);
  lua_pushlstring(L, rl_line_buffer, start > 0 ? (size_t)start : 0);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_pop(L, 1);
    ed.completer_active = 0;
    return NULL;
  }
  n = (size_t)lua_rawlen(L, -1);
  cands.items = n > 0 ? calloc(n, sizeof *cands.items) : NULL;
  cands.n = 0;
  for (i = 1; cands.items != NULL && i <= n; i++) {
    /* the strings stay in the table, which stays on the stack */
    if (lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TSTRING)
      cands.items[cands.n++] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  if (cands.n > 0)
    matches = rl_completion_matches(text, generate);
  free(cands.items);
  cands.items = NULL;
  cands.n = 0;
  lua_pop(L, 1);
  ed.completer_active = 0;
  return matches;
}

/* core.edit_completer(fn | nil): fn(word, line_before_word) -> strings */
int lvg_edit_completer(lua_State *L) {
  if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TFUNCTION) {
    lvg_call c = lvg_call_get(L, "edit_completer", 0, 0);
    lvg_typeerror(L, &c, 1, "function");
  }
  init_edit();
  luaL_unref(L, LUA_REGISTRYINDEX, ed.completer);
  ed.completer = LUA_NOREF;
  if (!lua_isnoneornil(L, 1)) {
    lua_settop(L, 1);
    ed.completer = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

/* An integer >= 0. */
static lua_Integer checkcount(lua_State *L, const lvg_call *c, int idx) {
  int isint = 0;
  lua_Integer v = lua_tointegerx(L, idx, &isint);
  if (lua_type(L, idx) != LUA_TNUMBER)
    lvg_typeerror(L, c, idx, "number");
  if (!isint || v < 0)
    lvg_argerror(L, c, idx, "must be an integer >= 0");
  return v;
}

/* core.history_append(path, n) -> true | nil, message: appends the last
   n entries (the n newest) to the file; libedit writes its cookie line
   first into an empty file. */
int lvg_history_append(lua_State *L) {
  const char *path = checkstring(L, "history_append", 1);
  lvg_call c = lvg_call_get(L, "history_append", 0, 0);
  lua_Integer n = checkcount(L, &c, 2);
  int rc = 0;
  init_edit();
  errno = 0;
  /* libedit's append_history(n) writes n + 1 entries when it has more
     than n (its H_NSAVE_FP walks back n entries from the newest, then
     writes that one and every newer one: 3.1-20221030 and later): asked
     for n - 1 it writes the n lines this session added. */
  if (n > 0)
    rc = append_history(n - 1 > INT_MAX ? INT_MAX : (int)(n - 1), path);
  if (rc != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(rc > 0 ? rc : EIO));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* The file's bytes (owned: free), or NULL with errno set. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *b = NULL;
  size_t cap = 0;
  *len = 0;
  if (f == NULL)
    return NULL;
  for (;;) {
    size_t n;
    if (*len == cap) {
      char *nb = realloc(b, cap ? 2 * cap : 65536);
      if (nb == NULL) {
        free(b);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      b = nb;
      cap = cap ? 2 * cap : 65536;
    }
    n = fread(b + *len, 1, cap - *len, f);
    *len += n;
    if (n == 0)
      break;
  }
  fclose(f);
  return b;
}

/*
 * core.history_truncate(path, limit) -> true | nil, message: keeps the
 * last `limit` entries (lines) of the file and its first line, libedit's
 * cookie (libedit's history_truncate_file drops it, and a file without it
 * no longer loads). Only a file over the limit is rewritten, into a new
 * file (mode 0600, as libedit writes it) renamed over it: a REPL reading
 * it meanwhile sees the old file or the new one, never half of one.
 */
int lvg_history_truncate(lua_State *L) {
  const char *path = checkstring(L, "history_truncate", 1);
  lvg_call c = lvg_call_get(L, "history_truncate", 0, 0);
  lua_Integer limit = checkcount(L, &c, 2);
  size_t len, head = 0, end, from, i;
  lua_Integer lines = 0;
  char *b = slurp(path, &len);
  const char *tmp;
  int fd, e = 0;
  if (b == NULL) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  if (len >= 12 && memcmp(b, "_HiStOrY_V2_", 12) == 0) {
    const char *nl = memchr(b, '\n', len);
    head = nl != NULL ? (size_t)(nl - b) + 1 : len;
  }
  /* from: where the last `limit` lines start (a '\n' ending the file
     ends the last line) */
  end = len > head && b[len - 1] == '\n' ? len - 1 : len;
  from = head;
  for (i = end; limit > 0 && i > head; i--) {
    if (b[i - 1] == '\n' && ++lines == limit) {
      from = i;
      break;
    }
  }
  if (from == head) { /* not over the limit */
    free(b);
    lua_pushboolean(L, 1);
    return 1;
  }
  tmp = lua_pushfstring(L, "%s.%d.tmp", path, (int)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, b, head) != (ssize_t)head ||
      write(fd, b + from, len - from) != (ssize_t)(len - from))
    e = errno != 0 ? errno : EIO;
  if (fd >= 0 && close(fd) != 0 && e == 0)
    e = errno;
  if (e == 0 && rename(tmp, path) != 0)
    e = errno;
  if (e != 0)
    unlink(tmp);
  free(b);
  if (e != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(e));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}
