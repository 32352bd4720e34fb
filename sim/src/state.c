#include "state.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const flavour_names[FL_COUNT] = {"api", "rest", "vim25"};

const char *flavour_name(enum flavour fl) {
  return flavour_names[fl];
}

static const char *const op_names[OP_COUNT] = {
#define X(id, name) name,
    SIM_OPS(X)
#undef X
};

const char *op_name(enum op op) {
  return op_names[op];
}

bool op_parse(const char *name, enum op *out) {
  for (int i = 0; i < OP_COUNT; i++) {
    if (strcmp(op_names[i], name) == 0) {
      *out = (enum op)i;
      return true;
    }
  }
  return false;
}

static const char *const malform_names[] = {
#define X(id, name) name,
    SIM_MALFORMS(X)
#undef X
};

bool malform_parse(const char *name, enum malform *out) {
  for (size_t i = 0; i < sizeof malform_names / sizeof *malform_names; i++) {
    if (strcmp(malform_names[i], name) == 0) {
      *out = (enum malform)(i + 1); /* after MAL_NONE */
      return true;
    }
  }
  return false;
}

void sim_init(struct sim *sim) {
  memset(sim, 0, sizeof *sim);
  pthread_mutex_init(&sim->mu, NULL);
  pthread_cond_init(&sim->child_cv, NULL);
  sim->proc_log_fd = -1;
  hmap_init(&sim->sessions, true);
  hmap_init(&sim->proc_by_pid, false);
  hmap_init(&sim->views, false);
  hmap_init(&sim->pages, false);
  hmap_init(&sim->xfer_by_id, false);
}

void state_proc_log(struct sim *sim, const struct gproc *p) {
  if (sim->proc_log_fd < 0)
    return;
  json_t *j = p->exited ? json_pack("{s:s,s:I,s:s,s:i}", "event", "exit", "pid",
                                    (json_int_t)p->pid, "vm", p->vm_id,
                                    "exit_code", p->exit_code)
                        : json_pack("{s:s,s:I,s:s,s:s}", "event", "start",
                                    "pid", (json_int_t)p->pid, "vm", p->vm_id,
                                    "command", p->command);
  char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  char *line = xasprintf("%s\n", text ? text : "{}");
  /* one write of a line to an O_APPEND file: it survives a SIGKILL */
  for (size_t off = 0, n = strlen(line); off < n;) {
    ssize_t w = write(sim->proc_log_fd, line + off, n - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  free(line);
  free(text);
  json_decref(j);
}

void state_proc_free(struct gproc *p) {
  if (!p)
    return;
  free(p->vm_id);
  free(p->name);
  free(p->owner);
  free(p->command);
  free(p);
}

/* ---- process records ---------------------------------------------------- */

static void chain_append(struct pchain *c, struct gproc *p, int which) {
  p->link[which].prev = c->tail;
  p->link[which].next = NULL;
  if (c->tail)
    c->tail->link[which].next = p;
  else
    c->head = p;
  c->tail = p;
}

static void chain_remove(struct pchain *c, struct gproc *p, int which) {
  struct plink *l = &p->link[which];
  if (l->prev)
    l->prev->link[which].next = l->next;
  else if (c->head == p)
    c->head = l->next;
  else
    return; /* not on this chain */
  if (l->next)
    l->next->link[which].prev = l->prev;
  else
    c->tail = l->prev;
  l->prev = l->next = NULL;
}

struct gproc *state_proc_get(struct sim *sim, int64_t pid) {
  char key[24];
  hmap_int_key(pid, key);
  return hmap_get(&sim->proc_by_pid, key);
}

void state_proc_forget(struct sim *sim, struct gproc *p) {
  char key[24];
  hmap_int_key(p->pid, key);
  if (hmap_get(&sim->proc_by_pid, key) == p)
    hmap_del(&sim->proc_by_pid, key);
  chain_remove(&sim->procs, p, PL_ALL);
  chain_remove(&sim->vm_procs[p->vm_index], p, PL_VM);
  if (p->exited)
    chain_remove(&sim->exited, p, PL_EXITED);
  else
    sim->nrunning--;
  state_proc_free(p);
}

void state_proc_add(struct sim *sim, struct gproc *p) {
  char key[24];
  struct vm *vm = inventory_vm(&sim->inv, p->vm_id);
  if (!sim->vm_procs)
    sim->vm_procs =
        xcalloc(sim->inv.nvms ? sim->inv.nvms : 1, sizeof *sim->vm_procs);
  struct gproc *old = state_proc_get(sim, p->pid);
  if (old)
    state_proc_forget(sim, old);
  p->seq = ++sim->next_seq;
  p->vm_index = vm ? (size_t)(vm - sim->inv.vms) : 0;
  chain_append(&sim->procs, p, PL_ALL);
  chain_append(&sim->vm_procs[p->vm_index], p, PL_VM);
  hmap_int_key(p->pid, key);
  hmap_put(&sim->proc_by_pid, key, p);
  sim->nrunning++;
}

struct gproc *state_proc_first_of_vm(struct sim *sim, size_t vm) {
  return sim->vm_procs && vm < sim->inv.nvms ? sim->vm_procs[vm].head : NULL;
}

void state_proc_exited(struct sim *sim, struct gproc *p) {
  if (p->exited)
    return;
  p->exited = true;
  sim->nrunning--;
  chain_append(&sim->exited, p, PL_EXITED);
}

void state_kill_push(struct sim *sim, const struct gproc *p, int64_t due_mono) {
  struct gkill *k = xcalloc(1, sizeof *k);
  k->pid = p->pid;
  k->seq = p->seq;
  k->due_mono = due_mono;
  if (sim->kills_tail)
    sim->kills_tail->next = k;
  else
    sim->kills = k;
  sim->kills_tail = k;
}

struct gkill *state_kill_pop_due(struct sim *sim, int64_t now) {
  struct gkill *k = sim->kills;
  if (!k || k->due_mono > now)
    return NULL;
  sim->kills = k->next;
  if (!sim->kills)
    sim->kills_tail = NULL;
  k->next = NULL;
  return k;
}

static void free_procs(struct sim *sim) {
  struct gproc *p = sim->procs.head;
  while (p) {
    struct gproc *next = p->link[PL_ALL].next;
    state_proc_free(p);
    p = next;
  }
  memset(&sim->procs, 0, sizeof sim->procs);
  memset(&sim->exited, 0, sizeof sim->exited);
  free(sim->vm_procs);
  sim->vm_procs = NULL;
  hmap_free(&sim->proc_by_pid);
  while (sim->kills) {
    struct gkill *next = sim->kills->next;
    free(sim->kills);
    sim->kills = next;
  }
  sim->kills_tail = NULL;
}

static void free_vobj(void *item) {
  struct vobj *v = item;
  free(v->id);
  json_decref(v->rest);
  free(v);
}

static void free_session(void *item) {
  struct session *s = item;
  free(s->user);
  free(s);
}

void state_xfer_free(struct gxfer *x) {
  if (!x)
    return;
  free(x->vm_id);
  free(x->path);
  free(x);
}

static void free_xfers(struct gxfer *x) {
  while (x) {
    struct gxfer *next = x->next;
    state_xfer_free(x);
    x = next;
  }
}

void sim_destroy(struct sim *sim) {
  state_expire_sessions(sim);
  hmap_free(&sim->sessions);
  free_xfers(sim->xfers);
  sim->xfers = NULL;
  hmap_free(&sim->xfer_by_id);
  free(sim->xfer_base);
  free_procs(sim);
  hmap_clear(&sim->views, free_vobj);
  hmap_free(&sim->views);
  hmap_clear(&sim->pages, free_vobj);
  hmap_free(&sim->pages);
  inventory_free(&sim->inv);
  free(sim->tools_pending);
  for (size_t i = 0; i < sim->cfg.nreleases; i++)
    free(sim->cfg.releases[i]);
  free(sim->cfg.releases);
  pthread_cond_destroy(&sim->child_cv);
  pthread_mutex_destroy(&sim->mu);
  if (sim->proc_log_fd >= 0)
    close(sim->proc_log_fd);
}

void sim_lock(struct sim *sim) {
  pthread_mutex_lock(&sim->mu);
}

void sim_unlock(struct sim *sim) {
  pthread_mutex_unlock(&sim->mu);
}

/* Writes a random key in the form of vCenter's session keys,
 * "52a3f5d5-8c3e-7a53-5d2b-1f1f2c8b1e3a". */
static void session_key(char key[37]) {
  char hex[33];
  util_random_hex(hex, 32);
  snprintf(key, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
           hex + 16, hex + 20);
}

bool state_login(struct sim *sim, const char *user, const char *password,
                 enum flavour fl, char token[33], char key[37]) {
  bool ok = false;
  sim_lock(sim);
  for (size_t i = 0; i < sim->inv.nusers; i++) {
    const struct account *a = &sim->inv.users[i];
    if (strcmp(a->user, user) == 0 && util_secret_eq(a->password, password))
      ok = true;
  }
  if (ok) {
    struct session *s = xcalloc(1, sizeof *s);
    util_random_hex(s->token, 32);
    session_key(s->key);
    s->user = xstrdup(user);
    s->created_ms = s->last_ms = util_now_ms();
    hmap_put(&sim->sessions, s->token, s);
    memcpy(token, s->token, 33);
    if (key)
      memcpy(key, s->key, 37);
    sim->logins[fl]++;
  }
  sim_unlock(sim);
  return ok;
}

bool state_session(struct sim *sim, const char *token, struct session *out,
                   char *user, size_t userlen) {
  bool found = false;
  if (!token)
    return false;
  sim_lock(sim);
  struct session *s = hmap_get(&sim->sessions, token);
  if (s) {
    s->last_ms = util_now_ms();
    *out = *s;
    out->user = user;
    snprintf(user, userlen, "%s", s->user);
    found = true;
  }
  sim_unlock(sim);
  return found;
}

bool state_logout(struct sim *sim, const char *token) {
  sim_lock(sim);
  struct session *s = hmap_del(&sim->sessions, token);
  sim_unlock(sim);
  if (s)
    free_session(s);
  return s != NULL;
}

void state_expire_sessions(struct sim *sim) {
  sim_lock(sim);
  hmap_clear(&sim->sessions, free_session);
  sim_unlock(sim);
}

enum inject state_begin_op(struct sim *sim, enum op op) {
  enum inject inj = INJ_NONE;
  sim_lock(sim);
  sim->by_op[op]++;
  if (sim->fail_count > 0 && sim->fail_ops[op]) {
    sim->fail_count--;
    sim->injected.failed++;
    inj = sim->fail_kind;
  } else if (sim->drop_count > 0 && sim->drop_before && sim->drop_ops[op]) {
    sim->drop_count--;
    sim->injected.dropped++;
    inj = INJ_DROP;
  }
  sim_unlock(sim);
  return inj;
}

enum malform state_take_malform(struct sim *sim, enum op op) {
  enum malform how = MAL_NONE;
  sim_lock(sim);
  if (sim->malform_count > 0 && sim->malform_ops[op]) {
    sim->malform_count--;
    sim->injected.garbled++;
    how = sim->malform_how;
  }
  sim_unlock(sim);
  return how;
}

bool state_take_drop_after(struct sim *sim, enum op op) {
  bool drop = false;
  sim_lock(sim);
  if (sim->drop_count > 0 && !sim->drop_before && sim->drop_ops[op]) {
    sim->drop_count--;
    sim->injected.dropped++;
    drop = true;
  }
  sim_unlock(sim);
  return drop;
}

int64_t state_latency(struct sim *sim) {
  sim_lock(sim);
  int64_t ms = sim->latency_ms;
  if (ms > 0)
    sim->injected.delayed++;
  sim_unlock(sim);
  return ms;
}

static bool vobj_remove(struct hmap *m, const char *id) {
  struct vobj *v = hmap_del(m, id);
  if (v)
    free_vobj(v);
  return v != NULL;
}

char *state_view_new(struct sim *sim, const struct entity *container,
                     unsigned types, bool recursive) {
  char rnd[33];
  util_random_hex(rnd, 32);
  struct vobj *v = xcalloc(1, sizeof *v);
  v->container = container;
  v->types = types;
  v->recursive = recursive;
  sim_lock(sim);
  v->id = xasprintf("session[%.8s-%.4s-%.4s-%.4s-%.12s]%u", rnd, rnd + 8,
                    rnd + 12, rnd + 16, rnd + 20, ++sim->next_view);
  hmap_put(&sim->views, v->id, v);
  char *id = xstrdup(v->id);
  sim_unlock(sim);
  return id;
}

bool state_view_get(struct sim *sim, const char *id,
                    const struct entity **container, unsigned *types,
                    bool *recursive) {
  sim_lock(sim);
  const struct vobj *v = hmap_get(&sim->views, id);
  if (v) {
    *container = v->container;
    *types = v->types;
    *recursive = v->recursive;
  }
  sim_unlock(sim);
  return v != NULL;
}

bool state_view_destroy(struct sim *sim, const char *id) {
  sim_lock(sim);
  bool found = vobj_remove(&sim->views, id);
  sim_unlock(sim);
  return found;
}

char *state_page_new(struct sim *sim, json_t *rest, size_t page) {
  struct vobj *v = xcalloc(1, sizeof *v);
  char rnd[17];
  util_random_hex(rnd, 16);
  v->id = xstrdup(rnd);
  v->rest = rest;
  v->page = page;
  sim_lock(sim);
  hmap_put(&sim->pages, v->id, v);
  sim_unlock(sim);
  return xstrdup(rnd);
}

json_t *state_page_next(struct sim *sim, const char *token, bool *more) {
  json_t *out = NULL;
  sim_lock(sim);
  struct vobj *v = hmap_get(&sim->pages, token);
  if (v) {
    out = json_array();
    size_t n = json_array_size(v->rest);
    for (; json_array_size(out) < v->page && v->pos < n; v->pos++)
      json_array_append(out, json_array_get(v->rest, v->pos));
    *more = v->pos < n;
    if (!*more)
      vobj_remove(&sim->pages, token);
  }
  sim_unlock(sim);
  return out;
}

static json_int_t xfers_live(struct sim *sim, int64_t now);

json_t *state_stats(struct sim *sim) {
  json_t *logins = json_object(), *by_op = json_object();
  json_t *procs = json_array();
  sim_lock(sim);
  for (int i = 0; i < FL_COUNT; i++)
    json_object_set_new(logins, flavour_names[i], json_integer(sim->logins[i]));
  for (int i = 0; i < OP_COUNT; i++)
    json_object_set_new(by_op, op_names[i], json_integer(sim->by_op[i]));
  for (struct gproc *p = sim->procs.head; p; p = p->link[PL_ALL].next) {
    json_t *e = json_pack("{s:I,s:s,s:s,s:b}", "pid", (json_int_t)p->pid, "vm",
                          p->vm_id, "command", p->command, "exited", p->exited);
    if (p->exited)
      json_object_set_new(e, "exit_code", json_integer(p->exit_code));
    json_array_append_new(procs, e);
  }
  json_int_t nsessions = (json_int_t)sim->sessions.count;
  json_t *xs = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "created",
                         (json_int_t)sim->xstats.created, "requests",
                         (json_int_t)sim->xstats.requests, "downloads",
                         (json_int_t)sim->xstats.downloads, "uploads",
                         (json_int_t)sim->xstats.uploads, "failed",
                         (json_int_t)sim->xstats.failed, "bytes_down",
                         (json_int_t)sim->xstats.bytes_down, "bytes_up",
                         (json_int_t)sim->xstats.bytes_up, "live",
                         xfers_live(sim, util_mono_ms()));
  json_t *inj =
      json_pack("{s:I,s:I,s:I,s:I}", "failed", (json_int_t)sim->injected.failed,
                "dropped", (json_int_t)sim->injected.dropped, "garbled",
                (json_int_t)sim->injected.garbled, "delayed",
                (json_int_t)sim->injected.delayed);
  json_t *j =
      json_pack("{s:I,s:o,s:I,s:o,s:o,s:I,s:o,s:o}", "requests",
                (json_int_t)sim->requests, "logins", logins, "creates",
                (json_int_t)sim->creates, "by_op", by_op, "processes", procs,
                "sessions", nsessions, "transfers", xs, "injected", inj);
  sim_unlock(sim);
  return j;
}

/* ---- transfer URLs ---------------------------------------------------- */

static struct gxfer *xfer_copy(const struct gxfer *x) {
  struct gxfer *c = xmalloc(sizeof *c);
  *c = *x;
  c->vm_id = xstrdup(x->vm_id);
  c->path = xstrdup(x->path);
  c->next = NULL;
  return c;
}

void state_xfer_add(struct sim *sim, struct gxfer *x) {
  struct gxfer *c = xfer_copy(x);
  util_random_hex(c->token, 32);
  c->state = XS_IDLE;
  sim_lock(sim);
  c->id = ++sim->next_xfer;
  c->expires_mono = util_mono_ms() + sim->cfg.transfer_ttl_ms;
  c->next = sim->xfers;
  sim->xfers = c;
  char key[24];
  hmap_int_key(c->id, key);
  hmap_put(&sim->xfer_by_id, key, c);
  sim->xstats.created++;
  x->id = c->id;
  memcpy(x->token, c->token, sizeof x->token);
  sim_unlock(sim);
}

static struct gxfer *xfer_find(struct sim *sim, int64_t id) {
  char key[24];
  hmap_int_key(id, key);
  return hmap_get(&sim->xfer_by_id, key);
}

enum xfer_refusal state_xfer_claim(struct sim *sim, int64_t id,
                                   const char *token, bool upload,
                                   struct gxfer **out) {
  enum xfer_refusal why = XR_OK;
  *out = NULL;
  sim_lock(sim);
  struct gxfer *x = xfer_find(sim, id);
  struct vm *vm = x ? inventory_vm(&sim->inv, x->vm_id) : NULL;
  if (!x || !token || !util_secret_eq(x->token, token))
    why = XR_UNKNOWN;
  else if (x->state == XS_DONE)
    why = XR_USED;
  else if (x->state == XS_INVALID || !vm || vm->power != PS_POWERED_ON) {
    x->state = XS_INVALID;
    why = XR_INVALID;
  } else if (util_mono_ms() >= x->expires_mono)
    why = XR_EXPIRED;
  else if (x->upload != upload)
    why = XR_WRONG_METHOD;
  else if (x->state == XS_BUSY)
    why = XR_BUSY;
  else if (!vm->tools_running)
    why = XR_NO_TOOLS;
  if (why == XR_OK) {
    x->state = XS_BUSY;
    *out = xfer_copy(x);
  }
  sim_unlock(sim);
  return why;
}

void state_xfer_release(struct sim *sim, int64_t id, bool done) {
  sim_lock(sim);
  struct gxfer *x = xfer_find(sim, id);
  if (x && x->state == XS_BUSY)
    x->state = done ? XS_DONE : XS_IDLE;
  sim_unlock(sim);
}

void state_xfer_invalidate_vm(struct sim *sim, const char *vm_id) {
  sim_lock(sim);
  for (struct gxfer *x = sim->xfers; x; x = x->next)
    if (strcmp(x->vm_id, vm_id) == 0 && x->state != XS_DONE)
      x->state = XS_INVALID;
  sim_unlock(sim);
}

static void tools_apply(struct vm *vm, int tools) {
  vm->tools_running = tools == 1;
  vm->tools_scripts = tools == 2;
}

void state_vm_tools(struct sim *sim, struct vm *vm, int tools,
                    int64_t delay_ms) {
  bool was_pending = vm->tools_due != 0;
  if (delay_ms <= 0) {
    tools_apply(vm, tools);
    vm->tools_due = 0;
  } else {
    tools_apply(vm, 0);
    vm->tools_next = tools;
    vm->tools_due = util_mono_ms() + delay_ms;
  }
  if (was_pending || vm->tools_due == 0)
    return;
  if (sim->ntools_pending == sim->tools_pending_cap)
    sim->tools_pending =
        xrealloc(sim->tools_pending,
                 (sim->tools_pending_cap = sim->tools_pending_cap * 2 + 8) *
                     sizeof *sim->tools_pending);
  sim->tools_pending[sim->ntools_pending++] = vm;
}

void state_tools_housekeep(struct sim *sim) {
  int64_t now = util_mono_ms();
  sim_lock(sim);
  for (size_t i = 0; i < sim->ntools_pending;) {
    struct vm *vm = sim->tools_pending[i];
    if (vm->tools_due != 0 && vm->tools_due > now) {
      i++;
      continue;
    }
    if (vm->tools_due != 0)
      tools_apply(vm, vm->tools_next);
    vm->tools_due = 0;
    sim->tools_pending[i] = sim->tools_pending[--sim->ntools_pending];
  }
  sim_unlock(sim);
}

void state_xfer_housekeep(struct sim *sim) {
  int64_t now = util_mono_ms();
  sim_lock(sim);
  for (struct gxfer **pp = &sim->xfers; *pp;) {
    struct gxfer *x = *pp;
    if (x->state != XS_BUSY && now >= x->expires_mono + 60 * 1000) {
      char key[24];
      hmap_int_key(x->id, key);
      hmap_del(&sim->xfer_by_id, key);
      *pp = x->next;
      state_xfer_free(x);
    } else {
      pp = &x->next;
    }
  }
  sim_unlock(sim);
}

enum xfail state_xfer_take_fail(struct sim *sim, bool upload) {
  enum xfail how = XF_NONE;
  sim_lock(sim);
  if (sim->xfail_count > 0 && sim->xfail_dir[upload]) {
    sim->xfail_count--;
    how = sim->xfail_how;
  }
  sim_unlock(sim);
  return how;
}

void state_xfer_note(struct sim *sim, enum xnote what, int64_t n) {
  sim_lock(sim);
  switch (what) {
  case XN_REQUEST:
    sim->xstats.requests++;
    break;
  case XN_DOWNLOAD:
    sim->xstats.downloads++;
    break;
  case XN_UPLOAD:
    sim->xstats.uploads++;
    break;
  case XN_FAILED:
    sim->xstats.failed++;
    break;
  case XN_BYTES_DOWN:
    sim->xstats.bytes_down += n;
    break;
  case XN_BYTES_UP:
    sim->xstats.bytes_up += n;
    break;
  }
  sim_unlock(sim);
}

static const char *xfer_state_name(const struct gxfer *x, int64_t now) {
  if (x->state == XS_DONE)
    return "used";
  if (x->state == XS_INVALID)
    return "invalid";
  if (now >= x->expires_mono)
    return "expired";
  return x->state == XS_BUSY ? "busy" : "ready";
}

/* Caller holds the lock. URLs that can still be used. */
static json_int_t xfers_live(struct sim *sim, int64_t now) {
  json_int_t n = 0;
  for (struct gxfer *x = sim->xfers; x; x = x->next)
    n += (x->state == XS_IDLE || x->state == XS_BUSY) && now < x->expires_mono;
  return n;
}

json_t *state_xfers_json(struct sim *sim) {
  json_t *list = json_array();
  int64_t now = util_mono_ms();
  sim_lock(sim);
  for (struct gxfer *x = sim->xfers; x; x = x->next)
    json_array_insert_new(
        list, 0,
        json_pack(
            "{s:I,s:s,s:s,s:s,s:I,s:s,s:I}", "id", (json_int_t)x->id, "vm",
            x->vm_id, "path", x->path, "direction",
            x->upload ? "upload" : "download", "size", (json_int_t)x->size,
            "state", xfer_state_name(x, now), "expires_in_ms",
            (json_int_t)(x->expires_mono > now ? x->expires_mono - now : 0)));
  sim_unlock(sim);
  return list;
}
