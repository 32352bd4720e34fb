/* What an operation found: a pid, processes, VMs, environment variables,
   and for a login the session token and the server's release. Protocols
   fill one from an answer; the op that asked takes it over. */
#ifndef VGUEST_RESULT_H
#define VGUEST_RESULT_H

#include "vguest/vguest.h"

#include "buf.h"

#include <jansson.h>

typedef struct vgi_result {
  int64_t pid; /* create */
  vg_process_info *procs;
  size_t nprocs;
  vg_vm_info *vms;
  size_t nvms;
  vg_object_info *objects; /* inventory */
  size_t nobjects;
  vg_guest_info *guest; /* guest_info */
  char **env_names, **env_values;
  size_t nenv;
  char *path;          /* mktemp: the path; transfers: the URL */
  vg_file_info *files; /* stat, list_files */
  size_t nfiles;
  int64_t size;         /* transfer_from_guest: the size (-1: not told) */
  vg_os os;             /* guest_family */
  vgi_buf data;         /* a download into memory, */
  size_t data_cap;      /*   at most this many bytes; */
  int data_over;        /*   1: the file was larger */
  vg_run_result *run;   /* run */
  vg_secret *token;     /* login: the session token */
  char *server_release; /* login: the server's release, when it says */
  json_t *keep;         /* owns the strings the arrays point into */
} vgi_result;

/* Frees everything (the token is wiped); r is {0} afterwards. */
void vgi_result_clear(vgi_result *r);
/* Moves src into dst (dst cleared first); src is {0} afterwards. */
void vgi_result_move(vgi_result *dst, vgi_result *src);

/* Member names of a process info in one flavour's answers. */
typedef struct vgi_proc_names {
  const char *pid, *name, *owner, *command, *started, *finished, *exit_code;
} vgi_proc_names;

/* Adds the processes of arr (an array, or one object), member names n;
   pid_default stands in for a missing pid (0: the pid is required).
   Every member present must have its type: an answer that does not fit is
   refused, never half read. 0 ok, -1 does not fit or no memory. */
int vgi_result_add_processes(vgi_result *r, json_t *arr,
                             const vgi_proc_names *n, int64_t pid_default);
/* Keeps only the processes whose pid is in pids (a json array). */
void vgi_result_keep_pids(vgi_result *r, const json_t *pids);
/* Adds a VM. Strings are copied. 0 ok, -1 nomem. */
int vgi_result_add_vm(vgi_result *r, const char *id, const char *name,
                      const char *power_state);
/* Keeps only the VMs for which keep(ud, vm) is true, in their order. */
void vgi_result_keep_vms(vgi_result *r, int (*keep)(void *, const vg_vm_info *),
                         void *ud);
/* Adds an inventory object. Strings are copied. 0 ok, -1 nomem. */
int vgi_result_add_object(vgi_result *r, const char *id, const char *name);
/* Sets the guest info; its strings (static tools, or NULL) are copied. 0
   ok, -1 nomem. */
int vgi_result_set_guest(vgi_result *r, const vg_guest_info *g);
/* Adds a file's info; strings are copied (type must be static). 0 ok. */
int vgi_result_add_file(vgi_result *r, const vg_file_info *f);
/* Takes a session token (copied into a secret) after checking it is one:
   1 to 4096 visible ASCII characters (a CR/LF would put a header of the
   server's choosing into every later request). VG_OK, VG_EPROTOCOL (not a
   token) or VG_ENOMEM. */
vg_status vgi_result_set_token(vgi_result *r, const char *tok, size_t len);
/* Takes a created process's pid; VG_EPROTOCOL unless it is > 0. */
vg_status vgi_result_set_pid(vgi_result *r, json_t *v);

/* Sets the string result (copied). 0 ok, -1 nomem. */
int vgi_result_set_path(vgi_result *r, const char *path);

/* Adds an environment variable (copied). 0 ok, -1 nomem. */
int vgi_result_add_env(vgi_result *r, const char *name, size_t name_len,
                       const char *value);

#endif
