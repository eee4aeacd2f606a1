/* http-backend.c: the VIP benchmark's backend (tools/bench/vip-bench.sh). One
 * single-threaded epoll process per ADDR:PORT answering every HTTP/1.1 request
 * with 200 and a fixed body, keep-alive unless the request says otherwise, so
 * that the proxies in front of it, not the backend, are what the benchmark
 * measures. It counts what it saw, so the script can check that a proxy really
 * forwarded (requests) over reused connections (accepted) with X-Forwarded-For
 * added (xff).
 *
 *   cc -O2 -o http-backend http-backend.c
 *   http-backend ADDR PORT [BODY_BYTES] [MAX_SECONDS]
 *
 * Prints "ready ADDR:PORT" once listening. SIGUSR1 prints one line
 * "stats accepted=N requests=N xff=N bad=N open=N"; SIGTERM/SIGINT print it and
 * exit; MAX_SECONDS (default 3600) bounds its life if nobody stops it.
 * Requests may be pipelined; a body is skipped by Content-Length; chunked
 * request bodies are not supported (answered 400, connection closed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 16384
#define OUT_CAP 65536

struct conn {
    int fd;
    size_t in_len;
    size_t out_len, out_off;
    size_t skip;  /* request body bytes still to discard */
    int close_after;
    unsigned events;  /* what epoll waits for now */
    char in[IN_CAP];
    char out[OUT_CAP];
};

static volatile sig_atomic_t want_stats, want_exit;
static unsigned long long n_accepted, n_requests, n_xff, n_bad, n_open;
static char response[1024];
static size_t response_len;
static const char bad_response[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

static void on_signal(int sig) {
    if (sig == SIGUSR1)
        want_stats = 1;
    else
        want_exit = 1;
}

static void print_stats(void) {
    printf("stats accepted=%llu requests=%llu xff=%llu bad=%llu open=%llu\n", n_accepted, n_requests,
           n_xff, n_bad, n_open);
    fflush(stdout);
}

/* Case-insensitive search for NEEDLE (lower case) at the start of a header line in [p, end). */
static const char *find_header(const char *p, const char *end, const char *needle) {
    size_t n = strlen(needle);
    for (const char *line = p; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        if ((size_t)(eol - line) > n && strncasecmp(line, needle, n) == 0) return line + n;
        line = eol + 1;
    }
    return NULL;
}

static void close_conn(int ep, struct conn **tab, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    tab[c->fd] = NULL;
    free(c);
    n_open--;
}

/* Parse every complete request in c->in, queue the answers; -1: close now. */
static int parse(struct conn *c) {
    size_t off = 0;
    for (;;) {
        if (c->skip) {
            size_t k = c->in_len - off < c->skip ? c->in_len - off : c->skip;
            off += k;
            c->skip -= k;
            if (c->skip) break;
        }
        if (c->close_after || c->out_len + response_len > OUT_CAP) break; /* flush first */
        char *start = c->in + off;
        size_t avail = c->in_len - off;
        char *hend = memmem(start, avail, "\r\n\r\n", 4);
        if (!hend) {
            if (avail == IN_CAP) { n_bad++; return -1; }  /* header larger than the buffer */
            break;
        }
        char *end = hend + 4;
        const char *eol = memchr(start, '\n', (size_t)(end - start));
        int http10 = eol && eol - start >= 9 && memcmp(eol - 9, "HTTP/1.0", 8) == 0;
        const char *v;
        size_t body = 0;
        if ((v = find_header(start, end, "content-length:"))) body = strtoull(v, NULL, 10);
        if (find_header(start, end, "transfer-encoding:")) {
            n_bad++;
            if (c->out_len + sizeof bad_response - 1 <= OUT_CAP) {
                memcpy(c->out + c->out_len, bad_response, sizeof bad_response - 1);
                c->out_len += sizeof bad_response - 1;
            }
            c->close_after = 1;
            off = c->in_len;
            break;
        }
        int close_req = http10;
        if ((v = find_header(start, end, "connection:"))) {
            while (*v == ' ' || *v == '\t') v++;
            if (strncasecmp(v, "close", 5) == 0) close_req = 1;
            else if (strncasecmp(v, "keep-alive", 10) == 0) close_req = 0;
        }
        if (find_header(start, end, "x-forwarded-for:")) n_xff++;
        n_requests++;
        memcpy(c->out + c->out_len, response, response_len);
        c->out_len += response_len;
        if (close_req) c->close_after = 1;
        off = (size_t)(end - c->in);
        c->skip = body;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return 0;
}

/* Write what is queued; 1: all written, 0: would block, -1: error. */
static int flush_out(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    return 1;
}

/* Move the connection as far as it goes without blocking: write what is
 * queued, answer what is parsed, read more. 0: wait for input, 1: wait until
 * writable, -1: close it. */
static int serve(struct conn *c) {
    for (;;) {
        if (c->out_len) {
            int w = flush_out(c);
            if (w < 0) return -1;
            if (w == 0) return 1;
        }
        if (c->close_after) return -1;
        if (parse(c) < 0) return -1;
        if (c->out_len || c->close_after) continue;
        ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        if (r == 0) return -1;
        c->in_len += (size_t)r;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ADDR PORT [BODY_BYTES] [MAX_SECONDS]\n", argv[0]);
        return 2;
    }
    int body_len = argc > 3 ? atoi(argv[3]) : 100;
    long max_seconds = argc > 4 ? atol(argv[4]) : 3600;
    if (body_len < 0 || body_len > 512) {
        fprintf(stderr, "BODY_BYTES must be 0..512\n");
        return 2;
    }
    /* Two response variants would need two buffers; "Connection: close" answers
     * reuse the keep-alive one (HTTP/1.1 lets the server just close after it). */
    int n = snprintf(response, sizeof response,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", body_len);
    memset(response + n, 'x', (size_t)body_len);
    if (body_len > 0) response[n + body_len - 1] = '\n';
    response_len = (size_t)n + (size_t)body_len;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(ls, 4096) < 0) {
        fprintf(stderr, "bind/listen %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct conn **tab = calloc(1 << 20, sizeof *tab);
    if (!tab) return 1;
    printf("ready %s:%s\n", argv[1], argv[2]);
    fflush(stdout);

    time_t deadline = time(NULL) + max_seconds;
    struct epoll_event evs[256];
    while (!want_exit) {
        if (want_stats) { want_stats = 0; print_stats(); }
        int k = epoll_wait(ep, evs, 256, 1000);
        if (k < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        if (time(NULL) > deadline) break;
        for (int i = 0; i < k; i++) {
            if (evs[i].data.fd == ls) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    if (fd >= (1 << 20)) { close(fd); continue; }
                    struct conn *c = malloc(sizeof *c);
                    if (!c) { close(fd); continue; }
                    c->fd = fd;
                    c->in_len = c->out_len = c->out_off = c->skip = 0;
                    c->close_after = 0;
                    c->events = EPOLLIN | EPOLLRDHUP;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    tab[fd] = c;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                    n_accepted++;
                    n_open++;
                }
                continue;
            }
            struct conn *c = tab[evs[i].data.fd];
            if (!c) continue;
            int r = serve(c);
            if (r < 0) {
                close_conn(ep, tab, c);
                continue;
            }
            unsigned want = r == 0 ? EPOLLIN | EPOLLRDHUP : EPOLLOUT;
            if (want != c->events) {
                struct epoll_event cev = {.events = want, .data.fd = c->fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                c->events = want;
            }
        }
    }
    print_stats();
    return 0;
}
