/* A busy-polling single-producer single-consumer byte ring in shared memory between two processes:
 * <ring> bytes (a power of two), the parent writes <chunk> bytes at a time for <seconds> (copying
 * in, publishing its index once per write), the child copies out into a buffer of the same size.
 * value: MB/s (1e6 bytes). */
#include "bench.h"
#include <sys/mman.h>

struct control {
    _Alignas(CACHE_LINE) uint64_t produced;
    _Alignas(CACHE_LINE) uint64_t consumed;
    _Alignas(CACHE_LINE) uint64_t total; /* the producer's final count; UINT64_MAX until then */
};

int main(int argc, char **argv)
{
    size_t ring = argc > 1 ? (size_t)atol(argv[1]) : (1u << 20);
    size_t chunk = argc > 2 ? (size_t)atol(argv[2]) : 65536;
    double seconds = argc > 3 ? atof(argv[3]) : 1.0;
    if (ring == 0 || (ring & (ring - 1)) != 0 || chunk == 0) {
        fprintf(stderr, "the ring must be a power of two\n");
        return 2;
    }
    /* The control block in the first page, the ring in the pages after it. */
    struct control *c = mmap(NULL, 4096 + ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        die("mmap");
    unsigned char *data;
    data = (unsigned char *)c + 4096;
    c->total = UINT64_MAX;
    memset(data, 0, ring);
    unsigned char *buf = malloc(chunk);
    memset(buf, 0x5a, chunk);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t cons = 0;
        unsigned spins = 0;
        for (;;) {
            uint64_t prod = __atomic_load_n(&c->produced, __ATOMIC_ACQUIRE);
            if (prod == cons) {
                if (__atomic_load_n(&c->total, __ATOMIC_ACQUIRE) == cons)
                    break;
                relax(&spins);
                continue;
            }
            size_t n = prod - cons;
            if (n > chunk)
                n = chunk;
            size_t at = cons & (ring - 1), first = ring - at < n ? ring - at : n;
            memcpy(buf, data + at, first);
            memcpy(buf + first, data, n - first);
            cons += n;
            __atomic_store_n(&c->consumed, cons, __ATOMIC_RELEASE);
        }
        _exit(0);
    }
    double cpu = self_cpu_us(), start = now_s();
    uint64_t prod = 0;
    unsigned spins = 0;
    while (now_s() - start < seconds) {
        for (int i = 0; i < 16; i++) {
            size_t left = chunk;
            while (left > 0) {
                size_t space = ring - (prod - __atomic_load_n(&c->consumed, __ATOMIC_ACQUIRE));
                if (space == 0) {
                    relax(&spins);
                    continue;
                }
                size_t n = space < left ? space : left;
                size_t at = prod & (ring - 1), first = ring - at < n ? ring - at : n;
                memcpy(data + at, buf + (chunk - left), first);
                memcpy(data, buf + (chunk - left) + first, n - first);
                prod += n;
                left -= n;
                __atomic_store_n(&c->produced, prod, __ATOMIC_RELEASE);
            }
        }
    }
    __atomic_store_n(&c->total, prod, __ATOMIC_RELEASE);
    while (__atomic_load_n(&c->consumed, __ATOMIC_ACQUIRE) != prod)
        relax(&spins);
    double elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    double peer = reap(pid);
    result(prod / elapsed / 1e6, (double)prod / chunk, elapsed, cpu, peer);
    return 0;
}
