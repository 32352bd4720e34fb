/* vguest-sim: a vCenter API simulator (/api, /rest, /sdk/vim25) for tests
 * and examples. See README.md for options, inventory and control
 * endpoints. */
#include "cert.h"
#include "guestproc.h"
#include "http.h"
#include "state.h"
#include "transfer.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef VGUEST_SIM_DEFAULT_INVENTORY
#define VGUEST_SIM_DEFAULT_INVENTORY "inventory.json"
#endif
/* The installed inventory, from the program's directory (bin/ ->
   share/vguest/inventory.json); the source tree's only when it is absent. */
#ifndef VGUEST_SIM_INSTALLED_INVENTORY
#define VGUEST_SIM_INSTALLED_INVENTORY "../share/vguest/inventory.json"
#endif

#define MAX_VMS 1000000

#define DEFAULT_RELEASES                                                       \
  "8.0.1.0,8.0.2.0,8.0.3.0,8.0.3.1,9.0.0.0,9.1.0.0,9.1.1.0"

static const char usage[] =
    "usage: vguest-sim [options]\n"
    "  --inventory FILE       inventory JSON (default: $VGUEST_SIM_INVENTORY\n"
    "                         or " VGUEST_SIM_INSTALLED_INVENTORY " beside\n"
    "                         the program, or " VGUEST_SIM_DEFAULT_INVENTORY
    ")\n"
    "  --vms N                instead of an inventory file: N powered-on VMs\n"
    "                         vm-0001, vm-0002, ... (see README.md)\n"
    "  --port N               TCP port, 0 = pick a free one (default 0)\n"
    "  --bind ADDR            127.0.0.1 (default) or ::1; loopback only\n"
    "  --flavours LIST        api,rest,vim25 (default: all)\n"
    "  --retention SECONDS    keep exit codes of finished processes (300)\n"
    "  --cert FILE --key FILE serve this PEM certificate and key\n"
    "  --cert-out FILE        write the generated certificate here\n"
    "  --lifetime SECONDS     exit after this long (default 3600)\n"
    "  --vim25-releases LIST  releases under /sdk/vim25/ (default\n"
    "                         " DEFAULT_RELEASES ")\n"
    "  --transfer-port N      port of the transfer listener (default 0)\n"
    "  --transfer-cert MODE   vcenter-signed (default: signed by the main\n"
    "                         certificate) or self-signed\n"
    "  --transfer-ttl SECONDS transfer URLs expire after this (default 600)\n"
    "  --transfer-url-host H  star (default: https://*:PORT/...) or explicit\n"
    "                         (https://ADDR:PORT/...)\n"
    "  --process-log FILE     append a JSON line per guest process started\n"
    "                         and ended to FILE\n"
    "  --verbose              log one line per request to stderr\n"
    "  --help                 this text\n"
    "Prints one JSON line {url, ca_file, flavours, pid, transfer_url,\n"
    "transfer_ca_file, transfer_cert_file} when ready.\n";

static int die(const char *fmt, const char *arg) {
  fputs("vguest-sim: ", stderr);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  return 2;
}

static bool parse_seconds(const char *s, int64_t *ms) {
  int64_t v;
  if (!util_parse_int64(s, &v) || v < 0 || v > INT64_MAX / 1000)
    return false;
  *ms = v * 1000;
  return true;
}

static char **split_list(const char *s, size_t *n) {
  char *copy = xstrdup(s), *save = NULL;
  char **out = NULL;
  *n = 0;
  for (char *t = strtok_r(copy, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    out = xrealloc(out, (*n + 1) * sizeof *out);
    out[(*n)++] = xstrdup(t);
  }
  free(copy);
  return out;
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static bool parse_flavours(const char *s, bool out[FL_COUNT]) {
  size_t n;
  char **v = split_list(s, &n);
  bool ok = n > 0;
  memset(out, 0, FL_COUNT * sizeof *out);
  for (size_t i = 0; i < n; i++) {
    bool known = false;
    for (int f = 0; f < FL_COUNT; f++) {
      if (strcmp(v[i], flavour_name((enum flavour)f)) == 0) {
        out[f] = true;
        known = true;
      }
    }
    ok = ok && known;
  }
  free_list(v, n);
  return ok;
}

static bool loopback(const char *addr) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* VGUEST_SIM_INSTALLED_INVENTORY from this program's directory when it is
   there (an installed vguest-sim, under any prefix), else the source tree's. */
static const char *default_inventory(void) {
  static char path[PATH_MAX];
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash;
  int len;
  if (n <= 0)
    return VGUEST_SIM_DEFAULT_INVENTORY;
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  if (slash == NULL)
    return VGUEST_SIM_DEFAULT_INVENTORY;
  *slash = '\0';
  len =
      snprintf(path, sizeof path, "%s/%s", exe, VGUEST_SIM_INSTALLED_INVENTORY);
  if (len > 0 && (size_t)len < sizeof path && access(path, R_OK) == 0)
    return path;
  return VGUEST_SIM_DEFAULT_INVENTORY;
}

/* Parses argv into cfg; returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct config *cfg) {
  enum {
    O_INV = 1,
    O_PORT,
    O_BIND,
    O_FLAV,
    O_RET,
    O_CERT,
    O_KEY,
    O_CERTOUT,
    O_LIFE,
    O_REL,
    O_VERB,
    O_HELP,
    O_XPORT,
    O_XCERT,
    O_XTTL,
    O_XHOST,
    O_PLOG,
    O_VMS
  };
  static const struct option opts[] = {
      {"inventory", required_argument, NULL, O_INV},
      {"port", required_argument, NULL, O_PORT},
      {"bind", required_argument, NULL, O_BIND},
      {"flavours", required_argument, NULL, O_FLAV},
      {"retention", required_argument, NULL, O_RET},
      {"cert", required_argument, NULL, O_CERT},
      {"key", required_argument, NULL, O_KEY},
      {"cert-out", required_argument, NULL, O_CERTOUT},
      {"lifetime", required_argument, NULL, O_LIFE},
      {"vim25-releases", required_argument, NULL, O_REL},
      {"verbose", no_argument, NULL, O_VERB},
      {"transfer-port", required_argument, NULL, O_XPORT},
      {"transfer-cert", required_argument, NULL, O_XCERT},
      {"transfer-ttl", required_argument, NULL, O_XTTL},
      {"transfer-url-host", required_argument, NULL, O_XHOST},
      {"process-log", required_argument, NULL, O_PLOG},
      {"vms", required_argument, NULL, O_VMS},
      {"help", no_argument, NULL, O_HELP},
      {NULL, 0, NULL, 0}};
  int c;
  int64_t v;
  const char *releases = DEFAULT_RELEASES;
  bool inventory_given = false;
  cfg->bind = "127.0.0.1";
  cfg->retention_ms = 300 * 1000;
  cfg->lifetime_ms = 3600 * 1000;
  cfg->transfer_ttl_ms = 600 * 1000;
  for (int f = 0; f < FL_COUNT; f++)
    cfg->flavours[f] = true;
  cfg->inventory_path = getenv("VGUEST_SIM_INVENTORY");
  if (!cfg->inventory_path || !*cfg->inventory_path)
    cfg->inventory_path = default_inventory();
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case O_INV:
      cfg->inventory_path = optarg;
      inventory_given = true;
      break;
    case O_VMS:
      if (!util_parse_int64(optarg, &v) || v < 1 || v > MAX_VMS)
        return die("--vms: not a number of VMs from 1 to 1000000: %s", optarg);
      cfg->gen_vms = v;
      break;
    case O_PORT:
      if (!util_parse_int64(optarg, &v) || v < 0 || v > 65535)
        return die("--port: not a port number: %s", optarg);
      cfg->port = (unsigned)v;
      break;
    case O_BIND:
      if (!loopback(optarg))
        return die("--bind %s: only loopback addresses (127.0.0.1, ::1) "
                   "are allowed",
                   optarg);
      cfg->bind = optarg;
      break;
    case O_FLAV:
      if (!parse_flavours(optarg, cfg->flavours))
        return die("--flavours %s: expected a list of api,rest,vim25", optarg);
      break;
    case O_RET:
      if (!parse_seconds(optarg, &cfg->retention_ms))
        return die("--retention: not a number of seconds: %s", optarg);
      break;
    case O_LIFE:
      if (!parse_seconds(optarg, &cfg->lifetime_ms) || cfg->lifetime_ms == 0)
        return die("--lifetime: not a positive number of seconds: %s", optarg);
      break;
    case O_CERT:
      cfg->cert_file = optarg;
      break;
    case O_KEY:
      cfg->key_file = optarg;
      break;
    case O_CERTOUT:
      cfg->cert_out = optarg;
      break;
    case O_REL:
      releases = optarg;
      break;
    case O_VERB:
      cfg->verbose = true;
      break;
    case O_XPORT:
      if (!util_parse_int64(optarg, &v) || v < 0 || v > 65535)
        return die("--transfer-port: not a port number: %s", optarg);
      cfg->transfer_port = (unsigned)v;
      break;
    case O_XCERT:
      if (strcmp(optarg, "vcenter-signed") == 0)
        cfg->transfer_self_signed = false;
      else if (strcmp(optarg, "self-signed") == 0)
        cfg->transfer_self_signed = true;
      else
        return die("--transfer-cert %s: expected vcenter-signed or "
                   "self-signed",
                   optarg);
      break;
    case O_XTTL:
      if (!parse_seconds(optarg, &cfg->transfer_ttl_ms) ||
          cfg->transfer_ttl_ms == 0)
        return die("--transfer-ttl: not a positive number of seconds: %s",
                   optarg);
      break;
    case O_XHOST:
      if (strcmp(optarg, "star") == 0)
        cfg->transfer_explicit = false;
      else if (strcmp(optarg, "explicit") == 0)
        cfg->transfer_explicit = true;
      else
        return die("--transfer-url-host %s: expected star or explicit", optarg);
      break;
    case O_PLOG:
      cfg->process_log = optarg;
      break;
    case O_HELP:
      fputs(usage, stdout);
      return 0;
    default:
      fputs(usage, stderr);
      return die("unknown or incomplete option: %s", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return die("unexpected argument: %s", argv[optind]);
  if (inventory_given && cfg->gen_vms)
    return die("%s", "--vms and --inventory exclude each other");
  if (cfg->gen_vms)
    cfg->inventory_path = NULL; /* $VGUEST_SIM_INVENTORY does not apply */
  if (!cfg->cert_file != !cfg->key_file)
    return die("%s", "--cert and --key go together");
  if (cfg->transfer_port != 0 && cfg->transfer_port == cfg->port)
    return die("%s", "--transfer-port must differ from --port");
  if (cfg->cert_file && cfg->cert_out)
    return die("%s", "--cert-out only applies to a generated certificate");
  cfg->releases = split_list(releases, &cfg->nreleases);
  if (cfg->nreleases == 0)
    return die("--vim25-releases: empty list: %s", releases);
  return -1;
}

/* Writes pem to out or (out NULL) a fresh temporary file named after
 * stem; returns-owned absolute path. *temp tells whether to remove it at
 * exit. */
static char *write_cert(const char *out, const char *stem, const char *pem,
                        bool *temp) {
  char *path;
  FILE *f;
  if (out) {
    path = xstrdup(out);
    f = fopen(path, "w");
    *temp = false;
  } else {
    const char *dir = getenv("TMPDIR");
    path = xasprintf("%s/%s-XXXXXX.pem", dir && *dir ? dir : "/tmp", stem);
    int fd = mkstemps(path, 4);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    *temp = true;
  }
  if (!f || fputs(pem, f) < 0 || fclose(f) != 0) {
    free(path);
    return NULL;
  }
  char *abs = realpath(path, NULL);
  if (abs) {
    free(path);
    path = abs;
  }
  return path;
}

/* https://ADDR:PORT, or https://HOST:PORT (host "*"). Returns-owned. */
static char *base_url(const struct sim *sim, const char *host, unsigned port) {
  bool v6 = !host && strchr(sim->cfg.bind, ':') != NULL;
  return xasprintf(v6 ? "https://[%s]:%u" : "https://%s:%u",
                   host ? host : sim->cfg.bind, port);
}

/* The files behind the ready line. */
struct certs {
  char *ca_file;            /* verifies the main listener */
  char *xfer_cert_file;     /* the transfer listener's certificate */
  const char *xfer_ca_file; /* verifies the transfer listener */
};

static void print_ready(const struct sim *sim, unsigned port, unsigned xport,
                        const struct certs *c) {
  json_t *fl = json_array();
  for (int f = 0; f < FL_COUNT; f++)
    if (sim->cfg.flavours[f])
      json_array_append_new(fl, json_string(flavour_name((enum flavour)f)));
  char *url = base_url(sim, NULL, port), *xurl = base_url(sim, NULL, xport);
  json_t *j =
      json_pack("{s:s,s:s,s:o,s:i,s:s,s:s,s:s}", "url", url, "ca_file",
                c->ca_file, "flavours", fl, "pid", (int)getpid(),
                "transfer_url", xurl, "transfer_ca_file", c->xfer_ca_file,
                "transfer_cert_file", c->xfer_cert_file);
  char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  printf("%s\n", line);
  fflush(stdout);
  free(line);
  free(url);
  free(xurl);
  json_decref(j);
}

/* Waits for a stop reason while doing housekeeping. */
static void run(struct sim *sim, pid_t parent, const sigset_t *sigs) {
  int64_t deadline = util_mono_ms() + sim->cfg.lifetime_ms;
  struct timespec tick = {0, 100 * 1000000L};
  for (;;) {
    int sig = sigtimedwait(sigs, NULL, &tick);
    if (sig > 0)
      return;
    gproc_housekeep(sim);
    state_xfer_housekeep(sim);
    state_tools_housekeep(sim);
    sim_lock(sim);
    bool stop = sim->shutdown;
    sim_unlock(sim);
    if (stop || util_mono_ms() >= deadline || getppid() != parent)
      return;
  }
}

/* Connections cost a descriptor each: the soft RLIMIT_NOFILE goes up to
 * the hard one (at most 65536), and each listener may hold all but 64 of
 * them. Guest processes get the original limit back (guestproc.c). */
static void raise_nofile(struct sim *sim) {
  struct rlimit rl;
  rlim_t cur = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    cur = rl.rlim_cur;
    rlim_t want = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
    if (want > rl.rlim_cur) {
      sim->nofile_orig = rl;
      rl.rlim_cur = want;
      if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
        sim->nofile_raised = true;
        cur = want;
      }
    }
  }
  sim->cfg.conn_limit = cur > 128 ? (unsigned)(cur - 64) : 64;
}

static void free_key(char *pem) {
  if (pem) {
    explicit_bzero(pem, strlen(pem));
    free(pem);
  }
}

int main(int argc, char **argv) {
  struct sim sim;
  char err[768];
  char *cert_pem = NULL, *key_pem = NULL, *xcert_pem = NULL, *xkey_pem = NULL;
  struct certs certs = {NULL, NULL, NULL};
  bool temp_cert = false, temp_xcert = false;
  struct transfer *xd = NULL;
  int status = 1;
  pid_t parent = getppid();

  sim_init(&sim);
  int rc = parse_args(argc, argv, &sim.cfg);
  if (rc >= 0) {
    sim_destroy(&sim);
    return rc;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
    sim_destroy(&sim);
    return 1; /* the parent is already gone */
  }
  if (sim.cfg.process_log &&
      (sim.proc_log_fd =
           open(sim.cfg.process_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                0600)) < 0) {
    fprintf(stderr, "vguest-sim: --process-log %s: %s\n", sim.cfg.process_log,
            strerror(errno));
    sim_destroy(&sim);
    return 2;
  }
  if (sim.cfg.gen_vms) {
    inventory_generate((size_t)sim.cfg.gen_vms, &sim.inv);
  } else if (!inventory_load(sim.cfg.inventory_path, &sim.inv, err,
                             sizeof err)) {
    fprintf(stderr, "vguest-sim: %s\n", err);
    sim_destroy(&sim);
    return 2;
  }
  if (sim.cfg.cert_file) {
    cert_pem = cert_read_file(sim.cfg.cert_file);
    key_pem = cert_read_file(sim.cfg.key_file);
    if (!cert_pem || !key_pem) {
      fprintf(stderr, "vguest-sim: cannot read %s: %s\n",
              cert_pem ? sim.cfg.key_file : sim.cfg.cert_file, strerror(errno));
      status = 2;
      goto out;
    }
    certs.ca_file = realpath(sim.cfg.cert_file, NULL);
  } else {
    if (!cert_generate("vguest-sim", NULL, NULL, &cert_pem, &key_pem, err,
                       sizeof err)) {
      fprintf(stderr, "vguest-sim: %s\n", err);
      goto out;
    }
    certs.ca_file =
        write_cert(sim.cfg.cert_out, "vguest-sim", cert_pem, &temp_cert);
    if (!certs.ca_file) {
      fprintf(stderr, "vguest-sim: cannot write the certificate: %s\n",
              strerror(errno));
      goto out;
    }
  }
  /* The transfer listener's certificate: a leaf signed by the main
   * certificate (a vCenter's VMCA signs its hosts' certificates), or its
   * own self-signed one. */
  bool self = sim.cfg.transfer_self_signed;
  if (!cert_generate("vguest-sim-esx", self ? NULL : cert_pem,
                     self ? NULL : key_pem, &xcert_pem, &xkey_pem, err,
                     sizeof err)) {
    fprintf(stderr,
            "vguest-sim: transfer %s (is --cert a CA that --key "
            "can sign with?)\n",
            err);
    goto out;
  }
  certs.xfer_cert_file =
      write_cert(NULL, "vguest-sim-transfer", xcert_pem, &temp_xcert);
  if (!certs.xfer_cert_file) {
    fprintf(stderr, "vguest-sim: cannot write the certificate: %s\n",
            strerror(errno));
    goto out;
  }
  certs.xfer_ca_file = self ? certs.xfer_cert_file : certs.ca_file;

  /* Signals are taken synchronously by run(); threads inherit the mask. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  raise_nofile(&sim);
  if (gproc_start_reaper(&sim) != 0) {
    fputs("vguest-sim: cannot start the reaper thread\n", stderr);
    goto out;
  }
  unsigned xport = 0, port = 0;
  xd = transfer_start(&sim, xcert_pem, xkey_pem, &xport);
  if (!xd) {
    fprintf(stderr, "vguest-sim: cannot listen on %s port %u\n", sim.cfg.bind,
            sim.cfg.transfer_port);
    gproc_stop(&sim);
    goto out;
  }
  /* set before the main listener starts: read without the lock */
  sim.xfer_base = base_url(&sim, sim.cfg.transfer_explicit ? NULL : "*", xport);
  struct http *d = http_start(&sim, cert_pem, key_pem, &port);
  if (!d) {
    fprintf(stderr, "vguest-sim: cannot listen on %s port %u\n", sim.cfg.bind,
            sim.cfg.port);
    transfer_stop(xd);
    gproc_stop(&sim);
    goto out;
  }
  print_ready(&sim, port, xport, &certs);
  run(&sim, parent, &sigs);
  http_stop(d);
  transfer_stop(xd);
  gproc_stop(&sim);
  status = 0;
out:
  if (temp_cert && certs.ca_file)
    unlink(certs.ca_file);
  if (temp_xcert && certs.xfer_cert_file)
    unlink(certs.xfer_cert_file);
  free(certs.ca_file);
  free(certs.xfer_cert_file);
  free(cert_pem);
  free(xcert_pem);
  free_key(key_pem);
  free_key(xkey_pem);
  sim_destroy(&sim);
  return status;
}
