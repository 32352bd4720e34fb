/* Normalization of server errors into vguest's error kinds (DESIGN.md
   "Errors"): vAPI error_type names, vim25 fault type names, and bare HTTP
   statuses when a body says nothing. One table per source. */
#include "error.h"

#include <string.h>

typedef struct entry {
  const char *name;
  vg_status status;
  const char *auth; /* for unauthenticated: whose login was rejected */
} entry;

/* vAPI com.vmware.vapi.std.errors error_type values (NOTES §1.2). */
static const entry vapi[] = {
    {"UNAUTHENTICATED", VG_EUNAUTHENTICATED, NULL},
    {"UNAUTHORIZED", VG_EUNAUTHORIZED, NULL},
    {"NOT_FOUND", VG_ENOTFOUND, NULL},
    {"OPERATION_NOT_FOUND", VG_ENOTFOUND, NULL},
    {"INVALID_ARGUMENT", VG_EINVALID, NULL},
    {"INVALID_REQUEST", VG_EINVALID, NULL},
    {"INVALID_ELEMENT_TYPE", VG_EINVALID, NULL},
    {"INVALID_ELEMENT_CONFIGURATION", VG_EINVALID, NULL},
    {"UNEXPECTED_INPUT", VG_EINVALID, NULL},
    {"ALREADY_EXISTS", VG_EINVALID, NULL},
    {"ALREADY_IN_DESIRED_STATE", VG_ESTATE, NULL},
    {"NOT_ALLOWED_IN_CURRENT_STATE", VG_ESTATE, NULL},
    {"RESOURCE_IN_USE", VG_EBUSY, NULL},
    {"RESOURCE_BUSY", VG_EBUSY, NULL},
    {"CONCURRENT_CHANGE", VG_EBUSY, NULL},
    {"SERVICE_UNAVAILABLE", VG_EUNAVAILABLE, NULL},
    {"RESOURCE_INACCESSIBLE", VG_EUNAVAILABLE, NULL},
    {"UNSUPPORTED", VG_EUNSUPPORTED, NULL},
    {"FEATURE_IN_USE", VG_EUNSUPPORTED, NULL},
    {"UNABLE_TO_ALLOCATE_RESOURCE", VG_ENORESOURCE, NULL},
    {"TIMED_OUT", VG_ETIMEDOUT, NULL},
    {"CANCELED", VG_ECANCELED, NULL},
    {"UNVERIFIED_PEER", VG_ETLS, NULL},
    {"ERROR", VG_ESERVER, NULL},
    {"INTERNAL_SERVER_ERROR", VG_ESERVER, NULL},
};

/* vim25 fault _typeName values (NOTES §3.4, §5). */
static const entry vim[] = {
    {"InvalidLogin", VG_EUNAUTHENTICATED, "session"},
    {"NotAuthenticated", VG_EUNAUTHENTICATED, "session"},
    {"InvalidGuestLogin", VG_EUNAUTHENTICATED, "guest"},
    {"GuestPermissionDenied", VG_EUNAUTHORIZED, NULL},
    {"CannotAccessFile", VG_EUNAUTHORIZED, NULL},
    {"NoPermission", VG_EUNAUTHORIZED, NULL},
    {"GuestProcessNotFound", VG_ENOTFOUND, NULL},
    {"FileNotFound", VG_ENOTFOUND, NULL},
    /* as /api's INVALID_ARGUMENT (NOT_A_DIRECTORY, NOT_A_FILE): one kind on
       every flavour for "that path is not what the call needs" */
    {"NotADirectory", VG_EINVALID, NULL},
    {"NotAFile", VG_EINVALID, NULL},
    {"ManagedObjectNotFound", VG_ENOTFOUND, NULL},
    {"InvalidPowerState", VG_ESTATE, NULL},
    {"InvalidState", VG_ESTATE, NULL},
    {"TaskInProgress", VG_EBUSY, NULL},
    {"GuestOperationsUnavailable", VG_EUNAVAILABLE, NULL},
    {"HostNotConnected", VG_EUNAVAILABLE, NULL},
    {"OperationNotSupportedByGuest", VG_EUNSUPPORTED, NULL},
    {"OperationDisabledByGuest", VG_EUNSUPPORTED, NULL},
    {"GuestComponentsOutOfDate", VG_EUNSUPPORTED, NULL},
    {"NotSupported", VG_EUNSUPPORTED, NULL},
    {"NotImplemented", VG_EUNSUPPORTED, NULL},
    {"InvalidArgument", VG_EINVALID, NULL},
    {"InvalidRequest", VG_EINVALID, NULL},
    {"InvalidType", VG_EINVALID, NULL},
    {"InvalidLocale", VG_EINVALID, NULL},
    {"FileFault", VG_EINVALID, NULL},
    /* as /api's ALREADY_EXISTS and its "not empty" INVALID_ARGUMENT */
    {"FileAlreadyExists", VG_EINVALID, NULL},
    {"DirectoryNotEmpty", VG_EINVALID, NULL},
    {"RequestCanceled", VG_ECANCELED, NULL},
    {"Timedout", VG_ETIMEDOUT, NULL},
    {"GuestOperationsFault", VG_ESERVER, NULL},
    {"SystemError", VG_ESERVER, NULL},
    {"RuntimeFault", VG_ESERVER, NULL},
};

static const entry *lookup(const entry *t, size_t n, const char *name) {
  if (!name)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(t[i].name, name) == 0)
      return &t[i];
  return NULL;
}

vg_status vgi_vapi_error_status(const char *error_type) {
  const entry *e = lookup(vapi, sizeof vapi / sizeof *vapi, error_type);
  return e ? e->status : VG_ESERVER;
}

vg_status vgi_vim_fault_status(const char *fault, const char **auth) {
  const entry *e = lookup(vim, sizeof vim / sizeof *vim, fault);
  if (auth)
    *auth = e ? e->auth : NULL;
  return e ? e->status : VG_ESERVER;
}

vg_status vgi_http_status_fallback(long http_status) {
  switch (http_status) {
  case 400:
    return VG_EINVALID;
  case 401:
    return VG_EUNAUTHENTICATED;
  case 403:
    return VG_EUNAUTHORIZED;
  case 404:
    return VG_ENOTFOUND;
  case 409:
    return VG_EBUSY;
  case 500:
    return VG_ESERVER;
  case 503:
    return VG_EUNAVAILABLE;
  case 504:
    return VG_ETIMEDOUT;
  default:
    return VG_EPROTOCOL;
  }
}
