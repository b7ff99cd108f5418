namespace Xen.Evtchn.Xen;

/// <summary>
/// The numbers of Xen's event-channel ABI (<c>xen.h</c>, <c>event_channel.h</c>), under the headers' own
/// names so that they can be checked against them.
/// </summary>
public static class EventChannelAbi
{
    /// <summary><c>__HYPERVISOR_event_channel_op</c>: the hypercall that takes an <c>EVTCHNOP_*</c> command.</summary>
    public const int HYPERVISOR_event_channel_op = 32;

    /// <summary><c>EVTCHNOP_bind_interdomain</c>: connect to a port another domain offered (<see cref="EvtchnBindInterdomain"/>).</summary>
    public const int EVTCHNOP_bind_interdomain = 0;
    /// <summary><c>EVTCHNOP_close</c>: close a local port (<see cref="EvtchnClose"/>).</summary>
    public const int EVTCHNOP_close = 3;
    /// <summary><c>EVTCHNOP_send</c>: notify the other end of a local port (<see cref="EvtchnSend"/>).</summary>
    public const int EVTCHNOP_send = 4;
    /// <summary><c>EVTCHNOP_status</c>: ask what a port is bound to (<see cref="EvtchnStatus"/>).</summary>
    public const int EVTCHNOP_status = 5;
    /// <summary><c>EVTCHNOP_alloc_unbound</c>: offer a new port to one remote domain (<see cref="EvtchnAllocUnbound"/>).</summary>
    public const int EVTCHNOP_alloc_unbound = 6;
    /// <summary><c>EVTCHNOP_unmask</c>: clear a port's mask bit, re-raising it if it is pending (<see cref="EvtchnUnmask"/>).</summary>
    public const int EVTCHNOP_unmask = 9;

    /// <summary><c>EVTCHNSTAT_closed</c>: the port is not in use.</summary>
    public const uint EVTCHNSTAT_closed = 0;
    /// <summary><c>EVTCHNSTAT_unbound</c>: the port waits for a remote domain to connect.</summary>
    public const uint EVTCHNSTAT_unbound = 1;
    /// <summary><c>EVTCHNSTAT_interdomain</c>: the port is connected to a remote domain.</summary>
    public const uint EVTCHNSTAT_interdomain = 2;
    /// <summary><c>EVTCHNSTAT_pirq</c>: the port is bound to a physical IRQ.</summary>
    public const uint EVTCHNSTAT_pirq = 3;
    /// <summary><c>EVTCHNSTAT_virq</c>: the port is bound to a virtual IRQ.</summary>
    public const uint EVTCHNSTAT_virq = 4;
    /// <summary><c>EVTCHNSTAT_ipi</c>: the port is bound to an inter-processor interrupt.</summary>
    public const uint EVTCHNSTAT_ipi = 5;

    /// <summary><c>EVTCHN_2L_NR_CHANNELS</c>: how many ports the 2-level ABI addresses on a 64-bit guest.</summary>
    public const int EVTCHN_2L_NR_CHANNELS = 64 * 64;

    /// <summary>The bits in one <c>xen_ulong_t</c> word of the pending and mask bitmaps.</summary>
    public const int BitsPerWord = 64;

    /// <summary><c>XEN_LEGACY_MAX_VCPUS</c> on x86: how many <see cref="VcpuInfo"/> the shared-info page holds.</summary>
    public const int XEN_LEGACY_MAX_VCPUS = 32;

    /// <summary><c>DOMID_SELF</c>: names the calling domain in hypercall arguments.</summary>
    public const ushort DOMID_SELF = 0x7FF0;

    /// <summary><c>DOMID_FIRST_RESERVED</c>: domain ids from here up name no ordinary domain.</summary>
    public const ushort DOMID_FIRST_RESERVED = 0x7FF0;

    /// <summary>Linux's <c>EPERM</c>, which Xen returns negated: not allowed.</summary>
    public const int EPERM = 1;
    /// <summary>Linux's <c>ESRCH</c>, which Xen returns negated: no such domain.</summary>
    public const int ESRCH = 3;
    /// <summary>Linux's <c>EFAULT</c>, which Xen returns negated: a bad argument address.</summary>
    public const int EFAULT = 14;
    /// <summary>Linux's <c>EINVAL</c>, which Xen returns negated: a bad port or a port in the wrong state.</summary>
    public const int EINVAL = 22;
    /// <summary>Linux's <c>ENOSPC</c>, which Xen returns negated: no free port.</summary>
    public const int ENOSPC = 28;
    /// <summary>Linux's <c>ENOSYS</c>, which Xen returns negated: an unknown command.</summary>
    public const int ENOSYS = 38;
}
