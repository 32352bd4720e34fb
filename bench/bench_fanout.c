/*
 * Fan-out benchmark: one short program in each of 6 VMs, waited on until it
 * exits, through the C runtime against vguest-sim.
 *
 * baseline: one VM at a time (create, then poll until done, then the next),
 *           the way a govc or pyVmomi loop does it
 * vguest:   every create in flight at once, every VM polled in the same
 *           round, one list request per VM per round where the flavour allows
 *
 * Prints wall times, requests sent (from the simulator's counters) and the
 * ratios baseline/vguest. Never asserts a timing.
 *   VGUEST_SIM=build/sim/vguest-sim build/bench/bench_fanout [api|rest|vim25]
 */
#include "../spec/c/sim_util.h"
#include "vguest/vguest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NVM 6
static const char *const vms[NVM] = {"vm-42", "vm-43", "vm-44",
                                     "vm-45", "vm-50", "vm-51"};
#define PER_VM 4
static vg_runtime *rt;
static vg_session *s;
static vg_credentials *cred;
static test_sim sim;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long requests(void) {
  char cmd[1024], buf[256] = "";
  snprintf(cmd, sizeof cmd,
           "curl -s --cacert '%s' '%s/sim/stats' | sed -n "
           "'s/.*\"requests\":\\([0-9]*\\).*/\\1/p'",
           sim.ca_file, sim.url);
  FILE *f = popen(cmd, "r");
  if (f && fgets(buf, sizeof buf, f)) {
  }
  if (f)
    pclose(f);
  return atol(buf);
}

static void sleep_ms(long ms) {
  vg_op *t;
  vg_timer_start(rt, ms, NULL, NULL, &t);
  vg_op_wait(t);
  vg_op_free(t);
}

static const vg_program_spec prog = {"/bin/sleep", "0.2", NULL, NULL, 0};

/* Polls the pids of one VM until all have exit codes. */
static int done_all(const vg_process_info *pi, size_t n, size_t want) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += pi[i].has_exit_code;
  return k == want;
}

static void baseline(void) {
  for (int v = 0; v < NVM; v++)
    for (int j = 0; j < PER_VM; j++) {
      vg_op *op;
      vg_process_create(s, vms[v], cred, &prog, NULL, NULL, &op);
      vg_op_wait(op);
      int64_t pid = vg_op_pid(op);
      vg_op_free(op);
      for (long d = 50;; d = d * 2 > 1000 ? 1000 : d * 2) {
        const vg_process_info *pi;
        vg_process_get(s, vms[v], cred, pid, NULL, NULL, &op);
        vg_op_wait(op);
        int fin = vg_op_processes(op, &pi) == 1 && pi->has_exit_code;
        vg_op_free(op);
        if (fin)
          break;
        sleep_ms(d);
      }
    }
}

static void concurrent(void) {
  vg_op *ops[NVM * PER_VM];
  int64_t pids[NVM][PER_VM];
  for (int i = 0; i < NVM * PER_VM; i++)
    vg_process_create(s, vms[i / PER_VM], cred, &prog, NULL, NULL, &ops[i]);
  for (int i = 0; i < NVM * PER_VM; i++) {
    vg_op_wait(ops[i]);
    pids[i / PER_VM][i % PER_VM] = vg_op_pid(ops[i]);
    vg_op_free(ops[i]);
  }
  int batched = vg_session_list_has_exit_codes(s);
  int left = NVM;
  int done[NVM] = {0};
  for (long d = 50; left; d = d * 2 > 1000 ? 1000 : d * 2) {
    vg_op *polls[NVM * PER_VM] = {0};
    for (int v = 0; v < NVM; v++) {
      if (done[v])
        continue;
      if (batched)
        vg_process_list(s, vms[v], cred, pids[v], PER_VM, NULL, NULL,
                        &polls[v * PER_VM]);
      else
        for (int j = 0; j < PER_VM; j++)
          vg_process_get(s, vms[v], cred, pids[v][j], NULL, NULL,
                         &polls[v * PER_VM + j]);
    }
    for (int v = 0; v < NVM; v++) {
      if (done[v])
        continue;
      const vg_process_info *pi;
      size_t fin = 0;
      for (int j = 0; j < PER_VM; j++) {
        vg_op *op = polls[v * PER_VM + j];
        if (!op)
          continue;
        vg_op_wait(op);
        size_t n = vg_op_processes(op, &pi);
        fin += batched ? (done_all(pi, n, PER_VM) ? PER_VM : 0)
                       : (n == 1 && pi->has_exit_code);
        vg_op_free(op);
      }
      if (fin == PER_VM) {
        done[v] = 1;
        left--;
      }
    }
    if (left)
      sleep_ms(d);
  }
}

int main(int argc, char **argv) {
  const char *flavour = argc > 1 ? argv[1] : "vim25";
  vg_protocol p = strcmp(flavour, "api") == 0    ? VG_PROTOCOL_API
                  : strcmp(flavour, "rest") == 0 ? VG_PROTOCOL_REST
                                                 : VG_PROTOCOL_VIM25;
  if (vg_runtime_new(NULL, &rt) != VG_OK || test_sim_start(&sim, NULL) != 0) {
    fprintf(stderr, "bench: cannot start (set VGUEST_SIM)\n");
    return 1;
  }
  vg_secret *pw, *gpw;
  vg_secret_new("VMware1!", 8, &pw);
  vg_secret_new("guest-secret", 12, &gpw);
  vg_session_options o = {0};
  o.server = sim.url;
  o.user = "administrator@vsphere.local";
  o.password = pw;
  o.protocol = p;
  o.ca_file = sim.ca_file;
  vg_session_new(rt, &o, &s, NULL);
  vg_credentials_options co = {"root", gpw, NULL, 0};
  vg_credentials_new(&co, &cred, NULL);
  vg_op *op;
  vg_session_login(s, NULL, NULL, &op);
  vg_op_wait(op);
  vg_op_free(op);

  long r0 = requests();
  double t0 = now();
  baseline();
  double tb = now() - t0;
  long r1 = requests();
  t0 = now();
  concurrent();
  double tc = now() - t0;
  long r2 = requests();
  /* the stats calls themselves count one request each */
  long rb = r1 - r0 - 1, rc = r2 - r1 - 1;
  printf("fanout %s: %d VMs x %d programs (sleep 0.2)\n", flavour, NVM, PER_VM);
  printf("  baseline (one at a time): %7.3f s, %4ld requests\n", tb, rb);
  printf("  vguest (concurrent):      %7.3f s, %4ld requests\n", tc, rc);
  printf("  ratio baseline/vguest: time %.1fx, requests %.1fx\n", tb / tc,
         (double)rb / (double)rc);
  vg_session_logout(s, NULL, NULL, &op);
  vg_op_wait(op);
  vg_op_free(op);
  vg_session_free(s);
  vg_credentials_free(cred);
  vg_secret_free(pw);
  vg_secret_free(gpw);
  vg_runtime_free(rt);
  test_sim_stop(&sim);
  return 0;
}
