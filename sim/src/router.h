/* Routing by path prefix: /sim/ to the control endpoints, /api, /rest and
 * /sdk/vim25 to the flavours that are served, anything else to a plain
 * 404. Outside /sim/ it also counts the request, refuses a body that was
 * too large (413), garbles the answer when malform_next says so, and
 * sleeps the injected latency. */
#ifndef SIM_ROUTER_H
#define SIM_ROUTER_H

#include "exchange.h"

/* Fills rp with the answer to r. */
void router_dispatch(struct sim *sim, struct request *r, struct reply *rp);

#endif
