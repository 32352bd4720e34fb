/* Guest file operations, the same for every flavour: temporary files and
 * directories, stat, delete, mkdir, list, move, attributes, and the
 * transfer URLs of uploads and downloads. Each makes the checks of
 * gop_check, then acts on the host's filesystem the way a Linux guest's
 * Tools do (open-vm-tools, services/plugins/vix/vixTools.c), as the user
 * running the simulator. Failures are gfaults with fs set. The file
 * operations run without the state lock. */
#ifndef SIM_GUESTFS_H
#define SIM_GUESTFS_H

#include "guestops.h"

enum gftype { GFT_FILE, GFT_DIRECTORY, GFT_SYMLINK };

/* What a guest reports of one file (stat, listings, downloads). For a
 * symbolic link, size and attributes are those of its target when it has
 * one, as Tools report them. */
struct gfinfo {
  char *name; /* owned: the entry name (listings) or the path */
  enum gftype type;
  int64_t size;
  int64_t mtime_ms, atime_ms;
  int64_t uid, gid;
  int64_t mode;         /* st_mode: stat(2) format, type bits included */
  char *symlink_target; /* owned; NULL unless a symbolic link */
  bool match;           /* listings: the name matches the pattern */
};
void gfinfo_free(struct gfinfo *v, size_t n);
void gfinfo_clear(struct gfinfo *v);

/* Attributes given to an upload, or to an attribute update. */
struct gfattrs {
  int64_t mode;               /* permission bits; -1 = unset */
  int64_t uid, gid;           /* -1 = unset */
  int64_t mtime_ms, atime_ms; /* INT64_MIN = unset */
  bool posix;                 /* some POSIX attribute was given */
  bool windows;               /* hidden or read-only was asked for */
  bool read_only;             /* Windows: read-only */
};
void gfattrs_init(struct gfattrs *a);

/* True for a path the simulator accepts: absolute, no NUL (len is the
 * JSON string's length). */
bool gfs_path_ok(const char *path, size_t len);

/* A new temporary file (mode 0600) or directory (0700) named prefix +
 * "vmware" + a number + suffix in dir, or (dir NULL or "") in the user's
 * safe temporary directory ${TMPDIR:-/tmp}/vmware-<user>. *path
 * returns-owned. */
bool gfs_mktemp(struct sim *sim, const char *vm, const struct gauth *a,
                const char *prefix, const char *suffix, const char *dir,
                bool directory, char **path, struct gfault *f);
/* *out filled (free with gfinfo_clear); out->name is the path. */
bool gfs_stat(struct sim *sim, const char *vm, const struct gauth *a,
              const char *path, struct gfinfo *out, struct gfault *f);
/* A file or symbolic link; a directory is NOT_A_FILE. */
bool gfs_delete_file(struct sim *sim, const char *vm, const struct gauth *a,
                     const char *path, struct gfault *f);
bool gfs_delete_dir(struct sim *sim, const char *vm, const struct gauth *a,
                    const char *path, bool recursive, struct gfault *f);
bool gfs_mkdir(struct sim *sim, const char *vm, const struct gauth *a,
               const char *path, bool parents, struct gfault *f);
/* A directory lists "." and ".." and then its entries sorted by name; any
 * other existing path lists itself (*single set, name = path). pattern
 * (POSIX extended regex, NULL = all) sets each entry's match; a bad
 * pattern is INVALID_ARGUMENT naming pattern_field. *out returns-owned. */
bool gfs_list(struct sim *sim, const char *vm, const struct gauth *a,
              const char *path, const char *pattern, const char *pattern_field,
              struct gfinfo **out, size_t *n, bool *single, struct gfault *f);
/* Moves a file (directory false) or a directory. */
bool gfs_move(struct sim *sim, const char *vm, const struct gauth *a,
              const char *src, const char *dst, bool directory, bool overwrite,
              struct gfault *f);
/* Changes attributes (of a symbolic link's target). Attributes of the
 * other OS family are INVALID_ARGUMENT naming attrs_field. */
bool gfs_set_attrs(struct sim *sim, const char *vm, const struct gauth *a,
                   const char *path, const struct gfattrs *at,
                   const char *attrs_field, struct gfault *f);
/* A download URL for a regular file: *info (free with gfinfo_clear) and
 * *url (returns-owned). A symbolic link is INVALID_ARGUMENT naming
 * path_field. */
bool gfs_download(struct sim *sim, const char *vm, const struct gauth *a,
                  const char *path, const char *path_field, struct gfinfo *info,
                  char **url, struct gfault *f);
/* An upload URL for size bytes to path. */
bool gfs_upload(struct sim *sim, const char *vm, const struct gauth *a,
                const char *path, const char *path_field,
                const struct gfattrs *at, const char *attrs_field, int64_t size,
                bool overwrite, char **url, struct gfault *f);

#endif
