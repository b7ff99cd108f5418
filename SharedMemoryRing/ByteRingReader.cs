using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// The consumer's end of a <see cref="ByteRing"/> that keeps its own <c>cons</c> privately and only
/// copies it out to shared memory, as vchan does: a peer that scribbles on the page cannot move where
/// this end reads. It also remembers the producer index it last saw, so a <c>prod</c> that moves
/// backwards is caught as well as one more than the ring's size ahead of <c>cons</c>.
/// </summary>
/// <remarks>
/// A mutable struct: keep it in a field (not a readonly one) and call it there. One thread reads at a
/// time; <see cref="Available"/> may be asked from another thread meanwhile.
/// </remarks>
public struct ByteRingReader
{
    private readonly ByteRing _ring;
    private uint _cons;
    private uint _prodSeen;

    /// <summary>Starts reading <paramref name="ring"/> at <paramref name="cons"/>.</summary>
    /// <param name="ring">The ring in shared memory.</param>
    /// <param name="cons">Where this end starts: 0 for a new ring, or the index a previous owner left.</param>
    public ByteRingReader(ByteRing ring, uint cons)
    {
        _ring = ring;
        _cons = cons;
        _prodSeen = cons;
    }

    /// <summary>The ring's size in bytes.</summary>
    public readonly int Size => _ring.Size;

    /// <summary>This end's consumer index: how many bytes it has read, modulo 2^32.</summary>
    public readonly uint Cons => _cons;

    /// <summary>Bytes the producer has written and this end not yet read.</summary>
    /// <exception cref="RingProtocolException">The producer index is more than the ring's size ahead of ours, or behind it.</exception>
    public readonly int Available
    {
        get
        {
            // The peer's index first, then ours: a read running meanwhile only moves ours forward.
            var prod = _ring.Prod;
            var cons = _cons;
            if (!RingWindow.Holds(prod, cons, cons + (uint)_ring.Size))
                ThrowHelper.ByteRingOverflow(prod, cons, (uint)_ring.Size);
            return (int)(prod - cons);
        }
    }

    /// <summary>
    /// Copies as many waiting bytes as fit into <paramref name="destination"/> and publishes the new
    /// <c>cons</c>. Returns the number of bytes read; when it is not zero, notify the peer if it asked.
    /// </summary>
    /// <exception cref="RingProtocolException">The producer index moved backwards, or is more than the ring's size ahead of ours.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Read(Span<byte> destination)
    {
        var prod = _ring.Prod;
        // From where we last saw it up to a full ring past our index.
        if (!RingWindow.Holds(prod, _prodSeen, _cons + (uint)_ring.Size))
            ThrowHelper.ByteRingProducerOutOfWindow(prod, _prodSeen, _cons, (uint)_ring.Size);
        _prodSeen = prod;
        var count = (int)Math.Min(prod - _cons, (uint)destination.Length);
        if (count == 0)
            return 0;
        _ring.CopyOut(_cons, destination[..count]);
        _cons += (uint)count;
        _ring.PublishCons(_cons);
        return count;
    }
}
