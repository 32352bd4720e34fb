/* Failure details: an owned vg_error (error.c), the status list's
   derived facts (status.c) and the tables that map server errors onto
   statuses (errmap.c). */
#ifndef VGUEST_ERROR_H
#define VGUEST_ERROR_H

#include "vguest/vguest.h"

#include "buf.h"

#include <stdarg.h>

/* A vg_error with its own storage. {0} is "no error". */
typedef struct vgi_error {
  vg_error pub;
  char *fault, *message, *message_id, *thumbprint;
} vgi_error;

void vgi_error_clear(vgi_error *e);
void vgi_error_copy(vgi_error *dst, const vgi_error *src);
/* Sets status, message (formatted), retryable; keeps the other fields. */
void vgi_error_set(vgi_error *e, vg_status st, const char *fmt, ...)
    VGI_PRINTF(3, 4);
void vgi_error_vset(vgi_error *e, vg_status st, const char *fmt, va_list ap);
void vgi_error_set_fault(vgi_error *e, const char *fault);
void vgi_error_set_message_id(vgi_error *e, const char *id);
void vgi_error_set_thumbprint(vgi_error *e, const char *tp);
/* Puts prefix (formatted) in front of the message: "login as u: <msg>". */
void vgi_error_prefix(vgi_error *e, const char *fmt, ...) VGI_PRINTF(2, 3);

/* status.c: may trying the same call later succeed? */
int vgi_status_retryable(vg_status st);

/* errmap.c: one table per source. Unknown names map to VG_ESERVER. */
vg_status vgi_vapi_error_status(const char *error_type);
vg_status vgi_vim_fault_status(const char *fault, const char **auth);
vg_status vgi_http_status_fallback(long http_status);

#endif
