/*
 * vg_run: a command in the guest with its output captured. One driven op
 * whose steps are ordinary ops:
 *
 *   [guest family] -> [guest environment, for merge] -> temp directory ->
 *   [stdin uploaded] -> process created (output redirected into the temp
 *   directory) -> waited on (get, back-off 50 ms to 1 s) -> stdout and
 *   stderr downloaded -> temp directory removed -> done
 *
 * Whatever ends a run early (a failure, the timeout, vg_run_stop) goes
 * through the same tail: the process is terminated if it may still run,
 * the output so far is downloaded, the directory removed, and only then
 * does the op complete, with the first failure. A run canceled or freed
 * while pending leaves that tail to detached ops in the background.
 *
 * Before the command starts, a failure ends the run at once with the
 * step's error, retryable as it was (nothing ran: the caller may run it
 * again; a VM whose Tools are down says so now, not after a minute).
 * After it started, a step that fails for a reason that passes (busy,
 * unavailable, a dropped connection) is taken again after a back-off, for
 * as long as polls ride such failures out, since the run cannot be begun
 * again: a terminate whose answer was lost ends as not found the second
 * time, a download only reads, a removal ends as not found. The run's
 * error then says maybe_done and is not retryable: running the whole
 * command again is the caller's choice, not a retry.
 */
#include "session.h"

#include "quote.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_OUTPUT (64u << 20)
#define POLL_FIRST_MS 50
#define POLL_MAX_MS 1000
#define RETRY_FOR_MS 60000 /* as p:wait's retry_for */

typedef enum phase {
  P_FAMILY,
  P_ENV,
  P_MKTEMP,
  P_STDIN,
  P_CREATE,
  P_WAIT, /* a back-off timer */
  P_POLL, /* a get of the process */
  P_KILL,
  P_OUT,
  P_ERR,
  P_CLEAN,
  P_DONE
} phase;

typedef struct stream {
  vgi_buf kept;
  size_t cap, seen;
} stream;

typedef struct run {
  vg_op *op;
  vg_session *s;
  char *vm;
  vg_credentials *cred;
  vg_os os;
  char **argv; /* owned copies */
  char *command;
  char *cwd;
  char **env; /* "K=V" */
  vg_env_mode env_mode;
  char *stdin_path; /* local file */
  void *stdin_data;
  size_t stdin_len;
  int has_stdin;
  char *stdout_file, *stderr_file;
  long timeout_ms;
  uint64_t deadline; /* 0: none */

  phase at;
  void (*done)(struct run *r, vg_op *sub); /* the handler of sub's end */
  vg_op *sub;    /* the op in flight (a timer while waiting) */
  char *dir;     /* the guest temp directory */
  int stopping;  /* vg_run_stop: to the tail once the step in flight ends */
  int created;   /* the process was started */
  int exited;    /* ... and has an exit code */
  long delay_ms; /* next poll back-off */
  uint64_t poll_failing_since; /* first of the polls failing in a row */
  uint64_t step_failing_since; /* ... of the other steps' tries */
  long retry_ms;               /* the back-off before a step again */
  int retrying;                /* sub is that back-off's timer */
  vg_status final;             /* the first failure (VG_OK: none) */
  vgi_error ferr;
  stream out, err;
} run;

static void step(run *r);

/* ---- bookkeeping ------------------------------------------------------ */

static void free_strings(char **v) {
  for (char **p = v; p && *p; p++)
    free(*p);
  free(v);
}

static char **copy_strings(const char *const *v, int *fail) {
  size_t n = 0;
  if (!v)
    return NULL;
  while (v[n])
    n++;
  char **c = calloc(n + 1, sizeof *c);
  for (size_t i = 0; c && i < n; i++)
    if (!(c[i] = strdup(v[i])))
      *fail = 1;
  if (!c)
    *fail = 1;
  return c;
}

static void run_free(run *r) {
  vg_op_free(r->sub);
  free(r->vm);
  vg_credentials_free(r->cred);
  free_strings(r->argv);
  free(r->command);
  free(r->cwd);
  free_strings(r->env);
  free(r->stdin_path);
  if (r->stdin_data) {
    vgi_zero(r->stdin_data, r->stdin_len);
    free(r->stdin_data);
  }
  free(r->stdout_file);
  free(r->stderr_file);
  free(r->dir);
  vgi_error_clear(&r->ferr);
  vgi_buf_zfree(&r->out.kept);
  vgi_buf_zfree(&r->err.kept);
  free(r);
}

/* Notes the first failure; the run then goes to its tail. */
static void failed(run *r, vg_status st, const vgi_error *e) {
  if (r->final != VG_OK)
    return;
  r->final = st;
  if (e)
    vgi_error_copy(&r->ferr, e);
  else
    vgi_error_set(&r->ferr, st, "%s", vg_status_text(st));
}

static void failedf(run *r, vg_status st, const char *fmt, ...)
    VGI_PRINTF(3, 4);
static void failedf(run *r, vg_status st, const char *fmt, ...) {
  if (r->final != VG_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  vgi_error_vset(&r->ferr, st, fmt, ap);
  va_end(ap);
  r->final = st;
}

/* Where a run that failed or was stopped goes next. */
static phase tail(const run *r) {
  if (r->created && !r->exited)
    return P_KILL;
  if (r->created)
    return P_OUT;
  return r->dir ? P_CLEAN : P_DONE;
}

static char *guest_file(const run *r, const char *name) {
  return vgi_printf("%s%s%s", r->dir, r->os == VG_OS_WINDOWS ? "\\" : "/",
                    name);
}

/* ---- the driver --------------------------------------------------------- */

/* In the background, with no one to tell: terminate and remove. */
static void clean_behind(run *r) {
  vg_op *op = NULL;
  if (r->created && !r->exited &&
      vg_process_delete(r->s, r->vm, r->cred, r->op->res.run->pid, NULL, NULL,
                        &op) == VG_OK)
    vgi_op_detach(op);
  if (r->dir && vg_file_remove(r->s, r->vm, r->cred, r->dir,
                               VG_REMOVE_DIRECTORY | VG_REMOVE_RECURSIVE, NULL,
                               NULL, &op) == VG_OK)
    vgi_op_detach(op);
}

/* A mktemp or a create in flight when the run goes away: what it makes
   (a directory, a process) is unknown yet, so the op is left to finish in
   the background, and what it made is removed then. */
typedef struct behind {
  vg_session *s;
  char *vm;
  vg_credentials *cred;
  char *dir;
} behind;

static void on_behind(vg_op *sub, void *ud) {
  behind *b = ud;
  vg_op *op = NULL;
  /* the session still there (it fails its ops when it closes) */
  if (sub->status == VG_OK && vgi_session_alive(sub)) {
    if (sub->kind == VGI_OP_CREATE &&
        vg_process_delete(b->s, b->vm, b->cred, vg_op_pid(sub), NULL, NULL,
                          &op) == VG_OK)
      vgi_op_detach(op);
    const char *dir = sub->kind == VGI_OP_MKTEMP ? vg_op_path(sub) : b->dir;
    if (dir && vg_file_remove(b->s, b->vm, b->cred, dir,
                              VG_REMOVE_DIRECTORY | VG_REMOVE_RECURSIVE, NULL,
                              NULL, &op) == VG_OK)
      vgi_op_detach(op);
  }
  free(b->vm);
  vg_credentials_free(b->cred);
  free(b->dir);
  free(b);
}

static int hand_over(run *r) {
  behind *b = calloc(1, sizeof *b);
  if (!b)
    return -1;
  b->s = r->s;
  b->vm = strdup(r->vm);
  b->dir = r->dir ? strdup(r->dir) : NULL;
  if (!b->vm || (r->dir && !b->dir) ||
      vgi_credentials_dup(r->cred, &b->cred) != VG_OK) {
    free(b->vm);
    free(b->dir);
    free(b);
    return -1;
  }
  r->sub->cb = on_behind;
  r->sub->ud = b;
  vgi_op_detach(r->sub);
  r->sub = NULL;
  return 0;
}

static void run_stop(vg_op *op, void *p, int closing) {
  run *r = p;
  (void)op;
  if (closing || r->at == P_DONE)
    return; /* the session fails the sub-op itself */
  if (r->sub && !r->retrying && (r->at == P_MKTEMP || r->at == P_CREATE) &&
      hand_over(r) == 0)
    r->dir = NULL; /* the handed-over op removes it */
  vg_op_free(r->sub);
  r->sub = NULL;
  clean_behind(r);
  r->at = P_DONE;
}

static void run_release(vg_op *op, void *p) {
  (void)op;
  run_free(p);
}

static const vgi_driver run_driver = {run_stop, run_release};

/* Takes the sub-op that completed; NULL when the run is over. */
static vg_op *took(run *r, vg_op *sub) {
  r->sub = NULL;
  if (r->op->status != VG_EPENDING) {
    vg_op_free(sub);
    return NULL;
  }
  return sub;
}

/* ---- the steps ---------------------------------------------------------- */

/* Whether the step that failed with sub may be taken again. */
static int again(const run *r, const vg_op *sub) {
  const vg_error *e = &sub->err.pub;
  if (r->stopping && r->at < P_KILL)
    return 0; /* on its way out: what it has not started, it skips */
  switch (r->at) {
  case P_CLEAN: /* else the directory stays behind in the guest */
    return e->retryable;
  case P_KILL: /* a second terminate of an ended process: not found */
    return e->retryable || e->maybe_done;
  case P_OUT: /* reading again is harmless, whatever a transfer says */
  case P_ERR:
    return vgi_status_retryable(sub->status);
  default: /* before the command: the caller's to retry; the guest family
              has its fallback, polls their own rule */
    return 0;
  }
}

static void on_sub(vg_op *sub, void *ud);

/* The failed step again after a back-off, within the polls' window. */
static vg_status retry_later(run *r) {
  uint64_t now = vgi_now_ms();
  if (!r->step_failing_since)
    r->step_failing_since = now;
  else if (now - r->step_failing_since >= RETRY_FOR_MS)
    return VG_ETIMEDOUT;
  long ms = r->retry_ms ? r->retry_ms : POLL_FIRST_MS;
  r->retry_ms = ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : ms * 2;
  vg_status st =
      vg_timer_start(vgi_session_runtime(r->s), ms, on_sub, r, &r->sub);
  r->retrying = st == VG_OK;
  return st;
}

/* Every step's op ends here: what it learnt is taken by the step's
   handler (r->done), then the run moves on; a step that failed for a
   while is taken again. */
static void on_sub(vg_op *sub, void *ud) {
  run *r = ud;
  if (!(sub = took(r, sub)))
    return;
  if (r->retrying) { /* the back-off has passed: the same step again */
    r->retrying = 0;
    vg_op_free(sub);
    step(r);
    return;
  }
  if (sub->status == VG_OK) {
    r->step_failing_since = 0;
    r->retry_ms = 0;
  } else if (again(r, sub) && retry_later(r) == VG_OK) {
    vg_op_free(sub);
    return;
  }
  r->done(r, sub);
  vg_op_free(sub);
  step(r);
}

static vg_callback then(run *r, void (*done)(run *r, vg_op *sub)) {
  r->done = done;
  return on_sub;
}

static void family_done(run *r, vg_op *sub) {
  /* A guest that cannot tell (Tools not running, a server without the
     identity call) is taken for POSIX: the steps that follow report a
     real problem themselves. */
  r->os = vg_op_os(sub) == VG_OS_WINDOWS ? VG_OS_WINDOWS : VG_OS_POSIX;
  r->at = P_ENV;
}

/* The guest's variables that env does not set, then env. */
static char **merged(char **env, const char *const *names,
                     const char *const *values, size_t n) {
  size_t ne = 0;
  while (env && env[ne])
    ne++;
  char **m = calloc(n + ne + 1, sizeof *m);
  size_t k = 0;
  for (size_t i = 0; m && i < n; i++) {
    size_t len = strlen(names[i]);
    int overridden = 0;
    for (size_t j = 0; j < ne && !overridden; j++)
      overridden = strncmp(env[j], names[i], len) == 0 && env[j][len] == '=';
    if (!overridden && !(m[k++] = vgi_printf("%s=%s", names[i], values[i]))) {
      free_strings(m);
      return NULL;
    }
  }
  for (size_t j = 0; m && j < ne; j++)
    if (!(m[k++] = strdup(env[j]))) {
      free_strings(m);
      return NULL;
    }
  return m;
}

static void env_done(run *r, vg_op *sub) {
  if (sub->status != VG_OK) {
    failed(r, sub->status, &sub->err);
    r->at = P_DONE;
  } else {
    const char *const *names, *const *values;
    size_t n = vg_op_env(sub, &names, &values);
    char **m = merged(r->env, names, values, n);
    if (m) {
      free_strings(r->env);
      r->env = m;
      r->at = P_MKTEMP;
    } else {
      failedf(r, VG_ENOMEM, "out of memory merging the environment");
      r->at = P_DONE;
    }
  }
}

static void mktemp_done(run *r, vg_op *sub) {
  if (sub->status != VG_OK) {
    failed(r, sub->status, &sub->err);
    r->at = P_DONE;
  } else if (!(r->dir = strdup(vg_op_path(sub)))) {
    failedf(r, VG_ENOMEM, "out of memory");
    r->at = P_DONE;
  } else {
    r->at = r->has_stdin ? P_STDIN : P_CREATE;
  }
}

/* Any step whose failure sends the run to its tail. */
static void step_done(run *r, vg_op *sub) {
  if (sub->status != VG_OK) {
    failed(r, sub->status, &sub->err);
    r->at = tail(r);
  } else {
    r->at++;
  }
}

static void created_done(run *r, vg_op *sub) {
  if (sub->status != VG_OK) {
    failed(r, sub->status, &sub->err);
    /* a create whose answer was lost may have started the process: its
       pid is unknown, so only the directory can be cleaned */
    r->at = tail(r);
  } else {
    r->created = 1;
    r->op->res.run->pid = vg_op_pid(sub);
    r->op->pid = vg_op_pid(sub);
    r->delay_ms = POLL_FIRST_MS;
    r->at = P_WAIT;
  }
}

static char *copy_str(const char *s) {
  return s ? strdup(s) : NULL;
}

static void polled_done(run *r, vg_op *sub) {
  const vg_process_info *pi;
  r->at = P_WAIT; /* unless it ended, or the poll failed for good */
  if (sub->status != VG_OK && sub->err.pub.retryable &&
      (!r->poll_failing_since ||
       vgi_now_ms() - r->poll_failing_since < RETRY_FOR_MS)) {
    /* a busy or unavailable server, a dropped connection: the command
       runs on; polls ride it out as p:wait does (retry_for) */
    if (!r->poll_failing_since)
      r->poll_failing_since = vgi_now_ms();
  } else if (sub->status != VG_OK) {
    failed(r, sub->status, &sub->err);
    r->at = tail(r);
  } else if (vg_op_processes(sub, &pi) == 1) {
    r->poll_failing_since = 0;
    vg_run_result *res = r->op->res.run;
    if (!res->started)
      res->started = copy_str(pi->started);
    if (pi->has_exit_code) {
      r->exited = 1;
      res->has_exit_code = 1;
      res->exit_code = pi->exit_code;
      res->finished = copy_str(pi->finished);
      r->at = P_OUT;
    }
  }
}

static void timer_done(run *r, vg_op *sub) {
  (void)sub;
  if (r->deadline && vgi_now_ms() >= r->deadline) {
    failedf(r, VG_ETIMEDOUT,
            "the command did not finish within %ld ms; it was terminated",
            r->timeout_ms);
    r->at = P_KILL;
  } else {
    r->at = P_POLL;
  }
}

static void killed_done(run *r, vg_op *sub) {
  /* not found: it had exited meanwhile, which is what was wanted */
  if (sub->status != VG_OK && sub->status != VG_ENOTFOUND)
    failed(r, sub->status, &sub->err);
  r->exited = 1;
  r->at = P_OUT;
}

static void fetched_done(run *r, vg_op *sub) {
  /* a missing output file is an empty output (a program that never
     started); anything else is a failure of the run */
  if (sub->status != VG_OK && sub->status != VG_ENOTFOUND)
    failed(r, sub->status, &sub->err);
  r->at++;
}

static void cleaned_done(run *r, vg_op *sub) {
  if (sub->status != VG_OK && sub->status != VG_ENOTFOUND)
    failed(r, sub->status, &sub->err);
  free(r->dir);
  r->dir = NULL;
  r->at = P_DONE;
}

/* Keeps the first cap bytes of a stream, counting the rest. */
static int keep(const char *p, size_t n, void *ud) {
  stream *s = ud;
  size_t room = s->cap - s->kept.len;
  s->seen += n;
  return vgi_buf_add(&s->kept, p, n < room ? n : room) ? -1 : 0;
}

static vg_status fetch(run *r, const char *name, stream *s, const char *local) {
  char *path = guest_file(r, name);
  if (!path)
    return VG_ENOMEM;
  s->kept.len = 0; /* a download taken again starts over */
  s->seen = 0;
  vg_transfer_spec to;
  memset(&to, 0, sizeof to);
  if (local) {
    to.local_path = local;
  } else {
    to.write = keep;
    to.ud = s;
  }
  vg_status st = vg_file_download(r->s, r->vm, r->cred, path, &to,
                                  then(r, fetched_done), r, &r->sub);
  free(path);
  return st;
}

/* The command line of the process, its output redirected. */
static vg_status command(run *r, vg_program_spec *p, char **args) {
  vgi_buf b = {0};
  char *out = guest_file(r, "stdout"), *err = guest_file(r, "stderr");
  char *in = r->has_stdin ? guest_file(r, "stdin") : NULL;
  vg_status st = VG_ENOMEM;
  int rc = 0;
  if (!out || !err || (r->has_stdin && !in))
    goto done;
  if (r->os == VG_OS_WINDOWS) {
    p->path = "C:\\Windows\\System32\\cmd.exe";
    rc = vgi_buf_adds(&b, "/d /s /c \"");
    if (r->command)
      rc = rc ? rc : vgi_buf_adds(&b, r->command);
    for (size_t i = 0; !r->command && !rc && r->argv[i]; i++)
      rc = (i && vgi_buf_add(&b, " ", 1)) ? -1
                                          : vgi_quote_windows(&b, r->argv[i]);
    rc = rc ? rc : vgi_buf_adds(&b, " >");
    rc = rc ? rc : vgi_quote_windows_path(&b, out);
    rc = rc ? rc : vgi_buf_adds(&b, " 2>");
    rc = rc ? rc : vgi_quote_windows_path(&b, err);
    if (in) {
      rc = rc ? rc : vgi_buf_adds(&b, " <");
      rc = rc ? rc : vgi_quote_windows_path(&b, in);
    } else {
      rc = rc ? rc : vgi_buf_adds(&b, " <NUL");
    }
    rc = rc ? rc : vgi_buf_add(&b, "\"", 1);
  } else {
    if (r->command) {
      p->path = "/bin/sh";
      rc = vgi_buf_adds(&b, "-c ") || vgi_quote_posix(&b, r->command);
    } else {
      /* a program without a path is looked up in the guest's PATH */
      int bare = !strchr(r->argv[0], '/');
      p->path = bare ? "/usr/bin/env" : r->argv[0];
      for (size_t i = bare ? 0 : 1; !rc && r->argv[i]; i++)
        rc = (b.len && vgi_buf_add(&b, " ", 1))
                 ? -1
                 : vgi_quote_posix(&b, r->argv[i]);
    }
    rc = rc ? rc
            : vgi_buf_adds(&b, " >") || vgi_quote_posix(&b, out) ||
                  vgi_buf_adds(&b, " 2>") || vgi_quote_posix(&b, err) ||
                  vgi_buf_adds(&b, " <") ||
                  vgi_quote_posix(&b, in ? in : "/dev/null");
  }
  if (rc == -2) {
    st = VG_EINVALID;
    goto done;
  }
  if (rc)
    goto done;
  *args = vgi_buf_steal(&b);
  st = *args ? VG_OK : VG_ENOMEM;
done:
  vgi_buf_zfree(&b);
  free(out);
  free(err);
  free(in);
  return st;
}

static vg_status create(run *r) {
  vg_program_spec p;
  char *args = NULL;
  memset(&p, 0, sizeof p);
  vg_status st = command(r, &p, &args);
  if (st == VG_EINVALID) {
    failedf(r, st,
            "an argument cannot be passed through cmd.exe (a line "
            "break)");
    return st;
  }
  if (st != VG_OK)
    return st;
  p.arguments = args;
  p.working_directory = r->cwd;
  p.env = (const char *const *)r->env;
  st = vg_process_create(r->s, r->vm, r->cred, &p, then(r, created_done), r,
                         &r->sub);
  free(args);
  return st;
}

static vg_status wait_a_little(run *r) {
  long ms = r->delay_ms;
  r->delay_ms = r->delay_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : r->delay_ms * 2;
  if (r->deadline) {
    uint64_t now = vgi_now_ms();
    long left = r->deadline > now ? (long)(r->deadline - now) : 0;
    if (left < ms)
      ms = left;
  }
  return vg_timer_start(vgi_session_runtime(r->s), ms, then(r, timer_done), r,
                        &r->sub);
}

static void finish(run *r) {
  vg_run_result *res = r->op->res.run;
  stream *ss[2] = {&r->out, &r->err};
  const char **texts[2] = {&res->out, &res->err};
  size_t *lens[2] = {&res->out_len, &res->err_len};
  int *cut[2] = {&res->out_truncated, &res->err_truncated};
  for (int i = 0; i < 2; i++) {
    vgi_buf_add(&ss[i]->kept, "", 0); /* NUL-terminated, even when empty */
    *lens[i] = ss[i]->kept.len;
    *cut[i] = ss[i]->seen > ss[i]->kept.len;
    *texts[i] = vgi_buf_steal(&ss[i]->kept);
  }
  if (r->final == VG_OK) {
    vgi_op_complete(r->op, VG_OK);
  } else {
    vgi_error_copy(&r->op->err, &r->ferr);
    if (r->created) { /* the command ran: another run runs it again */
      r->op->err.pub.maybe_done = 1;
      r->op->err.pub.retryable = 0;
    }
    vgi_op_complete(r->op, r->final);
  }
}

/* Starts the op of the current phase (its callback moves the run on). */
static void step(run *r) {
  vg_status st = VG_OK;
  if (r->stopping && r->at < P_KILL)
    r->at = tail(r);
  switch (r->at) {
  case P_FAMILY:
    if (r->os != VG_OS_AUTO) {
      r->at = P_ENV;
      step(r);
      return;
    }
    st = vg_guest_os(r->s, r->vm, then(r, family_done), r, &r->sub);
    break;
  case P_ENV:
    if (r->env_mode != VG_ENV_MERGE || !r->env) {
      r->at = P_MKTEMP;
      step(r);
      return;
    }
    st =
        vg_guest_env(r->s, r->vm, r->cred, NULL, then(r, env_done), r, &r->sub);
    break;
  case P_MKTEMP: {
    vg_mktemp_spec m = {"vguest-run-", "", NULL, 1};
    st = vg_file_mktemp(r->s, r->vm, r->cred, &m, then(r, mktemp_done), r,
                        &r->sub);
    break;
  }
  case P_STDIN: {
    char *in = guest_file(r, "stdin");
    vg_file_attributes a = {0, 1, 1, 0600, -1, -1};
    vg_transfer_spec from;
    memset(&from, 0, sizeof from);
    from.local_path = r->stdin_path;
    from.data = r->stdin_data;
    from.len = r->stdin_len;
    st = in ? vg_file_upload(r->s, r->vm, r->cred, in, &a, &from,
                             then(r, step_done), r, &r->sub)
            : VG_ENOMEM;
    free(in);
    break;
  }
  case P_CREATE:
    st = create(r);
    if (st == VG_EINVALID) {
      r->at = tail(r);
      step(r);
      return;
    }
    if (st == VG_OK && r->timeout_ms > 0)
      r->deadline = vgi_now_ms() + (uint64_t)r->timeout_ms;
    break;
  case P_WAIT:
    st = wait_a_little(r);
    break;
  case P_POLL:
    st = vg_process_get(r->s, r->vm, r->cred, r->op->res.run->pid,
                        then(r, polled_done), r, &r->sub);
    break;
  case P_KILL:
    st = vg_process_delete(r->s, r->vm, r->cred, r->op->res.run->pid,
                           then(r, killed_done), r, &r->sub);
    break;
  case P_OUT:
    st = fetch(r, "stdout", &r->out, r->stdout_file);
    break;
  case P_ERR:
    st = fetch(r, "stderr", &r->err, r->stderr_file);
    break;
  case P_CLEAN:
    st = vg_file_remove(r->s, r->vm, r->cred, r->dir,
                        VG_REMOVE_DIRECTORY | VG_REMOVE_RECURSIVE,
                        then(r, cleaned_done), r, &r->sub);
    break;
  case P_DONE:
    finish(r);
    return;
  }
  if (st != VG_OK) {
    /* could not even start the step's op (no memory, a closed session) */
    failedf(r, st, "run: cannot start the next step (%s)", vg_status_text(st));
    r->at = r->at >= P_CLEAN ? P_DONE : r->at >= P_KILL ? r->at + 1 : tail(r);
    step(r);
  }
}

/* ---- the public calls ---------------------------------------------------- */

void vg_run_stop(vg_op *op) {
  if (!op || op->kind != VGI_OP_RUN || op->status != VG_EPENDING)
    return;
  run *r = vgi_session_driver_state(op);
  if (!r || r->stopping || r->at >= P_KILL)
    return; /* already on its way out */
  failedf(r, VG_ECANCELED, "the run was stopped");
  r->stopping = 1;
  if (r->at == P_WAIT || r->at == P_POLL || r->retrying) { /* nothing to lose */
    vg_op_free(r->sub);
    r->sub = NULL;
    r->retrying = 0;
    step(r);
  }
  /* else the request in flight (a create, say) ends first: its callback
     steps, and step() turns to the tail with what it learnt (a pid) */
}

static int bad_spec(const vg_run_spec *p) {
  if (!p || (!p->argv == !p->command) || (p->argv && !p->argv[0]) ||
      (p->argv && !*p->argv[0]) || (p->command && !*p->command) ||
      p->timeout_ms < 0 ||
      (p->os != VG_OS_AUTO && p->os != VG_OS_POSIX && p->os != VG_OS_WINDOWS) ||
      (p->env_mode != VG_ENV_MERGE && p->env_mode != VG_ENV_REPLACE) ||
      (p->stdin_from.local_path && p->stdin_from.data) || p->stdin_from.read ||
      p->stdin_from.write)
    return 1;
  for (const char *const *e = p->env; e && *e; e++)
    if (!strchr(*e, '=') || **e == '=')
      return 1;
  return 0;
}

vg_status vg_run(vg_session *s, const char *vm, const vg_credentials *c,
                 const vg_run_spec *p, vg_callback cb, void *ud, vg_op **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s || !vm || !*vm || !c || bad_spec(p))
    return VG_EMISUSE;
  run *r = calloc(1, sizeof *r);
  if (!r)
    return VG_ENOMEM;
  int fail = 0;
  r->s = s;
  r->os = p->os;
  r->env_mode = p->env_mode;
  r->timeout_ms = p->timeout_ms;
  r->vm = strdup(vm);
  r->argv = copy_strings(p->argv, &fail);
  r->env = copy_strings(p->env, &fail);
  r->command = copy_str(p->command);
  r->cwd = copy_str(p->cwd);
  r->stdout_file = copy_str(p->stdout_file);
  r->stderr_file = copy_str(p->stderr_file);
  r->stdin_path = copy_str(p->stdin_from.local_path);
  r->has_stdin = p->stdin_from.local_path || p->stdin_from.data;
  if (p->stdin_from.data && p->stdin_from.len) {
    r->stdin_data = malloc(p->stdin_from.len);
    if (r->stdin_data)
      memcpy(r->stdin_data, p->stdin_from.data, p->stdin_from.len);
    r->stdin_len = p->stdin_from.len;
    fail |= !r->stdin_data;
  }
  r->out.cap = r->err.cap = p->max_output ? p->max_output : DEFAULT_MAX_OUTPUT;
  if (fail || !r->vm || vgi_credentials_dup(c, &r->cred) != VG_OK ||
      (p->command && !r->command) || (p->cwd && !r->cwd) ||
      (p->stdout_file && !r->stdout_file) ||
      (p->stderr_file && !r->stderr_file) ||
      (p->stdin_from.local_path && !r->stdin_path)) {
    run_free(r);
    return VG_ENOMEM;
  }
  vg_status st =
      vgi_session_driven(s, VGI_OP_RUN, vm, &run_driver, r, cb, ud, &r->op);
  if (st != VG_OK) {
    run_free(r);
    return st;
  }
  if (!(r->op->res.run = calloc(1, sizeof *r->op->res.run))) {
    vg_op_free(r->op);
    return VG_ENOMEM;
  }
  *out = r->op;
  r->at = P_FAMILY;
  step(r);
  return VG_OK;
}
