using System.Runtime.InteropServices;
using Xen.Gnt;

namespace Netif;

/// <summary>An rx ring request (<c>struct netif_rx_request</c>, 8 bytes): a page the frontend offers for one received slot.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct NetifRxRequest
{
    /// <summary>Echoed in the response.</summary>
    [FieldOffset(0)] public ushort Id;

    /// <summary>Padding; zero.</summary>
    [FieldOffset(2)] public ushort Pad;

    /// <summary>The grant of the page to receive into.</summary>
    [FieldOffset(4)] public GrantRef Gref;
}

/// <summary>An rx ring response (<c>struct netif_rx_response</c>, 8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct NetifRxResponse
{
    /// <summary>The request's id.</summary>
    [FieldOffset(0)] public ushort Id;

    /// <summary>Where the data starts in the page.</summary>
    [FieldOffset(2)] public ushort Offset;

    /// <summary>Checksum, continuation and extra-info flags.</summary>
    [FieldOffset(4)] public NetifRxFlags Flags;

    /// <summary>The length received if positive, else a <see cref="NetifStatus"/> error.</summary>
    [FieldOffset(6)] public short Status;
}
