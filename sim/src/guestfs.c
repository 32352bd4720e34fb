#include "guestfs.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void gfinfo_clear(struct gfinfo *v) {
  if (!v)
    return;
  free(v->name);
  free(v->symlink_target);
  v->name = v->symlink_target = NULL;
}

void gfinfo_free(struct gfinfo *v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    gfinfo_clear(&v[i]);
  free(v);
}

void gfattrs_init(struct gfattrs *a) {
  memset(a, 0, sizeof *a);
  a->mode = a->uid = a->gid = -1;
  a->mtime_ms = a->atime_ms = INT64_MIN;
}

bool gfs_path_ok(const char *path, size_t len) {
  return path && len > 0 && strlen(path) == len && path[0] == '/';
}

/* ---- faults ------------------------------------------------------------ */

static bool fail(struct gfault *f, enum gfault_kind kind, const char *path) {
  gfault_set(f, kind, path);
  f->fs = true;
  return false;
}

/* The fault for an errno, as Tools' Vix_TranslateErrno reports it. */
static bool fail_errno(struct gfault *f, int e, const char *path) {
  switch (e) {
  case ENOENT:
    return fail(f, GF_FILE_NOT_FOUND, path);
  case EEXIST:
    return fail(f, GF_FILE_EXISTS, path);
  case ENOTDIR:
    return fail(f, GF_NOT_A_DIRECTORY, path);
  case EISDIR:
    return fail(f, GF_NOT_A_FILE, path);
  case ENOTEMPTY:
    return fail(f, GF_DIR_NOT_EMPTY, path);
  case EACCES:
  case EPERM:
  case EROFS:
    return fail(f, GF_CANNOT_ACCESS, path);
  case ENAMETOOLONG:
    return fail(f, GF_PATH_TOO_LONG, path);
  case ENOSPC:
  case EDQUOT:
  case EFBIG:
    return fail(f, GF_NO_SPACE, path);
  default:
    fail(f, GF_FS_ERROR, path);
    snprintf(f->detail, sizeof f->detail, "%s", strerror(e));
    return false;
  }
}

static bool invalid(struct gfault *f, const char *field) {
  return fail(f, GF_INVALID_ARGUMENT, field);
}

/* The guest checks; the owner and OS are not needed by most callers. */
static bool check(struct sim *sim, const char *vm, const struct gauth *a,
                  bool *windows, struct gfault *f) {
  char owner[256];
  bool win;
  if (!gop_check(sim, vm, a, owner, sizeof owner, &win, f))
    return false;
  if (windows)
    *windows = win;
  return true;
}

/* ---- file information ---------------------------------------------------- */

static int64_t ts_ms(struct timespec ts) {
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fill(struct gfinfo *out, const struct stat *st) {
  out->size = (int64_t)st->st_size;
  out->mtime_ms = ts_ms(st->st_mtim);
  out->atime_ms = ts_ms(st->st_atim);
  out->uid = st->st_uid;
  out->gid = st->st_gid;
  out->mode = st->st_mode;
}

/* lstat-based information on path; errno set on failure. */
static bool info_of(const char *path, const char *name, struct gfinfo *out) {
  struct stat lst, st;
  memset(out, 0, sizeof *out);
  if (lstat(path, &lst) != 0)
    return false;
  if (S_ISLNK(lst.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    out->type = GFT_SYMLINK;
    out->symlink_target = xstrdup(target);
    fill(out, stat(path, &st) == 0 ? &st : &lst);
  } else {
    out->type = S_ISDIR(lst.st_mode) ? GFT_DIRECTORY : GFT_FILE;
    fill(out, &lst);
  }
  out->name = xstrdup(name);
  return true;
}

/* ---- temporary files ----------------------------------------------------- */

/* ${TMPDIR:-/tmp}/vmware-<user>, mode 0700 and owned by us, as Tools'
 * File_GetSafeTmpDir makes it; another name when that one is not safe.
 * Returns-owned, or NULL with errno set. */
static char *safe_tmp_dir(void) {
  const char *base = getenv("TMPDIR");
  struct passwd pw, *res = NULL;
  char buf[1024], user[64];
  struct stat st;
  if (!base || base[0] != '/')
    base = "/tmp";
  if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res)
    snprintf(user, sizeof user, "%s", pw.pw_name);
  else
    snprintf(user, sizeof user, "%u", (unsigned)geteuid());
  for (int attempt = 0; attempt < 10; attempt++) {
    char rnd[9];
    util_random_hex(rnd, 8);
    char *dir = attempt == 0 ? xasprintf("%s/vmware-%s", base, user)
                             : xasprintf("%s/vmware-%s-%s", base, user, rnd);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
      int e = errno;
      free(dir);
      errno = e;
      return NULL;
    }
    if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
        (st.st_mode & 077) == 0)
      return dir;
    free(dir);
  }
  errno = EACCES;
  return NULL;
}

bool gfs_mktemp(struct sim *sim, const char *vm, const struct gauth *a,
                const char *prefix, const char *suffix, const char *dir,
                bool directory, char **path, struct gfault *f) {
  struct stat st;
  char *parent;
  *path = NULL;
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (dir && *dir) {
    if (stat(dir, &st) != 0)
      return fail_errno(f, errno, dir);
    if (!S_ISDIR(st.st_mode))
      return fail(f, GF_NOT_A_DIRECTORY, dir);
    parent = xstrdup(dir);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
      parent[--len] = '\0';
  } else if (!(parent = safe_tmp_dir())) {
    return fail_errno(f, errno, "/tmp");
  }
  bool ok = false;
  for (int attempt = 0; attempt < 100; attempt++) {
    char rnd[9];
    util_random_hex(rnd, 8);
    unsigned long num = strtoul(rnd, NULL, 16) & 0x7fffffffUL;
    char *p =
        xasprintf("%s%s%svmware%lu%s", parent,
                  strcmp(parent, "/") == 0 ? "" : "/", prefix, num, suffix);
    int rc = directory ? mkdir(p, 0700)
                       : open(p, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (rc >= 0) {
      if (!directory)
        close(rc);
      *path = p;
      ok = true;
      break;
    }
    int e = errno;
    if (e != EEXIST) {
      fail_errno(f, e, p);
      free(p);
      break;
    }
    free(p);
  }
  if (!ok && f->kind == GF_NONE)
    fail_errno(f, EEXIST, parent);
  free(parent);
  return ok;
}

/* ---- stat, delete, mkdir --------------------------------------------------
 */

bool gfs_stat(struct sim *sim, const char *vm, const struct gauth *a,
              const char *path, struct gfinfo *out, struct gfault *f) {
  memset(out, 0, sizeof *out);
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (!info_of(path, path, out))
    return fail_errno(f, errno, path);
  return true;
}

bool gfs_delete_file(struct sim *sim, const char *vm, const struct gauth *a,
                     const char *path, struct gfault *f) {
  struct stat st;
  if (!check(sim, vm, a, NULL, f))
    return false;
  /* a symbolic link, even a dangling one, is deleted itself */
  if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) {
    if (stat(path, &st) != 0)
      return fail_errno(f, errno, path);
    if (!S_ISREG(st.st_mode))
      return fail(f, GF_NOT_A_FILE, path);
  }
  if (unlink(path) != 0)
    return fail_errno(f, errno, path);
  return true;
}

static int remove_entry(const char *p, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(p) == 0 ? 0 : errno;
}

bool gfs_delete_dir(struct sim *sim, const char *vm, const struct gauth *a,
                    const char *path, bool recursive, struct gfault *f) {
  struct stat st;
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (stat(path, &st) != 0)
    return fail_errno(f, errno, path);
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(f, GF_NOT_A_DIRECTORY, path);
  if (recursive) {
    /* a simulator may run as root on a developer's machine: never the
     * whole filesystem, and never into another mount */
    char *real = realpath(path, NULL);
    bool root = real && strcmp(real, "/") == 0;
    free(real);
    if (root)
      return fail(f, GF_CANNOT_ACCESS, path);
    int rc = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (rc != 0)
      return fail_errno(f, rc > 0 ? rc : errno, path);
  } else if (rmdir(path) != 0) {
    return fail_errno(f, errno == EEXIST ? ENOTEMPTY : errno, path);
  }
  return true;
}

bool gfs_mkdir(struct sim *sim, const char *vm, const struct gauth *a,
               const char *path, bool parents, struct gfault *f) {
  struct stat st;
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (stat(path, &st) == 0)
    return fail(f, GF_FILE_EXISTS, path);
  char *dir = xstrdup(path); /* without trailing slashes */
  for (size_t len = strlen(dir); len > 1 && dir[len - 1] == '/';)
    dir[--len] = '\0';
  if (parents) {
    char *p = xstrdup(dir);
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
      *s = '\0';
      if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        fail_errno(f, errno, p);
        break;
      }
      if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail(f, GF_NOT_A_DIRECTORY, p);
        break;
      }
      *s = '/';
    }
    free(p);
  }
  bool ok = f->kind == GF_NONE;
  if (ok && mkdir(dir, 0777) != 0)
    ok = fail_errno(f, errno, path);
  free(dir);
  return ok;
}

/* ---- listing ----------------------------------------------------------------
 */

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir's entries, "." and ".." first, then sorted. */
static char **dir_names(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  size_t cap = 16;
  char **names = xcalloc(cap, sizeof *names);
  names[0] = xstrdup(".");
  names[1] = xstrdup("..");
  *n = 2;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (*n == cap)
      names = xrealloc(names, (cap *= 2) * sizeof *names);
    names[(*n)++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names + 2, *n - 2, sizeof *names, by_name);
  return names;
}

bool gfs_list(struct sim *sim, const char *vm, const struct gauth *a,
              const char *path, const char *pattern, const char *pattern_field,
              struct gfinfo **out, size_t *n, bool *single, struct gfault *f) {
  regex_t re;
  struct stat lst, st;
  *out = NULL;
  *n = 0;
  *single = false;
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (pattern && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
    return invalid(f, pattern_field);
  bool ok = true;
  bool is_link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
  if (!is_link && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    size_t count = 0;
    char **names = dir_names(path, &count);
    if (!names) {
      ok = fail_errno(f, errno, path);
    } else {
      *out = xcalloc(count, sizeof **out);
      for (size_t i = 0; i < count; i++) {
        char *full = xasprintf(
            "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
        struct gfinfo *v = &(*out)[*n];
        if (info_of(full, names[i], v)) /* gone meanwhile: left out */
          (*n)++;
        free(full);
        free(names[i]);
      }
      free(names);
    }
  } else if (stat(path, &st) == 0) {
    *out = xcalloc(1, sizeof **out);
    if (info_of(path, path, *out)) {
      *n = 1;
      *single = true;
    } else {
      ok = fail_errno(f, errno, path);
    }
  } else {
    ok = fail_errno(f, errno, path);
  }
  for (size_t i = 0; ok && i < *n; i++)
    (*out)[i].match = !pattern || regexec(&re, (*out)[i].name, 0, NULL, 0) == 0;
  if (pattern)
    regfree(&re);
  if (!ok) {
    gfinfo_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return ok;
}

/* ---- moving
 * ------------------------------------------------------------------ */

/* rename(2), or for a regular file across filesystems a copy then an
 * unlink, as Tools' File_Move does. */
static int move_path(const char *src, const char *dst, bool directory) {
  if (rename(src, dst) == 0)
    return 0;
  if (errno != EXDEV || directory)
    return errno;
  int e = 0;
  struct stat st;
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0 || fstat(in, &st) != 0) {
    e = errno;
    if (in >= 0)
      close(in);
    return e;
  }
  int out =
      open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) {
    e = errno;
    close(in);
    return e;
  }
  char buf[65536];
  ssize_t got;
  while (e == 0 && (got = read(in, buf, sizeof buf)) != 0) {
    if (got < 0) {
      e = errno == EINTR ? 0 : errno;
      continue;
    }
    for (ssize_t off = 0; e == 0 && off < got;) {
      ssize_t w = write(out, buf + off, (size_t)(got - off));
      if (w < 0)
        e = errno == EINTR ? 0 : errno;
      else
        off += w;
    }
  }
  close(in);
  if (close(out) != 0 && e == 0)
    e = errno;
  if (e == 0 && unlink(src) != 0)
    e = errno;
  if (e != 0)
    unlink(dst);
  return e;
}

bool gfs_move(struct sim *sim, const char *vm, const struct gauth *a,
              const char *src, const char *dst, bool directory, bool overwrite,
              struct gfault *f) {
  struct stat sst, dst_st, lst;
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (stat(src, &sst) != 0)
    return fail_errno(f, errno, src);
  bool src_link = lstat(src, &lst) == 0 && S_ISLNK(lst.st_mode);
  bool dst_exists = stat(dst, &dst_st) == 0;
  bool dst_link = lstat(dst, &lst) == 0 && S_ISLNK(lst.st_mode);
  /* renaming a file onto itself is a no-op */
  if (dst_exists && sst.st_dev == dst_st.st_dev && sst.st_ino == dst_st.st_ino)
    return true;
  if (dst_exists && S_ISDIR(dst_st.st_mode) && !dst_link)
    return fail(f, GF_FILE_EXISTS, dst);
  if (!directory) {
    if (S_ISDIR(sst.st_mode) && !src_link)
      return fail(f, GF_NOT_A_FILE, src);
    if (!overwrite && (dst_exists || dst_link))
      return fail(f, GF_FILE_EXISTS, dst);
  } else {
    if (!S_ISDIR(sst.st_mode) || src_link)
      return fail(f, GF_NOT_A_DIRECTORY, src);
    if (dst_link || (dst_exists && S_ISREG(dst_st.st_mode)))
      return fail(f, GF_FILE_EXISTS, dst);
  }
  int e = move_path(src, dst, directory);
  if (e != 0)
    return fail_errno(f, e, e == ENOENT ? dst : src);
  return true;
}

/* ---- attributes -------------------------------------------------------------
 */

/* Attributes of the other OS family are refused, as Tools refuse them. */
static bool attrs_fit(const struct gfattrs *at, bool windows, const char *field,
                      struct gfault *f) {
  if ((windows && at->posix) || (!windows && at->windows))
    return invalid(f, field);
  if (at->mode > 07777)
    return invalid(f, field);
  return true;
}

static struct timespec ms_ts(int64_t ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec < 0) {
    ts.tv_sec--;
    ts.tv_nsec += 1000000000L;
  }
  return ts;
}

bool gfs_set_attrs(struct sim *sim, const char *vm, const struct gauth *a,
                   const char *path, const struct gfattrs *at,
                   const char *attrs_field, struct gfault *f) {
  struct stat st;
  bool windows;
  if (!check(sim, vm, a, &windows, f) ||
      !attrs_fit(at, windows, attrs_field, f))
    return false;
  if (stat(path, &st) != 0)
    return fail_errno(f, errno, path);
  int64_t mode = at->mode;
  if (windows && at->read_only)
    mode = st.st_mode & 07555;
  if (mode >= 0 && chmod(path, (mode_t)mode) != 0)
    return fail_errno(f, errno, path);
  if ((at->uid >= 0 || at->gid >= 0) &&
      chown(path, at->uid >= 0 ? (uid_t)at->uid : (uid_t)-1,
            at->gid >= 0 ? (gid_t)at->gid : (gid_t)-1) != 0)
    return fail_errno(f, errno, path);
  if (at->mtime_ms != INT64_MIN || at->atime_ms != INT64_MIN) {
    struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (at->atime_ms != INT64_MIN)
      ts[0] = ms_ts(at->atime_ms);
    if (at->mtime_ms != INT64_MIN)
      ts[1] = ms_ts(at->mtime_ms);
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
      return fail_errno(f, errno, path);
  }
  return true;
}

/* ---- transfers -------------------------------------------------------------
 */

static char *transfer_url(struct sim *sim, const struct gxfer *x) {
  return xasprintf("%s/guestFile?id=%lld&token=%s", sim->xfer_base,
                   (long long)x->id, x->token);
}

bool gfs_download(struct sim *sim, const char *vm, const struct gauth *a,
                  const char *path, const char *path_field, struct gfinfo *info,
                  char **url, struct gfault *f) {
  struct stat st;
  memset(info, 0, sizeof *info);
  *url = NULL;
  if (!check(sim, vm, a, NULL, f))
    return false;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
    return invalid(f, path_field);
  if (stat(path, &st) != 0)
    return fail_errno(f, errno, path);
  if (S_ISDIR(st.st_mode))
    return fail(f, GF_NOT_A_FILE, path);
  if (access(path, R_OK) != 0)
    return fail_errno(f, errno, path);
  if (!info_of(path, path, info))
    return fail_errno(f, errno, path);
  struct gxfer x = {0};
  x.vm_id = (char *)vm;
  x.path = (char *)path;
  x.size = info->size;
  state_xfer_add(sim, &x);
  *url = transfer_url(sim, &x);
  return true;
}

/* May the user running the simulator give files this owner and group? */
static bool may_own(const struct gfattrs *at) {
  if (geteuid() == 0)
    return true;
  if (at->uid >= 0 && (uid_t)at->uid != geteuid())
    return false;
  if (at->gid < 0 || (gid_t)at->gid == getegid())
    return true;
  gid_t groups[256];
  int n = getgroups(256, groups);
  for (int i = 0; i < n; i++)
    if (groups[i] == (gid_t)at->gid)
      return true;
  return false;
}

bool gfs_upload(struct sim *sim, const char *vm, const struct gauth *a,
                const char *path, const char *path_field,
                const struct gfattrs *at, const char *attrs_field, int64_t size,
                bool overwrite, char **url, struct gfault *f) {
  struct stat st;
  bool windows;
  *url = NULL;
  if (!check(sim, vm, a, &windows, f) ||
      !attrs_fit(at, windows, attrs_field, f))
    return false;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
    return invalid(f, path_field);
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return fail(f, GF_NOT_A_FILE, path);
    if (!overwrite)
      return fail(f, GF_FILE_EXISTS, path);
    if (access(path, W_OK) != 0)
      return fail(f, GF_CANNOT_ACCESS, path);
  } else if (errno != ENOENT) {
    return fail_errno(f, errno, path);
  } else {
    char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    slash[slash == parent ? 1 : 0] = '\0';
    bool found = stat(parent, &st) == 0;
    bool dir = found && S_ISDIR(st.st_mode);
    bool writable = dir && access(parent, W_OK) == 0;
    if (!found)
      fail(f, GF_FILE_NOT_FOUND, path);
    else if (!dir)
      fail(f, GF_NOT_A_DIRECTORY, parent);
    else if (!writable)
      fail(f, GF_CANNOT_ACCESS, parent);
    free(parent);
    if (!writable)
      return false;
  }
  if (!may_own(at))
    return fail(f, GF_CANNOT_ACCESS, path);
  struct gxfer x = {0};
  x.vm_id = (char *)vm;
  x.path = (char *)path;
  x.upload = true;
  x.size = size;
  x.overwrite = overwrite;
  x.mode = at->mode;
  if (windows && at->read_only)
    x.mode = 0444;
  x.uid = at->uid;
  x.gid = at->gid;
  x.mtime_ms = at->mtime_ms;
  x.atime_ms = at->atime_ms;
  state_xfer_add(sim, &x);
  *url = transfer_url(sim, &x);
  return true;
}
