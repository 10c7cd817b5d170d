/*
 * What the disk under the benchmark did, in two modes. Written in C so that watching the
 * disk every 2 ms costs the shared cores next to nothing and never pauses for a GC, and so
 * that a flush is timed around the system call alone. Driven by
 * stress-testing/src/disk-probe.ts, which builds it with gcc.
 *
 * usage: disk-probe watch <device> <interval-us>
 *   Reads /sys/class/block/<device>/stat every interval until SIGTERM or SIGINT, then prints one line per
 *   reading: "<t-ns> <ios-completed> <ios-in-flight>" (t: CLOCK_MONOTONIC; completed: the
 *   device's reads, writes, discards and flushes completed since boot).
 *   A stretch of readings with I/O in flight and none completing is the disk stalled.
 *
 * usage: disk-probe flush <file> <rate> <seconds>
 *   What a commit costs on this disk with nothing of ours in the way: writes 8 KiB and
 *   fdatasync()s it, `rate` times a second on a fixed schedule (a WAL writer's pattern: the
 *   page rewritten in place, across a 16 MiB file), and prints one line per flush:
 *   "<start-ns> <end-ns>", start and end of the write and its flush.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "native.h"

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig) {
  (void)sig;
  stopping = 1;
}

typedef struct {
  int64_t t;
  uint64_t completed;
  uint64_t in_flight;
} reading_t;

/* The device's counters from /sys/class/block/<device>/stat (one line: far cheaper for the
 * kernel to produce than all of /proc/diskstats). Fields (kernel docs, iostats): 1 reads
 * completed, 5 writes completed, 9 in flight, 12 discards completed, 16 flushes completed
 * (the last two only on kernels that have them). 0 when read. */
static int read_device(int fd, reading_t *out) {
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = 0;
  uint64_t f[17] = {0};
  char *p = buf;
  int count = 0;
  while (count < 17) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno != 0) break;
    f[count++] = v;
    p = end;
  }
  if (count < 11) return -1;
  out->completed = f[0] + f[4] + (count > 11 ? f[11] : 0) + (count > 15 ? f[15] : 0);
  out->in_flight = f[8];
  return 0;
}

static int watch(const char *device, long interval_us) {
  char path[256];
  snprintf(path, sizeof path, "/sys/class/block/%s/stat", device);
  int fd = open(path, O_RDONLY);
  if (fd < 0) die(path);
  size_t cap = 1 << 16, len = 0;
  reading_t *rs = malloc(cap * sizeof *rs);
  if (rs == NULL) die("malloc");
  struct timespec tick = {interval_us / 1000000, (interval_us % 1000000) * 1000};
  while (!stopping) {
    if (len == cap) {
      cap *= 2;
      rs = realloc(rs, cap * sizeof *rs);
      if (rs == NULL) die("realloc");
    }
    rs[len].t = now_ns();
    if (read_device(fd, &rs[len]) != 0) {
      fprintf(stderr, "disk-probe: unreadable %s\n", path);
      return 2;
    }
    len++;
    nanosleep(&tick, NULL);
  }
  for (size_t i = 0; i < len; i++)
    printf("%lld %llu %llu\n", (long long)rs[i].t, (unsigned long long)rs[i].completed,
           (unsigned long long)rs[i].in_flight);
  return 0;
}

static int flush(const char *path, double rate, double seconds) {
  int fd = open(path, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) die("open");
  static char page[8192];
  memset(page, 'w', sizeof page);
  long total = (long)(rate * seconds);
  int64_t *spans = malloc(2 * (size_t)total * sizeof *spans);
  if (spans == NULL) die("malloc");
  const off_t span = 16 << 20;
  /* The file at its full size first, so that no timed flush also commits its growth. */
  for (off_t o = 0; o < span; o += sizeof page)
    if (pwrite(fd, page, sizeof page, o) != sizeof page) die("pwrite");
  if (fsync(fd) != 0) die("fsync");
  int64_t start = now_ns();
  long done = 0;
  for (long i = 0; i < total && !stopping; i++) {
    int64_t due = start + (int64_t)(i * 1e9 / rate);
    int64_t t = now_ns();
    if (t < due) {
      struct timespec d = {(due - t) / 1000000000LL, (due - t) % 1000000000LL};
      nanosleep(&d, NULL);
    }
    int64_t s = now_ns();
    if (pwrite(fd, page, sizeof page, (off_t)(i * (long)sizeof page) % span) != sizeof page) die("pwrite");
    if (fdatasync(fd) != 0) die("fdatasync");
    spans[2 * done] = s;
    spans[2 * done + 1] = now_ns();
    done++;
  }
  for (long i = 0; i < done; i++) printf("%lld %lld\n", (long long)spans[2 * i], (long long)spans[2 * i + 1]);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (argc == 4 && strcmp(argv[1], "watch") == 0) return watch(argv[2], atol(argv[3]));
  if (argc == 5 && strcmp(argv[1], "flush") == 0) return flush(argv[2], atof(argv[3]), atof(argv[4]));
  fprintf(stderr, "usage: disk-probe watch <device> <interval-us> | flush <file> <rate> <seconds>\n");
  return 2;
}
