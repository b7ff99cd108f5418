using System.Runtime.InteropServices;

namespace Xen.Gnt.Xen;

/// <summary>
/// <c>struct grant_entry_v1</c>: one entry of a domain's grant table, which the domain writes and Xen
/// reads when a peer maps. The frame and domain are written before the flags, with a barrier
/// between, so that Xen never sees <c>GTF_permit_access</c> over a stale frame.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct GrantEntryV1
{
    /// <summary><c>GTF_*</c> flags: the type, <c>GTF_readonly</c>, and Xen's <c>GTF_reading</c>/<c>GTF_writing</c>.</summary>
    public ushort Flags;
    /// <summary>The domain that may map the frame.</summary>
    public ushort Domid;
    /// <summary>The frame number of the granted page.</summary>
    public uint Frame;
}

/// <summary><c>struct gnttab_map_grant_ref</c>: one element of <c>GNTTABOP_map_grant_ref</c>'s array.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct GnttabMapGrantRef
{
    /// <summary>In: where to map the page.</summary>
    [FieldOffset(0)] public ulong HostAddr;
    /// <summary>In: <c>GNTMAP_*</c> flags.</summary>
    [FieldOffset(8)] public uint Flags;
    /// <summary>In: the grant ref in the granting domain's table.</summary>
    [FieldOffset(12)] public uint Ref;
    /// <summary>In: the granting domain.</summary>
    [FieldOffset(16)] public ushort Dom;
    /// <summary>Out: a <c>GNTST_*</c> status (see <see cref="GrantStatus"/>).</summary>
    [FieldOffset(18)] public short Status;
    /// <summary>Out: the handle to unmap with.</summary>
    [FieldOffset(20)] public uint Handle;
    /// <summary>Out: the bus address, for device maps.</summary>
    [FieldOffset(24)] public ulong DevBusAddr;
}

/// <summary><c>struct gnttab_unmap_grant_ref</c>: one element of <c>GNTTABOP_unmap_grant_ref</c>'s array.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct GnttabUnmapGrantRef
{
    /// <summary>In: where the page is mapped.</summary>
    [FieldOffset(0)] public ulong HostAddr;
    /// <summary>In: the bus address of a device map, or 0.</summary>
    [FieldOffset(8)] public ulong DevBusAddr;
    /// <summary>In: the handle the map returned.</summary>
    [FieldOffset(16)] public uint Handle;
    /// <summary>Out: a <c>GNTST_*</c> status (see <see cref="GrantStatus"/>).</summary>
    [FieldOffset(20)] public short Status;
}

/// <summary><c>struct gnttab_setup_table</c>: the argument of <c>GNTTABOP_setup_table</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct GnttabSetupTable
{
    /// <summary>In: the domain, usually <see cref="GrantTableAbi.DOMID_SELF"/>.</summary>
    [FieldOffset(0)] public ushort Dom;
    /// <summary>In: how many frames the table is to have.</summary>
    [FieldOffset(4)] public uint NrFrames;
    /// <summary>Out: a <c>GNTST_*</c> status (see <see cref="GrantStatus"/>).</summary>
    [FieldOffset(8)] public short Status;
    /// <summary>In: where Xen writes the table's <see cref="NrFrames"/> frame numbers (<c>xen_pfn_t</c>).</summary>
    [FieldOffset(16)] public ulong* FrameList;
}
