using System.Runtime.InteropServices;
using Xen.Gnt;

namespace Netif;

/// <summary>
/// A tx ring request (<c>struct netif_tx_request</c>, 12 bytes): one slot of a frame the frontend sends.
/// The first slot's <see cref="Size"/> is the whole frame's; each slot's own data is at
/// <see cref="Offset"/> in the granted page.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct NetifTxRequest
{
    /// <summary>The grant of the page holding the data.</summary>
    [FieldOffset(0)] public GrantRef Gref;

    /// <summary>Where the data starts in the page.</summary>
    [FieldOffset(4)] public ushort Offset;

    /// <summary>Checksum, continuation and extra-info flags.</summary>
    [FieldOffset(6)] public NetifTxFlags Flags;

    /// <summary>Echoed in the response.</summary>
    [FieldOffset(8)] public ushort Id;

    /// <summary>The slot's length in bytes; in a frame's first slot, the whole frame's length.</summary>
    [FieldOffset(10)] public ushort Size;
}

/// <summary>A tx ring response (<c>struct netif_tx_response</c>, 4 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 4)]
public struct NetifTxResponse
{
    /// <summary>The request's id.</summary>
    [FieldOffset(0)] public ushort Id;

    /// <summary>The outcome; <see cref="NetifStatus.Null"/> for an extra-info slot.</summary>
    [FieldOffset(2)] public NetifStatus Status;
}
