/* The HTTP(S) server: the MHD daemon, one struct request per exchange
 * (exchange.h) with its body read in, routing through router.c, then the
 * struct reply sent (or truncated, or dropped) and logged. */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include "state.h"

#include <microhttpd.h>

/* Starts the daemon (HTTPS, loopback). On failure returns NULL. */
struct MHD_Daemon *http_start(struct sim *sim, const char *cert_pem,
                              const char *key_pem, unsigned *port);

#endif
