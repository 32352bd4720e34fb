/*
 * libFuzzer target: whole server answers — status line, headers, body,
 * NUL bytes, oversized headers, truncation — through the real HTTP layer
 * (libcurl and http.c over a loopback socket) and the session, the
 * protocol parsers, and into the Lua conversion of vguest.core
 * (l_op.c, where issue 8's use-after-free lived), in a lua_State running
 * the module as a playbook would.
 *
 * A server thread in this process listens on 127.0.0.1 (an ephemeral
 * port) and answers each request with the next of the input's answers,
 * written as given, then closes the connection: a truncated answer is
 * truncated on the wire. Only what a session needs before the call under
 * test (logging in, vim25's service content and managers, logging out) is
 * answered from canned, valid answers, unless the input fuzzes the login
 * itself.
 *
 * Input: byte 0 chooses the flavour (api, rest, vim25), byte 1 the call
 * (for the logout and the login, the driver has the session's own
 * requests answered from the input too: fuzz_session); the rest is one or
 * more
 * raw answers separated by SEP ("\0\xffNEXT\xff\0"), the k-th request
 * getting the k-th answer (the last one repeats). The Lua driver
 * starts the call on a session kept across inputs, runs the loop until
 * it completes, and checks the shape of what came back: a result of the
 * call's type, or an error table whose kind is in the documented list.
 * A failed check aborts (a finding), as do ASan, UBSan and leaks. The
 * driver is fuzz_exchange.lua (its path compiled in).
 *
 *   scripts/fuzz SECONDS   (both targets; see spec/README.md)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "l_core.h"

#define SEP "\0\xffNEXT\xff\0"
#define SEPLEN 8
#define MAX_ANSWERS 8
#define MAX_REQUEST (1 << 20)

/* ---- the server -------------------------------------------------------- */

static struct {
  pthread_mutex_t mu;
  int fd;
  int port;
  unsigned char *data; /* the input's answers (one copy) */
  const unsigned char *answer[MAX_ANSWERS];
  size_t len[MAX_ANSWERS];
  int n;         /* answers */
  int next;      /* answers given so far in this input */
  int fuzzlogin; /* the session's own requests get the input's answers */
  int log;       /* FUZZ_EXCHANGE_LOG set: print each request */
} srv = {PTHREAD_MUTEX_INITIALIZER, -1, 0, NULL, {0}, {0}, 0, 0, 0, 0};

static const char api_token[] =
    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
    "Connection: close\r\nContent-Length: 7\r\n\r\n\"tok42\"";
static const char rest_token[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    "Connection: close\r\nContent-Length: 17\r\n\r\n{\"value\":\"tok42\"}";
static const char empty_ok[] =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
static const char vim_login_body[] =
    "{\"_typeName\":\"UserSession\",\"key\":\"k\",\"userName\":\"u\"}";
static const char vim_content_body[] =
    "{\"_typeName\":\"ServiceContent\",\"about\":{\"_typeName\":\"AboutInfo\","
    "\"apiVersion\":\"8.0.2.0\",\"version\":\"8.0.2\"},"
    "\"rootFolder\":{\"type\":\"Folder\",\"value\":\"group-d1\"},"
    "\"propertyCollector\":{\"type\":\"PropertyCollector\","
    "\"value\":\"propertyCollector\"},"
    "\"viewManager\":{\"type\":\"ViewManager\",\"value\":\"ViewManager\"},"
    "\"sessionManager\":{\"type\":\"SessionManager\","
    "\"value\":\"SessionManager\"},"
    "\"guestOperationsManager\":{\"type\":\"GuestOperationsManager\","
    "\"value\":\"guestOperationsManager\"}}";
static const char vim_pm_body[] =
    "{\"_typeName\":\"ManagedObjectReference\",\"type\":"
    "\"GuestProcessManager\",\"value\":\"guestOperationsProcessManager\"}";
static const char vim_fm_body[] =
    "{\"_typeName\":\"ManagedObjectReference\",\"type\":"
    "\"GuestFileManager\",\"value\":\"guestOperationsFileManager\"}";

static int send_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A 200 with a JSON body and an optional extra header line. */
static void send_json(int fd, const char *extra, const char *body) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "%s%sConnection: close\r\nContent-Length: %zu\r\n\r\n",
                   extra ? extra : "", extra ? "\r\n" : "", strlen(body));
  if (send_all(fd, head, (size_t)n) == 0)
    send_all(fd, body, strlen(body));
}

/* The canned answer of a request a session makes on its own, or NULL
   (the request under test). */
static int canned(int fd, const char *method, const char *path) {
  int post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
  if (strcmp(path, "/api/session") == 0 && (post || del)) {
    send_all(fd, post ? api_token : empty_ok,
             post ? sizeof api_token - 1 : sizeof empty_ok - 1);
    return 1;
  }
  if (strcmp(path, "/rest/com/vmware/cis/session") == 0 && (post || del)) {
    send_all(fd, post ? rest_token : empty_ok,
             post ? sizeof rest_token - 1 : sizeof empty_ok - 1);
    return 1;
  }
  if (strncmp(path, "/sdk/vim25/", 11) != 0)
    return 0;
  if (strstr(path, "/ServiceInstance/ServiceInstance/content"))
    send_json(fd, NULL, vim_content_body);
  else if (strstr(path, "/SessionManager/SessionManager/Login"))
    send_json(fd, "vmware-api-session-id: tok42", vim_login_body);
  else if (strstr(path, "/SessionManager/SessionManager/Logout"))
    send_all(fd, empty_ok, sizeof empty_ok - 1);
  else if (strstr(path, "/guestOperationsManager/processManager"))
    send_json(fd, NULL, vim_pm_body);
  else if (strstr(path, "/guestOperationsManager/fileManager"))
    send_json(fd, NULL, vim_fm_body);
  else
    return 0;
  return 1;
}

/* The session's own requests: logging in and out. */
static int is_session(const char *path) {
  return strcmp(path, "/api/session") == 0 ||
         strcmp(path, "/rest/com/vmware/cis/session") == 0 ||
         strstr(path, "/SessionManager/SessionManager/Logout") != NULL ||
         strstr(path, "/ServiceInstance/ServiceInstance/content") != NULL ||
         strstr(path, "/SessionManager/SessionManager/Login") != NULL ||
         strstr(path, "/guestOperationsManager/processManager") != NULL;
}

/* Reads one request (head, and a body of Content-Length bytes) so that
   closing the socket afterwards sends no reset; answers it. */
static void handle(int fd) {
  static char req[MAX_REQUEST + 1];
  size_t have = 0, need = 0;
  char *end = NULL, method[16], path[2048];
  int fuzzlogin;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (have < MAX_REQUEST) {
    ssize_t r = recv(fd, req + have, MAX_REQUEST - have, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return;
    have += (size_t)r;
    req[have] = '\0';
    if (end == NULL && (end = strstr(req, "\r\n\r\n")) != NULL) {
      const char *cl = strcasestr(req, "\r\nContent-Length:");
      need = (size_t)(end + 4 - req);
      if (cl != NULL && cl < end)
        need += strtoul(cl + 17, NULL, 10);
    }
    if (end != NULL && have >= need)
      break;
  }
  if (end == NULL || sscanf(req, "%15s %2047s", method, path) != 2)
    return;
  if (srv.log) /* FUZZ_EXCHANGE_LOG=1: the requests, to make seeds with */
    fprintf(stderr, "request: %s %s %.*s\n", method, path,
            (int)(have - (size_t)(end + 4 - req)), end + 4);
  pthread_mutex_lock(&srv.mu);
  fuzzlogin = srv.fuzzlogin;
  pthread_mutex_unlock(&srv.mu);
  if (!(fuzzlogin && is_session(path)) && canned(fd, method, path))
    return;
  pthread_mutex_lock(&srv.mu);
  if (srv.n > 0) {
    int k = srv.next < srv.n ? srv.next : srv.n - 1;
    srv.next++;
    send_all(fd, srv.answer[k], srv.len[k]);
  }
  pthread_mutex_unlock(&srv.mu);
}

static void *serve(void *arg) {
  (void)arg;
  for (;;) {
    int fd = accept(srv.fd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return NULL;
    }
    handle(fd);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
}

static void start_server(void) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  pthread_t t;
  int on = 1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */
  srv.fd = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(srv.fd, 64) != 0 ||
      getsockname(srv.fd, (struct sockaddr *)&a, &alen) != 0) {
    perror("fuzz_exchange: server");
    abort();
  }
  srv.port = ntohs(a.sin_port);
  srv.log = getenv("FUZZ_EXCHANGE_LOG") != NULL;
  if (pthread_create(&t, NULL, serve, NULL) != 0)
    abort();
  pthread_detach(t);
}

/* fuzz_session(on): from now on the session's own requests (logging in
   and out) get the input's answers too (on), or canned ones. */
static int fuzz_session(lua_State *L) {
  pthread_mutex_lock(&srv.mu);
  srv.fuzzlogin = lua_toboolean(L, 1);
  pthread_mutex_unlock(&srv.mu);
  return 0;
}

/* Splits the input's answers at SEP. */
static void set_answers(const uint8_t *data, size_t size) {
  unsigned char *p;
  size_t off = 0;
  pthread_mutex_lock(&srv.mu);
  free(srv.data);
  srv.data = malloc(size ? size : 1);
  if (srv.data == NULL)
    abort();
  if (size > 0)
    memcpy(srv.data, data, size);
  p = srv.data;
  srv.n = 0;
  srv.next = 0;
  srv.fuzzlogin = 0;
  while (srv.n < MAX_ANSWERS) {
    unsigned char *s = srv.n + 1 < MAX_ANSWERS
                           ? memmem(p + off, size - off, SEP, SEPLEN)
                           : NULL;
    srv.answer[srv.n] = p + off;
    srv.len[srv.n] = s != NULL ? (size_t)(s - (p + off)) : size - off;
    srv.n++;
    if (s == NULL)
      break;
    off = (size_t)(s - p) + SEPLEN;
  }
  pthread_mutex_unlock(&srv.mu);
}

/* ---- the Lua driver: fuzz_exchange.lua ------------------------------- */

#ifndef FUZZ_EXCHANGE_LUA
#define FUZZ_EXCHANGE_LUA "fuzz_exchange.lua"
#endif

static lua_State *L;
static int one_ref = LUA_NOREF;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  start_server();
  L = luaL_newstate();
  if (L == NULL)
    abort();
  luaL_openlibs(L);
  luaL_requiref(L, "vguest.core", luaopen_vguest_core, 0);
  lua_pop(L, 1);
  lua_register(L, "fuzz_session", fuzz_session);
  if (luaL_loadfile(L, FUZZ_EXCHANGE_LUA) != LUA_OK) {
    fprintf(stderr, "fuzz_exchange: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_pushinteger(L, srv.port);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_exchange: %s\n", lua_tostring(L, -1));
    abort();
  }
  one_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  set_answers(data + 2, size - 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, one_ref);
  lua_pushinteger(L, data[0]);
  lua_pushinteger(L, data[1]);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_exchange: %s\n", lua_tostring(L, -1));
    abort();
  }
  return 0;
}
