/* vg_op: one asynchronous operation, its inputs, progress and results. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    "timer", "login", "logout", "vms", "create",
    "get",   "list",  "delete", "env", "check",
};

const char *vgi_op_kind_name(vgi_op_kind k) {
  return kind_names[k];
}

vg_op *vgi_op_new(vg_runtime *rt, vg_session *s, vgi_op_kind kind,
                  vg_callback cb, void *ud) {
  vg_op *op = vgi_calloc(rt, 1, sizeof *op);
  if (!op)
    return NULL;
  op->rt = rt;
  op->s = s;
  op->kind = kind;
  op->status = VG_EPENDING;
  op->cb = cb;
  op->ud = ud;
  op->heap_idx = SIZE_MAX;
  op->err.pub.op = kind_names[kind];
  if (s) {
    op->s_next = s->ops;
    if (s->ops)
      s->ops->s_prev = op;
    s->ops = op;
  }
  vgi_runtime_op_started(rt);
  return op;
}

/* Stops whatever op is waiting on: a transfer, a timer, a login queue. */
static void stop_activity(vg_op *op) {
  if (op->http) {
    vgi_http_cancel(op->http);
    op->http = NULL;
  }
  if (op->check) {
    vg_op *c = op->check;
    op->check = NULL;
    vg_op_free(c);
  }
  vgi_timer_remove(op->rt, op);
  if (op->s)
    vgi_session_op_unlink(op);
}

void vgi_op_complete(vg_op *op, vg_status st) {
  if (op->status != VG_EPENDING)
    return;
  stop_activity(op);
  op->status = st;
  if (st != VG_OK && op->err.pub.status == VG_OK)
    vgi_error_set(&op->err, st, "%s", vg_status_text(st));
  op->err.pub.op = kind_names[op->kind];
  op->err.pub.vm = op->vm;
  op->err.pub.pid = op->pid;
  vgi_runtime_op_ended(op->rt);
  vgi_runtime_done_push(op->rt, op);
}

void vgi_op_fail(vg_op *op, vg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vgi_error_vset(&op->err, st, fmt, ap);
  va_end(ap);
  vgi_op_complete(op, st);
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
  vgi_error_set(&op->err, VG_ECANCELED, "%s canceled", kind_names[op->kind]);
  vgi_op_complete(op, VG_ECANCELED);
  /* A canceled op's callback is not called. */
  vgi_runtime_done_remove(op->rt, op);
}

vg_status vg_op_wait(vg_op *op) {
  if (!op)
    return VG_EMISUSE;
  while (op->status == VG_EPENDING || op->in_done) {
    if (vg_runtime_step(op->rt, -1) == VG_ECANCELED &&
        op->status == VG_EPENDING)
      return VG_ECANCELED;
  }
  return op->status;
}

static void free_results(vg_op *op) {
  free(op->procs);
  free(op->vms);
  free(op->env_names);
  free(op->env_values);
  op->procs = NULL;
  op->vms = NULL;
  op->env_names = op->env_values = NULL;
  op->nprocs = op->nvms = op->nenv = 0;
  json_decref(op->keep);
  op->keep = NULL;
}

void vg_op_free(vg_op *op) {
  if (!op)
    return;
  if (op->status == VG_EPENDING) {
    stop_activity(op);
    vgi_runtime_op_ended(op->rt);
    op->status = VG_ECANCELED;
  }
  vgi_runtime_done_remove(op->rt, op);
  vg_session *s = op->s;
  if (s)
    vgi_session_op_unlink(op);
  if (s) {
    if (op->s_prev)
      op->s_prev->s_next = op->s_next;
    else
      s->ops = op->s_next;
    if (op->s_next)
      op->s_next->s_prev = op->s_prev;
  }
  if (s && s->zombie && !s->ops)
    vgi_session_destroy(s);
  free_results(op);
  free(op->vm);
  vg_credentials_free(op->cred);
  json_decref(op->args);
  json_decref(op->scratch);
  vgi_error_clear(&op->err);
  vgi_error_clear(&op->saved);
  vg_runtime *rt = op->rt;
  vgi_free(rt, op);
}

/* ---- results ----------------------------------------------------------- */

int64_t vg_op_pid(const vg_op *op) {
  return op && op->status == VG_OK ? op->rpid : 0;
}

size_t vg_op_processes(const vg_op *op, const vg_process_info **out) {
  *out = op && op->status == VG_OK ? op->procs : NULL;
  return *out ? op->nprocs : 0;
}

size_t vg_op_vms(const vg_op *op, const vg_vm_info **out) {
  *out = op && op->status == VG_OK ? op->vms : NULL;
  return *out ? op->nvms : 0;
}

size_t vg_op_env(const vg_op *op, const char *const **names,
                 const char *const **values) {
  if (!op || op->status != VG_OK || !op->nenv) {
    *names = *values = NULL;
    return 0;
  }
  *names = (const char *const *)op->env_names;
  *values = (const char *const *)op->env_values;
  return op->nenv;
}

static json_t *keep(vg_op *op) {
  if (!op->keep)
    op->keep = json_array();
  return op->keep;
}

/* Keeps a normalized time string alive in op->keep and returns it. */
static const char *keep_time(vg_op *op, const char *raw) {
  char t[32];
  if (!raw)
    return NULL;
  json_t *s = json_string(vgi_time_normalize(raw, t) == 0 ? t : raw);
  json_array_append_new(keep(op), s);
  return json_string_value(s);
}

int vgi_op_add_processes(vg_op *op, json_t *arr, const vgi_proc_names *n,
                         int64_t pid_default) {
  size_t count = json_is_array(arr) ? json_array_size(arr) : 1;
  size_t want = op->nprocs + count;
  vg_process_info *p = realloc(op->procs, (want ? want : 1) * sizeof *p);
  if (!p)
    return -1;
  op->procs = p;
  json_array_append(keep(op), arr);
  for (size_t i = 0; i < count; i++) {
    json_t *o = json_is_array(arr) ? json_array_get(arr, i) : arr;
    if (!json_is_object(o))
      return -1;
    vg_process_info *pi = &op->procs[op->nprocs];
    memset(pi, 0, sizeof *pi);
    /* Every member present must have its type: an answer that does not
       fit is refused, never half read (a lost exit code would read as
       "finished, no code"). */
    json_t *jpid = json_object_get(o, n->pid),
           *jcode = json_object_get(o, n->exit_code),
           *jfin = json_object_get(o, n->finished);
    if ((jpid && !json_is_integer(jpid)) || (!jpid && pid_default <= 0) ||
        (jcode && !json_is_null(jcode) && !json_is_integer(jcode)) ||
        (jfin && !json_is_null(jfin) && !json_is_string(jfin)))
      return -1;
    pi->pid = jpid ? (int64_t)json_integer_value(jpid) : pid_default;
    pi->name = vgi_json_str(o, n->name);
    pi->owner = vgi_json_str(o, n->owner);
    pi->command = vgi_json_str(o, n->command);
    pi->started = keep_time(op, vgi_json_str(o, n->started));
    pi->finished = keep_time(op, vgi_json_str(o, n->finished));
    if (!pi->name || !pi->owner || !pi->command || !pi->started || pi->pid <= 0)
      return -1;
    /* An exit code counts only once the process has finished. */
    if (pi->finished && json_is_integer(jcode)) {
      json_int_t code = json_integer_value(jcode);
      if (code < INT32_MIN || code > INT32_MAX)
        return -1;
      pi->has_exit_code = 1;
      pi->exit_code = (int)code;
    }
    op->nprocs++;
  }
  return 0;
}

static int set_vms(vg_op *op, size_t n) {
  free(op->vms);
  op->vms = calloc(n ? n : 1, sizeof *op->vms);
  op->nvms = 0;
  return op->vms ? 0 : -1;
}

/* VMs from an array of {"vm","name","power_state"} (the vAPI summary;
   vim25 builds the same shape). */
vg_status vgi_op_vms_from_json(vg_op *op, json_t *arr) {
  size_t i;
  json_t *v;
  if (!json_is_array(arr) || set_vms(op, json_array_size(arr))) {
    vgi_error_set(&op->err, VG_EPROTOCOL, "VM list answer is not an array");
    return VG_EPROTOCOL;
  }
  json_array_append(op->keep ? op->keep : (op->keep = json_array()), arr);
  json_array_foreach(arr, i, v) {
    vg_vm_info *vm = &op->vms[op->nvms];
    vm->id = vgi_json_str(v, "vm");
    vm->name = vgi_json_str(v, "name");
    vm->power_state = vgi_json_str(v, "power_state");
    if (!vm->id || !vm->name || !vm->power_state) {
      vgi_error_set(&op->err, VG_EPROTOCOL,
                    "VM summary lacks vm, name or power_state");
      return VG_EPROTOCOL;
    }
    op->nvms++;
  }
  return VG_OK;
}

/* Adds one environment variable (copied into op->keep). 0 ok. */
int vgi_op_add_env(vg_op *op, const char *name, size_t name_len,
                   const char *value) {
  size_t n = op->nenv + 1;
  char **names = realloc(op->env_names, n * sizeof *names);
  if (!names)
    return -1;
  op->env_names = names;
  char **values = realloc(op->env_values, n * sizeof *values);
  if (!values)
    return -1;
  op->env_values = values;
  json_t *k = json_stringn(name, name_len), *v = json_string(value);
  json_array_append_new(keep(op), k);
  json_array_append_new(keep(op), v);
  if (!k || !v)
    return -1;
  op->env_names[op->nenv] = (char *)json_string_value(k);
  op->env_values[op->nenv++] = (char *)json_string_value(v);
  return 0;
}
