/* libxenvchan's shared page in plain C, busy polling, used the way libxenvchan uses it (one copy and
 * one index update per call): what that allows (io/libxenvchan.h; docs/vchan.md). Two modes, between
 * two processes:
 *   rtt [seconds]                   a 1-byte round trip: the parent is the client (it writes the
 *                                   left ring, 1024 bytes at offset 1024), the child the server (it
 *                                   echoes into the right ring, 2048 bytes at offset 2048).
 *                                   value: microseconds per round trip.
 *   stream <ring> [seconds]         the parent writes 64 KiB at a time through an in-page ring of
 *                                   <ring> bytes (1024 at offset 1024, or 2048 at offset 2048),
 *                                   the child copies out into a 64 KiB buffer. value: MB/s.
 *   rtt-best, stream-best <ring>    the same through the same page and protocol, by the best
 *                                   compatible end we know: the notify step reads the byte after
 *                                   its fence and clears it only when a bit is set; each end
 *                                   remembers the peer's index and reads the header again only
 *                                   when that view shows no room or no data; a call copies in
 *                                   pieces of a quarter of the ring, publishing its index after
 *                                   each, and goes on while the peer keeps up, with one notify
 *                                   step per call. What the wire format leaves to any end.
 * Both ends keep every step of the protocol: a write copies, fences, moves prod, fences and
 * fetch-and-clears its own notify byte; a read fences, copies, fences, moves cons and does the
 * same. No event is ever sent, since neither end asks for one. What costs beyond the copies is the
 * layout: both rings' indices and the notify bytes share the header's first 24 bytes, one cache
 * line, so each step moves that line between the cores. */
#include "bench.h"
#include <sys/mman.h>

struct ring_shared {
    uint32_t cons, prod;
};

struct vchan_interface {
    struct ring_shared left, right;
    uint16_t left_order, right_order;
    uint8_t cli_live, srv_live, cli_notify, srv_notify;
};

enum { NOTIFY_WRITE = 1, NOTIFY_READ = 2, CHUNK = 65536 };

struct ring {
    struct ring_shared *shared;
    unsigned char *data;
    uint32_t size;
    uint8_t *own_notify;  /* this end's notify byte, where the peer asks for events */
    uint8_t *writer_live; /* the live byte of the end that writes this ring */
};

/* The notify step after moving an index: an event would be sent if the peer had set the bit. */
static inline void notify(uint8_t *own, uint8_t bit)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_fetch_and(own, (uint8_t)~bit, __ATOMIC_SEQ_CST) & bit)
        die("an event was asked for");
}

static int best;

/* The best end's notify step: the fence, then a plain look at the byte; the locked clear only when
 * the peer asked (it never does here). */
static inline void notify_best(uint8_t *own, uint8_t bit)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(own, __ATOMIC_RELAXED) & bit)
        notify(own, bit);
}

/* The best end's own index and its view of the peer's, kept between calls: the end never reads
 * its own index back from the header. */
struct view {
    uint32_t own, peer;
};

/* Writes up to n bytes in pieces while there is room, returns how many. */
static inline uint32_t put_best(struct ring *r, struct view *w, const unsigned char *from, uint32_t n)
{
    uint32_t prod = w->own, done = 0, piece = r->size / 4;
    while (done < n) {
        uint32_t want = n - done < piece ? n - done : piece, room = r->size - (prod - w->peer);
        if (room < want) {
            w->peer = __atomic_load_n(&r->shared->cons, __ATOMIC_ACQUIRE);
            room = r->size - (prod - w->peer);
        }
        if (room == 0)
            break;
        uint32_t k = room < want ? room : want;
        uint32_t at = prod & (r->size - 1), first = r->size - at < k ? r->size - at : k;
        memcpy(r->data + at, from + done, first);
        memcpy(r->data, from + done + first, k - first);
        prod += k;
        done += k;
        __atomic_store_n(&r->shared->prod, prod, __ATOMIC_RELEASE);
    }
    w->own = prod;
    if (done > 0)
        notify_best(r->own_notify, NOTIFY_WRITE);
    return done;
}

/* Reads up to n bytes in pieces while there are some, returns how many; UINT32_MAX at the end. */
static inline uint32_t get_best(struct ring *r, struct view *w, unsigned char *to, uint32_t n)
{
    uint32_t cons = w->own, done = 0, piece = r->size / 4;
    while (done < n) {
        if (w->peer == cons)
            w->peer = __atomic_load_n(&r->shared->prod, __ATOMIC_ACQUIRE);
        uint32_t ready = w->peer - cons;
        if (ready == 0)
            break;
        uint32_t k = n - done < piece ? n - done : piece;
        if (k > ready)
            k = ready;
        uint32_t at = cons & (r->size - 1), first = r->size - at < k ? r->size - at : k;
        memcpy(to + done, r->data + at, first);
        memcpy(to + done + first, r->data, k - first);
        cons += k;
        done += k;
        __atomic_store_n(&r->shared->cons, cons, __ATOMIC_RELEASE);
    }
    w->own = cons;
    if (done > 0) {
        notify_best(r->own_notify, NOTIFY_READ);
        return done;
    }
    if (__atomic_load_n(r->writer_live, __ATOMIC_ACQUIRE) == 0 && __atomic_load_n(&r->shared->prod, __ATOMIC_ACQUIRE) == cons)
        return UINT32_MAX;
    return 0;
}

/* Writes up to n bytes (what fits), returns how many. */
static inline uint32_t put(struct ring *r, const unsigned char *from, uint32_t n)
{
    uint32_t prod = __atomic_load_n(&r->shared->prod, __ATOMIC_RELAXED);
    uint32_t space = r->size - (prod - __atomic_load_n(&r->shared->cons, __ATOMIC_ACQUIRE));
    if (n > space)
        n = space;
    if (n == 0)
        return 0;
    uint32_t at = prod & (r->size - 1), first = r->size - at < n ? r->size - at : n;
    memcpy(r->data + at, from, first);
    memcpy(r->data, from + first, n - first);
    __atomic_store_n(&r->shared->prod, prod + n, __ATOMIC_RELEASE);
    notify(r->own_notify, NOTIFY_WRITE);
    return n;
}

/* Reads up to n bytes (what is there), returns how many; UINT32_MAX once the writer has ended. */
static inline uint32_t get(struct ring *r, unsigned char *to, uint32_t n)
{
    uint32_t cons = __atomic_load_n(&r->shared->cons, __ATOMIC_RELAXED);
    uint32_t prod = __atomic_load_n(&r->shared->prod, __ATOMIC_ACQUIRE);
    if (prod == cons) {
        /* The end: the writer has gone and left nothing unread. */
        if (__atomic_load_n(r->writer_live, __ATOMIC_ACQUIRE) == 0 && __atomic_load_n(&r->shared->prod, __ATOMIC_ACQUIRE) == cons)
            return UINT32_MAX;
        return 0;
    }
    if (n > prod - cons)
        n = prod - cons;
    uint32_t at = cons & (r->size - 1), first = r->size - at < n ? r->size - at : n;
    memcpy(to, r->data + at, first);
    memcpy(to + first, r->data, n - first);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&r->shared->cons, cons + n, __ATOMIC_RELEASE);
    notify(r->own_notify, NOTIFY_READ);
    return n;
}

static struct view put_view, get_view;

static inline uint32_t put_any(struct ring *r, const unsigned char *from, uint32_t n)
{
    return best ? put_best(r, &put_view, from, n) : put(r, from, n);
}

static inline uint32_t get_any(struct ring *r, unsigned char *to, uint32_t n)
{
    return best ? get_best(r, &get_view, to, n) : get(r, to, n);
}

int main(int argc, char **argv)
{
    best = argc > 1 && strstr(argv[1], "-best") != NULL;
    int stream = argc > 1 && strncmp(argv[1], "stream", 6) == 0;
    uint32_t ring_size = stream && argc > 2 ? (uint32_t)atol(argv[2]) : 0;
    double seconds = argc > (stream ? 3 : 2) ? atof(argv[stream ? 3 : 2]) : 1.0;
    if (stream && ring_size != 1024 && ring_size != 2048) {
        fprintf(stderr, "an in-page ring is 1024 or 2048 bytes\n");
        return 2;
    }
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        die("mmap");
    struct vchan_interface *v = (struct vchan_interface *)page;
    v->left_order = stream && ring_size == 2048 ? 11 : 10;
    v->right_order = stream && ring_size == 2048 ? 10 : 11;
    v->cli_live = v->srv_live = 1;
    /* The client's (parent's) left ring, the server's (child's) right ring, each end with its own notify byte. */
    struct ring left = { &v->left, page + (v->left_order == 10 ? 1024 : 2048), 1u << v->left_order, &v->cli_notify, &v->cli_live };
    struct ring right = { &v->right, page + (v->right_order == 10 ? 1024 : 2048), 1u << v->right_order, &v->srv_notify, &v->srv_live };
    struct ring left_read = left, right_write = right;
    left_read.own_notify = &v->srv_notify;
    unsigned char *buf = malloc(CHUNK);
    memset(buf, 0x5a, CHUNK);
    pid_t pid = fork();
    if (pid == 0) {
        unsigned spins = 0;
        uint32_t n;
        unsigned char b;
        while ((n = get_any(&left_read, stream ? buf : &b, stream ? CHUNK : 1)) != UINT32_MAX) {
            if (n == 0) {
                relax(&spins);
                continue;
            }
            if (!stream)
                while (put_any(&right_write, &b, 1) == 0)
                    relax(&spins);
        }
        _exit(0);
    }
    struct ring right_read = right;
    right_read.own_notify = &v->cli_notify;
    uint64_t items = 0;
    unsigned spins = 0;
    double cpu = 0, start = 0, elapsed = 0;
    for (int phase = 0; phase < 2; phase++) {
        /* Phase 0 warms up (both processes running, pages faulted in), phase 1 measures. */
        double length = phase == 0 ? 0.05 : seconds;
        cpu = self_cpu_us();
        start = now_s();
        items = 0;
        while (now_s() - start < length) {
            for (int i = 0; i < (stream ? 16 : 256); i++, items++) {
                if (stream) {
                    for (uint32_t done = 0; done < CHUNK;) {
                        uint32_t n = put_any(&left, buf + done, CHUNK - done);
                        if (n == 0)
                            relax(&spins);
                        done += n;
                    }
                } else {
                    unsigned char b = (unsigned char)items, echo;
                    while (put_any(&left, &b, 1) == 0)
                        relax(&spins);
                    uint32_t n;
                    while ((n = get_any(&right_read, &echo, 1)) == 0)
                        relax(&spins);
                    if (n != 1 || echo != b)
                        die("echo");
                }
            }
        }
        elapsed = now_s() - start;
        cpu = self_cpu_us() - cpu;
    }
    /* Close as the protocol does: the live byte, after the last write (the child reads what is left). */
    __atomic_store_n(&v->cli_live, 0, __ATOMIC_RELEASE);
    double peer = reap(pid);
    if (stream)
        result(items * (double)CHUNK / elapsed / 1e6, (double)items, elapsed, cpu, peer);
    else
        result(elapsed * 1e6 / items, (double)items, elapsed, cpu, peer);
    return 0;
}
