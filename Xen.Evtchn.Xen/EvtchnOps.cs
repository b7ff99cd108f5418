using System.Runtime.InteropServices;

namespace Xen.Evtchn.Xen;

/// <summary><c>struct evtchn_alloc_unbound</c>: the argument of <c>EVTCHNOP_alloc_unbound</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct EvtchnAllocUnbound
{
    /// <summary>In: the domain to allocate in, usually <see cref="EventChannelAbi.DOMID_SELF"/>.</summary>
    public ushort Dom;
    /// <summary>In: the only domain that may connect to the port.</summary>
    public ushort RemoteDom;
    /// <summary>Out: the new port.</summary>
    public uint Port;
}

/// <summary><c>struct evtchn_bind_interdomain</c>: the argument of <c>EVTCHNOP_bind_interdomain</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct EvtchnBindInterdomain
{
    /// <summary>In: the domain that offered the port.</summary>
    public ushort RemoteDom;
    /// <summary>In: the port it offered.</summary>
    public uint RemotePort;
    /// <summary>Out: the new local port, connected to it.</summary>
    public uint LocalPort;
}

/// <summary><c>struct evtchn_send</c>: the argument of <c>EVTCHNOP_send</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct EvtchnSend
{
    /// <summary>In: the local port whose other end to notify.</summary>
    public uint Port;
}

/// <summary><c>struct evtchn_close</c>: the argument of <c>EVTCHNOP_close</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct EvtchnClose
{
    /// <summary>In: the local port to close.</summary>
    public uint Port;
}

/// <summary><c>struct evtchn_unmask</c>: the argument of <c>EVTCHNOP_unmask</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct EvtchnUnmask
{
    /// <summary>In: the local port to unmask.</summary>
    public uint Port;
}

/// <summary><c>struct evtchn_status</c>: the argument of <c>EVTCHNOP_status</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct EvtchnStatus
{
    /// <summary>In: the domain that owns the port, usually <see cref="EventChannelAbi.DOMID_SELF"/>.</summary>
    [FieldOffset(0)] public ushort Dom;
    /// <summary>In: the port to ask about.</summary>
    [FieldOffset(4)] public uint Port;
    /// <summary>Out: one of the <c>EVTCHNSTAT_*</c> values.</summary>
    [FieldOffset(8)] public uint Status;
    /// <summary>Out: the vCPU the port notifies.</summary>
    [FieldOffset(12)] public uint Vcpu;
    /// <summary>Out, for <c>EVTCHNSTAT_unbound</c> (<c>u.unbound.dom</c>) and <c>EVTCHNSTAT_interdomain</c>
    /// (<c>u.interdomain.dom</c>): the remote domain.</summary>
    [FieldOffset(16)] public ushort RemoteDom;
    /// <summary>Out, for <c>EVTCHNSTAT_interdomain</c> (<c>u.interdomain.port</c>): the remote port.</summary>
    [FieldOffset(20)] public uint RemotePort;
}
