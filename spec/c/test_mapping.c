/* C unit tests of the JSON mapping and error normalization: the private
   tables and parsers, fed with the bodies NOTES.md quotes for each flavour.
   No network. */
#include "internal.h"

#include "check.h"

#include <stdio.h>
#include <string.h>

static int streq(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

static void test_tables(void) {
  CHECK(vgi_vapi_error_status("NOT_FOUND") == VG_ENOTFOUND);
  CHECK(vgi_vapi_error_status("RESOURCE_BUSY") == VG_EBUSY);
  CHECK(vgi_vapi_error_status("NOT_ALLOWED_IN_CURRENT_STATE") == VG_ESTATE);
  CHECK(vgi_vapi_error_status("SERVICE_UNAVAILABLE") == VG_EUNAVAILABLE);
  CHECK(vgi_vapi_error_status("UNABLE_TO_ALLOCATE_RESOURCE") == VG_ENORESOURCE);
  CHECK(vgi_vapi_error_status("SOMETHING_NEW") == VG_ESERVER);
  const char *auth = NULL;
  CHECK(vgi_vim_fault_status("InvalidGuestLogin", &auth) ==
            VG_EUNAUTHENTICATED &&
        streq(auth, "guest"));
  CHECK(vgi_vim_fault_status("NotAuthenticated", &auth) ==
            VG_EUNAUTHENTICATED &&
        streq(auth, "session"));
  CHECK(vgi_vim_fault_status("InvalidPowerState", &auth) == VG_ESTATE &&
        auth == NULL);
  CHECK(vgi_vim_fault_status("GuestOperationsUnavailable", NULL) ==
        VG_EUNAVAILABLE);
  CHECK(vgi_vim_fault_status("GuestProcessNotFound", NULL) == VG_ENOTFOUND);
  CHECK(vgi_vim_fault_status("TaskInProgress", NULL) == VG_EBUSY);
  CHECK(vgi_vim_fault_status("OperationDisabledByGuest", NULL) ==
        VG_EUNSUPPORTED);
  CHECK(vgi_http_status_fallback(503) == VG_EUNAVAILABLE);
  CHECK(vgi_http_status_fallback(418) == VG_EPROTOCOL);
  CHECK(vgi_status_retryable(VG_EBUSY) && !vgi_status_retryable(VG_ENOTFOUND));
}

static vg_runtime *rt;

/* A session with a known flavour, never logged in (no I/O). */
static vg_session *session(vg_protocol p) {
  vg_secret *pw;
  vg_secret_new("x", 1, &pw);
  vg_session_options o = {0};
  o.server = "https://vc.invalid";
  o.user = "u";
  o.password = pw;
  o.protocol = p;
  vg_session *s = NULL;
  vg_session_new(rt, &o, &s, NULL);
  vg_secret_free(pw);
  return s;
}

static vgi_response response(long status, const char *body) {
  vgi_response r;
  memset(&r, 0, sizeof r);
  r.status = status;
  r.body = body;
  r.len = strlen(body);
  return r;
}

static vg_op *op_on(vg_session *s, vgi_op_kind kind) {
  vg_op *op = vgi_op_new(rt, s, kind, NULL, NULL);
  op->pid = 4242;
  return op;
}

static void test_errors(void) {
  vg_session *api = session(VG_PROTOCOL_API);
  vg_op *op = op_on(api, VGI_OP_GET);
  vgi_response r = response(
      404, "{\"error_type\":\"NOT_FOUND\",\"messages\":[{\"id\":\"x.pid\","
           "\"default_message\":\"Process 4242 not found\",\"args\":[]}],"
           "\"data\":{\"pid\":4242}}");
  CHECK(api->proto->error(op, &r) == VG_ENOTFOUND);
  CHECK(streq(op->err.pub.message, "Process 4242 not found"));
  CHECK(streq(op->err.pub.fault, "NOT_FOUND") &&
        streq(op->err.pub.message_id, "x.pid") &&
        op->err.pub.http_status == 404);
  /* an empty error body still maps by HTTP status */
  r = response(503, "");
  CHECK(api->proto->error(op, &r) == VG_EUNAVAILABLE);
  vg_op_free(op);

  /* 401 on a guest op: the session id says "session", others are unclear */
  op = op_on(api, VGI_OP_GET);
  vg_credentials_options co = {"root", NULL, NULL, 0};
  vg_secret_new("pw", 2, (vg_secret **)&co.password);
  vg_credentials_new(&co, &op->cred, NULL);
  vg_secret_free((vg_secret *)co.password);
  r = response(401, "{\"error_type\":\"UNAUTHENTICATED\",\"messages\":[{\"id\":"
                    "\"com.vmware.vapi.endpoint.method.authentication."
                    "required\",\"default_message\":\"m\",\"args\":[]}]}");
  CHECK(api->proto->session_rejected(op, &r) == 1);
  r = response(401, "{\"error_type\":\"UNAUTHENTICATED\",\"messages\":[]}");
  CHECK(api->proto->session_rejected(op, &r) == 2);
  vg_op_free(op);
  op = op_on(api, VGI_OP_VMS); /* no guest credentials: the session */
  CHECK(api->proto->session_rejected(op, &r) == 1);
  vg_op_free(op);

  /* the auto probe: which answers mean "this flavour is not here" */
  op = op_on(api, VGI_OP_LOGIN);
  r = response(404, "");
  CHECK(api->proto->not_served(op, &r) == 1);
  r = response(401, ""); /* authentication checked before routing */
  CHECK(api->proto->not_served(op, &r) == 1);
  r = response(401, "{\"error_type\":\"UNAUTHENTICATED\",\"messages\":[]}");
  CHECK(api->proto->not_served(op, &r) == 0); /* a real rejection */
  r = response(500, "{}");
  CHECK(api->proto->not_served(op, &r) == 0);
  vg_op_free(op);

  vg_session *rest = session(VG_PROTOCOL_REST);
  op = op_on(rest, VGI_OP_CREATE);
  r = response(400, "{\"type\":\"com.vmware.vapi.std.errors.resource_busy\","
                    "\"value\":{\"messages\":[{\"id\":\"b\",\"default_"
                    "message\":\"busy\",\"args\":[]}]}}");
  CHECK(rest->proto->error(op, &r) == VG_EBUSY); /* from "type" alone */
  CHECK(op->err.pub.retryable);
  vg_op_free(op);

  vg_session *vim = session(VG_PROTOCOL_VIM25);
  op = op_on(vim, VGI_OP_CREATE);
  r = response(500, "{\"_typeName\":\"InvalidPowerState\",\"requestedState\":"
                    "\"poweredOn\",\"existingState\":\"poweredOff\"}");
  CHECK(vim->proto->error(op, &r) == VG_ESTATE);
  CHECK(streq(op->err.pub.fault, "InvalidPowerState") &&
        strstr(op->err.pub.message, "poweredOff"));
  r = response(500, "{\"_typeName\":\"NotAuthenticated\",\"faultstring\":"
                    "\"The session is not authenticated.\"}");
  CHECK(vim->proto->session_rejected(op, &r) == 1);
  r = response(401, "");
  CHECK(vim->proto->session_rejected(op, &r) == 1);
  r = response(500, "{\"_typeName\":\"InvalidGuestLogin\",\"faultstring\":"
                    "\"Failed to authenticate with the guest\"}");
  CHECK(vim->proto->session_rejected(op, &r) == 0);
  CHECK(vim->proto->error(op, &r) == VG_EUNAUTHENTICATED &&
        streq(op->err.pub.auth, "guest"));
  vg_op_free(op);
  vg_session_free(api);
  vg_session_free(rest);
  vg_session_free(vim);
}

static void test_processes(void) {
  vg_session *vim = session(VG_PROTOCOL_VIM25);
  vg_op *op = op_on(vim, VGI_OP_LIST);
  vgi_response r = response(
      200,
      "[{\"_typeName\":\"GuestProcessInfo\",\"name\":\"sleep\",\"pid\":7,"
      "\"owner\":\"root\",\"cmdLine\":\"/bin/sleep 9\",\"startTime\":\"2026-"
      "11-23T04:00:00.123456Z\"},{\"_typeName\":\"GuestProcessInfo\",\"name\":"
      "\"sh\",\"pid\":8,\"owner\":\"root\",\"cmdLine\":\"/bin/"
      "sh\",\"startTime\""
      ":\"2026-11-23T05:00:00+01:00\",\"endTime\":\"2026-11-23T04:00:01Z\","
      "\"exitCode\":3}]");
  CHECK(vim->proto->parse(op, &r) == VG_OK);
  CHECK(op->nprocs == 2);
  CHECK(op->procs[0].pid == 7 && !op->procs[0].has_exit_code &&
        op->procs[0].finished == NULL &&
        streq(op->procs[0].started, "2026-11-23T04:00:00.123Z") &&
        streq(op->procs[0].command, "/bin/sleep 9"));
  CHECK(op->procs[1].has_exit_code && op->procs[1].exit_code == 3 &&
        streq(op->procs[1].started, "2026-11-23T04:00:00.000Z"));
  vg_op_free(op);
  /* a get of a pid the guest does not list is not_found */
  op = op_on(vim, VGI_OP_GET);
  r = response(200, "[]");
  CHECK(vim->proto->parse(op, &r) == VG_ENOTFOUND);
  vg_op_free(op);
  /* an answer that does not fit is a protocol error */
  op = op_on(vim, VGI_OP_CREATE);
  r = response(200, "\"4242\"");
  CHECK(vim->proto->parse(op, &r) == VG_EPROTOCOL);
  vg_op_free(op);

  vg_session *api = session(VG_PROTOCOL_API);
  op = op_on(api, VGI_OP_GET);
  r = response(200,
               "{\"name\":\"sh\",\"owner\":\"root\",\"command\":\"/bin/sh"
               " -c 'exit 3'\",\"started\":\"2026-11-23T04:00:00.000Z\","
               "\"finished\":\"2026-11-23T04:00:01.000Z\",\"exit_code\":3}");
  CHECK(api->proto->parse(op, &r) == VG_OK && op->nprocs == 1 &&
        op->procs[0].pid == 4242 && op->procs[0].exit_code == 3);
  vg_op_free(op);
  op = op_on(api, VGI_OP_LIST);
  r = response(200, "not json");
  CHECK(api->proto->parse(op, &r) == VG_EPROTOCOL &&
        strstr(op->err.pub.message, "not JSON"));
  vg_op_free(op);
  op = op_on(api, VGI_OP_ENV);
  r = response(200, "{\"PATH\":\"/bin\",\"HOME\":\"/root\"}");
  const char *const *n, *const *v;
  CHECK(api->proto->parse(op, &r) == VG_OK);
  vgi_op_complete(op, VG_OK);
  CHECK(vg_op_env(op, &n, &v) == 2);
  vg_op_free(op);

  vg_session *rest = session(VG_PROTOCOL_REST);
  op = op_on(rest, VGI_OP_ENV);
  r = response(200, "{\"value\":[{\"key\":\"PATH\",\"value\":\"/bin\"}]}");
  CHECK(rest->proto->parse(op, &r) == VG_OK);
  vgi_op_complete(op, VG_OK);
  CHECK(vg_op_env(op, &n, &v) == 1 && streq(n[0], "PATH") &&
        streq(v[0], "/bin"));
  vg_op_free(op);
  vg_session_free(api);
  vg_session_free(rest);
  vg_session_free(vim);
}

int main(void) {
  test_tables();
  vg_runtime_new(NULL, &rt);
  test_errors();
  test_processes();
  CHECK(vg_runtime_pending(rt) == 0);
  vg_runtime_free(rt);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
