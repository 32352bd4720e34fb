#include "malform.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The same value with every JSON type changed: numbers become strings,
 * strings become numbers, arrays and literals become a string, and objects
 * keep their members (and _typeName as it is) with each value changed the
 * same way. Returns-owned. */
static json_t *wrong_type(json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    json_t *o = json_object(), *m;
    const char *k;
    json_object_foreach(v, k, m) json_object_set_new(
        o, k, strcmp(k, "_typeName") == 0 ? json_incref(m) : wrong_type(m));
    return o;
  }
  case JSON_STRING:
    return json_integer(42);
  case JSON_INTEGER:
  case JSON_REAL: {
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    json_t *s = json_string(text);
    free(text);
    return s;
  }
  default:
    return json_string("oops");
  }
}

/* The same value with every integer, at any depth, replaced by 1e30, a
 * number no int64 holds (and not an integer). Returns-owned. */
static json_t *huge_number(json_t *v) {
  json_t *out, *m;
  const char *k;
  size_t i;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    out = json_object();
    json_object_foreach(v, k, m) json_object_set_new(out, k, huge_number(m));
    return out;
  case JSON_ARRAY:
    out = json_array();
    json_array_foreach(v, i, m) json_array_append_new(out, huge_number(m));
    return out;
  case JSON_INTEGER:
    return json_real(1e30);
  default:
    return json_incref(v);
  }
}

static void set_body(struct reply *rp, const char *text) {
  free(rp->body);
  rp->body = xstrdup(text);
  rp->len = strlen(text);
  if (rp->status == 204) /* a 204 carries no body */
    rp->status = 200;
}

void malform_reply(struct sim *sim, struct reply *rp) {
  if (!rp->has_op || rp->drop || rp->status < 200 || rp->status > 299)
    return;
  enum malform how = state_take_malform(sim, rp->op);
  if (how == MAL_NONE)
    return;
  /* a garbled login answer carries no token anywhere else either */
  free(rp->session_header);
  free(rp->set_cookie);
  rp->session_header = rp->set_cookie = NULL;
  switch (how) {
  case MAL_NOT_JSON:
    set_body(rp, "<html>oops</html>");
    rp->content_type = "text/html";
    break;
  case MAL_EMPTY:
    free(rp->body);
    rp->body = NULL;
    rp->len = 0;
    break;
  case MAL_TRUNCATED:
    if (rp->len == 0)
      set_body(rp, "{}");
    rp->truncated = true;
    break;
  case MAL_WRONG_TYPE:
  case MAL_HUGE_NUMBER: {
    json_t *v =
        json_loadb(rp->body ? rp->body : "", rp->len, JSON_DECODE_ANY, NULL);
    if (v) { /* an answer without a body is left alone */
      json_t *g = how == MAL_WRONG_TYPE ? wrong_type(v) : huge_number(v);
      char *text = json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY);
      set_body(rp, text);
      free(text);
      json_decref(g);
      json_decref(v);
    }
    break;
  }
  case MAL_NONE:
    break;
  }
}
