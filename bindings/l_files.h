/*
 * Guest files: Session methods for vg_file_* and whole transfers (see
 * l_files.c).
 */
#ifndef L_FILES_H
#define L_FILES_H

#include <lua.h>

/* Adds mktemp, stat, list_files, mkdir, remove, read_file, write_file,
   upload and download to the methods of vguest.Session (after
   lvg_open_session). */
void lvg_open_files(lua_State *L);

#endif
