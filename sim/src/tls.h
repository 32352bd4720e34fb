/* TLS session resumption for an MHD listener. MHD 0.9.75 has no option
 * for it, but it makes each connection's GnuTLS session before the
 * handshake and announces the connection (MHD_OPTION_NOTIFY_CONNECTION)
 * in between: tls_on_connection turns session tickets on there, with a
 * key the listener keeps (RFC 5077 tickets for TLS 1.2, PSK tickets for
 * TLS 1.3), so a client that comes back with a ticket resumes instead of
 * making a full handshake. */
#ifndef SIM_TLS_H
#define SIM_TLS_H

#include <microhttpd.h>

struct tls_tickets;

/* A random ticket key (a secret: zeroed when freed); NULL on failure. */
struct tls_tickets *tls_tickets_new(void);
void tls_tickets_free(struct tls_tickets *t);
/* The MHD_OPTION_NOTIFY_CONNECTION callback; cls is a struct
 * tls_tickets. */
void tls_on_connection(void *cls, struct MHD_Connection *conn,
                       void **socket_context,
                       enum MHD_ConnectionNotificationCode code);

#endif
