using System.Runtime.InteropServices;
using TestSupport;
using Xen.Evtchn.Xen;
using Xen.Gnt;
using Xen.Gnt.Xen;
using static Xen.Evtchn.Xen.EventChannelAbi;
using static Xen.Gnt.Xen.GrantTableAbi;

namespace Xen.Guest.Tests;

/// <summary>Every struct, constant and bit position of the guest ABI, compared with Debian's libxen-dev headers.</summary>
public sealed class ConformanceTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, long>> Probe = new(() => CProgram.Compile("probe.c").RunProbe());

    [Fact]
    public void Layouts_and_constants_match_the_xen_headers()
    {
        var expected = new Dictionary<string, long>();
        void Size<T>(string c) where T : struct => expected[$"sizeof({c})"] = Marshal.SizeOf<T>();
        void Off<T>(string c, string field, string cField) where T : struct => expected[$"{c}.{cField}"] = Marshal.OffsetOf<T>(field);

        expected["__HYPERVISOR_event_channel_op"] = HYPERVISOR_event_channel_op;
        expected["__HYPERVISOR_grant_table_op"] = HYPERVISOR_grant_table_op;
        expected["EVTCHNOP_bind_interdomain"] = EVTCHNOP_bind_interdomain;
        expected["EVTCHNOP_close"] = EVTCHNOP_close;
        expected["EVTCHNOP_send"] = EVTCHNOP_send;
        expected["EVTCHNOP_status"] = EVTCHNOP_status;
        expected["EVTCHNOP_alloc_unbound"] = EVTCHNOP_alloc_unbound;
        expected["EVTCHNOP_unmask"] = EVTCHNOP_unmask;
        expected["EVTCHNSTAT_closed"] = EVTCHNSTAT_closed;
        expected["EVTCHNSTAT_unbound"] = EVTCHNSTAT_unbound;
        expected["EVTCHNSTAT_interdomain"] = EVTCHNSTAT_interdomain;
        expected["EVTCHNSTAT_pirq"] = EVTCHNSTAT_pirq;
        expected["EVTCHNSTAT_virq"] = EVTCHNSTAT_virq;
        expected["EVTCHNSTAT_ipi"] = EVTCHNSTAT_ipi;
        expected["EVTCHN_2L_NR_CHANNELS"] = EVTCHN_2L_NR_CHANNELS;
        expected["XEN_LEGACY_MAX_VCPUS"] = XEN_LEGACY_MAX_VCPUS;
        expected["DOMID_SELF"] = EventChannelAbi.DOMID_SELF;
        expected["DOMID_FIRST_RESERVED"] = EventChannelAbi.DOMID_FIRST_RESERVED;
        expected["bits(xen_ulong_t)"] = BitsPerWord;

        const string alloc = "struct evtchn_alloc_unbound";
        Size<EvtchnAllocUnbound>(alloc);
        Off<EvtchnAllocUnbound>(alloc, nameof(EvtchnAllocUnbound.Dom), "dom");
        Off<EvtchnAllocUnbound>(alloc, nameof(EvtchnAllocUnbound.RemoteDom), "remote_dom");
        Off<EvtchnAllocUnbound>(alloc, nameof(EvtchnAllocUnbound.Port), "port");
        const string bind = "struct evtchn_bind_interdomain";
        Size<EvtchnBindInterdomain>(bind);
        Off<EvtchnBindInterdomain>(bind, nameof(EvtchnBindInterdomain.RemoteDom), "remote_dom");
        Off<EvtchnBindInterdomain>(bind, nameof(EvtchnBindInterdomain.RemotePort), "remote_port");
        Off<EvtchnBindInterdomain>(bind, nameof(EvtchnBindInterdomain.LocalPort), "local_port");
        Size<EvtchnSend>("struct evtchn_send");
        Off<EvtchnSend>("struct evtchn_send", nameof(EvtchnSend.Port), "port");
        Size<EvtchnClose>("struct evtchn_close");
        Off<EvtchnClose>("struct evtchn_close", nameof(EvtchnClose.Port), "port");
        Size<EvtchnUnmask>("struct evtchn_unmask");
        Off<EvtchnUnmask>("struct evtchn_unmask", nameof(EvtchnUnmask.Port), "port");
        const string status = "struct evtchn_status";
        Size<EvtchnStatus>(status);
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.Dom), "dom");
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.Port), "port");
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.Status), "status");
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.Vcpu), "vcpu");
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.RemoteDom), "u.unbound.dom");
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.RemoteDom), "u.interdomain.dom");
        Off<EvtchnStatus>(status, nameof(EvtchnStatus.RemotePort), "u.interdomain.port");

        const string vcpu = "struct vcpu_info";
        Size<VcpuInfo>(vcpu);
        Off<VcpuInfo>(vcpu, nameof(VcpuInfo.EvtchnUpcallPending), "evtchn_upcall_pending");
        Off<VcpuInfo>(vcpu, nameof(VcpuInfo.EvtchnUpcallMask), "evtchn_upcall_mask");
        Off<VcpuInfo>(vcpu, nameof(VcpuInfo.EvtchnPendingSel), "evtchn_pending_sel");
        Off<VcpuInfo>(vcpu, nameof(VcpuInfo.ArchCr2), "arch.cr2");
        Off<VcpuInfo>(vcpu, nameof(VcpuInfo.TimeVersion), "time.version");
        const string shared = "struct shared_info";
        Off<SharedInfo>(shared, nameof(SharedInfo.VcpuInfo), "vcpu_info");
        Off<SharedInfo>(shared, nameof(SharedInfo.EvtchnPending), "evtchn_pending");
        Off<SharedInfo>(shared, nameof(SharedInfo.EvtchnMask), "evtchn_mask");
        Off<SharedInfo>(shared, nameof(SharedInfo.WcVersion), "wc_version");
        Off<SharedInfo>(shared, nameof(SharedInfo.WcSec), "wc_sec");
        Off<SharedInfo>(shared, nameof(SharedInfo.WcNsec), "wc_nsec");
        Off<SharedInfo>(shared, nameof(SharedInfo.WcSecHi), "wc_sec_hi");
        expected[$"{shared}.arch"] = Marshal.SizeOf<SharedInfo>(); // the C# struct stops where arch begins

        expected["GNTTABOP_map_grant_ref"] = GNTTABOP_map_grant_ref;
        expected["GNTTABOP_unmap_grant_ref"] = GNTTABOP_unmap_grant_ref;
        expected["GNTTABOP_setup_table"] = GNTTABOP_setup_table;
        expected["GTF_invalid"] = GTF_invalid;
        expected["GTF_permit_access"] = GTF_permit_access;
        expected["GTF_type_mask"] = GTF_type_mask;
        expected["GTF_readonly"] = GTF_readonly;
        expected["GTF_reading"] = GTF_reading;
        expected["GTF_writing"] = GTF_writing;
        expected["GNTMAP_device_map"] = GNTMAP_device_map;
        expected["GNTMAP_host_map"] = GNTMAP_host_map;
        expected["GNTMAP_readonly"] = GNTMAP_readonly;
        expected["GNTTAB_NR_RESERVED_ENTRIES"] = GNTTAB_NR_RESERVED_ENTRIES;
        expected["GNTTAB_RESERVED_CONSOLE"] = GrantRef.Console.Value;
        expected["GNTTAB_RESERVED_XENSTORE"] = GrantRef.Xenstore.Value;
        foreach (var (name, value) in new (string, GrantStatus)[]
        {
            ("okay", GrantStatus.Okay), ("general_error", GrantStatus.GeneralError), ("bad_domain", GrantStatus.BadDomain),
            ("bad_gntref", GrantStatus.BadGntref), ("bad_handle", GrantStatus.BadHandle), ("bad_virt_addr", GrantStatus.BadVirtAddr),
            ("bad_dev_addr", GrantStatus.BadDevAddr), ("no_device_space", GrantStatus.NoDeviceSpace),
            ("permission_denied", GrantStatus.PermissionDenied), ("bad_page", GrantStatus.BadPage), ("bad_copy_arg", GrantStatus.BadCopyArg),
            ("address_too_big", GrantStatus.AddressTooBig), ("eagain", GrantStatus.Eagain), ("no_space", GrantStatus.NoSpace),
        })
            expected["GNTST_" + name] = (short)value;

        const string entry = "struct grant_entry_v1";
        Size<GrantEntryV1>(entry);
        Off<GrantEntryV1>(entry, nameof(GrantEntryV1.Flags), "flags");
        Off<GrantEntryV1>(entry, nameof(GrantEntryV1.Domid), "domid");
        Off<GrantEntryV1>(entry, nameof(GrantEntryV1.Frame), "frame");
        const string map = "struct gnttab_map_grant_ref";
        Size<GnttabMapGrantRef>(map);
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.HostAddr), "host_addr");
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.Flags), "flags");
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.Ref), "ref");
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.Dom), "dom");
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.Status), "status");
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.Handle), "handle");
        Off<GnttabMapGrantRef>(map, nameof(GnttabMapGrantRef.DevBusAddr), "dev_bus_addr");
        const string unmap = "struct gnttab_unmap_grant_ref";
        Size<GnttabUnmapGrantRef>(unmap);
        Off<GnttabUnmapGrantRef>(unmap, nameof(GnttabUnmapGrantRef.HostAddr), "host_addr");
        Off<GnttabUnmapGrantRef>(unmap, nameof(GnttabUnmapGrantRef.DevBusAddr), "dev_bus_addr");
        Off<GnttabUnmapGrantRef>(unmap, nameof(GnttabUnmapGrantRef.Handle), "handle");
        Off<GnttabUnmapGrantRef>(unmap, nameof(GnttabUnmapGrantRef.Status), "status");
        const string setup = "struct gnttab_setup_table";
        Size<GnttabSetupTable>(setup);
        Off<GnttabSetupTable>(setup, nameof(GnttabSetupTable.Dom), "dom");
        Off<GnttabSetupTable>(setup, nameof(GnttabSetupTable.NrFrames), "nr_frames");
        Off<GnttabSetupTable>(setup, nameof(GnttabSetupTable.Status), "status");
        Off<GnttabSetupTable>(setup, nameof(GnttabSetupTable.FrameList), "frame_list");

        ProbeAssert.Matches(Probe.Value, expected);
    }

    [Fact]
    public void Both_packages_agree_on_the_reserved_domain_ids()
    {
        Assert.Equal(EventChannelAbi.DOMID_SELF, GrantTableAbi.DOMID_SELF);
        Assert.Equal(EventChannelAbi.DOMID_FIRST_RESERVED, GrantTableAbi.DOMID_FIRST_RESERVED);
        Assert.Equal((int)GrantRef.FirstUnreserved, GNTTAB_NR_RESERVED_ENTRIES);
    }
}
