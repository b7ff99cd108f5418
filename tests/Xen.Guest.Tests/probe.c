/* Prints the layouts and constants of Xen's event-channel and grant-table ABI as name=value lines,
 * for ConformanceTests to compare with the C# definitions. x86-64, Xen's public headers. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
/* A modern guest: EVTCHNOP_* go through __HYPERVISOR_event_channel_op (32), not the compat call. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>

#define P(name, value) printf("%s=%lld\n", name, (long long)(value))
#define SIZE(t) P("sizeof(" #t ")", sizeof(t))
#define OFF(t, f) P(#t "." #f, offsetof(t, f))

int main(void)
{
    P("__HYPERVISOR_event_channel_op", __HYPERVISOR_event_channel_op);
    P("__HYPERVISOR_grant_table_op", __HYPERVISOR_grant_table_op);

    P("EVTCHNOP_bind_interdomain", EVTCHNOP_bind_interdomain);
    P("EVTCHNOP_close", EVTCHNOP_close);
    P("EVTCHNOP_send", EVTCHNOP_send);
    P("EVTCHNOP_status", EVTCHNOP_status);
    P("EVTCHNOP_alloc_unbound", EVTCHNOP_alloc_unbound);
    P("EVTCHNOP_unmask", EVTCHNOP_unmask);
    P("EVTCHNSTAT_closed", EVTCHNSTAT_closed);
    P("EVTCHNSTAT_unbound", EVTCHNSTAT_unbound);
    P("EVTCHNSTAT_interdomain", EVTCHNSTAT_interdomain);
    P("EVTCHNSTAT_pirq", EVTCHNSTAT_pirq);
    P("EVTCHNSTAT_virq", EVTCHNSTAT_virq);
    P("EVTCHNSTAT_ipi", EVTCHNSTAT_ipi);
    P("EVTCHN_2L_NR_CHANNELS", EVTCHN_2L_NR_CHANNELS);
    P("XEN_LEGACY_MAX_VCPUS", XEN_LEGACY_MAX_VCPUS);
    P("DOMID_SELF", DOMID_SELF);
    P("DOMID_FIRST_RESERVED", DOMID_FIRST_RESERVED);
    P("bits(xen_ulong_t)", sizeof(xen_ulong_t) * 8);

    SIZE(struct evtchn_alloc_unbound);
    OFF(struct evtchn_alloc_unbound, dom);
    OFF(struct evtchn_alloc_unbound, remote_dom);
    OFF(struct evtchn_alloc_unbound, port);
    SIZE(struct evtchn_bind_interdomain);
    OFF(struct evtchn_bind_interdomain, remote_dom);
    OFF(struct evtchn_bind_interdomain, remote_port);
    OFF(struct evtchn_bind_interdomain, local_port);
    SIZE(struct evtchn_send);
    OFF(struct evtchn_send, port);
    SIZE(struct evtchn_close);
    OFF(struct evtchn_close, port);
    SIZE(struct evtchn_unmask);
    OFF(struct evtchn_unmask, port);
    SIZE(struct evtchn_status);
    OFF(struct evtchn_status, dom);
    OFF(struct evtchn_status, port);
    OFF(struct evtchn_status, status);
    OFF(struct evtchn_status, vcpu);
    OFF(struct evtchn_status, u.unbound.dom);
    OFF(struct evtchn_status, u.interdomain.dom);
    OFF(struct evtchn_status, u.interdomain.port);

    SIZE(struct vcpu_info);
    OFF(struct vcpu_info, evtchn_upcall_pending);
    OFF(struct vcpu_info, evtchn_upcall_mask);
    OFF(struct vcpu_info, evtchn_pending_sel);
    OFF(struct vcpu_info, arch.cr2);
    OFF(struct vcpu_info, time.version);
    OFF(struct shared_info, vcpu_info);
    OFF(struct shared_info, evtchn_pending);
    OFF(struct shared_info, evtchn_mask);
    OFF(struct shared_info, wc_version);
    OFF(struct shared_info, wc_sec);
    OFF(struct shared_info, wc_nsec);
    OFF(struct shared_info, wc_sec_hi);
    OFF(struct shared_info, arch);

    P("GNTTABOP_map_grant_ref", GNTTABOP_map_grant_ref);
    P("GNTTABOP_unmap_grant_ref", GNTTABOP_unmap_grant_ref);
    P("GNTTABOP_setup_table", GNTTABOP_setup_table);
    P("GTF_invalid", GTF_invalid);
    P("GTF_permit_access", GTF_permit_access);
    P("GTF_type_mask", GTF_type_mask);
    P("GTF_readonly", GTF_readonly);
    P("GTF_reading", GTF_reading);
    P("GTF_writing", GTF_writing);
    P("GNTMAP_device_map", GNTMAP_device_map);
    P("GNTMAP_host_map", GNTMAP_host_map);
    P("GNTMAP_readonly", GNTMAP_readonly);
    P("GNTTAB_NR_RESERVED_ENTRIES", GNTTAB_NR_RESERVED_ENTRIES);
    P("GNTTAB_RESERVED_CONSOLE", GNTTAB_RESERVED_CONSOLE);
    P("GNTTAB_RESERVED_XENSTORE", GNTTAB_RESERVED_XENSTORE);
    P("GNTST_okay", GNTST_okay);
    P("GNTST_general_error", GNTST_general_error);
    P("GNTST_bad_domain", GNTST_bad_domain);
    P("GNTST_bad_gntref", GNTST_bad_gntref);
    P("GNTST_bad_handle", GNTST_bad_handle);
    P("GNTST_bad_virt_addr", GNTST_bad_virt_addr);
    P("GNTST_bad_dev_addr", GNTST_bad_dev_addr);
    P("GNTST_no_device_space", GNTST_no_device_space);
    P("GNTST_permission_denied", GNTST_permission_denied);
    P("GNTST_bad_page", GNTST_bad_page);
    P("GNTST_bad_copy_arg", GNTST_bad_copy_arg);
    P("GNTST_address_too_big", GNTST_address_too_big);
    P("GNTST_eagain", GNTST_eagain);
    P("GNTST_no_space", GNTST_no_space);

    SIZE(struct grant_entry_v1);
    OFF(struct grant_entry_v1, flags);
    OFF(struct grant_entry_v1, domid);
    OFF(struct grant_entry_v1, frame);
    SIZE(struct gnttab_map_grant_ref);
    OFF(struct gnttab_map_grant_ref, host_addr);
    OFF(struct gnttab_map_grant_ref, flags);
    OFF(struct gnttab_map_grant_ref, ref);
    OFF(struct gnttab_map_grant_ref, dom);
    OFF(struct gnttab_map_grant_ref, status);
    OFF(struct gnttab_map_grant_ref, handle);
    OFF(struct gnttab_map_grant_ref, dev_bus_addr);
    SIZE(struct gnttab_unmap_grant_ref);
    OFF(struct gnttab_unmap_grant_ref, host_addr);
    OFF(struct gnttab_unmap_grant_ref, dev_bus_addr);
    OFF(struct gnttab_unmap_grant_ref, handle);
    OFF(struct gnttab_unmap_grant_ref, status);
    SIZE(struct gnttab_setup_table);
    OFF(struct gnttab_setup_table, dom);
    OFF(struct gnttab_setup_table, nr_frames);
    OFF(struct gnttab_setup_table, status);
    OFF(struct gnttab_setup_table, frame_list);
    return 0;
}
