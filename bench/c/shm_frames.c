/* The netif limit: a ring of <slots> 2 KiB frame slots in shared memory between two processes.
 * The parent copies <size>-byte frames into slots for <seconds> and publishes its index every
 * <batch> frames (or when the ring is full); the child copies each frame out into a buffer and
 * publishes its index every <batch> frames (or when the ring is empty). Busy polling.
 * value: frames per second. */
#include "bench.h"
#include <sys/mman.h>

#define SLOT 2048

struct control {
    _Alignas(CACHE_LINE) uint32_t produced;
    _Alignas(CACHE_LINE) uint32_t consumed;
    _Alignas(CACHE_LINE) uint32_t total;
    uint32_t finished;
};

struct slot {
    uint16_t length;
    unsigned char data[SLOT - sizeof(uint16_t)];
};

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : 64;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    uint32_t slots = argc > 3 ? (uint32_t)atol(argv[3]) : 256;
    uint32_t batch = argc > 4 ? (uint32_t)atol(argv[4]) : 32;
    if (size == 0 || size > SLOT - sizeof(uint16_t) || slots == 0 || (slots & (slots - 1)) != 0 || batch == 0 || batch > slots) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct control *c = mmap(NULL, 4096 + (size_t)slots * SLOT, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        die("mmap");
    struct slot *ring = (struct slot *)((unsigned char *)c + 4096);
    memset(ring, 0, (size_t)slots * SLOT);
    unsigned char frame[SLOT];
    memset(frame, 0x5a, sizeof frame);
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t cons = 0, published = 0;
        unsigned spins = 0;
        uint64_t check = 0;
        for (;;) {
            uint32_t prod = __atomic_load_n(&c->produced, __ATOMIC_ACQUIRE);
            if (prod == cons) {
                if (published != cons)
                    __atomic_store_n(&c->consumed, published = cons, __ATOMIC_RELEASE);
                if (__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) && __atomic_load_n(&c->total, __ATOMIC_RELAXED) == cons)
                    break;
                relax(&spins);
                continue;
            }
            while (cons != prod) {
                struct slot *s = &ring[cons & (slots - 1)];
                memcpy(frame, s->data, s->length);
                check += frame[0];
                if (++cons - published >= batch)
                    __atomic_store_n(&c->consumed, published = cons, __ATOMIC_RELEASE);
            }
        }
        _exit(check == 0 ? 1 : 0);
    }
    double cpu = self_cpu_us(), start = now_s();
    uint32_t prod = 0, published = 0;
    uint64_t sent = 0;
    unsigned spins = 0;
    while (now_s() - start < seconds) {
        for (int i = 0; i < 1024; i++) {
            while (prod - __atomic_load_n(&c->consumed, __ATOMIC_ACQUIRE) == slots) {
                if (published != prod)
                    __atomic_store_n(&c->produced, published = prod, __ATOMIC_RELEASE);
                relax(&spins);
            }
            struct slot *s = &ring[prod & (slots - 1)];
            memcpy(s->data, frame, size);
            s->length = (uint16_t)size;
            if (++prod - published >= batch)
                __atomic_store_n(&c->produced, published = prod, __ATOMIC_RELEASE);
            sent++;
        }
    }
    __atomic_store_n(&c->produced, prod, __ATOMIC_RELEASE);
    __atomic_store_n(&c->total, prod, __ATOMIC_RELAXED);
    __atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&c->consumed, __ATOMIC_ACQUIRE) != prod)
        relax(&spins);
    double elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    double peer = reap(pid);
    result(sent / elapsed, (double)sent, elapsed, cpu, peer);
    return 0;
}
