/*
 * libFuzzer target: every answer parser of the three flavours fed with
 * arbitrary server answers, through the pure protocol interface (proto.h).
 * The first bytes choose the flavour, the call, the step and the HTTP
 * status; the rest is the body, passed whole (NUL bytes included). Under
 * ASan/UBSan any crash, leak or undefined behaviour is a finding.
 *
 *   cmake -S . -B build-fuzz -DVGUEST_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 *   cmake --build build-fuzz --target fuzz_answers
 *   cp -r spec/fuzz/corpus /tmp/corpus
 *   build-fuzz/spec/fuzz/fuzz_answers -max_total_time=60 /tmp/corpus
 *   (the first directory gets the new inputs: keep it out of the tree)
 */
#include "json.h"
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static vg_credentials *cred;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long statuses[] = {200, 201, 204, 400, 401,
                                  403, 404, 500, 503, 504};
  static const vgi_op_kind kinds[] = {
      VGI_OP_LOGIN,  VGI_OP_VMS,    VGI_OP_CREATE,     VGI_OP_GET,
      VGI_OP_LIST,   VGI_OP_DELETE, VGI_OP_ENV,        VGI_OP_LOGOUT,
      VGI_OP_FAMILY, VGI_OP_MKTEMP, VGI_OP_STAT,       VGI_OP_LS,
      VGI_OP_MKDIR,  VGI_OP_REMOVE, VGI_OP_FROM_GUEST, VGI_OP_TO_GUEST};
  if (!cred) {
    vg_secret *pw;
    vg_secret_new("pw", 2, &pw);
    vg_credentials_options co = {"root", pw, NULL, 0};
    vg_credentials_new(&co, &cred, NULL);
    vg_secret_free(pw);
  }
  if (size < 3)
    return 0;
  const vgi_proto *p = vgi_protocol_probe(data[0] % vgi_protocol_count());
  vgi_op_kind kind = kinds[data[1] % (sizeof kinds / sizeof *kinds)];
  long status = statuses[(data[2] & 15) % 10];
  size_t len = size - 3;
  char *body = malloc(len + 1); /* the whole body, then a NUL */
  if (!body)
    return 0;
  memcpy(body, data + 3, len);
  body[len] = '\0';
  vgi_answer a = {status, body, len, (data[2] & 64) ? "token" : NULL};

  void *state = p->state_new ? p->state_new(NULL) : NULL;
  vgi_call c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  c.vm = "vm-42";
  c.pid = 42;
  c.step = data[2] >> 4 & 3;
  if (kind != VGI_OP_LOGIN && kind != VGI_OP_VMS && kind != VGI_OP_LOGOUT &&
      kind != VGI_OP_FAMILY)
    c.cred = cred;
  c.args = json_pack("{s:[s],s:[],s:[I],s:s,s:s,s:s,s:I}", "names", "web-01",
                     "ids", "pids", (json_int_t)42, "path", "/tmp/x", "prefix",
                     "p", "suffix", "s", "size", (json_int_t)3);
  /* file calls on vim25 learn the file manager first (step 0) */
  if (kind == VGI_OP_VMS && c.step > 0)
    c.scratch = json_pack("{s:s,s:n}", "view", "v", "token");
  vgi_result res;
  vgi_error err;
  memset(&res, 0, sizeof res);
  memset(&err, 0, sizeof err);
  if (status < 300) {
    p->parse(state, &c, &a, &res, &err);
  } else {
    p->error(state, &c, &a, &err);
    p->session_rejected(state, &c, &a);
    p->not_served(state, &c, &a);
  }
  vgi_buf tok = {0};
  vgi_json_secret_string(body, len, (data[1] & 1) ? "value" : NULL, &tok);
  vgi_buf_zfree(&tok);
  vgi_result_clear(&res);
  vgi_error_clear(&err);
  json_decref(c.args);
  json_decref(c.scratch);
  if (p->state_free)
    p->state_free(state);
  free(body);
  return 0;
}
