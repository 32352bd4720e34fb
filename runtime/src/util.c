/* Small shared pieces: statuses, memory, buffers, errors, JSON and time. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- statuses ---------------------------------------------------------- */

#define NAME(name, kind, text) #name,
#define KIND(name, kind, text) kind,
#define TEXT(name, kind, text) text,
static const char *const status_names[] = {VG_STATUS_LIST(NAME)};
static const char *const status_kinds[] = {VG_STATUS_LIST(KIND)};
static const char *const status_texts[] = {VG_STATUS_LIST(TEXT)};
#undef NAME
#undef KIND
#undef TEXT

static int status_ok(vg_status st) {
  return (int)st >= 0 && st < VG_STATUS_COUNT;
}

const char *vg_status_name(vg_status st) {
  return status_ok(st) ? status_names[st] : "EUNKNOWN";
}

const char *vg_status_kind(vg_status st) {
  return status_ok(st) ? status_kinds[st] : "unknown";
}

const char *vg_status_text(vg_status st) {
  return status_ok(st) ? status_texts[st] : "unknown status";
}

int vgi_status_retryable(vg_status st) {
  return st == VG_EBUSY || st == VG_EUNAVAILABLE || st == VG_ETIMEDOUT ||
         st == VG_ETRANSPORT;
}

/* ---- memory ------------------------------------------------------------ */

void vgi_zero(void *p, size_t n) {
  if (p && n)
    explicit_bzero(p, n);
}

typedef union zhdr {
  size_t n;
  long double align_ld;
  void *align_p;
} zhdr;

void *vgi_zmalloc(size_t n) {
  zhdr *h = malloc(sizeof(zhdr) + n);
  if (!h)
    return NULL;
  h->n = n;
  return h + 1;
}

void vgi_zfree(void *p) {
  if (!p)
    return;
  zhdr *h = (zhdr *)p - 1;
  explicit_bzero(h, sizeof(zhdr) + h->n);
  free(h);
}

void vgi_json_init(void) {
  /* Idempotent; every runtime sets the same functions. */
  json_set_alloc_funcs(vgi_zmalloc, vgi_zfree);
}

char *vgi_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

/* ---- buffers ----------------------------------------------------------- */

static int buf_reserve(vgi_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *d = vgi_zmalloc(cap);
  if (!d)
    return -1;
  if (b->data)
    memcpy(d, b->data, b->len);
  vgi_zfree(b->data);
  b->data = d;
  b->cap = cap;
  return 0;
}

int vgi_buf_add(vgi_buf *b, const void *p, size_t n) {
  if (buf_reserve(b, n))
    return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int vgi_buf_printf(vgi_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || buf_reserve(b, (size_t)n))
    return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

int vgi_buf_add_escaped(vgi_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      if (vgi_buf_add(b, s, 1))
        return -1;
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      if (vgi_buf_add(b, e, 3))
        return -1;
    }
  }
  return 0;
}

void vgi_buf_zfree(vgi_buf *b) {
  vgi_zfree(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- errors ------------------------------------------------------------ */

static void replace(char **slot, char *v) {
  free(*slot);
  *slot = v;
}

void vgi_error_clear(vgi_error *e) {
  free(e->fault);
  free(e->message);
  free(e->message_id);
  memset(e, 0, sizeof *e);
}

void vgi_error_copy(vgi_error *dst, const vgi_error *src) {
  vgi_error_clear(dst);
  dst->pub = src->pub;
  dst->fault = src->fault ? strdup(src->fault) : NULL;
  dst->message = src->message ? strdup(src->message) : NULL;
  dst->message_id = src->message_id ? strdup(src->message_id) : NULL;
  dst->pub.fault = dst->fault;
  dst->pub.message = dst->message;
  dst->pub.message_id = dst->message_id;
}

void vgi_error_vset(vgi_error *e, vg_status st, const char *fmt, va_list ap) {
  char *m = NULL;
  if (vasprintf(&m, fmt, ap) < 0)
    m = NULL;
  replace(&e->message, m ? m : strdup(vg_status_text(st)));
  e->pub.message = e->message ? e->message : vg_status_text(st);
  e->pub.status = st;
  e->pub.retryable = vgi_status_retryable(st);
}

void vgi_error_set(vgi_error *e, vg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vgi_error_vset(e, st, fmt, ap);
  va_end(ap);
}

void vgi_error_set_fault(vgi_error *e, const char *fault) {
  replace(&e->fault, fault ? strdup(fault) : NULL);
  e->pub.fault = e->fault;
}

void vgi_error_set_message_id(vgi_error *e, const char *id) {
  replace(&e->message_id, id ? strdup(id) : NULL);
  e->pub.message_id = e->message_id;
}

/* ---- json -------------------------------------------------------------- */

const char *vgi_json_str(const json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

char *vgi_body_dump(json_t *body) {
  if (!body)
    return NULL;
  char *s = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  return s; /* allocated by jansson, i.e. vgi_zmalloc */
}

/* ---- time -------------------------------------------------------------- */

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
