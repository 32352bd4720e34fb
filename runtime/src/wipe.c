/* Zeroing allocation functions (wipe.h). The size of a block is what the
   C library says it is (malloc_usable_size), so nothing needs a header;
   growing moves the block by hand, since realloc would free the old copy
   without zeroing it. */
#include "wipe.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void *vgi_wipe_malloc(size_t n) {
  return malloc(n);
}

void vgi_wipe_free(void *p) {
  if (!p)
    return;
  explicit_bzero(p, malloc_usable_size(p));
  free(p);
}

void *vgi_wipe_realloc(void *p, size_t n) {
  if (!p)
    return malloc(n);
  size_t have = malloc_usable_size(p);
  if (n <= have && n > 0)
    return p; /* still fits: the tail is zeroed when the block is freed */
  if (n == 0) {
    vgi_wipe_free(p);
    return NULL;
  }
  void *q = malloc(n);
  if (!q)
    return NULL; /* p is left as it was, as realloc does */
  memcpy(q, p, have);
  vgi_wipe_free(p);
  return q;
}

char *vgi_wipe_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

void *vgi_wipe_calloc(size_t count, size_t n) {
  return calloc(count, n);
}
