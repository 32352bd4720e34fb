/* Test helper: starts vguest-sim on a free loopback port and stops it. */
#ifndef VG_TEST_SIM_UTIL_H
#define VG_TEST_SIM_UTIL_H

#include <sys/types.h>

typedef struct test_sim {
  pid_t pid;
  char url[256];
  char ca_file[512];
  char transfer_cert_file[512]; /* the transfer listener's certificate */
} test_sim;

/* extra: extra command line words (NULL-terminated) or NULL. 0 on success. */
int test_sim_start(test_sim *s, const char *const *extra);
void test_sim_stop(test_sim *s);
/* Guest credentials of user root with that password (the simulator's
   default inventory: "guest-secret"); NULL on failure. Free with
   vg_credentials_free. */
struct vg_credentials;
struct vg_credentials *test_guest_credentials(const char *password);

/* POST body to url/path with curl's CLI (control endpoints). 0 on success. */
int test_sim_control(const test_sim *s, const char *path, const char *body);

#endif
