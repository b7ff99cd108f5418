/* A peer written only from docs/unix-backend.md: joins a domain, maps a grant, opens an event
 * channel, sends one event and waits for one back. Proves the convention is enough for C.
 * usage: c_peer <root> <my-domain> <granting-domain> <ref> <listening-domain> <port> */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(2); }
static uint32_t get32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t get16(const unsigned char *p) { return p[0] | p[1] << 8; }
static void put32(unsigned char *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static void put16(unsigned char *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }

/* Maps an existing page file of exactly 4096 bytes. */
static unsigned char *map_page(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size != 4096) die(path);
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die(path);
    close(fd);
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 7) { fprintf(stderr, "usage: c_peer root me granter ref listener port\n"); return 2; }
    const char *root = argv[1];
    int me = atoi(argv[2]), granter = atoi(argv[3]), listener = atoi(argv[5]);
    unsigned ref = strtoul(argv[4], NULL, 10), port = strtoul(argv[6], NULL, 10);
    char path[1024], dir[256];

    /* Join the domain: shared flock on <root>/<d>/lock for the process's life. */
    snprintf(dir, sizeof dir, "%s/%d", root, me);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) die("mkdir");
    snprintf(path, sizeof path, "%s/lock", dir);
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_SH) != 0) die("lock");

    /* Map the grant: lock the page shared, check the metadata, mmap it. */
    snprintf(path, sizeof path, "%s/%d/gnt/%u", root, granter, ref);
    int page_fd = open(path, O_RDWR | O_CLOEXEC);
    if (page_fd < 0 || flock(page_fd, LOCK_SH) != 0) die("open page");
    char meta_path[1100];
    snprintf(meta_path, sizeof meta_path, "%s.grant", path);
    unsigned char meta[32];
    int meta_fd = open(meta_path, O_RDONLY | O_CLOEXEC);
    if (meta_fd < 0 || read(meta_fd, meta, 32) != 32) die("metadata");
    close(meta_fd);
    if (get32(meta) != 0x544E4758 || get16(meta + 4) != 1 || get16(meta + 6) != granter || get16(meta + 8) != me || (get16(meta + 10) & 4))
        { fprintf(stderr, "grant not for us\n"); return 2; }
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, page_fd, 0);
    if (page == MAP_FAILED) die("mmap page");
    page[1] = page[0] + 1;

    /* Own the domain's event channels: evtchn.lock, then a fresh doorbell. */
    snprintf(path, sizeof path, "%s/evtchn.lock", dir);
    int claim = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (claim < 0 || flock(claim, LOCK_EX | LOCK_NB) != 0) die("evtchn.lock");
    char bell_path[1024];
    snprintf(bell_path, sizeof bell_path, "%s/evtchn-doorbell", dir);
    unlink(bell_path);
    int bell_fd = open(bell_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (bell_fd < 0 || ftruncate(bell_fd, 4096) != 0) die("doorbell");
    close(bell_fd);
    uint32_t *bell = (uint32_t *)map_page(bell_path);

    /* Open the event channel: request, reply, counter page, the listener's doorbell. */
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%d/evtchn", root, listener);
    if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof sun) != 0) die("connect");
    unsigned char msg[64];
    put32(msg, 0x54564558); put16(msg + 4, 2); put16(msg + 6, me); put32(msg + 8, port); put32(msg + 12, 1);
    if (send(s, msg, 16, 0) != 16) die("send request");
    if (recv(s, msg, sizeof msg, 0) != 16 || get32(msg) != 0x54564558 || (int16_t)get16(msg + 6) != 0)
        { fprintf(stderr, "refused\n"); return 2; }
    snprintf(path, sizeof path, "%s/%d/evtchn-%u", root, listener, port);
    unsigned char *cp = map_page(path);
    unlink(path);
    snprintf(path, sizeof path, "%s/%d/evtchn-doorbell", root, listener);
    uint32_t *peer_bell = (uint32_t *)map_page(path);

    /* Send: bump the listener's counter; if it waits, ring its doorbell (bump, then wake). */
    __atomic_fetch_add((uint64_t *)(cp + 0), 1, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n((uint32_t *)(cp + 8), 0, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(peer_bell, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, peer_bell, FUTEX_WAKE, 1, NULL, NULL, 0);
    }

    /* Receive one event: say we wait, re-check, then sleep on the own doorbell (any ring means "look"). */
    time_t give_up = time(NULL) + 20;
    while (__atomic_load_n((uint64_t *)(cp + 64), __ATOMIC_SEQ_CST) == 0) {
        uint32_t rung = __atomic_load_n(bell, __ATOMIC_SEQ_CST);
        __atomic_store_n((uint32_t *)(cp + 72), 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n((uint64_t *)(cp + 64), __ATOMIC_SEQ_CST) != 0) break;
        struct pollfd pfd = { .fd = s, .events = POLLIN };
        if (poll(&pfd, 1, 0) == 1) { fprintf(stderr, "peer closed\n"); return 3; }
        if (time(NULL) > give_up) { fprintf(stderr, "no event\n"); return 3; }
        struct timespec second = { .tv_sec = 1 };
        syscall(SYS_futex, bell, FUTEX_WAIT, rung, &second, NULL, 0);
    }

    /* Close the channel and the doorbell, unmap and let go of the page (the last holder removes it),
     * give up the event channels, leave the domain. */
    close(s);
    munmap(cp, 4096);
    munmap(peer_bell, 4096);
    munmap(bell, 4096);
    unlink(bell_path);
    snprintf(path, sizeof path, "%s/evtchn.lock", dir);
    unlink(path);
    close(claim);
    munmap(page, 4096);
    flock(page_fd, LOCK_UN);
    close(page_fd);
    flock(lock, LOCK_UN);
    if (flock(lock, LOCK_EX | LOCK_NB) == 0) {
        snprintf(path, sizeof path, "%s/lock", dir);
        unlink(path);
        rmdir(dir);
    }
    close(lock);
    printf("ok\n");
    return 0;
}
