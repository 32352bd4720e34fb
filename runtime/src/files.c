/* Guest files: the public vg_file_* calls, the transfer URLs
   (vg_transfer_from_guest, vg_transfer_to_guest) and the guest's family.
   Each is one session op; the flavours translate them (proto_*.c). */
#include "session.h"

#include "json.h"

#include <string.h>

/* Starts a file op of kind with args (owned). */
static vg_status file_op(vg_session *s, vgi_op_kind kind, const char *vm,
                         const vg_credentials *c, json_t *args, vg_callback cb,
                         void *ud, vg_op **out) {
  vg_op *op;
  if (!args)
    return VG_ENOMEM;
  vg_status st = vgi_session_op(s, kind, vm, c, cb, ud, &op);
  if (st != VG_OK) {
    json_decref(args);
    return st;
  }
  return vgi_session_start(op, args, out);
}

/* The checks every guest file call shares; *out is NULL afterwards. */
static int bad(vg_session *s, const char *vm, const vg_credentials *c,
               const char *path, vg_op **out) {
  if (!out)
    return 1;
  *out = NULL;
  return !s || !vm || !*vm || !c || (path && !*path);
}

vg_status vg_file_mktemp(vg_session *s, const char *vm, const vg_credentials *c,
                         const vg_mktemp_spec *m, vg_callback cb, void *ud,
                         vg_op **out) {
  if (bad(s, vm, c, NULL, out) || (m && m->dir && !*m->dir))
    return VG_EMISUSE;
  json_t *args = json_pack("{s:s,s:s,s:s*,s:b}", "prefix",
                           m && m->prefix ? m->prefix : "vguest-", "suffix",
                           m && m->suffix ? m->suffix : "", "dir",
                           m ? m->dir : NULL, "directory", m && m->directory);
  return file_op(s, VGI_OP_MKTEMP, vm, c, args, cb, ud, out);
}

vg_status vg_file_stat(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *path, vg_callback cb, void *ud,
                       vg_op **out) {
  if (bad(s, vm, c, path, out) || !path)
    return VG_EMISUSE;
  return file_op(s, VGI_OP_STAT, vm, c, json_pack("{s:s}", "path", path), cb,
                 ud, out);
}

vg_status vg_file_list(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *dir, vg_callback cb, void *ud, vg_op **out) {
  if (bad(s, vm, c, dir, out) || !dir)
    return VG_EMISUSE;
  return file_op(s, VGI_OP_LS, vm, c, json_pack("{s:s}", "path", dir), cb, ud,
                 out);
}

vg_status vg_file_mkdir(vg_session *s, const char *vm, const vg_credentials *c,
                        const char *path, int parents, vg_callback cb, void *ud,
                        vg_op **out) {
  if (bad(s, vm, c, path, out) || !path)
    return VG_EMISUSE;
  return file_op(s, VGI_OP_MKDIR, vm, c,
                 json_pack("{s:s,s:b}", "path", path, "parents", parents), cb,
                 ud, out);
}

vg_status vg_file_remove(vg_session *s, const char *vm, const vg_credentials *c,
                         const char *path, unsigned flags, vg_callback cb,
                         void *ud, vg_op **out) {
  if (bad(s, vm, c, path, out) || !path ||
      (flags & ~(VG_REMOVE_DIRECTORY | VG_REMOVE_RECURSIVE)) ||
      ((flags & VG_REMOVE_RECURSIVE) && !(flags & VG_REMOVE_DIRECTORY)))
    return VG_EMISUSE;
  return file_op(s, VGI_OP_REMOVE, vm, c,
                 json_pack("{s:s,s:b,s:b}", "path", path, "directory",
                           (flags & VG_REMOVE_DIRECTORY) != 0, "recursive",
                           (flags & VG_REMOVE_RECURSIVE) != 0),
                 cb, ud, out);
}

vg_status vg_transfer_from_guest(vg_session *s, const char *vm,
                                 const vg_credentials *c, const char *path,
                                 vg_callback cb, void *ud, vg_op **out) {
  if (bad(s, vm, c, path, out) || !path)
    return VG_EMISUSE;
  return file_op(s, VGI_OP_FROM_GUEST, vm, c, json_pack("{s:s}", "path", path),
                 cb, ud, out);
}

vg_status vg_transfer_to_guest(vg_session *s, const char *vm,
                               const vg_credentials *c, const char *path,
                               const vg_file_attributes *a, vg_callback cb,
                               void *ud, vg_op **out) {
  if (bad(s, vm, c, path, out) || !path || !a || a->size < 0 ||
      (a->has_mode && a->mode > 07777))
    return VG_EMISUSE;
  json_t *args = json_pack("{s:s,s:I,s:b}", "path", path, "size",
                           (json_int_t)a->size, "overwrite", a->overwrite);
  if (args && a->has_mode)
    json_object_set_new(args, "mode", json_integer((json_int_t)a->mode));
  if (args && a->owner >= 0)
    json_object_set_new(args, "owner", json_integer((json_int_t)a->owner));
  if (args && a->group >= 0)
    json_object_set_new(args, "group", json_integer((json_int_t)a->group));
  return file_op(s, VGI_OP_TO_GUEST, vm, c, args, cb, ud, out);
}

vg_status vg_guest_os(vg_session *s, const char *vm, vg_callback cb, void *ud,
                      vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s || !vm || !*vm)
    return VG_EMISUSE;
  return file_op(s, VGI_OP_FAMILY, vm, NULL, json_object(), cb, ud, out);
}
