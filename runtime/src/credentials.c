/* Guest credentials: a user plus a password or a SAML bearer token. */
#include "credentials.h"

#include <stdlib.h>
#include <string.h>

void vg_credentials_free(vg_credentials *c) {
  if (!c)
    return;
  free(c->user);
  vg_secret_free(c->password);
  vg_secret_free(c->saml_token);
  free(c);
}

static vg_status make(const char *user, const vg_secret *pw,
                      const vg_secret *saml, int interactive,
                      vg_credentials **out) {
  vg_credentials *c = calloc(1, sizeof *c);
  if (!c)
    return VG_ENOMEM;
  c->interactive = interactive ? 1 : 0;
  if ((user && !(c->user = strdup(user))) ||
      (pw && vg_secret_dup(pw, &c->password) != VG_OK) ||
      (saml && vg_secret_dup(saml, &c->saml_token) != VG_OK)) {
    vg_credentials_free(c);
    return VG_ENOMEM;
  }
  *out = c;
  return VG_OK;
}

vg_status vg_credentials_new(const vg_credentials_options *o,
                             vg_credentials **out, const char **why) {
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!o) {
    *why = "options are required";
    return VG_EMISUSE;
  }
  if (o->password && o->saml_token) {
    *why = "give either a password or a SAML token, not both";
    return VG_EMISUSE;
  }
  if (!o->password && !o->saml_token) {
    *why = "a password or a SAML token is required";
    return VG_EMISUSE;
  }
  if (o->password && (!o->user || !*o->user)) {
    *why = "a user is required with a password";
    return VG_EMISUSE;
  }
  if (o->saml_token && o->interactive) {
    *why = "interactive sessions need a password, not a SAML token";
    return VG_EMISUSE;
  }
  return make(o->user, o->password, o->saml_token, o->interactive, out);
}

vg_status vgi_credentials_dup(const vg_credentials *c, vg_credentials **out) {
  *out = NULL;
  if (!c)
    return VG_EMISUSE;
  return make(c->user, c->password, c->saml_token, c->interactive, out);
}

const char *vg_credentials_user(const vg_credentials *c) {
  return c ? c->user : NULL;
}

const char *vg_credentials_type(const vg_credentials *c) {
  return c && c->saml_token ? "SAML_BEARER_TOKEN" : "USERNAME_PASSWORD";
}

int vg_credentials_interactive(const vg_credentials *c) {
  return c ? c->interactive : 0;
}
