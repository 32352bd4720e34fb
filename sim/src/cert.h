/* TLS material: a self-signed certificate generated at start (OpenSSL 3),
 * or PEM files given on the command line. */
#ifndef SIM_CERT_H
#define SIM_CERT_H

#include <stdbool.h>
#include <stddef.h>

/* Generates an EC P-256 key and a certificate for CN=cn with SAN
 * DNS:localhost, IP:127.0.0.1, IP:::1. Without an issuer (both NULL) it is
 * self-signed with CA:TRUE; with one (PEM certificate and key) it is a
 * CA:FALSE leaf signed by that issuer, as a vCenter's VMCA signs its
 * hosts' certificates. Both PEM strings returns-owned. */
bool cert_generate(const char *cn, const char *issuer_cert_pem,
                   const char *issuer_key_pem, char **cert_pem, char **key_pem,
                   char *err, size_t errlen);
/* Reads a whole file; returns-owned NUL-terminated text or NULL. */
char *cert_read_file(const char *path);

#endif
