/*
 * The runtime of each Lua state, and the C objects that belong to it.
 *
 * Design note. Each Lua state that loads vguest.core gets one vg_runtime,
 * wrapped in a `vguest.Runtime` userdata stored in the registry (never
 * collected before lua_close). Sessions and Ops keep a reference to that
 * userdata in their first user value, so the runtime is finalized last.
 * Whatever order lua_close finalizes things in, nothing C-side may outlive
 * the vg_runtime: so every Session and Op holding a C object is tracked
 * here, and the runtime's __gc releases what is still tracked (ops first,
 * then sessions, as vguest.h requires) before vg_runtime_free. Tracked
 * objects are plain links with a release function: this file calls
 * nothing above it.
 */
#ifndef L_RUNTIME_H
#define L_RUNTIME_H

#include <lua.h>

#include <vguest/vguest.h>

#define LVG_RUNTIME "vguest.Runtime"

/* Released at runtime __gc in this order. */
typedef enum lvg_rank { LVG_RANK_OP, LVG_RANK_SESSION, LVG_NRANKS } lvg_rank;

typedef struct lvg_tracked lvg_tracked;
struct lvg_tracked {
  lvg_tracked *prev, *next;
  /* Frees the C object of an object still tracked when the runtime goes;
     called once, after untracking it. */
  void (*release)(lvg_tracked *t);
};

struct lvg_op;

typedef struct lvg_runtime {
  vg_runtime *rt; /* NULL once freed */
  lvg_tracked *tracked[LVG_NRANKS];
  /* Completed ops not yet reported by core.step: kept by l_op.c. */
  struct lvg_op *done_head, *done_tail;
} lvg_runtime;

/* Creates the runtime of this Lua state unless it has one. */
void lvg_runtime_open(lua_State *L);
/* The runtime of this Lua state; raises when it is closed. Pushes nothing. */
lvg_runtime *lvg_runtime_get(lua_State *L);
/* Pushes the runtime userdata (for a user value). */
void lvg_runtime_push(lua_State *L);

void lvg_runtime_track(lvg_runtime *rt, lvg_rank rank, lvg_tracked *t,
                       void (*release)(lvg_tracked *t));
void lvg_runtime_untrack(lvg_runtime *rt, lvg_rank rank, lvg_tracked *t);

#endif
