using System.Runtime.InteropServices;

namespace Blkif;

/// <summary>A discard request (<c>struct blkif_request_discard</c>, 32 bytes), in a request slot.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct BlkifRequestDiscard
{
    /// <summary><see cref="BlkifOperation.Discard"/>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary>Whether to discard securely.</summary>
    [FieldOffset(1)] public BlkifDiscardFlags Flag;

    /// <summary>The virtual device.</summary>
    [FieldOffset(2)] public ushort Handle;

    /// <summary>The frontend's own value, echoed in the response.</summary>
    [FieldOffset(8)] public ulong Id;

    /// <summary>The first sector to discard, in 512-byte units.</summary>
    [FieldOffset(16)] public ulong SectorNumber;

    /// <summary>How many contiguous sectors to discard.</summary>
    [FieldOffset(24)] public ulong NrSectors;
}
