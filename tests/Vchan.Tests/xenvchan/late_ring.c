/* The event-channel shim against a sender whose ring comes late: the sender counts an event, the
 * shim delivers it and unmasks the port (which says the port waits again), and only then does the
 * sender take the waiting word and ring, for an event already delivered. The next event must still
 * make xenevtchn_fd readable: the shim must say again that the port waits after that ring.
 *
 * This process is two domains: XEN_DOMID (through the shim) listens; the sender is domain <sender>,
 * played here by hand from docs/unix-backend.md in the order above, since the .NET sender's two
 * steps cannot be held apart.
 * usage: late_ring <sender>   (XEN_ROOT and XEN_DOMID set; the shim first in LD_LIBRARY_PATH)
 * prints: "delivered" and exits 0, or says what went wrong and exits 1. */
#include "xen_unix_domain.h"

#include <poll.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <xenevtchn.h>

#define LISTENER_COUNT 0
#define LISTENER_WAITING 8

static int fail(const char *what)
{
    fprintf(stderr, "late_ring: %s: %s\n", what, strerror(errno));
    return 1;
}

static void *map_file(const char *path, int create)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
    if (fd < 0 || (create && ftruncate(fd, 4096) != 0))
        return MAP_FAILED;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return page;
}

static void ring(uint32_t *bell)
{
    __atomic_fetch_add(bell, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, bell, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int main(int argc, char **argv)
{
    const char *root = getenv("XEN_ROOT"), *me = getenv("XEN_DOMID");
    if (argc != 2 || root == NULL || me == NULL) {
        fprintf(stderr, "usage: late_ring <sender>, with XEN_ROOT and XEN_DOMID set\n");
        return 2;
    }
    int sender = atoi(argv[1]);
    xenevtchn_handle *h = xenevtchn_open(NULL, 0);
    if (h == NULL)
        return fail("xenevtchn_open");
    int port = xenevtchn_bind_unbound_port(h, (uint32_t)sender);
    if (port < 0)
        return fail("xenevtchn_bind_unbound_port");

    /* The sender connects: its doorbell, the request, then the listener's counter page and doorbell. */
    char path[4096];
    snprintf(path, sizeof path, "%s/%d", root, sender);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return fail(path);
    snprintf(path, sizeof path, "%s/%d/evtchn-doorbell", root, sender);
    if (map_file(path, 1) == MAP_FAILED)
        return fail(path);
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s/evtchn", root, me);
    if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof sun) != 0)
        return fail("connect");
    unsigned char msg[16] = { 0 };
    xu_put32(msg, 0x54564558u);
    xu_put16(msg + 4, 2);
    xu_put16(msg + 6, (uint16_t)sender);
    xu_put32(msg + 8, (uint32_t)port);
    xu_put32(msg + 12, 1);
    if (send(s, msg, 16, 0) != 16 || recv(s, msg, sizeof msg, 0) != 16 || msg[6] != 0 || msg[7] != 0)
        return fail("the listener's reply");
    snprintf(path, sizeof path, "%s/%s/evtchn-%d", root, me, port);
    unsigned char *page = map_file(path, 0);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s/evtchn-doorbell", root, me);
    uint32_t *bell = map_file(path, 0);
    if (page == MAP_FAILED || bell == MAP_FAILED)
        return fail("mapping the counter page and the doorbell");
    uint64_t *count = (uint64_t *)(page + LISTENER_COUNT);
    uint32_t *waiting = (uint32_t *)(page + LISTENER_WAITING);

    /* The sender counts the first event; the shim delivers it and unmasks the port. */
    __atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
    if (xenevtchn_pending(h) != port || xenevtchn_unmask(h, (evtchn_port_t)port) != 0)
        return fail("delivering the first event");
    /* Only now does the sender take the word (the unmask set it) and ring. */
    if (__atomic_exchange_n(waiting, 0, __ATOMIC_SEQ_CST) == 0) {
        fprintf(stderr, "late_ring: the unmask did not say the port waits\n");
        return 1;
    }
    ring(bell);
    /* The shim looks after the ring and says again that the port waits (docs/unix-backend.md,
     * "Receive"). Waiting for that keeps the second send from racing the shim's look. */
    for (int ms = 0; __atomic_load_n(waiting, __ATOMIC_SEQ_CST) == 0; ms++) {
        if (ms == 5000) {
            fprintf(stderr, "late_ring: after the ring, the shim never said again that the port waits\n");
            return 1;
        }
        usleep(1000);
    }

    /* The second event, sent in full. */
    __atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(waiting, 0, __ATOMIC_SEQ_CST) != 0)
        ring(bell);
    struct pollfd pfd = { .fd = xenevtchn_fd(h), .events = POLLIN };
    if (poll(&pfd, 1, 5000) != 1) {
        fprintf(stderr, "late_ring: the second event never made the descriptor readable\n");
        return 1;
    }
    if (xenevtchn_pending(h) != port)
        return fail("delivering the second event");
    puts("delivered");
    close(s);
    xenevtchn_close(h);
    return 0;
}
