/*
 * percall: the cost of one call, CALLS sequential `get`s of one finished
 * process on /api (POST …/processes/{pid}?action=get), one at a time.
 *
 *   percall capi|raw --url URL --ca FILE --inventory FILE [--calls 5000]
 *
 * capi: the runtime's C API, vg_process_get then vg_op_wait, each op freed.
 * raw:  the floor: one libcurl easy handle set up once and performed CALLS
 *       times over its kept-alive connection; the answer is checked for
 *       HTTP 200 and a body, nothing is parsed.
 *
 * Both first create /bin/true in the first VM of the inventory and wait
 * for it, untimed. Prints one JSON line: wall and CPU seconds of the loop,
 * calls, failures, and (raw) connections opened during the loop.
 */
#include "common.h"
#include "vguest/vguest.h"

#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void result(double wall, double cpu, long calls, long failed,
                   long connects) {
  printf("{\"wall\":%.6f,\"cpu\":%.6f,\"n\":%ld,\"failed\":%ld,"
         "\"connects\":%ld}\n",
         wall, cpu, calls, failed, connects);
}

static void check(vg_status st, const vg_op *op, const char *what) {
  if (st == VG_OK)
    return;
  const vg_error *e = vg_op_error(op);
  bench_die(what, e && e->message ? e->message : vg_status_text(st));
}

static void sleep_ms(vg_runtime *rt, long ms) {
  vg_op *t;
  vg_timer_start(rt, ms, NULL, NULL, &t);
  vg_op_wait(t);
  vg_op_free(t);
}

static void capi(const char *url, const char *ca, const bench_inventory *inv,
                 long calls) {
  const char *guest_user = inv->vms[0].guest_user;
  const char *guest_password = inv->vms[0].guest_password;
  vg_runtime *rt;
  vg_session *s;
  vg_secret *pw, *gpw;
  vg_credentials *cred;
  vg_op *op;
  if (vg_runtime_new(NULL, &rt) != VG_OK)
    bench_die("vg_runtime_new failed", NULL);
  vg_secret_new(inv->password, strlen(inv->password), &pw);
  vg_secret_new(guest_password, strlen(guest_password), &gpw);
  vg_session_options o = {0};
  o.server = url;
  o.user = inv->user;
  o.password = pw;
  o.protocol = VG_PROTOCOL_API;
  o.ca_file = ca;
  const char *why = NULL;
  if (vg_session_new(rt, &o, &s, &why) != VG_OK)
    bench_die("vg_session_new", why);
  vg_credentials_options co = {guest_user, gpw, NULL, 0};
  if (vg_credentials_new(&co, &cred, &why) != VG_OK)
    bench_die("vg_credentials_new", why);
  vg_session_login(s, NULL, NULL, &op);
  check(vg_op_wait(op), op, "login");
  vg_op_free(op);

  const char *vm = inv->vms[0].id;
  vg_program_spec prog = {"/bin/true", NULL, NULL, NULL, 0};
  vg_process_create(s, vm, cred, &prog, NULL, NULL, &op);
  check(vg_op_wait(op), op, "create");
  int64_t pid = vg_op_pid(op);
  vg_op_free(op);
  for (int done = 0; !done;) {
    const vg_process_info *pi;
    vg_process_get(s, vm, cred, pid, NULL, NULL, &op);
    check(vg_op_wait(op), op, "get");
    done = vg_op_processes(op, &pi) == 1 && pi->has_exit_code;
    vg_op_free(op);
    if (!done)
      sleep_ms(rt, 50);
  }

  long failed = 0;
  double t0 = bench_monotonic(), c0 = bench_cpu();
  for (long i = 0; i < calls; i++) {
    const vg_process_info *pi;
    vg_process_get(s, vm, cred, pid, NULL, NULL, &op);
    if (vg_op_wait(op) != VG_OK || vg_op_processes(op, &pi) != 1 ||
        !pi->has_exit_code)
      failed++;
    vg_op_free(op);
  }
  double wall = bench_monotonic() - t0, cpu = bench_cpu() - c0;
  result(wall, cpu, calls, failed, -1);

  vg_session_logout(s, NULL, NULL, &op);
  vg_op_wait(op);
  vg_op_free(op);
  vg_session_free(s);
  vg_credentials_free(cred);
  vg_secret_free(pw);
  vg_secret_free(gpw);
  vg_runtime_free(rt);
}

static long perform(CURL *h, bench_buf *out) {
  long status = 0;
  out->len = 0;
  if (curl_easy_perform(h) != CURLE_OK)
    return 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

static void raw(const char *url, const char *ca, const bench_inventory *inv,
                long calls) {
  char *token = bench_login(url, ca, inv);
  if (!token)
    exit(1);
  struct curl_slist *hdrs = bench_headers(token);
  const bench_vm *vm = &inv->vms[0];
  bench_buf out = {0};
  CURL *h = bench_easy(ca, &out);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  char u[512];
  snprintf(u, sizeof u, "%s/api/vcenter/vm/%s/guest/processes?action=create",
           url, vm->id);
  curl_easy_setopt(h, CURLOPT_URL, u);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, vm->create_body);
  json_t *v = NULL;
  if (perform(h, &out) == 201) /* json_is_integer reads its argument twice */
    v = json_loadb(out.data, out.len, JSON_DECODE_ANY, NULL);
  if (!json_is_integer(v))
    bench_die("create failed", out.data);
  long long pid = (long long)json_integer_value(v);
  json_decref(v);
  snprintf(u, sizeof u, "%s/api/vcenter/vm/%s/guest/processes/%lld?action=get",
           url, vm->id, pid);
  curl_easy_setopt(h, CURLOPT_URL, u);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, vm->cred_body);
  for (;;) {
    if (perform(h, &out) != 200)
      bench_die("get failed", out.data);
    v = json_loadb(out.data, out.len, 0, NULL);
    int done = json_object_get(v, "exit_code") != NULL;
    json_decref(v);
    if (done)
      break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }

  long failed = 0, connects = 0;
  double t0 = bench_monotonic(), c0 = bench_cpu();
  for (long i = 0; i < calls; i++) {
    long nc = 0;
    if (perform(h, &out) != 200 || out.len == 0)
      failed++;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc);
    connects += nc;
  }
  double wall = bench_monotonic() - t0, cpu = bench_cpu() - c0;
  result(wall, cpu, calls, failed, connects);

  curl_easy_cleanup(h);
  bench_buf_free(&out);
  curl_slist_free_all(hdrs);
  free(token);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const char *url = NULL, *ca = NULL, *inv_file = NULL;
  long calls = 5000;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--url") == 0)
      url = argv[i + 1];
    else if (strcmp(argv[i], "--ca") == 0)
      ca = argv[i + 1];
    else if (strcmp(argv[i], "--inventory") == 0)
      inv_file = argv[i + 1];
    else if (strcmp(argv[i], "--calls") == 0)
      calls = strtol(argv[i + 1], NULL, 10);
    else
      bench_die("unknown argument", argv[i]);
  }
  int is_capi = strcmp(mode, "capi") == 0;
  if ((!is_capi && strcmp(mode, "raw") != 0) || !url || !ca || !inv_file ||
      calls < 1)
    bench_die("usage: percall capi|raw --url URL --ca FILE --inventory FILE "
              "[--calls N]",
              NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  bench_inventory inv;
  if (bench_inventory_load(&inv, inv_file, "/bin/true", NULL) != 0 ||
      inv.nvms == 0)
    bench_die("no powered-on VM in", inv_file);
  if (is_capi)
    capi(url, ca, &inv, calls);
  else
    raw(url, ca, &inv, calls);
  bench_inventory_free(&inv);
  curl_global_cleanup();
  return 0;
}
