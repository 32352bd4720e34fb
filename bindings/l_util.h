/*
 * Internal header of the vguest.core Lua module.
 *
 * Design note. Each Lua state that loads vguest.core gets one vg_runtime,
 * wrapped in a `vguest.Runtime` userdata stored in the registry (never
 * collected before lua_close). Sessions and Ops keep a reference to that
 * userdata in their first user value, so the runtime is finalized last.
 * The runtime also keeps intrusive lists of the live Sessions and Ops so
 * that, whatever order lua_close finalizes things in, nothing C-side
 * outlives the vg_runtime.
 *
 * Completions: the vg_callback of every op (on_complete in l_op.c) only
 * appends the op's binding struct to lvg_runtime.done; core.step (l_core.c)
 * drains that list after vg_runtime_step, converts results into Lua values
 * and drops the registry anchors. No Lua runs inside a runtime callback.
 */
#ifndef L_UTIL_H
#define L_UTIL_H

#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include <vguest/vguest.h>

#define LVG_RUNTIME "vguest.Runtime"
#define LVG_SECRET "vguest.Secret"
#define LVG_CREDENTIALS "vguest.Credentials"
#define LVG_SESSION "vguest.Session"
#define LVG_OP "vguest.Op"

/* Registry field holding the runtime userdata of this state. */
#define LVG_RUNTIME_KEY "vguest.core.runtime"

typedef struct lvg_op lvg_op;
typedef struct lvg_session lvg_session;

typedef struct lvg_runtime {
  vg_runtime *rt;    /* NULL once freed */
  lvg_op *done_head; /* completed, not yet reported by core.step */
  lvg_op *done_tail;
  lvg_op *ops;           /* every Op still holding a vg_op */
  lvg_session *sessions; /* every open Session */
} lvg_runtime;

/* What an Op's result is converted to. */
typedef enum lvg_op_kind {
  LVG_OP_TRUE, /* login, logout, delete, timer */
  LVG_OP_PID,  /* create */
  LVG_OP_INFO, /* get */
  LVG_OP_LIST, /* list */
  LVG_OP_VMS,  /* vms */
  LVG_OP_ENV   /* env */
} lvg_op_kind;

typedef enum lvg_op_state {
  LVG_OP_STARTING,  /* userdata made, vg_op not started yet */
  LVG_OP_PENDING,   /* in flight, anchored */
  LVG_OP_COMPLETED, /* callback ran, on the done list, still anchored */
  LVG_OP_DONE       /* result cached in user values, anchor dropped */
} lvg_op_state;

struct lvg_op {
  vg_op *op;        /* NULL once the result is converted */
  lvg_runtime *rt;  /* kept alive by user value 1 */
  const char *name; /* static: "login", "create", "timer", ... */
  lvg_op_kind kind;
  lvg_op_state state;
  vg_status status;    /* final status once DONE */
  int anchor;          /* registry ref of the userdata while in flight */
  lvg_op *next_done;   /* link in rt->done_* */
  lvg_op *prev, *next; /* link in rt->ops */
};

struct lvg_session {
  vg_session *s;                  /* NULL when closed */
  lvg_runtime *rt;                /* kept alive by user value 1 */
  const char *requested_protocol; /* static: "auto", "api", ... */
  lvg_session *prev, *next;       /* link in rt->sessions */
};

/* Op user values. */
#define LVG_UV_RUNTIME 1
#define LVG_OP_UV_SESSION 2
#define LVG_OP_UV_RESULT 3
#define LVG_OP_UV_ERROR 4
#define LVG_OP_NUV 4

/* l_core.c */
lvg_runtime *lvg_getruntime(lua_State *L); /* pushes nothing */
void lvg_pushruntime(lua_State *L);        /* pushes the runtime userdata */

/* l_util.c: option tables. `arg` is an absolute stack index. */
void lvg_checkoptions(lua_State *L, int arg, const char *const known[]);
const char *lvg_optfield_string(lua_State *L, int arg, const char *field,
                                int required);
int lvg_optfield_boolean(lua_State *L, int arg, const char *field, int def);
double lvg_optfield_number(lua_State *L, int arg, const char *field,
                           double def);
lua_Integer lvg_optfield_integer(lua_State *L, int arg, const char *field,
                                 lua_Integer def);
/* Pushes a userdata holding a NULL-terminated copy of the string array at
   idx (pointers valid while both stay on the stack). */
const char *const *lvg_checkstringarray(lua_State *L, int idx, int arg,
                                        const char *field);
int lvg_fielderror(lua_State *L, int arg, const char *field,
                   const char *expected);
const char *lvg_typename(lua_State *L, int idx);

/* l_util.c: results and errors */
void lvg_pusherror(lua_State *L, const vg_error *e, vg_status st,
                   const char *op);
int lvg_raisestatus(lua_State *L, vg_status st, const char *why);

/* l_secret.c, l_credentials.c, l_session.c, l_op.c, l_edit.c */
void lvg_open_secret(lua_State *L);
void lvg_open_credentials(lua_State *L);
void lvg_open_session(lua_State *L);
void lvg_open_op(lua_State *L);
const vg_secret *lvg_checksecret(lua_State *L, int arg);
const vg_secret *lvg_tosecret(lua_State *L, int idx); /* NULL if not one */
const vg_secret *lvg_optfield_secret(lua_State *L, int arg, const char *field,
                                     int required);
const vg_credentials *lvg_checkcredentials(lua_State *L, int arg);

int lvg_core_secret(lua_State *L);
int lvg_core_secret_env(lua_State *L);
int lvg_core_secret_file(lua_State *L);
int lvg_core_secret_prompt(lua_State *L);
int lvg_core_credentials(lua_State *L);
int lvg_core_session(lua_State *L);
int lvg_core_timer(lua_State *L);

/* l_op.c: the Op userdata for a call about to start. Pushes the userdata
   (closed: STARTING) with its user values set; `session` is a stack index
   or 0. lvg_op_started() anchors it or, on failure, raises. */
lvg_op *lvg_op_new(lua_State *L, lvg_runtime *rt, int session, const char *name,
                   lvg_op_kind kind);
void lvg_op_started(lua_State *L, lvg_op *o, vg_status st, vg_op *op);
vg_callback lvg_op_callback(void);
int lvg_op_report(lua_State *L, lvg_runtime *rt); /* pushes the array */
void lvg_op_freeall(lvg_runtime *rt);

/* l_session.c */
void lvg_session_freeall(lvg_runtime *rt);

/* l_edit.c */
int lvg_readline(lua_State *L);
int lvg_history_add(lua_State *L);
int lvg_history_load(lua_State *L);
int lvg_history_save(lua_State *L);
int lvg_isatty(lua_State *L);

/* l_core.c: the module entry (also preloaded by the host program) */
int luaopen_vguest_core(lua_State *L);
/* l_core.c: install (on != 0) or remove the SIGINT handler. */
void lvg_catch_interrupts(lua_State *L, int on);
/* l_core.c: SIGINTs caught so far (wrapping counter), and forgetting one
   that only discarded an input line. */
long lvg_sigint_count(void);
void lvg_forget_interrupt(lua_State *L);

#endif
