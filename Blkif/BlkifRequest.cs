using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Blkif;

/// <summary>
/// A ring request (<c>struct blkif_request</c>, 112 bytes): read or write, flush or barrier. A
/// discard or indirect request occupies the same slot as a <see cref="BlkifRequestDiscard"/> or a
/// <see cref="BlkifRequestIndirect"/>; <see cref="Operation"/> says which.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 112)]
public struct BlkifRequest
{
    /// <summary>What to do.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary>How many of <see cref="Segments"/> are used.</summary>
    [FieldOffset(1)] public byte NrSegments;

    /// <summary>The virtual device (<c>blkif_vdev_t</c>); only for reads and writes.</summary>
    [FieldOffset(2)] public ushort Handle;

    /// <summary>The frontend's own value, echoed in the response.</summary>
    [FieldOffset(8)] public ulong Id;

    /// <summary>The first sector on the disk, in 512-byte units.</summary>
    [FieldOffset(16)] public ulong SectorNumber;

    /// <summary>The data pages.</summary>
    [FieldOffset(24)] public BlkifSegments Segments;
}

/// <summary>The <see cref="BlkifConstants.MaxSegmentsPerRequest"/> segments of a request.</summary>
[InlineArray(BlkifConstants.MaxSegmentsPerRequest)]
public struct BlkifSegments
{
    private BlkifRequestSegment _element0;
}
