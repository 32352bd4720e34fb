#include "http.h"
void vim25_handle(struct sim *sim, struct request *r, const char *path,
                  struct reply *rp) {
  (void)sim;
  (void)r;
  (void)path;
  reply_text(rp, 404, "Not Found");
}
