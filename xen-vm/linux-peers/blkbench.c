// blkbench <block device> <MiB>: what a guest's disk does, measured the way fio would, for a guest
// whose busybox has no fio. Everything goes through O_DIRECT, so the page cache is out of it and
// each request reaches the frontend's ring. Overwrites the first <MiB> of the device.
//   seq-write   1 MiB writes over <MiB>, then fdatasync (MiB/s)
//   seq-read    1 MiB reads of the same (MiB/s)
//   rand-read   4 KiB reads at random 4 KiB offsets in the same range for 5 s, one at a time (QD 1)
//               and 32 in flight through Linux AIO (QD 32) (IOPS)
// Prints "<name> <value> <unit>" lines; exits 1 with a message on any error or short transfer.
// link: -static
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1 << 20)
#define SMALL 4096
#define DEPTH 32
#define SECONDS 5.0

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

// xorshift64: the random offsets need no quality, only no pattern the backend could cache.
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: blkbench <block device> <MiB>\n");
        return 2;
    }
    long mib = atol(argv[2]);
    int fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0 || mib <= 0)
        fail(argv[1]);
    char *buf;
    if (posix_memalign((void **)&buf, 4096, BLOCK))
        fail("posix_memalign");
    for (int i = 0; i < BLOCK; i++)
        buf[i] = (char)(i * 7 + 1);

    double t = now();
    for (long i = 0; i < mib; i++)
        if (pwrite(fd, buf, BLOCK, (off_t)i * BLOCK) != BLOCK)
            fail("seq-write");
    if (fdatasync(fd))
        fail("fdatasync");
    printf("seq-write %.1f MiB/s\n", mib / (now() - t));

    t = now();
    for (long i = 0; i < mib; i++)
        if (pread(fd, buf, BLOCK, (off_t)i * BLOCK) != BLOCK)
            fail("seq-read");
    printf("seq-read %.1f MiB/s\n", mib / (now() - t));

    uint64_t seed = 88172645463325252ull, pages = (uint64_t)mib * (BLOCK / SMALL);
    long done = 0;
    t = now();
    double end = t + SECONDS;
    while (now() < end) {
        for (int i = 0; i < 64; i++, done++)
            if (pread(fd, buf, SMALL, (off_t)(next(&seed) % pages) * SMALL) != SMALL)
                fail("rand-read");
    }
    printf("rand-read-qd1 %.0f IOPS\n", done / (now() - t));

    // QD 32: Linux AIO through its system calls (no libaio in a static busybox guest).
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, DEPTH, &ctx))
        fail("io_setup");
    char *bufs;
    if (posix_memalign((void **)&bufs, 4096, DEPTH * SMALL))
        fail("posix_memalign");
    struct iocb cbs[DEPTH], *ptrs[DEPTH];
    struct io_event events[DEPTH];
    memset(cbs, 0, sizeof cbs);
    for (int i = 0; i < DEPTH; i++) {
        cbs[i].aio_fildes = fd;
        cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
        cbs[i].aio_buf = (uint64_t)(uintptr_t)(bufs + i * SMALL);
        cbs[i].aio_nbytes = SMALL;
        cbs[i].aio_offset = (int64_t)(next(&seed) % pages) * SMALL;
        cbs[i].aio_data = i;
        ptrs[i] = &cbs[i];
    }
    if (syscall(SYS_io_submit, ctx, DEPTH, ptrs) != DEPTH)
        fail("io_submit");
    done = 0;
    t = now();
    end = t + SECONDS;
    int inflight = DEPTH;
    while (inflight > 0) {
        long n = syscall(SYS_io_getevents, ctx, 1, DEPTH, events, NULL);
        if (n < 0)
            fail("io_getevents");
        int again = 0;
        for (long i = 0; i < n; i++) {
            if (events[i].res != SMALL) {
                fprintf(stderr, "rand-read: a 4 KiB read returned %lld\n", (long long)events[i].res);
                return 1;
            }
            done++;
            inflight--;
            if (now() < end) {
                struct iocb *cb = &cbs[events[i].data];
                cb->aio_offset = (int64_t)(next(&seed) % pages) * SMALL;
                ptrs[again++] = cb;
            }
        }
        if (again > 0) {
            if (syscall(SYS_io_submit, ctx, again, ptrs) != again)
                fail("io_submit");
            inflight += again;
        }
    }
    printf("rand-read-qd32 %.0f IOPS\n", done / (now() - t));
    syscall(SYS_io_destroy, ctx);
    close(fd);
    return 0;
}
