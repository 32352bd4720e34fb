/*
 * Argument checking for vguest.core (after luaposix's field checks): the
 * bottom of the bindings, it knows only Lua.
 *
 * Design note. Every misuse message names a call and an argument:
 * "bad argument #1 to 'create' (field 'path' is required)". Which call and
 * which number is an lvg_call:
 *   - called directly, a function names itself the way luaL_argerror
 *     does (the name it was called by, counting self as in a method
 *     call), except that it falls back to its own name instead of '?' (a
 *     function called through pcall has no name of its own);
 *   - called by the Lua layer on behalf of one of its calls, a function is
 *     passed that call's name as an optional last argument: messages then
 *     name it, and count the caller's arguments from the first one after
 *     those the Lua layer binds (self, and vm and credentials for guest
 *     operations). A fault in a bound argument is a fault of self:
 *     "calling 'run' on bad self (...)".
 * So every check runs once, in the binding, and its message needs no
 * rewriting above.
 */
#ifndef L_CHECK_H
#define L_CHECK_H

#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

typedef struct lvg_call {
  const char *name; /* passed in, else the function's own name */
  int base;         /* passed in: stack index of the caller's argument #1 */
  int named;        /* 1 when the name was passed in; else the name and the
                       counting are those Lua knows, looked up on error */
} lvg_call;

/* The context of the running C function. own: its name (static). idx: the
   stack index of its optional call-name argument, or 0 if it takes none;
   the string stays on the stack, so callers must not lua_settop below
   idx. bound: how many leading arguments (self included) the Lua layer
   binds. */
lvg_call lvg_call_get(lua_State *L, const char *own, int idx, int bound);

/* Raise "bad argument #n to 'call' (msg)", or "calling 'call' on bad self
   (msg)" for self and bound arguments. */
int lvg_argerror(lua_State *L, const lvg_call *c, int idx, const char *msg);
int lvg_argerrorf(lua_State *L, const lvg_call *c, int idx, const char *fmt,
                  ...);
/* "<expected> expected, got <type of idx>" */
int lvg_typeerror(lua_State *L, const lvg_call *c, int idx,
                  const char *expected);

/* __name of the value's metatable, else its type; "no value" for none. */
const char *lvg_typename(lua_State *L, int idx);
/* For messages about a value: a number shows itself ("-1", "1.5", "nan"),
   anything else its type (strings may be secrets: never their text). */
const char *lvg_describe(lua_State *L, int idx);

/* Userdata of type tname at idx (self of a method), else raises. */
void *lvg_checkself(lua_State *L, const lvg_call *c, int idx,
                    const char *tname);

/*
 * Option tables. The table at idx must have only string keys from known
 * (NULL-terminated). Field getters read one field, raw (lvg_rawfield);
 * returned strings stay valid while the table is unmodified on the stack.
 */
/* Pushes t[field] of the table at idx without metamethods (an __index
   could run any code, close what the call is using, in the middle of
   it); returns its type. The keys were checked raw too (lua_next). */
int lvg_rawfield(lua_State *L, int idx, const char *field);
void lvg_checkoptions(lua_State *L, const lvg_call *c, int idx,
                      const char *const known[]);
#define LVG_REQUIRED 1 /* absent: "field 'f' is required" */
#define LVG_NONEMPTY 2 /* "": "field 'f' must not be empty" */
#define LVG_LOCAL 4    /* a local file name: any bytes (see below) */
/* Strings never contain a NUL byte (C would cut them short), and are
   valid UTF-8 unless LVG_LOCAL: they go to vCenter in JSON, which carries
   nothing else (jansson refuses them, and the runtime would call that
   out of memory). */
const char *lvg_optfield_string(lua_State *L, const lvg_call *c, int idx,
                                const char *field, int flags);
int lvg_optfield_boolean(lua_State *L, const lvg_call *c, int idx,
                         const char *field, int def);
/* 1 and *out set when the field is present (a number), else 0. */
int lvg_optfield_number(lua_State *L, const lvg_call *c, int idx,
                        const char *field, double *out);
/* An integer in [1, max]; 1 and *out set when present, else 0. */
int lvg_optfield_count(lua_State *L, const lvg_call *c, int idx,
                       const char *field, lua_Integer max, lua_Integer *out);
/* One of names (NULL-terminated); returns its index, or -1 when absent. */
int lvg_optfield_choice(lua_State *L, const lvg_call *c, int idx,
                        const char *field, const char *const names[]);

/*
 * Arrays: the value at idx, reported as (part of) argument arg. `subject`
 * names it in messages: "field 'names'", "pids".
 * lvg_checkstrings: non-empty strings; pushes a userdata holding a
 * NULL-terminated copy of the pointers (valid while both stay on the
 * stack). lvg_checkcounts: positive integers; pushes a userdata holding
 * them (*n of them; never NULL).
 */
const char *const *lvg_checkstrings(lua_State *L, const lvg_call *c, int idx,
                                    int arg, const char *subject);
int64_t *lvg_checkcounts(lua_State *L, const lvg_call *c, int idx, int arg,
                         const char *subject, size_t *n);
/* A positive integer ("pid must be a positive integer, got 0"). */
int64_t lvg_checkcount(lua_State *L, const lvg_call *c, int idx,
                       const char *subject);

/*
 * Values of guest operations.
 */
/* Whether s (len bytes) is valid UTF-8, as JSON (jansson) takes it: no
   overlong forms, no surrogates, nothing above U+10FFFF. */
int lvg_utf8(const char *s, size_t len);

/* A VM id: a non-empty UTF-8 string (a number is never converted). */
const char *lvg_checkvm(lua_State *L, const lvg_call *c, int idx);
/* A guest path (`subject` names it: "path", "guest path"): a non-empty
   UTF-8 string without NUL bytes. */
const char *lvg_checkpath(lua_State *L, const lvg_call *c, int idx,
                          const char *subject);
/* A local path ("local path"): the same, but any bytes. */
const char *lvg_checklocal(lua_State *L, const lvg_call *c, int idx,
                           const char *subject);
/* The environment table at idx, field `field` of the option table that is
   argument arg: names (non-empty, no '=') to strings or numbers, both
   UTF-8. Pushes a table keeping the "K=V" strings and above it a userdata
   holding the NULL-terminated array of them (valid while both stay on the
   stack). */
const char *const *lvg_checkenv(lua_State *L, const lvg_call *c, int idx,
                                int arg, const char *field);

#endif
