#include "router.h"
#include "control.h"
#include "malform.h"
#include "util.h"
#include "vapi.h"
#include "vim25.h"

#include <string.h>

/* Strips prefix from path: returns the rest ("" or "/...") or NULL. */
static const char *under(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(path, prefix, n) != 0)
    return NULL;
  if (path[n] != '\0' && path[n] != '/')
    return NULL;
  return path + n;
}

void router_dispatch(struct sim *sim, struct request *r, struct reply *rp) {
  const char *rest;
  if ((rest = under(r->path, "/sim"))) {
    control_handle(sim, r, rest, rp);
    return;
  }
  sim_lock(sim);
  sim->requests++;
  sim_unlock(sim);
  if (r->too_large) {
    reply_text(rp, 413, "Request Entity Too Large");
  } else if ((rest = under(r->path, "/api"))) {
    if (sim->cfg.flavours[FL_API])
      api_handle(sim, r, rest, rp);
    else
      api_not_found(rp);
  } else if ((rest = under(r->path, "/rest")) && sim->cfg.flavours[FL_REST]) {
    rest_handle(sim, r, rest, rp);
  } else if ((rest = under(r->path, "/sdk/vim25")) &&
             sim->cfg.flavours[FL_VIM25]) {
    vim25_handle(sim, r, rest, rp);
  } else {
    reply_text(rp, 404, "Not Found");
  }
  /* drop_next "after": the operation happened, its answer is lost */
  if (rp->has_op && !rp->drop && rp->status >= 200 && rp->status <= 299 &&
      state_take_drop_after(sim, rp->op))
    rp->drop = true;
  malform_reply(sim, rp);
  /* latency_ms: http.c holds the answer back without holding a thread */
  rp->delay_ms = state_latency(sim);
}
