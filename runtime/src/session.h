/* Sessions (session.c owns struct vg_session): one login shared by every
   op on it, a queue of ops waiting for that login, re-login on a rejected
   token, the retry policy, and flavour probing. The operation families
   (vm.c, process.c, env.c) start their ops through it. */
#ifndef VGUEST_SESSION_H
#define VGUEST_SESSION_H

#include "vguest/vguest.h"

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

#endif
