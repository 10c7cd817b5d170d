/*
 * An open-loop HTTP/1.1 load generator, after wrk2: request i is due at start + i/rate and
 * its latency is measured from that due time, whatever the server did to earlier requests
 * (no coordinated omission). Written in C because Node's own http client costs ~180 us of
 * CPU per request on this machine, on the same 2 cores as the server it measures; this
 * costs a few. Driven by stress-testing/src/native-open-loop.ts, which builds it with gcc.
 *
 * usage: open-loop <host-ipv4> <port> <rate> <duration-sec> <max-conns> <requests-file>
 *   requests-file ("-": stdin): records "<byte-length>\n<raw HTTP/1.1 request bytes>",
 *   used in turn.
 * stdout: one line per answer "<status> <latency-us> <due-us> <send-lag-us>" (status 0:
 *   connection error; due: when it was due, from the start; send lag: how long after its due
 *   time the request went out),
 *   then "done <sent> <elapsed-us> <own-cpu-us>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "native.h"

#define RBUF 65536

typedef struct {
  int fd;
  int busy;
  int64_t due_ns;
  int64_t sent_ns; /* when its request actually went out: due_ns + the generator's own lag */
  size_t rlen;
  char rbuf[RBUF];
} conn_t;

typedef struct {
  const char *bytes;
  size_t len;
} req_t;

static struct sockaddr_in addr;
static int epfd;
/* Every answer, in completion order: its status, when it was due, its latency, and how
   late the generator sent it (a stall of the generator's own, or every connection busy). */
static int *status;
static int64_t *due_at, *lat, *lag;
static long done = 0;
static int64_t start;

static int open_conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* One answer (status 0: a connection error), timed from its due time. */
static void record(int st, int64_t due_ns, int64_t sent_ns) {
  status[done] = st;
  due_at[done] = due_ns - start;
  lag[done] = sent_ns - due_ns;
  lat[done++] = now_ns() - due_ns;
}

/* Replaces connection c's socket with a new one, watched for answers. */
static void reconnect(conn_t *k, int c) {
  close(k->fd); /* also takes it out of the epoll set */
  k->fd = open_conn();
  if (k->fd < 0) die("reconnect");
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, k->fd, &ev) < 0) die("epoll_ctl");
}

/* Length of a complete response at the start of buf, 0 if more bytes are needed. */
static size_t complete_len(const char *buf, size_t len, int *status) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  size_t head = (size_t)(end - buf) + 4;
  *status = (len > 12 && memcmp(buf, "HTTP/1.", 7) == 0) ? atoi(buf + 9) : -1;
  long body = -1;
  int chunked = 0;
  for (const char *line = memchr(buf, '\n', head); line != NULL && line < end;
       line = memchr(line + 1, '\n', (size_t)(end - line))) {
    const char *h = line + 1;
    if (strncasecmp(h, "content-length:", 15) == 0) body = strtol(h + 15, NULL, 10);
    else if (strncasecmp(h, "transfer-encoding:", 18) == 0 && memmem(h, (size_t)(end - h), "chunked", 7)) chunked = 1;
  }
  if (chunked) {
    const char *last = memmem(buf + head, len - head, "0\r\n\r\n", 5);
    return last == NULL ? 0 : (size_t)(last - buf) + 5;
  }
  if (body < 0) body = 0;
  return len >= head + (size_t)body ? head + (size_t)body : 0;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s host port rate duration-sec max-conns requests-file\n", argv[0]);
    return 2;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) die("host");
  double rate = atof(argv[3]);
  double duration = atof(argv[4]);
  int max_conns = atoi(argv[5]);
  long total = (long)(rate * duration + 0.5);
  if (rate <= 0 || total <= 0 || max_conns <= 0) die("arguments");

  /* Read to the end before the clock starts: the writer may stream them through a pipe. */
  FILE *f = strcmp(argv[6], "-") == 0 ? stdin : fopen(argv[6], "rb");
  if (f == NULL) die("requests-file");
  size_t fsize = 0, cap = 1 << 20;
  char *file = malloc(cap);
  for (size_t got; (got = fread(file + fsize, 1, cap - fsize, f)) > 0;) {
    fsize += got;
    if (fsize == cap) file = realloc(file, cap *= 2);
  }
  if (f != stdin) fclose(f);
  size_t nreq = 0, capreq = 1024;
  req_t *reqs = malloc(capreq * sizeof(req_t));
  for (char *p = file; p < file + fsize;) {
    char *nl = memchr(p, '\n', (size_t)(file + fsize - p));
    if (nl == NULL) break;
    size_t len = strtoul(p, NULL, 10);
    if (nreq == capreq) reqs = realloc(reqs, (capreq *= 2) * sizeof(req_t));
    reqs[nreq].bytes = nl + 1;
    reqs[nreq].len = len;
    nreq++;
    p = nl + 1 + len;
  }
  if (nreq == 0) die("no requests");

  status = malloc((size_t)total * sizeof(int));
  due_at = malloc((size_t)total * sizeof(int64_t));
  lat = malloc((size_t)total * sizeof(int64_t));
  lag = malloc((size_t)total * sizeof(int64_t));
  conn_t *conns = calloc((size_t)max_conns, sizeof(conn_t));
  int nconns = 0;
  int *idle = malloc((size_t)max_conns * sizeof(int));
  int nidle = 0;
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll");

  start = now_ns();
  const double interval_ns = 1e9 / rate;
  long sent = 0;
  struct epoll_event events[256];

  while (done < total) {
    int64_t now = now_ns();
    long due = (long)((double)(now - start) / interval_ns) + 1;
    if (due > total) due = total;
    while (sent < due) {
      int c;
      if (nidle > 0) c = idle[--nidle];
      else if (nconns < max_conns) {
        int fd = open_conn();
        if (fd < 0) { /* counted as an error answer, at its due time */
          int64_t due_ns = start + (int64_t)(sent * interval_ns);
          record(0, due_ns, due_ns);
          sent++;
          continue;
        }
        c = nconns++;
        conns[c].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
      } else break; /* every connection busy: the request waits, its latency grows */
      conn_t *k = &conns[c];
      const req_t *r = &reqs[sent % (long)nreq];
      k->busy = 1;
      k->rlen = 0;
      k->due_ns = start + (int64_t)(sent * interval_ns);
      k->sent_ns = now_ns();
      sent++;
      if (send(k->fd, r->bytes, r->len, MSG_NOSIGNAL) != (ssize_t)r->len) {
        record(0, k->due_ns, k->sent_ns);
        k->busy = 0;
        reconnect(k, c);
        idle[nidle++] = c;
      }
    }
    struct timespec timeout = {0, 0};
    if (sent < total && sent >= due) {
      int64_t next = start + (int64_t)(sent * interval_ns) - now_ns();
      if (next > 0) timeout.tv_nsec = next;
    } else if (sent < total) {
      timeout.tv_nsec = 200000; /* due but no free connection: poll for answers */
    } else {
      timeout.tv_sec = 1;
    }
    int n = epoll_pwait2(epfd, events, 256, &timeout, NULL);
    if (n < 0 && errno != EINTR) die("epoll_pwait2");
    for (int i = 0; i < n; i++) {
      int c = (int)events[i].data.u32;
      conn_t *k = &conns[c];
      ssize_t got = read(k->fd, k->rbuf + k->rlen, RBUF - k->rlen);
      if (!k->busy && got > 0) continue; /* bytes nobody asked for: ignore */
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (k->busy) record(0, k->due_ns, k->sent_ns);
        reconnect(k, c);
        /* An idle connection the server closed is already in the idle list. */
        if (k->busy) idle[nidle++] = c;
        k->busy = 0;
        continue;
      }
      k->rlen += (size_t)got;
      int st = 0;
      size_t whole = complete_len(k->rbuf, k->rlen, &st);
      if (whole == 0) {
        if (k->rlen == RBUF) die("response larger than the read buffer");
        continue;
      }
      record(st, k->due_ns, k->sent_ns);
      k->busy = 0;
      idle[nidle++] = c;
    }
  }
  int64_t elapsed = now_ns() - start;
  /* One buffered write of every answer: stdout is read once the run is over. */
  for (long i = 0; i < done; i++)
    printf("%d %lld %lld %lld\n", status[i], (long long)(lat[i] / 1000), (long long)(due_at[i] / 1000),
           (long long)(lag[i] / 1000));
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long cpu_us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
                     ru.ru_stime.tv_usec;
  printf("done %ld %lld %lld\n", sent, (long long)(elapsed / 1000), cpu_us);
  return 0;
}
