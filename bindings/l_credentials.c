/*
 * vguest.Credentials: guest credentials (user + password or SAML token).
 * The runtime copies the secrets in; tostring shows "***" for them.
 *
 * close, __close and __gc share one idempotent function that wipes them
 * (vg_credentials_free zeroes the secrets); any other use of closed
 * Credentials raises "attempt to use a closed vguest.Credentials". Ops
 * already started keep their own copy.
 */
#include <lauxlib.h>

#include "l_credentials.h"
#include "l_error.h"
#include "l_secret.h"

typedef struct lvg_credentials {
  vg_credentials *c; /* NULL when closed */
} lvg_credentials;

static const char closed_msg[] = "attempt to use a closed " LVG_CREDENTIALS;

const vg_credentials *lvg_checkcredentials(lua_State *L, const lvg_call *c,
                                           int idx) {
  lvg_credentials *p =
      (lvg_credentials *)luaL_testudata(L, idx, LVG_CREDENTIALS);
  if (p == NULL)
    lvg_typeerror(L, c, idx, LVG_CREDENTIALS);
  if (p->c == NULL)
    lvg_argerror(L, c, idx, LVG_CREDENTIALS " is closed");
  return p->c;
}

/* self of a method that needs them open */
static const vg_credentials *checkopen(lua_State *L, const char *own) {
  lvg_call c = lvg_call_get(L, own, 0, 0);
  lvg_credentials *p =
      (lvg_credentials *)lvg_checkself(L, &c, 1, LVG_CREDENTIALS);
  if (p->c == NULL)
    luaL_error(L, "%s", closed_msg);
  return p->c;
}

/* core.credentials({user=, password=Secret, saml_token=Secret,
   interactive=bool} [, call]) */
int lvg_core_credentials(lua_State *L) {
  static const char *const known[] = {"user", "password", "saml_token",
                                      "interactive", NULL};
  vg_credentials_options o = {0};
  const char *why = NULL;
  lvg_credentials *p;
  lvg_call c;
  vg_status st;

  c = lvg_call_get(L, "credentials", 2, 0);
  lvg_checkoptions(L, &c, 1, known);
  o.user = lvg_optfield_string(L, &c, 1, "user", 0);
  o.password = lvg_optfield_secret(L, &c, 1, "password", 0);
  o.saml_token = lvg_optfield_secret(L, &c, 1, "saml_token", 0);
  o.interactive = lvg_optfield_boolean(L, &c, 1, "interactive", 0);
  if (o.password == NULL && o.saml_token == NULL)
    lvg_argerror(L, &c, 1, "field 'password' or 'saml_token' is required");
  if (o.password != NULL && o.saml_token != NULL)
    lvg_argerror(L, &c, 1, "fields 'password' and 'saml_token' are exclusive");

  p = (lvg_credentials *)lua_newuserdatauv(L, sizeof *p, 0);
  p->c = NULL;
  luaL_setmetatable(L, LVG_CREDENTIALS);
  /* the secrets again: a finalizer run by that allocation may have closed
     them (nothing allocates from here on) */
  o.password = lvg_optfield_secret(L, &c, 1, "password", 0);
  o.saml_token = lvg_optfield_secret(L, &c, 1, "saml_token", 0);
  st = vg_credentials_new(&o, &p->c, &why);
  if (st == VG_EMISUSE)
    return lvg_argerror(L, &c, 1, why != NULL ? why : vg_status_text(st));
  if (st != VG_OK)
    return lvg_raisestatus(L, c.name, st, why);
  return 1;
}

static int cred_user(lua_State *L) {
  const char *u = vg_credentials_user(checkopen(L, "user"));
  if (u == NULL)
    lua_pushnil(L);
  else
    lua_pushstring(L, u);
  return 1;
}

static int cred_type(lua_State *L) {
  lua_pushstring(L, vg_credentials_type(checkopen(L, "type")));
  return 1;
}

static int cred_interactive(lua_State *L) {
  lua_pushboolean(L, vg_credentials_interactive(checkopen(L, "interactive")));
  return 1;
}

/* The one close function behind close, __close and __gc. */
static int cred_close(lua_State *L) {
  lvg_call c = lvg_call_get(L, "close", 0, 0);
  lvg_credentials *p =
      (lvg_credentials *)lvg_checkself(L, &c, 1, LVG_CREDENTIALS);
  vg_credentials_free(p->c); /* zeroes its secrets; NULL is a no-op */
  p->c = NULL;
  return 0;
}

static int cred_closed(lua_State *L) {
  lvg_call c = lvg_call_get(L, "closed", 0, 0);
  lvg_credentials *p =
      (lvg_credentials *)lvg_checkself(L, &c, 1, LVG_CREDENTIALS);
  lua_pushboolean(L, p->c == NULL);
  return 1;
}

static int cred_tostring(lua_State *L) {
  lvg_call c = lvg_call_get(L, "__tostring", 0, 0);
  lvg_credentials *p =
      (lvg_credentials *)lvg_checkself(L, &c, 1, LVG_CREDENTIALS);
  const char *user, *type, *what;
  if (p->c == NULL) {
    lua_pushliteral(L, LVG_CREDENTIALS " (closed)");
    return 1;
  }
  user = vg_credentials_user(p->c);
  type = vg_credentials_type(p->c);
  what = type != NULL && type[0] == 'S' ? "saml_token" : "password";
  if (user != NULL)
    lua_pushfstring(L, LVG_CREDENTIALS " (user=%s, %s=***)", user, what);
  else
    lua_pushfstring(L, LVG_CREDENTIALS " (%s=***)", what);
  return 1;
}

void lvg_open_credentials(lua_State *L) {
  static const luaL_Reg methods[] = {{"user", cred_user},
                                     {"type", cred_type},
                                     {"interactive", cred_interactive},
                                     {"close", cred_close},
                                     {"closed", cred_closed},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", cred_close},
                                  {"__close", cred_close},
                                  {"__tostring", cred_tostring},
                                  {NULL, NULL}};
  if (luaL_newmetatable(L, LVG_CREDENTIALS)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}
