/* C unit tests of the guest command lines (quote.c): every argument must
   reach the program byte for byte. POSIX lines go through the real
   /bin/sh; Windows lines through a reference of what cmd.exe /c (caret
   escapes, %NAME% expansion) and then the MSVCRT parser
   (CommandLineToArgvW) do with them. */
#include "quote.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- POSIX: the shell itself ------------------------------------------- */

/* Runs `printf '%s\0' <line>` through /bin/sh; compares with argv. */
static int posix_roundtrip(const char *const *argv) {
  char *line = NULL;
  if (vg_command_line(VG_OS_POSIX, argv, &line) != VG_OK)
    return 0;
  vgi_buf cmd = {0};
  vgi_buf_adds(&cmd, "printf '%s\\0' ");
  vgi_buf_adds(&cmd, line);
  free(line);
  FILE *p = popen(cmd.data, "r");
  vgi_buf_zfree(&cmd);
  if (!p)
    return 0;
  char got[8192];
  size_t n = fread(got, 1, sizeof got, p);
  pclose(p);
  size_t at = 0;
  for (size_t i = 0; argv[i]; i++) {
    size_t len = strlen(argv[i]);
    if (at + len >= n || memcmp(got + at, argv[i], len) != 0 ||
        got[at + len] != '\0')
      return 0;
    at += len + 1;
  }
  return at == n;
}

/* ---- Windows: a reference of cmd.exe, then of the MSVCRT parser -------- */

/* cmd.exe /c on its command line: %NAME% of a defined variable expands
   (PATH is defined here; names starting with ^ never are), then a caret
   takes the next character literally, and quotes are copied. */
static void cmd_exe(const char *in, vgi_buf *out) {
  vgi_buf expanded = {0};
  for (const char *p = in; *p; p++) {
    if (*p == '%') {
      const char *end = strchr(p + 1, '%');
      if (end && end - p - 1 == 4 && strncmp(p + 1, "PATH", 4) == 0) {
        vgi_buf_adds(&expanded, "C:\\Windows");
        p = end;
        continue;
      }
    }
    vgi_buf_add(&expanded, p, 1);
  }
  for (const char *p = expanded.data; p && *p; p++) {
    if (*p == '^' && p[1])
      p++;
    vgi_buf_add(out, p, 1);
  }
  vgi_buf_zfree(&expanded);
}

/* The MSVCRT rules (2008 and later): returns the arguments, NUL-separated. */
static void msvcrt(const char *line, vgi_buf *out, size_t *argc) {
  const char *p = line;
  *argc = 0;
  for (;;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      return;
    int quoted = 0;
    for (;;) {
      size_t slashes = 0;
      while (*p == '\\') {
        slashes++;
        p++;
      }
      if (*p == '"') {
        for (size_t i = 0; i < slashes / 2; i++)
          vgi_buf_add(out, "\\", 1);
        if (slashes % 2) {
          vgi_buf_add(out, "\"", 1);
        } else if (quoted && p[1] == '"') {
          vgi_buf_add(out, "\"", 1); /* "" inside quotes */
          p++;
        } else {
          quoted = !quoted;
        }
        p++;
        continue;
      }
      for (size_t i = 0; i < slashes; i++)
        vgi_buf_add(out, "\\", 1);
      if (!*p || (!quoted && (*p == ' ' || *p == '\t')))
        break;
      vgi_buf_add(out, p, 1);
      p++;
    }
    vgi_buf_add(out, "", 1); /* a NUL after each argument */
    (*argc)++;
  }
}

static int windows_roundtrip(const char *const *argv) {
  char *line = NULL;
  if (vg_command_line(VG_OS_WINDOWS, argv, &line) != VG_OK)
    return 0;
  vgi_buf after_cmd = {0}, args = {0};
  cmd_exe(line, &after_cmd);
  free(line);
  size_t argc;
  msvcrt(after_cmd.data ? after_cmd.data : "", &args, &argc);
  int ok = 1;
  size_t at = 0, i = 0;
  for (; argv[i] && ok; i++) {
    size_t len = strlen(argv[i]);
    ok = at + len < args.len + 1 && memcmp(args.data + at, argv[i], len) == 0 &&
         args.data[at + len] == '\0';
    at += len + 1;
  }
  ok = ok && argc == i;
  if (!ok)
    fprintf(stderr, "windows: %s -> %s\n", argv[1] ? argv[1] : argv[0],
            after_cmd.data);
  vgi_buf_zfree(&after_cmd);
  vgi_buf_zfree(&args);
  return ok;
}

static void test_cases(void) {
  static const char *const cases[] = {"",
                                      " ",
                                      "it's",
                                      "a b",
                                      "\"quoted\"",
                                      "back\\",
                                      "\\\\srv\\share\\",
                                      "a\\\"b",
                                      "trail\\\\",
                                      "%PATH%",
                                      "100%",
                                      "%^x%",
                                      "a&b|c",
                                      "(x)",
                                      "<in> >out",
                                      "^caret^",
                                      "!bang!",
                                      "tab\there",
                                      "UTF-8 é ∂",
                                      "-c 'exit 3'",
                                      "$HOME",
                                      "`id`",
                                      "$(id)",
                                      "*",
                                      "~",
                                      "a;b",
                                      "#hash",
                                      "x\ny",
                                      NULL};
  for (int i = 0; cases[i]; i++) {
    const char *argv[] = {"/bin/prog", cases[i], "after", NULL};
    CHECK(posix_roundtrip(argv));
    if (!strchr(cases[i], '\n'))
      CHECK(windows_roundtrip(argv));
  }
  /* every ASCII punctuation character, alone and in a word */
  for (int c = 33; c < 127; c++) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
        (c >= 'a' && c <= 'z'))
      continue;
    char alone[2] = {(char)c, 0}, word[8];
    snprintf(word, sizeof word, "a%cb%c", c, c);
    const char *argv[] = {"/bin/prog", alone, word, "", NULL};
    CHECK(posix_roundtrip(argv));
    CHECK(windows_roundtrip(argv));
  }
  /* a line break cannot pass through cmd.exe; it can through sh */
  const char *nl[] = {"prog", "x\ny", NULL};
  char *line = NULL;
  CHECK(vg_command_line(VG_OS_WINDOWS, nl, &line) == VG_EINVALID && !line);
  CHECK(posix_roundtrip(nl));
  /* misuse */
  const char *none[] = {NULL};
  CHECK(vg_command_line(VG_OS_POSIX, none, &line) == VG_EMISUSE);
  CHECK(vg_command_line(VG_OS_AUTO, nl, &line) == VG_EMISUSE);
  CHECK(vg_command_line(VG_OS_POSIX, nl, NULL) == VG_EMISUSE);
  /* the plain stay plain */
  const char *plain[] = {"/usr/bin/printf", "%s\\n", "it's", NULL};
  CHECK(vg_command_line(VG_OS_POSIX, plain, &line) == VG_OK &&
        strcmp(line, "/usr/bin/printf '%s\\n' 'it'\\''s'") == 0);
  free(line);
}

int main(void) {
  test_cases();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
