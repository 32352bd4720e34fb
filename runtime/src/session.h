/* Sessions (session.c owns struct vg_session): one login shared by every
   op on it, a queue of ops waiting for that login, re-login on a rejected
   token, the retry policy, and flavour probing. The operation families
   (vm.c, process.c, env.c) start their ops through it. */
#ifndef VGUEST_SESSION_H
#define VGUEST_SESSION_H

#include "vguest/vguest.h"

#include "http.h"
#include "op.h"
#include "proto.h"

/* A new op of kind on s, about vm (copied, may be NULL) with guest
   credentials c (copied, may be NULL); not started. *out: returns-owned,
   vg_op_free. VG_EMISUSE for a NULL or freed session. */
vg_status vgi_session_op(vg_session *s, vgi_op_kind kind, const char *vm,
                         const vg_credentials *c, vg_callback cb, void *ud,
                         vg_op **out);
/* The call of an op made by vgi_session_op: fill in its pid before it
   starts. */
vgi_call *vgi_session_call(vg_op *op);
/* Gives op (made by vgi_session_op) its args (owned, json_decref'd with
   the op; NULL: none) and starts it, or queues it until logged in. Sets
   *out to op; returns VG_OK. */
vg_status vgi_session_start(vg_op *op, json_t *args, vg_op **out);
/* Starts op again (a re-login, a retry), or queues it. */
void vgi_session_run(vg_op *op);

/* An op driven by a layer above the session (run, download, upload): it
   sends nothing itself but starts other ops. The session tells the driver
   when the op stops being pending (closing: the session is being freed,
   so no new op may be started on it) and when it is freed. */
typedef struct vgi_driver {
  void (*stop)(vg_op *op, void *state, int closing);
  void (*release)(vg_op *op, void *state);
} vgi_driver;
vg_status vgi_session_driven(vg_session *s, vgi_op_kind kind, const char *vm,
                             const vgi_driver *d, void *state, vg_callback cb,
                             void *ud, vg_op **out);
/* 1 while the session of op (made by vgi_session_op) is not freed. */
int vgi_session_alive(const vg_op *op);
/* The driver state of a driven op (NULL for any other op). */
void *vgi_session_driver_state(const vg_op *op);
vg_runtime *vgi_session_runtime(const vg_session *s);

/* An exchange of op (made by vgi_session_op) with a transfer host: req's
   URL (its "*" host replaced by the session's server host), the TLS pool
   for that host, the session's timeout, no token and no re-login. done
   reads the answer and completes op. req: borrows (its body, if any, is
   taken over). */
typedef void (*vgi_exchange_done)(vg_op *op, vgi_http *h,
                                  const vgi_http_result *r);
vg_status vgi_session_exchange(vg_op *op, vgi_http_request *req,
                               vgi_exchange_done done);

#endif
