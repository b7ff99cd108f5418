using System.Runtime.InteropServices;

namespace Blkif;

/// <summary>A ring response (<c>struct blkif_response</c>, 16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct BlkifResponse
{
    /// <summary>The request's id.</summary>
    [FieldOffset(0)] public ulong Id;

    /// <summary>The request's operation.</summary>
    [FieldOffset(8)] public BlkifOperation Operation;

    /// <summary>The outcome.</summary>
    [FieldOffset(10)] public BlkifStatus Status;
}
