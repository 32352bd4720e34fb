/* The inventory kinds VMs are selected by, in vg_inventory_kind's order,
   with every flavour's name for them: one list (vm.c, proto_vapi.c,
   proto_vim25.c).
     X(name, filter, vapi_path, vapi_id, vim_type)
   name: vg_inventory_kind_name; filter: the array of a VM filter's args
   (also /api's vcenter/vm query parameter, /rest's after "filter.");
   vapi_path: <prefix>/vcenter/<path> lists them; vapi_id: the member of
   a Summary holding the id; vim_type: the managed object type. */
#ifndef VGUEST_INVENTORY_H
#define VGUEST_INVENTORY_H

#include <jansson.h>

#include <stddef.h>

#define VGI_INVENTORY_KINDS(X)                                                 \
  X("folder", "folders", "folder", "folder", "Folder")                         \
  X("datacenter", "datacenters", "datacenter", "datacenter", "Datacenter")     \
  X("cluster", "clusters", "cluster", "cluster", "ClusterComputeResource")     \
  X("host", "hosts", "host", "host", "HostSystem")                             \
  X("resource_pool", "resource_pools", "resource-pool", "resource_pool",       \
    "ResourcePool")

typedef struct vgi_inventory_kind {
  const char *name, *filter, *vapi_path, *vapi_id, *vim_type;
} vgi_inventory_kind;

#define VGI_INVENTORY_ENTRY(n, f, p, i, t) {n, f, p, i, t},
static const vgi_inventory_kind vgi_inventory_kinds[] = {
    VGI_INVENTORY_KINDS(VGI_INVENTORY_ENTRY)};
#undef VGI_INVENTORY_ENTRY

#define VGI_NINVENTORY_KINDS                                                   \
  (sizeof vgi_inventory_kinds / sizeof vgi_inventory_kinds[0])

/* The kind of an inventory call's args ({"kind": index}), or NULL. */
static inline const vgi_inventory_kind *vgi_inventory_kind_of(json_t *args) {
  json_t *k = json_object_get(args, "kind");
  json_int_t i = json_is_integer(k) ? json_integer_value(k) : -1;
  return i >= 0 && (size_t)i < VGI_NINVENTORY_KINDS ? &vgi_inventory_kinds[i]
                                                    : NULL;
}

#endif
