/*
 * Embedding vguest in a program that has its own event loop. The host owns
 * the loop (plain poll() here; the same goes for libuv, GLib or a select()
 * loop): it watches vg_runtime_fd() beside its own descriptors, sleeps at
 * most vg_runtime_timeout_ms(), and calls vg_runtime_step(rt, 0) when
 * either says vguest has work. vguest never blocks and never calls back
 * except from inside that step.
 *
 * What it does: starts one program in every powered-on VM at once, follows
 * each with callbacks (create, then get with back-off on the runtime's own
 * timers), prints every exit code as it arrives, and stops cleanly on
 * Ctrl-C or SIGTERM, which the host reads from its own signalfd.
 *
 *   VGUEST_SERVER=https://vc:443 VGUEST_USER=… VGUEST_PASSWORD=… \
 *   VGUEST_GUEST_USER=root VGUEST_GUEST_PASSWORD=… [VGUEST_CA_FILE=…] \
 *   build/examples/poll_loop PATH [ARGUMENTS]
 */
#include <vguest/vguest.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* One VM's program: create -> get (-> timer -> get)* -> done. */
typedef struct job {
  struct host *host;
  char *vm, *name;
  int64_t pid;
  long delay_ms;
  vg_op *op; /* the op in flight, or NULL once done */
} job;

typedef struct host {
  vg_runtime *rt;
  vg_session *s;
  vg_credentials *cred;
  vg_program_spec spec;
  vg_op *list; /* the VM list in flight */
  job *jobs;
  size_t njobs, running;
  int failures;
} host;

static void on_get(vg_op *op, void *ud);

static void finish(job *j, const char *what, const vg_op *op) {
  if (op && vg_op_status(op) != VG_OK) {
    const vg_error *e = vg_op_error(op);
    fprintf(stderr, "%s: %s failed: %s: %s\n", j->name, what,
            vg_status_kind(e->status), e->message);
    j->host->failures++;
  }
  vg_op_free(j->op);
  j->op = NULL;
  j->host->running--;
}

static void on_timer(vg_op *op, void *ud) {
  job *j = ud;
  vg_op_free(op);
  j->op = NULL;
  if (vg_process_get(j->host->s, j->vm, j->host->cred, j->pid, on_get, j,
                     &j->op) != VG_OK)
    finish(j, "get", NULL);
}

static void on_get(vg_op *op, void *ud) {
  job *j = ud;
  const vg_process_info *pi;
  if (vg_op_status(op) != VG_OK) {
    finish(j, "get", op);
    return;
  }
  if (vg_op_processes(op, &pi) == 1 && pi->has_exit_code) {
    printf("%s: pid %lld exited with %d\n", j->name, (long long)j->pid,
           pi->exit_code);
    fflush(stdout);
    finish(j, "get", op);
    return;
  }
  vg_op_free(op);
  j->op = NULL;
  j->delay_ms =
      j->delay_ms ? (j->delay_ms * 2 > 1000 ? 1000 : j->delay_ms * 2) : 50;
  if (vg_timer_start(j->host->rt, j->delay_ms, on_timer, j, &j->op) != VG_OK)
    finish(j, "timer", NULL);
}

static void on_created(vg_op *op, void *ud) {
  job *j = ud;
  if (vg_op_status(op) != VG_OK) {
    finish(j, "create", op);
    return;
  }
  j->pid = vg_op_pid(op);
  on_get(op, ud); /* not finished yet: schedules the first get */
}

static void on_vms(vg_op *op, void *ud) {
  host *h = ud;
  const vg_vm_info *vms;
  h->running--;
  h->list = NULL;
  if (vg_op_status(op) != VG_OK) {
    fprintf(stderr, "listing VMs failed: %s\n", vg_op_error(op)->message);
    h->failures++;
    vg_op_free(op);
    return;
  }
  h->njobs = vg_op_vms(op, &vms);
  h->jobs = calloc(h->njobs ? h->njobs : 1, sizeof *h->jobs);
  for (size_t i = 0; h->jobs && i < h->njobs; i++) {
    job *j = &h->jobs[i];
    j->host = h;
    j->vm = strdup(vms[i].id);
    j->name = strdup(vms[i].name);
    h->running++;
    if (vg_process_create(h->s, j->vm, h->cred, &h->spec, on_created, j,
                          &j->op) != VG_OK)
      finish(j, "create", NULL);
  }
  vg_op_free(op);
}

/* The host's loop: its own signalfd beside vguest's descriptor. */
static int run(host *h, int sigfd) {
  while (h->running > 0) {
    struct pollfd fds[2] = {{vg_runtime_fd(h->rt), POLLIN, 0},
                            {sigfd, POLLIN, 0}};
    long t = vg_runtime_timeout_ms(h->rt);
    if (poll(fds, 2, t < 0 ? -1 : (int)(t > 60000 ? 60000 : t)) < 0 &&
        errno != EINTR)
      return -1;
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        fprintf(stderr, "signal %u: stopping\n", si.ssi_signo);
        return -1;
      }
    }
    vg_runtime_step(h->rt, 0); /* never blocks: the host does the waiting */
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: poll_loop PATH [ARGUMENTS]\n");
    return 2;
  }
  host h;
  memset(&h, 0, sizeof h);
  vg_secret *pw = NULL, *gpw = NULL;
  const char *why = NULL;
  int rc = 1;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC);

  if (sigfd < 0 || vg_runtime_new(NULL, &h.rt) != VG_OK ||
      vg_secret_from_env("VGUEST_PASSWORD", &pw) != VG_OK ||
      vg_secret_from_env("VGUEST_GUEST_PASSWORD", &gpw) != VG_OK) {
    fprintf(stderr, "poll_loop: set VGUEST_PASSWORD and "
                    "VGUEST_GUEST_PASSWORD\n");
    goto out;
  }
  vg_session_options so = {0};
  so.server = getenv("VGUEST_SERVER");
  so.user = getenv("VGUEST_USER");
  so.password = pw;
  so.ca_file = getenv("VGUEST_CA_FILE");
  vg_credentials_options co = {getenv("VGUEST_GUEST_USER"), gpw, NULL, 0};
  if (vg_session_new(h.rt, &so, &h.s, &why) != VG_OK ||
      vg_credentials_new(&co, &h.cred, &why) != VG_OK) {
    fprintf(stderr, "poll_loop: %s\n", why ? why : "out of memory");
    goto out;
  }
  h.spec.path = argv[1];
  h.spec.arguments = argc > 2 ? argv[2] : NULL;
  vg_vm_filter f = {.power_state = "POWERED_ON"};
  h.running = 1; /* the VM list */
  if (vg_vm_list(h.s, &f, on_vms, &h, &h.list) != VG_OK)
    goto out;
  if (run(&h, sigfd) == 0 && h.failures == 0)
    rc = 0;
out:
  /* Whatever is still in flight is canceled by freeing it. */
  vg_op_free(h.list);
  for (size_t i = 0; i < h.njobs; i++) {
    vg_op_free(h.jobs[i].op);
    free(h.jobs[i].vm);
    free(h.jobs[i].name);
  }
  free(h.jobs);
  vg_session_free(h.s); /* logs out in the background */
  vg_credentials_free(h.cred);
  vg_secret_free(pw);
  vg_secret_free(gpw);
  vg_runtime_free(h.rt); /* gives that logout up to a second */
  if (sigfd >= 0)
    close(sigfd);
  return rc;
}
