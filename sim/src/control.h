/* The /sim/ control endpoints (no authentication: a loopback test tool):
 * injection and state changes, statistics, shutdown (README.md). */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include "exchange.h"

/* path is relative to /sim. */
void control_handle(struct sim *sim, struct request *r, const char *path,
                    struct reply *rp);

#endif
