/* The modern vSphere Automation API, /api (vCenter 7.0U2+), NOTES §1: bare
   JSON bodies, maps as objects, session by Basic auth at /api/session, guest
   processes at /api/vcenter/vm/{vm}/guest/processes. Its list has neither
   a pid filter nor exit codes: waits poll get per process. */
#include "proto_vapi.h"

static const vgi_vapi_flavour api = {
    .prefix = "/api",
    .session_path = "/api/session",
    .check_method = "GET",
    .check_path = "/api/session",
    .wrapped = 0,
    .map_as_pairs = 0,
    .list_pids = 0,
    .q_names = "names",
    .q_ids = "vms",
    .q_filter = "",
    .q_power = "power_states",
    .filesystem = 1,
};

static void *facts(const char *release) {
  (void)release;
  return (void *)&api;
}

const vgi_proto vgi_proto_api = {
    .name = "api",
    .list_has_exit_codes = 0,
    .state_new = facts,
    .build = vgi_vapi_build,
    .parse = vgi_vapi_parse,
    .error = vgi_vapi_error,
    .session_rejected = vgi_vapi_session_rejected,
    .not_served = vgi_vapi_not_served,
};
