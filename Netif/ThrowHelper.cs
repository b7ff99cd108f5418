using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Netif;

/// <summary>Cold throws, out of the hot methods so that those stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void FrameTooShort(int length) =>
        throw new ArgumentException($"A frame of {length} bytes is shorter than an Ethernet header ({Frames.EthernetHeader} bytes).", "frame");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void FrameTooLong(int length, int max) =>
        throw new ArgumentException($"A frame of {length} bytes is longer than the {max} this queue sends (the MTU plus the Ethernet header and a VLAN tag, or 65535 with GSO).", "frame");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NeedsScatterGather(int length) =>
        throw new ArgumentException($"A frame of {length} bytes needs several slots, and the backend did not offer feature-sg.", "frame");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void BadGso(FrameOffload offload) =>
        throw new ArgumentException($"GSO needs a type both ends negotiated (feature-gso-tcpv4, -tcpv6) and a non-zero segment size, not {offload.GsoType} with {offload.GsoSize}.", "offload");
}
