/* libxengnttab.so.1 (xengnttab_* and xengntshr_*) over the Unix backends' convention
 * (docs/unix-backend.md, "Grants"), for programs linked against Xen's own libraries, such as the
 * real libxenvchan.
 *
 * Shares are page files under <root>/<domid>/gnt/ with their .grant metadata; mappings map those
 * files. A thread plays the kernel's part for deaths: it serves this process's grant socket
 * gnt-<pid> (a mapper that goes without UNMAP gets its notification byte cleared) and watches the
 * connections of our mappings (a granter that goes without ending its grant gets the byte named in
 * the metadata cleared). Unmap notifications send their event through the event-channel shim.
 *
 * As with Linux's gntalloc and gntdev, closing a handle ends the grants and mappings it still has
 * without unmapping the memory: libxenvchan munmaps its ring pages itself and only hands the
 * control page to xengntshr_unshare / xengnttab_unmap. */
#include "xen_unix_domain.h"

#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <xengnttab.h>

#define LIB "libxengnttab"
#define GRANT_MAGIC 0x544E4758u  /* "XGNT" */
#define MAPPER_MAGIC 0x4D4E4758u /* "XGNM" */
#define GTF_READONLY 4
#define FIRST_REF 8
#define MAX_PAGES 4096
#define NO_REF 0xFFFFFFFFu

/* From the event-channel shim: send an event on one of this process's ports. */
extern int xen_unix_evtchn_notify_port(uint32_t port);

struct xengntdev_handle { int shares; };

struct page {
    uint32_t ref;
    int fd;
    char path[PATH_MAX + 32];
};

struct notify {
    int32_t offset; /* -1: none */
    int64_t port;   /* -1: none */
};

struct share {
    struct share *next;
    xengntshr_handle *h;
    unsigned char *addr;
    int count;
    struct notify notify;
    struct page pages[];
};

struct mapping {
    struct mapping *next;
    xengnttab_handle *h;
    unsigned char *addr;
    int count;
    int writable;
    uint16_t granter;
    struct notify notify;
    struct page pages[];
};

enum conn_kind { LISTENER, MAPPER, GRANTER };

/* A socket the thread watches; only the thread frees one (others set `closing`). */
struct conn {
    struct conn *next;
    enum conn_kind kind;
    int fd;
    int closing;
    /* MAPPER: what its MAP asked us to clear if it dies; UNMAP seen. */
    uint32_t ref;
    int32_t offset;
    int clean;
    /* GRANTER: the mapping it serves and the granting pid. */
    struct mapping *mapping;
    uint32_t pid;
};

static struct {
    pthread_mutex_t lock; /* shares, mappings, connections */
    pthread_mutex_t life; /* joining and leaving with the first open and last close; taken before `lock` */
    int users;
    struct xu_domain dom;
    int wake[2];
    pthread_t thread;
    int stopping;
    uint32_t hint;
    char socket_path[PATH_MAX + 32];
    struct share *shares;
    struct mapping *mappings;
    struct conn *conns;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .life = PTHREAD_MUTEX_INITIALIZER, .hint = FIRST_REF };

static void wake(void)
{
    char c = 0;
    if (write(g.wake[1], &c, 1) < 0 && errno != EAGAIN)
        xu_log(LIB, "cannot wake the grant thread: %s", strerror(errno));
}

static struct conn *add_conn(enum conn_kind kind, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->kind = kind;
    c->fd = fd;
    c->ref = NO_REF;
    c->offset = -1;
    c->next = g.conns;
    g.conns = c;
    wake();
    return c;
}

static void close_conn(struct conn *c)
{
    c->closing = 1;
    shutdown(c->fd, SHUT_RDWR);
    wake();
}

/* Clears one byte of a page through its file: safe whether or not the page is still mapped here,
 * and through a read-only mapping too. */
static void clear_byte(int fd, int32_t offset)
{
    if (offset < 0 || offset >= XU_PAGE)
        return;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int rw = open(proc, O_WRONLY | O_CLOEXEC);
    const char zero = 0;
    if (rw < 0 || pwrite(rw, &zero, 1, offset) != 1)
        xu_log(LIB, "cannot clear the notification byte: %s", strerror(errno));
    if (rw >= 0)
        close(rw);
}

static void fire(struct notify n, unsigned char *view, int fd)
{
    if (n.offset >= 0) {
        if (view != NULL)
            __atomic_store_n(view + n.offset, 0, __ATOMIC_SEQ_CST);
        else
            clear_byte(fd, n.offset);
    }
    if (n.port >= 0)
        xen_unix_evtchn_notify_port((uint32_t)n.port);
}

/* Let go of a page: the last holder removes it (and its .grant). */
static void release_page(struct page *p)
{
    if (p->fd < 0)
        return;
    flock(p->fd, LOCK_UN);
    if (flock(p->fd, LOCK_EX | LOCK_NB) == 0 && xu_still_named(p->fd, p->path)) {
        char meta[PATH_MAX + 48];
        snprintf(meta, sizeof meta, "%s.grant", p->path);
        unlink(p->path);
        unlink(meta);
    }
    close(p->fd);
    p->fd = -1;
}

static void unlink_grant(struct page *p)
{
    char meta[PATH_MAX + 48];
    snprintf(meta, sizeof meta, "%s.grant", p->path);
    unlink(meta);
}

/* ---- the thread ---- */

static void mapper_message(struct conn *c)
{
    unsigned char msg[64];
    ssize_t n = recv(c->fd, msg, sizeof msg, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n == 16 && xu_get32(msg) == MAPPER_MAGIC) {
        uint16_t type = xu_get16(msg + 4);
        int32_t offset = (int32_t)xu_get32(msg + 12);
        if (type == 1 && offset >= -1 && offset < XU_PAGE) {
            c->ref = xu_get32(msg + 8);
            c->offset = offset;
        } else if (type == 2) {
            c->clean = 1;
        }
        return;
    }
    if (n > 0)
        return; /* not a message of the convention: ignored */
    /* The mapper is gone. Without UNMAP it died: clear the byte it named, in a page we still share. */
    if (!c->clean && c->ref != NO_REF && c->offset >= 0) {
        for (struct share *s = g.shares; s != NULL; s = s->next) {
            for (int i = 0; i < s->count; i++) {
                if (s->pages[i].ref == c->ref)
                    clear_byte(s->pages[i].fd, c->offset);
            }
        }
    }
    c->closing = 1;
}

static void granter_gone(struct conn *c)
{
    char buf[64];
    ssize_t n;
    while ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    c->closing = 1;
    struct mapping *m = c->mapping;
    if (m == NULL)
        return;
    /* A grant whose .grant is still there was never ended: its granter died. */
    for (int i = 0; i < m->count; i++) {
        char meta[PATH_MAX + 48];
        unsigned char md[32];
        snprintf(meta, sizeof meta, "%s.grant", m->pages[i].path);
        int fd = open(meta, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (read(fd, md, sizeof md) == 32 && xu_get32(md) == GRANT_MAGIC && xu_get32(md + 12) == c->pid)
            clear_byte(m->pages[i].fd, (int32_t)xu_get32(md + 16));
        close(fd);
    }
}

static void *grant_thread(void *arg)
{
    (void)arg;
    struct pollfd *pfds = NULL;
    struct conn **of = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&g.lock);
    while (!g.stopping) {
        /* Free what was closed, then watch the rest. */
        size_t n = 1;
        for (struct conn **pp = &g.conns; *pp != NULL;) {
            struct conn *c = *pp;
            if (c->closing) {
                *pp = c->next;
                close(c->fd);
                free(c);
                continue;
            }
            n++;
            pp = &c->next;
        }
        if (n > cap) {
            cap = n * 2;
            pfds = realloc(pfds, cap * sizeof *pfds);
            of = realloc(of, cap * sizeof *of);
            if (pfds == NULL || of == NULL)
                abort();
        }
        pfds[0] = (struct pollfd){ .fd = g.wake[0], .events = POLLIN };
        size_t i = 1;
        for (struct conn *c = g.conns; c != NULL; c = c->next, i++) {
            pfds[i] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
            of[i] = c;
        }
        pthread_mutex_unlock(&g.lock);
        int ready = poll(pfds, n, -1);
        pthread_mutex_lock(&g.lock);
        if (ready < 0)
            continue;
        if (pfds[0].revents) {
            char buf[64];
            while (read(g.wake[0], buf, sizeof buf) > 0) {
            }
        }
        for (i = 1; i < n; i++) {
            struct conn *c = of[i];
            if (pfds[i].revents == 0 || c->closing)
                continue;
            if (c->kind == LISTENER) {
                int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd >= 0)
                    add_conn(MAPPER, fd);
            } else if (c->kind == MAPPER) {
                mapper_message(c);
            } else {
                granter_gone(c);
            }
        }
    }
    pthread_mutex_unlock(&g.lock);
    free(pfds);
    free(of);
    return NULL;
}

/* ---- joining and leaving, with the first open and the last close of either kind of handle ---- */

static int start(void)
{
    if (xu_join(&g.dom, LIB) != 0)
        return -1;
    if (pipe2(g.wake, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail_join;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/gnt-%d", g.dom.dir, (int)getpid()) >= sizeof sun.sun_path) {
        xu_log(LIB, "the socket path under %s is too long for a Unix socket: choose a shorter XEN_ROOT", g.dom.dir);
        errno = ENAMETOOLONG;
        goto fail_pipe;
    }
    snprintf(g.socket_path, sizeof g.socket_path, "%s", sun.sun_path);
    unlink(sun.sun_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(fd, 64) != 0) {
        xu_log(LIB, "cannot listen on %s: %s", sun.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail_pipe;
    }
    g.stopping = 0;
    if (add_conn(LISTENER, fd) == NULL || pthread_create(&g.thread, NULL, grant_thread, NULL) != 0) {
        close(fd);
        unlink(sun.sun_path);
        goto fail_pipe;
    }
    return 0;
fail_pipe:
    close(g.wake[0]);
    close(g.wake[1]);
fail_join:
    xu_leave(&g.dom);
    return -1;
}

static void stop(void)
{
    g.stopping = 1;
    wake();
    pthread_mutex_unlock(&g.lock);
    pthread_join(g.thread, NULL);
    pthread_mutex_lock(&g.lock);
    while (g.conns != NULL) {
        struct conn *c = g.conns;
        g.conns = c->next;
        close(c->fd);
        free(c);
    }
    unlink(g.socket_path);
    close(g.wake[0]);
    close(g.wake[1]);
    xu_leave(&g.dom);
}

static struct xengntdev_handle *open_handle(void)
{
    struct xengntdev_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    pthread_mutex_lock(&g.life);
    pthread_mutex_lock(&g.lock);
    int rc = g.users == 0 ? start() : 0;
    if (rc == 0)
        g.users++;
    pthread_mutex_unlock(&g.lock);
    pthread_mutex_unlock(&g.life);
    if (rc != 0) {
        free(h);
        return NULL;
    }
    return h;
}

/* Called holding `life` and `lock`; the last close stops the thread (letting go of `lock` to join it). */
static void close_handle(struct xengntdev_handle *h)
{
    if (--g.users == 0)
        stop();
    free(h);
}

static void send_unmap(int fd)
{
    unsigned char msg[16] = { 0 };
    xu_put32(msg, MAPPER_MAGIC);
    xu_put16(msg + 4, 2);
    xu_put16(msg + 6, g.dom.id);
    xu_put32(msg + 8, NO_REF);
    xu_put32(msg + 12, (uint32_t)-1);
    send(fd, msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- sharing (gntshr) ---- */

static int write_metadata(uint32_t ref, uint16_t mapper, int writable, int32_t notify_offset)
{
    char gnt[PATH_MAX + 16], meta[PATH_MAX + 48], proc[64];
    unsigned char md[32] = { 0 };
    xu_put32(md, GRANT_MAGIC);
    xu_put16(md + 4, 1);
    xu_put16(md + 6, g.dom.id);
    xu_put16(md + 8, mapper);
    xu_put16(md + 10, writable ? 0 : GTF_READONLY);
    xu_put32(md + 12, (uint32_t)getpid());
    xu_put32(md + 16, (uint32_t)notify_offset);
    snprintf(gnt, sizeof gnt, "%s/gnt", g.dom.dir);
    snprintf(meta, sizeof meta, "%s/gnt/%u.grant", g.dom.dir, ref);
    int fd = open(gnt, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int rc = -1;
    if (write(fd, md, sizeof md) == sizeof md) {
        unlink(meta); /* a stale one */
        rc = linkat(AT_FDCWD, proc, AT_FDCWD, meta, AT_SYMLINK_FOLLOW);
    }
    close(fd);
    return rc;
}

/* One new page file, locked shared, mapped at `at`, appearing as gnt/<ref> under a free ref. */
static int new_page(struct page *p, unsigned char *at)
{
    char gnt[PATH_MAX + 16], proc[64];
    snprintf(gnt, sizeof gnt, "%s/gnt", g.dom.dir);
    p->fd = open(gnt, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    if (p->fd < 0)
        return -1;
    if (ftruncate(p->fd, XU_PAGE) != 0 || flock(p->fd, LOCK_SH) != 0
        || mmap(at, XU_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, p->fd, 0) == MAP_FAILED)
        goto fail;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", p->fd);
    for (uint32_t tries = 0; tries < (1u << 20); tries++) {
        uint32_t ref = g.hint++;
        if (ref < FIRST_REF || ref >= (1u << 20))
            ref = g.hint = FIRST_REF;
        snprintf(p->path, sizeof p->path, "%s/gnt/%u", g.dom.dir, ref);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, p->path, AT_SYMLINK_FOLLOW) == 0) {
            p->ref = ref;
            return 0;
        }
        if (errno != EEXIST)
            goto fail;
    }
    errno = ENOSPC;
fail:
    close(p->fd);
    p->fd = -1;
    p->path[0] = '\0';
    return -1;
}

static void *share(xengntshr_handle *h, uint32_t domid, int count, uint32_t *refs, int writable, struct notify notify)
{
    if (count <= 0 || count > MAX_PAGES || domid >= XU_FIRST_RESERVED_DOMAIN || notify.offset >= XU_PAGE) {
        errno = EINVAL;
        return NULL;
    }
    struct share *s = calloc(1, sizeof *s + (size_t)count * sizeof s->pages[0]);
    if (s == NULL)
        return NULL;
    unsigned char *addr = mmap(NULL, (size_t)count * XU_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&g.lock);
    int made = 0;
    for (; made < count; made++) {
        if (new_page(&s->pages[made], addr + (size_t)made * XU_PAGE) != 0
            || write_metadata(s->pages[made].ref, (uint16_t)domid, writable, made == 0 ? notify.offset : -1) != 0) {
            if (s->pages[made].fd >= 0)
                made++;
            goto fail;
        }
    }
    s->h = h;
    s->addr = addr;
    s->count = count;
    s->notify = notify;
    s->next = g.shares;
    g.shares = s;
    h->shares++;
    for (int i = 0; i < count; i++)
        refs[i] = s->pages[i].ref;
    pthread_mutex_unlock(&g.lock);
    return addr;
fail:;
    int saved = errno;
    for (int i = 0; i < made; i++) {
        unlink_grant(&s->pages[i]);
        release_page(&s->pages[i]);
    }
    pthread_mutex_unlock(&g.lock);
    munmap(addr, (size_t)count * XU_PAGE);
    free(s);
    xu_log(LIB, "cannot share %d pages with domain %u: %s", count, (unsigned)domid, strerror(saved));
    errno = saved;
    return NULL;
}

/* Ends a share: no new mapping can start, the notification fires, then the pages are let go. */
static void end_share(struct share *s, int unmap)
{
    for (int i = 0; i < s->count; i++)
        unlink_grant(&s->pages[i]);
    fire(s->notify, unmap ? s->addr : NULL, s->pages[0].fd);
    if (unmap)
        munmap(s->addr, (size_t)s->count * XU_PAGE);
    for (int i = 0; i < s->count; i++)
        release_page(&s->pages[i]);
}

xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    return open_handle();
}

void *xengntshr_share_pages(xengntshr_handle *h, uint32_t domid, int count, uint32_t *refs, int writable)
{
    return share(h, domid, count, refs, writable, (struct notify){ -1, -1 });
}

void *xengntshr_share_page_notify(xengntshr_handle *h, uint32_t domid, uint32_t *ref, int writable,
                                  uint32_t notify_offset, evtchn_port_t notify_port)
{
    struct notify n = { notify_offset == UINT32_MAX ? -1 : (int32_t)notify_offset,
                        notify_port == UINT32_MAX ? -1 : (int64_t)notify_port };
    if (notify_offset != UINT32_MAX && notify_offset >= XU_PAGE) {
        errno = EINVAL;
        return NULL;
    }
    return share(h, domid, 1, ref, writable, n);
}

int xengntshr_unshare(xengntshr_handle *h, void *start_address, uint32_t count)
{
    pthread_mutex_lock(&g.lock);
    for (struct share **pp = &g.shares; *pp != NULL; pp = &(*pp)->next) {
        struct share *s = *pp;
        if (s->h == h && s->addr == start_address && (uint32_t)s->count == count) {
            *pp = s->next;
            h->shares--;
            end_share(s, 1);
            pthread_mutex_unlock(&g.lock);
            free(s);
            return 0;
        }
    }
    pthread_mutex_unlock(&g.lock);
    errno = EINVAL;
    return -1;
}

int xengntshr_close(xengntshr_handle *h)
{
    if (h == NULL)
        return 0;
    pthread_mutex_lock(&g.life);
    pthread_mutex_lock(&g.lock);
    for (struct share **pp = &g.shares; *pp != NULL;) {
        struct share *s = *pp;
        if (s->h != h) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        end_share(s, 0);
        free(s);
    }
    close_handle(h);
    pthread_mutex_unlock(&g.lock);
    pthread_mutex_unlock(&g.life);
    return 0;
}

/* ---- mapping (gnttab) ---- */

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    return open_handle();
}

/* Opens, checks and maps one granted page into its slot; errno as Xen's statuses map. */
static int map_page(struct page *p, uint16_t granter, uint32_t ref, int writable, unsigned char *at, uint32_t *pid, int32_t *death_offset)
{
    p->fd = -1;
    if (ref < FIRST_REF) {
        errno = EINVAL; /* GNTST_bad_gntref */
        return -1;
    }
    char dir[PATH_MAX + 16], meta[PATH_MAX + 48];
    snprintf(dir, sizeof dir, "%s/%u", g.dom.root, (unsigned)granter);
    if (access(dir, F_OK) != 0) {
        errno = ESRCH; /* GNTST_bad_domain */
        return -1;
    }
    snprintf(p->path, sizeof p->path, "%s/gnt/%u", dir, ref);
    snprintf(meta, sizeof meta, "%s.grant", p->path);
    p->ref = ref;
    p->fd = open(p->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (p->fd < 0) {
        errno = EINVAL;
        return -1;
    }
    unsigned char md[32];
    struct stat st;
    int mfd = -1;
    if (flock(p->fd, LOCK_SH) != 0 || !xu_still_named(p->fd, p->path) || (mfd = open(meta, O_RDONLY | O_CLOEXEC)) < 0
        || read(mfd, md, sizeof md) != 32 || xu_get32(md) != GRANT_MAGIC || xu_get16(md + 4) != 1) {
        errno = EINVAL; /* the grant ended */
        goto fail;
    }
    if (xu_get16(md + 6) != granter || xu_get16(md + 8) != g.dom.id || (writable && (xu_get16(md + 10) & GTF_READONLY))) {
        errno = EPERM; /* GNTST_permission_denied */
        goto fail;
    }
    if (fstat(p->fd, &st) != 0 || st.st_size != XU_PAGE) {
        errno = EINVAL;
        goto fail;
    }
    if (mmap(at, XU_PAGE, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED | MAP_FIXED, p->fd, 0) == MAP_FAILED)
        goto fail;
    *pid = xu_get32(md + 12);
    *death_offset = (int32_t)xu_get32(md + 16);
    close(mfd);
    return 0;
fail:;
    int saved = errno;
    if (mfd >= 0)
        close(mfd);
    errno = saved;
    return -1;
}

static void *map(xengnttab_handle *h, uint16_t granter, uint32_t count, const uint32_t *refs, int prot, struct notify notify)
{
    if (count == 0 || count > MAX_PAGES || granter >= XU_FIRST_RESERVED_DOMAIN || notify.offset >= XU_PAGE) {
        errno = EINVAL;
        return NULL;
    }
    int writable = (prot & PROT_WRITE) != 0;
    struct mapping *m = calloc(1, sizeof *m + count * sizeof m->pages[0]);
    uint32_t *pids = calloc(count, sizeof *pids);
    if (m == NULL || pids == NULL) {
        free(m);
        free(pids);
        return NULL;
    }
    unsigned char *addr = mmap(NULL, (size_t)count * XU_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        free(m);
        free(pids);
        return NULL;
    }
    m->h = h;
    m->addr = addr;
    m->count = (int)count;
    m->writable = writable;
    m->granter = granter;
    m->notify = notify;
    uint32_t made = 0;
    int32_t death_offset;
    pthread_mutex_lock(&g.lock);
    for (; made < count; made++) {
        if (map_page(&m->pages[made], granter, refs[made], writable, addr + (size_t)made * XU_PAGE, &pids[made], &death_offset) != 0) {
            if (m->pages[made].fd >= 0)
                made++;
            goto fail;
        }
    }
    /* One connection per granting process, kept for the mapping's life. */
    for (uint32_t i = 0; i < count; i++) {
        int seen = 0;
        for (uint32_t j = 0; j < i; j++)
            seen |= pids[j] == pids[i];
        if (seen)
            continue;
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int fd = -1;
        if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%u/gnt-%u", g.dom.root, (unsigned)granter, pids[i]) < sizeof sun.sun_path)
            fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        unsigned char msg[16] = { 0 };
        xu_put32(msg, MAPPER_MAGIC);
        xu_put16(msg + 4, 1);
        xu_put16(msg + 6, g.dom.id);
        /* The page with our notification byte is page 0; only its granter clears it if we die. */
        int names = notify.offset >= 0 && pids[0] == pids[i];
        xu_put32(msg + 8, names ? refs[0] : NO_REF);
        xu_put32(msg + 12, (uint32_t)(names ? notify.offset : -1));
        if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || send(fd, msg, sizeof msg, MSG_NOSIGNAL) != sizeof msg) {
            if (fd >= 0)
                close(fd);
            errno = EINVAL; /* the granting process is gone */
            goto fail_conns;
        }
        struct conn *c = add_conn(GRANTER, fd);
        if (c == NULL) {
            close(fd);
            goto fail_conns;
        }
        c->mapping = m;
        c->pid = pids[i];
    }
    m->next = g.mappings;
    g.mappings = m;
    pthread_mutex_unlock(&g.lock);
    free(pids);
    return addr;
fail_conns:
    for (struct conn *c = g.conns; c != NULL; c = c->next) {
        if (c->mapping == m) {
            send_unmap(c->fd);
            c->mapping = NULL;
            close_conn(c);
        }
    }
fail:;
    int saved = errno;
    munmap(addr, (size_t)count * XU_PAGE);
    for (uint32_t i = 0; i < made; i++)
        release_page(&m->pages[i]);
    pthread_mutex_unlock(&g.lock);
    free(m);
    free(pids);
    errno = saved;
    return NULL;
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t domid, uint32_t *refs, int prot)
{
    return map(h, (uint16_t)(domid < UINT16_MAX ? domid : UINT16_MAX), count, refs, prot, (struct notify){ -1, -1 });
}

void *xengnttab_map_grant_ref_notify(xengnttab_handle *h, uint32_t domid, uint32_t ref, int prot,
                                     uint32_t notify_offset, evtchn_port_t notify_port)
{
    struct notify n = { notify_offset == UINT32_MAX ? -1 : (int32_t)notify_offset,
                        notify_port == UINT32_MAX ? -1 : (int64_t)notify_port };
    if (notify_offset != UINT32_MAX && notify_offset >= XU_PAGE) {
        errno = EINVAL;
        return NULL;
    }
    return map(h, (uint16_t)(domid < UINT16_MAX ? domid : UINT16_MAX), 1, &ref, prot, n);
}

/* Ends a mapping: the notification fires, each granter hears UNMAP, then the pages are let go. */
static void end_mapping(struct mapping *m, int unmap)
{
    fire(m->notify, unmap && m->writable ? m->addr : NULL, m->pages[0].fd);
    for (struct conn *c = g.conns; c != NULL; c = c->next) {
        if (c->mapping == m) {
            send_unmap(c->fd);
            c->mapping = NULL;
            close_conn(c);
        }
    }
    if (unmap)
        munmap(m->addr, (size_t)m->count * XU_PAGE);
    for (int i = 0; i < m->count; i++)
        release_page(&m->pages[i]);
}

int xengnttab_unmap(xengnttab_handle *h, void *start_address, uint32_t count)
{
    pthread_mutex_lock(&g.lock);
    for (struct mapping **pp = &g.mappings; *pp != NULL; pp = &(*pp)->next) {
        struct mapping *m = *pp;
        if (m->h == h && m->addr == start_address && (uint32_t)m->count == count) {
            *pp = m->next;
            end_mapping(m, 1);
            pthread_mutex_unlock(&g.lock);
            free(m);
            return 0;
        }
    }
    pthread_mutex_unlock(&g.lock);
    errno = EINVAL;
    return -1;
}

int xengnttab_close(xengnttab_handle *h)
{
    if (h == NULL)
        return 0;
    pthread_mutex_lock(&g.life);
    pthread_mutex_lock(&g.lock);
    for (struct mapping **pp = &g.mappings; *pp != NULL;) {
        struct mapping *m = *pp;
        if (m->h != h) {
            pp = &m->next;
            continue;
        }
        *pp = m->next;
        end_mapping(m, 0);
        free(m);
    }
    close_handle(h);
    pthread_mutex_unlock(&g.lock);
    pthread_mutex_unlock(&g.life);
    return 0;
}
