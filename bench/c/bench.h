/* Shared helpers of the C references: clocks, CPU time, the result line, forking a peer.
 * Each reference prints one line of key=value pairs that the bench parses:
 *   value=<figure> items=<count> seconds=<elapsed> cpu_a_us=<this process> cpu_b_us=<the peer>
 * CPU times are user + system. cpu_a_us covers the measured interval; cpu_b_us is the forked
 * peer's whole life (wait4), which for these small programs is the interval plus a few pages of
 * set-up. */
#ifndef MIRAGE_BENCH_H
#define MIRAGE_BENCH_H
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static inline double rusage_us(const struct rusage *r)
{
    return (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 + r->ru_utime.tv_usec + r->ru_stime.tv_usec;
}

static inline double self_cpu_us(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return rusage_us(&r);
}

static inline void die(const char *what)
{
    perror(what);
    exit(2);
}

/* Waits for the peer and returns its CPU time; a peer that failed fails the run. */
static inline double reap(pid_t pid)
{
    int status;
    struct rusage r;
    if (wait4(pid, &status, 0, &r) != pid)
        die("wait4");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "peer failed (status %d)\n", status);
        exit(2);
    }
    return rusage_us(&r);
}

static inline void result(double value, double items, double seconds, double cpu_a, double cpu_b)
{
    printf("value=%.6g items=%.0f seconds=%.6f cpu_a_us=%.1f cpu_b_us=%.1f\n", value, items, seconds, cpu_a, cpu_b);
}

/* A busy wait that gives the core away now and then: on a machine with fewer free cores than
 * spinners, a waiter that never yields holds the core its peer needs. */
static inline void relax(unsigned *spins)
{
    if ((++*spins & 63) == 0)
        sched_yield();
    else
        __builtin_ia32_pause();
}

static inline size_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return got;
        got += (size_t)r;
    }
    return got;
}

static inline void write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        done += (size_t)w;
    }
}

#define CACHE_LINE 64
#endif
