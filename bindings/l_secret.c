/*
 * vguest.Secret: a vg_secret in C memory. Lua never sees its bytes: the
 * constructors read the environment, files and the terminal in C, and
 * nothing formats it (tostring is "vguest.Secret (***)").
 */
#include <errno.h>
#include <string.h>

#include "l_util.h"

typedef struct lvg_secret {
  vg_secret *s; /* NULL when freed */
} lvg_secret;

const vg_secret *lvg_tosecret(lua_State *L, int idx) {
  lvg_secret *p = (lvg_secret *)luaL_testudata(L, idx, LVG_SECRET);
  return p != NULL ? p->s : NULL;
}

const vg_secret *lvg_checksecret(lua_State *L, int arg) {
  lvg_secret *p = (lvg_secret *)luaL_checkudata(L, arg, LVG_SECRET);
  if (p->s == NULL)
    luaL_error(L, "attempt to use a closed vguest.Secret");
  return p->s;
}

/* The Secret in option field `field` of the table at arg, or NULL. */
const vg_secret *lvg_optfield_secret(lua_State *L, int arg, const char *field,
                                     int required) {
  lvg_secret *p;
  if (lua_getfield(L, arg, field) == LUA_TNIL) {
    lua_pop(L, 1);
    if (required) {
      const char *msg = lua_pushfstring(L, "field '%s' is required", field);
      luaL_argerror(L, arg, msg);
    }
    return NULL;
  }
  p = (lvg_secret *)luaL_testudata(L, -1, LVG_SECRET);
  if (p == NULL)
    lvg_fielderror(L, arg, field, "a vguest.Secret");
  lua_pop(L, 1); /* still referenced by the table */
  if (p->s == NULL)
    luaL_error(L, "attempt to use a closed vguest.Secret");
  return p->s;
}

/* Pushes a closed Secret (metatable set) to be filled by the caller. */
static lvg_secret *newsecret(lua_State *L) {
  lvg_secret *p = (lvg_secret *)lua_newuserdatauv(L, sizeof *p, 0);
  p->s = NULL;
  luaL_setmetatable(L, LVG_SECRET);
  return p;
}

/* core.secret(str): the bytes are copied into C memory. */
int lvg_core_secret(lua_State *L) {
  size_t len;
  const char *bytes;
  lvg_secret *p;
  vg_status st;
  luaL_checktype(L, 1, LUA_TSTRING);
  bytes = lua_tolstring(L, 1, &len);
  p = newsecret(L);
  st = vg_secret_new(bytes, len, &p->s);
  if (st != VG_OK)
    return lvg_raisestatus(L, st, NULL);
  return 1;
}

/* core.secret_env(name): read in C, never as a Lua string. */
int lvg_core_secret_env(lua_State *L) {
  const char *name;
  lvg_secret *p;
  vg_status st;
  luaL_checktype(L, 1, LUA_TSTRING);
  name = lua_tostring(L, 1);
  p = newsecret(L);
  st = vg_secret_from_env(name, &p->s);
  if (st == VG_ENOTFOUND)
    return luaL_error(L, "environment variable %s is not set", name);
  if (st != VG_OK)
    return lvg_raisestatus(L, st, NULL);
  return 1;
}

/* core.secret_file(path): one trailing newline is dropped by the runtime. */
int lvg_core_secret_file(lua_State *L) {
  const char *path;
  lvg_secret *p;
  vg_status st;
  luaL_checktype(L, 1, LUA_TSTRING);
  path = lua_tostring(L, 1);
  p = newsecret(L);
  errno = 0;
  st = vg_secret_from_file(path, &p->s);
  if (st != VG_OK) {
    int e = errno;
    if (e != 0)
      return luaL_error(L, "cannot read secret file '%s': %s", path,
                        strerror(e));
    return luaL_error(L, "cannot read secret file '%s': %s", path,
                      vg_status_text(st));
  }
  return 1;
}

/* core.secret_prompt([prompt]): /dev/tty with echo off (stdin if none). */
int lvg_core_secret_prompt(lua_State *L) {
  const char *prompt = "Password: ";
  lvg_secret *p;
  vg_status st;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TSTRING);
    prompt = lua_tostring(L, 1);
  }
  p = newsecret(L);
  st = vg_secret_from_prompt(prompt, &p->s);
  if (st != VG_OK)
    return luaL_error(L, "cannot read a secret: %s", vg_status_text(st));
  return 1;
}

static int secret_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)vg_secret_len(lvg_checksecret(L, 1)));
  return 1;
}

/* Constant-time comparison of two Secrets. */
static int secret_eq(lua_State *L) {
  const vg_secret *a = lvg_tosecret(L, 1), *b = lvg_tosecret(L, 2);
  lua_pushboolean(L, a != NULL && b != NULL && vg_secret_equal(a, b));
  return 1;
}

static int secret_gc(lua_State *L) {
  lvg_secret *p = (lvg_secret *)luaL_checkudata(L, 1, LVG_SECRET);
  vg_secret_free(p->s); /* zeroes it */
  p->s = NULL;
  return 0;
}

static int secret_tostring(lua_State *L) {
  luaL_checkudata(L, 1, LVG_SECRET);
  lua_pushliteral(L, "vguest.Secret (***)");
  return 1;
}

void lvg_open_secret(lua_State *L) {
  static const luaL_Reg methods[] = {{"len", secret_len}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", secret_gc},
                                  {"__eq", secret_eq},
                                  {"__tostring", secret_tostring},
                                  {NULL, NULL}};
  if (luaL_newmetatable(L, LVG_SECRET)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}
