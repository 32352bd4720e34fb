/* VMs: the public vg_vm_list. */
#include "session.h"

#include "json.h"

#include <string.h>

vg_status vg_vm_list(vg_session *s, const vg_vm_filter *f, vg_callback cb,
                     void *ud, vg_op **out) {
  static const char *const states[] = {"POWERED_ON", "POWERED_OFF", "SUSPENDED",
                                       NULL};
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (f && f->power_state) {
    const char *const *p = states;
    while (*p && strcmp(*p, f->power_state) != 0)
      p++;
    if (!*p)
      return VG_EMISUSE;
  }
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_VMS, NULL, NULL, cb, ud, &op);
  if (st != VG_OK)
    return st;
  json_t *args = json_pack("{s:o,s:o,s:s*}", "names",
                           vgi_json_string_array(f ? f->names : NULL), "ids",
                           vgi_json_string_array(f ? f->ids : NULL),
                           "power_state", f ? f->power_state : NULL);
  if (!args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return vgi_session_start(op, args, out);
}
