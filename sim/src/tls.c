#include "tls.h"
#include "util.h"

#include <gnutls/gnutls.h>
#include <stdlib.h>

struct tls_tickets {
  gnutls_datum_t key;
};

struct tls_tickets *tls_tickets_new(void) {
  struct tls_tickets *t = xcalloc(1, sizeof *t);
  if (gnutls_session_ticket_key_generate(&t->key) != GNUTLS_E_SUCCESS) {
    free(t);
    return NULL;
  }
  return t;
}

void tls_tickets_free(struct tls_tickets *t) {
  if (!t)
    return;
  gnutls_memset(t->key.data, 0, t->key.size);
  gnutls_free(t->key.data);
  free(t);
}

void tls_on_connection(void *cls, struct MHD_Connection *conn,
                       void **socket_context,
                       enum MHD_ConnectionNotificationCode code) {
  struct tls_tickets *t = cls;
  (void)socket_context;
  if (code != MHD_CONNECTION_NOTIFY_STARTED || !t)
    return;
  /* the session exists and its handshake has not begun */
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info && info->tls_session)
    gnutls_session_ticket_enable_server((gnutls_session_t)info->tls_session,
                                        &t->key);
}
