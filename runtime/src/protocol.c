/* The registry of protocol flavours: their public names and enum values,
   and the order in which `auto` probes them. Every other list of flavour
   names (bindings, Lua layer, CLI) is derived from this one. */
#include "proto.h"

#include <string.h>

static const struct flavour {
  vg_protocol id;
  const vgi_proto *proto;
} flavours[] = {
    /* probe order for VG_PROTOCOL_AUTO */
    {VG_PROTOCOL_API, &vgi_proto_api},
    {VG_PROTOCOL_VIM25, &vgi_proto_vim25},
    {VG_PROTOCOL_REST, &vgi_proto_rest},
};
#define NFLAVOURS (sizeof flavours / sizeof *flavours)

const char *vg_protocol_name(vg_protocol p) {
  if (p == VG_PROTOCOL_AUTO)
    return "auto";
  for (size_t i = 0; i < NFLAVOURS; i++)
    if (flavours[i].id == p)
      return flavours[i].proto->name;
  return NULL;
}

vg_status vg_protocol_from_name(const char *name, vg_protocol *out) {
  if (!name || !out)
    return VG_EMISUSE;
  if (strcmp(name, "auto") == 0) {
    *out = VG_PROTOCOL_AUTO;
    return VG_OK;
  }
  for (size_t i = 0; i < NFLAVOURS; i++)
    if (strcmp(flavours[i].proto->name, name) == 0) {
      *out = flavours[i].id;
      return VG_OK;
    }
  return VG_EINVALID;
}

const vgi_proto *vgi_protocol_get(vg_protocol p) {
  for (size_t i = 0; i < NFLAVOURS; i++)
    if (flavours[i].id == p)
      return flavours[i].proto;
  return NULL;
}

const vgi_proto *vgi_protocol_probe(size_t i) {
  return i < NFLAVOURS ? flavours[i].proto : NULL;
}

size_t vgi_protocol_count(void) {
  return NFLAVOURS;
}
