/* vgi_error: a vg_error that owns its strings. */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void replace(char **slot, char *v) {
  free(*slot);
  *slot = v;
}

void vgi_error_clear(vgi_error *e) {
  free(e->fault);
  free(e->message);
  free(e->message_id);
  free(e->thumbprint);
  memset(e, 0, sizeof *e);
}

void vgi_error_copy(vgi_error *dst, const vgi_error *src) {
  if (dst == src)
    return;
  vgi_error_clear(dst);
  dst->pub = src->pub;
  dst->fault = vgi_strdup0(src->fault);
  dst->message = vgi_strdup0(src->message);
  dst->message_id = vgi_strdup0(src->message_id);
  dst->thumbprint = vgi_strdup0(src->thumbprint);
  dst->pub.thumbprint = dst->thumbprint;
  dst->pub.fault = dst->fault;
  dst->pub.message = dst->message ? dst->message : src->pub.message;
  dst->pub.message_id = dst->message_id;
}

void vgi_error_vset(vgi_error *e, vg_status st, const char *fmt, va_list ap) {
  char *m = NULL;
  if (vasprintf(&m, fmt, ap) < 0)
    m = NULL;
  replace(&e->message, m);
  /* Out of memory for the text: the static status text still says it. */
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

void vgi_error_prefix(vgi_error *e, const char *fmt, ...) {
  va_list ap;
  char *p = NULL;
  va_start(ap, fmt);
  if (vasprintf(&p, fmt, ap) < 0)
    p = NULL;
  va_end(ap);
  char *m =
      p ? vgi_printf("%s: %s", p, e->pub.message ? e->pub.message : "") : NULL;
  free(p);
  if (m) {
    replace(&e->message, m);
    e->pub.message = m;
  }
}

void vgi_error_set_fault(vgi_error *e, const char *fault) {
  replace(&e->fault, vgi_strdup0(fault));
  e->pub.fault = e->fault;
}

void vgi_error_set_message_id(vgi_error *e, const char *id) {
  replace(&e->message_id, vgi_strdup0(id));
  e->pub.message_id = e->message_id;
}

void vgi_error_set_thumbprint(vgi_error *e, const char *tp) {
  replace(&e->thumbprint, vgi_strdup0(tp));
  e->pub.thumbprint = e->thumbprint;
}
