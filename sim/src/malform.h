/* malform_next: garbling the success answer of an operation that really
 * happened, so clients can be tested against malformed and hostile
 * answers (README.md, "malform_next"). */
#ifndef SIM_MALFORM_H
#define SIM_MALFORM_H

#include "exchange.h"

/* When rp is the 2xx answer of an operation (req_begin_op) that
 * malform_next covers, takes one from its count and garbles rp. */
void malform_reply(struct sim *sim, struct reply *rp);

#endif
