using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Xen.Evtchn.Xen;

/// <summary>
/// <c>struct vcpu_info</c> on x86-64 (64 bytes): the per-vCPU half of the 2-level event ABI. Xen sets
/// <see cref="EvtchnUpcallPending"/> and a bit of <see cref="EvtchnPendingSel"/> for each word of
/// <see cref="SharedInfo.EvtchnPending"/> that gained an unmasked pending port.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct VcpuInfo
{
    /// <summary>Non-zero when an upcall is due; the guest clears it before it scans.</summary>
    [FieldOffset(0)] public byte EvtchnUpcallPending;
    /// <summary>Non-zero while the guest does not want upcalls on this vCPU.</summary>
    [FieldOffset(1)] public byte EvtchnUpcallMask;
    /// <summary>One bit per word of the pending bitmap that may hold pending ports.</summary>
    [FieldOffset(8)] public ulong EvtchnPendingSel;
    /// <summary><c>arch.cr2</c>: the faulting address of a PV guest's page fault.</summary>
    [FieldOffset(16)] public ulong ArchCr2;
    /// <summary>The first byte of <c>time</c>, the vCPU's <c>vcpu_time_info</c> (32 bytes).</summary>
    [FieldOffset(32)] public uint TimeVersion;
}

/// <summary>The per-vCPU area of the shared-info page: <c>vcpu_info[XEN_LEGACY_MAX_VCPUS]</c>.</summary>
[InlineArray(EventChannelAbi.XEN_LEGACY_MAX_VCPUS)]
public struct VcpuInfoArray
{
    private VcpuInfo _element0;
}

/// <summary>A bitmap of <see cref="EventChannelAbi.EVTCHN_2L_NR_CHANNELS"/> ports: <c>xen_ulong_t[64]</c>.</summary>
[InlineArray(EventChannelAbi.BitsPerWord)]
public struct EvtchnBitmap
{
    private ulong _element0;
}

/// <summary>
/// The start of <c>struct shared_info</c> on x86-64, as far as the event ABI and the wall clock go:
/// Xen writes pending bits, the guest owns the mask bits. The page is 4096 bytes; what follows
/// <see cref="WcSecHi"/> is architecture data this backend does not touch.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SharedInfo
{
    /// <summary><c>vcpu_info[]</c>: one per legacy vCPU.</summary>
    public VcpuInfoArray VcpuInfo;
    /// <summary><c>evtchn_pending[]</c>: bit <c>p % 64</c> of word <c>p / 64</c> is set while port p is pending.</summary>
    public EvtchnBitmap EvtchnPending;
    /// <summary><c>evtchn_mask[]</c>: while a port's bit is set, its becoming pending raises no upcall.</summary>
    public EvtchnBitmap EvtchnMask;
    /// <summary><c>wc_version</c>: odd while Xen updates the wall clock.</summary>
    public uint WcVersion;
    /// <summary><c>wc_sec</c>: wall-clock seconds since the epoch at system time zero.</summary>
    public uint WcSec;
    /// <summary><c>wc_nsec</c>: the nanoseconds of the wall clock.</summary>
    public uint WcNsec;
    /// <summary><c>wc_sec_hi</c>: the high 32 bits of the wall-clock seconds.</summary>
    public uint WcSecHi;
}
