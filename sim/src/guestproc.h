/* Guest processes really run on the host, the way a Linux guest's Tools
 * runs them: `/bin/bash -c '"<path>" <arguments>'` in its own process group,
 * stdio on /dev/null. A reaper thread records exit codes; housekeeping
 * escalates terminations to SIGKILL and forgets processes after the
 * retention window. */
#ifndef SIM_GUESTPROC_H
#define SIM_GUESTPROC_H

#include "state.h"

struct gspawn {
  const char *vm_id;
  const char *owner;
  const char *path;
  const char *arguments;         /* may be NULL or "" */
  const char *working_directory; /* NULL or "" = the simulator's $HOME */
  char **env;                    /* "K=V", NULL-terminated; NULL = inherit */
};

/* Caller holds sim->mu. Starts the program; returns the pid or -1 with
 * errno set (fork/exec setup failure). */
int64_t gproc_spawn(struct sim *sim, const struct gspawn *sp);
/* Caller holds sim->mu. A process of vm that is still remembered. */
struct gproc *gproc_find(struct sim *sim, const char *vm_id, int64_t pid);
/* Caller holds sim->mu. Whether a record is still shown (not past
 * retention) at now (util_now_ms). */
bool gproc_visible(struct sim *sim, const struct gproc *p, int64_t now);
/* Caller holds sim->mu. SIGTERM to the group, SIGKILL ~1 s later (via
 * gproc_housekeep). False, and no signal, for a process that has exited:
 * Tools' kill(2) then fails with ESRCH. */
bool gproc_terminate(struct sim *sim, struct gproc *p);

int gproc_start_reaper(struct sim *sim);
/* Kills every running guest process group and joins the reaper. */
void gproc_stop(struct sim *sim);
/* Pending SIGKILLs and retention expiry; takes the lock. */
void gproc_housekeep(struct sim *sim);

#endif
