// dns-probe: wait until a DNS server answers NAME/TYPE with NOERROR and at
// least one answer record, polling every 2 ms; used by dns-bench.sh to time
// server start-up.
//
//   dns-probe ADDR PORT NAME QTYPE TIMEOUT_MS [START_NS]
//
// Prints the milliseconds from START_NS (CLOCK_REALTIME nanoseconds, as
// `date +%s%N` gives; default: the probe's own start) to the first good
// answer, and exits 0; exits 1 on timeout, 2 on bad arguments.
// With DNS_PROBE_ANY_REPLY=1 in the environment any response counts.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int qtype_code(const char *t) {
  if (!strcasecmp(t, "A")) return 1;
  if (!strcasecmp(t, "NS")) return 2;
  if (!strcasecmp(t, "CNAME")) return 5;
  if (!strcasecmp(t, "SOA")) return 6;
  if (!strcasecmp(t, "MX")) return 15;
  if (!strcasecmp(t, "TXT")) return 16;
  if (!strcasecmp(t, "AAAA")) return 28;
  if (!strcasecmp(t, "SRV")) return 33;
  return atoi(t);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: dns-probe ADDR PORT NAME QTYPE TIMEOUT_MS [START_NS]\n");
    return 2;
  }
  int64_t start = argc > 6 ? strtoll(argv[6], NULL, 10) : now_ns();
  int64_t deadline = now_ns() + (int64_t)atoll(argv[5]) * 1000000;
  unsigned char q[512];
  size_t n = 12;
  memset(q, 0, sizeof q);
  q[2] = 0x00;  // RD=0
  q[5] = 1;     // QDCOUNT
  const char *name = argv[3];
  while (*name) {
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    if (len == 0 || len > 63 || n + len + 6 > sizeof q) return 2;
    q[n++] = (unsigned char)len;
    memcpy(q + n, name, len);
    n += len;
    name += len;
    if (*name == '.') name++;
  }
  q[n++] = 0;
  int qt = qtype_code(argv[4]);
  q[n++] = (unsigned char)(qt >> 8);
  q[n++] = (unsigned char)qt;
  q[n++] = 0;
  q[n++] = 1;  // IN

  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) return 2;
  uint16_t id = (uint16_t)(getpid() & 0xFFFF);
  // DNS_PROBE_ANY_REPLY=1: any response counts (for the UDP reflector).
  const char *any = getenv("DNS_PROBE_ANY_REPLY");
  int any_reply = any && *any == '1';
  while (now_ns() < deadline) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return 2;
    // connect() so that ICMP port-unreachable surfaces as an error at once.
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      id++;
      q[0] = (unsigned char)(id >> 8);
      q[1] = (unsigned char)id;
      if (send(fd, q, n, 0) == (ssize_t)n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) == 1) {
          unsigned char r[4096];
          ssize_t got = recv(fd, r, sizeof r, 0);
          if (got >= 12 && r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80) &&
              (any_reply || ((r[3] & 0x0F) == 0 && ((r[6] << 8) | r[7]) > 0))) {
            int64_t t = now_ns();
            printf("%.1f\n", (double)(t - start) / 1e6);
            close(fd);
            return 0;
          }
        }
      }
    }
    close(fd);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  return 1;
}
