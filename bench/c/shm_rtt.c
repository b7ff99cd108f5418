/* A round trip through shared memory between two processes: the parent bumps a counter, the child
 * spins until it sees it and bumps its own, the parent spins until it sees that. Each counter has a
 * cache line of its own. value: microseconds per round trip. */
#include "bench.h"
#include <sys/mman.h>

struct control {
    _Alignas(CACHE_LINE) uint64_t ping;
    _Alignas(CACHE_LINE) uint64_t pong;
};

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    struct control *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        die("mmap");
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t seen = 0;
        unsigned spins = 0;
        for (;;) {
            uint64_t v = __atomic_load_n(&c->ping, __ATOMIC_ACQUIRE);
            if (v == seen) {
                relax(&spins);
                continue;
            }
            if (v == UINT64_MAX)
                break;
            seen = v;
            __atomic_store_n(&c->pong, v, __ATOMIC_RELEASE);
        }
        _exit(0);
    }
    uint64_t n = 0;
    unsigned spins = 0;
    double cpu = 0, start = 0;
    for (int phase = 0; phase < 2; phase++) {
        /* Phase 0 warms up (both processes running, pages faulted in), phase 1 measures. */
        double length = phase == 0 ? 0.05 : seconds;
        cpu = self_cpu_us();
        start = now_s();
        uint64_t first = n;
        while (now_s() - start < length) {
            for (int i = 0; i < 256; i++) {
                __atomic_store_n(&c->ping, ++n, __ATOMIC_RELEASE);
                while (__atomic_load_n(&c->pong, __ATOMIC_ACQUIRE) != n)
                    relax(&spins);
            }
        }
        if (phase == 1) {
            double elapsed = now_s() - start;
            cpu = self_cpu_us() - cpu;
            __atomic_store_n(&c->ping, UINT64_MAX, __ATOMIC_RELEASE);
            double peer = reap(pid);
            double trips = (double)(n - first);
            result(elapsed * 1e6 / trips, trips, elapsed, cpu, peer);
        }
    }
    return 0;
}
