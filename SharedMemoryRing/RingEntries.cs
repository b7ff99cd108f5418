using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// Consecutive entries consumed from a ring in one go (<see cref="FrontRing{TRequest, TResponse}.ConsumeResponses"/>,
/// <see cref="BackRing{TRequest, TResponse}.ConsumeRequests"/>): ring.h's loop from the consumer index up to
/// one snapshot of the peer's producer, read barrier once, with the indices in locals and one update of the
/// ring for them all. Entry <c>i</c> is the ring's entry <see cref="FirstIndex"/> + <c>i</c>.
/// </summary>
/// <remarks>
/// Each read of the indexer copies the entry out of shared memory (ring.h's <c>RING_COPY_REQUEST</c>):
/// read each entry once into a local, so that a peer rewriting a slot meanwhile cannot change what was
/// checked. The entries are consumed already, so their slots are this end's to reuse: read them before
/// producing into the ring again (a backend answers request <c>i</c> in its own slot, after copying it).
/// </remarks>
/// <typeparam name="T">The struct the entries hold: the response or the request.</typeparam>
public readonly unsafe ref struct RingEntries<T>
    where T : unmanaged
{
    private readonly byte* _entries;
    private readonly uint _first;
    private readonly uint _mask;
    private readonly uint _slotSize;
    // Count is this span's length, and the indexer's check is the span's own: the JIT knows that
    // check and drops it from a loop that runs i from 0 while i < Count, as it does for an array,
    // where a check of our own stays in every iteration (a round trip of 12-byte entries through
    // a ring on one thread, fill, answer, consume, took 2.6 ns with it, 2.3-2.5 without; C's 2.0-2.1).
    // The span covers the ring's first Count bytes, which are mapped; optimised code never reads
    // them (the indexer's load is unused and dropped).
    private readonly ReadOnlySpan<byte> _bound;

    internal RingEntries(byte* entries, uint first, uint mask, uint slotSize, int count)
    {
        _entries = entries;
        _first = first;
        _mask = mask;
        _slotSize = slotSize;
        _bound = new ReadOnlySpan<byte>(entries, count);
    }

    /// <summary>How many entries were consumed.</summary>
    public int Count => _bound.Length;

    /// <summary>The free-running ring index of entry 0.</summary>
    public uint FirstIndex => _first;

    /// <summary>A copy of entry <paramref name="i"/>, read out of shared memory now.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="i"/> is negative or not below <see cref="Count"/>.</exception>
    public T this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            _ = _bound[i];
            return Unsafe.ReadUnaligned<T>(_entries + (nuint)((_first + (uint)i) & _mask) * _slotSize);
        }
    }
}
