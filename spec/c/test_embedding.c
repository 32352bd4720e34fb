/* C tests of vguest inside a host program: the host drives the runtime from
   its own poll() loop (vg_runtime_fd, vg_runtime_timeout_ms, step(0)), and
   the host's own use of jansson and libcurl is left alone before, during
   and after a runtime's life. Run under ASan in CI. */
#include "sim_util.h"
#include "vguest/vguest.h"

#include "check.h"

#include <curl/curl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

static test_sim sim;

/* ---- the host's own loop ------------------------------------------------ */

typedef struct job {
  vg_session *s;
  vg_credentials *cred;
  vg_runtime *rt;
  int want_code;
  int64_t pid;
  vg_op *op;
  int done, exit_code, failed;
} job;

static void on_get(vg_op *op, void *ud);

static void on_timer(vg_op *op, void *ud) {
  job *j = ud;
  vg_op_free(op);
  j->op = NULL;
  if (vg_process_get(j->s, "vm-42", j->cred, j->pid, on_get, j, &j->op) !=
      VG_OK)
    j->failed = j->done = 1;
}

static void on_get(vg_op *op, void *ud) {
  job *j = ud;
  const vg_process_info *pi;
  if (vg_op_status(op) != VG_OK) {
    fprintf(stderr, "get: %s\n", vg_op_error(op)->message);
    j->failed = j->done = 1;
  } else if (vg_op_processes(op, &pi) == 1 && pi->has_exit_code) {
    j->exit_code = pi->exit_code;
    j->done = 1;
  }
  vg_op_free(op);
  j->op = NULL;
  if (!j->done && vg_timer_start(j->rt, 20, on_timer, j, &j->op) != VG_OK)
    j->failed = j->done = 1;
}

static void on_created(vg_op *op, void *ud) {
  job *j = ud;
  if (vg_op_status(op) != VG_OK) {
    fprintf(stderr, "create: %s\n", vg_op_error(op)->message);
    j->failed = j->done = 1;
    vg_op_free(op);
    j->op = NULL;
    return;
  }
  j->pid = vg_op_pid(op);
  on_get(op, ud);
}

static vg_session *open_session(vg_runtime *rt, vg_protocol p) {
  vg_secret *pw;
  vg_secret_new("VMware1!", 8, &pw);
  vg_session_options o = {0};
  o.server = sim.url;
  o.user = "administrator@vsphere.local";
  o.password = pw;
  o.ca_file = sim.ca_file;
  o.protocol = p;
  vg_session *s = NULL;
  vg_session_new(rt, &o, &s, NULL);
  vg_secret_free(pw);
  return s;
}

/* Runs four programs with different exit codes, driving the runtime only
   from poll() and step(0), beside a timerfd of the host's own. */
static void test_host_loop(vg_protocol p) {
  vg_runtime *rt;
  CHECK(vg_runtime_new(NULL, &rt) == VG_OK);
  vg_session *s = open_session(rt, p);
  vg_credentials *cred = test_guest_credentials("guest-secret");
  CHECK(s && cred);
  CHECK(vg_runtime_timeout_ms(rt) == -1); /* nothing to do yet */
  job jobs[4];
  static const char *const args[] = {"-c 'sleep 0.2; exit 0'",
                                     "-c 'sleep 0.1; exit 1'", "-c 'exit 255'",
                                     "-c 'sleep 0.3; exit 7'"};
  static const int codes[] = {0, 1, 255, 7};
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < 4; i++) {
    job *j = &jobs[i];
    j->s = s;
    j->cred = cred;
    j->rt = rt;
    j->want_code = codes[i];
    vg_program_spec ps = {"/bin/sh", args[i], NULL, NULL, 0};
    CHECK(vg_process_create(s, "vm-42", cred, &ps, on_created, j, &j->op) ==
          VG_OK);
  }
  CHECK(vg_runtime_pending(rt) == 5); /* and the login they wait for */

  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  struct itimerspec every = {{0, 10 * 1000000}, {0, 10 * 1000000}};
  timerfd_settime(tfd, 0, &every, NULL);
  long ticks = 0, steps = 0, polls = 0;
  int all_done = 0;
  for (int rounds = 0; !all_done && rounds < 100000; rounds++) {
    struct pollfd fds[2] = {{vg_runtime_fd(rt), POLLIN, 0}, {tfd, POLLIN, 0}};
    long t = vg_runtime_timeout_ms(rt);
    CHECK(t >= -1);
    polls++;
    if (poll(fds, 2, t < 0 || t > 1000 ? 1000 : (int)t) < 0)
      break;
    if (fds[1].revents & POLLIN) {
      uint64_t n;
      if (read(tfd, &n, sizeof n) == (ssize_t)sizeof n)
        ticks += (long)n;
    }
    if ((fds[0].revents & POLLIN) || t == 0) {
      CHECK(vg_runtime_step(rt, 0) == VG_OK);
      steps++;
    } else if (t > 0 && t <= 1000) {
      vg_runtime_step(rt, 0); /* a timer came due */
      steps++;
    }
    all_done = 1;
    for (int i = 0; i < 4; i++)
      all_done &= jobs[i].done;
  }
  close(tfd);
  CHECK(all_done);
  for (int i = 0; i < 4; i++)
    CHECK(!jobs[i].failed && jobs[i].exit_code == jobs[i].want_code);
  CHECK(ticks > 0 && steps > 0 && polls >= steps);
  CHECK(vg_runtime_pending(rt) == 0);

  /* Freeing the session logs out in the background: the host loop drives
     that too, until the runtime says it is idle. */
  vg_session_free(s);
  CHECK(vg_runtime_pending(rt) == 1);
  for (int rounds = 0; vg_runtime_pending(rt) && rounds < 1000; rounds++) {
    struct pollfd fd = {vg_runtime_fd(rt), POLLIN, 0};
    long t = vg_runtime_timeout_ms(rt);
    poll(&fd, 1, t < 0 || t > 1000 ? 1000 : (int)t);
    vg_runtime_step(rt, 0);
  }
  CHECK(vg_runtime_pending(rt) == 0);
  vg_credentials_free(cred);
  vg_runtime_free(rt);
}

/* ---- the host's own libraries ------------------------------------------ */

static void *host_malloc(size_t n) {
  return malloc(n);
}
static void host_free(void *p) {
  free(p);
}

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

/* A host that uses jansson (with an allocator of its own) and libcurl
   itself: objects made before the runtime are used and freed after it,
   the allocator is the host's throughout, and curl still works once the
   runtime is gone. */
static void test_host_libraries(void) {
  json_set_alloc_funcs(host_malloc, host_free);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  json_t *before = json_pack("{s:s,s:[i,i]}", "host", "data", "n", 1, 2);

  vg_runtime *rt;
  CHECK(vg_runtime_new(NULL, &rt) == VG_OK);
  json_malloc_t m;
  json_free_t f;
  json_get_alloc_funcs(&m, &f);
  CHECK(m == host_malloc && f == host_free);
  vg_session *s = open_session(rt, VG_PROTOCOL_AUTO);
  vg_credentials *cred = test_guest_credentials("guest-secret");
  vg_program_spec ps = {"/bin/true", NULL, NULL, NULL, 0};
  vg_op *op = NULL;
  CHECK(vg_process_create(s, "vm-42", cred, &ps, NULL, NULL, &op) == VG_OK);
  CHECK(vg_op_wait(op) == VG_OK && vg_op_pid(op) > 0);
  vg_op_free(op);
  json_t *during = json_pack("{s:o}", "before", json_incref(before));
  vg_session_free(s);
  vg_credentials_free(cred);
  vg_runtime_free(rt);

  json_get_alloc_funcs(&m, &f);
  CHECK(m == host_malloc && f == host_free);
  char *text = json_dumps(during, JSON_COMPACT);
  CHECK(text &&
        strcmp(text, "{\"before\":{\"host\":\"data\",\"n\":[1,2]}}") == 0);
  free(text);
  json_decref(during);
  json_decref(before);

  /* libcurl is still the host's, initialized: a transfer of its own. */
  CURL *e = curl_easy_init();
  CHECK(e != NULL);
  char url[300];
  snprintf(url, sizeof url, "%s/api", sim.url);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CAINFO, sim.ca_file);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  CHECK(curl_easy_perform(e) == CURLE_OK);
  curl_easy_cleanup(e);
  curl_global_cleanup();
}

int main(void) {
  if (test_sim_start(&sim, NULL) != 0) {
    fprintf(stderr, "cannot start vguest-sim (set VGUEST_SIM)\n");
    return 1;
  }
  test_host_loop(VG_PROTOCOL_API);
  test_host_loop(VG_PROTOCOL_REST);
  test_host_loop(VG_PROTOCOL_VIM25);
  test_host_libraries();
  test_sim_stop(&sim);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
