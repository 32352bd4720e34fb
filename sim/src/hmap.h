/* A hash index from string keys to items its user owns: lookups, inserts
 * and removals cost the same whatever the number of entries, so that no
 * request scans a table (sessions, VMs, processes, views, transfers). */
#ifndef SIM_HMAP_H
#define SIM_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
  struct hmap_entry *next;
  uint64_t hash;
  char *key; /* owned copy */
  void *item;
};

struct hmap {
  struct hmap_entry **buckets;
  size_t nbuckets, count;
  bool secret; /* keys are secrets: compared in constant time, zeroed */
};

/* An empty map; secret_keys for session tokens and the like. */
void hmap_init(struct hmap *m, bool secret_keys);
/* Frees the entries (not the items; see hmap_clear). NULL-safe. */
void hmap_free(struct hmap *m);
/* Removes every entry, calling free_item (when not NULL) on each item. */
void hmap_clear(struct hmap *m, void (*free_item)(void *item));
/* The item of key, or NULL. */
void *hmap_get(const struct hmap *m, const char *key);
/* Adds key -> item (key copied). A key already present keeps its item
 * and the call returns false. */
bool hmap_put(struct hmap *m, const char *key, void *item);
/* Removes key; returns its item, or NULL when it was absent. */
void *hmap_del(struct hmap *m, const char *key);
/* The decimal form of n, for maps keyed by numbers. */
void hmap_int_key(int64_t n, char out[24]);

#endif
