/* vg_op: one asynchronous operation — its kind, status, error, results and
   callback. The layer that runs an op (the session) hooks itself in
   through vgi_op_hooks; op.c calls nothing above it. */
#ifndef VGUEST_OP_H
#define VGUEST_OP_H

#include "vguest/vguest.h"

#include "error.h"
#include "loop.h"
#include "result.h"

/* The op kinds: enum value and name, one list. */
#define VGI_OP_KINDS(X)                                                        \
  X(TIMER, "timer")                                                            \
  X(LOGIN, "login")                                                            \
  X(LOGOUT, "logout")                                                          \
  X(VMS, "vms")                                                                \
  X(INVENTORY, "inventory")                                                    \
  X(GUEST_INFO, "guest_info")                                                  \
  X(CREATE, "create")                                                          \
  X(GET, "get")                                                                \
  X(LIST, "list")                                                              \
  X(DELETE, "delete")                                                          \
  X(ENV, "env")                                                                \
  X(CHECK, "check") /* internal: is the session token still valid? */          \
  X(FAMILY, "guest_family")                                                    \
  X(MKTEMP, "mktemp")                                                          \
  X(STAT, "stat")                                                              \
  X(LS, "list_files")                                                          \
  X(MKDIR, "mkdir")                                                            \
  X(REMOVE, "remove")                                                          \
  X(FROM_GUEST, "transfer_from_guest")                                         \
  X(TO_GUEST, "transfer_to_guest")                                             \
  X(TRANSFER, "transfer")                                                      \
  X(DOWNLOAD, "download")                                                      \
  X(UPLOAD, "upload")                                                          \
  X(RUN, "run")

typedef enum vgi_op_kind {
#define VGI_OP_KIND_ENUM(name, text) VGI_OP_##name,
  VGI_OP_KINDS(VGI_OP_KIND_ENUM)
#undef VGI_OP_KIND_ENUM
      VGI_OP_NKINDS
} vgi_op_kind;

const char *vgi_op_kind_name(vgi_op_kind k);

/* How the layer running an op is told of it. Both may be NULL. */
typedef struct vgi_op_hooks {
  /* The op stops being pending (completed, canceled or freed): stop what
     it waits on (a request, a queue). */
  void (*stop)(vg_op *op);
  /* The op is being freed: forget it. */
  void (*release)(vg_op *op);
} vgi_op_hooks;

struct vg_op {
  vg_runtime *rt;
  vgi_op_kind kind;
  vg_status status; /* VG_EPENDING while in flight */
  vgi_error err;
  vg_callback cb;
  void *ud;
  vgi_result res;
  char *vm;    /* owned: the VM the op is about, or NULL */
  int64_t pid; /* the process it is about, or 0 */

  const vgi_op_hooks *hooks;
  void *owner; /* the running layer's state for this op */

  vgi_timer timer;      /* timer ops */
  vgi_deferred deliver; /* queued to run the callback */
  vgi_background bg;    /* detached: owned by the runtime */
  int detached;
};

/* A pending op (counted by vg_runtime_pending); NULL on no memory. */
vg_op *vgi_op_new(vg_runtime *rt, vgi_op_kind kind, vg_callback cb, void *ud);
/* Completes a pending op: status set, hooks->stop called, error filled in
   when st is a failure without details, callback queued. No-op when done. */
void vgi_op_complete(vg_op *op, vg_status st);
/* Sets op->err to st and a formatted message, then completes. */
void vgi_op_fail(vg_op *op, vg_status st, const char *fmt, ...)
    VGI_PRINTF(3, 4);
/* The runtime owns op from now on: it is freed once delivered (its
   callback, if any, runs first), or abandoned with the runtime. */
void vgi_op_detach(vg_op *op);

#endif
