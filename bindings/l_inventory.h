/*
 * Where VMs live and what their Tools report: Session:inventory and
 * Session:guest_info (see l_inventory.c).
 */
#ifndef L_INVENTORY_H
#define L_INVENTORY_H

#include <lua.h>

/* Adds inventory and guest_info to the methods of vguest.Session (after
   lvg_open_session). */
void lvg_open_inventory(lua_State *L);

#endif
