#include "guestproc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *basename_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

int64_t gproc_spawn(struct sim *sim, const struct gspawn *sp) {
  /* as VixToolsStartProgramImpl builds it: the path always in double
   * quotes (nothing in it escaped), then the arguments as they are */
  const char *args = sp->arguments ? sp->arguments : "";
  char *command = *args ? xasprintf("\"%s\" %s", sp->path, args)
                        : xasprintf("\"%s\"", sp->path);
  const char *dir = sp->working_directory;
  if (!dir || !*dir)
    dir = getenv("HOME");
  if (!dir || !*dir)
    dir = "/";
  char *argv[] = {"/bin/bash", "-c", command, NULL};
  char **envp = sp->env ? sp->env : environ;
  sigset_t none;
  sigemptyset(&none);

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    free(command);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    /* child: async-signal-safe calls only */
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
      dup2(fd, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (fd > 2)
        close(fd);
    }
    /* a guest program sees none of the simulator's descriptors (its
       listening sockets, pipes), as none of Tools' reach a real one */
    if (close_range(3, ~0U, 0) != 0)
      for (long i = 3, n = sysconf(_SC_OPEN_MAX); i < n; i++)
        close((int)i);
    if (chdir(dir) != 0)
      _exit(127);
    execve(argv[0], argv, envp);
    _exit(127);
  }
  setpgid(pid, pid); /* also in the parent: no race with a quick kill */

  struct gproc *p = xcalloc(1, sizeof *p);
  p->pid = pid;
  p->vm_id = xstrdup(sp->vm_id);
  p->name = xstrdup(basename_of(sp->path));
  p->owner = xstrdup(sp->owner);
  p->command = command;
  p->started_ms = util_now_ms();
  struct gproc **tail = &sim->procs;
  while (*tail)
    tail = &(*tail)->next;
  *tail = p;
  sim->creates++;
  state_proc_log(sim, p);
  pthread_cond_signal(&sim->child_cv);
  return pid;
}

static bool expired(const struct sim *sim, const struct gproc *p, int64_t now) {
  return p->exited && now - p->finished_ms >= sim->cfg.retention_ms;
}

struct gproc *gproc_find(struct sim *sim, const char *vm_id, int64_t pid) {
  int64_t now = util_now_ms();
  for (struct gproc *p = sim->procs; p; p = p->next)
    if (p->pid == pid && strcmp(p->vm_id, vm_id) == 0 && !expired(sim, p, now))
      return p;
  return NULL;
}

bool gproc_terminate(struct sim *sim, struct gproc *p) {
  (void)sim;
  /* reaped but not yet recorded: the group is gone too (ESRCH) */
  if (p->exited || (kill(-(pid_t)p->pid, SIGTERM) != 0 && errno == ESRCH))
    return false;
  if (!p->kill_at_mono)
    p->kill_at_mono = util_mono_ms() + 1000;
  return true;
}

static void record_exit(struct sim *sim, pid_t pid, int status) {
  sim_lock(sim);
  for (struct gproc *p = sim->procs; p; p = p->next) {
    if (p->pid == pid && !p->exited) {
      p->exited = true;
      p->finished_ms = util_now_ms();
      /* what Tools report (procMgrPosix.c): WEXITSTATUS, and 0 when the
       * process did not exit by itself (a signal killed it), never the
       * shell's 128 + signal */
      p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
      state_proc_log(sim, p);
      break;
    }
  }
  sim_unlock(sim);
}

static void *reaper(void *arg) {
  struct sim *sim = arg;
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid > 0) {
      record_exit(sim, pid, status);
      continue;
    }
    if (errno == EINTR)
      continue;
    /* ECHILD: nothing running; wait for a spawn or for the stop */
    sim_lock(sim);
    bool running = false;
    for (struct gproc *p = sim->procs; p; p = p->next)
      running = running || !p->exited;
    if (sim->stopping && !running) {
      sim_unlock(sim);
      return NULL;
    }
    if (!running) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 200 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&sim->child_cv, &sim->mu, &ts);
    }
    sim_unlock(sim);
  }
}

int gproc_start_reaper(struct sim *sim) {
  return pthread_create(&sim->reaper, NULL, reaper, sim);
}

void gproc_stop(struct sim *sim) {
  sim_lock(sim);
  sim->stopping = true;
  for (struct gproc *p = sim->procs; p; p = p->next)
    if (!p->exited)
      kill(-(pid_t)p->pid, SIGKILL);
  pthread_cond_signal(&sim->child_cv);
  sim_unlock(sim);
  pthread_join(sim->reaper, NULL);
}

void gproc_housekeep(struct sim *sim) {
  int64_t now = util_now_ms(), mono = util_mono_ms();
  sim_lock(sim);
  for (struct gproc **pp = &sim->procs; *pp;) {
    struct gproc *p = *pp;
    if (!p->exited && p->kill_at_mono && mono >= p->kill_at_mono) {
      kill(-(pid_t)p->pid, SIGKILL);
      p->kill_at_mono = 0;
    }
    if (expired(sim, p, now)) {
      *pp = p->next;
      state_proc_free(p);
    } else {
      pp = &p->next;
    }
  }
  sim_unlock(sim);
}
