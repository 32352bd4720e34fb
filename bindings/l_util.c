/*
 * Option-table checking (after luaposix's field checks) and error tables.
 *
 * Every check raises through luaL_argerror, so messages read
 * "bad argument #1 to 'session' (unknown option 'timout')" and, for method
 * calls, count arguments the way the caller wrote them.
 */
#include <string.h>

#include "l_util.h"

const char *lvg_typename(lua_State *L, int idx) {
  if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
    const char *name = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the metatable */
    return name;
  }
  if (lua_type(L, idx) == LUA_TLIGHTUSERDATA)
    return "light userdata";
  return luaL_typename(L, idx);
}

int lvg_fielderror(lua_State *L, int arg, const char *field,
                   const char *expected) {
  const char *msg = lua_pushfstring(L, "field '%s' must be %s, got %s", field,
                                    expected, lvg_typename(L, -1));
  return luaL_argerror(L, arg, msg);
}

void lvg_checkoptions(lua_State *L, int arg, const char *const known[]) {
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, arg) != 0) {
    int i;
    lua_pop(L, 1); /* value */
    if (lua_type(L, -1) != LUA_TSTRING) {
      const char *msg = lua_pushfstring(
          L, "option names must be strings, got %s", lvg_typename(L, -1));
      luaL_argerror(L, arg, msg);
    }
    for (i = 0; known[i] != NULL; i++)
      if (strcmp(known[i], lua_tostring(L, -1)) == 0)
        break;
    if (known[i] == NULL) {
      const char *msg =
          lua_pushfstring(L, "unknown option '%s'", lua_tostring(L, -1));
      luaL_argerror(L, arg, msg);
    }
  }
}

/*
 * The field getters pop the value they read. Returned strings stay valid
 * while the option table (on the caller's stack) is not modified: Lua's
 * collector does not move objects and the table still references them.
 */
const char *lvg_optfield_string(lua_State *L, int arg, const char *field,
                                int required) {
  const char *s;
  int t = lua_getfield(L, arg, field);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    if (required) {
      const char *msg = lua_pushfstring(L, "field '%s' is required", field);
      luaL_argerror(L, arg, msg);
    }
    return NULL;
  }
  if (t != LUA_TSTRING)
    lvg_fielderror(L, arg, field, "a string");
  s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s;
}

int lvg_optfield_boolean(lua_State *L, int arg, const char *field, int def) {
  int b = def;
  int t = lua_getfield(L, arg, field);
  if (t == LUA_TBOOLEAN)
    b = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    lvg_fielderror(L, arg, field, "a boolean");
  lua_pop(L, 1);
  return b;
}

double lvg_optfield_number(lua_State *L, int arg, const char *field,
                           double def) {
  double d = def;
  int t = lua_getfield(L, arg, field);
  if (t == LUA_TNUMBER)
    d = (double)lua_tonumber(L, -1);
  else if (t != LUA_TNIL)
    lvg_fielderror(L, arg, field, "a number");
  lua_pop(L, 1);
  return d;
}

lua_Integer lvg_optfield_integer(lua_State *L, int arg, const char *field,
                                 lua_Integer def) {
  lua_Integer n = def;
  int t = lua_getfield(L, arg, field);
  if (t == LUA_TNUMBER) {
    int isnum;
    n = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
      lvg_fielderror(L, arg, field, "an integer");
  } else if (t != LUA_TNIL) {
    lvg_fielderror(L, arg, field, "an integer");
  }
  lua_pop(L, 1);
  return n;
}

/*
 * Checks that the value at idx is an array of strings and pushes a
 * userdata holding a NULL-terminated array of pointers to them (valid
 * while both the array and the pushed userdata are on the stack). `field`
 * names the option for messages, or NULL when the array is argument `arg`
 * itself.
 */
const char *const *lvg_checkstringarray(lua_State *L, int idx, int arg,
                                        const char *field) {
  lua_Integer i, n;
  const char **v;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    if (field == NULL)
      luaL_typeerror(L, arg, "array of strings");
    lua_pushvalue(L, idx);
    lvg_fielderror(L, arg, field, "an array of strings");
  }
  n = (lua_Integer)lua_rawlen(L, idx);
  v = (const char **)lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
  for (i = 1; i <= n; i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING) {
      const char *msg;
      if (field != NULL)
        msg = lua_pushfstring(L,
                              "field '%s' must be an array of strings, "
                              "got %s at index %d",
                              field, lvg_typename(L, -1), (int)i);
      else
        msg = lua_pushfstring(L,
                              "array of strings expected, got %s at "
                              "index %d",
                              lvg_typename(L, -1), (int)i);
      luaL_argerror(L, arg, msg);
    }
    v[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  v[n] = NULL;
  return v;
}

static void setstring(lua_State *L, const char *k, const char *v) {
  if (v != NULL) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

/*
 * Pushes the error table of a failed op (README "Error tables"): only the
 * fields that are present, retryable/maybe_done always as booleans. e may
 * be NULL or carry VG_OK (e.g. an op canceled before the runtime filled
 * it in): st and op then stand in.
 */
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
  }
  lua_pushboolean(L, e != NULL && e->retryable);
  lua_setfield(L, -2, "retryable");
  lua_pushboolean(L, e != NULL && e->maybe_done);
  lua_setfield(L, -2, "maybe_done");
}

/*
 * Raises for a status a runtime call returned synchronously (misuse, out
 * of memory): these are programming or configuration errors, not error
 * objects. Names the running function like luaL_argerror does.
 */
int lvg_raisestatus(lua_State *L, vg_status st, const char *why) {
  lua_Debug ar;
  const char *name = "?";
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name)
    name = ar.name;
  if (why != NULL)
    return luaL_error(L, "%s: %s (%s)", name, vg_status_text(st), why);
  return luaL_error(L, "%s: %s", name, vg_status_text(st));
}
