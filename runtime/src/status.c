/* The status list's derived facts: names, kinds, texts (one X-macro list in
   vguest.h) and which statuses are worth retrying. */
#include "error.h"

#define NAME(name, kind, text) #name,
#define KIND(name, kind, text) kind,
#define TEXT(name, kind, text) text,
static const char *const status_names[] = {VG_STATUS_LIST(NAME)};
static const char *const status_kinds[] = {VG_STATUS_LIST(KIND)};
static const char *const status_texts[] = {VG_STATUS_LIST(TEXT)};
#undef NAME
#undef KIND
#undef TEXT

static int known(vg_status st) {
  return (int)st >= 0 && st < VG_STATUS_COUNT;
}

const char *vg_status_name(vg_status st) {
  return known(st) ? status_names[st] : "EUNKNOWN";
}

const char *vg_status_kind(vg_status st) {
  return known(st) ? status_kinds[st] : "unknown";
}

const char *vg_status_text(vg_status st) {
  return known(st) ? status_texts[st] : "unknown status";
}

int vgi_status_retryable(vg_status st) {
  return st == VG_EBUSY || st == VG_EUNAVAILABLE || st == VG_ETIMEDOUT ||
         st == VG_ETRANSPORT;
}
