#include "sim_util.h"

#include "vguest/vguest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int json_field(const char *line, const char *key, char *out, size_t n) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(line, pat);
  if (!p)
    return -1;
  p += strlen(pat);
  const char *e = strchr(p, '"');
  if (!e || (size_t)(e - p) >= n)
    return -1;
  memcpy(out, p, (size_t)(e - p));
  out[e - p] = '\0';
  return 0;
}

int test_sim_start(test_sim *s, const char *const *extra) {
  const char *bin = getenv("VGUEST_SIM");
  int fds[2];
  if (!bin || pipe(fds) != 0)
    return -1;
  memset(s, 0, sizeof *s);
  s->pid = fork();
  if (s->pid == 0) {
    const char *argv[32] = {bin, "--port", "0", "--lifetime", "300"};
    int n = 5;
    for (; extra && *extra && n < 30; extra++)
      argv[n++] = *extra;
    argv[n] = NULL;
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  char line[2048];
  int ok = f && fgets(line, sizeof line, f) &&
           json_field(line, "url", s->url, sizeof s->url) == 0 &&
           json_field(line, "ca_file", s->ca_file, sizeof s->ca_file) == 0;
  if (ok) /* simulators that serve transfers say where their certificate is */
    json_field(line, "transfer_cert_file", s->transfer_cert_file,
               sizeof s->transfer_cert_file);
  if (f)
    fclose(f);
  if (!ok) {
    test_sim_stop(s);
    return -1;
  }
  return 0;
}

void test_sim_stop(test_sim *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
}

int test_sim_control(const test_sim *s, const char *path, const char *body) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "curl -sf --cacert '%s' -X POST -H 'Content-Type: application/json' "
           "-d '%s' '%s%s' >/dev/null",
           s->ca_file, body, s->url, path);
  return system(cmd) == 0 ? 0 : -1;
}

vg_credentials *test_guest_credentials(const char *password) {
  vg_secret *pw = NULL;
  vg_credentials *c = NULL;
  if (vg_secret_new(password, strlen(password), &pw) == VG_OK) {
    vg_credentials_options co = {"root", pw, NULL, 0};
    vg_credentials_new(&co, &c, NULL);
  }
  vg_secret_free(pw);
  return c;
}
