/* Guest processes: the public vg_process_* calls. */
#include "session.h"

#include "json.h"

#include <string.h>

static int bad_guest_args(const vg_session *s, const char *vm,
                          const vg_credentials *c) {
  return !s || !vm || !*vm || !c;
}

/* Starts op with its args, or frees it when they could not be made. */
static vg_status launch(vg_op *op, json_t *args, int need_args, vg_op **out) {
  if (need_args && !args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return vgi_session_start(op, args, out);
}

vg_status vg_process_create(vg_session *s, const char *vm,
                            const vg_credentials *c, const vg_program_spec *p,
                            vg_callback cb, void *ud, vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (bad_guest_args(s, vm, c) || !p || !p->path || !*p->path)
    return VG_EMISUSE;
  for (const char *const *e = p->env; e && *e; e++)
    if (!strchr(*e, '=') || **e == '=')
      return VG_EMISUSE;
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_CREATE, vm, c, cb, ud, &op);
  if (st != VG_OK)
    return st;
  json_t *env = p->env ? vgi_json_string_array(p->env) : NULL;
  json_t *args =
      (p->env && !env)
          ? NULL
          : json_pack("{s:s,s:s,s:s*,s:o*,s:b}", "path", p->path, "arguments",
                      p->arguments ? p->arguments : "", "working_directory",
                      p->working_directory, "env", env, "start_minimized",
                      p->start_minimized);
  return launch(op, args, 1, out);
}

static vg_status pid_op(vg_session *s, vgi_op_kind kind, const char *vm,
                        const vg_credentials *c, int64_t pid, vg_callback cb,
                        void *ud, vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (bad_guest_args(s, vm, c) || pid <= 0)
    return VG_EMISUSE;
  vg_op *op;
  vg_status st = vgi_session_op(s, kind, vm, c, cb, ud, &op);
  if (st != VG_OK)
    return st;
  op->pid = pid;
  vgi_session_call(op)->pid = pid;
  return launch(op, NULL, 0, out);
}

vg_status vg_process_get(vg_session *s, const char *vm, const vg_credentials *c,
                         int64_t pid, vg_callback cb, void *ud, vg_op **out) {
  return pid_op(s, VGI_OP_GET, vm, c, pid, cb, ud, out);
}

vg_status vg_process_delete(vg_session *s, const char *vm,
                            const vg_credentials *c, int64_t pid,
                            vg_callback cb, void *ud, vg_op **out) {
  return pid_op(s, VGI_OP_DELETE, vm, c, pid, cb, ud, out);
}

vg_status vg_process_list(vg_session *s, const char *vm,
                          const vg_credentials *c, const int64_t *pids,
                          size_t npids, vg_callback cb, void *ud, vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (bad_guest_args(s, vm, c) || (npids && !pids))
    return VG_EMISUSE;
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_LIST, vm, c, cb, ud, &op);
  if (st != VG_OK)
    return st;
  json_t *args = NULL;
  if (pids) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < npids; i++)
      if (json_array_append_new(a, json_integer(pids[i]))) {
        json_decref(a);
        a = NULL;
      }
    args = json_pack("{s:o}", "pids", a);
  }
  return launch(op, args, pids != NULL, out);
}
