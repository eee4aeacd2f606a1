/* tls-count.c: an LD_PRELOAD shim for wrk (tools/bench/vip-bench.sh) that makes
 * every TLS connection a full handshake and says what was negotiated.
 *
 * wrk keeps one SSL object per connection slot and reconnects with SSL_clear()
 * after SSL_shutdown(), which keeps the old session: left alone it offers that
 * session again, so a "Connection: close" run would measure resumptions, and
 * only for a server that accepts them. The shim wraps SSL_connect: before a
 * handshake starts it drops the session the SSL object carries (unless
 * VIPBENCH_TLS_RESUME=1), and after each completed handshake it counts
 * handshakes, how many carried a session to offer, and how many the server
 * resumed (SSL_session_reused). At exit it appends one line to the file named
 * by VIPBENCH_TLS_STATS (else stderr):
 *
 *   tls handshakes=N offered=K resumed=R stripped=1 version=TLSv1.3 cipher=... group=X25519
 *
 *   cc -O2 -shared -fPIC -o tls-count.so tls-count.c -ldl -lssl -lcrypto
 *   VIPBENCH_TLS_STATS=tls.txt LD_PRELOAD=./tls-count.so wrk ... https://...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long handshakes, offered, resumed;
static char first[256];
static int strip = -1;

int SSL_connect(SSL *ssl) {
    static int (*real)(SSL *);
    if (!real) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
    if (strip < 0) {
        const char *e = getenv("VIPBENCH_TLS_RESUME");
        strip = !(e && strcmp(e, "1") == 0);
    }
    int fresh = SSL_in_before(ssl);
    if (fresh && SSL_get_session(ssl) != NULL) {
        __atomic_add_fetch(&offered, 1, __ATOMIC_RELAXED);
        /* A session whose handshake never started counts once, at its first call. */
        if (strip) SSL_set_session(ssl, NULL);
    }
    int r = real(ssl);
    if (r == 1) {
        __atomic_add_fetch(&handshakes, 1, __ATOMIC_RELAXED);
        if (SSL_session_reused(ssl)) __atomic_add_fetch(&resumed, 1, __ATOMIC_RELAXED);
        if (!__atomic_load_n(&first[0], __ATOMIC_ACQUIRE)) {
            char line[sizeof first];
            int nid = (int)SSL_get_negotiated_group(ssl);
            const char *g = nid > 0 ? OBJ_nid2sn(nid) : NULL;
            snprintf(line, sizeof line, "version=%s cipher=%s group=%s", SSL_get_version(ssl),
                     SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)), g ? g : "?");
            char expect = 0;
            /* Whichever thread gets here first writes it; the others leave it. */
            if (__atomic_compare_exchange_n(&first[0], &expect, 'v', 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
                memcpy(first + 1, line + 1, sizeof first - 1);
            }
        }
    }
    return r;
}

__attribute__((destructor)) static void report(void) {
    if (strip < 0) return;  /* no TLS in this run */
    const char *path = getenv("VIPBENCH_TLS_STATS");
    FILE *f = path ? fopen(path, "a") : NULL;
    fprintf(f ? f : stderr, "tls handshakes=%lu offered=%lu resumed=%lu stripped=%d %s\n", handshakes, offered,
            resumed, strip, first);
    if (f) fclose(f);
}
