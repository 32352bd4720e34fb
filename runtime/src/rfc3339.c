/* RFC 3339 date-times as the servers send them, normalized to one form so
   that every flavour reports "2026-11-23T04:53:55.000Z". */
#include "rfc3339.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++, (*p)++) {
    if (!isdigit((unsigned char)**p))
      return -1;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return 0;
}

int vgi_time_normalize(const char *s, char out[32]) {
  struct tm tm;
  int y, mo, d, h, mi, sec, ms = 0;
  const char *p = s;
  if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
      *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
    return -1;
  p++;
  if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
      digits(&p, 2, &sec))
    return -1;
  if (*p == '.') {
    p++;
    int scale = 100, any = 0;
    while (isdigit((unsigned char)*p)) {
      ms += (*p - '0') * scale;
      scale /= 10;
      p++;
      any = 1;
    }
    if (!any)
      return -1;
  }
  long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (digits(&p, 2, &oh))
      return -1;
    if (*p == ':')
      p++;
    if (digits(&p, 2, &om))
      return -1;
    off = sign * (oh * 3600L + om * 60L);
  }
  if (*p != '\0')
    return -1;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm) - off;
  struct tm u;
  if (!gmtime_r(&t, &u))
    return -1;
  if (ms < 0 || ms > 999 || u.tm_year + 1900 > 9999 || u.tm_year + 1900 < 0)
    return -1;
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           u.tm_year + 1900, u.tm_mon + 1, u.tm_mday, u.tm_hour, u.tm_min,
           u.tm_sec, ms);
  memcpy(out, tmp, 25);
  return 0;
}
