/* TLS failures, each named for what it is: a simulator serves a
   certificate made here (expired, not valid yet, for another host name,
   signed by another CA, not the pinned one) and the login must fail with
   kind tls and a message that says which, with the certificate's SHA-256
   thumbprint; a good certificate logs in (so the checks can fail). */
#include "sim_util.h"
#include "vguest/vguest.h"

#include "check.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static vg_runtime *rt;
static char dir[] = "/tmp/vguest-tls-XXXXXX";

typedef struct cert {
  EVP_PKEY *key;
  X509 *x;
  char cert_file[600], key_file[600];
  char sha256[3 * 32 + 1]; /* "aa:bb:..." */
} cert;

static int ext(X509 *issuer, X509 *x, int nid, const char *value) {
  X509V3_CTX c;
  X509V3_set_ctx_nodb(&c);
  X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, value);
  int ok = e && X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok;
}

/* A certificate named name (files in dir), valid from `from` to `to` days
   from now, for the names in san; signed by ca, or self-signed CA:TRUE
   when ca is NULL. */
static void make(cert *c, const char *name, const cert *ca, long from, long to,
                 const char *san) {
  memset(c, 0, sizeof *c);
  c->key = EVP_EC_gen("P-256");
  c->x = X509_new();
  X509_set_version(c->x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c->x), (long)(random() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(c->x), from * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c->x), to * 86400);
  X509_NAME *n = X509_get_subject_name(c->x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name,
                             -1, -1, 0);
  X509 *issuer = ca ? ca->x : c->x;
  X509_set_issuer_name(c->x, X509_get_subject_name(issuer));
  X509_set_pubkey(c->x, c->key);
  ext(issuer, c->x, NID_basic_constraints,
      ca ? "critical,CA:FALSE" : "critical,CA:TRUE");
  ext(issuer, c->x, NID_subject_key_identifier, "hash");
  if (ca)
    ext(issuer, c->x, NID_authority_key_identifier, "keyid");
  if (san)
    ext(issuer, c->x, NID_subject_alt_name, san);
  CHECK(X509_sign(c->x, ca ? ca->key : c->key, EVP_sha256()) > 0);
  snprintf(c->cert_file, sizeof c->cert_file, "%s/%s.pem", dir, name);
  snprintf(c->key_file, sizeof c->key_file, "%s/%s.key", dir, name);
  FILE *f = fopen(c->cert_file, "w");
  CHECK(f && PEM_write_X509(f, c->x));
  if (f)
    fclose(f);
  f = fopen(c->key_file, "w");
  CHECK(f && PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL));
  if (f)
    fclose(f);
  unsigned char md[32];
  unsigned int len = 0;
  X509_digest(c->x, EVP_sha256(), md, &len);
  for (unsigned int i = 0; i < len; i++)
    snprintf(c->sha256 + (i ? 3 * i - 1 : 0), 4, "%s%02x", i ? ":" : "", md[i]);
}

static void drop(cert *c) {
  unlink(c->cert_file);
  unlink(c->key_file);
  X509_free(c->x);
  EVP_PKEY_free(c->key);
}

/* Logs in to a simulator serving served; returns the status and copies the
   error message into msg. */
static vg_status login(const cert *served, const char *ca_file,
                       const char *thumbprint, char *msg, size_t msglen) {
  const char *extra[] = {"--cert", served->cert_file, "--key", served->key_file,
                         NULL};
  test_sim sim;
  msg[0] = '\0';
  if (test_sim_start(&sim, extra) != 0) {
    CHECK(!"the simulator started");
    return VG_EMISUSE;
  }
  vg_secret *pw;
  vg_secret_new("VMware1!", 8, &pw);
  vg_session_options o = {0};
  o.server = sim.url;
  o.user = "administrator@vsphere.local";
  o.password = pw;
  o.protocol = VG_PROTOCOL_API;
  o.ca_file = ca_file;
  o.thumbprint = thumbprint;
  vg_session *s = NULL;
  vg_op *op = NULL;
  vg_status st = vg_session_new(rt, &o, &s, NULL);
  if (st == VG_OK)
    st = vg_session_login(s, NULL, NULL, &op);
  if (st == VG_OK) {
    st = vg_op_wait(op);
    const vg_error *e = vg_op_error(op);
    if (st != VG_OK && e && e->message)
      snprintf(msg, msglen, "%s", e->message);
  }
  vg_op_free(op);
  vg_session_free(s);
  vg_secret_free(pw);
  test_sim_stop(&sim);
  return st;
}

static int has(const char *msg, const char *want) {
  if (strstr(msg, want))
    return 1;
  fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg, want);
  return 0;
}

int main(void) {
  char msg[2048];
  CHECK(mkdtemp(dir) != NULL);
  CHECK(vg_runtime_new(NULL, &rt) == VG_OK);
  cert ca, other_ca, good, expired, early, elsewhere;
  make(&ca, "ca", NULL, -1, 30, NULL);
  make(&other_ca, "other-ca", NULL, -1, 30, NULL);
  make(&good, "good", &ca, -1, 30, "IP:127.0.0.1");
  make(&expired, "expired", &ca, -10, -1, "IP:127.0.0.1");
  make(&early, "early", &ca, 1, 30, "IP:127.0.0.1");
  make(&elsewhere, "elsewhere", &ca, -1, 30, "DNS:vc.elsewhere.example");

  /* the good certificate, checked with its CA: logs in */
  CHECK(login(&good, ca.cert_file, NULL, msg, sizeof msg) == VG_OK);
  /* pinned: logs in */
  CHECK(login(&good, NULL, good.sha256, msg, sizeof msg) == VG_OK);

  CHECK(login(&expired, ca.cert_file, NULL, msg, sizeof msg) == VG_ETLS);
  CHECK(has(msg, "its certificate has expired"));
  CHECK(has(msg, expired.sha256));

  CHECK(login(&early, ca.cert_file, NULL, msg, sizeof msg) == VG_ETLS);
  CHECK(has(msg, "its certificate is not valid yet"));
  CHECK(has(msg, "clock"));

  CHECK(login(&elsewhere, ca.cert_file, NULL, msg, sizeof msg) == VG_ETLS);
  CHECK(has(msg, "its certificate is for another host name"));
  CHECK(!strstr(msg, "set ca_file"));
  CHECK(has(msg, elsewhere.sha256));

  CHECK(login(&good, other_ca.cert_file, NULL, msg, sizeof msg) == VG_ETLS);
  CHECK(has(msg, "not signed by a CA this client trusts"));
  CHECK(has(msg, "set ca_file"));
  CHECK(has(msg, good.sha256));

  /* the system's CAs do not know ours either */
  CHECK(login(&good, NULL, NULL, msg, sizeof msg) == VG_ETLS);
  CHECK(has(msg, "not signed by a CA this client trusts"));

  CHECK(login(&good, NULL, other_ca.sha256, msg, sizeof msg) == VG_ETLS);
  CHECK(has(msg, "not the one the thumbprint pins"));
  CHECK(has(msg, good.sha256));
  CHECK(has(msg, "check thumbprint"));

  /* a pin trusts the leaf as such: expired and elsewhere are fine */
  CHECK(login(&expired, NULL, expired.sha256, msg, sizeof msg) == VG_OK);
  CHECK(login(&elsewhere, NULL, elsewhere.sha256, msg, sizeof msg) == VG_OK);

  drop(&ca);
  drop(&other_ca);
  drop(&good);
  drop(&expired);
  drop(&early);
  drop(&elsewhere);
  rmdir(dir);
  vg_runtime_free(rt);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
