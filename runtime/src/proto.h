/*
 * The interface of a protocol flavour: pure translation between a call
 * and HTTP. A flavour builds the request for a call's current step,
 * parses a 2xx answer into a result, normalizes a failure into an error,
 * and tells whether a refused request means "the session token was
 * rejected" or "this flavour is not served here". It returns what it
 * found (a token, processes, VMs) in a vgi_result and never touches a
 * session or an op. State that outlives one call (vim25: the release in
 * use, the managed object ids of the service content) lives in the
 * flavour's own per-session state object.
 */
#ifndef VGUEST_PROTO_H
#define VGUEST_PROTO_H

#include "vguest/vguest.h"

#include "buf.h"
#include "credentials.h"
#include "error.h"
#include "op.h"
#include "result.h"

#include <jansson.h>

/* One call, as a flavour sees it. */
typedef struct vgi_call {
  vgi_op_kind kind;
  const char *vm; /* VM id, or NULL */
  int64_t pid;
  const vg_credentials *cred; /* guest operations */
  json_t *args;               /* kind-specific inputs (never a secret) */
  const char *user;           /* login: the vCenter user */
  const vg_secret *password;  /* login: the vCenter password */
  int step;                   /* progress of a multi-request call; 0 first */
  json_t *scratch;            /* the flavour's notes across steps (owned by
                                 the call, json_decref'd with it) */
} vgi_call;

/* A listing (list_files) is read page after page (vgi_call.step counts
   them). A server whose pages never end (the same "more to come" again
   and again) would keep the call going for ever: each page must bring the
   end nearer (vim25: a smaller `remaining`; vAPI: the same `total`), and
   after this many pages the call fails. At the 200 entries a page asks
   for, that is over 1.6 million entries. */
#define VGI_MAX_LISTING_PAGES 8192

/* A request, below the server's URL. */
typedef struct vgi_request {
  const char *method; /* static */
  char *path;         /* owned: path and query */
  vgi_buf body;       /* JSON, may hold a secret; empty: no body */
  int basic_auth;     /* send the vCenter user and password (login) */
  int no_token;       /* do not send the session token */
  const char *header; /* one extra header line (static), or NULL */
} vgi_request;

void vgi_request_clear(vgi_request *r);

/* The parts of an HTTP answer a flavour reads. */
typedef struct vgi_answer {
  long status;
  const char *body; /* NUL-terminated */
  size_t len;
  const char *token; /* the vmware-api-session-id header, or NULL */
} vgi_answer;

typedef struct vgi_proto {
  const char *name;
  int list_has_exit_codes;
  /* The flavour's per-session state (NULL hooks: it has none). release:
     the vim25 release the user chose, or NULL. */
  void *(*state_new)(const char *release);
  void (*state_free)(void *state);
  /* The request for c's current step. VG_EUNSUPPORTED (err set) for a
     call the flavour cannot make. */
  vg_status (*build)(void *state, vgi_call *c, vgi_request *req,
                     vgi_error *err);
  /* A 2xx answer: VG_OK when the call is finished, VG_EPENDING when its
     next step is to be sent (c->step advanced), or a failure (err set). */
  vg_status (*parse)(void *state, vgi_call *c, const vgi_answer *a,
                     vgi_result *res, vgi_error *err);
  /* A non-2xx answer: fills err, returns its status; VG_OK (err left
     alone) when the refusal is itself the answer and the call is done
     with the result it has (vAPI: no guest identity while Tools start). */
  vg_status (*error)(void *state, const vgi_call *c, const vgi_answer *a,
                     vgi_error *err);
  /* Does this refusal mean the session token was rejected? 0 no, 1 yes,
     2 perhaps (a 401 that may be about the guest credentials). */
  int (*session_rejected)(void *state, const vgi_call *c, const vgi_answer *a);
  /* Is this login answer "not served here"? 1 yes, 0 no, -1 not like
     this, but the flavour changed its own settings (vim25: the next
     release): send the login again from step 0. */
  int (*not_served)(void *state, const vgi_call *c, const vgi_answer *a);
  /* A first login failed: forget what probing learnt (may be NULL). */
  void (*login_failed)(void *state);
  /* Appends what was tried, for "does not serve" messages: "vim25
     (releases 8.0.1.0 to 9.0.0.0)". NULL: the name alone. */
  int (*describe)(void *state, vgi_buf *b);
} vgi_proto;

extern const vgi_proto vgi_proto_api;
extern const vgi_proto vgi_proto_rest;
extern const vgi_proto vgi_proto_vim25;

/* protocol.c: the registry. vgi_protocol_get: the flavour of an enum value
   (NULL for AUTO); vgi_protocol_probe: the i-th flavour in auto's probe
   order (NULL past the last); vgi_protocol_count: how many. */
const vgi_proto *vgi_protocol_get(vg_protocol p);
const vgi_proto *vgi_protocol_probe(size_t i);
size_t vgi_protocol_count(void);

#endif
