/* The inventory: vCenter users, the inventory tree (datacenters, their
 * folders, clusters, hosts and resource pools) and the VMs in it (with
 * their guest accounts), loaded and strictly validated from a JSON file
 * (format in README.md, "Inventory" and "Inventory tree"). The tree never
 * changes after loading; VMs' power and Tools states do (state.c). */
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

/* A managed entity of the tree other than a VM. Its id is also its vim25
 * MoRef value. */
enum ent_kind {
  EK_FOLDER,
  EK_DATACENTER,
  EK_CLUSTER, /* ClusterComputeResource */
  EK_COMPUTE, /* the ComputeResource of a standalone host */
  EK_HOST,    /* HostSystem */
  EK_POOL,    /* ResourcePool */
  EK_VM,      /* only as a view type (VMs are struct vm) */
  EK_COUNT
};

/* What a folder holds (/api Folder.Type). */
enum folder_type { FT_DATACENTER, FT_VM, FT_HOST, FT_DATASTORE, FT_NETWORK };

struct entity {
  char *id;
  char *name; /* not unique: "web" may be a folder of two datacenters */
  enum ent_kind kind;
  enum folder_type ftype;     /* folders */
  struct entity *parent;      /* NULL for the root folder */
  struct entity *dc;          /* its datacenter (a datacenter: itself) */
  struct entity *vm_folder;   /* datacenters: the root VM folder */
  struct entity *host_folder; /* datacenters: the root host folder */
  struct entity *compute; /* hosts, pools: their (cluster) compute resource */
  struct entity *pool;    /* clusters, compute resources: root pool */
  struct entity *first_host;    /* clusters, compute resources */
  bool ha_enabled, drs_enabled; /* clusters */
};

/* The vim25 type name of a kind ("Folder", "HostSystem", ...). */
const char *ent_kind_type(enum ent_kind k);
/* Is e below c (c strictly above e, at any depth)? */
bool entity_below(const struct entity *e, const struct entity *c);

struct vm {
  char *id;   /* "vm-42": also the vim25 MoRef value */
  char *name; /* not unique */
  char *os;   /* "linux" | "windows" */
  enum power_state power;
  bool tools_running; /* Tools.RunState RUNNING */
  bool tools_scripts; /* EXECUTING_SCRIPTS (tools_running is false) */
  int64_t tools_due;  /* CLOCK_MONOTONIC ms when tools_next applies, 0 none */
  int tools_next;     /* what Tools do once tools_due passes: 0 not
                       * running, 1 running, 2 executing scripts */
  struct entity *folder, *host, *pool;
  char *ip_address; /* IPv4 reported by Tools while they run; NULL: none */
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
  struct hmap by_id;    /* id -> struct vm */
  struct hmap by_name;  /* name -> the first struct vm of that name */
  struct entity **ents; /* the tree, parents before children */
  size_t nents;
  struct hmap by_ent;  /* id -> struct entity */
  struct entity *root; /* the root folder, group-d1 */
};

/* Loads path into inv. On failure returns false and writes a message that
 * names the file and the problem into err. */
bool inventory_load(const char *path, struct inventory *inv, char *err,
                    size_t errlen);
/* Makes an inventory of n VMs in the shape of sim/inventory.json: the
 * user administrator@vsphere.local / VMware1!, and VMs whose id and name
 * are vm-0001, vm-0002, ... (more digits when n > 9999), all powered on
 * with Tools running, each with the guest account root / guest-secret,
 * spread over four folders and the four hosts of one cluster of DC0. */
void inventory_generate(size_t n, struct inventory *inv);
void inventory_free(struct inventory *inv);

/* "POWERED_ON" etc.; parse returns false on an unknown name. */
const char *power_state_name(enum power_state ps);
bool power_state_parse(const char *s, enum power_state *out);

/* The VM of an id, or of a name (the first in inventory order); NULL
 * when none. Both are index lookups. */
struct vm *inventory_vm(const struct inventory *inv, const char *id);
struct vm *inventory_vm_named(const struct inventory *inv, const char *name);
/* The entity of an id, or NULL (an index lookup). */
struct entity *inventory_entity(const struct inventory *inv, const char *id);
/* Is vm in container c: directly (its folder, host or resource pool is c)
 * or, when recursive, at any depth below c? */
bool inventory_vm_in(const struct vm *vm, const struct entity *c,
                     bool recursive);

#endif
