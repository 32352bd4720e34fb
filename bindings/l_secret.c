/*
 * vguest.Secret: a vg_secret in C memory. Lua never sees its bytes: the
 * constructors read the environment, files and the terminal in C, and
 * nothing formats it (tostring is "vguest.Secret (***)").
 *
 * close, __close and __gc share one idempotent function that wipes it
 * (vg_secret_free zeroes the bytes); any other use of a closed Secret
 * raises "attempt to use a closed vguest.Secret".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "l_break.h"
#include "l_error.h"
#include "l_interrupt.h"
#include "l_secret.h"

typedef struct lvg_secret {
  vg_secret *s; /* NULL when closed */
} lvg_secret;

static const char closed_msg[] = "attempt to use a closed " LVG_SECRET;

/* self of a method that needs the secret open */
static const vg_secret *checkopen(lua_State *L, const char *own) {
  lvg_call c = lvg_call_get(L, own, 0, 0);
  lvg_secret *p = (lvg_secret *)lvg_checkself(L, &c, 1, LVG_SECRET);
  if (p->s == NULL)
    luaL_error(L, "%s", closed_msg);
  return p->s;
}

const vg_secret *lvg_optfield_secret(lua_State *L, const lvg_call *c, int idx,
                                     const char *field, int required) {
  lvg_secret *p;
  if (lvg_rawfield(L, idx, field) == LUA_TNIL) {
    lua_pop(L, 1);
    if (required)
      lvg_argerrorf(L, c, idx, "field '%s' is required", field);
    return NULL;
  }
  p = (lvg_secret *)luaL_testudata(L, -1, LVG_SECRET);
  if (p == NULL)
    lvg_argerrorf(L, c, idx, "field '%s' must be a %s, got %s", field,
                  LVG_SECRET, lvg_typename(L, -1));
  if (p->s == NULL)
    lvg_argerrorf(L, c, idx, "field '%s' is a closed %s", field, LVG_SECRET);
  lua_pop(L, 1); /* still referenced by the table */
  return p->s;
}

/* Pushes a closed Secret (metatable set) to be filled by the caller. */
static lvg_secret *newsecret(lua_State *L) {
  lvg_secret *p = (lvg_secret *)lua_newuserdatauv(L, sizeof *p, 0);
  p->s = NULL;
  luaL_setmetatable(L, LVG_SECRET);
  return p;
}

static const char *checkstring(lua_State *L, const char *own, int idx) {
  lvg_call c = lvg_call_get(L, own, 0, 0);
  if (lua_type(L, idx) != LUA_TSTRING)
    lvg_typeerror(L, &c, idx, "string");
  return lua_tostring(L, idx);
}

/* core.secret(str): the bytes are copied into C memory. */
int lvg_core_secret(lua_State *L) {
  size_t len;
  const char *bytes;
  lvg_secret *p;
  vg_status st;
  checkstring(L, "secret", 1);
  bytes = lua_tolstring(L, 1, &len);
  p = newsecret(L);
  st = vg_secret_new(bytes, len, &p->s);
  if (st != VG_OK)
    return lvg_raisestatus(L, "secret", st, NULL);
  return 1;
}

/*
 * Secrets read from the environment leave it: the value is wiped in place
 * and the variable unset before any child (the simulator of --sim, a
 * guest program's io.popen, os.execute) can inherit it. The secret is
 * kept in the registry table below, so a later read of the same variable
 * (a second vg.connect{}) still finds it. The VGUEST_* password variables
 * and the password of VGUEST_SERVER's user info are taken when the module
 * loads.
 */
#define ENV_SECRETS "vguest.core.env_secrets"
#define SERVER_ENV "VGUEST_SERVER"

/* Pushes the table of secrets taken from the environment. */
static void env_secrets(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, ENV_SECRETS) == LUA_TTABLE)
    return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, ENV_SECRETS);
}

/* The secret of variable name, taken from the environment on first use;
   NULL when it was never set (or set empty). Nothing is pushed. */
static const vg_secret *env_secret(lua_State *L, const char *name) {
  const vg_secret *found = NULL;
  env_secrets(L);
  if (lua_getfield(L, -1, name) == LUA_TUSERDATA) {
    found = ((lvg_secret *)lua_touserdata(L, -1))->s;
    lua_pop(L, 2);
    return found;
  }
  lua_pop(L, 1);
  if (strcmp(name, SERVER_ENV) == 0) { /* only what take_server took */
    lua_pop(L, 1);
    return NULL;
  }
  char *v = getenv(name);
  if (v && !*v) { /* set but empty: as not set, like every VGUEST_* */
    unsetenv(name);
    v = NULL;
  }
  if (v) {
    lvg_secret *p = newsecret(L);
    if (vg_secret_new(v, strlen(v), &p->s) == VG_OK) {
      explicit_bzero(v, strlen(v)); /* the copy in the environment block */
      unsetenv(name);
      lua_setfield(L, -2, name);
      found = p->s;
    } else {
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return found;
}

/*
 * VGUEST_SERVER with a password in its user info (https://user:pw@vc, as
 * govc users write it): the whole URL is taken as the secret of that name,
 * and the variable is set again without the password, so that os.getenv
 * and every child see the user and the host only.
 */
static void take_server(lua_State *L) {
  char *v = getenv(SERVER_ENV);
  const char *auth, *at = NULL, *colon;
  size_t alen, len;
  char *redacted;
  lvg_secret *p;
  if (!v)
    return;
  auth = strstr(v, "://");
  auth = auth ? auth + 3 : v;
  alen = strcspn(auth, "/?#");
  for (const char *c = auth; c < auth + alen; c++)
    if (*c == '@')
      at = c;
  colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (!colon)
    return; /* no password in it */
  len = strlen(v);
  redacted = malloc(len + 1);
  if (!redacted)
    return;
  memcpy(redacted, v, (size_t)(colon - v));
  memcpy(redacted + (colon - v), at, strlen(at) + 1);
  env_secrets(L);
  p = newsecret(L);
  if (vg_secret_new(v, len, &p->s) == VG_OK) {
    explicit_bzero(v, len); /* the copy in the environment block */
    if (setenv(SERVER_ENV, redacted, 1) != 0)
      unsetenv(SERVER_ENV);
    lua_setfield(L, -2, SERVER_ENV);
  } else {
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  free(redacted);
}

/* core.secret_env(name): read in C, never as a Lua string. */
int lvg_core_secret_env(lua_State *L) {
  const char *name = checkstring(L, "secret_env", 1);
  const vg_secret *from = env_secret(L, name);
  if (!from)
    return luaL_error(L, "environment variable %s is not set", name);
  lvg_secret *p = newsecret(L);
  vg_status st = vg_secret_dup(from, &p->s);
  if (st != VG_OK)
    return lvg_raisestatus(L, "secret_env", st, NULL);
  return 1;
}

/* core.has_secret_env(name): is that variable's secret at hand (in the
   environment, or taken from it already)? */
int lvg_core_has_secret_env(lua_State *L) {
  const char *name = checkstring(L, "has_secret_env", 1);
  lua_pushboolean(L, env_secret(L, name) != NULL);
  return 1;
}

/* core.secret_file(path): one trailing newline is dropped by the runtime. */
int lvg_core_secret_file(lua_State *L) {
  const char *path = checkstring(L, "secret_file", 1);
  lvg_secret *p = newsecret(L);
  vg_status st;
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

/* The prompt's stop: a Ctrl-C was caught since *count was read. */
static int interrupted_since(void *count) {
  return lvg_interrupt_count() != *(long *)count;
}

/*
 * core.secret_prompt([prompt [, {allow_empty=bool}]]): /dev/tty with echo
 * off (stdin if none), vg_secret_prompt. Ctrl-C, and Ctrl-D at a terminal,
 * cancel it: it raises the interrupt error (l_break.h), having dealt with that
 * Ctrl-C. An empty line is asked again at a terminal, and refused
 * elsewhere, unless allow_empty.
 */
int lvg_core_secret_prompt(lua_State *L) {
  const char *prompt = "Password: ";
  lvg_call c = lvg_call_get(L, "secret_prompt", 0, 0);
  static const char *const keys[] = {"allow_empty", NULL};
  int allow_empty = 0;
  lvg_secret *p;
  if (!lua_isnoneornil(L, 1))
    prompt = checkstring(L, "secret_prompt", 1);
  if (!lua_isnoneornil(L, 2)) {
    lvg_checkoptions(L, &c, 2, keys);
    allow_empty = lvg_optfield_boolean(L, &c, 2, "allow_empty", 0);
  }
  p = newsecret(L);
  for (;;) {
    int tty = 0, interrupted;
    long count = lvg_interrupt_count();
    void *target = lvg_interrupt_target(NULL); /* waiting, not running */
    vg_status st =
        vg_secret_prompt(prompt, interrupted_since, &count, &tty, &p->s);
    lvg_interrupt_target(target);
    interrupted = st == VG_ECANCELED && interrupted_since(&count);
    if (interrupted || (st == VG_ECANCELED && tty)) {
      if (interrupted)
        lvg_break_consume(L);
      lvg_break_pusherror(L);
      return lua_error(L);
    }
    if (st == VG_ECANCELED)
      return luaL_error(L, "cannot read a secret at '%s': end of input",
                        prompt);
    if (st != VG_OK)
      return luaL_error(L, "cannot read a secret: %s", vg_status_text(st));
    if (allow_empty || vg_secret_len(p->s) > 0)
      return 1;
    vg_secret_free(p->s);
    p->s = NULL;
    if (!tty)
      return luaL_error(L, "empty secret at '%s' (not allowed)", prompt);
    fputs("vguest: the secret must not be empty (Ctrl-C cancels)\n", stderr);
    fflush(stderr);
  }
}

static int secret_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)vg_secret_len(checkopen(L, "len")));
  return 1;
}

/* Constant-time comparison of two open Secrets. */
static int secret_eq(lua_State *L) {
  lvg_secret *a = (lvg_secret *)luaL_testudata(L, 1, LVG_SECRET);
  lvg_secret *b = (lvg_secret *)luaL_testudata(L, 2, LVG_SECRET);
  if (a == NULL || b == NULL) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (a->s == NULL || b->s == NULL)
    return luaL_error(L, "%s", closed_msg);
  lua_pushboolean(L, vg_secret_equal(a->s, b->s));
  return 1;
}

/* The one close function behind close, __close and __gc. */
static int secret_close(lua_State *L) {
  lvg_call c = lvg_call_get(L, "close", 0, 0);
  lvg_secret *p = (lvg_secret *)lvg_checkself(L, &c, 1, LVG_SECRET);
  vg_secret_free(p->s); /* zeroes it; NULL is a no-op */
  p->s = NULL;
  return 0;
}

static int secret_closed(lua_State *L) {
  lvg_call c = lvg_call_get(L, "closed", 0, 0);
  lvg_secret *p = (lvg_secret *)lvg_checkself(L, &c, 1, LVG_SECRET);
  lua_pushboolean(L, p->s == NULL);
  return 1;
}

static int secret_tostring(lua_State *L) {
  lvg_call c = lvg_call_get(L, "__tostring", 0, 0);
  lvg_secret *p = (lvg_secret *)lvg_checkself(L, &c, 1, LVG_SECRET);
  if (p->s == NULL)
    lua_pushliteral(L, LVG_SECRET " (closed)");
  else
    lua_pushliteral(L, LVG_SECRET " (***)");
  return 1;
}

void lvg_open_secret(lua_State *L) {
  static const luaL_Reg methods[] = {{"len", secret_len},
                                     {"close", secret_close},
                                     {"closed", secret_closed},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", secret_close},
                                  {"__close", secret_close},
                                  {"__eq", secret_eq},
                                  {"__tostring", secret_tostring},
                                  {NULL, NULL}};
  if (luaL_newmetatable(L, LVG_SECRET)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  env_secret(L, "VGUEST_PASSWORD");
  env_secret(L, "VGUEST_GUEST_PASSWORD");
  take_server(L);
}
