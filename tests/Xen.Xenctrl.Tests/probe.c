/* Prints what Linux's UAPI headers say about the /dev/xen ioctls, as name=value lines, for one
 * section: evtchn, gntdev or gntalloc. Compared with the C# definitions by ConformanceTests. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/types.h>
/* The Linux headers use Xen's own domid_t and grant_ref_t (from libxen-dev), as libxenctrl does. */
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/evtchn.h>
#include <xen/gntdev.h>
#include <xen/gntalloc.h>

#define P(name, value) printf("%s=%lld\n", name, (long long)(value))
#define SIZE(type) P("sizeof(" #type ")", sizeof(struct type))
#define OFF(type, field) P("offsetof(" #type "." #field ")", offsetof(struct type, field))

int main(int argc, char **argv)
{
    const char *section = argc > 1 ? argv[1] : "";
    if (strcmp(section, "evtchn") == 0) {
        P("IOCTL_EVTCHN_BIND_VIRQ", IOCTL_EVTCHN_BIND_VIRQ);
        P("IOCTL_EVTCHN_BIND_INTERDOMAIN", IOCTL_EVTCHN_BIND_INTERDOMAIN);
        P("IOCTL_EVTCHN_BIND_UNBOUND_PORT", IOCTL_EVTCHN_BIND_UNBOUND_PORT);
        P("IOCTL_EVTCHN_UNBIND", IOCTL_EVTCHN_UNBIND);
        P("IOCTL_EVTCHN_NOTIFY", IOCTL_EVTCHN_NOTIFY);
        P("IOCTL_EVTCHN_RESET", IOCTL_EVTCHN_RESET);
        SIZE(ioctl_evtchn_bind_interdomain);
        OFF(ioctl_evtchn_bind_interdomain, remote_domain);
        OFF(ioctl_evtchn_bind_interdomain, remote_port);
        SIZE(ioctl_evtchn_bind_unbound_port);
        SIZE(ioctl_evtchn_unbind);
        SIZE(ioctl_evtchn_notify);
        P("sizeof(evtchn_port_t)", sizeof(((struct ioctl_evtchn_notify *)0)->port));
    } else if (strcmp(section, "gntdev") == 0) {
        P("IOCTL_GNTDEV_MAP_GRANT_REF", IOCTL_GNTDEV_MAP_GRANT_REF);
        P("IOCTL_GNTDEV_UNMAP_GRANT_REF", IOCTL_GNTDEV_UNMAP_GRANT_REF);
        P("IOCTL_GNTDEV_SET_UNMAP_NOTIFY", IOCTL_GNTDEV_SET_UNMAP_NOTIFY);
        P("UNMAP_NOTIFY_CLEAR_BYTE", UNMAP_NOTIFY_CLEAR_BYTE);
        P("UNMAP_NOTIFY_SEND_EVENT", UNMAP_NOTIFY_SEND_EVENT);
        SIZE(ioctl_gntdev_grant_ref);
        OFF(ioctl_gntdev_grant_ref, domid);
        OFF(ioctl_gntdev_grant_ref, ref);
        SIZE(ioctl_gntdev_map_grant_ref);
        OFF(ioctl_gntdev_map_grant_ref, count);
        OFF(ioctl_gntdev_map_grant_ref, index);
        OFF(ioctl_gntdev_map_grant_ref, refs);
        SIZE(ioctl_gntdev_unmap_grant_ref);
        OFF(ioctl_gntdev_unmap_grant_ref, index);
        OFF(ioctl_gntdev_unmap_grant_ref, count);
        SIZE(ioctl_gntdev_unmap_notify);
        OFF(ioctl_gntdev_unmap_notify, index);
        OFF(ioctl_gntdev_unmap_notify, action);
        OFF(ioctl_gntdev_unmap_notify, event_channel_port);
    } else if (strcmp(section, "gntalloc") == 0) {
        P("IOCTL_GNTALLOC_ALLOC_GREF", IOCTL_GNTALLOC_ALLOC_GREF);
        P("IOCTL_GNTALLOC_DEALLOC_GREF", IOCTL_GNTALLOC_DEALLOC_GREF);
        P("IOCTL_GNTALLOC_SET_UNMAP_NOTIFY", IOCTL_GNTALLOC_SET_UNMAP_NOTIFY);
        P("GNTALLOC_FLAG_WRITABLE", GNTALLOC_FLAG_WRITABLE);
        SIZE(ioctl_gntalloc_alloc_gref);
        OFF(ioctl_gntalloc_alloc_gref, domid);
        OFF(ioctl_gntalloc_alloc_gref, flags);
        OFF(ioctl_gntalloc_alloc_gref, count);
        OFF(ioctl_gntalloc_alloc_gref, index);
        OFF(ioctl_gntalloc_alloc_gref, gref_ids);
        SIZE(ioctl_gntalloc_dealloc_gref);
        OFF(ioctl_gntalloc_dealloc_gref, index);
        OFF(ioctl_gntalloc_dealloc_gref, count);
        SIZE(ioctl_gntalloc_unmap_notify);
        OFF(ioctl_gntalloc_unmap_notify, index);
        OFF(ioctl_gntalloc_unmap_notify, action);
        OFF(ioctl_gntalloc_unmap_notify, event_channel_port);
    } else {
        fprintf(stderr, "usage: probe evtchn|gntdev|gntalloc\n");
        return 2;
    }
    return 0;
}
