/* Small helpers shared by every module: allocation that aborts on OOM,
 * clock and date formatting, random tokens, strict integer parsing. */
#ifndef SIM_UTIL_H
#define SIM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* returns-owned: formatted string (asprintf), aborts on OOM */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t util_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t util_mono_ms(void);
/* Writes `YYYY-MM-DDThh:mm:ss.sssZ` (UTC) into out. */
void util_format_time(int64_t ms, char out[32]);
/* Writes nhex random lowercase hex digits plus a NUL into out. */
void util_random_hex(char *out, size_t nhex);
/* Parses a whole decimal int64 (no sign for unsigned use, no spaces). */
bool util_parse_int64(const char *s, int64_t *out);
/* Constant-time string equality (for passwords). */
bool util_secret_eq(const char *a, const char *b);
/* Parses an RFC 3339 date-time (`YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`)
 * into milliseconds since the epoch. */
bool util_parse_time(const char *s, int64_t *ms);
/* Fills *ss with the IPv4 or IPv6 address addr and port; *v6 tells which.
 * False when addr is not a numeric address. */
struct sockaddr_storage;
bool util_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss,
                   bool *v6);

#endif
