/* What both shim libraries share: finding the root and the own domain id the way the .NET Unix
 * backends do (XEN_ROOT, else /dev/shm/mirage-xen-<euid>; XEN_DOMID), joining the domain's folder
 * and leaving it, and little-endian fields. Written from docs/unix-backend.md. */
#ifndef XEN_UNIX_DOMAIN_H
#define XEN_UNIX_DOMAIN_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define XU_PAGE 4096
#define XU_FIRST_RESERVED_DOMAIN 0x7FF0

struct xu_domain {
    char root[PATH_MAX];
    char dir[PATH_MAX];
    uint16_t id;
    int lock_fd;
};

static void xu_log(const char *lib, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s (unix): ", lib);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    errno = saved;
}

static uint16_t xu_get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t xu_get32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void xu_put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void xu_put32(unsigned char *p, uint32_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24); }

/* The same descriptor is still the file at `path` (a reclaimer may have replaced or removed it). */
static int xu_still_named(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && a.st_nlink > 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Reads XEN_ROOT and XEN_DOMID, checks the root is private to this user, joins <root>/<domid>/. */
static int xu_join(struct xu_domain *d, const char *lib)
{
    const char *text = getenv("XEN_DOMID");
    char *end;
    if (text == NULL || *text == '\0') {
        xu_log(lib, "XEN_DOMID is not set: say which domain this process acts as");
        errno = EINVAL;
        return -1;
    }
    errno = 0;
    long id = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || id < 0 || id >= XU_FIRST_RESERVED_DOMAIN) {
        xu_log(lib, "XEN_DOMID='%s' is not a domain id below %d", text, XU_FIRST_RESERVED_DOMAIN);
        errno = EINVAL;
        return -1;
    }
    d->id = (uint16_t)id;
    const char *root = getenv("XEN_ROOT");
    if (root != NULL && *root != '\0') {
        /* Room left for "/<domid>/gnt/<ref>.grant" in every path built under it. */
        if (strlen(root) > PATH_MAX - 64) {
            xu_log(lib, "XEN_ROOT is too long");
            errno = ENAMETOOLONG;
            return -1;
        }
        snprintf(d->root, sizeof d->root, "%s", root);
    } else {
        snprintf(d->root, sizeof d->root, "/dev/shm/mirage-xen-%u", (unsigned)geteuid());
    }
    if (mkdir(d->root, 0700) != 0 && errno != EEXIST)
        return xu_log(lib, "mkdir %s: %s", d->root, strerror(errno)), -1;
    struct stat st;
    if (lstat(d->root, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        xu_log(lib, "the root %s must be a folder of this user with mode 0700", d->root);
        errno = EACCES;
        return -1;
    }
    snprintf(d->dir, sizeof d->dir, "%s/%u", d->root, (unsigned)d->id);
    char lock[PATH_MAX + 16], gnt[PATH_MAX + 16];
    snprintf(lock, sizeof lock, "%s/lock", d->dir);
    snprintf(gnt, sizeof gnt, "%s/gnt", d->dir);
    for (;;) {
        if (mkdir(d->dir, 0700) != 0 && errno != EEXIST)
            return xu_log(lib, "mkdir %s: %s", d->dir, strerror(errno)), -1;
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* the folder was reclaimed between mkdir and open */
            return xu_log(lib, "open %s: %s", lock, strerror(errno)), -1;
        }
        if (flock(fd, LOCK_SH) != 0) {
            close(fd);
            return -1;
        }
        if (!xu_still_named(fd, lock)) {
            close(fd);
            continue;
        }
        d->lock_fd = fd;
        break;
    }
    if (mkdir(gnt, 0700) != 0 && errno != EEXIST) {
        close(d->lock_fd);
        return xu_log(lib, "mkdir %s: %s", gnt, strerror(errno)), -1;
    }
    return 0;
}

/* Lets go of the domain; the last process to leave removes the folder (pages still mapped by
 * another domain keep `gnt` and the folder, which a later reclaimer removes). */
static void xu_leave(struct xu_domain *d)
{
    char path[PATH_MAX + 16];
    flock(d->lock_fd, LOCK_UN);
    snprintf(path, sizeof path, "%s/lock", d->dir);
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) == 0 && xu_still_named(d->lock_fd, path)) {
        snprintf(path, sizeof path, "%s/gnt", d->dir);
        rmdir(path);
        snprintf(path, sizeof path, "%s/lock", d->dir);
        unlink(path);
        rmdir(d->dir);
    }
    close(d->lock_fd);
    d->lock_fd = -1;
}

#endif
