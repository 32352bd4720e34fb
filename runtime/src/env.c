/* The guest's environment: the public vg_guest_env. */
#include "session.h"

#include "json.h"

vg_status vg_guest_env(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *const *names, vg_callback cb, void *ud,
                       vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s || !vm || !*vm || !c)
    return VG_EMISUSE;
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_ENV, vm, c, cb, ud, &op);
  if (st != VG_OK)
    return st;
  json_t *args = json_pack("{s:o}", "names", vgi_json_string_array(names));
  if (!args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return vgi_session_start(op, args, out);
}
