using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// The producer's end of a <see cref="ByteRing"/> that keeps its own <c>prod</c> privately and only
/// copies it out to shared memory, as vchan does: a peer that scribbles on the page cannot move where
/// this end writes. It also remembers the consumer index it last saw, so a <c>cons</c> that moves
/// backwards is caught as well as one that passes <c>prod</c>.
/// </summary>
/// <remarks>
/// A mutable struct: keep it in a field (not a readonly one) and call it there. One thread writes at a
/// time; <see cref="Free"/> may be asked from another thread meanwhile.
/// </remarks>
public struct ByteRingWriter
{
    private readonly ByteRing _ring;
    private uint _prod;
    private uint _consSeen;

    /// <summary>Starts writing <paramref name="ring"/> at <paramref name="prod"/>.</summary>
    /// <param name="ring">The ring in shared memory.</param>
    /// <param name="prod">Where this end starts: 0 for a new ring, or the index a previous owner left.</param>
    public ByteRingWriter(ByteRing ring, uint prod)
    {
        _ring = ring;
        _prod = prod;
        // Nothing seen yet: the consumer may be anywhere up to a full ring behind us.
        _consSeen = prod - (uint)ring.Size;
    }

    /// <summary>The ring's size in bytes.</summary>
    public readonly int Size => _ring.Size;

    /// <summary>This end's producer index: how many bytes it has written, modulo 2^32.</summary>
    public readonly uint Prod => _prod;

    /// <summary>Bytes a write can take now.</summary>
    /// <exception cref="RingProtocolException">The consumer index is ahead of ours, or more than the ring's size behind it.</exception>
    public readonly int Free
    {
        get
        {
            // The peer's index first, then ours: a write running meanwhile only moves ours forward.
            var cons = _ring.Cons;
            var prod = _prod;
            var size = (uint)_ring.Size;
            if (!RingWindow.Holds(cons, prod - size, prod))
                ThrowHelper.ByteRingOverflow(prod, cons, size);
            return (int)(size - (prod - cons));
        }
    }

    /// <summary>
    /// Copies as much of <paramref name="source"/> as fits into the ring and publishes the new
    /// <c>prod</c>. Returns the number of bytes written; when it is not zero, notify the peer if it asked.
    /// </summary>
    /// <exception cref="RingProtocolException">The consumer index moved backwards, or passed ours.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(ReadOnlySpan<byte> source)
    {
        var cons = _ring.Cons;
        // From where we last saw it up to our own index.
        if (!RingWindow.Holds(cons, _consSeen, _prod))
            ThrowHelper.ByteRingConsumerOutOfWindow(cons, _consSeen, _prod, (uint)_ring.Size);
        _consSeen = cons;
        var count = (int)Math.Min((uint)_ring.Size - (_prod - cons), (uint)source.Length);
        if (count == 0)
            return 0;
        _ring.CopyIn(_prod, source[..count]);
        _prod += (uint)count;
        _ring.PublishProd(_prod);
        return count;
    }
}
