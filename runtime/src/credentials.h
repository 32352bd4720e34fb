/* Guest credentials: a user plus a password or a SAML bearer token. */
#ifndef VGUEST_CREDENTIALS_H
#define VGUEST_CREDENTIALS_H

#include "vguest/vguest.h"

struct vg_credentials {
  char *user;
  vg_secret *password;
  vg_secret *saml_token;
  int interactive;
};

/* An owned copy (secrets copied too). */
vg_status vgi_credentials_dup(const vg_credentials *c, vg_credentials **out);

#endif
