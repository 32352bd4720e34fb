/*
 * vguest.Op: one asynchronous operation.
 *
 * Life of an Op (state in lvg_op.state):
 *   STARTING   userdata made by lvg_op_new, closed (no vg_op yet; or one
 *              whose anchor could not be made: never reported, freed by
 *              __gc)
 *   PENDING    vg_op started; the userdata is anchored in the registry
 *              (so it, and through its user value the Session, stay alive)
 *   COMPLETED  on_complete ran inside vg_runtime_step: the op is on the
 *              runtime's done list (C only, no Lua)
 *   CONVERTING core.step (or Op:cancel) is turning its result into Lua
 *              values: off the done list, still anchored
 *   DONE       the result is in user values 3/4, the vg_op freed and the
 *              anchor dropped.
 *
 * Reentrancy. Converting allocates, and any allocation may run Lua code: a
 * finalizer of some garbage object, which may call core.step (vg.sleep(0)
 * at top level does), Op:cancel, Session:close... So an op is taken off
 * the done list before it is converted (a nested core.step never sees it,
 * a nested cancel finds it CONVERTING and does nothing), the conversion
 * runs in a protected call, and only then, with no allocation left, is the
 * op committed (commit(): user value, untrack, vg_op_free, unref, the one
 * place the anchor is dropped). A conversion that fails (out of memory)
 * puts the op back at the head of the done list: the next core.step
 * reports it. Nothing is lost, nothing is reported twice.
 */
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>

#include "l_check.h"
#include "l_error.h"
#include "l_op.h"

typedef enum lvg_op_state {
  LVG_OP_STARTING,   /* userdata made, vg_op not started (or not anchored) */
  LVG_OP_PENDING,    /* in flight, anchored */
  LVG_OP_COMPLETED,  /* callback ran, on the done list, still anchored */
  LVG_OP_CONVERTING, /* off the done list, result being converted */
  LVG_OP_DONE        /* result cached in user values, anchor dropped */
} lvg_op_state;

struct lvg_op {
  lvg_tracked tracked; /* in rt while it holds a vg_op */
  vg_op *op;           /* NULL once the result is converted */
  lvg_runtime *rt;     /* kept alive by user value 1 */
  const char *name;    /* static: "login", "create", "timer", ... */
  lvg_op_kind kind;
  lvg_op_state state;
  vg_status status;  /* final status once DONE */
  int anchor;        /* registry ref of the userdata while in flight */
  lvg_op *next_done; /* link in rt->done_* */
};

/* User values. */
#define UV_RUNTIME 1
#define UV_SESSION 2
#define UV_RESULT 3
#define UV_ERROR 4
#define NUV 4

static lvg_op *fromtracked(lvg_tracked *t) {
  return (lvg_op *)(void *)((char *)t - offsetof(lvg_op, tracked));
}

static void unlink_done(lvg_runtime *rt, lvg_op *o) {
  lvg_op **p = &rt->done_head, *last = NULL;
  while (*p != NULL && *p != o) {
    last = *p;
    p = &(*p)->next_done;
  }
  if (*p == o) {
    *p = o->next_done;
    if (rt->done_tail == o)
      rt->done_tail = last;
  }
  o->next_done = NULL;
}

static void push_done(lvg_runtime *rt, lvg_op *o) {
  o->state = LVG_OP_COMPLETED;
  o->next_done = NULL;
  if (rt->done_tail != NULL)
    rt->done_tail->next_done = o;
  else
    rt->done_head = o;
  rt->done_tail = o;
}

/* Puts o back first in line (its conversion failed). */
static void unshift_done(lvg_runtime *rt, lvg_op *o) {
  o->state = LVG_OP_COMPLETED;
  o->next_done = rt->done_head;
  rt->done_head = o;
  if (rt->done_tail == NULL)
    rt->done_tail = o;
}

/* The vg_callback of every op: only links it into the done list. */
static void on_complete(vg_op *op, void *ud) {
  lvg_op *o = (lvg_op *)ud;
  (void)op;
  if (o->state != LVG_OP_PENDING)
    return;
  push_done(o->rt, o);
}

vg_callback lvg_op_callback(void) {
  return on_complete;
}

/* Runtime __gc of an op still holding its vg_op (lvg_runtime_track). */
static void release(lvg_tracked *t) {
  lvg_op *o = fromtracked(t);
  if (o->state == LVG_OP_COMPLETED)
    unlink_done(o->rt, o);
  vg_op_free(o->op);
  o->op = NULL;
  o->status = VG_ECANCELED;
  o->state = LVG_OP_DONE;
}

lvg_op *lvg_op_new(lua_State *L, lvg_runtime *rt, int session, const char *name,
                   lvg_op_kind kind) {
  lvg_op *o;
  if (session != 0)
    session = lua_absindex(L, session);
  o = (lvg_op *)lua_newuserdatauv(L, sizeof *o, NUV);
  memset(o, 0, sizeof *o);
  o->rt = rt;
  o->name = name;
  o->kind = kind;
  o->state = LVG_OP_STARTING;
  o->status = VG_EPENDING;
  o->anchor = LUA_NOREF;
  luaL_setmetatable(L, LVG_OP);
  lvg_runtime_push(L);
  lua_setiuservalue(L, -2, UV_RUNTIME);
  if (session != 0) {
    lua_pushvalue(L, session);
    lua_setiuservalue(L, -2, UV_SESSION);
  }
  return o;
}

/* Called right after the vg_* start function, with the Op on top. */
void lvg_op_started(lua_State *L, lvg_op *o, vg_status st, vg_op *op) {
  if (st != VG_OK) {
    vg_op_free(op); /* NULL is a no-op */
    lvg_raisestatus(L, o->name, st, NULL);
    return;
  }
  o->op = op;
  lvg_runtime_track(o->rt, LVG_RANK_OP, &o->tracked, release);
  /* luaL_ref may fail (no memory): the op then stays STARTING, which
     on_complete ignores, and its __gc frees (cancels) the vg_op */
  lua_pushvalue(L, -1);
  o->anchor = luaL_ref(L, LUA_REGISTRYINDEX);
  o->state = LVG_OP_PENDING;
}

int lvg_op_start(lua_State *L, lvg_op *o, vg_status st, vg_op *const *op) {
  lvg_op_started(L, o, st, *op);
  return 1;
}

static void pushinfo(lua_State *L, const vg_process_info *p) {
  lua_createtable(L, 0, 7);
  lua_pushinteger(L, (lua_Integer)p->pid);
  lua_setfield(L, -2, "pid");
#define SETSTR(f)                                                              \
  if (p->f != NULL) {                                                          \
    lua_pushstring(L, p->f);                                                   \
    lua_setfield(L, -2, #f);                                                   \
  }
  SETSTR(name)
  SETSTR(owner)
  SETSTR(command)
  SETSTR(started)
  SETSTR(finished)
#undef SETSTR
  if (p->has_exit_code) {
    lua_pushinteger(L, p->exit_code);
    lua_setfield(L, -2, "exit_code");
  }
}

/* A waiter's view of a process: false while it runs (no table built),
   its info once it has ended (an exit code or an end time). */
static void pushpoll(lua_State *L, const vg_process_info *p) {
  if (p->has_exit_code || p->finished != NULL)
    pushinfo(L, p);
  else
    lua_pushboolean(L, 0);
}

/* A guest file: {type, size, mode?, owner?, group?, modified?,
   symlink_target?} and, for a listing, name. */
static void pushfile(lua_State *L, const vg_file_info *f, int named) {
  lua_createtable(L, 0, 8);
  if (named && f->name != NULL) {
    lua_pushstring(L, f->name);
    lua_setfield(L, -2, "name");
  }
  lua_pushstring(L, f->type != NULL ? f->type : "file");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)f->size);
  lua_setfield(L, -2, "size");
  if (f->has_mode) {
    lua_pushinteger(L, (lua_Integer)f->mode);
    lua_setfield(L, -2, "mode");
  }
  if (f->owner >= 0) {
    lua_pushinteger(L, (lua_Integer)f->owner);
    lua_setfield(L, -2, "owner");
  }
  if (f->group >= 0) {
    lua_pushinteger(L, (lua_Integer)f->group);
    lua_setfield(L, -2, "group");
  }
  if (f->modified != NULL) {
    lua_pushstring(L, f->modified);
    lua_setfield(L, -2, "modified");
  }
  if (f->symlink_target != NULL) {
    lua_pushstring(L, f->symlink_target);
    lua_setfield(L, -2, "symlink_target");
  }
}

/* The fields of a run's result into the table on top: a run that
   finished, and the error of one that did not (the output so far). The
   output is bytes: lengths, not NUL-terminated strings. */
static void setrun(lua_State *L, const vg_run_result *r) {
  if (r->has_exit_code) {
    lua_pushinteger(L, r->exit_code);
    lua_setfield(L, -2, "exit_code");
  }
  lua_pushlstring(L, r->out != NULL ? r->out : "",
                  r->out != NULL ? r->out_len : 0);
  lua_setfield(L, -2, "stdout");
  lua_pushlstring(L, r->err != NULL ? r->err : "",
                  r->err != NULL ? r->err_len : 0);
  lua_setfield(L, -2, "stderr");
  if (r->pid != 0) {
    lua_pushinteger(L, (lua_Integer)r->pid);
    lua_setfield(L, -2, "pid");
  }
  if (r->started != NULL) {
    lua_pushstring(L, r->started);
    lua_setfield(L, -2, "started");
  }
  if (r->finished != NULL) {
    lua_pushstring(L, r->finished);
    lua_setfield(L, -2, "finished");
  }
  if (r->out_truncated) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "stdout_truncated");
  }
  if (r->err_truncated) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "stderr_truncated");
  }
}

/* Pushes the result of a successful op; returns 0 (pushing nothing) when
   the runtime gave no result where one was required. */
static int pushresult(lua_State *L, lvg_op *o) {
  switch (o->kind) {
  case LVG_OP_TRUE:
    lua_pushboolean(L, 1);
    return 1;
  case LVG_OP_PID:
    lua_pushinteger(L, (lua_Integer)vg_op_pid(o->op));
    return 1;
  case LVG_OP_INFO: {
    const vg_process_info *p = NULL;
    if (vg_op_processes(o->op, &p) < 1 || p == NULL)
      return 0;
    pushinfo(L, &p[0]);
    return 1;
  }
  case LVG_OP_LIST: {
    const vg_process_info *p = NULL;
    size_t i, n = vg_op_processes(o->op, &p);
    lua_createtable(L, n > 0x7fffffff ? 0 : (int)n, 0);
    for (i = 0; i < n; i++) {
      pushinfo(L, &p[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
  }
  case LVG_OP_POLL: { /* no table (no garbage) for a poll that saw no end */
    const vg_process_info *p = NULL;
    if (vg_op_processes(o->op, &p) < 1 || p == NULL)
      return 0;
    pushpoll(L, &p[0]);
    return 1;
  }
  case LVG_OP_POLL_LIST: {
    const vg_process_info *p = NULL;
    size_t i, n = vg_op_processes(o->op, &p);
    lua_createtable(L, 0, n > 0x7fffffff ? 0 : (int)n);
    for (i = 0; i < n; i++) {
      pushpoll(L, &p[i]);
      lua_rawseti(L, -2, (lua_Integer)p[i].pid);
    }
    return 1;
  }
  case LVG_OP_VMS: {
    const vg_vm_info *v = NULL;
    size_t i, n = vg_op_vms(o->op, &v);
    lua_createtable(L, n > 0x7fffffff ? 0 : (int)n, 0);
    for (i = 0; i < n; i++) {
      lua_createtable(L, 0, 3);
      lua_pushstring(L, v[i].id);
      lua_setfield(L, -2, "id");
      lua_pushstring(L, v[i].name);
      lua_setfield(L, -2, "name");
      lua_pushstring(L, v[i].power_state);
      lua_setfield(L, -2, "power_state");
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
  }
  case LVG_OP_OBJECTS: {
    const vg_object_info *v = NULL;
    size_t i, n = vg_op_objects(o->op, &v);
    lua_createtable(L, n > 0x7fffffff ? 0 : (int)n, 0);
    for (i = 0; i < n; i++) {
      lua_createtable(L, 0, 2);
      lua_pushstring(L, v[i].id);
      lua_setfield(L, -2, "id");
      lua_pushstring(L, v[i].name);
      lua_setfield(L, -2, "name");
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
  }
  case LVG_OP_GUEST_INFO: {
    const vg_guest_info *g = vg_op_guest_info(o->op);
    if (g == NULL)
      return 0;
    lua_createtable(L, 0, 6);
    lua_pushstring(L, g->tools);
    lua_setfield(L, -2, "tools");
    lua_pushboolean(L, g->ops_ready);
    lua_setfield(L, -2, "ops_ready");
#define FIELD(f)                                                               \
  if (g->f) {                                                                  \
    lua_pushstring(L, g->f);                                                   \
    lua_setfield(L, -2, #f);                                                   \
  }
    FIELD(family)
    FIELD(ip_address)
    FIELD(host_name)
    FIELD(host)
#undef FIELD
    return 1;
  }
  case LVG_OP_ENV: {
    const char *const *names = NULL, *const *values = NULL;
    size_t i, n = vg_op_env(o->op, &names, &values);
    lua_createtable(L, 0, n > 0x7fffffff ? 0 : (int)n);
    for (i = 0; i < n; i++) {
      lua_pushstring(L, values[i] != NULL ? values[i] : "");
      lua_setfield(L, -2, names[i]);
    }
    return 1;
  }
  case LVG_OP_PATH: {
    const char *path = vg_op_path(o->op);
    if (path == NULL)
      return 0;
    lua_pushstring(L, path);
    return 1;
  }
  case LVG_OP_STAT: {
    const vg_file_info *f = NULL;
    if (vg_op_files(o->op, &f) < 1 || f == NULL)
      return 0;
    pushfile(L, &f[0], 0);
    return 1;
  }
  case LVG_OP_FILES: {
    const vg_file_info *f = NULL;
    size_t i, n = vg_op_files(o->op, &f);
    lua_createtable(L, n > 0x7fffffff ? 0 : (int)n, 0);
    for (i = 0; i < n; i++) {
      pushfile(L, &f[i], 1);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
  }
  case LVG_OP_DATA: {
    size_t len = 0;
    const void *data = vg_op_data(o->op, &len);
    lua_pushlstring(L, data != NULL ? (const char *)data : "",
                    data != NULL ? len : 0);
    return 1;
  }
  case LVG_OP_OS:
    lua_pushstring(L, vg_op_os(o->op) == VG_OS_WINDOWS ? "windows" : "posix");
    return 1;
  case LVG_OP_RUN: {
    const vg_run_result *r = vg_op_run(o->op);
    if (r == NULL)
      return 0;
    lua_createtable(L, 0, 8);
    setrun(L, r);
    return 1;
  }
  }
  return 0;
}

/*
 * Converts the result of an op being CONVERTING, under lua_pcall:
 * (op userdata, status [, table, index]) -> value, final status. The value
 * is the result, or the error table; with a table, the op is also stored
 * at table[index] (the array core.step returns), last, so that an op is
 * in that array only when its conversion succeeded.
 */
static int convert(lua_State *L) {
  lvg_op *o = (lvg_op *)lua_touserdata(L, 1);
  vg_status st = (vg_status)lua_tointeger(L, 2);
  if (st == VG_OK && !pushresult(L, o)) {
    st = VG_EPROTOCOL;
    lvg_pusherror(L, NULL, st, o->name);
    lua_pushliteral(L, "the server returned no result");
    lua_setfield(L, -2, "message");
  } else if (st != VG_OK) {
    const vg_run_result *r;
    lvg_pusherror(L, vg_op_error(o->op), st, o->name);
    /* a run that started its process: what it wrote until it ended */
    if (o->kind == LVG_OP_RUN && (r = vg_op_run(o->op)) != NULL && r->pid != 0)
      setrun(L, r);
  }
  lua_pushinteger(L, st);
  if (lua_gettop(L) >= 6) { /* op, status, table, index, value, status */
    lua_pushvalue(L, 1);
    lua_rawseti(L, 3, lua_tointeger(L, 4));
  }
  return 2;
}

/* The op (userdata at idx, CONVERTING) gets its converted value (on top,
   popped) and final status; then the vg_op is freed and the anchor dropped.
   Nothing here allocates or runs Lua code. */
static void commit(lua_State *L, int idx, lvg_op *o, vg_status st) {
  lua_setiuservalue(L, idx, st == VG_OK ? UV_RESULT : UV_ERROR);
  o->status = st;
  o->state = LVG_OP_DONE;
  lvg_runtime_untrack(o->rt, LVG_RANK_OP, &o->tracked);
  vg_op_free(o->op);
  o->op = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, o->anchor);
  o->anchor = LUA_NOREF;
}

/*
 * The one completion path, for an op already CONVERTING: converts its
 * result (status st) in a protected call and commits it. With a table
 * (stack index, or 0), the op is stored at table[n] too. Returns the
 * status of lua_pcall; on failure the error is on top and the op is left
 * as it was (the caller decides where it goes).
 */
static int finish(lua_State *L, int idx, lvg_op *o, vg_status st, int table,
                  lua_Integer n) {
  int rc;
  idx = lua_absindex(L, idx);
  if (table != 0)
    table = lua_absindex(L, table);
  lua_pushcfunction(L, convert);
  lua_pushvalue(L, idx);
  lua_pushinteger(L, st);
  if (table != 0) {
    lua_pushvalue(L, table);
    lua_pushinteger(L, n);
  }
  rc = lua_pcall(L, table != 0 ? 4 : 2, 2, 0);
  if (rc != LUA_OK)
    return rc;
  st = (vg_status)lua_tointeger(L, -1);
  lua_pop(L, 1);
  commit(L, idx, o, st);
  return LUA_OK;
}

/*
 * core.step's report: the array of the ops completed since the last one.
 * Each op leaves the done list before it is converted (a finalizer that
 * steps the loop meanwhile reports the others, never this one). A failed
 * conversion puts the op back: with ops already in the array, they are
 * returned and the rest waits for the next step; with none, the error is
 * raised (nothing was taken).
 */
int lvg_op_report(lua_State *L, lvg_runtime *rt) {
  lua_Integer n = 0;
  int t;
  lua_newtable(L);
  t = lua_gettop(L);
  while (rt->done_head != NULL) {
    lvg_op *o = rt->done_head;
    rt->done_head = o->next_done;
    if (rt->done_head == NULL)
      rt->done_tail = NULL;
    o->next_done = NULL;
    o->state = LVG_OP_CONVERTING;
    lua_rawgeti(L, LUA_REGISTRYINDEX, o->anchor);
    if (finish(L, -1, o, vg_op_status(o->op), t, n + 1) != LUA_OK) {
      unshift_done(rt, o);
      if (n == 0)
        return lua_error(L);
      lua_settop(L, t);
      break;
    }
    n++;
    lua_pop(L, 1); /* the op: in the array */
  }
  return 1;
}

int lvg_op_queued(const lvg_runtime *rt) {
  return rt->done_head != NULL;
}

/* ---------------------------------------------------------------------- */
/* Methods                                                                 */

static lvg_op *checkop(lua_State *L, const char *own) {
  lvg_call c = lvg_call_get(L, own, 0, 0);
  return (lvg_op *)lvg_checkself(L, &c, 1, LVG_OP);
}

static const char *statusname(const lvg_op *o) {
  if (o->state != LVG_OP_DONE)
    return "pending";
  if (o->status == VG_OK)
    return "ok";
  return vg_status_kind(o->status);
}

static int op_status(lua_State *L) {
  lua_pushstring(L, statusname(checkop(L, "status")));
  return 1;
}

static int op_result(lua_State *L) {
  lvg_op *o = checkop(L, "result");
  if (o->state != LVG_OP_DONE)
    return luaL_error(L, "vguest.Op (%s) is still pending", o->name);
  if (o->status == VG_OK) {
    lua_getiuservalue(L, 1, UV_RESULT);
    return 1;
  }
  lua_pushnil(L);
  lua_getiuservalue(L, 1, UV_ERROR);
  return 2;
}

/* Op:cancel() -> true when it was pending (it is then never reported).
   While its error table is built (which may run a finalizer that cancels
   it again: that one finds it CONVERTING and says false) it is no longer
   pending. Out of memory there, it is reported by core.step instead, and
   the error raised. */
static int op_cancel(lua_State *L) {
  lvg_op *o = checkop(L, "cancel");
  if (o->state != LVG_OP_PENDING) {
    lua_pushboolean(L, 0);
    return 1;
  }
  vg_op_cancel(o->op);
  o->state = LVG_OP_CONVERTING;
  if (finish(L, 1, o, VG_ECANCELED, 0, 0) != LUA_OK) {
    push_done(o->rt, o);
    return lua_error(L);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* Op:stop() -> true when it is a pending run, now stopping: its process
   is terminated and its temp files removed, then it completes (reported
   by core.step) with "canceled", or with its own result when it was
   already past that point. false for anything else: cancel those. */
static int op_stop(lua_State *L) {
  lvg_op *o = checkop(L, "stop");
  if (o->state != LVG_OP_PENDING || o->kind != LVG_OP_RUN) {
    lua_pushboolean(L, 0);
    return 1;
  }
  vg_run_stop(o->op);
  lua_pushboolean(L, 1);
  return 1;
}

static int op_name(lua_State *L) {
  lua_pushstring(L, checkop(L, "name")->name);
  return 1;
}

static int op_gc(lua_State *L) {
  lvg_call c = lvg_call_get(L, "__gc", 0, 0);
  lvg_op *o = (lvg_op *)lvg_checkself(L, &c, 1, LVG_OP);
  if (o->op != NULL) {
    lvg_runtime_untrack(o->rt, LVG_RANK_OP, &o->tracked);
    release(&o->tracked); /* vg_op_free cancels it when pending */
  }
  if (o->anchor != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, o->anchor);
    o->anchor = LUA_NOREF;
  }
  return 0;
}

static int op_tostring(lua_State *L) {
  lvg_call c = lvg_call_get(L, "__tostring", 0, 0);
  lvg_op *o = (lvg_op *)lvg_checkself(L, &c, 1, LVG_OP);
  lua_pushfstring(L, "vguest.Op (%s, %s)", o->name, statusname(o));
  return 1;
}

void lvg_open_op(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"status", op_status}, {"result", op_result}, {"cancel", op_cancel},
      {"stop", op_stop},     {"name", op_name},     {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", op_gc}, {"__tostring", op_tostring}, {NULL, NULL}};
  if (luaL_newmetatable(L, LVG_OP)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}
