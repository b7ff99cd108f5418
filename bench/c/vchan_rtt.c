/* A 1-byte round trip through libxenvchan's shared page, spinning: the least any vchan end that
 * keeps the wire format can do. The parent is the client (it writes the left ring, 1024 bytes at
 * offset 1024), the child the server (it echoes into the right ring, 2048 bytes at offset 2048).
 * Both ends follow the protocol's steps (docs/vchan.md, io/libxenvchan.h): a write copies the
 * byte, fences, moves prod, fences and fetch-and-clears its own notify byte; a read fences, copies,
 * fences, moves cons and does the same. No event is ever sent: neither end asks for one, since
 * both spin. What costs is the layout: both rings' indices and the notify bytes share the header's
 * first 24 bytes, one cache line, so each step moves that line between the cores.
 * value: microseconds per round trip. */
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

enum { NOTIFY_WRITE = 1, NOTIFY_READ = 2 };

/* The notify step after moving an index: an event would be sent if the bit was set. */
static inline int notify(uint8_t *own, uint8_t bit)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return (__atomic_fetch_and(own, (uint8_t)~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

static inline void put(struct ring_shared *r, unsigned char *data, uint32_t size, unsigned char b, uint8_t *own)
{
    uint32_t prod = __atomic_load_n(&r->prod, __ATOMIC_RELAXED);
    data[prod & (size - 1)] = b;
    __atomic_store_n(&r->prod, prod + 1, __ATOMIC_RELEASE);
    if (notify(own, NOTIFY_WRITE))
        die("an event was asked for");
}

/* Spins until a byte is there, then takes it. Returns -1 when the ring is closed (prod of ~0). */
static inline int get(struct ring_shared *r, unsigned char *data, uint32_t size, uint8_t *own, unsigned *spins)
{
    uint32_t cons = __atomic_load_n(&r->cons, __ATOMIC_RELAXED), prod;
    while ((prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE)) == cons)
        relax(spins);
    if (prod == UINT32_MAX)
        return -1;
    unsigned char b = data[cons & (size - 1)];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&r->cons, cons + 1, __ATOMIC_RELEASE);
    if (notify(own, NOTIFY_READ))
        die("an event was asked for");
    return b;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        die("mmap");
    struct vchan_interface *v = (struct vchan_interface *)page;
    v->left_order = 10;
    v->right_order = 11;
    v->cli_live = v->srv_live = 1;
    unsigned char *left = page + 1024, *right = page + 2048;
    pid_t pid = fork();
    if (pid == 0) {
        unsigned spins = 0;
        int b;
        while ((b = get(&v->left, left, 1024, &v->srv_notify, &spins)) >= 0)
            put(&v->right, right, 2048, (unsigned char)b, &v->srv_notify);
        _exit(0);
    }
    uint64_t n = 0;
    unsigned spins = 0;
    double cpu = 0, start = 0;
    for (int phase = 0; phase < 2; phase++) {
        /* Phase 0 warms up, phase 1 measures. */
        double length = phase == 0 ? 0.05 : seconds;
        cpu = self_cpu_us();
        start = now_s();
        uint64_t first = n;
        while (now_s() - start < length) {
            for (int i = 0; i < 256; i++, n++) {
                put(&v->left, left, 1024, (unsigned char)n, &v->cli_notify);
                if (get(&v->right, right, 2048, &v->cli_notify, &spins) != (unsigned char)n)
                    die("echo");
            }
        }
        if (phase == 1) {
            double elapsed = now_s() - start;
            cpu = self_cpu_us() - cpu;
            /* The ring's end for the child: a prod no real ring reaches in this run. */
            __atomic_store_n(&v->left.prod, UINT32_MAX, __ATOMIC_RELEASE);
            double peer = reap(pid);
            double trips = (double)(n - first);
            result(elapsed * 1e6 / trips, trips, elapsed, cpu, peer);
        }
    }
    return 0;
}
