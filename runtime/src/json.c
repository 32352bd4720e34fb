/* JSON helpers: answers through jansson, secrets around it. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

const char *vgi_json_str(const json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *vgi_json_string_array(const char *const *v) {
  json_t *a = json_array();
  for (; a && v && *v; v++)
    if (json_array_append_new(a, json_string(*v))) {
      json_decref(a);
      return NULL;
    }
  return a;
}

json_t *vgi_json_parse_answer(const char *body, size_t len, long status,
                              const char *what, vgi_error *err) {
  json_error_t e;
  json_t *j = json_loadb(body ? body : "", len, JSON_DECODE_ANY, &e);
  if (!j)
    vgi_error_set(err, VG_EPROTOCOL,
                  "HTTP %ld answer to %s is not JSON (%zu bytes: %s)", status,
                  what, len, e.text);
  return j;
}

int vgi_buf_add_json(vgi_buf *b, const json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!s)
    return -1;
  int rc = vgi_buf_adds(b, s);
  free(s);
  return rc;
}

int vgi_buf_add_json_string(vgi_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (vgi_buf_add(b, "\"", 1))
    return -1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char e[6] = {'\\', 0, 0, 0, 0, 0};
    size_t n = 2;
    switch (c) {
    case '"':
      e[1] = '"';
      break;
    case '\\':
      e[1] = '\\';
      break;
    case '\n':
      e[1] = 'n';
      break;
    case '\r':
      e[1] = 'r';
      break;
    case '\t':
      e[1] = 't';
      break;
    case '\b':
      e[1] = 'b';
      break;
    case '\f':
      e[1] = 'f';
      break;
    default:
      if (c < 0x20) {
        memcpy(e + 1, "u00", 3);
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        n = 6;
      } else {
        e[0] = (char)c;
        n = 1;
      }
    }
    if (vgi_buf_add(b, e, n))
      return -1;
  }
  return vgi_buf_add(b, "\"", 1);
}

int vgi_buf_add_json_members(vgi_buf *b, const json_t *obj) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v) {
    if (vgi_buf_add(b, ",", 1) || vgi_buf_add_json_string(b, k, strlen(k)) ||
        vgi_buf_add(b, ":", 1) || vgi_buf_add_json(b, v))
      return -1;
  }
  return 0;
}

int vgi_buf_add_json_member(vgi_buf *b, const char *key, const char *s,
                            size_t len) {
  return vgi_buf_add_json_string(b, key, strlen(key)) ||
                 vgi_buf_add(b, ":", 1) || vgi_buf_add_json_string(b, s, len)
             ? -1
             : 0;
}

/* ---- a small strict reader, for the one string that is a secret ------ */

typedef struct reader {
  const char *p, *end;
  int depth;
} reader;

static void ws(reader *r) {
  while (r->p < r->end &&
         (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int hex4(reader *r, unsigned *out) {
  unsigned v = 0;
  if (r->end - r->p < 4)
    return -1;
  for (int i = 0; i < 4; i++) {
    char c = *r->p++;
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

static int put_utf8(vgi_buf *out, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xc0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xe0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    u[0] = (char)(0xf0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  int rc = vgi_buf_add(out, u, n);
  vgi_zero(u, sizeof u);
  return rc;
}

/* A string at r->p; decoded into out when out is not NULL. */
static int string(reader *r, vgi_buf *out) {
  if (r->p >= r->end || *r->p != '"')
    return -1;
  r->p++;
  while (r->p < r->end) {
    unsigned char c = (unsigned char)*r->p++;
    if (c == '"')
      return 0;
    if (c < 0x20)
      return -1;
    if (c != '\\') {
      if (out && vgi_buf_add(out, &c, 1))
        return -1;
      continue;
    }
    if (r->p >= r->end)
      return -1;
    char e = *r->p++;
    unsigned cp;
    switch (e) {
    case '"':
    case '\\':
    case '/':
      cp = (unsigned char)e;
      break;
    case 'b':
      cp = '\b';
      break;
    case 'f':
      cp = '\f';
      break;
    case 'n':
      cp = '\n';
      break;
    case 'r':
      cp = '\r';
      break;
    case 't':
      cp = '\t';
      break;
    case 'u':
      if (hex4(r, &cp))
        return -1;
      if (cp >= 0xd800 && cp < 0xdc00) {
        unsigned lo;
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
          return -1;
        r->p += 2;
        if (hex4(r, &lo) || lo < 0xdc00 || lo > 0xdfff)
          return -1;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      } else if (cp >= 0xdc00 && cp < 0xe000) {
        return -1;
      }
      break;
    default:
      return -1;
    }
    if (out && put_utf8(out, cp))
      return -1;
  }
  return -1;
}

static int literal(reader *r, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
    return -1;
  r->p += n;
  return 0;
}

static int digits(reader *r) {
  const char *s = r->p;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
    r->p++;
  return r->p > s ? 0 : -1;
}

static int number(reader *r) {
  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p < r->end && *r->p == '0')
    r->p++;
  else if (digits(r))
    return -1;
  if (r->p < r->end && *r->p == '.') {
    r->p++;
    if (digits(r))
      return -1;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
      r->p++;
    if (digits(r))
      return -1;
  }
  return 0;
}

static int value(reader *r);

/* An object or array at r->p; for an object with member wanted, the
   member's string value is decoded into out (found set). */
static int container(reader *r, const char *member, vgi_buf *out, int *found) {
  char close = *r->p == '{' ? '}' : ']';
  int object = close == '}';
  if (++r->depth > 64)
    return -1;
  r->p++;
  ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    r->depth--;
    return 0;
  }
  for (;;) {
    int want = 0;
    ws(r);
    if (object) {
      vgi_buf key = {0};
      if (string(r, &key)) {
        vgi_buf_zfree(&key);
        return -1;
      }
      want = member && key.data && strcmp(key.data, member) == 0 &&
             strlen(member) == key.len;
      vgi_buf_zfree(&key);
      ws(r);
      if (r->p >= r->end || *r->p++ != ':')
        return -1;
      ws(r);
    }
    if (want && r->p < r->end && *r->p == '"' && !*found) {
      if (string(r, out))
        return -1;
      *found = 1;
    } else if (value(r)) {
      return -1;
    }
    ws(r);
    if (r->p >= r->end)
      return -1;
    char c = *r->p++;
    if (c == close)
      break;
    if (c != ',')
      return -1;
  }
  r->depth--;
  return 0;
}

static int value(reader *r) {
  if (r->p >= r->end)
    return -1;
  switch (*r->p) {
  case '"':
    return string(r, NULL);
  case '{':
  case '[': {
    int found = 0;
    return container(r, NULL, NULL, &found);
  }
  case 't':
    return literal(r, "true");
  case 'f':
    return literal(r, "false");
  case 'n':
    return literal(r, "null");
  default:
    return number(r);
  }
}

int vgi_json_secret_string(const char *text, size_t len, const char *member,
                           vgi_buf *out) {
  reader r = {text, text + len, 0};
  int found = 0, rc;
  ws(&r);
  if (!member) {
    rc = string(&r, out);
    found = rc == 0;
  } else if (r.p < r.end && *r.p == '{') {
    rc = container(&r, member, out, &found);
  } else {
    rc = -1;
  }
  ws(&r);
  if (rc || !found || r.p != r.end) {
    vgi_buf_zfree(out);
    return -1;
  }
  return 0;
}
