/*
 * Pieces shared by the bench's C clients (floor.c, percall.c): clocks,
 * a growing buffer, the simulator's inventory, and the /api requests
 * written out by hand (NOTES §1.3, §1.5), so the baselines depend on
 * libcurl and jansson only, never on the runtime they are measured against.
 */
#ifndef VG_BENCH_COMMON_H
#define VG_BENCH_COMMON_H

#include <curl/curl.h>

#include <stddef.h>

double bench_monotonic(void); /* seconds, CLOCK_MONOTONIC */
double bench_realtime(void);  /* seconds since the epoch */
double bench_cpu(void);       /* CPU seconds of the process */

typedef struct bench_buf {
  char *data;
  size_t len, cap;
} bench_buf;

/* CURLOPT_WRITEFUNCTION appending to the bench_buf given as WRITEDATA. */
size_t bench_buf_write(char *p, size_t size, size_t n, void *ud);
void bench_buf_free(bench_buf *b);

typedef struct bench_vm {
  char *id;
  char *guest_user, *guest_password; /* its first account: owned */
  char *create_body;                 /* {"credentials":…,"spec":…}: owned */
  char *cred_body;                   /* {"credentials":…}: owned */
} bench_vm;

typedef struct bench_inventory {
  char *user, *password; /* the first vCenter account */
  bench_vm *vms;         /* the powered-on VMs with an account */
  size_t nvms;
} bench_inventory;

/* Reads the inventory file and builds each VM's request bodies for
   program path (arguments: NULL or ""). 0 on success, else -1 with a
   message on stderr. */
int bench_inventory_load(bench_inventory *inv, const char *file,
                         const char *path, const char *arguments);
void bench_inventory_free(bench_inventory *inv);

/* One easy handle with the options every request shares: ca_file, POST,
   write into *out. */
CURL *bench_easy(const char *ca_file, bench_buf *out);

/* POST /api/session with Basic auth: the token (owned) or NULL. */
char *bench_login(const char *url, const char *ca_file,
                  const bench_inventory *inv);

/* Headers for every call after login (vmware-api-session-id, JSON).
   Owned: curl_slist_free_all. */
struct curl_slist *bench_headers(const char *token);

/* Prints the message and exits 1. */
void bench_die(const char *what, const char *detail);

#endif
