/* vchan-guest: one end of a vchan on Xen's own libxenvchan, for a Linux guest (or any domain) whose
 * peer is `mirage vchan-cat --backend xenctrl` in another domain. It sends a pseudo-random stream and
 * receives at the same time, hashing both with SHA-256, so nothing is stored and the peer compares.
 *
 * usage: vchan-guest server <client-domid> <port> <send-bytes> <receive-bytes> [<ring-bytes>]
 *        vchan-guest client <server-domid> <port> <send-bytes> <receive-bytes>
 *
 * Both meet at /local/domain/<server>/data/vchan/<client>/<port>, as vchan-cat does; this domain's own
 * id is Xenstore's relative key `domid`. The server publishes there (libxenvchan_server_init, rings of
 * at least <ring-bytes> each way, default 256 KiB) and waits for the client; the client waits for the
 * rendezvous to appear, since libxenvchan_client_init fails at once if it is not there yet. Once it has
 * sent and received all its bytes it closes the vchan: a vchan has no half-close, so this end, which
 * knows both counts, is the one that ends it. Prints:
 *   vchan <path> <role> orders <read> <write>
 *   sent <sha256> <bytes>
 *   received <sha256> <bytes>
 *   seconds <from the connection to the last byte>
 * Exit 0 when both counts were reached; 3 on an error or when the peer closed first (said on stderr).
 * Needs /dev/xen/{evtchn,gntdev,gntalloc} and Xenstore (/dev/xen/xenbus or $XENSTORED_PATH).
 * Linked statically, so it runs in a busybox guest with no libraries. */
// link: -static -lxenvchan -lxenstore -lxengnttab -lxenevtchn -lxentoolcore -lxentoollog
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libxenvchan.h>
#include <xenstore.h>

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha256 { uint32_t h[8]; unsigned char block[64]; size_t used; uint64_t length; };

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(struct sha256 *s)
{
    static const uint32_t initial[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(s->h, initial, sizeof initial);
    s->used = 0;
    s->length = 0;
}

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
        uint32_t t2 = (rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

static void sha256_update(struct sha256 *s, const unsigned char *p, size_t n)
{
    s->length += n;
    if (s->used > 0) {
        size_t take = 64 - s->used < n ? 64 - s->used : n;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used < 64)
            return;
        sha256_block(s, s->block);
        s->used = 0;
    }
    for (; n >= 64; p += 64, n -= 64)
        sha256_block(s, p);
    memcpy(s->block, p, n);
    s->used = n;
}

static void sha256_hex(struct sha256 *s, char out[65])
{
    uint64_t bits = s->length * 8;
    unsigned char pad[72] = { 0x80 };
    size_t padding = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++)
        pad[padding + i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(s, pad, padding + 8);
    for (int i = 0; i < 8; i++)
        sprintf(out + 8 * i, "%08" PRIx32, s->h[i]);
}

/* ---- the stream sent: xorshift64*, seeded by the role so the two directions differ ---- */

static uint64_t pattern_state;

static void pattern_fill(unsigned char *out, size_t n)   /* n: a multiple of 8 except at the end */
{
    for (size_t i = 0; i < n; i += 8) {
        pattern_state ^= pattern_state >> 12;
        pattern_state ^= pattern_state << 25;
        pattern_state ^= pattern_state >> 27;
        uint64_t v = pattern_state * 0x2545F4914F6CDD1Dull;
        for (size_t b = 0; b < 8 && i + b < n; b++)
            out[i + b] = (unsigned char)(v >> (8 * b));
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* What this end was doing, for the message when a mapping faults: a grant that maps but cannot be
 * touched is a fault, not an error code. */
static const char *phase = "starting";

static void on_fault(int signal, siginfo_t *info, void *context)
{
    char message[160];
    (void)context;
    int n = snprintf(message, sizeof message, "vchan-guest: %s at %p while %s\n",
                     signal == SIGBUS ? "SIGBUS" : "SIGSEGV", info->si_addr, phase);
    if (write(2, message, (size_t)n) < 0)
        _exit(4);
    _exit(4);
}

static int fail(const char *what)
{
    fprintf(stderr, "vchan-guest: %s: %s\n", what, errno ? strerror(errno) : "failed");
    return 3;
}

#define CHUNK 65536
#define PATIENCE 300   /* seconds to wait for the peer: to publish, to connect, or to move a byte */

/* libxenvchan_client_init reads the rendezvous once: wait until the server has written both keys. */
static int wait_for_rendezvous(struct xs_handle *xs, const char *path)
{
    char key[128];
    for (double deadline = now() + PATIENCE; now() < deadline; usleep(100000)) {
        int found = 1;
        for (int i = 0; i < 2 && found; i++) {
            snprintf(key, sizeof key, "%s/%s", path, i == 0 ? "ring-ref" : "event-channel");
            char *value = xs_read(xs, XBT_NULL, key, NULL);
            found = value != NULL;
            free(value);
        }
        if (found)
            return 0;
    }
    fprintf(stderr, "vchan-guest: nothing was published at %s within %d s\n", path, PATIENCE);
    return -1;
}

int main(int argc, char **argv)
{
    int server = argc >= 6 && argc <= 7 && strcmp(argv[1], "server") == 0;
    if (!server && !(argc == 6 && strcmp(argv[1], "client") == 0)) {
        fprintf(stderr, "usage: vchan-guest server <client-domid> <port> <send-bytes> <receive-bytes> [<ring-bytes>]\n"
                        "       vchan-guest client <server-domid> <port> <send-bytes> <receive-bytes>\n");
        return 2;
    }
    int peer = atoi(argv[2]);
    const char *port = argv[3];
    long long to_send = atoll(argv[4]), to_receive = atoll(argv[5]);
    size_t ring = argc == 7 ? (size_t)atol(argv[6]) : 256 * 1024;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction fault = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
    sigaction(SIGSEGV, &fault, NULL);
    sigaction(SIGBUS, &fault, NULL);

    phase = "reading Xenstore";
    struct xs_handle *xs = xs_open(0);
    if (xs == NULL)
        return fail("xs_open (is /dev/xen/xenbus there?)");
    char *self = xs_read(xs, XBT_NULL, "domid", NULL);
    if (self == NULL)
        return fail("reading this domain's Xenstore key domid");
    /* libxenvchan builds <path>/event-channel in 64 bytes: keep the path short. */
    char path[48];
    if (snprintf(path, sizeof path, "/local/domain/%d/data/vchan/%d/%s", server ? atoi(self) : peer, server ? peer : atoi(self), port)
        >= (int)sizeof path) {
        fprintf(stderr, "vchan-guest: the port name %s is too long\n", port);
        return 2;
    }
    free(self);

    struct libxenvchan *v;
    if (server) {
        phase = "publishing (libxenvchan_server_init)";
        v = libxenvchan_server_init(NULL, peer, path, ring, ring);
        if (v == NULL)
            return fail("libxenvchan_server_init");
    } else {
        if (wait_for_rendezvous(xs, path) != 0)
            return 3;
        phase = "connecting (libxenvchan_client_init)";
        v = libxenvchan_client_init(NULL, peer, path);
        if (v == NULL)
            return fail("libxenvchan_client_init");
    }
    xs_close(xs);
    printf("vchan %s %s orders %d %d\n", path, argv[1], v->read.order, v->write.order);

    static unsigned char out[CHUNK], in[CHUNK];
    struct sha256 sent_hash, received_hash;
    sha256_init(&sent_hash);
    sha256_init(&received_hash);
    pattern_state = server ? 0x9E3779B97F4A7C15ull : 0xD1B54A32D192ED03ull;
    long long sent = 0, received = 0;
    size_t pending = 0, offset = 0;
    double start = now(), idle_since = start;
    int connected = !server, rc = 0;

    /* One thread, both directions, never blocking in one while the peer waits on the other: write and
     * read what the rings allow, and when neither moves, sleep on the event channel. libxenvchan asked
     * the peer for a notification (its notify bits) before it found the ring full or empty. */
    v->blocking = 0;
    phase = "moving bytes";
    while (sent < to_send || received < to_receive) {
        int progress = 0;
        if (!connected && libxenvchan_is_open(v) == 1) {
            connected = 1;      /* the client has set cli_live: time the transfer from here */
            start = now();
        }
        if (sent < to_send) {
            if (pending == 0) {
                pending = (size_t)(to_send - sent < CHUNK ? to_send - sent : CHUNK);
                pattern_fill(out, pending);
                sha256_update(&sent_hash, out, pending);
                offset = 0;
            }
            int n = libxenvchan_write(v, out + offset, pending);
            if (n < 0) {
                rc = fail("libxenvchan_write (the peer closed?)");
                break;
            }
            offset += (size_t)n;
            pending -= (size_t)n;
            sent += n;
            progress |= n > 0;
        }
        if (received < to_receive) {
            size_t want = (size_t)(to_receive - received < CHUNK ? to_receive - received : CHUNK);
            int n = libxenvchan_read(v, in, want);
            if (n < 0) {
                rc = fail("libxenvchan_read (the peer closed?)");
                break;
            }
            sha256_update(&received_hash, in, (size_t)n);
            received += n;
            progress |= n > 0;
        }
        if (progress) {
            idle_since = now();
            continue;
        }
        if (libxenvchan_is_open(v) == 0) {
            fprintf(stderr, "vchan-guest: the peer closed after %lld bytes sent, %lld received\n", sent, received);
            rc = 3;
            break;
        }
        /* The event descriptor polls readable when libxenvchan_wait will not block. */
        struct pollfd pfd = { .fd = libxenvchan_fd_for_select(v), .events = POLLIN };
        int ready = poll(&pfd, 1, 1000);
        if (ready < 0 && errno != EINTR) {
            rc = fail("poll");
            break;
        }
        if (ready == 1 && libxenvchan_wait(v) != 0) {
            rc = fail("libxenvchan_wait");
            break;
        }
        if (ready == 0 && now() - idle_since > PATIENCE) {
            fprintf(stderr, "vchan-guest: nothing moved for %d s (%s, %lld bytes sent, %lld received)\n",
                    PATIENCE, connected ? "connected" : "the client never connected", sent, received);
            rc = 3;
            break;
        }
    }
    double seconds = now() - start;
    char hex[65];
    sha256_hex(&sent_hash, hex);
    printf("sent %s %lld\n", hex, sent);
    sha256_hex(&received_hash, hex);
    printf("received %s %lld\n", hex, received);
    printf("seconds %.2f\n", seconds);
    phase = "closing";
    libxenvchan_close(v);
    return rc;
}
