/* Buffers that zero what they held, and small string helpers. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vgi_zero(void *p, size_t n) {
  if (p && n)
    explicit_bzero(p, n);
}

void vgi_zfree_str(char *s) {
  if (!s)
    return;
  vgi_zero(s, strlen(s));
  free(s);
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

char *vgi_strdup0(const char *s) {
  return s ? strdup(s) : NULL;
}

/* Grows to hold extra more bytes and a NUL. The old block is copied and
   zeroed rather than realloc'd, so no copy of its bytes is left behind. */
static int reserve(vgi_buf *b, size_t extra) {
  if (extra > (size_t)-1 / 2 - b->len)
    return -1;
  if (b->len + extra + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *d = malloc(cap);
  if (!d)
    return -1;
  if (b->data) {
    memcpy(d, b->data, b->len + 1);
    vgi_zero(b->data, b->cap);
    free(b->data);
  }
  b->data = d;
  b->cap = cap;
  return 0;
}

int vgi_buf_add(vgi_buf *b, const void *p, size_t n) {
  if (reserve(b, n))
    return -1;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int vgi_buf_adds(vgi_buf *b, const char *s) {
  return vgi_buf_add(b, s, strlen(s));
}

int vgi_buf_printf(vgi_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || reserve(b, (size_t)n))
    return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

static int unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

int vgi_buf_add_escaped(vgi_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (unreserved(c)) {
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

char *vgi_buf_steal(vgi_buf *b) {
  char *d = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void vgi_buf_zfree(vgi_buf *b) {
  if (b->data) {
    vgi_zero(b->data, b->cap);
    free(b->data);
  }
  b->data = NULL;
  b->len = b->cap = 0;
}
