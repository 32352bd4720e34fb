/* VMs and where they live: the public vg_vm_list, vg_inventory_list and
   vg_vm_guest_info. */
#include "session.h"

#include "inventory.h"
#include "json.h"

#include <string.h>

const char *vg_inventory_kind_name(vg_inventory_kind k) {
  return (unsigned)k < VGI_NINVENTORY_KINDS ? vgi_inventory_kinds[k].name
                                            : NULL;
}

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
  if (args && f) {
    const char *const *const lists[VGI_NINVENTORY_KINDS] = {
        f->folders, f->datacenters, f->clusters, f->hosts, f->resource_pools};
    size_t k;
    for (k = 0; k < VGI_NINVENTORY_KINDS && args; k++) {
      /* only the kinds given (as names and ids: empty is any) */
      if (lists[k] && lists[k][0] &&
          json_object_set_new(args, vgi_inventory_kinds[k].filter,
                              vgi_json_string_array(lists[k]))) {
        json_decref(args);
        args = NULL;
      }
    }
  }
  if (!args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return vgi_session_start(op, args, out);
}

vg_status vg_inventory_list(vg_session *s, vg_inventory_kind kind,
                            const char *const *names, vg_callback cb, void *ud,
                            vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if ((unsigned)kind >= VGI_NINVENTORY_KINDS)
    return VG_EMISUSE;
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_INVENTORY, NULL, NULL, cb, ud, &op);
  if (st != VG_OK)
    return st;
  json_t *args = json_pack("{s:i,s:o}", "kind", (int)kind, "names",
                           vgi_json_string_array(names));
  if (!args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return vgi_session_start(op, args, out);
}

vg_status vg_vm_guest_info(vg_session *s, const char *vm, vg_callback cb,
                           void *ud, vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!vm || !*vm)
    return VG_EMISUSE;
  vg_op *op;
  vg_status st = vgi_session_op(s, VGI_OP_GUEST_INFO, vm, NULL, cb, ud, &op);
  if (st != VG_OK)
    return st;
  json_t *args = json_object();
  if (!args) {
    vg_op_free(op);
    return VG_ENOMEM;
  }
  return vgi_session_start(op, args, out);
}
