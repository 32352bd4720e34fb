/*
 * Embedding the vguest C runtime (no Lua): run a command in one VM and
 * print its exit code and output, as `vguest` playbooks get them from
 * g:run. vg_run quotes the arguments for the guest, captures stdout and
 * stderr apart, and removes its temp files in the guest before it
 * completes (also on a timeout).
 *
 *   VGUEST_SERVER=https://vc:443 VGUEST_USER=… VGUEST_PASSWORD=… \
 *   VGUEST_GUEST_USER=root VGUEST_GUEST_PASSWORD=… [VGUEST_CA_FILE=…] \
 *   build/examples/embed VM_NAME PROGRAM [ARGUMENTS...]
 *
 * Built on its own against an installed vguest:
 *   cc -std=c99 embed.c $(pkg-config --cflags --libs vguest)
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
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
    fprintf(stderr, "usage: embed VM_NAME PROGRAM [ARGUMENTS...]\n");
    return 2;
  }
  vg_runtime *rt = NULL;
  vg_session *s = NULL;
  vg_credentials *cred = NULL;
  vg_secret *pw = NULL, *gpw = NULL;
  vg_op *op = NULL;
  const char *why = NULL;
  char *vm = NULL;
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
  vg_vm_filter f = {.names = names};
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
  vm = strdup(vms[0].id);
  vg_op_free(op);
  op = NULL;

  /* Run the command: program and arguments as given, one minute at most. */
  vg_run_spec r = {0};
  r.argv = (const char *const *)argv + 2;
  r.timeout_ms = 60000;
  if (vg_run(s, vm, cred, &r, NULL, NULL, &op) != VG_OK) {
    fprintf(stderr, "embed: bad run arguments\n");
    goto out;
  }
  vg_status st = vg_op_wait(op);
  const vg_run_result *res = vg_op_run(op);
  if (res && res->out_len)
    fwrite(res->out, 1, res->out_len, stdout);
  if (res && res->err_len)
    fwrite(res->err, 1, res->err_len, stderr);
  if (st != VG_OK) {
    rc = fail("run", op);
    goto out;
  }
  printf("pid %lld in %s (%s) exited with %d at %s\n", (long long)res->pid,
         argv[1], vm, res->exit_code, res->finished);
  rc = 0;
out:
  free(vm);
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
