/* One HTTP exchange as the handlers see it: the request, read through the
 * req_* accessors, and the reply they fill with the reply_* builders.
 * http.c creates both and sends the reply; no handler touches MHD except
 * through the accessors here. */
#ifndef SIM_EXCHANGE_H
#define SIM_EXCHANGE_H

#include "state.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct request {
  struct MHD_Connection *conn;
  const char *method;
  const char *path; /* percent-decoded by MHD */
  char *raw_uri;    /* owned: the request target as sent, query included */
  char *body;
  size_t body_len, body_cap;
  bool too_large;
};

struct reply {
  unsigned status;
  char *body; /* owned, may be NULL */
  size_t len;
  const char *content_type;
  char *session_header; /* owned: value of a vmware-api-session-id header */
  char *set_cookie;     /* owned */
  const char *allow;    /* static: the Allow header of a 405, or NULL */
  bool drop;            /* close the connection without answering */
  bool has_op;          /* op is set: the request began an operation */
  enum op op;
  bool truncated;   /* announce len bytes, send half of them, then close */
  int64_t delay_ms; /* latency_ms: hold the answer (or the drop) this long */
};

const char *req_header(const struct request *r, const char *name);
/* The request target as the client sent it, before any percent-decoding
 * (path and query), e.g. "/api/…/files/%2Ftmp%2Fx?action=get". */
const char *req_raw_uri(const struct request *r);
const char *req_cookie(const struct request *r, const char *name);
/* The first value of query argument key (NULL if absent). */
const char *req_arg(const struct request *r, const char *key);
/* Calls fn for every query argument in order (repeated keys included). */
void req_args_each(const struct request *r,
                   void (*fn)(void *ctx, const char *key, const char *value),
                   void *ctx);
/* Basic credentials (both returns-owned) or false when absent. */
bool req_basic_auth(const struct request *r, char **user, char **password);
/* The session token from the header or the cookie. */
const char *req_token(const struct request *r);
bool req_is(const struct request *r, const char *method);

/* Counts one request of class op and takes an injected failure
 * (state_begin_op), and records op in rp so that its success answer can
 * be garbled by malform_next (malform.c) or lost (drop_next "after",
 * router.c). INJ_DROP (drop_next "before") marks rp dropped: the handler
 * must return without doing the operation. */
enum inject req_begin_op(struct sim *sim, struct reply *rp, enum op op);

/* Body helpers; the JSON variants take ownership of j (NULL = empty). */
void reply_json(struct reply *rp, unsigned status, json_t *j);
void reply_text(struct reply *rp, unsigned status, const char *text);
void reply_empty(struct reply *rp, unsigned status);

#endif
