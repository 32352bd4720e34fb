/* Secrets: one mapping of their own holding the bytes and a NUL, kept
   out of core files (MADV_DONTDUMP), out of swap where the limits allow
   (mlock), out of children made by fork (MADV_WIPEONFORK), and zeroed
   before it is unmapped; compared in constant time. Nothing here formats
   a secret anywhere. A secret never changes once made, so a copy
   (vg_secret_dup) is one more reference to the same mapping: every op in
   flight holds a copy of its credentials' secret, and 10,000 ops cost one
   page, not 10,000. */
#include "vguest/vguest.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

struct vg_secret {
  atomic_size_t refs; /* copies sharing the mapping (threads may share it) */
  size_t len;
  size_t map;   /* size of the mapping, whole pages */
  char bytes[]; /* len bytes plus NUL */
};

/* A zeroed mapping of at least n bytes, advised as above; NULL when the
   system has no memory for it. The advice is best effort: a kernel
   without MADV_WIPEONFORK, or a memlock limit reached, still gives a
   secret that is wiped when freed. */
static void *secret_map(size_t n, size_t *map) {
  long page = sysconf(_SC_PAGESIZE);
  size_t ps = page > 0 ? (size_t)page : 4096;
  if (n > SIZE_MAX - ps)
    return NULL;
  *map = (n + ps - 1) / ps * ps;
  void *p = mmap(NULL, *map, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  (void)madvise(p, *map, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
  (void)madvise(p, *map, MADV_WIPEONFORK);
#endif
  (void)mlock(p, *map);
  return p;
}

vg_status vg_secret_new(const void *bytes, size_t len, vg_secret **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!bytes && len)
    return VG_EMISUSE;
  if (len > SIZE_MAX / 2)
    return VG_ENOMEM;
  size_t map;
  vg_secret *s = secret_map(sizeof *s + len + 1, &map);
  if (!s)
    return VG_ENOMEM;
  atomic_init(&s->refs, 1);
  s->map = map;
  s->len = len;
  if (len)
    memcpy(s->bytes, bytes, len);
  s->bytes[len] = '\0';
  *out = s;
  return VG_OK;
}

vg_status vg_secret_from_env(const char *name, vg_secret **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!name)
    return VG_EMISUSE;
  const char *v = getenv(name);
  if (!v)
    return VG_ENOTFOUND;
  return vg_secret_new(v, strlen(v), out);
}

/* Reads all of fd into a zeroing buffer. */
static vg_status read_all(int fd, vgi_buf *b) {
  char chunk[512];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      vgi_zero(chunk, sizeof chunk);
      return VG_ENOTFOUND;
    }
    if (n == 0)
      break;
    if (vgi_buf_add(b, chunk, (size_t)n)) {
      vgi_zero(chunk, sizeof chunk);
      return VG_ENOMEM;
    }
  }
  vgi_zero(chunk, sizeof chunk);
  return VG_OK;
}

static vg_status from_buf(vgi_buf *b, vg_secret **out) {
  size_t n = b->len;
  if (n && b->data[n - 1] == '\n')
    n--;
  if (n && b->data[n - 1] == '\r')
    n--;
  vg_status st = vg_secret_new(n ? b->data : "", n, out);
  vgi_buf_zfree(b);
  return st;
}

vg_status vg_secret_from_file(const char *path, vg_secret **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!path)
    return VG_EMISUSE;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return VG_ENOTFOUND;
  vgi_buf b = {0};
  vg_status st = read_all(fd, &b);
  close(fd);
  if (st != VG_OK) {
    vgi_buf_zfree(&b);
    return st;
  }
  return from_buf(&b, out);
}

/* Reads one line from fd byte by byte (so nothing beyond it is consumed),
   waiting in poll(2): a signal always interrupts it (a read(2) is
   restarted under SA_RESTART), and then stop decides. It is asked before
   the first wait too, for a signal caught since the caller began. */
static vg_status read_line(int fd, vgi_buf *b, int (*stop)(void *), void *ud) {
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    char c;
    if (stop && stop(ud))
      return VG_ECANCELED;
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      return b->len ? VG_OK : VG_ECANCELED;
    }
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0)
      return b->len ? VG_OK : VG_ECANCELED;
    if (c == '\n')
      break;
    if (vgi_buf_add(b, &c, 1))
      return VG_ENOMEM;
  }
  return VG_OK;
}

vg_status vg_secret_prompt(const char *prompt, int (*stop)(void *ud), void *ud,
                           int *is_tty, vg_secret **out) {
  if (is_tty)
    *is_tty = 0;
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  int own = fd >= 0;
  if (!own)
    fd = STDIN_FILENO;
  struct termios old, quiet;
  int echo_off = isatty(fd) && tcgetattr(fd, &old) == 0;
  if (echo_off) {
    /* the line discipline edits the line; Ctrl-C stays a signal */
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ISIG | ICANON;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  if (is_tty)
    *is_tty = echo_off;
  if (prompt && own) {
    ssize_t w = write(fd, prompt, strlen(prompt));
    (void)w;
  } else if (prompt) {
    fputs(prompt, stderr);
    fflush(stderr);
  }
  vgi_buf b = {0};
  vg_status st = read_line(fd, &b, stop, ud);
  if (echo_off) {
    tcsetattr(fd, TCSAFLUSH, &old);
    ssize_t w = write(fd, "\n", 1);
    (void)w;
  }
  if (own)
    close(fd);
  if (st != VG_OK) {
    vgi_buf_zfree(&b);
    return st;
  }
  return from_buf(&b, out);
}

vg_status vg_secret_from_prompt(const char *prompt, vg_secret **out) {
  return vg_secret_prompt(prompt, NULL, NULL, NULL, out);
}

vg_status vg_secret_dup(const vg_secret *s, vg_secret **out) {
  if (!out)
    return VG_EMISUSE;
  *out = NULL;
  if (!s)
    return VG_EMISUSE;
  vg_secret *c = (vg_secret *)s; /* only refs changes, atomically */
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  *out = c;
  return VG_OK;
}

void vg_secret_free(vg_secret *s) {
  if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) > 1)
    return; /* another copy still uses it */
  size_t map = s->map;
  explicit_bzero(s, map);
  (void)munlock(s, map);
  munmap(s, map);
}

size_t vg_secret_len(const vg_secret *s) {
  return s ? s->len : 0;
}

int vg_secret_equal(const vg_secret *a, const vg_secret *b) {
  if (!a || !b)
    return a == b;
  /* Length is not secret enough to hide, but compare every byte of the
     longer one anyway so timing does not tell where they differ. */
  size_t n = a->len > b->len ? a->len : b->len;
  unsigned char d = (unsigned char)(a->len != b->len);
  for (size_t i = 0; i < n; i++) {
    unsigned char x = i < a->len ? (unsigned char)a->bytes[i] : 0;
    unsigned char y = i < b->len ? (unsigned char)b->bytes[i] : 0;
    d |= (unsigned char)(x ^ y);
  }
  return d == 0;
}

const char *vg_secret_reveal(const vg_secret *s) {
  return s ? s->bytes : NULL;
}
