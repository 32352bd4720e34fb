#include "guestproc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *basename_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

/* The usual way: posix_spawn, which glibc makes with CLONE_VFORK, so the
 * thread that serves every connection neither copies the simulator's page
 * tables nor takes its copy-on-write faults afterwards, as a fork would.
 * -1 with errno when the program cannot be started this way (a working
 * directory that chdir refuses, no /bin/bash): the caller then forks, so
 * that such a program still starts and exits 127 as before. */
static pid_t spawn(char *const argv[], char *const envp[], const char *dir) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, dflt;
  pid_t pid = -1;
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE); /* the simulator ignores it; a guest does not */
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  /* stdio on /dev/null; a guest program sees none of the simulator's
     descriptors (its listening sockets, pipes), as none of Tools' reach a
     real one */
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, 0, 1);
  posix_spawn_file_actions_adddup2(&fa, 0, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawn_file_actions_addchdir_np(&fa, dir);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dflt);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

/* The way it was always done, for what spawn() cannot do. */
static pid_t spawn_fork(struct sim *sim, char *const argv[], char *const envp[],
                        const char *dir) {
  sigset_t none;
  sigemptyset(&none);
  /* what the child needs, ready before the fork: it may call nothing that
   * allocates or takes a lock */
  bool restore_nofile = sim->nofile_raised;
  struct rlimit nofile = sim->nofile_orig;

  pid_t pid = fork();
  if (pid > 0)
    setpgid(pid, pid); /* also in the parent: no race with a quick kill */
  if (pid != 0)
    return pid;
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
  if (close_range(3, ~0U, 0) != 0)
    for (long i = 3, n = sysconf(_SC_OPEN_MAX); i < n; i++)
      close((int)i);
  if (restore_nofile)
    setrlimit(RLIMIT_NOFILE, &nofile);
  if (chdir(dir) != 0)
    _exit(127);
  execve(argv[0], argv, envp);
  _exit(127);
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

  pid_t pid = spawn(argv, envp, dir);
  if (pid > 0 && sim->nofile_raised)
    /* the simulator raised its own limit for its connections: a guest
     * program runs with the limit the simulator was given. glibc returns
     * once bash is exec'd, long before bash gets to start anything. */
    prlimit(pid, RLIMIT_NOFILE, &sim->nofile_orig, NULL);
  if (pid < 0)
    pid = spawn_fork(sim, argv, envp, dir);
  if (pid < 0) {
    int e = errno;
    free(command);
    errno = e;
    return -1;
  }

  struct gproc *p = xcalloc(1, sizeof *p);
  p->pid = pid;
  p->vm_id = xstrdup(sp->vm_id);
  p->name = xstrdup(basename_of(sp->path));
  p->owner = xstrdup(sp->owner);
  p->command = command;
  p->started_ms = util_now_ms();
  state_proc_add(sim, p);
  sim->creates++;
  state_proc_log(sim, p);
  pthread_cond_signal(&sim->child_cv);
  return pid;
}

static bool expired(const struct sim *sim, const struct gproc *p, int64_t now) {
  return p->exited && now - p->finished_ms >= sim->cfg.retention_ms;
}

struct gproc *gproc_find(struct sim *sim, const char *vm_id, int64_t pid) {
  struct gproc *p = state_proc_get(sim, pid);
  if (p && strcmp(p->vm_id, vm_id) == 0 && !expired(sim, p, util_now_ms()))
    return p;
  return NULL;
}

bool gproc_visible(struct sim *sim, const struct gproc *p, int64_t now) {
  return !expired(sim, p, now);
}

bool gproc_terminate(struct sim *sim, struct gproc *p) {
  /* reaped but not yet recorded: the group is gone too (ESRCH) */
  if (p->exited || (kill(-(pid_t)p->pid, SIGTERM) != 0 && errno == ESRCH))
    return false;
  if (!p->kill_at_mono) {
    p->kill_at_mono = util_mono_ms() + 1000;
    state_kill_push(sim, p, p->kill_at_mono);
  }
  return true;
}

/* Caller holds the lock. */
static void record_exit(struct sim *sim, pid_t pid, int status) {
  struct gproc *p = state_proc_get(sim, pid);
  if (!p || p->exited)
    return;
  p->finished_ms = util_now_ms();
  /* what Tools report (procMgrPosix.c): WEXITSTATUS, and 0 when the
   * process did not exit by itself (a signal killed it), never the
   * shell's 128 + signal */
  p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  state_proc_exited(sim, p);
  state_proc_log(sim, p);
}

/* Waits for a child to end without reaping it (WNOWAIT), then reaps and
 * records it under the lock: its pid cannot go to a new process before
 * its record says it has exited. */
static void *reaper(void *arg) {
  struct sim *sim = arg;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0) {
      if (si.si_pid <= 0)
        continue;
      int status;
      sim_lock(sim);
      if (waitpid(si.si_pid, &status, 0) == si.si_pid)
        record_exit(sim, si.si_pid, status);
      sim_unlock(sim);
      continue;
    }
    if (errno == EINTR)
      continue;
    /* ECHILD: nothing running; wait for a spawn or for the stop */
    sim_lock(sim);
    if (sim->stopping) {
      sim_unlock(sim);
      return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    if (sim->nrunning == 0) /* else a child started since waitid */
      pthread_cond_timedwait(&sim->child_cv, &sim->mu, &ts);
    sim_unlock(sim);
  }
}

int gproc_start_reaper(struct sim *sim) {
  return pthread_create(&sim->reaper, NULL, reaper, sim);
}

void gproc_stop(struct sim *sim) {
  sim_lock(sim);
  sim->stopping = true;
  for (struct gproc *p = sim->procs.head; p; p = p->link[PL_ALL].next)
    if (!p->exited)
      kill(-(pid_t)p->pid, SIGKILL);
  pthread_cond_signal(&sim->child_cv);
  sim_unlock(sim);
  pthread_join(sim->reaper, NULL);
}

/* Due SIGKILLs, then the exited records past retention, from the front
 * of their lists: the work is what is due, not the number of records. */
void gproc_housekeep(struct sim *sim) {
  int64_t now = util_now_ms(), mono = util_mono_ms();
  sim_lock(sim);
  struct gkill *k;
  while ((k = state_kill_pop_due(sim, mono))) {
    struct gproc *p = state_proc_get(sim, k->pid);
    if (p && p->seq == k->seq && !p->exited && p->kill_at_mono) {
      kill(-(pid_t)p->pid, SIGKILL);
      p->kill_at_mono = 0;
    }
    free(k);
  }
  while (sim->exited.head && expired(sim, sim->exited.head, now))
    state_proc_forget(sim, sim->exited.head);
  sim_unlock(sim);
}
