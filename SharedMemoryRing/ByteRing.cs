using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// One direction of a byte ring in shared memory, as the Xenstore, console and vchan pages hold them: a
/// data area whose size is a power of two, and free-running 32-bit <c>cons</c> and <c>prod</c> indices.
/// The producer calls <see cref="Write"/>, the consumer <see cref="Read"/>; the same value describes the
/// ring for both sides, since all its state lives in shared memory. An end that keeps its own index
/// privately (so that a peer scribbling on the page cannot move it) uses <see cref="ByteRingReader"/>
/// or <see cref="ByteRingWriter"/> instead.
/// </summary>
/// <remarks>
/// <para>The hostile-peer rule, the same for every byte ring: the peer's index is read once per call
/// with one 32-bit load and must lie in its window. A producer index may stand at most the ring's size
/// ahead of the consumer's; a consumer index may not pass the producer's; and an end that remembers
/// where it last saw the peer's index (a reader or writer) also refuses one that moved backwards. An
/// index outside its window is a <see cref="RingProtocolException"/>. Positions are always taken modulo
/// the size, so a hostile peer can never make a call touch memory outside the ring.</para>
/// <para>These rings have no event index: after a call that moved bytes, notify the peer (a producer so
/// that the consumer reads; a consumer so that a producer waiting for space writes).</para>
/// </remarks>
public readonly unsafe struct ByteRing
{
    private readonly byte* _data;
    private readonly uint _size;
    private readonly uint* _cons;
    private readonly uint* _prod;

    /// <summary>Describes a byte ring in shared memory.</summary>
    /// <param name="data">The ring's data area.</param>
    /// <param name="size">The data area's size: a power of two.</param>
    /// <param name="cons">The consumer index, 4-byte aligned.</param>
    /// <param name="prod">The producer index, 4-byte aligned.</param>
    public ByteRing(byte* data, int size, uint* cons, uint* prod)
    {
        if (data == null || cons == null || prod == null)
            throw new ArgumentNullException(data == null ? nameof(data) : cons == null ? nameof(cons) : nameof(prod));
        if (size <= 0 || !BitOperations.IsPow2(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, "A byte ring's size is a power of two.");
        if (((nuint)cons & 3) != 0 || ((nuint)prod & 3) != 0)
            throw new ArgumentException("A byte ring's indices must be 4-byte aligned.");
        _data = data;
        _size = (uint)size;
        _cons = cons;
        _prod = prod;
    }

    /// <summary>Describes a byte ring whose indices lie side by side, as in a vchan control page.</summary>
    /// <param name="data">The ring's data area.</param>
    /// <param name="size">The data area's size: a power of two.</param>
    /// <param name="indices">The ring's indices, 4-byte aligned.</param>
    public ByteRing(byte* data, int size, ByteRingIndices* indices)
        : this(data, size, &indices->Cons, &indices->Prod)
    {
    }

    /// <summary>The size of the data area in bytes.</summary>
    public int Size => (int)_size;

    /// <summary>The consumer index as it is now in shared memory.</summary>
    public uint Cons => Volatile.Read(ref *_cons);

    /// <summary>The producer index as it is now in shared memory.</summary>
    public uint Prod => Volatile.Read(ref *_prod);

    /// <summary>Bytes written and not yet read.</summary>
    /// <exception cref="RingProtocolException">The indices claim more bytes than the ring holds.</exception>
    public int Available
    {
        get
        {
            var prod = Volatile.Read(ref *_prod);
            return (int)Used(prod, Volatile.Read(ref *_cons));
        }
    }

    /// <summary>Bytes that a write can take now.</summary>
    /// <exception cref="RingProtocolException">The indices claim more bytes than the ring holds.</exception>
    public int Free
    {
        get
        {
            var cons = Volatile.Read(ref *_cons);
            return (int)(_size - Used(Volatile.Read(ref *_prod), cons));
        }
    }

    /// <summary>
    /// As the producer: copies as much of <paramref name="source"/> as fits into the ring and publishes it.
    /// Returns the number of bytes written; when it is not zero, notify the peer.
    /// </summary>
    /// <exception cref="RingProtocolException">The indices claim more bytes than the ring holds.</exception>
    public int Write(ReadOnlySpan<byte> source)
    {
        var cons = Volatile.Read(ref *_cons);
        var prod = Volatile.Read(ref *_prod);
        var count = (int)Math.Min(_size - Used(prod, cons), (uint)source.Length);
        if (count == 0)
            return 0;
        CopyIn(prod, source[..count]);
        PublishProd(prod + (uint)count);
        return count;
    }

    /// <summary>
    /// As the consumer: copies as many waiting bytes as fit into <paramref name="destination"/> and frees
    /// their space. Returns the number of bytes read; when it is not zero, notify the peer.
    /// </summary>
    /// <exception cref="RingProtocolException">The indices claim more bytes than the ring holds.</exception>
    public int Read(Span<byte> destination)
    {
        var prod = Volatile.Read(ref *_prod);
        var cons = Volatile.Read(ref *_cons);
        var count = (int)Math.Min(Used(prod, cons), (uint)destination.Length);
        if (count == 0)
            return 0;
        CopyOut(cons, destination[..count]);
        PublishCons(cons + (uint)count);
        return count;
    }

    // Copies all of source into the ring from index `at` on, wrapping at the end of the data area.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CopyIn(uint at, ReadOnlySpan<byte> source)
    {
        var offset = at & (_size - 1);
        var first = (int)Math.Min((uint)source.Length, _size - offset);
        source[..first].CopyTo(new Span<byte>(_data + offset, first));
        if (first < source.Length)
            source[first..].CopyTo(new Span<byte>(_data, source.Length - first));
    }

    // Fills all of destination from the ring from index `at` on, wrapping at the end of the data area.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CopyOut(uint at, Span<byte> destination)
    {
        var offset = at & (_size - 1);
        var first = (int)Math.Min((uint)destination.Length, _size - offset);
        new ReadOnlySpan<byte>(_data + offset, first).CopyTo(destination);
        if (first < destination.Length)
            new ReadOnlySpan<byte>(_data, destination.Length - first).CopyTo(destination[first..]);
    }

    // Release: the consumer sees the bytes before the index that covers them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PublishProd(uint prod) => Volatile.Write(ref *_prod, prod);

    // Release: the copies are done before the producer may reuse the space.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PublishCons(uint cons) => Volatile.Write(ref *_cons, cons);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Used(uint prod, uint cons)
    {
        if (!RingWindow.Holds(prod, cons, cons + _size))
            ThrowHelper.ByteRingOverflow(prod, cons, _size);
        return prod - cons;
    }
}
