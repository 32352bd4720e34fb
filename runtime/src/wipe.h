/* Allocation functions that zero every block before it goes back to the
   allocator, for libraries that copy secrets into their own buffers
   (libcurl's request buffers hold the Basic-auth header and the bodies
   that carry guest passwords). Calls nothing of vguest's. */
#ifndef VGUEST_WIPE_H
#define VGUEST_WIPE_H

#include <stddef.h>

void *vgi_wipe_malloc(size_t n);
void vgi_wipe_free(void *p);
void *vgi_wipe_realloc(void *p, size_t n);
char *vgi_wipe_strdup(const char *s);
void *vgi_wipe_calloc(size_t count, size_t n);

#endif
