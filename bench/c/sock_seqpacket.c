/* SOCK_SEQPACKET frames between two processes: the parent sends <size>-byte frames for <seconds>,
 * the child receives each into a buffer until end of file and answers with its count.
 * value: frames per second. */
#include "bench.h"
#include <sys/socket.h>

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : 64;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
        die("socketpair");
    char frame[65536];
    memset(frame, 0x5a, sizeof frame);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        uint64_t count = 0;
        ssize_t n;
        while ((n = recv(sv[1], frame, sizeof frame, 0)) > 0)
            count++;
        write_full(sv[1], &count, sizeof count);
        _exit(0);
    }
    close(sv[1]);
    double cpu = self_cpu_us(), start = now_s();
    uint64_t sent = 0;
    while (now_s() - start < seconds) {
        for (int i = 0; i < 64; i++) {
            if (send(sv[0], frame, size, 0) != (ssize_t)size)
                die("send");
            sent++;
        }
    }
    shutdown(sv[0], SHUT_WR);
    uint64_t got = 0;
    if (recv(sv[0], &got, sizeof got, 0) != sizeof got || got != sent)
        die("count");
    double elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    double peer = reap(pid);
    result(sent / elapsed, (double)sent, elapsed, cpu, peer);
    return 0;
}
