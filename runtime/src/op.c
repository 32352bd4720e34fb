/* vg_op: one asynchronous operation, its status, error and results. A
   timer op is the simplest kind and lives here too. */
#include "op.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
#define VGI_OP_KIND_NAME(name, text) text,
    VGI_OP_KINDS(VGI_OP_KIND_NAME)
#undef VGI_OP_KIND_NAME
};

const char *vgi_op_kind_name(vgi_op_kind k) {
  return (int)k >= 0 && k < VGI_OP_NKINDS ? kind_names[k] : "op";
}

static void deliver(vgi_deferred *d) {
  vg_op *op = (vg_op *)((char *)d - offsetof(vg_op, deliver));
  int detached = op->detached; /* the callback may free an op it owns */
  if (op->cb)
    op->cb(op, op->ud);
  if (detached)
    vg_op_free(op);
}

static void on_timer(vgi_timer *t) {
  vg_op *op = (vg_op *)((char *)t - offsetof(vg_op, timer));
  vgi_op_complete(op, VG_OK);
}

static void abandon(vgi_background *b) {
  vg_op *op = (vg_op *)((char *)b - offsetof(vg_op, bg));
  vg_op_free(op);
}

vg_op *vgi_op_new(vg_runtime *rt, vgi_op_kind kind, vg_callback cb, void *ud) {
  vg_op *op = calloc(1, sizeof *op);
  if (!op)
    return NULL;
  op->rt = rt;
  op->kind = kind;
  op->status = VG_EPENDING;
  op->cb = cb;
  op->ud = ud;
  op->err.pub.op = vgi_op_kind_name(kind);
  vgi_timer_init(&op->timer, on_timer);
  op->deliver.run = deliver;
  op->bg.abandon = abandon;
  vgi_runtime_pending_add(rt, 1);
  return op;
}

/* The op is no longer pending: whatever it waited on stops. */
static void stop(vg_op *op) {
  vgi_timer_stop(op->rt, &op->timer);
  if (op->hooks && op->hooks->stop)
    op->hooks->stop(op);
  vgi_runtime_pending_add(op->rt, -1);
}

void vgi_op_complete(vg_op *op, vg_status st) {
  if (op->status != VG_EPENDING)
    return;
  op->status = st;
  stop(op);
  if (st != VG_OK && op->err.pub.status == VG_OK)
    vgi_error_set(&op->err, st, "%s", vg_status_text(st));
  op->err.pub.op = vgi_op_kind_name(op->kind);
  op->err.pub.vm = op->vm;
  op->err.pub.pid = op->pid;
  vgi_defer(op->rt, &op->deliver);
}

void vgi_op_fail(vg_op *op, vg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vgi_error_vset(&op->err, st, fmt, ap);
  va_end(ap);
  vgi_op_complete(op, st);
}

void vgi_op_detach(vg_op *op) {
  if (op->detached)
    return;
  op->detached = 1;
  vgi_background_add(op->rt, &op->bg);
}

vg_status vg_op_status(const vg_op *op) {
  return op ? op->status : VG_EMISUSE;
}

const vg_error *vg_op_error(const vg_op *op) {
  return op ? &op->err.pub : NULL;
}

void vg_op_cancel(vg_op *op) {
  if (!op || op->status != VG_EPENDING)
    return;
  vgi_error_set(&op->err, VG_ECANCELED, "%s canceled",
                vgi_op_kind_name(op->kind));
  vgi_op_complete(op, VG_ECANCELED);
  /* A canceled op's callback is not called. */
  vgi_defer_cancel(op->rt, &op->deliver);
}

vg_status vg_op_wait(vg_op *op) {
  if (!op)
    return VG_EMISUSE;
  while (op->status == VG_EPENDING || op->deliver.queued) {
    if (vg_runtime_step(op->rt, -1) == VG_ECANCELED &&
        op->status == VG_EPENDING)
      return VG_ECANCELED;
  }
  return op->status;
}

void vg_op_free(vg_op *op) {
  if (!op)
    return;
  if (op->status == VG_EPENDING) {
    op->status = VG_ECANCELED;
    stop(op);
  }
  vgi_defer_cancel(op->rt, &op->deliver);
  if (op->detached)
    vgi_background_remove(op->rt, &op->bg);
  if (op->hooks && op->hooks->release)
    op->hooks->release(op);
  vgi_result_clear(&op->res);
  vgi_error_clear(&op->err);
  free(op->vm);
  free(op);
}

vg_status vg_timer_start(vg_runtime *rt, long ms, vg_callback cb, void *ud,
                         vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!rt || ms < 0)
    return VG_EMISUSE;
  vg_op *op = vgi_op_new(rt, VGI_OP_TIMER, cb, ud);
  if (!op)
    return VG_ENOMEM;
  if (vgi_timer_start(rt, &op->timer, ms)) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  *out = op;
  return VG_OK;
}

/* ---- results ----------------------------------------------------------- */

int64_t vg_op_pid(const vg_op *op) {
  return op && op->status == VG_OK ? op->res.pid : 0;
}

size_t vg_op_processes(const vg_op *op, const vg_process_info **out) {
  if (!out)
    return 0;
  *out = op && op->status == VG_OK ? op->res.procs : NULL;
  return *out ? op->res.nprocs : 0;
}

size_t vg_op_vms(const vg_op *op, const vg_vm_info **out) {
  if (!out)
    return 0;
  *out = op && op->status == VG_OK ? op->res.vms : NULL;
  return *out ? op->res.nvms : 0;
}

size_t vg_op_objects(const vg_op *op, const vg_object_info **out) {
  if (!out)
    return 0;
  *out = op && op->status == VG_OK ? op->res.objects : NULL;
  return *out ? op->res.nobjects : 0;
}

const vg_guest_info *vg_op_guest_info(const vg_op *op) {
  return op && op->status == VG_OK ? op->res.guest : NULL;
}

size_t vg_op_env(const vg_op *op, const char *const **names,
                 const char *const **values) {
  if (!names || !values)
    return 0;
  if (!op || op->status != VG_OK || !op->res.nenv) {
    *names = *values = NULL;
    return 0;
  }
  *names = (const char *const *)op->res.env_names;
  *values = (const char *const *)op->res.env_values;
  return op->res.nenv;
}

const char *vg_op_path(const vg_op *op) {
  return op && op->status == VG_OK ? op->res.path : NULL;
}

size_t vg_op_files(const vg_op *op, const vg_file_info **out) {
  if (!out)
    return 0;
  *out = op && op->status == VG_OK ? op->res.files : NULL;
  return *out ? op->res.nfiles : 0;
}

int64_t vg_op_size(const vg_op *op) {
  return op && op->status == VG_OK ? op->res.size : -1;
}

vg_os vg_op_os(const vg_op *op) {
  return op && op->status == VG_OK ? op->res.os : VG_OS_AUTO;
}

const void *vg_op_data(const vg_op *op, size_t *len) {
  int ok = op && op->status == VG_OK;
  if (len)
    *len = ok ? op->res.data.len : 0;
  return ok ? (op->res.data.data ? op->res.data.data : "") : NULL;
}

const vg_run_result *vg_op_run(const vg_op *op) {
  return op ? op->res.run : NULL;
}
