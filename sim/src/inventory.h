/* The inventory: vCenter users and VMs (with their guest accounts), loaded
 * and strictly validated from a JSON file (format in README.md). */
#ifndef SIM_INVENTORY_H
#define SIM_INVENTORY_H

#include "hmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum power_state { PS_POWERED_ON, PS_POWERED_OFF, PS_SUSPENDED };

struct account {
  char *user;
  char *password;
};

struct vm {
  char *id;   /* "vm-42": also the vim25 MoRef value */
  char *name; /* not unique */
  char *os;   /* "linux" | "windows" */
  enum power_state power;
  bool tools_running;
  int64_t cpu_count;
  int64_t memory_mib;
  struct account *accounts;
  size_t naccounts;
  struct vm *same_name; /* the next VM of this name, in inventory order */
};

struct inventory {
  struct account *users; /* vCenter (SSO) users */
  size_t nusers;
  struct vm *vms;
  size_t nvms;
  struct hmap by_id;   /* id -> struct vm */
  struct hmap by_name; /* name -> the first struct vm of that name */
};

/* Loads path into inv. On failure returns false and writes a message that
 * names the file and the problem into err. */
bool inventory_load(const char *path, struct inventory *inv, char *err,
                    size_t errlen);
/* Makes an inventory of n VMs in the shape of sim/inventory.json: the
 * user administrator@vsphere.local / VMware1!, and VMs whose id and name
 * are vm-0001, vm-0002, ... (more digits when n > 9999), all powered on
 * with Tools running, each with the guest account root / guest-secret. */
void inventory_generate(size_t n, struct inventory *inv);
void inventory_free(struct inventory *inv);

/* "POWERED_ON" etc.; parse returns false on an unknown name. */
const char *power_state_name(enum power_state ps);
bool power_state_parse(const char *s, enum power_state *out);

/* The VM of an id, or of a name (the first in inventory order); NULL
 * when none. Both are index lookups. */
struct vm *inventory_vm(const struct inventory *inv, const char *id);
struct vm *inventory_vm_named(const struct inventory *inv, const char *name);

#endif
