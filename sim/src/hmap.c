#include "hmap.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: one multiply per byte, no branch on the data, so hashing a
 * secret takes the same time for every secret of a length. */
static uint64_t hash_of(const char *key) {
  uint64_t h = 14695981039346656037ULL;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  return h;
}

static bool same(const struct hmap *m, const struct hmap_entry *e, uint64_t h,
                 const char *key) {
  if (m->secret)
    return util_secret_eq(e->key, key);
  return e->hash == h && strcmp(e->key, key) == 0;
}

void hmap_init(struct hmap *m, bool secret_keys) {
  memset(m, 0, sizeof *m);
  m->secret = secret_keys;
}

static void free_entry(const struct hmap *m, struct hmap_entry *e) {
  if (m->secret)
    explicit_bzero(e->key, strlen(e->key));
  free(e->key);
  free(e);
}

void hmap_clear(struct hmap *m, void (*free_item)(void *item)) {
  for (size_t i = 0; i < m->nbuckets; i++) {
    struct hmap_entry *e = m->buckets[i];
    while (e) {
      struct hmap_entry *next = e->next;
      if (free_item)
        free_item(e->item);
      free_entry(m, e);
      e = next;
    }
    m->buckets[i] = NULL;
  }
  m->count = 0;
}

void hmap_free(struct hmap *m) {
  if (!m)
    return;
  hmap_clear(m, NULL);
  free(m->buckets);
  m->buckets = NULL;
  m->nbuckets = 0;
}

/* The chain a key is on; with secret keys every chain of the bucket is
 * walked to its end, so the time says nothing of where a match was. */
void *hmap_get(const struct hmap *m, const char *key) {
  if (!m->nbuckets)
    return NULL;
  uint64_t h = hash_of(key);
  void *found = NULL;
  for (struct hmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e;
       e = e->next) {
    if (!found && same(m, e, h, key)) {
      found = e->item;
      if (!m->secret)
        break;
    }
  }
  return found;
}

static void grow(struct hmap *m) {
  size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
  struct hmap_entry **b = xcalloc(nb, sizeof *b);
  for (size_t i = 0; i < m->nbuckets; i++) {
    struct hmap_entry *e = m->buckets[i];
    while (e) {
      struct hmap_entry *next = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
}

bool hmap_put(struct hmap *m, const char *key, void *item) {
  if (hmap_get(m, key))
    return false;
  if (m->count + 1 > m->nbuckets)
    grow(m);
  struct hmap_entry *e = xmalloc(sizeof *e);
  e->hash = hash_of(key);
  e->key = xstrdup(key);
  e->item = item;
  e->next = m->buckets[e->hash & (m->nbuckets - 1)];
  m->buckets[e->hash & (m->nbuckets - 1)] = e;
  m->count++;
  return true;
}

void *hmap_del(struct hmap *m, const char *key) {
  if (!m->nbuckets)
    return NULL;
  uint64_t h = hash_of(key);
  for (struct hmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)]; *pp;
       pp = &(*pp)->next) {
    struct hmap_entry *e = *pp;
    if (same(m, e, h, key)) {
      void *item = e->item;
      *pp = e->next;
      free_entry(m, e);
      m->count--;
      return item;
    }
  }
  return NULL;
}

void hmap_int_key(int64_t n, char out[24]) {
  snprintf(out, 24, "%" PRId64, n);
}
