/* The transfer listener: a second HTTPS server playing the ESXi host that
 * serves the transfer URLs guest file operations hand out
 * (`/guestFile?id=N&token=T`). GET downloads, PUT uploads, both streamed
 * from and to the guest file; one successful request per URL. It knows
 * nothing of vCenter sessions. One polling thread serves every
 * connection; TLS sessions resume (tls.c). */
#ifndef SIM_TRANSFER_H
#define SIM_TRANSFER_H

#include "state.h"

#include <microhttpd.h>

struct transfer;

/* Starts the listener on cfg.bind, cfg.transfer_port (0 = a free one)
 * with its own certificate. NULL on failure. */
struct transfer *transfer_start(struct sim *sim, const char *cert_pem,
                                const char *key_pem, unsigned *port);
/* Stops the listener and frees t (NULL: nothing). */
void transfer_stop(struct transfer *t);

#endif
