extern alias gnt;
using System.Runtime.CompilerServices;
using TestSupport;
using Xen.Xenctrl.Native;
using Gntalloc = gnt::Interop.Gntalloc;
using Gntdev = gnt::Interop.Gntdev;

namespace Xen.Xenctrl.Tests;

/// <summary>
/// The ioctl numbers and argument layouts of the C# interop against Linux's UAPI headers
/// (<c>xen/evtchn.h</c>, <c>gntdev.h</c>, <c>gntalloc.h</c> from linux-libc-dev), through a compiled C probe.
/// </summary>
public sealed unsafe class ConformanceTests
{
    private static readonly CProgram Probe = CProgram.Compile("probe.c");

    private static long Offset<TStruct, TField>(ref TStruct s, ref TField field) =>
        Unsafe.ByteOffset(ref Unsafe.As<TStruct, byte>(ref s), ref Unsafe.As<TField, byte>(ref field));

    [Fact]
    public void Evtchn_ioctls_and_arguments_match_the_linux_header()
    {
        var interdomain = default(Interop.Evtchn.ioctl_evtchn_bind_interdomain);
        ProbeAssert.Matches(Probe.RunProbe("evtchn"), new Dictionary<string, long>
        {
            ["IOCTL_EVTCHN_BIND_VIRQ"] = (long)Interop.Evtchn.IOCTL_EVTCHN_BIND_VIRQ,
            ["IOCTL_EVTCHN_BIND_INTERDOMAIN"] = (long)Interop.Evtchn.IOCTL_EVTCHN_BIND_INTERDOMAIN,
            ["IOCTL_EVTCHN_BIND_UNBOUND_PORT"] = (long)Interop.Evtchn.IOCTL_EVTCHN_BIND_UNBOUND_PORT,
            ["IOCTL_EVTCHN_UNBIND"] = (long)Interop.Evtchn.IOCTL_EVTCHN_UNBIND,
            ["IOCTL_EVTCHN_NOTIFY"] = (long)Interop.Evtchn.IOCTL_EVTCHN_NOTIFY,
            ["IOCTL_EVTCHN_RESET"] = (long)Interop.Evtchn.IOCTL_EVTCHN_RESET,
            ["sizeof(ioctl_evtchn_bind_interdomain)"] = sizeof(Interop.Evtchn.ioctl_evtchn_bind_interdomain),
            ["offsetof(ioctl_evtchn_bind_interdomain.remote_domain)"] = Offset(ref interdomain, ref interdomain.remote_domain),
            ["offsetof(ioctl_evtchn_bind_interdomain.remote_port)"] = Offset(ref interdomain, ref interdomain.remote_port),
            ["sizeof(ioctl_evtchn_bind_unbound_port)"] = sizeof(Interop.Evtchn.ioctl_evtchn_bind_unbound_port),
            ["sizeof(ioctl_evtchn_unbind)"] = sizeof(Interop.Evtchn.ioctl_evtchn_unbind),
            ["sizeof(ioctl_evtchn_notify)"] = sizeof(Interop.Evtchn.ioctl_evtchn_notify),
            // What read() returns and write() takes: one port per entry.
            ["sizeof(evtchn_port_t)"] = sizeof(uint),
        });
    }

    [Fact]
    public void Gntdev_ioctls_and_arguments_match_the_linux_header()
    {
        var grantRef = default(Gntdev.ioctl_gntdev_grant_ref);
        var map = default(Gntdev.ioctl_gntdev_map_grant_ref);
        var unmap = default(Gntdev.ioctl_gntdev_unmap_grant_ref);
        var notify = default(Gntdev.ioctl_gntdev_unmap_notify);
        ProbeAssert.Matches(Probe.RunProbe("gntdev"), new Dictionary<string, long>
        {
            ["IOCTL_GNTDEV_MAP_GRANT_REF"] = (long)Gntdev.IOCTL_GNTDEV_MAP_GRANT_REF,
            ["IOCTL_GNTDEV_UNMAP_GRANT_REF"] = (long)Gntdev.IOCTL_GNTDEV_UNMAP_GRANT_REF,
            ["IOCTL_GNTDEV_SET_UNMAP_NOTIFY"] = (long)Gntdev.IOCTL_GNTDEV_SET_UNMAP_NOTIFY,
            ["UNMAP_NOTIFY_CLEAR_BYTE"] = Gntdev.UNMAP_NOTIFY_CLEAR_BYTE,
            ["UNMAP_NOTIFY_SEND_EVENT"] = Gntdev.UNMAP_NOTIFY_SEND_EVENT,
            ["sizeof(ioctl_gntdev_grant_ref)"] = sizeof(Gntdev.ioctl_gntdev_grant_ref),
            ["offsetof(ioctl_gntdev_grant_ref.domid)"] = Offset(ref grantRef, ref grantRef.domid),
            ["offsetof(ioctl_gntdev_grant_ref.ref)"] = Offset(ref grantRef, ref grantRef.@ref),
            ["sizeof(ioctl_gntdev_map_grant_ref)"] = sizeof(Gntdev.ioctl_gntdev_map_grant_ref),
            ["offsetof(ioctl_gntdev_map_grant_ref.count)"] = Offset(ref map, ref map.count),
            ["offsetof(ioctl_gntdev_map_grant_ref.index)"] = Offset(ref map, ref map.index),
            ["offsetof(ioctl_gntdev_map_grant_ref.refs)"] = Offset(ref map, ref map.refs),
            ["sizeof(ioctl_gntdev_unmap_grant_ref)"] = sizeof(Gntdev.ioctl_gntdev_unmap_grant_ref),
            ["offsetof(ioctl_gntdev_unmap_grant_ref.index)"] = Offset(ref unmap, ref unmap.index),
            ["offsetof(ioctl_gntdev_unmap_grant_ref.count)"] = Offset(ref unmap, ref unmap.count),
            ["sizeof(ioctl_gntdev_unmap_notify)"] = sizeof(Gntdev.ioctl_gntdev_unmap_notify),
            ["offsetof(ioctl_gntdev_unmap_notify.index)"] = Offset(ref notify, ref notify.index),
            ["offsetof(ioctl_gntdev_unmap_notify.action)"] = Offset(ref notify, ref notify.action),
            ["offsetof(ioctl_gntdev_unmap_notify.event_channel_port)"] = Offset(ref notify, ref notify.event_channel_port),
        });
    }

    [Fact]
    public void Gntalloc_ioctls_and_arguments_match_the_linux_header()
    {
        var alloc = default(Gntalloc.ioctl_gntalloc_alloc_gref);
        var dealloc = default(Gntalloc.ioctl_gntalloc_dealloc_gref);
        var notify = default(Gntalloc.ioctl_gntalloc_unmap_notify);
        ProbeAssert.Matches(Probe.RunProbe("gntalloc"), new Dictionary<string, long>
        {
            ["IOCTL_GNTALLOC_ALLOC_GREF"] = (long)Gntalloc.IOCTL_GNTALLOC_ALLOC_GREF,
            ["IOCTL_GNTALLOC_DEALLOC_GREF"] = (long)Gntalloc.IOCTL_GNTALLOC_DEALLOC_GREF,
            ["IOCTL_GNTALLOC_SET_UNMAP_NOTIFY"] = (long)Gntalloc.IOCTL_GNTALLOC_SET_UNMAP_NOTIFY,
            ["GNTALLOC_FLAG_WRITABLE"] = Gntalloc.GNTALLOC_FLAG_WRITABLE,
            ["sizeof(ioctl_gntalloc_alloc_gref)"] = sizeof(Gntalloc.ioctl_gntalloc_alloc_gref),
            ["offsetof(ioctl_gntalloc_alloc_gref.domid)"] = Offset(ref alloc, ref alloc.domid),
            ["offsetof(ioctl_gntalloc_alloc_gref.flags)"] = Offset(ref alloc, ref alloc.flags),
            ["offsetof(ioctl_gntalloc_alloc_gref.count)"] = Offset(ref alloc, ref alloc.count),
            ["offsetof(ioctl_gntalloc_alloc_gref.index)"] = Offset(ref alloc, ref alloc.index),
            ["offsetof(ioctl_gntalloc_alloc_gref.gref_ids)"] = Offset(ref alloc, ref alloc.gref_ids),
            ["sizeof(ioctl_gntalloc_dealloc_gref)"] = sizeof(Gntalloc.ioctl_gntalloc_dealloc_gref),
            ["offsetof(ioctl_gntalloc_dealloc_gref.index)"] = Offset(ref dealloc, ref dealloc.index),
            ["offsetof(ioctl_gntalloc_dealloc_gref.count)"] = Offset(ref dealloc, ref dealloc.count),
            ["sizeof(ioctl_gntalloc_unmap_notify)"] = sizeof(Gntalloc.ioctl_gntalloc_unmap_notify),
            ["offsetof(ioctl_gntalloc_unmap_notify.index)"] = Offset(ref notify, ref notify.index),
            ["offsetof(ioctl_gntalloc_unmap_notify.action)"] = Offset(ref notify, ref notify.action),
            ["offsetof(ioctl_gntalloc_unmap_notify.event_channel_port)"] = Offset(ref notify, ref notify.event_channel_port),
        });
    }

    [Fact]
    public void The_variable_tails_start_where_the_size_helpers_say()
    {
        var map = default(Gntdev.ioctl_gntdev_map_grant_ref);
        var alloc = default(Gntalloc.ioctl_gntalloc_alloc_gref);
        Assert.Equal(Gntdev.MapGrantRefRefsOffset, Offset(ref map, ref map.refs));
        Assert.Equal(Gntalloc.AllocGrefGrefIdsOffset, Offset(ref alloc, ref alloc.gref_ids));
    }
}
