#include "cert.h"
#include "util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *bio_string(BIO *bio) {
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *out = xmalloc((size_t)n + 1);
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  return out;
}

static bool add_ext(X509 *issuer, X509 *x, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ext)
    return false;
  int ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

static X509 *read_cert(const char *pem) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  return x;
}

static EVP_PKEY *read_key(const char *pem) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  return k;
}

bool cert_generate(const char *cn, const char *issuer_cert_pem,
                   const char *issuer_key_pem, char **cert_pem, char **key_pem,
                   char *err, size_t errlen) {
  bool ok = false, leaf = issuer_cert_pem != NULL;
  X509 *x = NULL, *issuer = NULL;
  EVP_PKEY *ikey = NULL;
  BIO *cb = NULL, *kb = NULL;
  unsigned char serial[16];
  EVP_PKEY *key = EVP_EC_gen("P-256");
  if (!key)
    goto out;
  if (leaf && (!(issuer = read_cert(issuer_cert_pem)) ||
               !(ikey = read_key(issuer_key_pem))))
    goto out;
  x = X509_new();
  if (!x || !X509_set_version(x, 2))
    goto out;
  if (RAND_bytes(serial, sizeof serial) != 1)
    goto out;
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
    BN_free(bn);
    goto out;
  }
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, leaf ? X509_get_subject_name(issuer) : name);
  X509 *signer = leaf ? issuer : x;
  if (!X509_set_pubkey(x, key) ||
      !add_ext(signer, x, NID_basic_constraints,
               leaf ? "critical,CA:FALSE" : "critical,CA:TRUE") ||
      !add_ext(signer, x, NID_key_usage,
               leaf ? "critical,digitalSignature"
                    : "critical,digitalSignature,keyCertSign") ||
      !add_ext(signer, x, NID_ext_key_usage, "serverAuth") ||
      !add_ext(signer, x, NID_subject_key_identifier, "hash") ||
      (leaf &&
       !add_ext(signer, x, NID_authority_key_identifier, "keyid,issuer")) ||
      !add_ext(signer, x, NID_subject_alt_name,
               "DNS:localhost,IP:127.0.0.1,IP:::1") ||
      !X509_sign(x, leaf ? ikey : key, EVP_sha256()))
    goto out;
  cb = BIO_new(BIO_s_mem());
  kb = BIO_new(BIO_s_mem());
  if (!cb || !kb || !PEM_write_bio_X509(cb, x) ||
      !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
    goto out;
  *cert_pem = bio_string(cb);
  *key_pem = bio_string(kb);
  ok = true;
out:
  if (!ok) {
    unsigned long e = ERR_get_error();
    snprintf(err, errlen, "certificate generation failed: %s",
             e ? ERR_error_string(e, NULL) : "unknown error");
  }
  BIO_free(cb);
  if (kb) {
    char *data = NULL;
    long n = BIO_get_mem_data(kb, &data);
    if (data && n > 0)
      OPENSSL_cleanse(data, (size_t)n);
  }
  BIO_free(kb);
  X509_free(x);
  X509_free(issuer);
  EVP_PKEY_free(ikey);
  EVP_PKEY_free(key);
  return ok;
}

char *cert_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = xmalloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 >= cap)
      buf = xrealloc(buf, cap *= 2);
  }
  fclose(f);
  buf[n] = '\0';
  return buf;
}
