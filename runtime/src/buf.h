/* Growable byte buffers that zero what they held, and small string
   helpers. The bottom of the runtime: calls nothing of vguest's. */
#ifndef VGUEST_BUF_H
#define VGUEST_BUF_H

#include <stddef.h>

#ifdef __GNUC__
#define VGI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VGI_PRINTF(f, a)
#endif

/* data is NUL-terminated whenever it is not NULL. Every buffer is zeroed
   before its memory goes back to the allocator (growth included), so one
   may hold a secret. {0} is an empty buffer. */
typedef struct vgi_buf {
  char *data;
  size_t len, cap;
} vgi_buf;

int vgi_buf_add(vgi_buf *b, const void *p, size_t n); /* 0 ok, -1 nomem */
int vgi_buf_adds(vgi_buf *b, const char *s);          /* a C string */
int vgi_buf_printf(vgi_buf *b, const char *fmt, ...) VGI_PRINTF(2, 3);
/* Appends s percent-encoded as one URL path segment or query value
   (RFC 3986: everything but unreserved characters is escaped). */
int vgi_buf_add_escaped(vgi_buf *b, const char *s);
/* Hands the contents over (returns data, NULL when empty) and resets b.
   The caller frees it with vgi_zfree_str when it may hold a secret, else
   free(). */
char *vgi_buf_steal(vgi_buf *b);
/* Zeroes and frees the contents; b is empty afterwards. */
void vgi_buf_zfree(vgi_buf *b);

/* explicit_bzero that accepts NULL. */
void vgi_zero(void *p, size_t n);
/* Zeroes a NUL-terminated string, then frees it. NULL is a no-op. */
void vgi_zfree_str(char *s);
/* malloc'd formatted string, or NULL. */
char *vgi_printf(const char *fmt, ...) VGI_PRINTF(1, 2);
/* strdup that accepts NULL (returns NULL), for optional fields. */
char *vgi_strdup0(const char *s);

#endif
