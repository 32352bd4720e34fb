/* The legacy vSphere Automation API, /rest (vCenter 7.0 GA), NOTES §2:
   results wrapped in {"value": ...}, maps as key/value arrays, filter.*
   query parameters, session at /rest/com/vmware/cis/session. Its process
   list takes pids and carries exit codes and finish times, so many waits in
   one VM share one list per poll. */
#include "proto_vapi.h"

static const vgi_vapi_flavour rest = {
    .prefix = "/rest",
    .session_path = "/rest/com/vmware/cis/session",
    /* ask for the token in the body, not only as a cookie (NOTES §4) */
    .login_header = "vmware-use-header-authn: true",
    .check_method = "POST",
    .check_path = "/rest/com/vmware/cis/session?~action=get",
    .wrapped = 1,
    .map_as_pairs = 1,
    .list_pids = 1,
    .q_names = "filter.names",
    .q_ids = "filter.vms",
    .q_filter = "filter.",
    .q_power = "filter.power_states",
    /* NOTES §2: no guest filesystem under /rest in 7.0.3+ */
    .filesystem = 0,
};

static void *facts(const char *release) {
  (void)release;
  return (void *)&rest;
}

const vgi_proto vgi_proto_rest = {
    .name = "rest",
    .list_has_exit_codes = 1,
    .state_new = facts,
    .build = vgi_vapi_build,
    .parse = vgi_vapi_parse,
    .error = vgi_vapi_error,
    .session_rejected = vgi_vapi_session_rejected,
    .not_served = vgi_vapi_not_served,
};
