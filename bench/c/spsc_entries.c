/* The in-heap ring's limit: a shared request/response ring of fixed-size entries between two
 * threads, as Xen's ring.h lays it out (each slot holds a request, then its response), busy
 * polling. The front fills every free slot with a 12-byte request and publishes req_prod; the
 * back answers each in place with a 4-byte response and publishes rsp_prod; the front reads the
 * responses. <entries> slots (a power of two), <items> round trips.
 * With a third argument "ringh" the indices sit where ring.h puts them (req_prod, req_event, rsp_prod,
 * rsp_event in the first 16 bytes of one 64-byte header, as the C# ring must keep them) and every
 * publication is ring.h's RING_PUSH_*_AND_CHECK_NOTIFY: the store, a full barrier, and a read of the
 * peer's event index (its answer is ignored: both sides busy poll and never ask).
 * Without it, each producer index has a cache line of its own and a publication is one release store.
 * value: round trips per second. cpu_a_us is the whole process (both threads); cpu_b_us is 0. */
#include "bench.h"
#include <pthread.h>

struct request { uint32_t gref; uint16_t offset, flags, id, size; };
struct response { uint16_t id; int16_t status; };
union entry { struct request req; struct response rsp; };

static struct {
    _Alignas(CACHE_LINE) uint32_t req_prod;
    _Alignas(CACHE_LINE) uint32_t rsp_prod;
    _Alignas(CACHE_LINE) uint32_t entries;
    uint64_t items;
    union entry *ring;
    /* Where the indices are: these two lines, or ring.h's header. */
    uint32_t *req_prod_at, *rsp_prod_at, *req_event_at, *rsp_event_at;
    int ringh;
} shared;

/* ring.h's shared header: req_prod, req_event, rsp_prod, rsp_event, then padding to 64 bytes. */
static _Alignas(CACHE_LINE) uint32_t sring_header[CACHE_LINE / 4];

/* Publishes a producer index; as RING_PUSH_*_AND_CHECK_NOTIFY in the ring.h mode, and then returns
 * whether the peer asked to be notified. */
static inline int publish(uint32_t *prod_at, uint32_t *event_at, uint32_t old, uint32_t now)
{
    if (!shared.ringh) {
        __atomic_store_n(prod_at, now, __ATOMIC_RELEASE);
        return 0;
    }
    __atomic_store_n(prod_at, now, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return (uint32_t)(now - __atomic_load_n(event_at, __ATOMIC_RELAXED)) < (uint32_t)(now - old);
}

static void *back(void *unused)
{
    (void)unused;
    uint32_t req_cons = 0, rsp_prod = 0, published = 0, mask = shared.entries - 1;
    unsigned spins = 0;
    for (uint64_t answered = 0; answered < shared.items;) {
        uint32_t prod = __atomic_load_n(shared.req_prod_at, __ATOMIC_ACQUIRE);
        if (prod == req_cons) {
            relax(&spins);
            continue;
        }
        while (req_cons != prod) {
            union entry *e = &shared.ring[req_cons++ & mask];
            struct request r = e->req;
            e->rsp.id = r.id;
            e->rsp.status = (int16_t)(r.gref & 1);
            rsp_prod++;
            answered++;
        }
        publish(shared.rsp_prod_at, shared.rsp_event_at, published, rsp_prod);
        published = rsp_prod;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    shared.entries = argc > 1 ? (uint32_t)atol(argv[1]) : 4096;
    shared.items = argc > 2 ? (uint64_t)atoll(argv[2]) : 10000000;
    shared.ringh = argc > 3 && strcmp(argv[3], "ringh") == 0;
    if (shared.ringh) {
        shared.req_prod_at = &sring_header[0];
        shared.req_event_at = &sring_header[1];
        shared.rsp_prod_at = &sring_header[2];
        shared.rsp_event_at = &sring_header[3];
        /* SHARED_RING_INIT: both events one past the producers. */
        sring_header[1] = sring_header[3] = 1;
    } else {
        shared.req_prod_at = &shared.req_prod;
        shared.rsp_prod_at = &shared.rsp_prod;
    }
    if (shared.entries == 0 || (shared.entries & (shared.entries - 1)) != 0) {
        fprintf(stderr, "entries must be a power of two\n");
        return 2;
    }
    shared.ring = aligned_alloc(4096, shared.entries * sizeof(union entry) + 4096);
    memset(shared.ring, 0, shared.entries * sizeof(union entry));
    uint32_t mask = shared.entries - 1, req_prod = 0, req_published = 0, rsp_cons = 0;
    uint64_t sent = 0, received = 0, check = 0;
    unsigned spins = 0;
    double cpu = self_cpu_us(), start = now_s();
    pthread_t thread;
    if (pthread_create(&thread, NULL, back, NULL) != 0)
        die("pthread_create");
    while (received < shared.items) {
        int progress = 0;
        while (req_prod - rsp_cons < shared.entries && sent < shared.items) {
            union entry *e = &shared.ring[req_prod++ & mask];
            e->req.gref = (uint32_t)sent;
            e->req.offset = (uint16_t)sent;
            e->req.flags = 0;
            e->req.id = (uint16_t)sent;
            e->req.size = 1514;
            sent++;
            progress = 1;
        }
        if (req_prod != req_published) {
            publish(shared.req_prod_at, shared.req_event_at, req_published, req_prod);
            req_published = req_prod;
        }
        uint32_t prod = __atomic_load_n(shared.rsp_prod_at, __ATOMIC_ACQUIRE);
        while (rsp_cons != prod) {
            struct response r = shared.ring[rsp_cons++ & mask].rsp;
            check += r.id + (uint16_t)r.status;
            received++;
            progress = 1;
        }
        if (!progress)
            relax(&spins);
    }
    pthread_join(thread, NULL);
    double elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    if (check == 0)
        return 1;
    result(received / elapsed, (double)received, elapsed, cpu, 0);
    return 0;
}
