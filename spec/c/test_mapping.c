/* C unit tests of the protocol layer: the error tables, and each flavour's
   pure translation (requests built, answers parsed, failures normalized),
   fed with the bodies NOTES.md quotes. No network, no runtime: a flavour
   is a vgi_proto and its state. */
#include "http.h"
#include "json.h"
#include "proto.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
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

static void test_registry(void) {
  vg_protocol p;
  CHECK(streq(vg_protocol_name(VG_PROTOCOL_AUTO), "auto"));
  CHECK(streq(vg_protocol_name(VG_PROTOCOL_VIM25), "vim25"));
  CHECK(vg_protocol_name((vg_protocol)99) == NULL);
  CHECK(vg_protocol_from_name("rest", &p) == VG_OK && p == VG_PROTOCOL_REST);
  CHECK(vg_protocol_from_name("soap", &p) == VG_EINVALID);
  int n = 0;
  for (int i = 0; vg_protocol_name((vg_protocol)i); i++)
    n++;
  CHECK(n == 4);
  /* the probe order: api, vim25, rest */
  CHECK(vgi_protocol_probe(0) == &vgi_proto_api &&
        vgi_protocol_probe(1) == &vgi_proto_vim25 &&
        vgi_protocol_probe(2) == &vgi_proto_rest && !vgi_protocol_probe(3));
}

/* One flavour with its state, and a call. */
typedef struct fl {
  const vgi_proto *p;
  void *state;
  vgi_call call;
  vgi_result res;
  vgi_error err;
  vg_credentials *cred;
} fl;

static void fl_open(fl *f, const vgi_proto *p, vgi_op_kind kind) {
  memset(f, 0, sizeof *f);
  f->p = p;
  f->state = p->state_new ? p->state_new(NULL) : NULL;
  f->call.kind = kind;
  f->call.vm = "vm-42";
  f->call.pid = 4242;
}

static void fl_kind(fl *f, vgi_op_kind kind) {
  vgi_result_clear(&f->res);
  vgi_error_clear(&f->err);
  json_decref(f->call.scratch);
  f->call.scratch = NULL;
  f->call.step = 0;
  f->call.kind = kind;
}

static void fl_close(fl *f) {
  if (f->p->state_free)
    f->p->state_free(f->state);
  vgi_result_clear(&f->res);
  vgi_error_clear(&f->err);
  json_decref(f->call.scratch);
  json_decref(f->call.args);
  vg_credentials_free(f->cred);
}

static void with_password(fl *f, const char *pw) {
  vg_secret *s;
  vg_secret_new(pw, strlen(pw), &s);
  vg_credentials_options co = {"root", s, NULL, 0};
  vg_credentials_new(&co, &f->cred, NULL);
  vg_secret_free(s);
  f->call.cred = f->cred;
}

static vgi_answer answer(long status, const char *body) {
  vgi_answer a = {status, body, strlen(body), NULL};
  return a;
}

static vg_status parse(fl *f, long status, const char *body) {
  vgi_answer a = answer(status, body);
  return f->p->parse(f->state, &f->call, &a, &f->res, &f->err);
}

static vg_status error(fl *f, long status, const char *body) {
  vgi_answer a = answer(status, body);
  return f->p->error(f->state, &f->call, &a, &f->err);
}

static int rejected(fl *f, long status, const char *body) {
  vgi_answer a = answer(status, body);
  return f->p->session_rejected(f->state, &f->call, &a);
}

static int not_served(fl *f, long status, const char *body) {
  vgi_answer a = answer(status, body);
  return f->p->not_served(f->state, &f->call, &a);
}

static void test_errors(void) {
  fl f;
  fl_open(&f, &vgi_proto_api, VGI_OP_GET);
  CHECK(error(&f, 404,
              "{\"error_type\":\"NOT_FOUND\",\"messages\":[{\"id\":\"x.pid\","
              "\"default_message\":\"Process 4242 not found\",\"args\":[]}],"
              "\"data\":{\"pid\":4242}}") == VG_ENOTFOUND);
  CHECK(streq(f.err.pub.message, "Process 4242 not found"));
  CHECK(streq(f.err.pub.fault, "NOT_FOUND") &&
        streq(f.err.pub.message_id, "x.pid") && f.err.pub.http_status == 404);
  /* an empty error body still maps by HTTP status */
  CHECK(error(&f, 503, "") == VG_EUNAVAILABLE);

  /* 401 on a guest op: the session id says "session", others are unclear */
  with_password(&f, "pw");
  CHECK(rejected(&f, 401,
                 "{\"error_type\":\"UNAUTHENTICATED\",\"messages\":[{\"id\":"
                 "\"com.vmware.vapi.endpoint.method.authentication."
                 "required\",\"default_message\":\"m\",\"args\":[]}]}") == 1);
  CHECK(rejected(&f, 401,
                 "{\"error_type\":\"UNAUTHENTICATED\",\"messages\":[]}") == 2);
  f.call.cred = NULL; /* no guest credentials: about the session */
  fl_kind(&f, VGI_OP_VMS);
  CHECK(rejected(&f, 401,
                 "{\"error_type\":\"UNAUTHENTICATED\",\"messages\":[]}") == 1);

  /* the auto probe: which answers mean "this flavour is not here" */
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(not_served(&f, 404, "") == 1);
  CHECK(not_served(&f, 401, "") == 1); /* authentication before routing */
  CHECK(not_served(&f, 401,
                   "{\"error_type\":\"UNAUTHENTICATED\","
                   "\"messages\":[]}") == 0); /* a real rejection */
  CHECK(not_served(&f, 500, "{}") == 0);
  fl_close(&f);

  fl_open(&f, &vgi_proto_rest, VGI_OP_CREATE);
  CHECK(error(&f, 400,
              "{\"type\":\"com.vmware.vapi.std.errors.resource_busy\","
              "\"value\":{\"messages\":[{\"id\":\"b\",\"default_"
              "message\":\"busy\",\"args\":[]}]}}") ==
        VG_EBUSY); /* from "type" alone */
  CHECK(f.err.pub.retryable);
  fl_close(&f);

  fl_open(&f, &vgi_proto_vim25, VGI_OP_CREATE);
  CHECK(error(&f, 500,
              "{\"_typeName\":\"InvalidPowerState\",\"requestedState\":"
              "\"poweredOn\",\"existingState\":\"poweredOff\"}") == VG_ESTATE);
  CHECK(streq(f.err.pub.fault, "InvalidPowerState") &&
        strstr(f.err.pub.message, "poweredOff"));
  CHECK(rejected(&f, 500,
                 "{\"_typeName\":\"NotAuthenticated\",\"faultstring\":"
                 "\"The session is not authenticated.\"}") == 1);
  CHECK(rejected(&f, 401, "") == 1);
  const char *guest = "{\"_typeName\":\"InvalidGuestLogin\",\"faultstring\":"
                      "\"Failed to authenticate with the guest\"}";
  CHECK(rejected(&f, 500, guest) == 0);
  CHECK(error(&f, 500, guest) == VG_EUNAUTHENTICATED &&
        streq(f.err.pub.auth, "guest"));
  fl_close(&f);
}

static void test_processes(void) {
  fl f;
  fl_open(&f, &vgi_proto_vim25, VGI_OP_LIST);
  CHECK(parse(&f, 200,
              "[{\"_typeName\":\"GuestProcessInfo\",\"name\":\"sleep\","
              "\"pid\":7,\"owner\":\"root\",\"cmdLine\":\"/bin/sleep 9\","
              "\"startTime\":\"2026-11-23T04:00:00.123456Z\"},{\"_typeName\":"
              "\"GuestProcessInfo\",\"name\":\"sh\",\"pid\":8,\"owner\":"
              "\"root\",\"cmdLine\":\"/bin/sh\",\"startTime\":\"2026-11-23T05:"
              "00:00+01:00\",\"endTime\":\"2026-11-23T04:00:01Z\","
              "\"exitCode\":3}]") == VG_OK);
  CHECK(f.res.nprocs == 2);
  CHECK(f.res.procs[0].pid == 7 && !f.res.procs[0].has_exit_code &&
        f.res.procs[0].finished == NULL &&
        streq(f.res.procs[0].started, "2026-11-23T04:00:00.123Z") &&
        streq(f.res.procs[0].command, "/bin/sleep 9"));
  CHECK(f.res.procs[1].has_exit_code && f.res.procs[1].exit_code == 3 &&
        streq(f.res.procs[1].started, "2026-11-23T04:00:00.000Z"));
  /* a get of a pid the guest does not list is not_found */
  fl_kind(&f, VGI_OP_GET);
  CHECK(parse(&f, 200, "[]") == VG_ENOTFOUND);
  /* an answer that does not fit is a protocol error */
  fl_kind(&f, VGI_OP_CREATE);
  CHECK(parse(&f, 200, "\"4242\"") == VG_EPROTOCOL);
  fl_kind(&f, VGI_OP_CREATE);
  CHECK(parse(&f, 200, "4242") == VG_OK && f.res.pid == 4242);
  fl_close(&f);

  fl_open(&f, &vgi_proto_api, VGI_OP_GET);
  CHECK(parse(&f, 200,
              "{\"name\":\"sh\",\"owner\":\"root\",\"command\":\"/bin/sh"
              " -c 'exit 3'\",\"started\":\"2026-11-23T04:00:00.000Z\","
              "\"finished\":\"2026-11-23T04:00:01.000Z\",\"exit_code\":3}") ==
            VG_OK &&
        f.res.nprocs == 1 && f.res.procs[0].pid == 4242 &&
        f.res.procs[0].exit_code == 3);
  fl_kind(&f, VGI_OP_LIST);
  CHECK(parse(&f, 200, "not json") == VG_EPROTOCOL &&
        strstr(f.err.pub.message, "not JSON"));
  fl_kind(&f, VGI_OP_ENV);
  CHECK(parse(&f, 200, "{\"PATH\":\"/bin\",\"HOME\":\"/root\"}") == VG_OK &&
        f.res.nenv == 2);
  fl_close(&f);

  fl_open(&f, &vgi_proto_rest, VGI_OP_ENV);
  CHECK(parse(&f, 200, "{\"value\":[{\"key\":\"PATH\",\"value\":\"/bin\"}]}") ==
            VG_OK &&
        f.res.nenv == 1 && streq(f.res.env_names[0], "PATH") &&
        streq(f.res.env_values[0], "/bin"));
  fl_close(&f);
}

/* Logins: the token is read, outside jansson, from each flavour's place. */
static void test_login(void) {
  fl f;
  fl_open(&f, &vgi_proto_api, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, " \"b00db39f\\u0041\" ") == VG_OK && f.res.token &&
        streq(vg_secret_reveal(f.res.token), "b00db39fA"));
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, "\"\"") == VG_EPROTOCOL); /* empty */
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, "\"tok\" x") == VG_EPROTOCOL); /* trailing bytes */
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, "{\"value\":\"tok\"}") == VG_EPROTOCOL);
  fl_close(&f);

  fl_open(&f, &vgi_proto_rest, VGI_OP_LOGIN);
  CHECK(parse(&f, 200, "{\"other\":[1,{\"a\":null}],\"value\":\"t\\\"ok\"}") ==
            VG_OK &&
        streq(vg_secret_reveal(f.res.token), "t\"ok"));
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 200, "{\"value\":42}") == VG_EPROTOCOL);
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 200, "{\"value\":\"tok\"") == VG_EPROTOCOL); /* cut */
  fl_close(&f);

  /* vim25: service content, Login (token in the header), processManager */
  fl_open(&f, &vgi_proto_vim25, VGI_OP_LOGIN);
  CHECK(
      parse(&f, 200,
            "{\"about\":{\"apiVersion\":\"8.0.2.0\"},\"sessionManager\":{"
            "\"value\":\"SessionManager\"},\"viewManager\":{\"value\":\"VM\"},"
            "\"propertyCollector\":{\"value\":\"pc\"},\"rootFolder\":{"
            "\"value\":\"group-d1\"},\"guestOperationsManager\":{\"value\":"
            "\"gom\"}}") == VG_EPENDING &&
      f.call.step == 1 && streq(f.res.server_release, "8.0.2.0"));
  vgi_request req;
  memset(&req, 0, sizeof req);
  f.call.user = "administrator@vsphere.local";
  vg_secret *pw;
  vg_secret_new("p\"w\n", 4, &pw);
  f.call.password = pw;
  CHECK(f.p->build(f.state, &f.call, &req, &f.err) == VG_OK &&
        streq(req.path, "/sdk/vim25/8.0.1.0/SessionManager/SessionManager/"
                        "Login"));
  json_t *body = json_loadb(req.body.data, req.body.len, 0, NULL);
  CHECK(streq(vgi_json_str(body, "password"), "p\"w\n") &&
        streq(vgi_json_str(body, "userName"), "administrator@vsphere.local"));
  json_decref(body);
  vgi_request_clear(&req);
  vg_secret_free(pw);
  vgi_answer a = answer(200, "{}");
  CHECK(f.p->parse(f.state, &f.call, &a, &f.res, &f.err) == VG_EPROTOCOL);
  a.token = "vim-token";
  CHECK(f.p->parse(f.state, &f.call, &a, &f.res, &f.err) == VG_EPENDING &&
        streq(vg_secret_reveal(f.res.token), "vim-token") && f.call.step == 2);
  fl_close(&f);
}

/* Guest bodies carry the guest password, written outside jansson: they must
   still be well-formed JSON with the password intact. */
static void test_guest_bodies(void) {
  static const char pw[] = "qu\"ote\\back\x01 é";
  const vgi_proto *ps[] = {&vgi_proto_api, &vgi_proto_rest, &vgi_proto_vim25};
  for (int i = 0; i < 3; i++) {
    fl f;
    fl_open(&f, ps[i], VGI_OP_CREATE);
    with_password(&f, pw);
    const char *env[] = {"A=1", "B=x=y", NULL};
    f.call.args =
        json_pack("{s:s,s:s,s:s,s:o,s:b}", "path", "/bin/sh", "arguments",
                  "-c 'exit 3'", "working_directory", "/tmp", "env",
                  vgi_json_string_array(env), "start_minimized", 0);
    vgi_request req;
    memset(&req, 0, sizeof req);
    CHECK(f.p->build(f.state, &f.call, &req, &f.err) == VG_OK);
    json_error_t e;
    json_t *b = json_loadb(req.body.data, req.body.len, 0, &e);
    CHECK(b != NULL);
    json_t *auth = json_object_get(b, i < 2 ? "credentials" : "auth");
    CHECK(streq(vgi_json_str(auth, "password"), pw));
    CHECK(streq(vgi_json_str(auth, i < 2 ? "user_name" : "username"), "root"));
    json_t *spec = json_object_get(b, "spec");
    CHECK(streq(vgi_json_str(spec, i < 2 ? "path" : "programPath"), "/bin/sh"));
    if (i == 0)
      CHECK(streq(
          vgi_json_str(json_object_get(spec, "environment_variables"), "B"),
          "x=y"));
    json_decref(b);
    vgi_request_clear(&req);
    fl_close(&f);
  }
  /* a call a flavour cannot make is unsupported, not misuse */
  fl f;
  fl_open(&f, &vgi_proto_vim25, VGI_OP_TIMER);
  vgi_request req;
  memset(&req, 0, sizeof req);
  CHECK(f.p->build(f.state, &f.call, &req, &f.err) == VG_EUNSUPPORTED &&
        f.err.pub.message && strstr(f.err.pub.message, "vim25"));
  vgi_request_clear(&req);
  fl_close(&f);
}

/* Answers that must be refused, never half read (issue 8). */
static void test_refused(void) {
  fl f;
  const vgi_proto *ps[] = {&vgi_proto_api, &vgi_proto_rest, &vgi_proto_vim25};
  const char *zero[] = {"0", "{\"value\":0}", "0"};
  const char *neg[] = {"-4", "{\"value\":-4}", "-4"};
  for (int i = 0; i < 3; i++) {
    fl_open(&f, ps[i], VGI_OP_CREATE);
    CHECK(parse(&f, 200, zero[i]) == VG_EPROTOCOL);
    fl_kind(&f, VGI_OP_CREATE);
    CHECK(parse(&f, 200, neg[i]) == VG_EPROTOCOL);
    fl_close(&f);
  }
  /* finished without an exit code, an exit code without finished */
  fl_open(&f, &vgi_proto_api, VGI_OP_GET);
  CHECK(parse(&f, 200,
              "{\"name\":\"sh\",\"owner\":\"root\",\"command\":\"sh\","
              "\"started\":\"2026-11-23T04:00:00Z\",\"finished\":\"2026-11-"
              "23T04:00:01Z\"}") == VG_EPROTOCOL);
  fl_kind(&f, VGI_OP_GET);
  CHECK(parse(&f, 200,
              "{\"name\":\"sh\",\"owner\":\"root\",\"command\":\"sh\","
              "\"started\":\"2026-11-23T04:00:00Z\",\"exit_code\":0}") ==
        VG_EPROTOCOL);
  fl_close(&f);
  fl_open(&f, &vgi_proto_vim25, VGI_OP_LIST);
  CHECK(parse(&f, 200,
              "[{\"name\":\"sh\",\"pid\":8,\"owner\":\"root\",\"cmdLine\":"
              "\"sh\",\"startTime\":\"2026-11-23T04:00:00Z\",\"endTime\":"
              "\"2026-11-23T04:00:01Z\"}]") == VG_EPROTOCOL);
  fl_close(&f);
  /* a session token with CR/LF (a header of the server's choosing in
     every later request) or of 2 MiB */
  fl_open(&f, &vgi_proto_api, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, "\"tok\\r\\nX-Injected: yes\"") == VG_EPROTOCOL &&
        !f.res.token);
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, "\"tok en\"") == VG_EPROTOCOL);
  size_t big = 2u << 20;
  char *huge = malloc(big + 3);
  huge[0] = '"';
  memset(huge + 1, 'a', big);
  huge[big + 1] = '"';
  huge[big + 2] = '\0';
  fl_kind(&f, VGI_OP_LOGIN);
  CHECK(parse(&f, 201, huge) == VG_EPROTOCOL && !f.res.token);
  free(huge);
  fl_close(&f);
  fl_open(&f, &vgi_proto_vim25, VGI_OP_LOGIN);
  f.call.step = 1;
  vgi_answer a = answer(200, "{}");
  a.token = "tok\r\nX-Injected: yes";
  CHECK(f.p->parse(f.state, &f.call, &a, &f.res, &f.err) == VG_EPROTOCOL &&
        !f.res.token);
  fl_close(&f);
}

/* A listing whose pages never end fails (found by fuzz_exchange: the
   same "remaining": 1 page again and again kept list_files going for
   ever); one that ends is read to its end. */
static void test_listing_ends(void) {
  static const char vim_page[] =
      "{\"remaining\":%d,\"files\":[{\"path\":\"f%d\",\"type\":"
      "\"file\",\"size\":1}]}";
  static const char api_page[] =
      "{\"files\":[{\"filename\":\"f%d\",\"type\":\"FILE\",\"size\":1}],"
      "\"total\":%d,\"status\":\"READY\"}";
  char body[256];
  fl f;
  int i;
  vg_status st = VG_OK;
  fl_open(&f, &vgi_proto_vim25, VGI_OP_LS);
  f.call.args = json_pack("{s:s}", "path", "/tmp");
  f.call.step = 1;           /* step 0 learns the file manager */
  for (i = 2; i >= 0; i--) { /* 2, 1, 0 to come: three pages */
    snprintf(body, sizeof body, vim_page, i, i);
    st = parse(&f, 200, body);
    CHECK(st == (i > 0 ? VG_EPENDING : VG_OK));
  }
  CHECK(f.res.nfiles == 3);
  fl_kind(&f, VGI_OP_LS);
  f.call.step = 1;
  snprintf(body, sizeof body, vim_page, 1, 0);
  CHECK(parse(&f, 200, body) == VG_EPENDING);
  CHECK(parse(&f, 200, body) == VG_EPROTOCOL); /* no nearer to the end */
  fl_kind(&f, VGI_OP_LS);
  f.call.step = 1;
  for (i = 0; i < VGI_MAX_LISTING_PAGES + 1; i++) {
    snprintf(body, sizeof body, vim_page, 1000000000 - i, i);
    if ((st = parse(&f, 200, body)) != VG_EPENDING)
      break;
  }
  CHECK(st == VG_EPROTOCOL && i < VGI_MAX_LISTING_PAGES);
  fl_close(&f);

  fl_open(&f, &vgi_proto_api, VGI_OP_LS);
  f.call.args = json_pack("{s:s}", "path", "/tmp");
  for (i = 0; i < 3; i++) {
    snprintf(body, sizeof body, api_page, i, 3);
    st = parse(&f, 200, body);
    CHECK(st == (i < 2 ? VG_EPENDING : VG_OK));
  }
  CHECK(f.res.nfiles == 3);
  fl_kind(&f, VGI_OP_LS);
  snprintf(body, sizeof body, api_page, 0, 5);
  CHECK(parse(&f, 200, body) == VG_EPENDING);
  snprintf(body, sizeof body, api_page, 1, 9);
  CHECK(parse(&f, 200, body) == VG_EPROTOCOL); /* the total moved */
  fl_kind(&f, VGI_OP_LS);
  for (i = 0; i < VGI_MAX_LISTING_PAGES + 1; i++) {
    snprintf(body, sizeof body, api_page, i, 1000000000);
    if ((st = parse(&f, 200, body)) != VG_EPENDING)
      break;
  }
  CHECK(st == VG_EPROTOCOL && i < VGI_MAX_LISTING_PAGES);
  fl_close(&f);
}

/* How an exchange that got no answer is classified (http.c). */
static void test_failures(void) {
  vgi_http_result r;
  memset(&r, 0, sizeof r);
  r.curl = CURLE_SSL_CONNECT_ERROR;
  r.curl_error = "OpenSSL SSL_connect: Connection reset by peer in connection "
                 "to 127.0.0.1:443";
  CHECK(vgi_http_failure(&r) == VG_ETRANSPORT); /* a proxy restarting */
  r.curl_error = "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to x";
  CHECK(vgi_http_failure(&r) == VG_ETRANSPORT);
  r.curl_error = "error:0A000086:SSL routines::certificate verify failed";
  CHECK(vgi_http_failure(&r) == VG_ETLS);
  r.curl = CURLE_PEER_FAILED_VERIFICATION;
  CHECK(vgi_http_failure(&r) == VG_ETLS);
  r.curl = CURLE_OUT_OF_MEMORY;
  r.curl_error = "Rejected 307200 bytes header (max is 102400)!";
  CHECK(vgi_http_failure(&r) == VG_EPROTOCOL);
  r.too_large = 1;
  CHECK(vgi_http_failure(&r) == VG_EPROTOCOL &&
        !vgi_status_retryable(VG_EPROTOCOL));
}

/* The strict reader of secret strings. */
static void test_secret_reader(void) {
  vgi_buf b = {0};
  CHECK(vgi_json_secret_string("\"\\ud83d\\ude00\"", 14, NULL, &b) == 0 &&
        b.len == 4 && memcmp(b.data, "\xf0\x9f\x98\x80", 4) == 0);
  vgi_buf_zfree(&b);
  CHECK(vgi_json_secret_string("\"\\ud83d\"", 8, NULL, &b) == -1);
  CHECK(vgi_json_secret_string("\"a\nb\"", 5, NULL, &b) == -1);
  CHECK(vgi_json_secret_string("{\"value\":\"x\",}", 14, "value", &b) == -1);
  CHECK(vgi_json_secret_string("{\"v\":\"x\"}", 9, "value", &b) == -1);
  const char *ok = "{\"n\":-1.5e3,\"t\":[true,false,null],\"value\":\"x\"}";
  CHECK(vgi_json_secret_string(ok, strlen(ok), "value", &b) == 0 &&
        streq(b.data, "x"));
  vgi_buf_zfree(&b);
  CHECK(vgi_json_secret_string("{\"n\":01,\"value\":\"x\"}", 20, "value", &b) ==
        -1);
}

/* The request of c's current step: its method and path (freed by the
   caller's next call). */
static const char *built_path(fl *f, vgi_request *req) {
  vgi_request_clear(req);
  memset(req, 0, sizeof *req);
  if (f->p->build(f->state, &f->call, req, &f->err) != VG_OK)
    return NULL;
  return req->path;
}

/* Selecting VMs: inventory lists by name, container filters of the VM
   list, and what Tools report (guest_info), on each flavour. */
static void test_selection(void) {
  vgi_request req = {0};
  fl f;
  /* /api: inventory kinds by name; folders are VM folders */
  fl_open(&f, &vgi_proto_api, VGI_OP_INVENTORY);
  f.call.args = json_pack("{s:i,s:[s,s]}", "kind", 3, "names", "esx-01", "a b");
  CHECK(streq(built_path(&f, &req),
              "/api/vcenter/host?names=esx-01&names=a%20b"));
  CHECK(streq(req.method, "GET"));
  CHECK(parse(&f, 200,
              "[{\"host\":\"host-11\",\"name\":\"esx-01\",\"connection_state\":"
              "\"CONNECTED\",\"power_state\":\"POWERED_ON\"}]") == VG_OK);
  CHECK(f.res.nobjects == 1 && streq(f.res.objects[0].id, "host-11") &&
        streq(f.res.objects[0].name, "esx-01"));
  fl_kind(&f, VGI_OP_INVENTORY);
  json_decref(f.call.args);
  f.call.args = json_pack("{s:i,s:[s]}", "kind", 0, "names", "web");
  CHECK(streq(built_path(&f, &req),
              "/api/vcenter/folder?names=web&type=VIRTUAL_MACHINE"));
  CHECK(parse(&f, 200, "[{\"folder\":\"group-v3\"}]") == VG_EPROTOCOL);
  /* the VM list with containers: AND across kinds, OR within one */
  fl_kind(&f, VGI_OP_VMS);
  json_decref(f.call.args);
  f.call.args = json_pack("{s:[],s:[],s:[s],s:[s,s]}", "names", "ids",
                          "folders", "group-v3", "hosts", "host-11", "host-12");
  CHECK(streq(built_path(&f, &req), "/api/vcenter/vm?folders=group-v3&"
                                    "hosts=host-11&hosts=host-12"));
  /* guest info: Tools, then the identity while they run */
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(streq(built_path(&f, &req), "/api/vcenter/vm/vm-42/tools"));
  CHECK(parse(&f, 200,
              "{\"run_state\":\"RUNNING\",\"version_status\":\"CURRENT\"}") ==
        VG_EPENDING);
  CHECK(f.call.step == 1 &&
        streq(built_path(&f, &req), "/api/vcenter/vm/vm-42/guest/identity"));
  CHECK(
      parse(
          &f, 200,
          "{\"name\":\"OTHER_5X_LINUX_64\",\"family\":\"LINUX\",\"host_name\":"
          "\"web-01\",\"ip_address\":\"10.0.0.42\",\"full_name\":{}}") ==
      VG_OK);
  CHECK(streq(f.res.guest->tools, "running") && f.res.guest->ops_ready &&
        streq(f.res.guest->family, "LINUX") &&
        streq(f.res.guest->ip_address, "10.0.0.42") &&
        streq(f.res.guest->host_name, "web-01") && f.res.guest->host == NULL);
  /* no identity after all (Tools restarting): what Tools said stands */
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(parse(&f, 200, "{\"run_state\":\"RUNNING\"}") == VG_EPENDING);
  CHECK(error(&f, 503, "{\"error_type\":\"SERVICE_UNAVAILABLE\"}") == VG_OK);
  CHECK(error(&f, 401, "{\"error_type\":\"UNAUTHENTICATED\"}") ==
        VG_EUNAUTHENTICATED);
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(parse(&f, 200, "{\"run_state\":\"NOT_RUNNING\"}") == VG_OK);
  CHECK(streq(f.res.guest->tools, "not_running") && !f.res.guest->ops_ready);
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(parse(&f, 200, "{\"run_state\":\"DANCING\"}") == VG_EPROTOCOL);
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(parse(&f, 200, "{}") == VG_EPROTOCOL);
  fl_close(&f);

  /* /rest: the same, filter.* and wrapped */
  fl_open(&f, &vgi_proto_rest, VGI_OP_INVENTORY);
  f.call.args = json_pack("{s:i,s:[s]}", "kind", 4, "names", "batch");
  CHECK(streq(built_path(&f, &req),
              "/rest/vcenter/resource-pool?filter.names=batch"));
  CHECK(parse(&f, 200,
              "{\"value\":[{\"resource_pool\":\"resgroup-9\",\"name\":"
              "\"batch\"}]}") == VG_OK);
  CHECK(f.res.nobjects == 1 && streq(f.res.objects[0].id, "resgroup-9"));
  fl_kind(&f, VGI_OP_VMS);
  json_decref(f.call.args);
  f.call.args = json_pack("{s:[s]}", "datacenters", "datacenter-1");
  CHECK(streq(built_path(&f, &req),
              "/rest/vcenter/vm?filter.datacenters=datacenter-1"));
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(streq(built_path(&f, &req), "/rest/vcenter/vm/vm-42/tools"));
  CHECK(parse(&f, 200, "{\"value\":{\"run_state\":\"EXECUTING_SCRIPTS\"}}") ==
        VG_OK);
  CHECK(streq(f.res.guest->tools, "starting") && !f.res.guest->ops_ready);
  fl_close(&f);

  /* vim25: one view per container, then the root folder's; the VMs
     kept are those in a container of every kind */
  static const char view[] =
      "{\"_typeName\":\"ManagedObjectReference\",\"type\":\"ContainerView\","
      "\"value\":\"session[1]v\"}";
  fl_open(&f, &vgi_proto_vim25, VGI_OP_VMS);
  f.call.args = json_pack("{s:[],s:[],s:[s],s:[s]}", "names", "ids", "hosts",
                          "host-11", "folders", "group-v3");
  CHECK(built_path(&f, &req) && strstr(req.body.data, "\"type\":\"Folder\"") &&
        strstr(req.body.data, "\"value\":\"group-v3\""));
  int views = 0;
  const char *members[] = {
      /* folder group-v3: vm-42, vm-43 */
      "{\"objects\":[{\"obj\":{\"type\":\"VirtualMachine\",\"value\":\"vm-42\"}"
      "},"
      "{\"obj\":{\"type\":\"VirtualMachine\",\"value\":\"vm-43\"}}]}",
      /* host-11: vm-43, vm-44 */
      "{\"objects\":[{\"obj\":{\"type\":\"VirtualMachine\",\"value\":\"vm-43\"}"
      "},"
      "{\"obj\":{\"type\":\"VirtualMachine\",\"value\":\"vm-44\"}}]}"};
  for (views = 0; views < 2; views++) {
    CHECK(f.call.step == 0);
    if (views == 1)
      CHECK(built_path(&f, &req) &&
            strstr(req.body.data, "\"type\":\"HostSystem\"") &&
            strstr(req.body.data, "\"value\":\"host-11\""));
    CHECK(parse(&f, 200, view) == VG_EPENDING);
    CHECK(parse(&f, 200, members[views]) == VG_EPENDING && f.call.step == 3);
    CHECK(parse(&f, 200, "") == VG_EPENDING);
  }
  /* the root folder's view: every VM, with names and power states */
  CHECK(built_path(&f, &req) && strstr(req.body.data, "\"type\":\"Folder\"") &&
        !strstr(req.body.data, "group-v3"));
  CHECK(parse(&f, 200, view) == VG_EPENDING);
  {
    char all[1024] = "{\"objects\":[";
    const char *ids[] = {"vm-42", "vm-43", "vm-44"};
    for (int i = 0; i < 3; i++) {
      char one[256];
      snprintf(one, sizeof one,
               "%s{\"obj\":{\"value\":\"%s\"},\"propSet\":[{\"name\":\"name\","
               "\"val\":\"n%d\"},{\"name\":\"runtime.powerState\",\"val\":{"
               "\"_typeName\":\"VirtualMachinePowerState\",\"_value\":"
               "\"poweredOn\"}}]}",
               i ? "," : "", ids[i], i);
      strcat(all, one);
    }
    strcat(all, "]}");
    CHECK(parse(&f, 200, all) == VG_EPENDING);
  }
  CHECK(parse(&f, 200, "") == VG_OK);
  CHECK(f.res.nvms == 1 && streq(f.res.vms[0].id, "vm-43"));
  /* an inventory list: the root's view of a type, filtered by name */
  fl_kind(&f, VGI_OP_INVENTORY);
  json_decref(f.call.args);
  f.call.args = json_pack("{s:i,s:[s]}", "kind", 2, "names", "Prod");
  CHECK(built_path(&f, &req) &&
        strstr(req.body.data, "\"ClusterComputeResource\""));
  CHECK(parse(&f, 200, view) == VG_EPENDING);
  CHECK(parse(&f, 200,
              "{\"objects\":[{\"obj\":{\"value\":\"domain-c7\"},\"propSet\":[{"
              "\"name\":\"name\",\"val\":\"Prod\"}]},{\"obj\":{\"value\":"
              "\"domain-c8\"},\"propSet\":[{\"name\":\"name\",\"val\":"
              "\"Test\"}]}]}") == VG_EPENDING);
  CHECK(parse(&f, 200, "") == VG_OK);
  CHECK(f.res.nobjects == 1 && streq(f.res.objects[0].id, "domain-c7"));
  /* folders: VM folders only, those whose childType holds VirtualMachine
     (as /api's type=VIRTUAL_MACHINE) */
  fl_kind(&f, VGI_OP_INVENTORY);
  json_decref(f.call.args);
  f.call.args = json_pack("{s:i,s:[s,s]}", "kind", 0, "names", "host", "web");
  CHECK(built_path(&f, &req) && strstr(req.body.data, "\"Folder\""));
  CHECK(parse(&f, 200, view) == VG_EPENDING);
  CHECK(built_path(&f, &req) && strstr(req.body.data, "\"childType\""));
  CHECK(
      parse(&f, 200,
            "{\"objects\":[{\"obj\":{\"value\":\"group-h4\"},\"propSet\":["
            "{\"name\":\"name\",\"val\":\"host\"},{\"name\":\"childType\","
            "\"val\":{\"_typeName\":\"ArrayOfString\",\"_value\":[\"Folder\","
            "\"ComputeResource\"]}}]},{\"obj\":{\"value\":\"group-v3\"},"
            "\"propSet\":[{\"name\":\"name\",\"val\":\"web\"},{\"name\":"
            "\"childType\",\"val\":{\"_typeName\":\"ArrayOfString\",\"_value\":"
            "[\"Folder\",\"VirtualMachine\",\"VirtualApp\"]}}]}]}") ==
      VG_EPENDING);
  CHECK(parse(&f, 200, "") == VG_OK);
  CHECK(f.res.nobjects == 1 && streq(f.res.objects[0].id, "group-v3"));
  /* a childType that is not an array of strings is not an answer */
  fl_kind(&f, VGI_OP_INVENTORY);
  CHECK(built_path(&f, &req));
  CHECK(parse(&f, 200, view) == VG_EPENDING);
  CHECK(
      parse(&f, 200,
            "{\"objects\":[{\"obj\":{\"value\":\"group-v3\"},\"propSet\":["
            "{\"name\":\"name\",\"val\":\"web\"},{\"name\":\"childType\","
            "\"val\":{\"_typeName\":\"ArrayOfString\",\"_value\":[7]}}]}]}") ==
      VG_EPROTOCOL);
  /* guest info: one RetrievePropertiesEx on the VM */
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(built_path(&f, &req) && strstr(req.body.data, "runtime.host") &&
        strstr(req.body.data, "guest.guestOperationsReady"));
  CHECK(parse(&f, 200,
              "{\"objects\":[{\"obj\":{\"value\":\"vm-42\"},\"propSet\":["
              "{\"name\":\"guest.toolsRunningStatus\",\"val\":{\"_typeName\":"
              "\"string\",\"_value\":\"guestToolsRunning\"}},"
              "{\"name\":\"guest.guestOperationsReady\",\"val\":{\"_typeName\":"
              "\"boolean\",\"_value\":true}},"
              "{\"name\":\"guest.guestFamily\",\"val\":{\"_typeName\":"
              "\"string\",\"_value\":\"windowsGuest\"}},"
              "{\"name\":\"guest.ipAddress\",\"val\":{\"_typeName\":\"string\","
              "\"_value\":\"10.0.0.7\"}},"
              "{\"name\":\"runtime.host\",\"val\":{\"_typeName\":"
              "\"ManagedObjectReference\",\"type\":\"HostSystem\",\"value\":"
              "\"host-11\"}}]}]}") == VG_OK);
  CHECK(streq(f.res.guest->tools, "running") && f.res.guest->ops_ready &&
        streq(f.res.guest->family, "WINDOWS") &&
        streq(f.res.guest->ip_address, "10.0.0.7") &&
        streq(f.res.guest->host, "host-11") && !f.res.guest->host_name);
  fl_kind(&f, VGI_OP_GUEST_INFO);
  CHECK(parse(&f, 200,
              "{\"objects\":[{\"obj\":{\"value\":\"vm-46\"},\"propSet\":["
              "{\"name\":\"guest.toolsRunningStatus\",\"val\":\""
              "guestToolsNotRunning\"}]}]}") == VG_OK);
  CHECK(streq(f.res.guest->tools, "not_running") && !f.res.guest->ops_ready);
  vgi_request_clear(&req);
  fl_close(&f);
}

int main(void) {
  test_tables();
  test_registry();
  test_errors();
  test_processes();
  test_login();
  test_guest_bodies();
  test_secret_reader();
  test_refused();
  test_listing_ends();
  test_failures();
  test_selection();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
