/* The Lua state's allocator, wrapped so that every block is zeroed before
   it goes back: strings that held a secret (a password typed as a
   literal, a server URL with user info) leave no copy in freed memory. */
#ifndef LVG_ALLOC_H
#define LVG_ALLOC_H

#include <lua.h>

/* Wraps L's allocator once (a second call does nothing); raises a memory
   error when there is no memory for the wrapper. */
void lvg_alloc_wrap(lua_State *L);

#endif
