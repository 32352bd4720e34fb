/* The one shared state behind every flavour: configuration, inventory,
 * sessions, guest processes, fault injection and statistics. Everything
 * mutable is protected by sim->mu. */
#ifndef SIM_STATE_H
#define SIM_STATE_H

#include "inventory.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

enum flavour { FL_API, FL_REST, FL_VIM25, FL_COUNT };
const char *flavour_name(enum flavour fl);

/* Operation classes, for statistics and for fail_next filters. */
#define SIM_OPS(X)                                                             \
  X(LOGIN, "login")                                                            \
  X(LOGOUT, "logout")                                                          \
  X(SESSION, "session")                                                        \
  X(SERVICE, "service")                                                        \
  X(VMS, "vms")                                                                \
  X(OPERATIONS, "operations")                                                  \
  X(CREATE, "create")                                                          \
  X(LIST, "list")                                                              \
  X(GET, "get")                                                                \
  X(DELETE, "delete")                                                          \
  X(ENVIRONMENT, "environment")                                                \
  X(FILES, "files")                                                            \
  X(TRANSFER, "transfer")                                                      \
  X(OTHER, "other")

enum op {
#define X(id, name) OP_##id,
  SIM_OPS(X)
#undef X
      OP_COUNT
};
const char *op_name(enum op op);
bool op_parse(const char *name, enum op *out);

/* What state_begin_op tells a handler: go on, fail the request (busy,
 * unavailable, or as if its session were unknown), or close the connection
 * without doing the operation (drop_next "before"). */
enum inject {
  INJ_NONE,
  INJ_BUSY,
  INJ_UNAVAILABLE,
  INJ_UNAUTHENTICATED,
  INJ_DROP
};

/* How malform_next garbles a success answer (README.md). */
#define SIM_MALFORMS(X)                                                        \
  X(NOT_JSON, "not_json")                                                      \
  X(WRONG_TYPE, "wrong_type")                                                  \
  X(EMPTY, "empty")                                                            \
  X(TRUNCATED, "truncated")                                                    \
  X(HUGE_NUMBER, "huge_number")

enum malform {
  MAL_NONE,
#define X(id, name) MAL_##id,
  SIM_MALFORMS(X)
#undef X
};
bool malform_parse(const char *name, enum malform *out);

struct session {
  char token[33];
  char key[37]; /* UserSession.key: names the session, stable, no secret */
  char *user;
  int64_t created_ms;
  int64_t last_ms;
};

/* The lists a process record is on, each oldest first: every record
 * (sim->procs), the records of its VM (sim->vm_procs), and the records of
 * processes that have exited, in the order they did (sim->exited), so
 * that retention forgets from the front. */
enum { PL_ALL, PL_VM, PL_EXITED, PL_COUNT };
struct gproc;
struct plink {
  struct gproc *prev, *next;
};
struct pchain {
  struct gproc *head, *tail;
};

/* A guest process started through the simulator: the record state keeps
 * (guestproc.c spawns, reaps and kills the process behind it). */
struct gproc {
  int64_t pid; /* real host pid, also its process group id */
  char *vm_id;
  char *name;
  char *owner;
  char *command;
  int64_t started_ms;
  int64_t finished_ms;
  bool exited;
  int exit_code;
  int64_t kill_at_mono; /* SIGKILL deadline after a terminate, 0 = none */
  uint64_t seq;         /* creation order */
  size_t vm_index;      /* its VM in sim->inv.vms */
  struct plink link[PL_COUNT];
};
/* Frees one record (its strings and itself); NULL is a no-op. */
void state_proc_free(struct gproc *p);

/* A SIGKILL due after a terminate (guestproc.c): the record is named by
 * pid and seq, so a record forgotten meanwhile is never touched. */
struct gkill {
  int64_t pid;
  uint64_t seq;
  int64_t due_mono;
  struct gkill *next;
};

/* A transfer URL handed out by a transfer create (/api) or an
 * InitiateFileTransfer*InGuest (vim25), served by the transfer listener
 * (transfer.c). Upload attributes are those the client asked for. */
enum xfer_state { XS_IDLE, XS_BUSY, XS_DONE, XS_INVALID };

struct gxfer {
  int64_t id;
  char token[33];
  char *vm_id;
  char *path;
  bool upload;
  int64_t size;     /* upload: the announced size; download: at creation */
  bool overwrite;   /* upload */
  int64_t mode;     /* upload: permissions, -1 = 0644 */
  int64_t uid, gid; /* upload: -1 = unchanged */
  int64_t mtime_ms; /* upload: INT64_MIN = the time of the transfer */
  int64_t atime_ms; /* upload: INT64_MIN = the time of the transfer */
  int64_t expires_mono;
  enum xfer_state state;
  struct gxfer *next;
};

/* How transfer_fail_next spoils the next transfer requests. */
enum xfail { XF_NONE, XF_ERROR, XF_CUT, XF_DROP };

/* A ContainerView or a pending RetrievePropertiesEx page. */
struct vobj {
  char *id;
  const struct entity *container; /* views: what they look into */
  unsigned types;                 /* views: a mask of 1u << enum ent_kind */
  bool recursive;                 /* views */
  json_t *rest; /* pages: the ObjectContent array still to return ... */
  size_t pos;   /* ... from this index on */
  size_t page;  /* pages: objects per page */
};

struct config {
  const char *inventory_path;
  const char *bind;
  unsigned port;
  bool flavours[FL_COUNT];
  int64_t retention_ms;
  int64_t lifetime_ms;
  const char *cert_file, *key_file, *cert_out;
  char **releases;
  size_t nreleases;
  bool verbose;
  /* the transfer listener (transfer.c) */
  unsigned transfer_port;
  int64_t transfer_ttl_ms;
  bool transfer_self_signed; /* else signed by the main certificate */
  bool transfer_explicit;    /* URLs name the address, not "*" */
  const char *process_log;   /* --process-log FILE, or NULL */
  int64_t gen_vms;           /* --vms N: a generated inventory, 0 = none */
  unsigned conn_limit;       /* connections per listener (RLIMIT_NOFILE) */
};

/* The listen backlog of both listeners: a thousand clients may connect
 * at once. */
#define SIM_LISTEN_BACKLOG 4096

struct sim {
  pthread_mutex_t mu;
  pthread_cond_t child_cv; /* signalled when a guest process starts */
  struct config cfg;
  struct inventory inv;
  struct hmap sessions; /* token (secret) -> struct session */
  /* process records: the lists of struct gproc, and the index by pid */
  struct pchain procs;
  struct pchain *vm_procs; /* one per VM of inv.vms, made at the first */
  struct pchain exited;
  struct hmap proc_by_pid;
  uint64_t next_seq;
  int64_t nrunning;                 /* records not yet exited */
  struct gkill *kills, *kills_tail; /* pending SIGKILLs, due in order */
  bool nofile_raised;               /* guest processes get nofile_orig */
  struct rlimit nofile_orig;        /* RLIMIT_NOFILE as the sim started */
  struct hmap views;                /* id -> struct vobj */
  struct hmap pages;                /* token -> struct vobj */
  unsigned next_view;
  struct gxfer *xfers;
  struct hmap xfer_by_id;
  int64_t next_xfer;
  char *xfer_base; /* what transfer URLs start with: https://[*]:PORT */
  /* injection */
  int64_t latency_ms;
  int64_t fail_count;
  enum inject fail_kind;
  bool fail_ops[OP_COUNT];
  int64_t drop_count; /* drop_next (drop_next_create_response: 1 create) */
  bool drop_before;   /* else after: the operation happens, no answer */
  bool drop_ops[OP_COUNT];
  int64_t malform_count;
  enum malform malform_how;
  bool malform_ops[OP_COUNT];
  int64_t xfail_count;
  enum xfail xfail_how;
  bool xfail_dir[2]; /* [0] downloads, [1] uploads */
  /* statistics */
  int64_t requests;
  int64_t logins[FL_COUNT];
  int64_t creates;
  int64_t by_op[OP_COUNT];
  struct {
    int64_t failed, dropped, garbled; /* fail_next, drop_next, malform_next */
    int64_t delayed;                  /* answered after latency_ms */
  } injected;
  struct {
    int64_t created, requests, downloads, uploads, failed;
    int64_t bytes_down, bytes_up;
  } xstats;
  int proc_log_fd;           /* --process-log, -1 without */
  struct vm **tools_pending; /* VMs with a tools_due, in no order */
  size_t ntools_pending, tools_pending_cap;
  /* lifecycle */
  bool shutdown;
  bool stopping;
  pthread_t reaper;
};

void sim_init(struct sim *sim);
void sim_destroy(struct sim *sim);
void sim_lock(struct sim *sim);
void sim_unlock(struct sim *sim);

/* Appends p's start (or, once it has exited, its end) to --process-log
 * as one JSON line, written through before the caller answers anyone;
 * nothing without the option. The caller holds the lock. */
void state_proc_log(struct sim *sim, const struct gproc *p);

/* Process records; the caller holds the lock. state_proc_add gives p its
 * seq and VM, and puts it on its lists and in the index; a record of the
 * same pid (a process that has exited, whose pid the host gave again) is
 * forgotten then, since the pid now names the new process. */
void state_proc_add(struct sim *sim, struct gproc *p);
/* The record of pid, or NULL. */
struct gproc *state_proc_get(struct sim *sim, int64_t pid);
/* The records of the VM at index vm of inv.vms (NULL when none). */
struct gproc *state_proc_first_of_vm(struct sim *sim, size_t vm);
/* Marks p exited (the caller has set exit_code) and queues it for
 * retention. */
void state_proc_exited(struct sim *sim, struct gproc *p);
/* Takes p off every list and the index, and frees it. */
void state_proc_forget(struct sim *sim, struct gproc *p);
/* Queues a SIGKILL for p at due_mono (after every one queued before). */
void state_kill_push(struct sim *sim, const struct gproc *p, int64_t due_mono);
/* Takes the first pending SIGKILL if it is due at now (returns-owned). */
struct gkill *state_kill_pop_due(struct sim *sim, int64_t now);

/* Sessions (each takes the lock). A token works on every flavour. On
 * success token gets the new session's token and key (when not NULL) its
 * key, a random UUID-like string. */
bool state_login(struct sim *sim, const char *user, const char *password,
                 enum flavour fl, char token[33], char key[37]);
/* Looks up token and touches it; on success copies its data into out
 * (out->user borrowed until the next state change: copy it if needed). */
bool state_session(struct sim *sim, const char *token, struct session *out,
                   char *user, size_t userlen);
bool state_logout(struct sim *sim, const char *token);
void state_expire_sessions(struct sim *sim);

/* Counts one request of class op and takes an injected failure if one is
 * pending for it: fail_next first, then a drop_next "before" (INJ_DROP). */
enum inject state_begin_op(struct sim *sim, enum op op);
/* The garbling pending for the success answer of a request of class op
 * (MAL_NONE when none); takes one from malform_next's count. */
enum malform state_take_malform(struct sim *sim, enum op op);
/* True when the success answer of a request of class op is to be lost
 * (drop_next "after"); takes one from drop_next's count. */
bool state_take_drop_after(struct sim *sim, enum op op);
/* The latency_ms to wait before the answer of an API request (counted in
 * injected.delayed when not 0). */
int64_t state_latency(struct sim *sim);

/* vim25 container views and retrieve pages. */
/* A view of container's objects of types (a mask of 1u << enum
 * ent_kind); returns-owned id. */
char *state_view_new(struct sim *sim, const struct entity *container,
                     unsigned types, bool recursive);
/* Copies a view's container, types and recursive flag; false when the
 * view does not exist. */
bool state_view_get(struct sim *sim, const char *id,
                    const struct entity **container, unsigned *types,
                    bool *recursive);
bool state_view_destroy(struct sim *sim, const char *id);
/* Stores rest (stolen) as a page; returns-owned token. */
char *state_page_new(struct sim *sim, json_t *rest, size_t page);
/* Takes the next page for token: returns-owned array, *more set when a
 * further page remains. NULL when the token is unknown. */
json_t *state_page_next(struct sim *sim, const char *token, bool *more);

/* Transfer URLs. state_xfer_add copies x (strings included), gives it an
 * id and a token and an expiry of --transfer-ttl, and writes them back
 * into x->id and x->token. */
void state_xfer_add(struct sim *sim, struct gxfer *x);
/* Why a transfer request cannot have its URL. */
enum xfer_refusal {
  XR_OK,
  XR_UNKNOWN,     /* no such id, or the wrong token */
  XR_USED,        /* one request already succeeded */
  XR_EXPIRED,     /* older than --transfer-ttl */
  XR_INVALID,     /* the VM was powered off or suspended since */
  XR_BUSY,        /* another request is using it right now */
  XR_NO_TOOLS,    /* Tools are not running in the VM right now */
  XR_WRONG_METHOD /* GET on an upload URL or PUT on a download URL */
};
/* Takes the URL for one request: on XR_OK it is busy until
 * state_xfer_release, and *out is a copy (free with state_xfer_free). */
enum xfer_refusal state_xfer_claim(struct sim *sim, int64_t id,
                                   const char *token, bool upload,
                                   struct gxfer **out);
/* Ends a claim: done = the request succeeded, and the URL is used up. */
void state_xfer_release(struct sim *sim, int64_t id, bool done);
/* Invalidates every transfer URL of a VM (power-off, suspend). */
void state_xfer_invalidate_vm(struct sim *sim, const char *vm_id);
/* Forgets URLs that expired more than a minute ago; takes the lock. */
void state_xfer_housekeep(struct sim *sim);
void state_xfer_free(struct gxfer *x);
/* The spoiling pending for the next transfer request (XF_NONE when none);
 * takes one from transfer_fail_next's count. */
enum xfail state_xfer_take_fail(struct sim *sim, bool upload);
/* Transfer statistics: a request, a completed download or upload, a
 * failed request, or bytes sent or received (n). Takes the lock. */
enum xnote {
  XN_REQUEST,
  XN_DOWNLOAD,
  XN_UPLOAD,
  XN_FAILED,
  XN_BYTES_DOWN,
  XN_BYTES_UP
};
void state_xfer_note(struct sim *sim, enum xnote what, int64_t n);
/* The live transfer URLs (without tokens), for GET /sim/transfers. */
json_t *state_xfers_json(struct sim *sim); /* returns-owned */

/* A VM's Tools (control.c): what they do now (0 not running, 1 running,
 * 2 executing scripts), and, with delay_ms > 0, they are not running for
 * delay_ms, then do what `tools` says (as when a guest boots). The caller
 * holds the lock. */
void state_vm_tools(struct sim *sim, struct vm *vm, int tools,
                    int64_t delay_ms);
/* Applies the Tools states that are due; takes the lock. */
void state_tools_housekeep(struct sim *sim);

/* Control endpoint helpers. */
json_t *state_stats(struct sim *sim); /* returns-owned */

#endif
