/* TLS material: a self-signed certificate generated at start (OpenSSL 3),
 * or PEM files given on the command line. */
#ifndef SIM_CERT_H
#define SIM_CERT_H

#include <stdbool.h>
#include <stddef.h>

/* Generates an EC P-256 key and a self-signed CA:TRUE certificate for
 * CN=vguest-sim, SAN DNS:localhost, IP:127.0.0.1, IP:::1. Both PEM strings
 * returns-owned. */
bool cert_generate(char **cert_pem, char **key_pem, char *err, size_t errlen);
/* Reads a whole file; returns-owned NUL-terminated text or NULL. */
char *cert_read_file(const char *path);

#endif
