/*
 * libFuzzer target: every answer parser of the three flavours fed with
 * arbitrary server answers. The first bytes choose the flavour, the op, the
 * step and the HTTP status; the rest is the body. Under ASan/UBSan any
 * crash, leak or undefined behaviour is a finding.
 *
 *   cmake -S . -B build-fuzz -DVGUEST_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 *   cmake --build build-fuzz --target fuzz_answers
 *   build-fuzz/spec/fuzz/fuzz_answers -max_total_time=60 spec/fuzz/corpus
 */
#include "internal.h"

#include <stdint.h>
#include <string.h>

static vg_runtime *rt;
static vg_session *sessions[3];
static vg_credentials *cred;

static void setup(void) {
  vg_runtime_new(NULL, &rt);
  vg_secret *pw;
  vg_secret_new("pw", 2, &pw);
  static const vg_protocol protos[3] = {VG_PROTOCOL_API, VG_PROTOCOL_REST,
                                        VG_PROTOCOL_VIM25};
  for (int i = 0; i < 3; i++) {
    vg_session_options o = {0};
    o.server = "https://vc.invalid";
    o.user = "u";
    o.password = pw;
    o.protocol = protos[i];
    vg_session_new(rt, &o, &sessions[i], NULL);
    /* what a vim25 login leaves behind, so VM lookup steps can build */
    sessions[i]->vim_property_collector = strdup("propertyCollector");
  }
  vg_credentials_options co = {"root", pw, NULL, 0};
  vg_credentials_new(&co, &cred, NULL);
  vg_secret_free(pw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long statuses[] = {200, 201, 204, 400, 401,
                                  403, 404, 500, 503, 504};
  static const vgi_op_kind kinds[] = {VGI_OP_LOGIN, VGI_OP_VMS,   VGI_OP_CREATE,
                                      VGI_OP_GET,   VGI_OP_LIST,  VGI_OP_DELETE,
                                      VGI_OP_ENV,   VGI_OP_LOGOUT};
  if (!rt)
    setup();
  if (size < 3)
    return 0;
  vg_session *s = sessions[data[0] % 3];
  vgi_op_kind kind = kinds[data[1] % (sizeof kinds / sizeof *kinds)];
  long status = statuses[(data[2] & 15) % 10];
  int step = data[2] >> 4 & 3;
  vgi_response r;
  memset(&r, 0, sizeof r);
  char *body = strndup((const char *)data + 3, size - 3); /* NUL-terminated */
  r.status = status;
  r.body = body;
  r.len = strlen(body);
  r.token = (data[2] & 64) ? "token" : NULL;

  vg_op *op = vgi_op_new(rt, s, kind, NULL, NULL);
  op->vm = strdup("vm-42");
  op->pid = 42;
  op->step = step;
  if (kind != VGI_OP_LOGIN && kind != VGI_OP_VMS && kind != VGI_OP_LOGOUT)
    vgi_credentials_dup(cred, &op->cred);
  op->args = json_pack("{s:[s],s:[],s:[I],s:s}", "names", "web-01", "ids",
                       "pids", (json_int_t)42, "path", "/bin/true");
  if (kind == VGI_OP_VMS && step > 0)
    op->scratch = json_pack("{s:s,s:[],s:n}", "view", "v", "vms", "token");
  if (status < 300) {
    s->proto->parse(op, &r);
  } else {
    s->proto->error(op, &r);
    s->proto->session_rejected(op, &r);
    s->proto->not_served(op, &r);
  }
  vg_op_free(op);
  free(body);
  return 0;
}
