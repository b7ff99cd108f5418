using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// One direction of a byte ring in shared memory, as the Xenstore and console pages hold them: a data
/// area whose size is a power of two, and free-running 32-bit <c>cons</c> and <c>prod</c> indices.
/// The producer calls <see cref="Write"/>, the consumer <see cref="Read"/>; the same value describes the
/// ring for both sides, since all its state lives in shared memory.
/// </summary>
/// <remarks>
/// Every index is read once per call with one 32-bit load and checked: indices that claim more bytes than
/// the ring holds are a <see cref="RingProtocolException"/>, and positions are always taken modulo the
/// size, so a hostile peer can never make a call touch memory outside the ring.
/// These rings have no event index: after a call that moved bytes, notify the peer (a producer so that
/// the consumer reads; a consumer so that a producer waiting for space writes).
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
        var at = prod & (_size - 1);
        var first = (int)Math.Min((uint)count, _size - at);
        source[..first].CopyTo(new Span<byte>(_data + at, first));
        source[first..count].CopyTo(new Span<byte>(_data, count - first));
        // Release: the consumer sees the bytes before the index that covers them.
        Volatile.Write(ref *_prod, prod + (uint)count);
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
        var at = cons & (_size - 1);
        var first = (int)Math.Min((uint)count, _size - at);
        new ReadOnlySpan<byte>(_data + at, first).CopyTo(destination);
        new ReadOnlySpan<byte>(_data, count - first).CopyTo(destination[first..]);
        // Release: the copies are done before the producer may reuse the space.
        Volatile.Write(ref *_cons, cons + (uint)count);
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Used(uint prod, uint cons)
    {
        var used = prod - cons;
        if (used > _size)
            ThrowHelper.ByteRingOverflow(prod, cons, _size);
        return used;
    }
}
