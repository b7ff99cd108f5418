/* libxenevtchn.so.1 over the Unix backends' convention (docs/unix-backend.md, "Event channels"),
 * for programs linked against Xen's own libraries, such as the real libxenvchan.
 *
 * The process owns its domain's event channels (evtchn.lock) from the first xenevtchn_open to the
 * last xenevtchn_close. Two threads play the hypervisor's part: one answers connection requests on
 * the domain's listening socket, one sleeps on the domain's doorbell and, after each ring, says again
 * that every unmasked port waits and kicks the handles that have something to deliver. Each
 * handle's file descriptor is an epoll set of its channels' sockets (for their ends) and of that
 * eventfd, so it polls readable when xenevtchn_pending has something to say.
 *
 * Xen's semantics kept here: a port returned by xenevtchn_pending is masked until xenevtchn_unmask;
 * events while masked are remembered (the counter) and delivered on unmask; sends on a port whose
 * peer is not connected, or has gone, are dropped. A peer whose socket ends (it closed or died)
 * leaves its port pending for good, so a waiter re-checks its shared state instead of sleeping. */
#include "xen_unix_domain.h"

#include <poll.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <xenevtchn.h>

#define LIB "libxenevtchn"
#define MAX_PORTS 4096
#define MAGIC 0x54564558u /* "XEVT" */
#define VERSION 2
#define KICK UINT64_MAX   /* epoll tag of a handle's eventfd */

/* The counter page: the listener's counter and waiting word, then the connector's. */
#define LISTENER_COUNT 0
#define LISTENER_WAITING 8
#define CONNECTOR_COUNT 64
#define CONNECTOR_WAITING 72

enum state { FREE, UNBOUND, CONNECTING, CONNECTED };

struct port {
    enum state state;
    xenevtchn_handle *owner;
    uint16_t remote;
    int listener;         /* this side created the counter page */
    int sock;
    unsigned char *page;
    uint32_t *peer_bell;  /* the peer's doorbell word */
    uint64_t seen;        /* the own counter when the port was last delivered */
    int masked;
    int hangup;           /* the peer's socket ended */
};

struct xenevtchn_handle {
    int epfd;
    int kick;
};

static struct {
    pthread_mutex_t lock; /* the ports */
    pthread_mutex_t life; /* claiming and releasing the domain; taken before `lock` */
    int handles;
    struct xu_domain dom;
    int claim_fd;         /* evtchn.lock */
    int listen_fd;
    int stop[2];
    pthread_t thread;
    uint32_t *bell;       /* the own doorbell word */
    int bell_stop;
    pthread_t bell_thread;
    struct port ports[MAX_PORTS];
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .life = PTHREAD_MUTEX_INITIALIZER };

static uint64_t *counter(struct port *p, int own) { return (uint64_t *)(p->page + ((p->listener == own) ? LISTENER_COUNT : CONNECTOR_COUNT)); }
static uint32_t *waiting(struct port *p, int own) { return (uint32_t *)(p->page + ((p->listener == own) ? LISTENER_WAITING : CONNECTOR_WAITING)); }

static void ring(uint32_t *bell)
{
    __atomic_fetch_add(bell, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, bell, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Maps an existing page file of exactly one page. */
static void *map_page(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size != XU_PAGE) {
        if (fd >= 0)
            close(fd);
        return MAP_FAILED;
    }
    void *page = mmap(NULL, XU_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return page;
}

static void *map_doorbell(uint16_t domain)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%u/evtchn-doorbell", g.dom.root, (unsigned)domain);
    return map_page(path);
}

static void kick(xenevtchn_handle *h)
{
    uint64_t one = 1;
    if (write(h->kick, &one, sizeof one) < 0 && errno != EAGAIN)
        xu_log(LIB, "eventfd write: %s", strerror(errno));
}

/* Work for xenevtchn_pending on this port: a counter past what was delivered, or a hang-up. */
static int deliverable(struct port *p)
{
    return p->state == CONNECTED && !p->masked
        && (p->hangup || __atomic_load_n(counter(p, 1), __ATOMIC_SEQ_CST) != p->seen);
}

/* Say we wait (peers then ring the doorbell), then look again: nothing sent before is missed. */
static void arm(struct port *p, xenevtchn_handle *h)
{
    __atomic_store_n(waiting(p, 1), 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (deliverable(p))
        kick(h);
}

static int alloc_port(xenevtchn_handle *h, enum state state, uint16_t remote)
{
    for (int i = 1; i < MAX_PORTS; i++) {
        struct port *p = &g.ports[i];
        if (p->state == FREE) {
            memset(p, 0, sizeof *p);
            p->state = state;
            p->owner = h;
            p->remote = remote;
            p->sock = -1;
            return i;
        }
    }
    errno = ENOSPC;
    return -1;
}

static void counter_page_path(char *buf, size_t size, const char *dir, unsigned port)
{
    snprintf(buf, size, "%s/evtchn-%u", dir, port);
}

static void free_port(int i)
{
    struct port *p = &g.ports[i];
    if (p->sock >= 0) {
        epoll_ctl(p->owner->epfd, EPOLL_CTL_DEL, p->sock, NULL);
        close(p->sock);
    }
    if (p->page != NULL)
        munmap(p->page, XU_PAGE);
    if (p->peer_bell != NULL)
        munmap(p->peer_bell, XU_PAGE);
    if (p->listener) {
        char path[PATH_MAX + 32];
        counter_page_path(path, sizeof path, g.dom.dir, (unsigned)i);
        unlink(path); /* a connector that died before unlinking it */
    }
    memset(p, 0, sizeof *p);
    p->sock = -1;
}

/* ---- the listening side: a connector's request, answered with a status ---- */

static int16_t accept_request(int sock, const unsigned char *req)
{
    if (xu_get32(req) != MAGIC || xu_get16(req + 4) != VERSION)
        return -4;
    uint16_t domain = xu_get16(req + 6);
    uint32_t port = xu_get32(req + 8);
    if (port == 0 || port >= MAX_PORTS)
        return -1;
    struct port *p = &g.ports[port];
    if (p->state == CONNECTED || p->state == CONNECTING)
        return -2;
    if (p->state != UNBOUND)
        return -1;
    if (p->remote != domain)
        return -3;
    char path[PATH_MAX + 32];
    counter_page_path(path, sizeof path, g.dom.dir, port);
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -4;
    unsigned char *page = MAP_FAILED;
    if (ftruncate(fd, XU_PAGE) == 0)
        page = mmap(NULL, XU_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    void *peer_bell = page == MAP_FAILED ? MAP_FAILED : map_doorbell(domain);
    if (peer_bell == MAP_FAILED) {
        if (page != MAP_FAILED)
            munmap(page, XU_PAGE);
        unlink(path);
        return -4;
    }
    p->listener = 1;
    p->page = page;
    p->peer_bell = peer_bell;
    p->sock = sock;
    p->seen = 0;
    p->state = CONNECTED;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = port };
    epoll_ctl(p->owner->epfd, EPOLL_CTL_ADD, sock, &ev);
    if (!p->masked)
        arm(p, p->owner);
    return 0;
}

static void serve_connector(int sock)
{
    unsigned char req[64], reply[16] = { 0 };
    struct pollfd pfd = { .fd = sock, .events = POLLIN };
    ssize_t n = -1;
    if (poll(&pfd, 1, 5000) == 1)
        n = recv(sock, req, sizeof req, MSG_DONTWAIT);
    pthread_mutex_lock(&g.lock);
    int16_t status = n == 16 ? accept_request(sock, req) : -4;
    xu_put32(reply, MAGIC);
    xu_put16(reply + 4, VERSION);
    xu_put16(reply + 6, (uint16_t)status);
    if (n >= 12)
        xu_put32(reply + 8, xu_get32(req + 8));
    /* Replied under the lock: the channel is complete before the peer can use it. */
    send(sock, reply, sizeof reply, MSG_NOSIGNAL);
    pthread_mutex_unlock(&g.lock);
    if (status != 0)
        close(sock);
}

static void *listener_thread(void *arg)
{
    (void)arg;
    struct pollfd pfds[2] = { { .fd = g.listen_fd, .events = POLLIN }, { .fd = g.stop[0], .events = POLLIN } };
    for (;;) {
        if (poll(pfds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfds[1].revents)
            break;
        if (pfds[0].revents & POLLIN) {
            int sock = accept4(g.listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (sock >= 0)
                serve_connector(sock);
        }
    }
    return NULL;
}

/* After each ring: kick the handles with something to deliver (a futex cannot join their epoll sets).
 * A sender counts, then takes the waiting word: between the two, this process may deliver the event
 * and unmask, and then the ring takes the word that unmask set. So every unmasked port says again
 * that it waits, then looks (arm); without it, the next send would ring nobody. */
static void *doorbell_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&g.bell_stop, __ATOMIC_SEQ_CST)) {
        uint32_t seen = __atomic_load_n(g.bell, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&g.lock);
        for (int i = 1; i < MAX_PORTS; i++) {
            struct port *p = &g.ports[i];
            if (p->state == CONNECTED && !p->masked)
                arm(p, p->owner);
        }
        pthread_mutex_unlock(&g.lock);
        /* Returns at once if a ring came since `seen` was read. */
        syscall(SYS_futex, g.bell, FUTEX_WAIT, seen, NULL, NULL, 0);
    }
    return NULL;
}

/* ---- owning the domain's event channels, from the first open to the last close ---- */

static void stop_doorbell(void)
{
    if (g.bell == NULL)
        return;
    if (!__atomic_exchange_n(&g.bell_stop, 1, __ATOMIC_SEQ_CST)) {
        ring(g.bell);
        pthread_join(g.bell_thread, NULL);
    }
    munmap(g.bell, XU_PAGE);
    g.bell = NULL;
}

static int claim_domain(void)
{
    g.listen_fd = -1;
    if (xu_join(&g.dom, LIB) != 0)
        return -1;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/evtchn.lock", g.dom.dir);
    g.claim_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (g.claim_fd < 0 || flock(g.claim_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            xu_log(LIB, "domain %u is already taken by another live process under %s: give this process another XEN_DOMID", (unsigned)g.dom.id, g.dom.root);
        if (g.claim_fd >= 0)
            close(g.claim_fd);
        xu_leave(&g.dom);
        errno = EBUSY;
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(g.claim_fd, 0) != 0 || pwrite(g.claim_fd, pid, (size_t)len, 0) != len)
        xu_log(LIB, "cannot write the pid into %s", path);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    char bell_path[PATH_MAX + 32];
    snprintf(bell_path, sizeof bell_path, "%s/evtchn-doorbell", g.dom.dir);
    unlink(bell_path);
    int bell_fd = open(bell_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (bell_fd < 0 || ftruncate(bell_fd, XU_PAGE) != 0) {
        if (bell_fd >= 0)
            close(bell_fd);
        goto fail;
    }
    g.bell = mmap(NULL, XU_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, bell_fd, 0);
    close(bell_fd);
    if (g.bell == MAP_FAILED) {
        g.bell = NULL;
        goto fail;
    }
    g.bell_stop = 0;
    if (pthread_create(&g.bell_thread, NULL, doorbell_thread, NULL) != 0) {
        munmap(g.bell, XU_PAGE);
        g.bell = NULL;
        goto fail;
    }
    if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/evtchn", g.dom.dir) >= sizeof sun.sun_path) {
        xu_log(LIB, "the socket path under %s is too long for a Unix socket: choose a shorter XEN_ROOT", g.dom.dir);
        errno = ENAMETOOLONG;
        goto fail;
    }
    unlink(sun.sun_path);
    g.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (g.listen_fd < 0 || bind(g.listen_fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(g.listen_fd, 64) != 0)
        goto fail;
    if (pipe2(g.stop, O_CLOEXEC) != 0)
        goto fail;
    if (pthread_create(&g.thread, NULL, listener_thread, NULL) != 0) {
        close(g.stop[0]);
        close(g.stop[1]);
        goto fail;
    }
    return 0;
fail:
    xu_log(LIB, "cannot listen for event channels of domain %u: %s", (unsigned)g.dom.id, strerror(errno));
    stop_doorbell();
    unlink(bell_path);
    if (g.listen_fd >= 0)
        close(g.listen_fd);
    unlink(sun.sun_path);
    unlink(path);
    close(g.claim_fd);
    xu_leave(&g.dom);
    return -1;
}

static void release_domain(void)
{
    char c = 0, path[PATH_MAX + 32];
    if (write(g.stop[1], &c, 1) != 1)
        xu_log(LIB, "cannot stop the listener");
    pthread_join(g.thread, NULL);
    close(g.stop[0]);
    close(g.stop[1]);
    close(g.listen_fd);
    snprintf(path, sizeof path, "%s/evtchn", g.dom.dir);
    unlink(path);
    stop_doorbell();
    snprintf(path, sizeof path, "%s/evtchn-doorbell", g.dom.dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/evtchn.lock", g.dom.dir);
    unlink(path);
    close(g.claim_fd);
    xu_leave(&g.dom);
}

/* ---- the library ---- */

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger;
    (void)flags;
    xenevtchn_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = KICK };
    if (h->epfd < 0 || h->kick < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->kick, &ev) != 0)
        goto fail;
    pthread_mutex_lock(&g.life);
    if (g.handles == 0 && claim_domain() != 0) {
        pthread_mutex_unlock(&g.life);
        goto fail;
    }
    g.handles++;
    pthread_mutex_unlock(&g.life);
    return h;
fail:
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->kick >= 0)
        close(h->kick);
    free(h);
    return NULL;
}

int xenevtchn_close(xenevtchn_handle *h)
{
    if (h == NULL)
        return 0;
    pthread_mutex_lock(&g.life);
    pthread_mutex_lock(&g.lock);
    for (int i = 1; i < MAX_PORTS; i++) {
        if (g.ports[i].state != FREE && g.ports[i].owner == h)
            free_port(i);
    }
    pthread_mutex_unlock(&g.lock);
    /* Not under `lock`: the listener thread may be waiting for it while we join it. */
    if (--g.handles == 0)
        release_domain();
    pthread_mutex_unlock(&g.life);
    close(h->epfd);
    close(h->kick);
    free(h);
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
    return h->epfd;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
    if (domid >= XU_FIRST_RESERVED_DOMAIN) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&g.lock);
    int port = alloc_port(h, UNBOUND, (uint16_t)domid);
    pthread_mutex_unlock(&g.lock);
    return port;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid, evtchn_port_t remote_port)
{
    if (domid >= XU_FIRST_RESERVED_DOMAIN) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&g.lock);
    int port = alloc_port(h, CONNECTING, (uint16_t)domid);
    pthread_mutex_unlock(&g.lock);
    if (port < 0)
        return -1;
    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    unsigned char *page = MAP_FAILED;
    void *peer_bell = MAP_FAILED;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (sock < 0)
        goto fail;
    if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%u/evtchn", g.dom.root, (unsigned)domid) >= sizeof sun.sun_path) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    if (connect(sock, (struct sockaddr *)&sun, sizeof sun) != 0) {
        xu_log(LIB, "domain %u is not running (%s: %s)", (unsigned)domid, sun.sun_path, strerror(errno));
        errno = ESRCH;
        goto fail;
    }
    unsigned char msg[64] = { 0 };
    xu_put32(msg, MAGIC);
    xu_put16(msg + 4, VERSION);
    xu_put16(msg + 6, g.dom.id);
    xu_put32(msg + 8, remote_port);
    xu_put32(msg + 12, (uint32_t)port);
    if (send(sock, msg, 16, MSG_NOSIGNAL) != 16)
        goto fail;
    struct pollfd pfd = { .fd = sock, .events = POLLIN };
    if (poll(&pfd, 1, 5000) != 1) {
        xu_log(LIB, "domain %u did not answer for port %u within 5 s", (unsigned)domid, remote_port);
        errno = ETIMEDOUT;
        goto fail;
    }
    ssize_t n = recv(sock, msg, sizeof msg, 0);
    if (n != 16 || xu_get32(msg) != MAGIC || xu_get16(msg + 4) != VERSION) {
        errno = EPROTO;
        goto fail;
    }
    int16_t status = (int16_t)xu_get16(msg + 6);
    if (status != 0) {
        static const int errors[] = { 0, EINVAL, EBUSY, EACCES, EPROTO };
        errno = status >= -4 && status < 0 ? errors[-status] : EPROTO;
        xu_log(LIB, "domain %u refused port %u (status %d)", (unsigned)domid, remote_port, status);
        goto fail;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%u/evtchn-%u", g.dom.root, (unsigned)domid, remote_port);
    page = map_page(path);
    unlink(path);
    peer_bell = page == MAP_FAILED ? MAP_FAILED : map_doorbell((uint16_t)domid);
    if (peer_bell == MAP_FAILED) {
        errno = EPROTO;
        goto fail;
    }
    pthread_mutex_lock(&g.lock);
    struct port *p = &g.ports[port];
    p->page = page;
    p->peer_bell = peer_bell;
    p->sock = sock;
    p->listener = 0;
    p->state = CONNECTED;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)port };
    epoll_ctl(h->epfd, EPOLL_CTL_ADD, sock, &ev);
    arm(p, h);
    pthread_mutex_unlock(&g.lock);
    return port;
fail:;
    int saved = errno;
    if (sock >= 0)
        close(sock);
    if (page != MAP_FAILED)
        munmap(page, XU_PAGE);
    pthread_mutex_lock(&g.lock);
    g.ports[port].sock = -1;
    free_port(port);
    pthread_mutex_unlock(&g.lock);
    errno = saved;
    return -1;
}

static struct port *owned(xenevtchn_handle *h, evtchn_port_t port)
{
    if (port == 0 || port >= MAX_PORTS || g.ports[port].state == FREE || (h != NULL && g.ports[port].owner != h)) {
        errno = EINVAL;
        return NULL;
    }
    return &g.ports[port];
}

/* Send: count the event in the peer's counter, ring only if the peer says it waits. */
static int notify_locked(struct port *p)
{
    if (p->state != CONNECTED || p->hangup)
        return 0; /* dropped, as Xen drops a send on an unconnected port */
    __atomic_fetch_add(counter(p, 0), 1, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(waiting(p, 0), 0, __ATOMIC_SEQ_CST) != 0)
        ring(p->peer_bell);
    return 0;
}

int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
    pthread_mutex_lock(&g.lock);
    struct port *p = owned(h, port);
    int rc = p == NULL ? -1 : notify_locked(p);
    pthread_mutex_unlock(&g.lock);
    return rc;
}

/* For the grant library's unmap notifications ("send an event on a local port"): any port of the
 * process, whichever handle bound it, as the kernel does. */
int xen_unix_evtchn_notify_port(uint32_t port)
{
    pthread_mutex_lock(&g.lock);
    struct port *p = owned(NULL, port);
    int rc = p == NULL ? -1 : notify_locked(p);
    pthread_mutex_unlock(&g.lock);
    return rc;
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
    pthread_mutex_lock(&g.lock);
    int rc = -1;
    if (owned(h, port) != NULL) {
        free_port((int)port);
        rc = 0;
    }
    pthread_mutex_unlock(&g.lock);
    return rc;
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
    pthread_mutex_lock(&g.lock);
    struct port *p = owned(h, port);
    if (p != NULL) {
        p->masked = 0;
        if (p->state == CONNECTED)
            arm(p, h);
    }
    pthread_mutex_unlock(&g.lock);
    return p == NULL ? -1 : 0;
}

/* Takes in a hang-up from a channel's socket (after the handshake it carries nothing else). */
static void drain(xenevtchn_handle *h, uint32_t port, uint32_t events)
{
    struct port *p = &g.ports[port];
    if (port == 0 || port >= MAX_PORTS || p->state != CONNECTED || p->owner != h || p->hangup)
        return;
    char buf[64];
    ssize_t n;
    while ((n = recv(p->sock, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || (events & (EPOLLHUP | EPOLLERR))) {
        p->hangup = 1;
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, p->sock, NULL);
    }
    if (!p->masked)
        __atomic_store_n(waiting(p, 1), 1, __ATOMIC_SEQ_CST);
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
    for (;;) {
        pthread_mutex_lock(&g.lock);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        int found = -1, more = 0;
        for (int i = 1; i < MAX_PORTS; i++) {
            struct port *p = &g.ports[i];
            if (p->owner != h || !deliverable(p))
                continue;
            if (found >= 0) {
                more = 1;
                break;
            }
            found = i;
            p->seen = __atomic_load_n(counter(p, 1), __ATOMIC_SEQ_CST);
            p->masked = 1;
            /* Masked: peers need not ring; unmask says we wait again. */
            __atomic_store_n(waiting(p, 1), 0, __ATOMIC_SEQ_CST);
        }
        if (more)
            kick(h); /* the descriptor stays readable while ports are pending */
        pthread_mutex_unlock(&g.lock);
        if (found >= 0)
            return found;
        struct epoll_event events[16];
        int n = epoll_wait(h->epfd, events, 16, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        pthread_mutex_lock(&g.lock);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == KICK) {
                uint64_t count;
                if (read(h->kick, &count, sizeof count) < 0 && errno != EAGAIN)
                    xu_log(LIB, "eventfd read: %s", strerror(errno));
            } else {
                drain(h, (uint32_t)events[i].data.u64, events[i].events);
            }
        }
        pthread_mutex_unlock(&g.lock);
    }
}
