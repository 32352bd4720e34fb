/*
 * Error tables and immediate statuses (see l_error.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "l_error.h"

static void setstring(lua_State *L, const char *k, const char *v) {
  if (v != NULL) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

/* Only the fields that are present; retryable/maybe_done always as
   booleans. */
void lvg_pusherror(lua_State *L, const vg_error *e, vg_status st,
                   const char *op) {
  if (e != NULL && e->status == VG_OK)
    e = NULL;
  if (e != NULL)
    st = e->status;
  lua_createtable(L, 0, 8);
  setstring(L, "kind", vg_status_kind(st));
  setstring(L, "message",
            e != NULL && e->message != NULL ? e->message : vg_status_text(st));
  setstring(L, "op", e != NULL && e->op != NULL ? e->op : op);
  if (e != NULL) {
    if (e->http_status != 0) {
      lua_pushinteger(L, e->http_status);
      lua_setfield(L, -2, "status");
    }
    setstring(L, "fault", e->fault);
    setstring(L, "message_id", e->message_id);
    setstring(L, "vm", e->vm);
    if (e->pid != 0) {
      lua_pushinteger(L, (lua_Integer)e->pid);
      lua_setfield(L, -2, "pid");
    }
    setstring(L, "auth", e->auth);
    setstring(L, "thumbprint", e->thumbprint);
  }
  lua_pushboolean(L, e != NULL && e->retryable);
  lua_setfield(L, -2, "retryable");
  lua_pushboolean(L, e != NULL && e->maybe_done);
  lua_setfield(L, -2, "maybe_done");
}

int lvg_raisestatus(lua_State *L, const char *call, vg_status st,
                    const char *why) {
  if (why != NULL)
    return luaL_error(L, "%s: %s (%s)", call, vg_status_text(st), why);
  return luaL_error(L, "%s: %s", call, vg_status_text(st));
}

static int localerror(lua_State *L, const char *call, const char *verb,
                      const char *path, int err) {
  vg_status st = err == ENOENT || err == ENOTDIR ? VG_ENOTFOUND
                 : err == EACCES || err == EPERM ? VG_EUNAUTHORIZED
                                                 : VG_EINVALID;
  lvg_pusherror(L, NULL, st, call);
  lua_pushfstring(L, "cannot %s local file '%s': %s", verb, path,
                  strerror(err));
  lua_setfield(L, -2, "message");
  return lua_error(L);
}

void lvg_check_local_in(lua_State *L, const char *call, const char *path) {
  struct stat sb;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    localerror(L, call, "open", path, errno);
  fclose(f);
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
    localerror(L, call, "open", path, EISDIR);
}

void lvg_check_local_out(lua_State *L, const char *call, const char *path) {
  struct stat sb;
  const char *slash = strrchr(path, '/');
  int rc;
  if (stat(path, &sb) == 0) {
    if (S_ISDIR(sb.st_mode))
      localerror(L, call, "write", path, EISDIR);
    if (access(path, W_OK) != 0)
      localerror(L, call, "write", path, errno);
    return;
  }
  /* a new file: its directory must exist and let us create it */
  if (slash == NULL) {
    rc = access(".", W_OK | X_OK);
  } else if (slash == path) {
    rc = access("/", W_OK | X_OK);
  } else {
    lua_pushlstring(L, path, (size_t)(slash - path));
    rc = access(lua_tostring(L, -1), W_OK | X_OK);
    lua_pop(L, 1);
  }
  if (rc != 0)
    localerror(L, call, "write", path, errno);
}
