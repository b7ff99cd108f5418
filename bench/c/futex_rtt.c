/* A round trip between two processes that block: each side bumps a counter word in shared memory
 * and wakes the other with FUTEX_WAKE, then sleeps in FUTEX_WAIT until the other's word moves. No
 * spinning: the least a wait that truly blocks can cost, with no socket. Each word has a cache line
 * of its own. value: microseconds per round trip. */
#include "bench.h"
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>

struct control {
    _Alignas(CACHE_LINE) uint32_t ping;
    _Alignas(CACHE_LINE) uint32_t pong;
};

static long futex(uint32_t *word, int op, uint32_t value)
{
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

/* Sleeps until *word is no longer seen; returns the new value. */
static uint32_t wait_past(uint32_t *word, uint32_t seen)
{
    uint32_t v;
    while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) == seen)
        futex(word, FUTEX_WAIT, seen);
    return v;
}

static void post(uint32_t *word, uint32_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
    futex(word, FUTEX_WAKE, 1);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    struct control *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        die("mmap");
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t seen = 0;
        for (;;) {
            seen = wait_past(&c->ping, seen);
            if (seen == UINT32_MAX)
                break;
            post(&c->pong, seen);
        }
        _exit(0);
    }
    uint32_t n = 0;
    double cpu = 0, start = 0;
    for (int phase = 0; phase < 2; phase++) {
        /* Phase 0 warms up (both processes running, pages faulted in), phase 1 measures. */
        double length = phase == 0 ? 0.05 : seconds;
        cpu = self_cpu_us();
        start = now_s();
        uint32_t first = n;
        while (now_s() - start < length) {
            for (int i = 0; i < 256; i++) {
                post(&c->ping, ++n);
                wait_past(&c->pong, n - 1);
            }
        }
        if (phase == 1) {
            double elapsed = now_s() - start;
            cpu = self_cpu_us() - cpu;
            post(&c->ping, UINT32_MAX);
            double peer = reap(pid);
            double trips = (double)(n - first);
            result(elapsed * 1e6 / trips, trips, elapsed, cpu, peer);
        }
    }
    return 0;
}
