/* Request/reply over a Unix stream socket between two processes, one at a time: the parent writes
 * <request> bytes, the child reads them whole and writes <reply> bytes back. With 1 and 1 it is the
 * one-byte ping-pong; with a Xenstore read's sizes it is the daemon's floor.
 * value: microseconds per round trip. */
#include "bench.h"
#include <sys/socket.h>

int main(int argc, char **argv)
{
    size_t request = argc > 1 ? (size_t)atol(argv[1]) : 1;
    size_t reply = argc > 2 ? (size_t)atol(argv[2]) : 1;
    double seconds = argc > 3 ? atof(argv[3]) : 1.0;
    if (request < 1 || reply < 1 || request > 4096 || reply > 4096) {
        fprintf(stderr, "sizes must be 1 to 4096\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    char buf[4096];
    memset(buf, 0x5a, sizeof buf);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        while (read_full(sv[1], buf, request) == request)
            write_full(sv[1], buf, reply);
        _exit(0);
    }
    close(sv[1]);
    /* Warm up: the first round trips fault in the peer's pages. */
    for (int i = 0; i < 1000; i++) {
        write_full(sv[0], buf, request);
        if (read_full(sv[0], buf, reply) != reply)
            die("reply");
    }
    double cpu = self_cpu_us(), start = now_s(), elapsed;
    uint64_t trips = 0;
    while ((elapsed = now_s() - start) < seconds) {
        for (int i = 0; i < 64; i++) {
            write_full(sv[0], buf, request);
            if (read_full(sv[0], buf, reply) != reply)
                die("reply");
        }
        trips += 64;
    }
    elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    close(sv[0]);
    double peer = reap(pid);
    result(elapsed * 1e6 / trips, (double)trips, elapsed, cpu, peer);
    return 0;
}
