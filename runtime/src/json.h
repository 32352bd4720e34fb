/* JSON for the runtime: reading answers with jansson, and writing request
   bodies into zeroing buffers. No secret is ever put in a json_t: jansson
   frees its memory without wiping it, so bodies that carry a password are
   assembled here with vgi_buf_add_json_string, and a token in an answer is
   read with vgi_json_secret_string, both outside jansson. */
#ifndef VGUEST_JSON_H
#define VGUEST_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* o[key] when it is a string, else NULL. */
const char *vgi_json_str(const json_t *o, const char *key);

/* A JSON array of the strings of a NULL-terminated array (NULL: empty);
   NULL on no memory. */
json_t *vgi_json_string_array(const char *const *v);

/* Parses an answer body (any JSON value). On failure sets err (protocol:
   "HTTP <status> answer to <what> is not JSON ...") and returns NULL. */
json_t *vgi_json_parse_answer(const char *body, size_t len, long status,
                              const char *what, vgi_error *err);

/* Appends v serialized compactly (v holds no secret). 0 ok, -1 nomem. */
int vgi_buf_add_json(vgi_buf *b, const json_t *v);
/* Appends s (len bytes of UTF-8) as a quoted, escaped JSON string. */
int vgi_buf_add_json_string(vgi_buf *b, const char *s, size_t len);

/* Appends ,"key":value for each member of obj (an object of non-secret
   values), to continue an object being written by hand. */
int vgi_buf_add_json_members(vgi_buf *b, const json_t *obj);
/* Appends "key":"s" (s escaped; may be a secret). */
int vgi_buf_add_json_member(vgi_buf *b, const char *key, const char *s,
                            size_t len);

/* Reads a string out of a JSON text without jansson, decoded into out (a
   zeroing buffer): the whole text when member is NULL ("\"tok\""), else the
   member of the top-level object ({"value":"tok"}). The text must be one
   well-formed JSON value. 0 found, -1 not there or not JSON. */
int vgi_json_secret_string(const char *text, size_t len, const char *member,
                           vgi_buf *out);

#endif
