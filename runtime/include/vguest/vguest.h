/*
 * vguest: run programs inside vSphere guest VMs, asynchronously.
 *
 * Public C API of the runtime core. Everything here is usable without Lua.
 *
 * Model: a vg_runtime owns one event loop (curl multi + timer heap). Every
 * network operation is started with a callback and returns a vg_op handle;
 * the callback runs from inside vg_runtime_step() once the operation has
 * completed (never from inside a libcurl callback). A synchronous call is
 * "start, then vg_op_wait()". All objects belong to one runtime and one
 * thread.
 *
 * Ownership words used on every prototype:
 *   owns          the callee keeps the pointer and frees it
 *   borrows       the callee only reads it during the call
 *   returns-owned the caller must free the result with the named function
 *   valid-until   a returned pointer stays valid until the named event
 *
 * Rules that hold for every function here:
 *   - A function with an out-parameter `T **out` sets *out to NULL on every
 *     failure (and on entry), so freeing it afterwards is always safe.
 *     A NULL out is VG_EMISUSE.
 *   - VG_EMISUSE means the caller broke a rule stated here (a NULL where an
 *     object is required, an invalid option). VG_EUNSUPPORTED means the
 *     request was fine but the server's flavour cannot do it; it reaches
 *     the op's error, never a start function's return value.
 *   - *_free(NULL) does nothing.
 */
#ifndef VGUEST_H
#define VGUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VG_VERSION "0.1.0"

/*
 * Status codes. One list yields the enum, vg_status_name() ("ETIMEDOUT"),
 * vg_status_kind() (the normalized error kind users match on, DESIGN.md
 * "Errors") and vg_status_text() (a short English description).
 */
#define VG_STATUS_LIST(X)                                                      \
  X(OK, "ok", "success")                                                       \
  X(EUNAUTHENTICATED, "unauthenticated", "authentication failed")              \
  X(EUNAUTHORIZED, "unauthorized", "not authorized")                           \
  X(ENOTFOUND, "not_found", "not found")                                       \
  X(EINVALID, "invalid_argument", "invalid argument")                          \
  X(ESTATE, "not_allowed_in_current_state", "not allowed in current state")    \
  X(EBUSY, "resource_busy", "resource busy")                                   \
  X(EUNAVAILABLE, "service_unavailable", "service unavailable")                \
  X(EUNSUPPORTED, "unsupported", "unsupported")                                \
  X(ENORESOURCE, "unable_to_allocate_resource", "unable to allocate resource") \
  X(ETIMEDOUT, "timed_out", "timed out")                                       \
  X(ECANCELED, "canceled", "canceled")                                         \
  X(ESERVER, "server_error", "internal server error")                          \
  X(ETRANSPORT, "transport", "transport error")                                \
  X(ETLS, "tls", "TLS error")                                                  \
  X(EPROTOCOL, "protocol", "protocol error")                                   \
  X(EMISUSE, "misuse", "invalid use of the API")                               \
  X(ENOMEM, "out_of_memory", "out of memory")                                  \
  X(EPENDING, "pending", "operation still in progress")

typedef enum vg_status {
#define VG_STATUS_ENUM(name, kind, text) VG_##name,
  VG_STATUS_LIST(VG_STATUS_ENUM)
#undef VG_STATUS_ENUM
      VG_STATUS_COUNT
} vg_status;

/* All three return static strings; an unknown value gives "EUNKNOWN" etc. */
const char *vg_status_name(vg_status st); /* "ETIMEDOUT" */
const char *vg_status_kind(vg_status st); /* "timed_out" */
const char *vg_status_text(vg_status st); /* "timed out" */

/*
 * Details of a failure, as vg_op_error() returns them. Every string is
 * owned by the op and valid-until vg_op_free (they do not change once the
 * op has completed). No field ever contains a secret.
 */
typedef struct vg_error {
  vg_status status;       /* VG_OK when there is no error */
  int http_status;        /* HTTP status of the failing response, or 0 */
  const char *fault;      /* vim25 fault type or vAPI error_type, or NULL */
  const char *message;    /* readable, one line; never NULL when failed */
  const char *message_id; /* vAPI messages[0].id or vim25 fault key, or NULL */
  const char *op;         /* "login", "vms", "create", "get", ... (static) */
  const char *vm;         /* VM id the op was about, or NULL */
  int64_t pid;            /* process id the op was about, or 0 */
  const char *auth;       /* for EUNAUTHENTICATED: "session" (vCenter login) or
                             "guest" (guest credentials); else NULL (static) */
  int retryable;          /* 1 when trying the same call later may succeed */
  int maybe_done; /* 1 when a non-idempotent request (create) was sent and
                     its answer lost: it may have taken effect */
  const char *thumbprint; /* VG_ETLS: the SHA-256 fingerprint of the
                             server's certificate ("8A:1F:...", what a pin
                             takes), when the handshake got one; else NULL */
} vg_error;

/* ---------------------------------------------------------------------- */
/* Runtime and event loop                                                 */

typedef struct vg_runtime vg_runtime;
typedef struct vg_op vg_op;

/* Optional hooks. The runtime allocates with malloc and leaves the
   process's libraries as it found them (no allocator or global state of
   libcurl, OpenSSL or jansson is replaced). */
typedef struct vg_runtime_options {
  /* Called (may be NULL) with one line of text per warning, e.g. when a
     session is opened with insecure = 1. Never passed a secret. */
  void (*warn_fn)(void *ud, const char *line);
  void *warn_ud;
} vg_runtime_options;

/* opts: borrows (may be NULL); *out: returns-owned, vg_runtime_free. */
vg_status vg_runtime_new(const vg_runtime_options *opts, vg_runtime **out);

/* Frees the runtime; owns rt. Pending detached work (logouts of sessions
   freed while logged in) gets up to about one second to finish; every
   other pending op is canceled first (callbacks are not called). Sessions
   and ops must be freed before the runtime. NULL is a no-op. */
void vg_runtime_free(vg_runtime *rt);

/* Runs one loop iteration: waits up to max_wait_ms (-1: until something
   happens, 0: do not wait) for network activity, a timer or an interrupt,
   then delivers every completion (callbacks run here). rt: borrows.
   Returns VG_OK, or VG_ECANCELED when vg_runtime_interrupt() woke it. */
vg_status vg_runtime_step(vg_runtime *rt, long max_wait_ms);

/* A file descriptor (epoll) that becomes readable when vg_runtime_step()
   has work: lets a host add vguest to its own event loop. Valid-until the
   runtime is freed. Use with vg_runtime_timeout_ms(). */
int vg_runtime_fd(const vg_runtime *rt);

/* Milliseconds until the next timer or libcurl timeout (-1: none). */
long vg_runtime_timeout_ms(const vg_runtime *rt);

/* Number of ops in flight (started, not yet completed or freed), including
   detached ones. An op that has completed but whose callback has not run
   yet is not counted: vg_runtime_timeout_ms() is 0 while such callbacks
   wait, so a host loop steps once more before it calls the runtime idle. */
size_t vg_runtime_pending(const vg_runtime *rt);

/* Async-signal-safe: wakes a blocked vg_runtime_step(), which then returns
   VG_ECANCELED. Used for Ctrl-C. */
void vg_runtime_interrupt(vg_runtime *rt);

/* ---------------------------------------------------------------------- */
/* Operations (vg_op)                                                     */

/* Called once from vg_runtime_step() when op completes (successfully or
   not). op is borrowed: the callback may free it. */
typedef void (*vg_callback)(vg_op *op, void *ud);

/* VG_EPENDING while in flight; VG_OK or an error status once done.
   VG_EMISUSE for a NULL op. */
vg_status vg_op_status(const vg_op *op);
/* Error details (status VG_OK when none), valid-until vg_op_free; NULL for
   a NULL op. Read them once the op has completed: they may change while
   it is in flight (a retried request). */
const vg_error *vg_op_error(const vg_op *op);

/* Runs the runtime loop until op completes (other ops progress too).
   Returns the op's final status, or VG_ECANCELED if interrupted first. */
vg_status vg_op_wait(vg_op *op);

/* Cancels a pending op (its transfer or timer stops; its callback is not
   called) and sets its status to VG_ECANCELED. No-op on a completed op. */
void vg_op_cancel(vg_op *op);

/* Frees op, canceling it when still pending; owns op. NULL is a no-op. */
void vg_op_free(vg_op *op);

/* Results, once vg_op_status() == VG_OK (before that, or after a failure,
   the accessors return 0 and set *out to NULL). Every pointer in them is
   valid-until vg_op_free. */
typedef struct vg_process_info {
  int64_t pid;
  const char *name;
  const char *owner;
  const char *command;
  const char *started;  /* RFC 3339, "2026-11-23T04:53:55.000Z" */
  const char *finished; /* NULL while running */
  int has_exit_code;
  int exit_code;
} vg_process_info;

typedef struct vg_vm_info {
  const char *id;          /* "vm-42" (also the vim25 MoRef value) */
  const char *name;        /* "web-01" */
  const char *power_state; /* "POWERED_ON", "POWERED_OFF", "SUSPENDED" */
} vg_vm_info;

int64_t vg_op_pid(const vg_op *op); /* vg_process_create; 0 if none */
/* vg_process_get (one entry), vg_process_list; returns the count. */
size_t vg_op_processes(const vg_op *op, const vg_process_info **out);
/* vg_vm_list; returns the count. */
size_t vg_op_vms(const vg_op *op, const vg_vm_info **out);

/* An inventory object of vg_inventory_list. */
typedef struct vg_object_info {
  const char *id;   /* "host-11", "group-v22", "domain-c10" (MoRef values) */
  const char *name; /* "esx-01" */
} vg_object_info;
/* vg_inventory_list; returns the count. */
size_t vg_op_objects(const vg_op *op, const vg_object_info **out);

/* What VMware Tools report of a VM (vg_vm_guest_info). */
typedef struct vg_guest_info {
  const char *tools;      /* "running", "not_running" or "starting" (Tools
                             are running scripts of a state change) */
  int ops_ready;          /* 1 when guest operations can run now */
  const char *family;     /* "LINUX", "WINDOWS", "OTHER" or NULL (unknown) */
  const char *ip_address; /* the guest's primary IP address, or NULL */
  const char *host_name;  /* the guest's host name, or NULL */
  const char *host;       /* id of the ESXi host running the VM, or NULL
                             when the flavour does not tell (vAPI) */
} vg_guest_info;
/* vg_vm_guest_info; NULL before it succeeded. valid-until vg_op_free. */
const vg_guest_info *vg_op_guest_info(const vg_op *op);
/* vg_guest_env; parallel arrays of names and values; returns the count. */
size_t vg_op_env(const vg_op *op, const char *const **names,
                 const char *const **values);

/* A timer op completing with VG_OK after ms milliseconds (ms >= 0, else
   VG_EMISUSE). *out: returns-owned, vg_op_free. */
vg_status vg_timer_start(vg_runtime *rt, long ms, vg_callback cb, void *ud,
                         vg_op **out);

/* ---------------------------------------------------------------------- */
/* Secrets                                                                */

/* A secret is one allocation, zeroed before it is freed, compared in
   constant time and never formatted into any message. */
typedef struct vg_secret vg_secret;

/* bytes: borrows (copied). *out: returns-owned, vg_secret_free. */
vg_status vg_secret_new(const void *bytes, size_t len, vg_secret **out);
/* Reads environment variable name; VG_ENOTFOUND when unset. */
vg_status vg_secret_from_env(const char *name, vg_secret **out);
/* Reads a file; one trailing "\n" or "\r\n" is removed. */
vg_status vg_secret_from_file(const char *path, vg_secret **out);
/* Prompts on /dev/tty with echo off (or reads one line of stdin when
   there is no terminal). VG_ECANCELED at the end of input before a line. */
vg_status vg_secret_from_prompt(const char *prompt, vg_secret **out);
/* The same, stoppable: stop (NULL for never) is called, with ud, each
   time a signal interrupts the wait (Ctrl-C, with a handler installed),
   and a nonzero answer ends it with VG_ECANCELED. *is_tty (is_tty may be
   NULL) says whether a terminal was read, with echo off. */
vg_status vg_secret_prompt(const char *prompt, int (*stop)(void *ud), void *ud,
                           int *is_tty, vg_secret **out);
/* Copy of s, freed on its own with vg_secret_free. Secrets never change,
   so a copy shares s's memory and costs nothing more (thread-safe). */
vg_status vg_secret_dup(const vg_secret *s, vg_secret **out);
/* Zeroes and frees (once the last copy is freed); owns s. NULL is a
   no-op. */
void vg_secret_free(vg_secret *s);
size_t vg_secret_len(const vg_secret *s);
/* Constant-time comparison; 1 when equal. */
int vg_secret_equal(const vg_secret *a, const vg_secret *b);
/* Bytes of the secret plus a terminating NUL, for handing to a protocol;
   NULL for a NULL secret. valid-until vg_secret_free. Never log it. */
const char *vg_secret_reveal(const vg_secret *s);

/* ---------------------------------------------------------------------- */
/* Guest credentials                                                      */

typedef struct vg_credentials vg_credentials;

typedef struct vg_credentials_options {
  const char *user;            /* guest user; required for passwords */
  const vg_secret *password;   /* borrows (copied): USERNAME_PASSWORD */
  const vg_secret *saml_token; /* borrows (copied): SAML_BEARER_TOKEN */
  int interactive;             /* interactive_session (passwords only) */
} vg_credentials_options;

/* Exactly one of password / saml_token. o: borrows (everything copied).
   *out: returns-owned, vg_credentials_free. Errors: VG_EMISUSE with a
   reason in *why (a static string; why may be NULL), VG_ENOMEM. */
vg_status vg_credentials_new(const vg_credentials_options *o,
                             vg_credentials **out, const char **why);
void vg_credentials_free(vg_credentials *c); /* owns c; zeroes secrets */
/* The guest user, valid-until vg_credentials_free; may be NULL (a SAML
   token without a user). */
const char *vg_credentials_user(const vg_credentials *c);
/* "USERNAME_PASSWORD" or "SAML_BEARER_TOKEN" (static) */
const char *vg_credentials_type(const vg_credentials *c);
int vg_credentials_interactive(const vg_credentials *c);

/* ---------------------------------------------------------------------- */
/* Sessions                                                               */

typedef struct vg_session vg_session;

typedef enum vg_protocol {
  VG_PROTOCOL_AUTO = 0, /* probe api, then vim25, then rest */
  VG_PROTOCOL_API,
  VG_PROTOCOL_REST,
  VG_PROTOCOL_VIM25
} vg_protocol;

/* The one registry of flavour names: "auto", "api", "rest", "vim25".
   Returns a static string, or NULL for a value that is not a vg_protocol
   (so `for (p = 0; vg_protocol_name(p); p++)` lists them all). */
const char *vg_protocol_name(vg_protocol p);
/* name: borrows. *out is set on VG_OK; VG_EINVALID for an unknown name. */
vg_status vg_protocol_from_name(const char *name, vg_protocol *out);

typedef struct vg_session_options {
  const char *server;        /* "https://vc.example.com[:port]" (required) */
  const char *user;          /* vCenter user (required) */
  const vg_secret *password; /* borrows (copied) (required) */
  vg_protocol protocol;
  const char *release;    /* vim25 release, NULL: "8.0.1.0" */
  const char *ca_file;    /* PEM bundle to verify with, NULL: system CAs */
  const char *thumbprint; /* SHA-1 or SHA-256 of the server certificate,
                             hex with or without colons: pins it */
  int insecure;           /* 1: no TLS verification (warns) */
  long timeout_ms;        /* per HTTP request; 0: 30000 */
  long max_connections;   /* per host; 0: 64 */
  /* TLS to the ESXi hosts that serve file transfers (ca_file above
     verifies them by default): */
  const char *transfer_thumbprint;  /* pin for every transfer host, or */
  const char *const *transfer_pins; /* "host=thumbprint", NULL-terminated */
  int insecure_transfers;           /* 1: no verification (warns) */
} vg_session_options;

/* Creates a session object; no I/O happens until an op is started (the
   first op logs in; vg_session_login does it explicitly). rt: borrows
   (must outlive the session). o: borrows (everything copied). *out:
   returns-owned, vg_session_free. VG_EMISUSE with *why (a static string;
   why may be NULL) on bad options, VG_ENOMEM. */
vg_status vg_session_new(vg_runtime *rt, const vg_session_options *o,
                         vg_session **out, const char **why);

/* Frees the session; owns s. Its pending ops complete with VG_ECANCELED
   (callbacks are called from the next step) — free them as usual. When
   logged in, a logout is sent in the background (detached, owned by the
   runtime). A run still pending cannot clean up in the guest once its
   session is gone: stop runs (vg_run_stop) and wait for them first. NULL
   is a no-op. */
void vg_session_free(vg_session *s);

/* Logs in (probing the protocol when VG_PROTOCOL_AUTO); completes at once
   when already logged in. *out: returns-owned, vg_op_free. */
vg_status vg_session_login(vg_session *s, vg_callback cb, void *ud,
                           vg_op **out);
/* Logs out; the session can log in again later. *out: returns-owned,
   vg_op_free. */
vg_status vg_session_logout(vg_session *s, vg_callback cb, void *ud,
                            vg_op **out);

/* "api", "rest", "vim25" (static), or NULL before the protocol is known
   (auto, before the first login). */
const char *vg_session_protocol(const vg_session *s);
/* Server release (vim25 apiVersion / about.version) or NULL if unknown.
   valid-until vg_session_free, or a later login that reports a different
   release (a re-login after a server upgrade): copy it to keep it. */
const char *vg_session_release(const vg_session *s);
/* The user and the server URL (normalized: scheme, no trailing slash) as
   given; valid-until vg_session_free. */
const char *vg_session_user(const vg_session *s);
const char *vg_session_server(const vg_session *s);
/* 1 while the session holds a token (it may have expired server-side). */
int vg_session_logged_in(const vg_session *s);
/* 1 when a process list returns exit codes, so many waits in one VM can
   share one list request (rest, vim25); 0 while the flavour is not known
   yet. */
int vg_session_list_has_exit_codes(const vg_session *s);

/* ---------------------------------------------------------------------- */
/* VMs and guest processes. All start an op; *out: returns-owned,          */
/* vg_op_free. Inputs are borrowed (copied before return). VG_EMISUSE for */
/* a NULL or freed session, a missing VM, credentials or pid.             */

/* Every array given must match (a VM matches an array when it matches
   any of its elements; NULL or empty: any VM). The containers are ids
   (vg_inventory_list): a VM directly in a folder (not in its subfolders,
   as the vAPI's filter has it), in a datacenter or a resource pool at any
   depth, in a cluster, on a host. */
typedef struct vg_vm_filter {
  const char *const *names; /* NULL-terminated, or NULL */
  const char *const *ids;   /* NULL-terminated, or NULL */
  const char *power_state;  /* "POWERED_ON", ... or NULL */
  const char *const *folders, *const *datacenters,
                                  *const *clusters, *const *hosts,
                                                        *const *resource_pools;
} vg_vm_filter;

vg_status vg_vm_list(vg_session *s, const vg_vm_filter *f, vg_callback cb,
                     void *ud, vg_op **out);

/* The kinds of inventory objects VMs are selected by. */
typedef enum vg_inventory_kind {
  VG_INV_FOLDER,
  VG_INV_DATACENTER,
  VG_INV_CLUSTER,
  VG_INV_HOST,
  VG_INV_RESOURCE_POOL
} vg_inventory_kind;
/* "folder", "datacenter", "cluster", "host", "resource_pool"; NULL past
   the last. */
const char *vg_inventory_kind_name(vg_inventory_kind k);

/* The objects of a kind, those named one of names (NULL-terminated; NULL:
   all). Folders are VM folders where the flavour can tell them apart. */
vg_status vg_inventory_list(vg_session *s, vg_inventory_kind kind,
                            const char *const *names, vg_callback cb, void *ud,
                            vg_op **out);

/* What Tools report of a VM now: their state, whether guest operations
   are ready, the guest family, IP address and host name (vg_op_guest_info).
   A VM whose Tools do not run is an answer (tools "not_running"), not a
   failure. */
vg_status vg_vm_guest_info(vg_session *s, const char *vm, vg_callback cb,
                           void *ud, vg_op **out);

typedef struct vg_program_spec {
  const char *path;              /* required */
  const char *arguments;         /* NULL: none */
  const char *working_directory; /* NULL: guest user's home */
  const char *const *env;        /* "K=V" strings, NULL-terminated; NULL:
                                    the guest's default environment */
  int start_minimized;           /* Windows only */
} vg_program_spec;

vg_status vg_process_create(vg_session *s, const char *vm,
                            const vg_credentials *c, const vg_program_spec *p,
                            vg_callback cb, void *ud, vg_op **out);
vg_status vg_process_get(vg_session *s, const char *vm, const vg_credentials *c,
                         int64_t pid, vg_callback cb, void *ud, vg_op **out);
/* pids/npids: only those processes (unknown ones are left out); NULL/0:
   all. On "api" a pid filter is applied client-side. */
vg_status vg_process_list(vg_session *s, const char *vm,
                          const vg_credentials *c, const int64_t *pids,
                          size_t npids, vg_callback cb, void *ud, vg_op **out);
vg_status vg_process_delete(vg_session *s, const char *vm,
                            const vg_credentials *c, int64_t pid,
                            vg_callback cb, void *ud, vg_op **out);
/* The guest's environment variables (names: NULL-terminated, or NULL for
   all). */
vg_status vg_guest_env(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *const *names, vg_callback cb, void *ud,
                       vg_op **out);

/* ---------------------------------------------------------------------- */
/* Guest files. The legacy "rest" flavour has no guest filesystem: these  */
/* ops end with VG_EUNSUPPORTED there. Paths are the guest's own.         */

typedef struct vg_file_info {
  const char *name;           /* list_files: the entry's name; stat: the path */
  const char *type;           /* "file", "directory", "symlink" (static) */
  int64_t size;               /* bytes */
  int has_mode;               /* POSIX guests: */
  unsigned mode;              /*   permission bits, e.g. 0644 */
  int64_t owner, group;       /*   uid and gid, -1 when not told */
  const char *modified;       /* RFC 3339, or NULL */
  const char *symlink_target; /* or NULL */
} vg_file_info;

typedef struct vg_mktemp_spec {
  const char *prefix; /* NULL: "vguest-" */
  const char *suffix; /* NULL: "" */
  const char *dir;    /* NULL: the guest's temporary directory */
  int directory;      /* 1: a directory, 0: a file */
} vg_mktemp_spec;

/* The new file's or directory's absolute path: vg_op_path. */
vg_status vg_file_mktemp(vg_session *s, const char *vm, const vg_credentials *c,
                         const vg_mktemp_spec *m, vg_callback cb, void *ud,
                         vg_op **out);
/* One vg_file_info (vg_op_files); a missing path is VG_ENOTFOUND. */
vg_status vg_file_stat(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *path, vg_callback cb, void *ud, vg_op **out);
/* The entries of a directory, every page of them (vg_op_files). */
vg_status vg_file_list(vg_session *s, const char *vm, const vg_credentials *c,
                       const char *dir, vg_callback cb, void *ud, vg_op **out);
vg_status vg_file_mkdir(vg_session *s, const char *vm, const vg_credentials *c,
                        const char *path, int parents, vg_callback cb, void *ud,
                        vg_op **out);

#define VG_REMOVE_DIRECTORY 1u /* path is a directory */
#define VG_REMOVE_RECURSIVE 2u /* and everything in it */
vg_status vg_file_remove(vg_session *s, const char *vm, const vg_credentials *c,
                         const char *path, unsigned flags, vg_callback cb,
                         void *ud, vg_op **out);

/* Results of file ops: valid-until vg_op_free. */
const char *vg_op_path(const vg_op *op); /* mktemp; transfer URLs */
size_t vg_op_files(const vg_op *op, const vg_file_info **out);

/* ---------------------------------------------------------------------- */
/* Transfers: the bytes of a guest file go through a URL served by the    */
/* VM's ESXi host, not by the vCenter. A "*" host in such a URL is the    */
/* host the session talks to. TLS to the ESXi host is verified with the   */
/* session's ca_file (a vCenter's CA usually signs its hosts), or the     */
/* session's transfer pins, or not at all with insecure_transfers (warns).*/

typedef struct vg_file_attributes {
  int64_t size;  /* required for an upload: the exact number of bytes */
  int overwrite; /* 1: replace an existing file */
  int has_mode;
  unsigned mode;        /* POSIX permission bits */
  int64_t owner, group; /* -1: the guest user's */
} vg_file_attributes;

/* Where a transfer's bytes come from (upload) or go to (download): one
   of a local file, memory, or a callback. */
typedef struct vg_transfer_spec {
  const char *local_path;
  const void *data; /* upload: data/len, copied before return */
  size_t len;
  /* upload: read up to n bytes into dst, return how many (0: end) */
  size_t (*read)(char *dst, size_t n, void *ud);
  /* download: take n bytes; return 0, or non-zero to give up */
  int (*write)(const char *p, size_t n, void *ud);
  void *ud;
  /* download into memory (no local_path, no write): keep at most this
     many bytes (0: 64 MiB); more is VG_EPROTOCOL, never a silent cut */
  size_t max_bytes;
} vg_transfer_spec;

/* The URL to download a guest file from (vg_op_path, as the server wrote
   it: a "*" host is replaced when vg_transfer_get uses it), and its size
   when the flavour says (vim25; vg_op_size, else -1). */
vg_status vg_transfer_from_guest(vg_session *s, const char *vm,
                                 const vg_credentials *c, const char *path,
                                 vg_callback cb, void *ud, vg_op **out);
/* The URL to upload a guest file to (vg_op_path). a: borrows. */
vg_status vg_transfer_to_guest(vg_session *s, const char *vm,
                               const vg_credentials *c, const char *path,
                               const vg_file_attributes *a, vg_callback cb,
                               void *ud, vg_op **out);
/* GET a transfer URL into the spec's sink (memory: vg_op_data). An
   ESXi host's refusal is its own error (kind unauthorized, not_found,
   ...), never taken for an expired vCenter session. */
vg_status vg_transfer_get(vg_session *s, const char *url,
                          const vg_transfer_spec *to, vg_callback cb, void *ud,
                          vg_op **out);
/* PUT the spec's source to a transfer URL; the size must be known (a
   file's, len, or size for a callback). */
vg_status vg_transfer_put(vg_session *s, const char *url,
                          const vg_transfer_spec *from, int64_t size,
                          vg_callback cb, void *ud, vg_op **out);

/* Both steps in one op: a guest file into the sink; a source into a
   guest file (a->size is taken from the source when it is a local file
   or memory). */
vg_status vg_file_download(vg_session *s, const char *vm,
                           const vg_credentials *c, const char *path,
                           const vg_transfer_spec *to, vg_callback cb, void *ud,
                           vg_op **out);
vg_status vg_file_upload(vg_session *s, const char *vm, const vg_credentials *c,
                         const char *path, const vg_file_attributes *a,
                         const vg_transfer_spec *from, vg_callback cb, void *ud,
                         vg_op **out);

/* Bytes a download kept in memory; valid-until vg_op_free. */
const void *vg_op_data(const vg_op *op, size_t *len);
int64_t vg_op_size(const vg_op *op);

/* ---------------------------------------------------------------------- */
/* Running a command and capturing its output                             */

typedef enum vg_os {
  VG_OS_AUTO = 0, /* ask the VM (its guest family) */
  VG_OS_POSIX,    /* Linux and other Unix guests: /bin/sh quoting */
  VG_OS_WINDOWS   /* Windows guests: the MSVCRT rules, cmd.exe /c */
} vg_os;

/* The VM's guest family as the server reports it (vg_op_os: VG_OS_WINDOWS
   for Windows guests, VG_OS_POSIX for every other). */
vg_status vg_guest_os(vg_session *s, const char *vm, vg_callback cb, void *ud,
                      vg_op **out);
vg_os vg_op_os(const vg_op *op);

/* The command line of argv quoted for a guest family: each argument comes
   back to the program byte for byte (an empty one included). POSIX: for
   /bin/sh; Windows: for the MSVCRT argument rules behind cmd.exe /c, its
   metacharacters escaped. *out: returns-owned, free(). VG_EINVALID for an
   argument the family cannot carry (a line break through cmd.exe). */
vg_status vg_command_line(vg_os os, const char *const *argv, char **out);

typedef enum vg_env_mode {
  VG_ENV_MERGE = 0, /* read the guest's environment, overlay env */
  VG_ENV_REPLACE    /* env replaces it (the API's own meaning) */
} vg_env_mode;

typedef struct vg_run_spec {
  const char *const *argv; /* program and arguments, quoted for the guest */
  const char *command;     /* or: shell text passed untouched (/bin/sh -c,
                              cmd.exe /c) */
  vg_os os;
  const char *cwd;        /* NULL: the guest user's home */
  const char *const *env; /* "K=V", NULL-terminated, or NULL */
  vg_env_mode env_mode;
  vg_transfer_spec stdin_from; /* local_path or data/len, or nothing */
  long timeout_ms;         /* 0: none; past it the process is terminated, the
                              output so far downloaded, and the op fails with
                              VG_ETIMEDOUT (its run result still readable) */
  size_t max_output;       /* per stream kept in memory; 0: 64 MiB */
  const char *stdout_file; /* local paths the output streams to instead */
  const char *stderr_file;
} vg_run_spec;

/* Runs a command in the guest: a temp directory, the program started with
   its output redirected there, waited on, the output downloaded, the
   directory removed. Whatever happens (failure, timeout, vg_run_stop), the
   process is not left running and the temp files are removed before the
   op completes. */
vg_status vg_run(vg_session *s, const char *vm, const vg_credentials *c,
                 const vg_run_spec *r, vg_callback cb, void *ud, vg_op **out);

/* Stops a pending run: terminates the guest process, downloads the output
   so far, removes the temp files, then completes the op with VG_ECANCELED
   (its callback runs). vg_op_cancel and vg_op_free of a pending run do
   the same clean-up in the background, without a callback. */
void vg_run_stop(vg_op *op);

typedef struct vg_run_result {
  int64_t pid;
  int exit_code;
  int has_exit_code;   /* 0 when the run ended before the process did */
  const char *started; /* RFC 3339 */
  const char *finished;
  const char *out, *err; /* the output kept in memory (NUL-terminated
                            copies; the bytes may hold NULs: use the
                            lengths) */
  size_t out_len, err_len;
  int out_truncated, err_truncated; /* max_output was reached */
} vg_run_result;

/* The result of a run that finished, timed out or was stopped; NULL
   before. valid-until vg_op_free. */
const vg_run_result *vg_op_run(const vg_op *op);

#ifdef __cplusplus
}
#endif
#endif
