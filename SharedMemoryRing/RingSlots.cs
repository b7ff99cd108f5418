using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// Consecutive ring slots claimed for producing in one go (<see cref="FrontRing{TRequest, TResponse}.ProduceRequests"/>,
/// <see cref="BackRing{TRequest, TResponse}.ProduceResponses"/>): ring.h's <c>RING_GET_REQUEST(r, i)</c> for
/// <c>i</c> from the private producer on, with the indices in locals and one update of the ring for them all.
/// Slot <c>i</c> is the ring's entry <see cref="FirstIndex"/> + <c>i</c>; the window wraps at the ring's end.
/// </summary>
/// <remarks>
/// The slots still hold old entries: set every field of each. The peer sees them once the ring pushes.
/// The window points into the ring's memory, which must outlive it, like the ring.
/// </remarks>
/// <typeparam name="T">The struct the slots are filled with: the request or the response.</typeparam>
public readonly unsafe ref struct RingSlots<T>
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

    internal RingSlots(byte* entries, uint first, uint mask, uint slotSize, int count)
    {
        _entries = entries;
        _first = first;
        _mask = mask;
        _slotSize = slotSize;
        _bound = new ReadOnlySpan<byte>(entries, count);
    }

    /// <summary>How many slots were claimed: as many as asked for, or fewer when the ring had fewer free.</summary>
    public int Count => _bound.Length;

    /// <summary>The free-running ring index of slot 0.</summary>
    public uint FirstIndex => _first;

    /// <summary>Slot <paramref name="i"/>, to be filled in place.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="i"/> is negative or not below <see cref="Count"/>.</exception>
    public ref T this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            _ = _bound[i];
            return ref Unsafe.AsRef<T>(_entries + (nuint)((_first + (uint)i) & _mask) * _slotSize);
        }
    }
}
