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
   detached ones. */
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
   there is no terminal). */
vg_status vg_secret_from_prompt(const char *prompt, vg_secret **out);
/* Copy of s. */
vg_status vg_secret_dup(const vg_secret *s, vg_secret **out);
/* Zeroes and frees; owns s. NULL is a no-op. */
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
  long max_connections;   /* per host; 0: 16 */
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
   runtime). NULL is a no-op. */
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

typedef struct vg_vm_filter {
  const char *const *names; /* NULL-terminated, or NULL */
  const char *const *ids;   /* NULL-terminated, or NULL */
  const char *power_state;  /* "POWERED_ON", ... or NULL */
} vg_vm_filter;

vg_status vg_vm_list(vg_session *s, const vg_vm_filter *f, vg_callback cb,
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

#ifdef __cplusplus
}
#endif
#endif
