/* The HTTP(S) server: the MHD daemon, one request object per exchange
 * (exchange.h), routing by path prefix to the flavours and the /sim/
 * control endpoints, and sending the reply they filled. */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include "state.h"

#include <microhttpd.h>

/* Starts the daemon (HTTPS, loopback). On failure returns NULL. */
struct MHD_Daemon *http_start(struct sim *sim, const char *cert_pem,
                              const char *key_pem, unsigned *port);

#endif
