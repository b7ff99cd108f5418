/* Unix stream socket throughput between two processes: the parent writes 64 KiB at a time for
 * <seconds>, the child reads until end of file and answers one byte. value: MB/s (1e6 bytes). */
#include "bench.h"
#include <sys/socket.h>

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    size_t chunk = argc > 2 ? (size_t)atol(argv[2]) : 65536;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    char *buf = malloc(chunk);
    memset(buf, 0x5a, chunk);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        ssize_t n;
        while ((n = read(sv[1], buf, chunk)) > 0)
            ;
        write_full(sv[1], "k", 1);
        _exit(0);
    }
    close(sv[1]);
    double cpu = self_cpu_us(), start = now_s();
    uint64_t bytes = 0;
    while (now_s() - start < seconds) {
        for (int i = 0; i < 16; i++) {
            write_full(sv[0], buf, chunk);
            bytes += chunk;
        }
    }
    shutdown(sv[0], SHUT_WR);
    char ack;
    if (read_full(sv[0], &ack, 1) != 1)
        die("ack");
    double elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    double peer = reap(pid);
    result(bytes / elapsed / 1e6, (double)bytes / chunk, elapsed, cpu, peer);
    return 0;
}
