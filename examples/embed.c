/*
 * Embedding the vguest C runtime (no Lua): start a program in one VM, wait
 * for it with back-off on the runtime's own timers, print its exit code.
 *
 *   VGUEST_SERVER=https://vc:443 VGUEST_USER=… VGUEST_PASSWORD=… \
 *   VGUEST_GUEST_USER=root VGUEST_GUEST_PASSWORD=… [VGUEST_CA_FILE=…] \
 *   build/examples/embed VM_NAME PATH [ARGUMENTS]
 */
#include <vguest/vguest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const vg_op *op) {
  const vg_error *e = vg_op_error(op);
  fprintf(stderr, "embed: %s failed: %s: %s\n", what, vg_status_kind(e->status),
          e->message);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: embed VM_NAME PATH [ARGUMENTS]\n");
    return 2;
  }
  vg_runtime *rt = NULL;
  vg_session *s = NULL;
  vg_credentials *cred = NULL;
  vg_secret *pw = NULL, *gpw = NULL;
  vg_op *op = NULL;
  const char *why = NULL;
  int rc = 1;

  if (vg_runtime_new(NULL, &rt) != VG_OK ||
      vg_secret_from_env("VGUEST_PASSWORD", &pw) != VG_OK ||
      vg_secret_from_env("VGUEST_GUEST_PASSWORD", &gpw) != VG_OK) {
    fprintf(stderr, "embed: set VGUEST_PASSWORD and VGUEST_GUEST_PASSWORD\n");
    goto out;
  }
  vg_session_options so = {0};
  so.server = getenv("VGUEST_SERVER");
  so.user = getenv("VGUEST_USER");
  so.password = pw;
  so.ca_file = getenv("VGUEST_CA_FILE");
  if (vg_session_new(rt, &so, &s, &why) != VG_OK) {
    fprintf(stderr, "embed: %s\n", why ? why : "cannot create a session");
    goto out;
  }
  vg_credentials_options co = {getenv("VGUEST_GUEST_USER"), gpw, NULL, 0};
  if (vg_credentials_new(&co, &cred, &why) != VG_OK) {
    fprintf(stderr, "embed: guest credentials: %s\n", why);
    goto out;
  }

  /* Find the VM by name. */
  const char *names[] = {argv[1], NULL};
  vg_vm_filter f = {names, NULL, NULL};
  const vg_vm_info *vms;
  vg_vm_list(s, &f, NULL, NULL, &op);
  if (vg_op_wait(op) != VG_OK) {
    rc = fail("finding the VM", op);
    goto out;
  }
  if (vg_op_vms(op, &vms) != 1) {
    fprintf(stderr, "embed: %zu VMs are named %s\n", vg_op_vms(op, &vms),
            argv[1]);
    goto out;
  }
  char *vm = strdup(vms[0].id);
  vg_op_free(op);

  /* Start the program. */
  vg_program_spec p = {argv[2], argc > 3 ? argv[3] : NULL, NULL, NULL, 0};
  vg_process_create(s, vm, cred, &p, NULL, NULL, &op);
  if (vg_op_wait(op) != VG_OK) {
    rc = fail("create", op);
    free(vm);
    goto out;
  }
  int64_t pid = vg_op_pid(op);
  vg_op_free(op);
  op = NULL;
  printf("started pid %lld in %s (%s)\n", (long long)pid, argv[1], vm);

  /* Poll with back-off: 50 ms growing to 1 s. */
  for (long delay = 50;; delay = delay * 2 > 1000 ? 1000 : delay * 2) {
    const vg_process_info *pi;
    vg_process_get(s, vm, cred, pid, NULL, NULL, &op);
    if (vg_op_wait(op) != VG_OK) {
      rc = fail("get", op);
      break;
    }
    if (vg_op_processes(op, &pi) == 1 && pi->has_exit_code) {
      printf("pid %lld exited with %d at %s\n", (long long)pid, pi->exit_code,
             pi->finished);
      rc = 0;
      break;
    }
    vg_op_free(op);
    vg_timer_start(rt, delay, NULL, NULL, &op);
    vg_op_wait(op);
    vg_op_free(op);
    op = NULL;
  }
  free(vm);
out:
  vg_op_free(op);
  if (s) {
    vg_op *lo = NULL;
    if (vg_session_logout(s, NULL, NULL, &lo) == VG_OK)
      vg_op_wait(lo);
    vg_op_free(lo);
  }
  vg_session_free(s);
  vg_credentials_free(cred);
  vg_secret_free(pw);
  vg_secret_free(gpw);
  vg_runtime_free(rt);
  return rc;
}
