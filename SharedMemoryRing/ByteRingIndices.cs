using System.Runtime.InteropServices;

namespace SharedMemoryRing;

/// <summary>
/// A byte ring's two indices side by side, consumer first, as a vchan control page holds each
/// direction's (libxenvchan's <c>struct ring_shared</c>). Both run freely and wrap modulo 2^32; the
/// producer owns <see cref="Prod"/>, the consumer <see cref="Cons"/>. Only <see cref="ByteRing"/>
/// reads or writes them: a page layout embeds this struct and hands its address to the ring.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct ByteRingIndices
{
    /// <summary>The consumer index.</summary>
    public uint Cons;

    /// <summary>The producer index.</summary>
    public uint Prod;
}
