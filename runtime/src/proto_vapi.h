/* The two vSphere Automation (vAPI) flavours, /api and /rest, are one
   implementation (proto_vapi.c) driven by a table of facts each
   (proto_api.c, proto_rest.c). */
#ifndef VGUEST_PROTO_VAPI_H
#define VGUEST_PROTO_VAPI_H

#include "proto.h"

typedef struct vgi_vapi_flavour {
  const char *prefix;       /* "/api", "/rest" */
  const char *session_path; /* login (POST, Basic) and logout (DELETE) */
  const char *login_header; /* extra header line on login, or NULL */
  const char *check_method, *check_path; /* is the token valid? */
  int wrapped;      /* results in {"value": ...}, errors in {type, value} */
  int map_as_pairs; /* maps as [{"key","value"}] instead of objects */
  int list_pids;    /* list takes "pids" (and returns exit codes) */
  const char *q_names, *q_ids, *q_power; /* VM list query parameters */
  const char *q_filter; /* before the names of other filters: "filter." */
  int filesystem;       /* serves guest files (and guest identity) */
} vgi_vapi_flavour;

vg_status vgi_vapi_build(void *state, vgi_call *c, vgi_request *req,
                         vgi_error *err);
vg_status vgi_vapi_parse(void *state, vgi_call *c, const vgi_answer *a,
                         vgi_result *res, vgi_error *err);
vg_status vgi_vapi_error(void *state, const vgi_call *c, const vgi_answer *a,
                         vgi_error *err);
int vgi_vapi_session_rejected(void *state, const vgi_call *c,
                              const vgi_answer *a);
int vgi_vapi_not_served(void *state, const vgi_call *c, const vgi_answer *a);

/* The state of a vAPI flavour is its table of facts (static: nothing to
   free). */

#endif
