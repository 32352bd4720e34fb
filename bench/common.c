/* Shared pieces of the bench's C clients; see common.h. */
#include "common.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_of(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_monotonic(void) {
  return clock_of(CLOCK_MONOTONIC);
}

double bench_realtime(void) {
  return clock_of(CLOCK_REALTIME);
}

double bench_cpu(void) {
  return clock_of(CLOCK_PROCESS_CPUTIME_ID);
}

size_t bench_buf_write(char *p, size_t size, size_t n, void *ud) {
  bench_buf *b = ud;
  size_t add = size * n;
  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + add + 1)
      cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
      return 0; /* libcurl fails the transfer (CURLE_WRITE_ERROR) */
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

void bench_buf_free(bench_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void bench_die(const char *what, const char *detail) {
  fprintf(stderr, "bench: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  exit(1);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (!d)
    bench_die("out of memory", NULL);
  memcpy(d, s, n);
  return d;
}

static char *dump(json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT);
  json_decref(v);
  if (!s)
    bench_die("out of memory", NULL);
  return s;
}

int bench_inventory_load(bench_inventory *inv, const char *file,
                         const char *path, const char *arguments) {
  memset(inv, 0, sizeof *inv);
  json_error_t err;
  json_t *root = json_load_file(file, 0, &err);
  if (!root) {
    fprintf(stderr, "bench: %s: %s\n", file, err.text);
    return -1;
  }
  const char *user = NULL, *password = NULL;
  json_t *vms = json_object_get(root, "vms");
  if (json_unpack(root, "{s:[{s:s,s:s}]}", "users", "user", &user, "password",
                  &password) != 0 ||
      !json_is_array(vms)) {
    fprintf(stderr, "bench: %s: no users or vms\n", file);
    json_decref(root);
    return -1;
  }
  inv->user = dup_str(user);
  inv->password = dup_str(password);
  inv->vms = calloc(json_array_size(vms) + 1, sizeof *inv->vms);
  if (!inv->vms)
    bench_die("out of memory", NULL);
  size_t i;
  json_t *vm;
  json_array_foreach(vms, i, vm) {
    const char *id = NULL, *power = "POWERED_ON", *gu = NULL, *gp = NULL;
    if (json_unpack(vm, "{s:s,s?s,s:[{s:s,s:s}]}", "id", &id, "power_state",
                    &power, "accounts", "user", &gu, "password", &gp) != 0 ||
        strcmp(power, "POWERED_ON") != 0)
      continue;
    json_t *cred =
        json_pack("{s:b,s:s,s:s,s:s}", "interactive_session", 0, "type",
                  "USERNAME_PASSWORD", "user_name", gu, "password", gp);
    json_t *spec = json_pack("{s:s}", "path", path);
    if (arguments && *arguments)
      json_object_set_new(spec, "arguments", json_string(arguments));
    bench_vm *b = &inv->vms[inv->nvms++];
    b->id = dup_str(id);
    b->guest_user = dup_str(gu);
    b->guest_password = dup_str(gp);
    b->cred_body = dump(json_pack("{s:O}", "credentials", cred));
    b->create_body =
        dump(json_pack("{s:o,s:o}", "credentials", cred, "spec", spec));
  }
  json_decref(root);
  return 0;
}

void bench_inventory_free(bench_inventory *inv) {
  for (size_t i = 0; i < inv->nvms; i++) {
    free(inv->vms[i].id);
    free(inv->vms[i].guest_user);
    free(inv->vms[i].guest_password);
    free(inv->vms[i].create_body);
    free(inv->vms[i].cred_body);
  }
  free(inv->vms);
  free(inv->user);
  free(inv->password);
  memset(inv, 0, sizeof *inv);
}

CURL *bench_easy(const char *ca_file, bench_buf *out) {
  CURL *h = curl_easy_init();
  if (!h)
    bench_die("curl_easy_init failed", NULL);
  curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_buf_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  return h;
}

char *bench_login(const char *url, const char *ca_file,
                  const bench_inventory *inv) {
  bench_buf out = {0};
  CURL *h = bench_easy(ca_file, &out);
  char full[1024];
  snprintf(full, sizeof full, "%s/api/session", url);
  curl_easy_setopt(h, CURLOPT_URL, full);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  curl_easy_setopt(h, CURLOPT_USERNAME, inv->user);
  curl_easy_setopt(h, CURLOPT_PASSWORD, inv->password);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  char *token = NULL;
  if (rc == CURLE_OK && status == 201 && out.data) {
    json_t *v = json_loads(out.data, JSON_DECODE_ANY, NULL);
    if (json_is_string(v))
      token = dup_str(json_string_value(v));
    json_decref(v);
  }
  if (!token)
    fprintf(stderr, "bench: login: %s, HTTP %ld\n", curl_easy_strerror(rc),
            status);
  bench_buf_free(&out);
  return token;
}

struct curl_slist *bench_headers(const char *token) {
  char h[512];
  snprintf(h, sizeof h, "vmware-api-session-id: %s", token);
  struct curl_slist *l = curl_slist_append(NULL, h);
  l = curl_slist_append(l, "Content-Type: application/json");
  l = curl_slist_append(l, "Accept: application/json");
  if (!l)
    bench_die("out of memory", NULL);
  return l;
}
