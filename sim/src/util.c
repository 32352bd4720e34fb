#include "util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(void) {
  fputs("vguest-sim: out of memory\n", stderr);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    oom();
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    oom();
  return p;
}

void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p)
    oom();
  return p;
}

char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p)
    oom();
  return p;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0)
    oom();
  return s;
}

int64_t util_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_format_time(int64_t ms, char out[32]) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(ms % 1000));
  snprintf(out, 32, "%.31s", buf);
}

void util_random_hex(char *out, size_t nhex) {
  static const char digits[] = "0123456789abcdef";
  unsigned char buf[64];
  size_t done = 0;
  while (done < nhex) {
    size_t want = (nhex - done + 1) / 2;
    if (want > sizeof buf)
      want = sizeof buf;
    if (RAND_bytes(buf, (int)want) != 1) {
      fputs("vguest-sim: RAND_bytes failed\n", stderr);
      abort();
    }
    for (size_t i = 0; i < want && done < nhex; i++) {
      out[done++] = digits[buf[i] >> 4];
      if (done < nhex)
        out[done++] = digits[buf[i] & 15];
    }
  }
  out[nhex] = '\0';
}

bool util_parse_int64(const char *s, int64_t *out) {
  if (!s || !*s)
    return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s || s[0] == ' ' || s[0] == '+')
    return false;
  *out = v;
  return true;
}

bool util_secret_eq(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la != lb)
    return false;
  return CRYPTO_memcmp(a, b, la) == 0;
}

void util_sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
    ;
}
