/* idle-conns.c: opens N TLS connections to a proxy and keeps them idle, for the
 * VIP benchmark's memory figure (tools/bench/vip-bench.sh). Each connection does
 * a full TLS handshake (no session cache, nothing offered), then, with
 * --request, one "GET / HTTP/1.1" with keep-alive whose response it reads, and
 * then stays open and silent. At most --concurrency connections are in progress
 * at a time, so the proxy is not flooded with half-open sockets.
 *
 *   cc -O2 -o idle-conns idle-conns.c -lssl -lcrypto
 *   idle-conns ADDR PORT N [--request] [--concurrency K] [--max-seconds S]
 *
 * Prints "ready open=N failed=F seconds=T" once every connection is idle (or
 * failed), then keeps them open: SIGUSR1 prints "status open=N closed=C" (C:
 * closed by the proxy since ready); SIGTERM/SIGINT, or --max-seconds (default
 * 600) since start, closes everything and exits. Needs N + a few file
 * descriptors (ulimit -n). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKE, WRITING, READING, IDLE, DONE };

struct conn {
    int fd;
    enum state st;
    SSL *ssl;
    size_t got;      /* response bytes read */
    size_t need;     /* total response bytes once the header is parsed; 0 = unknown */
    char buf[2048];  /* the response header (and body) while reading it */
};

static volatile sig_atomic_t want_status, want_exit;
static void on_signal(int sig) {
    if (sig == SIGUSR1)
        want_status = 1;
    else
        want_exit = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char request[] = "GET / HTTP/1.1\r\nHost: web.bench.test\r\nUser-Agent: idle-conns\r\n\r\n";
static long failed_logged;

static void finish(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->ssl) SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    c->st = DONE;
}

static void log_failure(const char *what) {
    if (failed_logged++ < 5) fprintf(stderr, "idle-conns: %s\n", what);
}

/* Drive one connection until it would block (0, *want set), is idle (1) or
 * failed (-1). */
static int progress(struct conn *c, int do_request, unsigned *want) {
    if (c->st == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { log_failure(strerror(err)); return -1; }
        c->st = HANDSHAKE;
    }
    for (;;) {
        int r;
        if (c->st == HANDSHAKE) {
            r = SSL_connect(c->ssl);
            if (r == 1) {
                if (!do_request) return 1;
                c->st = WRITING;
                continue;
            }
        } else if (c->st == WRITING) {
            r = SSL_write(c->ssl, request, (int)sizeof request - 1);
            if (r > 0) { c->st = READING; continue; }
        } else {  /* READING: the header, then Content-Length bytes of body */
            r = SSL_read(c->ssl, c->buf + c->got, (int)(sizeof c->buf - c->got));
            if (r > 0) {
                c->got += (size_t)r;
                if (!c->need) {
                    char *h = memmem(c->buf, c->got, "\r\n\r\n", 4);
                    if (h) {
                        size_t hl = (size_t)(h + 4 - c->buf);
                        char *v = memmem(c->buf, hl, "Content-Length:", 15);
                        if (!v) v = memmem(c->buf, hl, "content-length:", 15);
                        if (!v || c->got < 12 || memcmp(c->buf, "HTTP/1.1 200", 12) != 0) {
                            log_failure("response without 200 or Content-Length");
                            return -1;
                        }
                        c->need = hl + strtoul(v + 15, NULL, 10);
                    }
                }
                if (c->need && c->got >= c->need) return 1;
                if (c->got == sizeof c->buf) { log_failure("response too large"); return -1; }
                continue;
            }
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) { *want = EPOLLIN; return 0; }
        if (e == SSL_ERROR_WANT_WRITE) { *want = EPOLLOUT; return 0; }
        unsigned long le = ERR_peek_error();
        char msg[300];
        snprintf(msg, sizeof msg, "TLS error in state %d: SSL_get_error %d, %s", c->st, e,
                 le ? ERR_error_string(le, NULL) : (r == 0 ? "EOF" : strerror(errno)));
        ERR_clear_error();
        log_failure(msg);
        return -1;
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s ADDR PORT N [--request] [--concurrency K] [--max-seconds S]\n", argv[0]);
        return 2;
    }
    long n = atol(argv[3]);
    int do_request = 0, concurrency = 100;
    long max_seconds = 600;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--request") == 0) do_request = 1;
        else if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc) concurrency = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc) max_seconds = atol(argv[++i]);
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    if (n < 1 || concurrency < 1) { fprintf(stderr, "N and K must be >= 1\n"); return 2; }

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) { fprintf(stderr, "bad IPv4 address\n"); return 2; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  /* the client's memory is not measured, but keep it small */

    struct conn *conns = calloc((size_t)n, sizeof *conns);
    if (!conns) { perror("calloc"); return 1; }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long started = 0, in_progress = 0, idle = 0, failed = 0, closed_after = 0;
    int ready = 0;
    double t0 = now_s();
    struct epoll_event evs[512];

    while (!want_exit) {
        if (now_s() - t0 > max_seconds) break;
        if (want_status) {
            want_status = 0;
            printf("status open=%ld closed=%ld\n", idle, closed_after);
            fflush(stdout);
        }
        while (started < n && in_progress < concurrency) {
            struct conn *c = &conns[started++];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c->fd < 0) {
                log_failure(strerror(errno));
                c->st = DONE; failed++;
                continue;
            }
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS) {
                log_failure(strerror(errno));
                close(c->fd); c->st = DONE; failed++;
                continue;
            }
            c->st = CONNECTING;
            c->ssl = SSL_new(ctx);
            SSL_set_fd(c->ssl, c->fd);
            SSL_set_tlsext_host_name(c->ssl, "web.bench.test");
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            in_progress++;
        }
        if (!ready && started == n && in_progress == 0) {
            ready = 1;
            printf("ready open=%ld failed=%ld seconds=%.2f\n", idle, failed, now_s() - t0);
            fflush(stdout);
        }
        int k = epoll_wait(ep, evs, 512, 200);
        if (k < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->st == DONE) continue;
            if (c->st == IDLE) {
                /* Session tickets (TLS 1.3) are read and dropped here; anything
                 * else, or EOF, means the proxy closed it. */
                char tmp[512];
                int r = SSL_read(c->ssl, tmp, sizeof tmp);
                int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_NONE) continue;
                ERR_clear_error();
                finish(ep, c);
                idle--;
                if (ready) closed_after++; else failed++;
                continue;
            }
            unsigned want = 0;
            int r = progress(c, do_request, &want);
            if (r > 0) {
                in_progress--;
                idle++;
                c->st = IDLE;
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            } else if (r < 0) {
                finish(ep, c);
                in_progress--;
                failed++;
            } else {
                struct epoll_event ev = {.events = want, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    for (long i = 0; i < started; i++) {
        if (conns[i].st != DONE) finish(ep, &conns[i]);
    }
    SSL_CTX_free(ctx);
    return 0;
}
