/* The VI/JSON flavour under /sdk/vim25/{release}: route table, fault
 * rendering, PropertyCollector. */
#ifndef SIM_VIM25_H
#define SIM_VIM25_H

#include "exchange.h"

/* Entry point: path is relative to /sdk/vim25 ("/{release}/…"). */
void vim25_handle(struct sim *sim, struct request *r, const char *path,
                  struct reply *rp);

#endif
