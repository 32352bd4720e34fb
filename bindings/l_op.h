/*
 * vguest.Op: one asynchronous operation (see l_op.c for its life).
 *
 * Completions: the vg_callback of every op only appends it to its
 * runtime's done list; core.step drains that list after vg_runtime_step
 * (lvg_op_report), converts results into Lua values and drops the registry
 * anchors. No Lua runs inside a runtime callback.
 */
#ifndef L_OP_H
#define L_OP_H

#include <lua.h>

#include <vguest/vguest.h>

#include "l_runtime.h"

#define LVG_OP "vguest.Op"

/* What an Op's result is converted to. */
typedef enum lvg_op_kind {
  LVG_OP_TRUE,       /* login, logout, delete, timer */
  LVG_OP_PID,        /* create */
  LVG_OP_INFO,       /* get */
  LVG_OP_LIST,       /* list */
  LVG_OP_POLL,       /* poll: false while the process runs, else its info */
  LVG_OP_POLL_LIST,  /* poll_list: {[pid] = false | info} for each listed */
  LVG_OP_VMS,        /* vms */
  LVG_OP_OBJECTS,    /* inventory: an array of {id, name} */
  LVG_OP_GUEST_INFO, /* guest_info: {tools, ops_ready, family, ...} */
  LVG_OP_ENV,        /* env */
  LVG_OP_PATH,       /* mktemp: the path */
  LVG_OP_STAT,       /* stat: one file info table */
  LVG_OP_FILES,      /* list_files: an array of them, with names */
  LVG_OP_DATA,       /* read_file: the bytes */
  LVG_OP_OS,         /* guest_os: "posix" or "windows" */
  LVG_OP_RUN         /* run: the run table; a failed run adds its output to the
                        error table */
} lvg_op_kind;

typedef struct lvg_op lvg_op;

void lvg_open_op(lua_State *L);

/* Pushes the Op userdata for a call about to start (closed: no vg_op yet)
   with its user values set; `session` is a stack index (kept alive by the
   op) or 0. name: static. */
lvg_op *lvg_op_new(lua_State *L, lvg_runtime *rt, int session, const char *name,
                   lvg_op_kind kind);
/* Right after the vg_* start function, with the Op on top: anchors it, or
   on failure raises. */
void lvg_op_started(lua_State *L, lvg_op *o, vg_status st, vg_op *op);
/* lvg_op_started, reading op through a pointer (C does not order the
   evaluation of arguments: lvg_op_start(L, o, vg_x(..., &op), &op) is
   safe where passing op itself is not). Returns 1 (the Op on top). */
int lvg_op_start(lua_State *L, lvg_op *o, vg_status st, vg_op *const *op);
/* The callback to pass to every vg_* start function (ud: the lvg_op). */
vg_callback lvg_op_callback(void);
/* Pushes the array of ops completed since the last report. Lua code may
   run meanwhile (finalizers) and report some of them itself: each op is
   reported once. Out of memory, it returns those converted so far (the
   rest stay queued), or raises when there are none. */
int lvg_op_report(lua_State *L, lvg_runtime *rt);
/* Whether completed ops wait to be reported. */
int lvg_op_queued(const lvg_runtime *rt);

#endif
