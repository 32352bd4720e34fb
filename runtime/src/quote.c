/* Quoting for the guest's command line. POSIX: single quotes, a quote
   inside as '\''. Windows: the MSVCRT rules (backslashes double only in
   front of a quote), then every cmd.exe metacharacter behind a caret, so
   that cmd.exe /c hands the program exactly that command line; a % is
   written %^ so that no %NAME% is expanded (the caret goes after cmd.exe
   looked for variables). */
#include "quote.h"

#include <string.h>

static int safe_posix(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c);
}

int vgi_quote_posix(vgi_buf *b, const char *arg) {
  int plain = *arg != '\0';
  for (const char *p = arg; *p && plain; p++)
    plain = safe_posix((unsigned char)*p);
  if (plain)
    return vgi_buf_adds(b, arg);
  if (vgi_buf_add(b, "'", 1))
    return -1;
  for (const char *p = arg; *p; p++) {
    if (*p == '\'' ? vgi_buf_adds(b, "'\\''") : vgi_buf_add(b, p, 1))
      return -1;
  }
  return vgi_buf_add(b, "'", 1);
}

/* A character on cmd.exe's command line, behind a caret when it means
   something to cmd.exe. */
static int cmd_char(vgi_buf *b, char c) {
  if (c == '%')
    return vgi_buf_add(b, "%^", 2);
  if (strchr("()!^\"<>&|", c) && vgi_buf_add(b, "^", 1))
    return -1;
  return vgi_buf_add(b, &c, 1);
}

static int cmd_repeat(vgi_buf *b, char c, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (cmd_char(b, c))
      return -1;
  return 0;
}

int vgi_quote_windows(vgi_buf *b, const char *arg) {
  if (strpbrk(arg, "\r\n"))
    return -2;
  if (*arg && !strpbrk(arg, " \t\v\""))
    goto plain;
  if (cmd_char(b, '"'))
    return -1;
  for (const char *p = arg;; p++) {
    size_t slashes = 0;
    while (*p == '\\') {
      slashes++;
      p++;
    }
    if (!*p) { /* before the closing quote: every backslash doubled */
      if (cmd_repeat(b, '\\', 2 * slashes))
        return -1;
      break;
    }
    if (*p == '"') { /* doubled, plus one for the quote itself */
      if (cmd_repeat(b, '\\', 2 * slashes + 1) || cmd_char(b, '"'))
        return -1;
    } else if (cmd_repeat(b, '\\', slashes) || cmd_char(b, *p)) {
      return -1;
    }
  }
  return cmd_char(b, '"');
plain:
  for (const char *p = arg; *p; p++)
    if (cmd_char(b, *p))
      return -1;
  return 0;
}

int vgi_quote_windows_path(vgi_buf *b, const char *path) {
  if (strpbrk(path, "\"\r\n"))
    return -2;
  return vgi_buf_printf(b, "\"%s\"", path);
}

vg_status vg_command_line(vg_os os, const char *const *argv, char **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!argv || !argv[0] || (os != VG_OS_POSIX && os != VG_OS_WINDOWS))
    return VG_EMISUSE;
  vgi_buf b = {0};
  for (size_t i = 0; argv[i]; i++) {
    int rc = i ? vgi_buf_add(&b, " ", 1) : 0;
    if (!rc)
      rc = os == VG_OS_POSIX ? vgi_quote_posix(&b, argv[i])
                             : vgi_quote_windows(&b, argv[i]);
    if (rc) {
      vgi_buf_zfree(&b);
      return rc == -2 ? VG_EINVALID : VG_ENOMEM;
    }
  }
  *out = vgi_buf_steal(&b);
  return *out ? VG_OK : VG_ENOMEM;
}
