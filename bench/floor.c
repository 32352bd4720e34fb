/*
 * floor: the least a client can do for a fan-out on /api, the figure vguest
 * is measured against. For every process (PER_VM in every powered-on VM of
 * the inventory): POST …/guest/processes?action=create, then POST
 * …/processes/{pid}?action=get until the answer has an exit_code, polling
 * with vguest's back-off (50 ms, doubling to 1 s). One libcurl multi handle,
 * CONNECTIONS easy handles and as many kept-alive connections, requests
 * handed to them first come first served; no JSON beyond reading the pid
 * and the exit code, no retries, no error mapping.
 *
 *   floor --url URL --ca FILE --inventory FILE [--connections 16]
 *         [--per-vm 1] [--path /bin/true] [--arguments ARGS] [--pairs]
 *
 * Prints one JSON line: wall and CPU seconds from the first create to the
 * last exit code, processes, failures, connections opened, requests sent,
 * and with --pairs, for each process [finished, returned] (the simulator's
 * RFC 3339 end time, and the realtime clock when the exit was seen).
 */
#include "common.h"

#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct task {
  const bench_vm *vm;
  int64_t pid; /* 0 until created */
  double delay, due;
  char *finished;
  double returned;
  int exit_code, failed;
} task;

typedef struct slot {
  CURL *h;
  task *t;
  bench_buf body;
  char url[512];
} slot;

/* due-time min-heap of tasks waiting for their next poll */
typedef struct heap {
  task **v;
  size_t n;
} heap;

static void heap_push(heap *hp, task *t) {
  size_t i = hp->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (hp->v[p]->due <= t->due)
      break;
    hp->v[i] = hp->v[p];
    i = p;
  }
  hp->v[i] = t;
}

static task *heap_pop(heap *hp) {
  task *top = hp->v[0], *last = hp->v[--hp->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= hp->n)
      break;
    if (c + 1 < hp->n && hp->v[c + 1]->due < hp->v[c]->due)
      c++;
    if (last->due <= hp->v[c]->due)
      break;
    hp->v[i] = hp->v[c];
    i = c;
  }
  if (hp->n)
    hp->v[i] = last;
  return top;
}

static const char *arg_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc)
    bench_die("missing value for", argv[*i]);
  return argv[++*i];
}

int main(int argc, char **argv) {
  const char *url = NULL, *ca = NULL, *inv_file = NULL;
  const char *path = "/bin/true", *arguments = NULL;
  long nconn = 16, per_vm = 1;
  int pairs = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--url") == 0)
      url = arg_value(argc, argv, &i);
    else if (strcmp(argv[i], "--ca") == 0)
      ca = arg_value(argc, argv, &i);
    else if (strcmp(argv[i], "--inventory") == 0)
      inv_file = arg_value(argc, argv, &i);
    else if (strcmp(argv[i], "--connections") == 0)
      nconn = strtol(arg_value(argc, argv, &i), NULL, 10);
    else if (strcmp(argv[i], "--per-vm") == 0)
      per_vm = strtol(arg_value(argc, argv, &i), NULL, 10);
    else if (strcmp(argv[i], "--path") == 0)
      path = arg_value(argc, argv, &i);
    else if (strcmp(argv[i], "--arguments") == 0)
      arguments = arg_value(argc, argv, &i);
    else if (strcmp(argv[i], "--pairs") == 0)
      pairs = 1;
    else
      bench_die("unknown argument", argv[i]);
  }
  if (!url || !ca || !inv_file || nconn < 1 || per_vm < 1)
    bench_die("usage: floor --url URL --ca FILE --inventory FILE "
              "[--connections N] [--per-vm N] [--path P] [--arguments A] "
              "[--pairs]",
              NULL);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  bench_inventory inv;
  if (bench_inventory_load(&inv, inv_file, path, arguments) != 0)
    return 1;
  char *token = bench_login(url, ca, &inv);
  if (!token)
    return 1;
  struct curl_slist *hdrs = bench_headers(token);

  size_t n = inv.nvms * (size_t)per_vm;
  task *tasks = calloc(n, sizeof *tasks);
  task **ready = calloc(n, sizeof *ready); /* FIFO of tasks to send */
  heap timers = {calloc(n, sizeof(task *)), 0};
  slot *slots = calloc((size_t)nconn, sizeof *slots);
  slot **idle = calloc((size_t)nconn, sizeof *idle);
  if (!tasks || !ready || !timers.v || !slots || !idle)
    bench_die("out of memory", NULL);
  size_t rhead = 0, rtail = 0, nready = 0;
  for (size_t i = 0; i < n; i++) {
    tasks[i].vm = &inv.vms[i / (size_t)per_vm];
    ready[rtail++] = &tasks[i];
    nready++;
  }
  rtail %= n;

  CURLM *m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, nconn);
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, nconn);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, nconn);
  size_t nidle = 0;
  for (long k = 0; k < nconn; k++) {
    slot *sl = &slots[k];
    sl->h = bench_easy(ca, &sl->body);
    curl_easy_setopt(sl->h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(sl->h, CURLOPT_PRIVATE, sl);
    idle[nidle++] = sl;
  }

  long connects = 0, requests = 0, reported = 0;
  size_t left = n;
  double t0 = bench_monotonic(), c0 = bench_cpu();
  while (left) {
    double now = bench_monotonic();
    while (timers.n && timers.v[0]->due <= now) {
      ready[rtail] = heap_pop(&timers);
      rtail = (rtail + 1) % n;
      nready++;
    }
    while (nidle && nready) {
      slot *sl = idle[--nidle];
      task *t = ready[rhead];
      rhead = (rhead + 1) % n;
      nready--;
      sl->t = t;
      sl->body.len = 0;
      if (t->pid)
        snprintf(sl->url, sizeof sl->url,
                 "%s/api/vcenter/vm/%s/guest/processes/%lld?action=get", url,
                 t->vm->id, (long long)t->pid);
      else
        snprintf(sl->url, sizeof sl->url,
                 "%s/api/vcenter/vm/%s/guest/processes?action=create", url,
                 t->vm->id);
      curl_easy_setopt(sl->h, CURLOPT_URL, sl->url);
      curl_easy_setopt(sl->h, CURLOPT_POSTFIELDS,
                       t->pid ? t->vm->cred_body : t->vm->create_body);
      curl_multi_add_handle(m, sl->h);
      requests++;
    }
    long wait_ms = 1000;
    if (timers.n) {
      double d = (timers.v[0]->due - now) * 1000.0;
      wait_ms = d < 0 ? 0 : d > 1000 ? 1000 : (long)d + 1;
    }
    curl_multi_poll(m, NULL, 0, (int)wait_ms, NULL);
    int running;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int q;
    while ((msg = curl_multi_info_read(m, &q))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      slot *sl;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
      task *t = sl->t;
      long status = 0, nc = 0;
      curl_easy_getinfo(sl->h, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(sl->h, CURLINFO_NUM_CONNECTS, &nc);
      connects += nc;
      CURLcode rc = msg->data.result;
      curl_multi_remove_handle(m, sl->h);
      idle[nidle++] = sl;
      json_t *v = NULL;
      if (rc == CURLE_OK && sl->body.data)
        v = json_loadb(sl->body.data, sl->body.len, JSON_DECODE_ANY, NULL);
      now = bench_monotonic();
      if (!t->pid && status == 201 && json_is_integer(v)) {
        t->pid = json_integer_value(v);
        t->delay = 0.05;
      } else if (t->pid && status == 200 && json_is_object(v)) {
        json_t *ec = json_object_get(v, "exit_code");
        if (json_is_integer(ec)) {
          t->returned = bench_realtime();
          t->exit_code = (int)json_integer_value(ec);
          const char *fin = json_string_value(json_object_get(v, "finished"));
          if (fin) {
            t->finished = strdup(fin);
          }
          left--;
          t = NULL;
        }
      } else {
        t->failed = 1;
        if (reported++ == 0)
          fprintf(stderr, "bench: floor: %s on %s: %s, HTTP %ld\n",
                  t->pid ? "get" : "create", t->vm->id, curl_easy_strerror(rc),
                  status);
        left--;
        t = NULL;
      }
      json_decref(v);
      if (t) {
        t->due = now + t->delay;
        t->delay = t->delay * 2 > 1.0 ? 1.0 : t->delay * 2;
        heap_push(&timers, t);
      }
    }
  }
  double wall = bench_monotonic() - t0, cpu = bench_cpu() - c0;

  size_t failed = 0, nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    failed += tasks[i].failed != 0;
    nonzero += !tasks[i].failed && tasks[i].exit_code != 0;
  }
  printf("{\"wall\":%.6f,\"cpu\":%.6f,\"n\":%zu,\"failed\":%zu,"
         "\"nonzero\":%zu,\"connections\":%ld,\"connects\":%ld,"
         "\"requests\":%ld",
         wall, cpu, n, failed, nonzero, nconn, connects, requests);
  if (pairs) {
    printf(",\"pairs\":[");
    int first = 1;
    for (size_t i = 0; i < n; i++) {
      if (tasks[i].failed || !tasks[i].finished)
        continue;
      printf("%s[\"%s\",%.6f]", first ? "" : ",", tasks[i].finished,
             tasks[i].returned);
      first = 0;
    }
    printf("]");
  }
  printf("}\n");

  for (long k = 0; k < nconn; k++) {
    curl_easy_cleanup(slots[k].h);
    bench_buf_free(&slots[k].body);
  }
  curl_multi_cleanup(m);
  for (size_t i = 0; i < n; i++)
    free(tasks[i].finished);
  free(tasks);
  free(ready);
  free(timers.v);
  free(slots);
  free(idle);
  curl_slist_free_all(hdrs);
  free(token);
  bench_inventory_free(&inv);
  curl_global_cleanup();
  return 0;
}
