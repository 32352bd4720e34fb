#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* Reads exactly n digits at *p into *out and advances *p. */
static bool digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return false;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return true;
}

bool util_parse_time(const char *s, int64_t *ms) {
  struct tm tm;
  int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
  const char *p = s;
  memset(&tm, 0, sizeof tm);
  if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
      *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != 't') ||
      !(++p, digits(&p, 2, &h)) || *p++ != ':' || !digits(&p, 2, &mi) ||
      *p++ != ':' || !digits(&p, 2, &sec))
    return false;
  if (*p == '.') {
    int scale = 100, n = 0;
    for (p++; isdigit((unsigned char)*p); p++, n++) {
      frac += (*p - '0') * scale;
      scale /= 10;
    }
    if (n == 0)
      return false;
  }
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p++ == '+' ? 1 : -1;
    if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
      return false;
  } else {
    return false;
  }
  if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      sec > 60 || oh > 23 || om > 59)
    return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t secs = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
  *ms = secs * 1000 + frac;
  return true;
}

bool util_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss,
                   bool *v6) {
  memset(ss, 0, sizeof *ss);
  *v6 = strchr(addr, ':') != NULL;
  if (*v6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    return inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1;
  }
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  a4->sin_family = AF_INET;
  a4->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, addr, &a4->sin_addr) == 1;
}
