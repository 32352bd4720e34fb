/* The vCenter HTTPS server: one MHD daemon whose single polling thread
 * serves every connection, one struct exchange per request (the request
 * and reply of exchange.h) with its body read in, routing through
 * router.c, then the struct reply sent (or truncated, or dropped) and
 * logged. An answer that latency_ms
 * delays is held with its connection suspended until a timer (timer.c)
 * resumes it, so no thread waits. TLS sessions resume (tls.c). */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include "state.h"

#include <microhttpd.h>

struct http;

/* Starts the daemon (HTTPS, loopback). On failure returns NULL. */
struct http *http_start(struct sim *sim, const char *cert_pem,
                        const char *key_pem, unsigned *port);
/* Sends every held answer, stops the daemon and frees h (NULL: nothing). */
void http_stop(struct http *h);

#endif
