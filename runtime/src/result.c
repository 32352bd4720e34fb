/* Operation results, built from answers. */
#include "result.h"

#include "json.h"
#include "rfc3339.h"

#include <stdlib.h>
#include <string.h>

static void run_free(vg_run_result *run) {
  if (!run)
    return;
  free((char *)run->out);
  free((char *)run->err);
  free((char *)run->started);
  free((char *)run->finished);
  free(run);
}

void vgi_result_clear(vgi_result *r) {
  free(r->path);
  free(r->files);
  vgi_buf_zfree(&r->data);
  run_free(r->run);
  free(r->procs);
  free(r->vms);
  free(r->objects);
  free(r->guest);
  free(r->env_names);
  free(r->env_values);
  vg_secret_free(r->token);
  free(r->server_release);
  json_decref(r->keep);
  memset(r, 0, sizeof *r);
}

void vgi_result_move(vgi_result *dst, vgi_result *src) {
  if (dst == src)
    return;
  vgi_result_clear(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

static json_t *keep(vgi_result *r) {
  if (!r->keep)
    r->keep = json_array();
  return r->keep;
}

/* A copy of s kept alive with the result; NULL when s is NULL or on
   failure (*fail set). */
static const char *keep_str(vgi_result *r, const char *s, size_t n, int *fail) {
  if (!s)
    return NULL;
  json_t *k = keep(r), *v = json_stringn(s, n);
  if (!k || !v || json_array_append_new(k, v)) {
    *fail = 1;
    return NULL;
  }
  return json_string_value(v);
}

/* A normalized copy of a time string. */
static const char *keep_time(vgi_result *r, const char *raw, int *fail) {
  char t[32];
  if (!raw)
    return NULL;
  const char *s = vgi_time_normalize(raw, t) == 0 ? t : raw;
  return keep_str(r, s, strlen(s), fail);
}

int vgi_result_add_processes(vgi_result *r, json_t *arr,
                             const vgi_proc_names *n, int64_t pid_default) {
  size_t count = json_is_array(arr) ? json_array_size(arr) : 1;
  size_t want = r->nprocs + count;
  vg_process_info *p = realloc(r->procs, (want ? want : 1) * sizeof *p);
  if (!p)
    return -1;
  r->procs = p;
  if (!keep(r) || json_array_append(r->keep, arr))
    return -1;
  for (size_t i = 0; i < count; i++) {
    json_t *o = json_is_array(arr) ? json_array_get(arr, i) : arr;
    if (!json_is_object(o))
      return -1;
    vg_process_info *pi = &r->procs[r->nprocs];
    memset(pi, 0, sizeof *pi);
    json_t *jpid = json_object_get(o, n->pid),
           *jcode = json_object_get(o, n->exit_code),
           *jfin = json_object_get(o, n->finished);
    if ((jpid && !json_is_integer(jpid)) || (!jpid && pid_default <= 0) ||
        (jcode && !json_is_null(jcode) && !json_is_integer(jcode)) ||
        (jfin && !json_is_null(jfin) && !json_is_string(jfin)))
      return -1;
    int fail = 0;
    pi->pid = jpid ? (int64_t)json_integer_value(jpid) : pid_default;
    pi->name = vgi_json_str(o, n->name);
    pi->owner = vgi_json_str(o, n->owner);
    pi->command = vgi_json_str(o, n->command);
    pi->started = keep_time(r, vgi_json_str(o, n->started), &fail);
    pi->finished = keep_time(r, vgi_json_str(o, n->finished), &fail);
    if (fail || !pi->name || !pi->owner || !pi->command || !pi->started ||
        pi->pid <= 0)
      return -1;
    /* A finished process has an exit code and a running one none: an
       answer with one and not the other is refused, never read as
       "finished, code lost" or "running forever". */
    int has_code = json_is_integer(jcode);
    if ((pi->finished != NULL) != has_code)
      return -1;
    if (has_code) {
      json_int_t code = json_integer_value(jcode);
      if (code < INT32_MIN || code > INT32_MAX)
        return -1;
      pi->has_exit_code = 1;
      pi->exit_code = (int)code;
    }
    r->nprocs++;
  }
  return 0;
}

void vgi_result_keep_pids(vgi_result *r, const json_t *pids) {
  size_t n = 0;
  for (size_t i = 0; i < r->nprocs; i++) {
    size_t k;
    json_t *p;
    int wanted = 0;
    json_array_foreach(pids, k, p) {
      if (json_integer_value(p) == r->procs[i].pid)
        wanted = 1;
    }
    if (wanted)
      r->procs[n++] = r->procs[i];
  }
  r->nprocs = n;
}

int vgi_result_add_vm(vgi_result *r, const char *id, const char *name,
                      const char *power_state) {
  vg_vm_info *v = realloc(r->vms, (r->nvms + 1) * sizeof *v);
  if (!v)
    return -1;
  r->vms = v;
  int fail = 0;
  vg_vm_info *vm = &r->vms[r->nvms];
  vm->id = keep_str(r, id, strlen(id), &fail);
  vm->name = keep_str(r, name, strlen(name), &fail);
  vm->power_state = keep_str(r, power_state, strlen(power_state), &fail);
  if (fail)
    return -1;
  r->nvms++;
  return 0;
}

void vgi_result_keep_vms(vgi_result *r, int (*keep)(void *, const vg_vm_info *),
                         void *ud) {
  size_t i, n = 0;
  for (i = 0; i < r->nvms; i++)
    if (keep(ud, &r->vms[i]))
      r->vms[n++] = r->vms[i];
  r->nvms = n;
}

int vgi_result_add_object(vgi_result *r, const char *id, const char *name) {
  vg_object_info *v = realloc(r->objects, (r->nobjects + 1) * sizeof *v);
  if (!v)
    return -1;
  r->objects = v;
  int fail = 0;
  vg_object_info *o = &r->objects[r->nobjects];
  o->id = keep_str(r, id, strlen(id), &fail);
  o->name = keep_str(r, name, strlen(name), &fail);
  if (fail)
    return -1;
  r->nobjects++;
  return 0;
}

int vgi_result_set_guest(vgi_result *r, const vg_guest_info *g) {
  int fail = 0;
  vg_guest_info *c = r->guest ? r->guest : calloc(1, sizeof *c);
  if (!c)
    return -1;
  r->guest = c;
  c->tools = g->tools ? keep_str(r, g->tools, strlen(g->tools), &fail) : NULL;
  c->ops_ready = g->ops_ready;
#define KEEP(f) c->f = g->f ? keep_str(r, g->f, strlen(g->f), &fail) : NULL
  KEEP(family);
  KEEP(ip_address);
  KEEP(host_name);
  KEEP(host);
#undef KEEP
  return fail ? -1 : 0;
}

int vgi_result_add_env(vgi_result *r, const char *name, size_t name_len,
                       const char *value) {
  size_t n = r->nenv + 1;
  char **names = realloc(r->env_names, n * sizeof *names);
  if (!names)
    return -1;
  r->env_names = names;
  char **values = realloc(r->env_values, n * sizeof *values);
  if (!values)
    return -1;
  r->env_values = values;
  int fail = 0;
  const char *k = keep_str(r, name, name_len, &fail);
  const char *v = keep_str(r, value, strlen(value), &fail);
  if (fail)
    return -1;
  r->env_names[r->nenv] = (char *)k;
  r->env_values[r->nenv++] = (char *)v;
  return 0;
}

int vgi_result_add_file(vgi_result *r, const vg_file_info *f) {
  vg_file_info *v = realloc(r->files, (r->nfiles + 1) * sizeof *v);
  if (!v)
    return -1;
  r->files = v;
  int fail = 0;
  vg_file_info *n = &r->files[r->nfiles];
  *n = *f;
  n->name = keep_str(r, f->name, f->name ? strlen(f->name) : 0, &fail);
  n->modified = keep_time(r, f->modified, &fail);
  n->symlink_target =
      keep_str(r, f->symlink_target,
               f->symlink_target ? strlen(f->symlink_target) : 0, &fail);
  if (fail)
    return -1;
  r->nfiles++;
  return 0;
}

int vgi_result_set_path(vgi_result *r, const char *path) {
  char *p = strdup(path);
  if (!p)
    return -1;
  free(r->path);
  r->path = p;
  return 0;
}

vg_status vgi_result_set_token(vgi_result *r, const char *tok, size_t len) {
  if (!tok || len == 0 || len > 4096)
    return VG_EPROTOCOL;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e)
      return VG_EPROTOCOL;
  vg_secret_free(r->token);
  r->token = NULL;
  return vg_secret_new(tok, len, &r->token);
}

vg_status vgi_result_set_pid(vgi_result *r, json_t *v) {
  if (!json_is_integer(v) || json_integer_value(v) <= 0)
    return VG_EPROTOCOL;
  r->pid = (int64_t)json_integer_value(v);
  return VG_OK;
}
