/* Library-internal declarations shared by the runtime's files (vgi_*). */
#ifndef VGUEST_INTERNAL_H
#define VGUEST_INTERNAL_H

#include "vguest/vguest.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>

/* ---- memory ----------------------------------------------------------- */

/* Allocation through the runtime's hooks (or libc). */
void *vgi_malloc(const vg_runtime *rt, size_t n);
void *vgi_calloc(const vg_runtime *rt, size_t n, size_t size);
void vgi_free(const vg_runtime *rt, void *p);

/* Allocations that are zeroed when freed (size kept in a header). jansson
   uses these process-wide, so a password that passed through a json_t or a
   json_dumps() buffer does not linger in freed memory. */
void *vgi_zmalloc(size_t n);
void vgi_zfree(void *p);
void vgi_json_init(void);

/* A growable byte buffer; vgi_buf_zfree zeroes before freeing. */
typedef struct vgi_buf {
  char *data;
  size_t len, cap;
} vgi_buf;
int vgi_buf_add(vgi_buf *b, const void *p, size_t n); /* 0 ok, -1 nomem */
int vgi_buf_printf(vgi_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int vgi_buf_add_escaped(vgi_buf *b, const char *s); /* URL component */
void vgi_buf_zfree(vgi_buf *b);

char *vgi_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vgi_zero(void *p, size_t n);

/* ---- secrets, credentials -------------------------------------------- */

struct vg_credentials {
  char *user;
  vg_secret *password;
  vg_secret *saml_token;
  int interactive;
};
vg_status vgi_credentials_dup(const vg_credentials *c, vg_credentials **out);

/* ---- errors ------------------------------------------------------------ */

/* Owned copy of a vg_error: the public struct plus the storage. */
typedef struct vgi_error {
  vg_error pub;
  char *fault, *message, *message_id;
} vgi_error;
void vgi_error_clear(vgi_error *e);
void vgi_error_copy(vgi_error *dst, const vgi_error *src);
void vgi_error_set(vgi_error *e, vg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vgi_error_vset(vgi_error *e, vg_status st, const char *fmt, va_list ap);
void vgi_error_set_fault(vgi_error *e, const char *fault);
void vgi_error_set_message_id(vgi_error *e, const char *id);

/* Normalization tables (errmap.c). */
vg_status vgi_vapi_error_status(const char *error_type);
vg_status vgi_vim_fault_status(const char *fault, const char **auth);
vg_status vgi_http_status_fallback(long http_status);
int vgi_status_retryable(vg_status st);

/* ---- json helpers ------------------------------------------------------ */

const char *vgi_json_str(const json_t *o, const char *key); /* or NULL */
/* Normalizes an RFC 3339 date-time to "YYYY-MM-DDThh:mm:ss.sssZ" in out
   (>= 25 bytes). Returns 0, or -1 when s does not parse. */
int vgi_time_normalize(const char *s, char out[32]);

/* ---- ops --------------------------------------------------------------- */

typedef enum vgi_op_kind {
  VGI_OP_TIMER,
  VGI_OP_LOGIN,
  VGI_OP_LOGOUT,
  VGI_OP_VMS,
  VGI_OP_CREATE,
  VGI_OP_GET,
  VGI_OP_LIST,
  VGI_OP_DELETE,
  VGI_OP_ENV,
  VGI_OP_CHECK /* internal: is the session token still valid? */
} vgi_op_kind;

const char *vgi_op_kind_name(vgi_op_kind k);

typedef struct vgi_http vgi_http;

struct vg_op {
  vg_runtime *rt;
  vg_session *s; /* NULL for timers and for detached/orphaned ops */
  vgi_op_kind kind;
  vg_status status; /* VG_EPENDING while in flight */
  vgi_error err;
  vg_callback cb;
  void *ud;
  int detached; /* owned by the runtime, freed when done */

  /* inputs (owned copies) */
  char *vm;
  int64_t pid;
  vg_credentials *cred;
  json_t *args; /* kind-specific inputs */

  /* progress */
  int step;
  int token_gen; /* session token generation the request was sent with */
  int relogged;  /* already re-logged in once for this op */
  int transport_retried;
  vg_op *check;    /* internal CHECK op deciding this op's 401 */
  vgi_error saved; /* the ambiguous 401 while checking */
  int probe;       /* login: index into the auto probe order */
  vgi_http *http;  /* in-flight request, or NULL */
  json_t *scratch; /* protocol state across steps */

  /* results */
  int64_t rpid;
  vg_process_info *procs;
  size_t nprocs;
  vg_vm_info *vms;
  size_t nvms;
  char **env_names, **env_values;
  size_t nenv;
  json_t *keep; /* owns the strings the results point into */

  /* timer heap */
  uint64_t due_ms;
  size_t heap_idx; /* SIZE_MAX when not in the heap */

  /* links */
  vg_op *s_prev, *s_next; /* session's list of ops */
  vg_op *q_next;          /* session's queue waiting for login */
  int queued;
  vg_op *d_prev, *d_next; /* runtime's done (to deliver) list */
  int in_done;
};

vg_op *vgi_op_new(vg_runtime *rt, vg_session *s, vgi_op_kind kind,
                  vg_callback cb, void *ud);
/* Completes op: status set, removed from queues, put on the done list. */
void vgi_op_complete(vg_op *op, vg_status st);
/* Fails op with status and a formatted message (sets op->err). */
void vgi_op_fail(vg_op *op, vg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a process info built from the json object (api/rest/vim25 member
   names given), pid_default when the object has none. 0 ok. */
typedef struct vgi_proc_names {
  const char *pid, *name, *owner, *command, *started, *finished, *exit_code;
} vgi_proc_names;
int vgi_op_add_processes(vg_op *op, json_t *arr, const vgi_proc_names *n,
                         int64_t pid_default);
vg_status vgi_op_vms_from_json(vg_op *op, json_t *arr);
int vgi_op_add_env(vg_op *op, const char *name, size_t name_len,
                   const char *value);

/* ---- runtime/loop ------------------------------------------------------ */

uint64_t vgi_now_ms(void);
CURLM *vgi_runtime_multi(vg_runtime *rt);
void vgi_runtime_op_started(vg_runtime *rt);
void vgi_runtime_op_ended(vg_runtime *rt);
void vgi_runtime_done_push(vg_runtime *rt, vg_op *op);
void vgi_runtime_done_remove(vg_runtime *rt, vg_op *op);
void vgi_timer_add(vg_runtime *rt, vg_op *op, long ms);
void vgi_timer_remove(vg_runtime *rt, vg_op *op);
void vgi_runtime_detach(vg_runtime *rt, vg_op *op);
void vgi_runtime_warn(vg_runtime *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vgi_runtime_max_connections(vg_runtime *rt, long n);

/* ---- http ---------------------------------------------------------------*/

typedef struct vgi_request {
  const char *method; /* "GET", "POST", "DELETE" */
  char *path;         /* owned: path and query below the server */
  char *body;         /* owned (vgi_zmalloc'd: may hold a secret) or NULL */
  int basic_auth;     /* send the session's user and password */
  int no_token;       /* do not send the session token */
  int once;           /* not idempotent: never on a reused connection, which
                         libcurl would silently re-send on if it died */
  const char *header; /* one extra header line (static), or NULL */
} vgi_request;
void vgi_request_clear(vgi_request *r);

typedef struct vgi_response {
  long status;      /* HTTP status, 0 when no response */
  const char *body; /* NUL-terminated */
  size_t len;
  const char *token; /* vmware-api-session-id response header, or NULL */
  const char *content_type;
  CURLcode curl;
  const char *curl_error;
  int sent; /* the request may have reached the server */
} vgi_response;

/* Starts req for op on its session (takes ownership of req's strings). */
vg_status vgi_http_start(vg_session *s, vg_op *op, vgi_request *req);
/* Called by the loop when the transfer ends. */
void vgi_http_done(vgi_http *h, CURLcode code);
void vgi_http_cancel(vgi_http *h);

/* ---- protocols ----------------------------------------------------------*/

/* One flavour of the vCenter API. A step builds one request for the op's
   current step; parse handles its 2xx answer. Multi-request ops (vim25
   login, vim25 VM lookup) advance op->step and return VG_EPENDING. */
typedef struct vgi_proto {
  const char *name;
  int list_has_exit_codes;
  vg_status (*build)(vg_op *op, vgi_request *req);
  /* 2xx: VG_OK when the op is finished, VG_EPENDING to send op's next
     step, or an error status (op->err set). */
  vg_status (*parse)(vg_op *op, const vgi_response *r);
  /* non-2xx: fill op->err and return the status. */
  vg_status (*error)(vg_op *op, const vgi_response *r);
  /* Does this failed response mean the session token was rejected?
     0 no, 1 yes, 2 perhaps (a 401 also used for guest credentials). */
  int (*session_rejected)(const vg_op *op, const vgi_response *r);
  /* Is this login answer "this flavour is not served here"? 1 yes, 0 no,
     -1 "not like this, but the flavour changed its own settings (vim25:
     the next release to try): send the login again". */
  int (*not_served)(vg_op *op, const vgi_response *r);
  const struct vgi_vapi_flavour *vapi; /* vAPI flavours only */
} vgi_proto;

extern const vgi_proto vgi_proto_api;
extern const vgi_proto vgi_proto_rest;
extern const vgi_proto vgi_proto_vim25;

/* protocol.c: the flavour of an enum value (NULL for AUTO), and the i-th
   flavour of the auto probe order (NULL past the last). */
const vgi_proto *vgi_protocol_get(vg_protocol p);
const vgi_proto *vgi_protocol_probe(size_t i);

/* The vAPI flavours share one implementation (proto_vapi.c) driven by
   these facts. */
typedef struct vgi_vapi_flavour {
  const char *prefix;       /* "/api", "/rest" */
  const char *session_path; /* login (POST, Basic) and logout (DELETE) */
  const char *login_header; /* extra header line on login, or NULL */
  const char *check_method, *check_path; /* is the token valid? */
  int wrapped;      /* results in {"value": ...}, errors in {type, value} */
  int map_as_pairs; /* maps as [{"key","value"}] instead of objects */
  int list_pids;    /* list takes "pids" (and returns exit codes) */
  const char *q_names, *q_ids, *q_power; /* VM list query parameters */
} vgi_vapi_flavour;

vg_status vgi_vapi_build(vg_op *op, vgi_request *req);
vg_status vgi_vapi_parse(vg_op *op, const vgi_response *r);
vg_status vgi_vapi_error(vg_op *op, const vgi_response *r);
int vgi_vapi_session_rejected(const vg_op *op, const vgi_response *r);
int vgi_vapi_not_served(vg_op *op, const vgi_response *r);
char *vgi_body_dump(json_t *body); /* steals body; vgi_zfree the result */
json_t *vgi_parse_body(vg_op *op, const vgi_response *r); /* or sets err */

/* ---- session ------------------------------------------------------------*/

struct vg_session {
  vg_runtime *rt;
  char *server; /* without trailing slash */
  char *user;
  vg_secret *password;
  vg_protocol want;
  const vgi_proto *proto; /* NULL until known */
  char *release;          /* vim25 release in use (or being tried) */
  int release_given;      /* the user chose it: no fallback */
  int release_try;        /* index into the fallback list */
  char *ca_file;
  char *thumbprint; /* lower-case hex, no colons */
  int insecure;
  long timeout_ms;
  /* This session's connections, TLS sessions and DNS cache. Never shared
     with another session: libcurl would reuse a connection (or resume a TLS
     session) verified under another session's CA file or pin, since it
     does not compare our pin callback. */
  CURLSH *share;

  vg_secret *token;
  int token_gen;
  enum { VGI_S_OUT, VGI_S_LOGGING_IN, VGI_S_IN } state;
  vg_op *login_op; /* internal login in flight */
  vg_op *queue_head, *queue_tail;
  vg_op *ops; /* every op of this session */

  /* vim25 service content */
  char *server_release;
  char *vim_process_manager;
  char *vim_view_manager;
  char *vim_property_collector;
  char *vim_root_folder;
  char *vim_session_manager;
  char *vim_guest_ops_manager;
  char *logged_user;
  int zombie; /* freed by the user; lives until its background logout ends */
};

void vgi_session_destroy(vg_session *s);
void vgi_session_set_token(vg_session *s, const char *token, size_t len);

/* Starts (or queues until logged in) op on its session. */
void vgi_session_run(vg_op *op);
/* Called with each completed HTTP exchange of op. */
void vgi_session_response(vg_op *op, const vgi_response *r);
void vgi_session_op_unlink(vg_op *op);

#endif
