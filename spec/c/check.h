/* The C tests' one assertion: counts, and reports a failed condition with
   its place; main prints "N passed, N failed" (the line ctest logs). */
#ifndef VG_TEST_CHECK_H
#define VG_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond)                                                                  \
      passed++;                                                                \
    else {                                                                     \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#endif
