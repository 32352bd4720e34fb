#include "guestops.h"
#include "guestproc.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void gfault_set(struct gfault *f, enum gfault_kind kind, const char *text) {
  f->kind = kind;
  snprintf(f->text, sizeof f->text, "%s", text ? text : "");
}

bool gfault_injected(enum inject inj, struct gfault *f) {
  if (inj == INJ_NONE)
    return false;
  /* INJ_DROP: the fault is never sent (the reply is dropped), but the
     handler stops here as for any injected failure */
  gfault_set(f,
             inj == INJ_BUSY              ? GF_BUSY
             : inj == INJ_UNAUTHENTICATED ? GF_NO_SESSION
                                          : GF_UNAVAILABLE,
             "");
  return true;
}

void ginfo_free(struct ginfo *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].name);
    free(v[i].owner);
    free(v[i].command);
  }
  free(v);
}

void gop_free_strings(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

void gop_free_env(char **env) {
  for (char **e = env; e && *e; e++)
    free(*e);
  free(env);
}

/* Caller holds the lock. The VM, if it exists. */
static struct vm *find_vm(struct sim *sim, const char *id, struct gfault *f) {
  struct vm *vm = inventory_vm(&sim->inv, id);
  if (!vm) {
    f->kind = GF_VM_NOT_FOUND;
    snprintf(f->vm, sizeof f->vm, "%s", id);
  }
  return vm;
}

/* Caller holds the lock. VM checks then guest login, in the order a real
 * vCenter makes them; *owner gets the guest user name. */
static struct vm *prepare(struct sim *sim, const char *id,
                          const struct gauth *a, const char **owner,
                          struct gfault *f) {
  struct vm *vm = find_vm(sim, id, f);
  if (!vm)
    return NULL;
  snprintf(f->vm, sizeof f->vm, "%s", id);
  if (vm->power != PS_POWERED_ON) {
    f->kind = GF_NOT_POWERED_ON;
    f->power = vm->power;
    return NULL;
  }
  if (!vm->tools_running) {
    f->kind = GF_TOOLS_NOT_RUNNING;
    return NULL;
  }
  const char *user = a->user;
  if (a->saml_token) {
    if (strncmp(a->saml_token, "saml:", 5) != 0 ||
        (user && *user && strcmp(user, a->saml_token + 5) != 0)) {
      f->kind = GF_GUEST_LOGIN;
      return NULL;
    }
    user = a->saml_token + 5;
  }
  bool ok = false;
  for (size_t i = 0; user && i < vm->naccounts; i++) {
    const struct account *acc = &vm->accounts[i];
    if (strcmp(acc->user, user) == 0)
      ok = a->saml_token ||
           (a->password && util_secret_eq(acc->password, a->password));
  }
  if (!ok) {
    f->kind = GF_GUEST_LOGIN;
    return NULL;
  }
  if (a->interactive) {
    f->kind = GF_NO_INTERACTIVE;
    return NULL;
  }
  *owner = user;
  return vm;
}

bool gop_check(struct sim *sim, const char *id, const struct gauth *a,
               char *owner, size_t ownerlen, bool *windows, struct gfault *f) {
  const char *user = NULL;
  sim_lock(sim);
  struct vm *vm = prepare(sim, id, a, &user, f);
  if (vm) {
    snprintf(owner, ownerlen, "%s", user);
    *windows = strcmp(vm->os, "windows") == 0;
  }
  sim_unlock(sim);
  return vm != NULL;
}

bool gop_identity(struct sim *sim, const char *id, struct gidentity *out,
                  struct gfault *f) {
  sim_lock(sim);
  struct vm *vm = find_vm(sim, id, f);
  bool ok = vm && vm->power == PS_POWERED_ON && vm->tools_running;
  if (vm && !ok) {
    f->kind = GF_TOOLS_NOT_RUNNING;
    snprintf(f->vm, sizeof f->vm, "%s", id);
  }
  if (ok) {
    out->windows = strcmp(vm->os, "windows") == 0;
    snprintf(out->host_name, sizeof out->host_name, "%s", vm->name);
    snprintf(out->ip_address, sizeof out->ip_address, "%s",
             vm->ip_address ? vm->ip_address : "");
  }
  sim_unlock(sim);
  return ok;
}

bool gop_tools(struct sim *sim, const char *id, enum gtools *state,
               bool *windows, struct gfault *f) {
  sim_lock(sim);
  struct vm *vm = find_vm(sim, id, f);
  if (vm) {
    bool on = vm->power == PS_POWERED_ON;
    *state = on && vm->tools_running   ? GT_RUNNING
             : on && vm->tools_scripts ? GT_EXECUTING_SCRIPTS
                                       : GT_NOT_RUNNING;
    *windows = strcmp(vm->os, "windows") == 0;
  }
  sim_unlock(sim);
  return vm != NULL;
}

bool gop_ready(struct sim *sim, const char *id, bool *ready, struct gfault *f) {
  sim_lock(sim);
  struct vm *vm = find_vm(sim, id, f);
  if (vm)
    *ready = vm->power == PS_POWERED_ON && vm->tools_running;
  sim_unlock(sim);
  return vm != NULL;
}

/* Path checks a Linux guest makes before running the program. */
static bool check_paths(const struct gspec *spec, struct gfault *f) {
  struct stat st;
  if (stat(spec->path, &st) != 0) {
    gfault_set(f, GF_FILE_NOT_FOUND, spec->path);
    return false;
  }
  /* Tools ask only access(X_OK): a directory the user may search is
   * started, and the shell exits 126 */
  if (access(spec->path, X_OK) != 0) {
    gfault_set(f, GF_PERMISSION, spec->path);
    return false;
  }
  /* Tools: a working directory that File_IsDirectory refuses (missing,
   * or not a directory) is VIX_E_NOT_A_DIRECTORY */
  const char *wd = spec->working_directory;
  if (wd && *wd && (stat(wd, &st) != 0 || !S_ISDIR(st.st_mode))) {
    gfault_set(f, GF_NOT_A_DIRECTORY, wd);
    return false;
  }
  return true;
}

bool gop_create(struct sim *sim, const char *id, const struct gauth *a,
                const struct gspec *spec, int64_t *pid, struct gfault *f) {
  const char *owner = NULL;
  bool ok = false;
  sim_lock(sim);
  struct vm *vm = prepare(sim, id, a, &owner, f);
  if (!vm)
    goto out;
  if (spec->start_minimized && strcmp(vm->os, "windows") != 0) {
    gfault_set(f, GF_INVALID_ARGUMENT, "spec.start_minimized");
    goto out;
  }
  if (!check_paths(spec, f))
    goto out;
  struct gspawn sp = {
      id,       owner, spec->path, spec->arguments, spec->working_directory,
      spec->env};
  *pid = gproc_spawn(sim, &sp);
  if (*pid < 0) {
    gfault_set(f, GF_START_FAILED, strerror(errno));
    goto out;
  }
  ok = true;
out:
  sim_unlock(sim);
  return ok;
}

static void snapshot(const struct gproc *p, struct ginfo *out) {
  out->pid = p->pid;
  out->name = xstrdup(p->name);
  out->owner = xstrdup(p->owner);
  out->command = xstrdup(p->command);
  out->started_ms = p->started_ms;
  out->finished_ms = p->finished_ms;
  out->exited = p->exited;
  out->exit_code = p->exit_code;
}

static int by_seq(const void *a, const void *b) {
  const struct gproc *x = *(struct gproc *const *)a;
  const struct gproc *y = *(struct gproc *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The work is that of the VM's own processes (or of the pids asked for),
 * never that of every process of the simulator. */
bool gop_list(struct sim *sim, const char *id, const struct gauth *a,
              const int64_t *pids, size_t npids, struct ginfo **out, size_t *n,
              struct gfault *f) {
  const char *owner;
  *out = NULL;
  *n = 0;
  sim_lock(sim);
  struct vm *vm = prepare(sim, id, a, &owner, f);
  if (vm && pids) {
    /* the records asked for, in the order they were started, once each */
    struct gproc **found = xcalloc(npids ? npids : 1, sizeof *found);
    size_t k = 0;
    for (size_t i = 0; i < npids; i++) {
      struct gproc *p = gproc_find(sim, id, pids[i]);
      if (p)
        found[k++] = p;
    }
    qsort(found, k, sizeof *found, by_seq);
    *out = xcalloc(k ? k : 1, sizeof **out);
    for (size_t i = 0; i < k; i++)
      if (i == 0 || found[i] != found[i - 1])
        snapshot(found[i], &(*out)[(*n)++]);
    free(found);
  } else if (vm) {
    size_t vi = (size_t)(vm - sim->inv.vms), cap = 0;
    int64_t now = util_now_ms();
    for (struct gproc *p = state_proc_first_of_vm(sim, vi); p;
         p = p->link[PL_VM].next)
      cap++;
    *out = xcalloc(cap ? cap : 1, sizeof **out);
    for (struct gproc *p = state_proc_first_of_vm(sim, vi); p;
         p = p->link[PL_VM].next)
      if (gproc_visible(sim, p, now))
        snapshot(p, &(*out)[(*n)++]);
  }
  sim_unlock(sim);
  return vm != NULL;
}

/* Caller holds the lock. */
static struct gproc *find_proc(struct sim *sim, const char *id, int64_t pid,
                               struct gfault *f) {
  struct gproc *p = gproc_find(sim, id, pid);
  if (!p) {
    f->kind = GF_PID_NOT_FOUND;
    f->pid = pid;
  }
  return p;
}

/* The process pid of VM id after the guest checks; call with the lock. */
static struct gproc *checked_proc(struct sim *sim, const char *id,
                                  const struct gauth *a, int64_t pid,
                                  struct gfault *f) {
  const char *owner;
  return prepare(sim, id, a, &owner, f) ? find_proc(sim, id, pid, f) : NULL;
}

bool gop_get(struct sim *sim, const char *id, const struct gauth *a,
             int64_t pid, struct ginfo *out, struct gfault *f) {
  sim_lock(sim);
  struct gproc *p = checked_proc(sim, id, a, pid, f);
  if (p)
    snapshot(p, out);
  sim_unlock(sim);
  return p != NULL;
}

/* As Tools do it: a process that has exited cannot be signalled (ESRCH),
 * which is "not found", although it is still listed with its exit code. */
bool gop_delete(struct sim *sim, const char *id, const struct gauth *a,
                int64_t pid, struct gfault *f) {
  sim_lock(sim);
  struct gproc *p = checked_proc(sim, id, a, pid, f);
  bool ok = p && gproc_terminate(sim, p);
  if (p && !ok) {
    f->kind = GF_PID_NOT_FOUND;
    f->pid = pid;
  }
  sim_unlock(sim);
  return ok;
}

bool gop_environment(struct sim *sim, const char *id, const struct gauth *a,
                     const char *const *names, size_t nnames, char ***keys,
                     char ***vals, size_t *n, struct gfault *f) {
  const char *owner;
  *keys = *vals = NULL;
  *n = 0;
  sim_lock(sim);
  struct vm *vm = prepare(sim, id, a, &owner, f);
  if (!vm) {
    sim_unlock(sim);
    return false;
  }
  bool root = strcmp(owner, "root") == 0;
  const char *k[] = {"HOME", "HOSTNAME", "LANG", "LOGNAME",
                     "PATH", "SHELL",    "USER"};
  char *v[] = {root ? xstrdup("/root") : xasprintf("/home/%s", owner),
               xstrdup(vm->name),
               xstrdup("C.UTF-8"),
               xstrdup(owner),
               xstrdup("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                       "/sbin:/bin"),
               xstrdup("/bin/bash"),
               xstrdup(owner)};
  sim_unlock(sim);
  size_t total = sizeof k / sizeof *k;
  *keys = xcalloc(total, sizeof **keys);
  *vals = xcalloc(total, sizeof **vals);
  for (size_t i = 0; i < total; i++) {
    bool want = nnames == 0;
    for (size_t j = 0; j < nnames; j++)
      want = want || strcmp(names[j], k[i]) == 0;
    if (want) {
      (*keys)[*n] = xstrdup(k[i]);
      (*vals)[(*n)++] = v[i];
    } else {
      free(v[i]);
    }
  }
  return true;
}
