using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Netif;

/// <summary>
/// An extra-info slot (<c>struct netif_extra_info</c>, 8 bytes), which takes the place of a tx
/// request or an rx response after one flagged <c>extra_info</c>. Which member of the union is
/// meant depends on <see cref="Type"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct NetifExtraInfo
{
    /// <summary>Which member of the union is meant.</summary>
    [FieldOffset(0)] public NetifExtraType Type;

    /// <summary>Whether another extra-info slot follows.</summary>
    [FieldOffset(1)] public NetifExtraFlags Flags;

    /// <summary><c>u.gso</c>, for <see cref="NetifExtraType.Gso"/>.</summary>
    [FieldOffset(2)] public NetifGsoInfo Gso;

    /// <summary><c>u.mcast</c>, for <see cref="NetifExtraType.McastAdd"/> and <see cref="NetifExtraType.McastDel"/>.</summary>
    [FieldOffset(2)] public NetifMcastInfo Mcast;

    /// <summary><c>u.hash</c>, for <see cref="NetifExtraType.Hash"/>.</summary>
    [FieldOffset(2)] public NetifHashInfo Hash;
}

/// <summary>The GSO member of an extra-info slot (<c>u.gso</c>, 6 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 6)]
public struct NetifGsoInfo
{
    /// <summary>The maximum payload of each segment (the MSS).</summary>
    [FieldOffset(0)] public ushort Size;

    /// <summary>The offload kind.</summary>
    [FieldOffset(2)] public NetifGsoType Type;

    /// <summary>Padding; zero.</summary>
    [FieldOffset(3)] public byte Pad;

    /// <summary>GSO feature flags; none is defined yet, so zero.</summary>
    [FieldOffset(4)] public ushort Features;
}

/// <summary>The multicast member of an extra-info slot (<c>u.mcast</c>, 6 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 6)]
public struct NetifMcastInfo
{
    /// <summary>The Ethernet multicast address.</summary>
    [FieldOffset(0)] public MacAddressBytes Addr;
}

/// <summary>The hash member of an extra-info slot (<c>u.hash</c>, 6 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 6)]
public struct NetifHashInfo
{
    /// <summary>Which fields were hashed (<c>_XEN_NETIF_CTRL_HASH_TYPE_*</c>).</summary>
    [FieldOffset(0)] public byte Type;

    /// <summary>The hash algorithm (<c>XEN_NETIF_CTRL_HASH_ALGORITHM_*</c>).</summary>
    [FieldOffset(1)] public byte Algorithm;

    /// <summary>The hash value, four bytes in little-endian order.</summary>
    [FieldOffset(2)] public NetifHashValue Value;
}

/// <summary>Six bytes of an Ethernet address, in wire order.</summary>
[InlineArray(6)]
public struct MacAddressBytes
{
    private byte _element0;
}

/// <summary>The four bytes of a packet hash, in little-endian order.</summary>
[InlineArray(4)]
public struct NetifHashValue
{
    private byte _element0;
}
