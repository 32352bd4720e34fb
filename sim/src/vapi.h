/* The two vSphere Automation REST flavours, /api and legacy /rest: one
 * implementation, with a `struct dialect` for the wire differences. */
#ifndef SIM_VAPI_H
#define SIM_VAPI_H

#include "exchange.h"

/* Entry points: path is relative to /api or /rest. */
void api_handle(struct sim *sim, struct request *r, const char *path,
                struct reply *rp);
void rest_handle(struct sim *sim, struct request *r, const char *path,
                 struct reply *rp);
/* The /api 404 (also used when the api flavour is not served). */
void api_not_found(struct reply *rp);

#endif
