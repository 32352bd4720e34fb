/*
 * The vguest.core bindings in a Lua state whose allocator can be made to
 * fail: out of memory anywhere in core.step, Op:cancel or the start of an
 * op, no completion is lost or reported twice, nothing leaks (ASan's leak
 * check, valgrind) and nothing is touched after it is freed.
 *
 * call_failing(k, f, ...) calls f(...) with every allocation from the k-th
 * on failing, and returns true, results... or false, error. Lua retries a
 * failed allocation once after an emergency collection, so failing all of
 * them from the k-th on is what makes the call see the error. Each case
 * runs k = 1, 2, ... until a call no longer fails: every allocation of
 * the path has failed once.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "check.h"
#include "l_core.h"

typedef struct failing {
  int armed;
  long left; /* allocations that still succeed once armed */
  long failures;
} failing;

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  failing *f = (failing *)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (f->armed && (ptr == NULL || nsize > osize)) {
    if (f->left == 0) {
      f->failures++;
      return NULL;
    }
    f->left--;
  }
  return realloc(ptr, nsize);
}

/* The failing allocator of the case running now: vguest.core wraps the
   state's allocator (l_alloc.c), so lua_getallocf no longer gives it. */
static failing *current;

static failing *state_of(lua_State *L) {
  (void)L;
  return current;
}

/* call_failing(k, f, ...) -> true, ... | false, err */
static int call_failing(lua_State *L) {
  failing *f = state_of(L);
  lua_Integer k = luaL_checkinteger(L, 1);
  int rc;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  /* A finalizer whose call fails (no memory for its frame) is never
     called again: that is Lua's rule, and a Secret finalized so would
     never be wiped. Garbage is collected before arming, so that only the
     objects of the call itself can be finalized meanwhile (Ops and
     Sessions, which the runtime still frees when the state closes). */
  lua_gc(L, LUA_GCCOLLECT);
  f->left = (long)(k > 0 ? k - 1 : 0);
  f->armed = 1;
  rc = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
  f->armed = 0;
  lua_pushboolean(L, rc == LUA_OK);
  lua_replace(L, 1); /* k */
  return lua_gettop(L);
}

/* failures() -> how many allocations failed so far */
static int failures(lua_State *L) {
  lua_pushinteger(L, state_of(L)->failures);
  return 1;
}

/* Runs the chunk with K = k; returns its result: true when the case is
   done (no allocation failed), false to go on with k + 1; a failed check
   (an error) is in *why. */
static int run_case(const char *chunk, long k, const char **why) {
  static char msg[512];
  failing f = {0, 0, 0};
  current = &f;
  lua_State *L = lua_newstate(alloc, &f);
  int done = -1;
  *why = NULL;
  if (L == NULL)
    return -1;
  luaL_openlibs(L);
  luaL_requiref(L, "vguest.core", luaopen_vguest_core, 0);
  lua_pop(L, 1);
  lua_register(L, "call_failing", call_failing);
  lua_register(L, "failures", failures);
  lua_pushinteger(L, k);
  lua_setglobal(L, "K");
  if (luaL_dostring(L, chunk) != LUA_OK) {
    snprintf(msg, sizeof msg, "k=%ld: %s", k, lua_tostring(L, -1));
    *why = msg;
  } else {
    done = lua_toboolean(L, -1);
  }
  lua_close(L);
  return done;
}

static void run_all(const char *name, const char *chunk) {
  const char *only = getenv("TEST_BINDINGS_CASE");
  long k;
  if (only != NULL && strcmp(only, name) != 0)
    return;
  for (k = 1; k < 100000; k++) {
    const char *why;
    int done = run_case(chunk, k, &why);
    if (why != NULL)
      fprintf(stderr, "%s: %s\n", name, why);
    CHECK(why == NULL);
    if (done != 0)
      break;
  }
  CHECK(k > 1); /* some call did fail */
  fprintf(stderr, "%s: %ld allocation points\n", name, k - 1);
}

/* Shared by the cases: ops that fail at once (nothing listens on port 1),
   each with an error table to build; reports counted in seen[op]. */
#define PRELUDE                                                                \
  "local core = require 'vguest.core'\n"                                       \
  "local cred = core.credentials{user = 'root', password = "                   \
  "core.secret('pw')}\n"                                                       \
  "local s = core.session{server = 'https://127.0.0.1:1', user = 'a',\n"       \
  "  password = core.secret('pw')}\n"                                          \
  "local seen = {}\n"                                                          \
  "local function count(done)\n"                                               \
  "  for _, op in ipairs(done) do seen[op] = (seen[op] or 0) + 1 end\n"        \
  "end\n"                                                                      \
  "local function drain()\n"                                                   \
  "  for _ = 1, 500 do\n"                                                      \
  "    count(core.step(10))\n"                                                 \
  "    if core.pending() == 0 then count(core.step(0)) break end\n"            \
  "  end\n"                                                                    \
  "  assert(core.pending() == 0, 'still pending')\n"                           \
  "end\n"

/* core.step running out of memory while it converts a burst of failures:
   the ops converted so far are returned, the rest reported by the next
   step, or (none converted) the error raised with all of them queued. */
static const char step_case[] = PRELUDE
    "local ops = {}\n"
    "for i = 1, 12 do ops[i] = s:get('vm-42', cred, i) end\n"
    "local failed = false\n"
    "for _ = 1, 500 do\n"
    "  local ok, done = call_failing(K, core.step, 10)\n"
    "  if ok then count(done) else failed = true end\n"
    "  if ok and core.pending() == 0 and #done == 0 then break end\n"
    "end\n"
    "failed = failed or failures() > 0\n"
    "drain()\n"
    "for i, op in ipairs(ops) do\n"
    "  assert(seen[op] == 1, 'op ' .. i .. ' reported ' ..\n"
    "    tostring(seen[op]) .. ' times')\n"
    "  local v, err = op:result()\n"
    "  assert(v == nil and type(err) == 'table' and err.kind, 'no error')\n"
    "end\n"
    "return not failed\n";

/* Op:cancel running out of memory while it builds the error table: it
   raises, and the op is then reported (canceled) by core.step; a cancel
   that said true is never reported. */
static const char cancel_case[] = PRELUDE
    "local ops, canceled, failed = {}, {}, false\n"
    "for i = 1, 6 do ops[i] = core.timer(60000) end\n"
    "ops[7] = s:get('vm-42', cred, 7)\n"
    "for _, op in ipairs(ops) do\n"
    "  local ok, r = call_failing(K, op.cancel, op)\n"
    "  if ok then assert(r == true, 'cancel of a pending op said false')\n"
    "    canceled[op] = true\n"
    "  else failed = true end\n"
    "end\n"
    "for _, op in ipairs(ops) do\n" /* a cancel that failed before it began */
    "  if op:status() == 'pending' and op:cancel() then canceled[op] = true "
    "end\n"
    "end\n"
    "drain()\n"
    "for i, op in ipairs(ops) do\n"
    "  local n = seen[op] or 0\n"
    "  if canceled[op] then assert(n == 0, 'canceled op ' .. i .. "
    "' reported')\n"
    "  else assert(n == 1, 'op ' .. i .. ' reported ' .. n .. ' times') end\n"
    "  local v, err = op:result()\n"
    "  assert(v == nil and err.kind == 'canceled', 'not canceled')\n"
    "end\n"
    "return not failed\n";

/* Starting ops out of memory: a start that raises leaves nothing pending
   for long (what was started is canceled when its Op is collected) and
   reports nothing it did not return. */
static const char start_case[] = PRELUDE
    "local ops, failed = {}, false\n"
    "for i = 1, 4 do\n"
    "  local ok, op = call_failing(K, i % 2 == 0 and core.timer or\n"
    "    function() return s:get('vm-42', cred, i) end, 0)\n"
    "  if ok then ops[#ops + 1] = op else failed = true end\n"
    "end\n"
    "collectgarbage() collectgarbage()\n"
    "drain()\n"
    "local mine = {}\n"
    "for _, op in ipairs(ops) do mine[op] = true\n"
    "  assert(seen[op] == 1, 'an op reported ' .. tostring(seen[op]) ..\n"
    "    ' times')\n"
    "end\n"
    "for op in pairs(seen) do assert(mine[op], 'an unknown op reported') "
    "end\n"
    "return not failed\n";

int main(void) {
  run_all("step", step_case);
  run_all("cancel", cancel_case);
  run_all("start", start_case);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
