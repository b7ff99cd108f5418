using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// An indirect request (<c>struct blkif_request_indirect</c>, 64 bytes on x86-64), in a request slot:
/// its segments live in up to <see cref="BlkifConstants.MaxIndirectPagesPerRequest"/> granted pages
/// of <see cref="BlkifConstants.SegmentsPerIndirectFrame"/> segments each.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct BlkifRequestIndirect
{
    /// <summary><see cref="BlkifOperation.Indirect"/>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary>The real operation: <see cref="BlkifOperation.Read"/> or <see cref="BlkifOperation.Write"/>.</summary>
    [FieldOffset(1)] public BlkifOperation IndirectOp;

    /// <summary>How many segments the indirect pages hold.</summary>
    [FieldOffset(2)] public ushort NrSegments;

    /// <summary>The frontend's own value, echoed in the response.</summary>
    [FieldOffset(8)] public ulong Id;

    /// <summary>The first sector on the disk, in 512-byte units.</summary>
    [FieldOffset(16)] public ulong SectorNumber;

    /// <summary>The virtual device.</summary>
    [FieldOffset(24)] public ushort Handle;

    /// <summary>The grants of the pages that hold the segments.</summary>
    [FieldOffset(28)] public BlkifIndirectGrefs IndirectGrefs;
}

/// <summary>The <see cref="BlkifConstants.MaxIndirectPagesPerRequest"/> indirect page grants of an indirect request.</summary>
[InlineArray(BlkifConstants.MaxIndirectPagesPerRequest)]
public struct BlkifIndirectGrefs
{
    private GrantRef _element0;
}
