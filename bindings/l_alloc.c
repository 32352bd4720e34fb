/*
 * The zeroing allocator (l_alloc.h). It forwards to the state's own
 * allocator (lua_getallocf), zeroing blocks before they are freed or
 * shrunk, and growing by allocate-copy-zero-free, since the underlying
 * realloc would free the old copy as it is.
 *
 * Its record is a full userdata anchored in the registry, whose __gc puts
 * the state's allocator back. lua_close runs finalizers in the reverse
 * order of their marking, so that __gc runs before the one of package's
 * CLIBS table, which unloads this module's shared object (stock lua5.4):
 * no allocation may call into the module once it is unloaded.
 */
#include <string.h>

#include <lauxlib.h>

#include "l_alloc.h"

#define LVG_ALLOC "vguest.core.alloc"

typedef struct wipe_alloc {
  lua_Alloc f; /* the state's allocator before */
  void *ud;
} wipe_alloc;

static void *wipe(void *ud, void *ptr, size_t osize, size_t nsize) {
  wipe_alloc *w = (wipe_alloc *)ud;
  void *q;
  if (ptr == NULL) /* osize is a type tag, not a size */
    return w->f(w->ud, NULL, osize, nsize);
  if (nsize == 0) {
    explicit_bzero(ptr, osize);
    return w->f(w->ud, ptr, osize, 0);
  }
  if (nsize <= osize) {
    explicit_bzero((char *)ptr + nsize, osize - nsize);
    return w->f(w->ud, ptr, osize, nsize);
  }
  q = w->f(w->ud, NULL, 0, nsize);
  if (q == NULL)
    return NULL; /* ptr unchanged, as Lua expects */
  memcpy(q, ptr, osize);
  explicit_bzero(ptr, osize);
  w->f(w->ud, ptr, osize, 0);
  return q;
}

static int restore(lua_State *L) {
  wipe_alloc *w = (wipe_alloc *)lua_touserdata(L, 1);
  void *ud;
  if (w != NULL && w->f != NULL && lua_getallocf(L, &ud) == wipe && ud == w) {
    lua_setallocf(L, w->f, w->ud);
    w->f = NULL;
  }
  return 0;
}

void lvg_alloc_wrap(lua_State *L) {
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  wipe_alloc *w;
  if (f == wipe)
    return;
  w = (wipe_alloc *)lua_newuserdatauv(L, sizeof *w, 0);
  w->f = f;
  w->ud = ud;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, restore);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LVG_ALLOC);
  lua_setallocf(L, wipe, w);
}
