using System.Runtime.CompilerServices;

namespace SharedMemoryRing;

/// <summary>
/// Requests consumed in one go together with their slots for the responses
/// (<see cref="BackRing{TRequest, TResponse}.ConsumeAndAnswer"/>): a backend that answers each request as it
/// reads it, in order, writes request <c>i</c>'s response over it in the same slot, as ring.h's
/// <c>RING_GET_REQUEST</c> and <c>RING_GET_RESPONSE</c> at one index do. Entry <c>i</c> is the ring's entry
/// <see cref="FirstIndex"/> + <c>i</c>.
/// </summary>
/// <remarks>
/// <see cref="Answer"/> copies the request out of shared memory (ring.h's <c>RING_COPY_REQUEST</c>), then
/// returns its slot: decide on the copy, then set every field of the response. One address per entry,
/// where a <see cref="RingEntries{T}"/> and a <see cref="RingSlots{T}"/> over the same entries compute it
/// twice. The responses are claimed already: answer every entry before the ring pushes.
/// </remarks>
/// <typeparam name="TRequest">The request struct.</typeparam>
/// <typeparam name="TResponse">The response struct.</typeparam>
public readonly unsafe ref struct RingExchange<TRequest, TResponse>
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    private readonly byte* _entries;
    private readonly uint _first;
    private readonly uint _mask;
    private readonly uint _slotSize;
    // Count is this span's length, so that the JIT drops the check from a loop that runs i from 0
    // while i < Count, as in RingEntries.
    private readonly ReadOnlySpan<byte> _bound;

    internal RingExchange(byte* entries, uint first, uint mask, uint slotSize, int count)
    {
        _entries = entries;
        _first = first;
        _mask = mask;
        _slotSize = slotSize;
        _bound = new ReadOnlySpan<byte>(entries, count);
    }

    /// <summary>How many requests were consumed.</summary>
    public int Count => _bound.Length;

    /// <summary>The free-running ring index of entry 0.</summary>
    public uint FirstIndex => _first;

    /// <summary>Copies request <paramref name="i"/> out of shared memory into <paramref name="request"/> and
    /// returns its slot, to be filled in place with its response.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="i"/> is negative or not below <see cref="Count"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref TResponse Answer(int i, out TRequest request)
    {
        _ = _bound[i];
        var slot = _entries + (nuint)((_first + (uint)i) & _mask) * _slotSize;
        request = Unsafe.ReadUnaligned<TRequest>(slot);
        return ref Unsafe.AsRef<TResponse>(slot);
    }
}
