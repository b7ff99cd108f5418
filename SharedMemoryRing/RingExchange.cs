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
public readonly ref struct RingExchange<TRequest, TResponse>
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    // The slots hold the requests until their responses are written over them.
    private readonly RingSlots<TResponse> _slots;

    internal RingExchange(RingSlots<TResponse> slots) => _slots = slots;

    /// <summary>How many requests were consumed.</summary>
    public int Count => _slots.Count;

    /// <summary>The free-running ring index of entry 0.</summary>
    public uint FirstIndex => _slots.FirstIndex;

    /// <summary>Copies request <paramref name="i"/> out of shared memory into <paramref name="request"/> and
    /// returns its slot, to be filled in place with its response.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="i"/> is negative or not below <see cref="Count"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref TResponse Answer(int i, out TRequest request)
    {
        ref var slot = ref _slots[i];
        request = Unsafe.ReadUnaligned<TRequest>(ref Unsafe.As<TResponse, byte>(ref slot));
        return ref slot;
    }
}
