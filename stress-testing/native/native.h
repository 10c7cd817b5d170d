/* What the benchmark's C helpers share: a monotonic clock in ns, and dying on a failed call. */
#ifndef STRESS_NATIVE_H
#define STRESS_NATIVE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void die(const char *msg) {
  perror(msg);
  exit(2);
}
#endif
