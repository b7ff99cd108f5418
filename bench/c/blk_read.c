/* The blkif limit: reads of an image file from one process.
 *   blk_read <path> seq <block> <seconds>             one thread, pread of consecutive blocks
 *   blk_read <path> rand <block> <seconds> <depth>    <depth> threads, each a pread of a random block
 * value: reads per second. cpu_a_us is the whole process; cpu_b_us is 0. */
#include "bench.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

static int fd;
static size_t block;
static uint64_t blocks;
static double deadline;
static uint64_t counts[1024];

static void *reader(void *arg)
{
    size_t me = (size_t)arg;
    unsigned char *buf = aligned_alloc(4096, block);
    uint64_t state = 0x9e3779b97f4a7c15ull * (me + 1), n = 0;
    while (now_s() < deadline) {
        for (int i = 0; i < 64; i++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if (pread(fd, buf, block, (off_t)((state % blocks) * block)) != (ssize_t)block)
                die("pread");
        }
        n += 64;
    }
    counts[me] = n;
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: blk_read <path> seq|rand <block> <seconds> [depth]\n");
        return 2;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0)
        die("open");
    struct stat st;
    fstat(fd, &st);
    block = (size_t)atol(argv[3]);
    blocks = (uint64_t)st.st_size / block;
    double seconds = atof(argv[4]);
    size_t depth = argc > 5 ? (size_t)atol(argv[5]) : 1;
    if (blocks == 0 || depth == 0 || depth > 1024) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    double cpu = self_cpu_us(), start = now_s();
    deadline = start + seconds;
    uint64_t total = 0;
    if (strcmp(argv[2], "seq") == 0) {
        unsigned char *buf = aligned_alloc(4096, block);
        while (now_s() < deadline) {
            if (pread(fd, buf, block, (off_t)((total % blocks) * block)) != (ssize_t)block)
                die("pread");
            total++;
        }
    } else {
        pthread_t threads[1024];
        for (size_t i = 0; i < depth; i++)
            if (pthread_create(&threads[i], NULL, reader, (void *)i) != 0)
                die("pthread_create");
        for (size_t i = 0; i < depth; i++) {
            pthread_join(threads[i], NULL);
            total += counts[i];
        }
    }
    double elapsed = now_s() - start;
    cpu = self_cpu_us() - cpu;
    result(total / elapsed, (double)total, elapsed, cpu, 0);
    return 0;
}
