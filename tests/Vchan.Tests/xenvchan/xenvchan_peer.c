/* A vchan end on Xen's real libxenvchan, for the interoperability tests. Run with the Unix shims
 * first in LD_LIBRARY_PATH (XEN_ROOT, XEN_DOMID) and XENSTORED_PATH on a socket acting as XEN_DOMID.
 *
 * usage: xenvchan_peer server <client-domain> <xs-path> <left-min> <right-min> <mode> <bytes>
 *        xenvchan_peer client <server-domain> <xs-path> <mode> <bytes>
 * modes: both        send <bytes> and receive <bytes> at once (non-blocking; poll on
 *                    libxenvchan_fd_for_select, then libxenvchan_wait)
 *        write-close send <bytes> (blocking writes), then close at once
 *        write-hang  send <bytes>, print "written", then wait to be killed
 *        read-close  read (blocking) until the peer closes
 * prints: "libs <libxenvchan's file> <xenevtchn_open's file> <xengnttab_open's file>", "ready"
 *         (server), "orders <read> <write>", "sent <fnv> <n>", "received <fnv> <n>", "closed".
 * The bytes sent are a xorshift64* stream seeded with XEN_DOMID; <fnv> is their FNV-1a 64. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxenvchan.h>

struct pattern { uint64_t state; unsigned char block[8]; int used; };

static void pattern_init(struct pattern *p, uint64_t seed)
{
    p->state = seed * 0x9E3779B97F4A7C15ull + 1;
    p->used = 8;
}

static void pattern_fill(struct pattern *p, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p->used == 8) {
            uint64_t x = p->state;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            p->state = x;
            uint64_t v = x * 0x2545F4914F6CDD1Dull;
            for (int b = 0; b < 8; b++)
                p->block[b] = (unsigned char)(v >> (8 * b));
            p->used = 0;
        }
        out[i] = p->block[p->used++];
    }
}

static void fnv(uint64_t *h, const unsigned char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *h ^= data[i];
        *h *= 0x100000001B3ull;
    }
}

static const char *file_of(void *symbol)
{
    Dl_info info;
    return dladdr(symbol, &info) && info.dli_fname ? info.dli_fname : "?";
}

static int fail(const char *what)
{
    fprintf(stderr, "xenvchan_peer: %s: %s\n", what, strerror(errno));
    return 3;
}

#define CHUNK 65536

int main(int argc, char **argv)
{
    int server = argc == 8 && strcmp(argv[1], "server") == 0;
    if (!server && !(argc == 6 && strcmp(argv[1], "client") == 0)) {
        fprintf(stderr, "usage: xenvchan_peer server <client> <xs-path> <left-min> <right-min> <mode> <bytes>\n"
                        "       xenvchan_peer client <server> <xs-path> <mode> <bytes>\n");
        return 2;
    }
    int remote = atoi(argv[2]);
    const char *path = argv[3], *mode = argv[server ? 6 : 4];
    long long bytes = atoll(argv[server ? 7 : 5]);
    const char *domid = getenv("XEN_DOMID");
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("libs %s %s %s\n", file_of((void *)libxenvchan_server_init), file_of((void *)xenevtchn_open), file_of((void *)xengnttab_open));

    struct libxenvchan *v = server
        ? libxenvchan_server_init(NULL, remote, path, (size_t)atol(argv[4]), (size_t)atol(argv[5]))
        : libxenvchan_client_init(NULL, remote, path);
    if (v == NULL)
        return fail(server ? "libxenvchan_server_init" : "libxenvchan_client_init");
    if (server)
        printf("ready\n");
    printf("orders %d %d\n", v->read.order, v->write.order);

    static unsigned char out[CHUNK], in[CHUNK];
    struct pattern pattern;
    pattern_init(&pattern, domid ? strtoull(domid, NULL, 10) : 0);
    uint64_t sent_hash = 0xCBF29CE484222325ull, received_hash = 0xCBF29CE484222325ull;
    long long sent = 0, received = 0;
    int rc = 0;

    if (strcmp(mode, "both") == 0) {
        /* One thread, both directions: never block in a write while the peer waits for our reads. */
        v->blocking = 0;
        size_t pending = 0, offset = 0;
        while (sent < bytes || received < bytes) {
            int progress = 0;
            if (sent < bytes) {
                if (pending == 0) {
                    pending = (size_t)(bytes - sent < CHUNK ? bytes - sent : CHUNK);
                    pattern_fill(&pattern, out, pending);
                    fnv(&sent_hash, out, pending);
                    offset = 0;
                }
                int n = libxenvchan_write(v, out + offset, pending);
                if (n < 0) {
                    rc = fail("libxenvchan_write");
                    break;
                }
                offset += (size_t)n;
                pending -= (size_t)n;
                sent += n;
                progress |= n > 0;
            }
            if (received < bytes) {
                size_t want = (size_t)(bytes - received < CHUNK ? bytes - received : CHUNK);
                int n = libxenvchan_read(v, in, want);
                if (n < 0) {
                    rc = fail("libxenvchan_read");
                    break;
                }
                fnv(&received_hash, in, (size_t)n);
                received += n;
                progress |= n > 0;
            }
            if (!progress) {
                if (libxenvchan_is_open(v) == 0) {
                    fprintf(stderr, "xenvchan_peer: the peer closed after %lld sent, %lld received\n", sent, received);
                    rc = 3;
                    break;
                }
                /* The event descriptor polls readable when libxenvchan_wait will not block. */
                struct pollfd pfd = { .fd = libxenvchan_fd_for_select(v), .events = POLLIN };
                if (poll(&pfd, 1, 20000) != 1) {
                    fprintf(stderr, "xenvchan_peer: the event descriptor never became readable\n");
                    rc = 3;
                    break;
                }
                if (libxenvchan_wait(v) != 0) {
                    rc = fail("libxenvchan_wait");
                    break;
                }
            }
        }
    } else if (strcmp(mode, "write-close") == 0 || strcmp(mode, "write-hang") == 0) {
        v->blocking = 1;
        while (sent < bytes) {
            size_t n = (size_t)(bytes - sent < CHUNK ? bytes - sent : CHUNK);
            pattern_fill(&pattern, out, n);
            fnv(&sent_hash, out, n);
            if (libxenvchan_write(v, out, n) != (int)n) {
                rc = fail("libxenvchan_write");
                break;
            }
            sent += (long long)n;
        }
        if (rc == 0 && strcmp(mode, "write-hang") == 0) {
            printf("written\n");
            for (;;)
                pause();
        }
    } else if (strcmp(mode, "read-close") == 0) {
        v->blocking = 1;
        int n;
        while ((n = libxenvchan_read(v, in, CHUNK)) > 0) {
            fnv(&received_hash, in, (size_t)n);
            received += n;
        }
        /* -1 once the peer has closed and nothing is left: the end of the stream. */
        if (libxenvchan_data_ready(v) != 0 || libxenvchan_is_open(v) != 0) {
            rc = fail("libxenvchan_read");
        }
    } else {
        fprintf(stderr, "xenvchan_peer: unknown mode %s\n", mode);
        rc = 2;
    }
    printf("sent %016" PRIx64 " %lld\n", sent_hash, sent);
    printf("received %016" PRIx64 " %lld\n", received_hash, received);
    libxenvchan_close(v);
    printf("closed\n");
    return rc;
}
