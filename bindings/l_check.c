/*
 * Argument checking (see l_check.h for who is named in messages).
 */
#include <stdarg.h>
#include <string.h>

#include "l_check.h"

lvg_call lvg_call_get(lua_State *L, const char *own, int idx, int bound) {
  lvg_call c;
  c.name = own;
  c.base = 1;
  c.named = 0;
  if (idx > 0 && !lua_isnoneornil(L, idx)) {
    if (lua_type(L, idx) != LUA_TSTRING)
      lvg_argerrorf(L, &c, idx, "call name must be a string, got %s",
                    lvg_typename(L, idx));
    c.name = lua_tostring(L, idx);
    c.base = bound + 1;
    c.named = 1;
  }
  return c;
}

int lvg_argerror(lua_State *L, const lvg_call *c, int idx, const char *msg) {
  const char *name = c->name;
  int base = c->base;
  lua_Debug ar;
  /* Called directly: named as Lua names this call (looked up only now, on
     the error path), counting self as in a method call, as luaL_argerror
     does; but the function's own name instead of '?'. */
  if (!c->named && lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar)) {
    if (ar.namewhat != NULL && strcmp(ar.namewhat, "method") == 0)
      base = 2;
    if (ar.name != NULL && strcmp(ar.name, "?") != 0) /* t[k](...) */
      name = ar.name;
  }
  if (idx < base) /* self, or bound by the Lua layer */
    return luaL_error(L, "calling '%s' on bad self (%s)", name, msg);
  return luaL_error(L, "bad argument #%d to '%s' (%s)", idx - base + 1, name,
                    msg);
}

int lvg_argerrorf(lua_State *L, const lvg_call *c, int idx, const char *fmt,
                  ...) {
  const char *msg;
  va_list ap;
  va_start(ap, fmt);
  msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return lvg_argerror(L, c, idx, msg);
}

const char *lvg_typename(lua_State *L, int idx) {
  if (lua_isnone(L, idx))
    return "no value";
  if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
    const char *name = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the metatable */
    return name;
  }
  if (lua_type(L, idx) == LUA_TLIGHTUSERDATA)
    return "light userdata";
  return luaL_typename(L, idx);
}

const char *lvg_describe(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number d = lua_tonumber(L, idx);
    if (d != d)
      return "nan";                      /* printf would say "-nan" for some */
    return luaL_tolstring(L, idx, NULL); /* left on the stack */
  }
  return lvg_typename(L, idx);
}

/* The type of an argument; the Lua layer passes an argument its caller
   left out as nil, so there nil is "no value" too. */
static const char *argtype(lua_State *L, const lvg_call *c, int idx) {
  if (c->named && lua_isnil(L, idx))
    return "no value";
  return lvg_typename(L, idx);
}

int lvg_typeerror(lua_State *L, const lvg_call *c, int idx,
                  const char *expected) {
  return lvg_argerrorf(L, c, idx, "%s expected, got %s", expected,
                       argtype(L, c, idx));
}

void *lvg_checkself(lua_State *L, const lvg_call *c, int idx,
                    const char *tname) {
  void *p = luaL_testudata(L, idx, tname);
  if (p == NULL)
    lvg_typeerror(L, c, idx, tname);
  return p;
}

/* ---------------------------------------------------------------------- */
/* Option tables                                                           */

int lvg_rawfield(lua_State *L, int idx, const char *field) {
  idx = lua_absindex(L, idx);
  if (!lua_getmetatable(L, idx))
    return lua_getfield(L, idx, field); /* no metatable: a raw read */
  lua_pop(L, 1);
  lua_pushstring(L, field);
  return lua_rawget(L, idx);
}

void lvg_checkoptions(lua_State *L, const lvg_call *c, int idx,
                      const char *const known[]) {
  if (lua_type(L, idx) != LUA_TTABLE)
    lvg_typeerror(L, c, idx, "table");
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int i;
    lua_pop(L, 1); /* value */
    if (lua_type(L, -1) != LUA_TSTRING)
      lvg_argerrorf(L, c, idx, "option names must be strings, got %s",
                    lvg_typename(L, -1));
    for (i = 0; known[i] != NULL; i++)
      if (strcmp(known[i], lua_tostring(L, -1)) == 0)
        break;
    if (known[i] == NULL)
      lvg_argerrorf(L, c, idx, "unknown option '%s'", lua_tostring(L, -1));
  }
}

static int fielderror(lua_State *L, const lvg_call *c, int idx,
                      const char *field, const char *expected) {
  /* the value is on top */
  return lvg_argerrorf(L, c, idx, "field '%s' must be %s, got %s", field,
                       expected, lvg_describe(L, -1));
}

const char *lvg_optfield_string(lua_State *L, const lvg_call *c, int idx,
                                const char *field, int flags) {
  const char *s;
  size_t len;
  int t = lvg_rawfield(L, idx, field);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    if (flags & LVG_REQUIRED)
      lvg_argerrorf(L, c, idx, "field '%s' is required", field);
    return NULL;
  }
  if (t != LUA_TSTRING)
    lvg_argerrorf(L, c, idx, "field '%s' must be a string, got %s", field,
                  lvg_typename(L, -1));
  s = lua_tolstring(L, -1, &len);
  if (strlen(s) != len)
    lvg_argerrorf(L, c, idx, "field '%s' contains a NUL byte", field);
  if (!(flags & LVG_LOCAL) && !lvg_utf8(s, len))
    lvg_argerrorf(L, c, idx, "field '%s' is not valid UTF-8", field);
  if (len == 0 && (flags & LVG_NONEMPTY))
    lvg_argerrorf(L, c, idx, "field '%s' must not be empty", field);
  lua_pop(L, 1); /* still referenced by the table */
  return s;
}

int lvg_optfield_boolean(lua_State *L, const lvg_call *c, int idx,
                         const char *field, int def) {
  int b = def;
  int t = lvg_rawfield(L, idx, field);
  if (t == LUA_TBOOLEAN)
    b = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    lvg_argerrorf(L, c, idx, "field '%s' must be a boolean, got %s", field,
                  lvg_typename(L, -1));
  lua_pop(L, 1);
  return b;
}

int lvg_optfield_number(lua_State *L, const lvg_call *c, int idx,
                        const char *field, double *out) {
  int t = lvg_rawfield(L, idx, field);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TNUMBER)
    lvg_argerrorf(L, c, idx, "field '%s' must be a number, got %s", field,
                  lvg_typename(L, -1));
  *out = (double)lua_tonumber(L, -1);
  lua_pop(L, 1);
  return 1;
}

int lvg_optfield_count(lua_State *L, const lvg_call *c, int idx,
                       const char *field, lua_Integer max, lua_Integer *out) {
  lua_Integer n;
  int isnum = 0;
  if (lvg_rawfield(L, idx, field) == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  n = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &isnum) : 0;
  if (!isnum || n < 1)
    fielderror(L, c, idx, field, "a positive integer");
  if (n > max)
    lvg_argerrorf(L, c, idx, "field '%s' must be at most %I, got %I", field,
                  max, n);
  *out = n;
  lua_pop(L, 1);
  return 1;
}

int lvg_optfield_choice(lua_State *L, const lvg_call *c, int idx,
                        const char *field, const char *const names[]) {
  const char *s = lvg_optfield_string(L, c, idx, field, 0);
  luaL_Buffer b;
  int i;
  if (s == NULL)
    return -1;
  for (i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], s) == 0)
      return i;
  luaL_buffinit(L, &b);
  for (i = 0; names[i] != NULL; i++) {
    luaL_addstring(&b, i > 0 ? ", '" : "'");
    luaL_addstring(&b, names[i]);
    luaL_addchar(&b, '\'');
  }
  luaL_pushresult(&b);
  return lvg_argerrorf(L, c, idx, "field '%s' must be one of %s, got '%s'",
                       field, lua_tostring(L, -1), s);
}

/* ---------------------------------------------------------------------- */
/* Arrays                                                                  */

/* Raises unless the table at idx has exactly the keys 1..#t. */
static void checkarray(lua_State *L, const lvg_call *c, int idx, int arg,
                       const char *subject, const char *elements) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_Integer k;
    int isint = 0;
    lua_pop(L, 1); /* value */
    k = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
    if (!isint || k < 1 || k > n) {
      const char *key = lua_type(L, -1) == LUA_TSTRING
                            ? lua_pushfstring(L, "'%s'", lua_tostring(L, -1))
                            : lvg_describe(L, -1);
      lvg_argerrorf(L, c, arg,
                    "%s must be an array of %s, got a table with key %s",
                    subject, elements, key);
    }
  }
}

static int elementerror(lua_State *L, const lvg_call *c, int arg,
                        const char *subject, const char *elements,
                        const char *what, lua_Integer i) {
  return lvg_argerrorf(L, c, arg,
                       "%s must be an array of %s, got %s at index %I", subject,
                       elements, what, i);
}

const char *const *lvg_checkstrings(lua_State *L, const lvg_call *c, int idx,
                                    int arg, const char *subject) {
  static const char elements[] = "non-empty strings";
  lua_Integer i, n;
  const char **v;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    lvg_argerrorf(L, c, arg, "%s must be an array of strings, got %s", subject,
                  argtype(L, c, idx));
  checkarray(L, c, idx, arg, subject, "strings");
  n = (lua_Integer)lua_rawlen(L, idx);
  v = (const char **)lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
      elementerror(L, c, arg, subject, elements, lvg_typename(L, -1), i);
    s = lua_tolstring(L, -1, &len);
    if (len == 0)
      elementerror(L, c, arg, subject, elements, "an empty string", i);
    if (strlen(s) != len)
      elementerror(L, c, arg, subject, elements, "a string with a NUL byte", i);
    if (!lvg_utf8(s, len))
      elementerror(L, c, arg, subject, elements,
                   "a string that is not valid UTF-8", i);
    v[i - 1] = s;
    lua_pop(L, 1); /* still referenced by the array */
  }
  v[n] = NULL;
  return v;
}

int64_t *lvg_checkcounts(lua_State *L, const lvg_call *c, int idx, int arg,
                         const char *subject, size_t *n) {
  static const char elements[] = "positive integers";
  lua_Integer i, len;
  int64_t *v;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    lvg_argerrorf(L, c, arg, "%s must be an array of %s, got %s", subject,
                  elements, argtype(L, c, idx));
  checkarray(L, c, idx, arg, subject, elements);
  len = (lua_Integer)lua_rawlen(L, idx);
  v = (int64_t *)lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof *v,
                                   0);
  for (i = 1; i <= len; i++) {
    lua_Integer k;
    int isint = 0;
    lua_rawgeti(L, idx, i);
    k = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
    if (!isint || k < 1)
      elementerror(L, c, arg, subject, elements, lvg_describe(L, -1), i);
    v[i - 1] = (int64_t)k;
    lua_pop(L, 1);
  }
  *n = (size_t)len;
  return v;
}

int64_t lvg_checkcount(lua_State *L, const lvg_call *c, int idx,
                       const char *subject) {
  lua_Integer k = 0;
  int isint = 0;
  if (lua_type(L, idx) == LUA_TNUMBER)
    k = lua_tointegerx(L, idx, &isint);
  if (!isint || k < 1)
    lvg_argerrorf(L, c, idx, "%s must be a positive integer, got %s", subject,
                  lua_isnoneornil(L, idx) ? argtype(L, c, idx)
                                          : lvg_describe(L, idx));
  return (int64_t)k;
}

/* ---------------------------------------------------------------------- */
/* Values of guest operations                                              */

int lvg_utf8(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    unsigned b = *p++, cp, min;
    int n;
    if (b < 0x80)
      continue;
    if (b >= 0xC2 && b <= 0xDF)
      n = 1, cp = b & 0x1F, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF)
      n = 2, cp = b & 0x0F, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4)
      n = 3, cp = b & 0x07, min = 0x10000;
    else
      return 0;
    if (end - p < n)
      return 0;
    for (; n > 0; n--, p++) {
      if ((*p & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (*p & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
  }
  return 1;
}

/* A non-empty string without NUL bytes (and UTF-8 when utf8), else
   "<subject> must be a non-empty string, got ...". */
static const char *checkname(lua_State *L, const lvg_call *c, int idx,
                             const char *subject, int utf8) {
  size_t len = 0;
  const char *p = NULL;
  if (lua_type(L, idx) == LUA_TSTRING) /* never converts a number */
    p = lua_tolstring(L, idx, &len);
  if (p == NULL || len == 0 || strlen(p) != len || (utf8 && !lvg_utf8(p, len)))
    lvg_argerrorf(L, c, idx, "%s must be a non-empty string, got %s", subject,
                  p == NULL          ? argtype(L, c, idx)
                  : len == 0         ? "an empty string"
                  : strlen(p) != len ? "a string with a NUL byte"
                                     : "a string that is not valid UTF-8");
  return p;
}

const char *lvg_checkvm(lua_State *L, const lvg_call *c, int idx) {
  return checkname(L, c, idx, "VM id", 1);
}

const char *lvg_checkpath(lua_State *L, const lvg_call *c, int idx,
                          const char *subject) {
  return checkname(L, c, idx, subject, 1);
}

const char *lvg_checklocal(lua_State *L, const lvg_call *c, int idx,
                           const char *subject) {
  return checkname(L, c, idx, subject, 0);
}

const char *const *lvg_checkenv(lua_State *L, const lvg_call *c, int idx,
                                int arg, const char *field) {
  lua_Integer n = 0, i;
  const char **v;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    lvg_argerrorf(L, c, arg, "field '%s' must be a table, got %s", field,
                  lvg_typename(L, idx));
  lua_newtable(L); /* the "K=V" strings */
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    size_t klen, vlen;
    const char *k, *val;
    if (lua_type(L, -2) != LUA_TSTRING ||
        (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      lvg_argerrorf(L, c, arg,
                    "field '%s' must map names to strings, got %s = %s", field,
                    lvg_typename(L, -2), lvg_typename(L, -1));
    k = lua_tolstring(L, -2, &klen);
    if (klen == 0)
      lvg_argerror(L, c, arg, "environment name is empty");
    if (strlen(k) != klen)
      lvg_argerrorf(L, c, arg, "environment name \"%s\" contains a NUL byte",
                    k);
    if (!lvg_utf8(k, klen))
      lvg_argerror(L, c, arg, "environment name is not valid UTF-8");
    if (strchr(k, '=') != NULL)
      lvg_argerrorf(L, c, arg, "environment name \"%s\" contains '='", k);
    lua_pushvalue(L, -2); /* key */
    lua_pushliteral(L, "=");
    lua_pushvalue(L, -3); /* value (number converted on this copy) */
    lua_concat(L, 3);
    val = lua_tolstring(L, -1, &vlen);
    if (strlen(val) != vlen)
      lvg_argerrorf(L, c, arg,
                    "environment value of \"%s\" contains a NUL byte", k);
    if (!lvg_utf8(val, vlen))
      lvg_argerrorf(L, c, arg, "environment value of \"%s\" is not valid UTF-8",
                    k);
    lua_rawseti(L, -4, ++n);
    lua_pop(L, 1); /* value */
  }
  v = (const char **)lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *v, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    v[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1); /* kept by the table below */
  }
  v[n] = NULL;
  return v;
}
