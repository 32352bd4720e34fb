/* C tests of guest files, transfers and vg_run against the simulator, on
   every flavour that has a guest filesystem (api, vim25), and the
   unsupported answer on rest. The simulator's guest is this machine, so
   what a run leaves behind is checked in the real /tmp and process table
   as well as through the API. */
#include "sim_util.h"
#include "vguest/vguest.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static vg_runtime *rt;
static test_sim sim;
static const char *VM = "vm-42";

static vg_session *session(vg_protocol p, const char *ca_file,
                           const char *transfer_pin, int insecure_transfers) {
  vg_secret *pw;
  vg_secret_new("VMware1!", 8, &pw);
  vg_session_options o = {0};
  o.server = sim.url;
  o.user = "administrator@vsphere.local";
  o.password = pw;
  o.protocol = p;
  o.ca_file = ca_file;
  o.transfer_thumbprint = transfer_pin;
  o.insecure_transfers = insecure_transfers;
  vg_session *s = NULL;
  const char *why = NULL;
  if (vg_session_new(rt, &o, &s, &why) != VG_OK)
    fprintf(stderr, "session: %s\n", why ? why : "?");
  vg_secret_free(pw);
  return s;
}

/* Waits for op; returns its status and frees nothing. */
static vg_status wait_for(vg_op *op) {
  return op ? vg_op_wait(op) : VG_EMISUSE;
}

static vg_status done(vg_op *op) {
  vg_status st = wait_for(op);
  if (st != VG_OK && op)
    fprintf(stderr, "  %s: %s: %s\n", vg_op_error(op)->op, vg_status_kind(st),
            vg_op_error(op)->message);
  vg_op_free(op);
  return st;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* ---- files -------------------------------------------------------------- */

static void test_files(vg_session *s, vg_credentials *c) {
  vg_op *op;
  /* a temp directory, a file in it, stat, list, remove */
  vg_mktemp_spec m = {"vg-test-", ".d", NULL, 1};
  CHECK(vg_file_mktemp(s, VM, c, &m, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_OK && vg_op_path(op));
  char *dir = strdup(vg_op_path(op) ? vg_op_path(op) : "/nonexistent");
  vg_op_free(op);
  CHECK(exists(dir) && strstr(dir, "vg-test-") && strstr(dir, ".d"));

  char sub[600], file[600];
  snprintf(sub, sizeof sub, "%s/a/b", dir);
  CHECK(vg_file_mkdir(s, VM, c, sub, 0, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_ENOTFOUND); /* no parent */
  vg_op_free(op);
  CHECK(vg_file_mkdir(s, VM, c, sub, 1, NULL, NULL, &op) == VG_OK);
  CHECK(done(op) == VG_OK && exists(sub));

  /* binary bytes, NUL included, up and down again */
  unsigned char bytes[1024];
  for (size_t i = 0; i < sizeof bytes; i++)
    bytes[i] = (unsigned char)(i * 31 + 7);
  snprintf(file, sizeof file, "%s/a/data.bin", dir);
  vg_file_attributes a = {0, 0, 1, 0640, -1, -1};
  vg_transfer_spec from = {0};
  from.data = bytes;
  from.len = sizeof bytes;
  CHECK(vg_file_upload(s, VM, c, file, &a, &from, NULL, NULL, &op) == VG_OK);
  CHECK(done(op) == VG_OK);
  struct stat st;
  CHECK(stat(file, &st) == 0 && st.st_size == (off_t)sizeof bytes &&
        (st.st_mode & 0777) == 0640);
  /* an existing file is not replaced unless overwrite */
  CHECK(vg_file_upload(s, VM, c, file, &a, &from, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_EINVALID); /* the same kind on every flavour */
  vg_op_free(op);
  a.overwrite = 1;
  CHECK(vg_file_upload(s, VM, c, file, &a, &from, NULL, NULL, &op) == VG_OK);
  CHECK(done(op) == VG_OK);

  vg_transfer_spec to = {0};
  CHECK(vg_file_download(s, VM, c, file, &to, NULL, NULL, &op) == VG_OK);
  size_t len = 0;
  CHECK(wait_for(op) == VG_OK);
  const void *got = vg_op_data(op, &len);
  CHECK(got && len == sizeof bytes && memcmp(got, bytes, len) == 0);
  vg_op_free(op);
  /* a cap on memory is an error past it, never a cut file */
  to.max_bytes = 100;
  CHECK(vg_file_download(s, VM, c, file, &to, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_EPROTOCOL);
  vg_op_free(op);
  /* a transfer URL serves one request: the second is the ESXi host's own
     refusal, never taken for an expired vCenter session */
  CHECK(vg_transfer_from_guest(s, VM, c, file, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_OK && vg_op_path(op));
  char *url = strdup(vg_op_path(op) ? vg_op_path(op) : "");
  vg_op_free(op);
  memset(&to, 0, sizeof to);
  vg_op *again;
  CHECK(vg_transfer_get(s, url, &to, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_OK);
  vg_op_free(op);
  CHECK(vg_transfer_get(s, url, &to, NULL, NULL, &again) == VG_OK);
  vg_status used = wait_for(again);
  CHECK(used != VG_OK && used != VG_EUNAUTHENTICATED &&
        strstr(vg_op_error(again)->message, "ESXi host"));
  vg_op_free(again);
  free(url);
  CHECK(vg_session_logged_in(s));
  /* a download cut short is an error, never a short file */
  CHECK(test_sim_control(&sim, "/sim/control",
                         "{\"transfer_fail_next\":{\"count\":1,\"how\":"
                         "\"cut\",\"direction\":\"download\"}}") == 0);
  CHECK(vg_file_download(s, VM, c, file, &to, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_ETRANSPORT);
  vg_op_free(op);

  /* into a local file */
  char local[] = "/tmp/vg-local-XXXXXX";
  close(mkstemp(local));
  memset(&to, 0, sizeof to);
  to.local_path = local;
  CHECK(vg_file_download(s, VM, c, file, &to, NULL, NULL, &op) == VG_OK);
  CHECK(done(op) == VG_OK);
  CHECK(stat(local, &st) == 0 && st.st_size == (off_t)sizeof bytes);
  unlink(local);
  /* a local file that cannot be written is that file's error, not the
     guest file's */
  to.local_path = "/no/such/dir/out";
  CHECK(vg_file_download(s, VM, c, file, &to, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_EINVALID &&
        strstr(vg_op_error(op)->message, "local file /no/such/dir/out"));
  vg_op_free(op);

  /* stat: type, size, mode; a missing path is not_found */
  const vg_file_info *fi;
  CHECK(vg_file_stat(s, VM, c, file, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_OK && vg_op_files(op, &fi) == 1 &&
        strcmp(fi->type, "file") == 0 && fi->size == (int64_t)sizeof bytes &&
        fi->has_mode && fi->mode == 0640);
  vg_op_free(op);
  snprintf(sub, sizeof sub, "%s/a", dir);
  CHECK(vg_file_stat(s, VM, c, sub, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_OK && vg_op_files(op, &fi) == 1 &&
        strcmp(fi->type, "directory") == 0);
  vg_op_free(op);
  snprintf(sub, sizeof sub, "%s/nope", dir);
  CHECK(vg_file_stat(s, VM, c, sub, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_ENOTFOUND);
  vg_op_free(op);

  /* list */
  snprintf(sub, sizeof sub, "%s/a", dir);
  CHECK(vg_file_list(s, VM, c, sub, NULL, NULL, &op) == VG_OK);
  size_t n = wait_for(op) == VG_OK ? vg_op_files(op, &fi) : 0;
  int saw_b = 0, saw_data = 0;
  for (size_t i = 0; i < n; i++) {
    saw_b |=
        strcmp(fi[i].name, "b") == 0 && strcmp(fi[i].type, "directory") == 0;
    saw_data |= strcmp(fi[i].name, "data.bin") == 0 &&
                fi[i].size == (int64_t)sizeof bytes;
  }
  CHECK(n == 2 && saw_b && saw_data);
  for (size_t i = 0; n != 2 && i < n; i++)
    fprintf(stderr, "  entry %s %s %lld\n", fi[i].name, fi[i].type,
            (long long)fi[i].size);
  vg_op_free(op);

  /* remove: a file, then the directory (not empty: recursive) */
  CHECK(vg_file_remove(s, VM, c, file, 0, NULL, NULL, &op) == VG_OK);
  CHECK(done(op) == VG_OK && !exists(file));
  CHECK(vg_file_remove(s, VM, c, dir, VG_REMOVE_DIRECTORY, NULL, NULL, &op) ==
        VG_OK);
  CHECK(wait_for(op) == VG_EINVALID && exists(dir));
  vg_op_free(op);
  CHECK(vg_file_remove(s, VM, c, dir, VG_REMOVE_DIRECTORY | VG_REMOVE_RECURSIVE,
                       NULL, NULL, &op) == VG_OK);
  CHECK(done(op) == VG_OK && !exists(dir));
  free(dir);
}

/* ---- runs --------------------------------------------------------------- */

typedef struct outcome {
  vg_status st;
  int code, has_code;
  char *out, *err;
  size_t out_len, err_len;
  int out_cut;
  int64_t pid;
} outcome;

static outcome run_spec(vg_session *s, vg_credentials *c, vg_run_spec *r) {
  outcome o;
  memset(&o, 0, sizeof o);
  vg_op *op;
  if (vg_run(s, VM, c, r, NULL, NULL, &op) != VG_OK) {
    o.st = VG_EMISUSE;
    return o;
  }
  o.st = wait_for(op);
  const vg_run_result *res = vg_op_run(op);
  if (o.st != VG_OK && o.st != VG_ETIMEDOUT)
    fprintf(stderr, "  run: %s: %s\n", vg_status_kind(o.st),
            vg_op_error(op)->message);
  if (res) {
    o.code = res->exit_code;
    o.has_code = res->has_exit_code;
    o.pid = res->pid;
    o.out_len = res->out_len;
    o.err_len = res->err_len;
    o.out_cut = res->out_truncated;
    o.out = malloc(res->out_len + 1);
    o.err = malloc(res->err_len + 1);
    if (res->out)
      memcpy(o.out, res->out, res->out_len + 1);
    if (res->err)
      memcpy(o.err, res->err, res->err_len + 1);
  }
  vg_op_free(op);
  return o;
}

static void outcome_free(outcome *o) {
  free(o->out);
  free(o->err);
}

static outcome run_argv(vg_session *s, vg_credentials *c,
                        const char *const *argv) {
  vg_run_spec r = {0};
  r.argv = argv;
  return run_spec(s, c, &r);
}

/* The guest process has ended (its exit code is known), as listed by the
   guest; waits for the terminate to take effect, at most 5 s. */
static int ended(vg_session *s, vg_credentials *c, int64_t pid) {
  for (int i = 0; pid > 0 && i < 100; i++) {
    vg_op *op;
    const vg_process_info *pi;
    int has = 0;
    if (vg_process_get(s, VM, c, pid, NULL, NULL, &op) == VG_OK &&
        wait_for(op) == VG_OK && vg_op_processes(op, &pi) == 1)
      has = pi->has_exit_code;
    vg_op_free(op);
    if (has)
      return 1;
    vg_op *t;
    vg_timer_start(rt, 50, NULL, NULL, &t);
    wait_for(t);
    vg_op_free(t);
  }
  return 0;
}

/* The simulator's guest temp directory is private to this test (TMPDIR),
   so counting what runs leave there is not disturbed by other tests. */
static char tmpdir[] = "/tmp/vg-files-XXXXXX";

/* No file of a run is left behind. */
static int temp_dirs(void) {
  char cmd[200];
  snprintf(cmd, sizeof cmd,
           "find '%s' -maxdepth 2 -name 'vguest-run-*' 2>/dev/null | wc -l",
           tmpdir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p && fscanf(p, "%d", &n) != 1)
    n = -1;
  if (p)
    pclose(p);
  return n;
}

static void test_runs(vg_session *s, vg_credentials *c) {
  int before = temp_dirs();
  /* exit codes as they are, stdout and stderr apart */
  const char *a0[] = {"/bin/sh", "-c", "printf out; printf err >&2; exit 0",
                      NULL};
  outcome o = run_argv(s, c, a0);
  CHECK(o.st == VG_OK && o.has_code && o.code == 0 &&
        strcmp(o.out, "out") == 0 && strcmp(o.err, "err") == 0);
  outcome_free(&o);
  const char *a1[] = {"/bin/sh", "-c", "exit 1", NULL};
  o = run_argv(s, c, a1);
  CHECK(o.st == VG_OK && o.code == 1 && o.out_len == 0);
  outcome_free(&o);
  const char *a255[] = {"/bin/sh", "-c", "echo only stderr >&2; exit 255",
                        NULL};
  o = run_argv(s, c, a255);
  CHECK(o.st == VG_OK && o.code == 255 && o.out_len == 0 &&
        strcmp(o.err, "only stderr\n") == 0);
  outcome_free(&o);

  /* hard quoting, byte for byte */
  const char *q[] = {"/usr/bin/printf",
                     "%s|%s|%s|%s\\n",
                     "it's",
                     "a \"b\" $HOME `id` \\",
                     "",
                     "é\t∂",
                     NULL};
  o = run_argv(s, c, q);
  CHECK(o.st == VG_OK && o.code == 0 &&
        strcmp(o.out, "it's|a \"b\" $HOME `id` \\||é\t∂\n") == 0);
  outcome_free(&o);
  /* a bare program name goes through the guest's PATH */
  const char *bare[] = {"printf", "%s", "bare", NULL};
  o = run_argv(s, c, bare);
  CHECK(o.st == VG_OK && strcmp(o.out, "bare") == 0);
  outcome_free(&o);

  /* NUL and every byte value back, and 10 MB of output */
  const char *bin[] = {"/bin/sh", "-c",
                       "printf 'a\\000b\\377c'; head -c 10000000 /dev/zero | "
                       "tr '\\0' x",
                       NULL};
  o = run_argv(s, c, bin);
  CHECK(o.st == VG_OK && o.out_len == 10000005 &&
        memcmp(o.out, "a\0b\377c", 5) == 0 && o.out[o.out_len - 1] == 'x');
  outcome_free(&o);

  /* raw shell text, cwd, stdin, env merge and replace */
  vg_run_spec r = {0};
  r.command = "pwd; cat; echo \"$VG_A:${HOME:+home}\"";
  r.cwd = "/tmp";
  r.stdin_from.data = "in\0put\n";
  r.stdin_from.len = 7;
  const char *env[] = {"VG_A=1", NULL};
  r.env = env;
  o = run_spec(s, c, &r);
  CHECK(o.st == VG_OK && o.out_len == 5 + 7 + 7 &&
        memcmp(o.out, "/tmp\nin\0put\n1:home\n", o.out_len) == 0);

  outcome_free(&o);
  r.env_mode = VG_ENV_REPLACE;
  r.stdin_from.data = NULL;
  r.stdin_from.len = 0;
  o = run_spec(s, c, &r);
  CHECK(o.st == VG_OK && strcmp(o.out, "/tmp\n1:\n") == 0);
  outcome_free(&o);

  /* max_output keeps the head and says it cut */
  memset(&r, 0, sizeof r);
  r.command = "seq 1 100000";
  r.max_output = 10;
  o = run_spec(s, c, &r);
  CHECK(o.st == VG_OK && o.out_len == 10 && o.out_cut &&
        memcmp(o.out, "1\n2\n3\n4\n5\n", 10) == 0);
  outcome_free(&o);

  /* stdout into a local file */
  char local[] = "/tmp/vg-out-XXXXXX";
  close(mkstemp(local));
  r.max_output = 0;
  r.command = "seq 1 3";
  r.stdout_file = local;
  o = run_spec(s, c, &r);
  FILE *f = fopen(local, "r");
  char line[64] = "";
  size_t got = f ? fread(line, 1, sizeof line - 1, f) : 0;
  line[got] = '\0';
  if (f)
    fclose(f);
  CHECK(o.st == VG_OK && o.out_len == 0 && strcmp(line, "1\n2\n3\n") == 0);
  outcome_free(&o);
  unlink(local);

  /* a stdout_file that cannot be written fails the run, naming it: the
     output never silently disappears */
  memset(&r, 0, sizeof r);
  r.command = "echo hello";
  r.stdout_file = "/no/such/dir/out";
  vg_op *op;
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_EINVALID &&
        strstr(vg_op_error(op)->message, "/no/such/dir/out"));
  vg_op_free(op);
  /* one busy or unavailable answer to a poll does not end the command:
     polls ride it out as p:wait does */
  memset(&r, 0, sizeof r);
  r.command = "sleep 0.5; echo done";
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_OK);
  for (int i = 0; i < 200 && !(vg_op_run(op) && vg_op_run(op)->pid); i++)
    vg_runtime_step(rt, 20);
  CHECK(test_sim_control(&sim, "/sim/control",
                         "{\"fail_next\":{\"count\":2,\"kind\":"
                         "\"unavailable\",\"ops\":[\"get\",\"list\"]}}") == 0);
  CHECK(wait_for(op) == VG_OK && vg_op_run(op)->has_exit_code &&
        strcmp(vg_op_run(op)->out, "done\n") == 0);
  vg_op_free(op);

  /* a timeout: the process is terminated, the output so far kept, nothing
     left behind */
  memset(&r, 0, sizeof r);
  r.command = "echo started; sleep 30; echo never";
  r.timeout_ms =
      2000; /* ample for the echo to run first, even on a busy machine */
  o = run_spec(s, c, &r);
  CHECK(o.st == VG_ETIMEDOUT && strcmp(o.out, "started\n") == 0);
  CHECK(ended(s, c, o.pid));
  outcome_free(&o);

  /* vg_run_stop: the same clean-up, reported as canceled */
  r.timeout_ms = 0;
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_OK);
  for (int i = 0; i < 200 && !(vg_op_run(op) && vg_op_run(op)->pid); i++)
    vg_runtime_step(rt, 50);
  int64_t pid = vg_op_run(op) ? vg_op_run(op)->pid : 0;
  vg_run_stop(op);
  CHECK(wait_for(op) == VG_ECANCELED);
  CHECK(ended(s, c, pid));
  vg_op_free(op);

  /* a run freed while pending cleans up in the background */
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_OK);
  for (int i = 0; i < 200 && !(vg_op_run(op) && vg_op_run(op)->pid); i++)
    vg_runtime_step(rt, 50);
  pid = vg_op_run(op) ? vg_op_run(op)->pid : 0;
  vg_op_free(op);
  for (int i = 0; i < 100 && vg_runtime_pending(rt); i++)
    vg_runtime_step(rt, 50);
  CHECK(ended(s, c, pid));

  CHECK(temp_dirs() == before);

  /* misuse */
  memset(&r, 0, sizeof r);
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_EMISUSE && !op);
  const char *e0[] = {"", NULL};
  r.argv = e0;
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_EMISUSE && !op);
}

static void fingerprint(const char *pem, char fp[128]) {
  char cmd[700];
  snprintf(cmd, sizeof cmd,
           "openssl x509 -noout -fingerprint -sha256 -in '%s' | cut -d= -f2",
           pem);
  FILE *p = popen(cmd, "r");
  fp[0] = '\0';
  if (p && fgets(fp, 128, p))
    fp[strcspn(fp, "\n")] = '\0';
  if (p)
    pclose(p);
}

/* An upload through one session: its status. */
static vg_status upload_with(vg_session *s, vg_credentials *c) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/vg-tls-%d", (int)getpid());
  vg_file_attributes a = {0, 1, 0, 0, -1, -1};
  vg_transfer_spec from = {0};
  from.data = "tls";
  from.len = 3;
  vg_op *op;
  if (!s || vg_file_upload(s, VM, c, path, &a, &from, NULL, NULL, &op) != VG_OK)
    return VG_EMISUSE;
  vg_status st = wait_for(op);
  if (st != VG_OK)
    fprintf(stderr, "  tls: %s: %s\n", vg_status_kind(st),
            vg_op_error(op)->message);
  vg_op_free(op);
  unlink(path);
  return st;
}

/* TLS to the ESXi host, against a simulator whose transfer listener has a
   self-signed certificate: the vCenter's CA does not verify it, its pin
   does, a wrong pin does not, insecure_transfers skips the check. */
static void test_transfer_tls(void) {
  test_sim other;
  const char *extra[] = {"--transfer-cert", "self-signed", NULL};
  CHECK(test_sim_start(&other, extra) == 0 && other.transfer_cert_file[0]);
  test_sim keep = sim;
  sim = other;
  vg_credentials *c = test_guest_credentials("guest-secret");
  char right[128], wrong[128], pins[200];
  fingerprint(other.transfer_cert_file, right);
  fingerprint(other.ca_file, wrong);
  vg_protocol ps[] = {VG_PROTOCOL_API, VG_PROTOCOL_VIM25};
  for (int i = 0; i < 2; i++) {
    vg_session *s = session(ps[i], other.ca_file, NULL, 0);
    CHECK(upload_with(s, c) == VG_ETLS); /* the vCenter's CA: not this one */
    vg_session_free(s);
    s = session(ps[i], other.ca_file, right, 0);
    CHECK(upload_with(s, c) == VG_OK);
    vg_session_free(s);
    s = session(ps[i], other.ca_file, wrong, 0);
    CHECK(upload_with(s, c) == VG_ETLS);
    vg_session_free(s);
    s = session(ps[i], other.ca_file, NULL, 1);
    CHECK(upload_with(s, c) == VG_OK);
    vg_session_free(s);
    /* a pin for that host by name */
    snprintf(pins, sizeof pins, "127.0.0.1=%s", right);
    const char *list[] = {pins, NULL};
    vg_secret *pw;
    vg_secret_new("VMware1!", 8, &pw);
    vg_session_options o = {0};
    o.server = other.url;
    o.user = "administrator@vsphere.local";
    o.password = pw;
    o.protocol = ps[i];
    o.ca_file = other.ca_file;
    o.transfer_pins = list;
    CHECK(vg_session_new(rt, &o, &s, NULL) == VG_OK);
    CHECK(upload_with(s, c) == VG_OK);
    vg_session_free(s);
    /* insecure with a pin is a contradiction, refused */
    o.insecure_transfers = 1;
    const char *why = NULL;
    s = NULL;
    CHECK(vg_session_new(rt, &o, &s, &why) == VG_EMISUSE && !s && why);
    vg_secret_free(pw);
  }
  vg_credentials_free(c);
  sim = keep;
  test_sim_stop(&other);
}

static void test_unsupported(void) {
  vg_session *s = session(VG_PROTOCOL_REST, sim.ca_file, NULL, 0);
  vg_credentials *c = test_guest_credentials("guest-secret");
  vg_op *op;
  vg_mktemp_spec m = {NULL, NULL, NULL, 0};
  CHECK(vg_file_mktemp(s, VM, c, &m, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_EUNSUPPORTED &&
        strstr(vg_op_error(op)->message, "filesystem"));
  vg_op_free(op);
  vg_run_spec r = {0};
  r.command = "true";
  CHECK(vg_run(s, VM, c, &r, NULL, NULL, &op) == VG_OK);
  CHECK(wait_for(op) == VG_EUNSUPPORTED);
  vg_op_free(op);
  vg_session_free(s);
  vg_credentials_free(c);
}

int main(void) {
  if (!mkdtemp(tmpdir) || setenv("TMPDIR", tmpdir, 1) != 0 ||
      test_sim_start(&sim, NULL) != 0) {
    fprintf(stderr, "cannot start the simulator (VGUEST_SIM)\n");
    return 1;
  }
  CHECK(vg_runtime_new(NULL, &rt) == VG_OK);
  vg_protocol ps[] = {VG_PROTOCOL_API, VG_PROTOCOL_VIM25};
  for (int i = 0; i < 2; i++) {
    fprintf(stderr, "-- %s\n", vg_protocol_name(ps[i]));
    vg_session *s = session(ps[i], sim.ca_file, NULL, 0);
    vg_credentials *c = test_guest_credentials("guest-secret");
    test_files(s, c);
    test_runs(s, c);
    vg_session_free(s);
    vg_credentials_free(c);
  }
  test_unsupported();
  test_transfer_tls();
  vg_runtime_free(rt);
  test_sim_stop(&sim);
  char rm[200];
  snprintf(rm, sizeof rm, "rm -rf '%s'", tmpdir);
  if (system(rm) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
