/* Guest operations independent of the wire flavour: the checks a real
 * vCenter + Tools make (VM, power state, Tools, guest login, path) and the
 * process/environment operations. Each failure is a gfault that every
 * flavour renders in its own shape (vAPI error or vim25 fault). */
#ifndef SIM_GUESTOPS_H
#define SIM_GUESTOPS_H

#include "state.h"

enum gfault_kind {
  GF_NONE,
  GF_INVALID_ARGUMENT,  /* text = the offending field */
  GF_VM_NOT_FOUND,      /* vm */
  GF_NOT_POWERED_ON,    /* vm, power */
  GF_TOOLS_NOT_RUNNING, /* vm */
  GF_NO_INTERACTIVE,    /* interactive session requested, none exists */
  GF_GUEST_LOGIN,       /* guest credentials invalid */
  GF_FILE_NOT_FOUND,    /* text = path */
  GF_NOT_A_DIRECTORY,   /* text = path (a working directory unless fs) */
  GF_PERMISSION,        /* text = path */
  GF_NOT_A_FILE,        /* text = path: a directory where a file is needed */
  GF_FILE_EXISTS,       /* text = path */
  GF_DIR_NOT_EMPTY,     /* text = path */
  GF_CANNOT_ACCESS,     /* text = path: the guest's EACCES, EPERM, EROFS */
  GF_PATH_TOO_LONG,     /* text = path */
  GF_NO_SPACE,          /* text = path */
  GF_FS_ERROR,          /* text = path, detail = strerror */
  GF_PID_NOT_FOUND,     /* pid */
  GF_VAR_NOT_FOUND,     /* text = variable name */
  GF_START_FAILED,      /* text = reason */
  GF_BUSY,              /* injected */
  GF_UNAVAILABLE,       /* injected */
  GF_NO_SESSION         /* injected: answered as for an unknown session */
};

struct gfault {
  enum gfault_kind kind;
  bool fs; /* raised by a filesystem operation (guestfs.c) */
  char vm[64];
  enum power_state power;
  int64_t pid;
  char text[4200]; /* a field, a name or a path (PATH_MAX and more) */
  char detail[128];
};

/* Guest credentials, borrowed from the request body. */
struct gauth {
  const char *user;       /* NULL allowed for SAML */
  const char *password;   /* for user/password */
  const char *saml_token; /* for SAML: the sim accepts "saml:<user>" */
  bool interactive;
};

struct gspec {
  const char *path;
  const char *arguments;
  const char *working_directory;
  char **env; /* "K=V", NULL-terminated, owned by the caller; NULL = unset */
  bool start_minimized;
};

/* A snapshot of one process (owned strings; free with ginfo_free). */
struct ginfo {
  int64_t pid;
  char *name, *owner, *command;
  int64_t started_ms, finished_ms;
  bool exited;
  int exit_code;
};
void ginfo_free(struct ginfo *v, size_t n);

/* Fault helpers for flavours' own validation. */
void gfault_set(struct gfault *f, enum gfault_kind kind, const char *text);
/* Maps an injected failure to a fault; false when none. */
bool gfault_injected(enum inject inj, struct gfault *f);

/* The checks every guest operation starts with, in a real server's
 * order: VM, power state, Tools, guest login, interactive session. On
 * success the guest user is copied into owner and *windows tells whether
 * the VM's guest is Windows. Takes the lock. */
bool gop_check(struct sim *sim, const char *vm, const struct gauth *a,
               char *owner, size_t ownerlen, bool *windows, struct gfault *f);

/* The guest's identity as Tools report it (guest/identity). */
struct gidentity {
  bool windows;
  char host_name[256];
  char ip_address[64]; /* "" when the guest reports none */
};
/* Fails for an unknown VM, and with GF_TOOLS_NOT_RUNNING when Tools are
 * not running (or the VM is not powered on). Takes the lock. */
bool gop_identity(struct sim *sim, const char *vm, struct gidentity *out,
                  struct gfault *f);

/* What Tools are doing in a VM (vcenter/vm/{vm}/tools): running only in
 * a powered-on VM. Fails only for an unknown VM. Takes the lock. */
enum gtools { GT_NOT_RUNNING, GT_RUNNING, GT_EXECUTING_SCRIPTS };
bool gop_tools(struct sim *sim, const char *vm, enum gtools *state,
               bool *windows, struct gfault *f);

/* VM readiness (guest/operations); fails only for an unknown VM. */
bool gop_ready(struct sim *sim, const char *vm, bool *ready, struct gfault *f);
bool gop_create(struct sim *sim, const char *vm, const struct gauth *a,
                const struct gspec *spec, int64_t *pid, struct gfault *f);
/* pids NULL = all. *out returns-owned. */
bool gop_list(struct sim *sim, const char *vm, const struct gauth *a,
              const int64_t *pids, size_t npids, struct ginfo **out, size_t *n,
              struct gfault *f);
bool gop_get(struct sim *sim, const char *vm, const struct gauth *a,
             int64_t pid, struct ginfo *out, struct gfault *f);
/* Terminates a running process; GF_PID_NOT_FOUND for one that has exited
 * (it stays listed until retention ends). */
bool gop_delete(struct sim *sim, const char *vm, const struct gauth *a,
                int64_t pid, struct gfault *f);
/* The guest environment; names NULL or empty = all. Returns-owned pairs
 * (names[i], values[i]) in *keys and *vals. */
bool gop_environment(struct sim *sim, const char *vm, const struct gauth *a,
                     const char *const *names, size_t nnames, char ***keys,
                     char ***vals, size_t *n, struct gfault *f);
void gop_free_strings(char **v, size_t n);
/* Frees a NULL-terminated gspec.env list (NULL ok). */
void gop_free_env(char **env);

#endif
