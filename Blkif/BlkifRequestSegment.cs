using System.Runtime.InteropServices;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// One page of a request's data (<c>struct blkif_request_segment</c>, 8 bytes): the 512-byte
/// sectors <see cref="FirstSect"/> to <see cref="LastSect"/>, inclusive, of a granted page.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct BlkifRequestSegment
{
    /// <summary>The grant of the data page.</summary>
    [FieldOffset(0)] public GrantRef Gref;

    /// <summary>The first sector in the page to transfer, inclusive.</summary>
    [FieldOffset(4)] public byte FirstSect;

    /// <summary>The last sector in the page to transfer, inclusive.</summary>
    [FieldOffset(5)] public byte LastSect;
}
