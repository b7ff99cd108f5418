using System.Runtime.CompilerServices;
using Xen.Gnt;

namespace SharedMemoryRing;

/// <summary>
/// The backend's end of a <c>ring.h</c> shared ring: it consumes requests and produces responses.
/// The backend attaches without touching the shared page, which the frontend initialised.
/// Not thread-safe: one thread drives an end at a time.
/// </summary>
/// <remarks>
/// Read requests with <see cref="TryReadRequest"/>; answer each with <see cref="TryWriteResponse"/>,
/// publish with <see cref="PushResponses"/> and notify the frontend when it says so; before sleeping call
/// <see cref="FinalCheckForRequests"/>. Many at a time go faster in batches: <see cref="ConsumeRequests"/>
/// and <see cref="ProduceResponses"/> keep the indices in locals for the whole batch. Each request is copied out of shared memory once (no double fetch),
/// and every <c>req_prod</c> read from shared memory is checked: a frontend that claims more requests than
/// the ring has free slots, or moves <c>req_prod</c> backwards, gets a <see cref="RingProtocolException"/>.
/// </remarks>
/// <typeparam name="TRequest">The request struct, as the protocol's C header lays it out.</typeparam>
/// <typeparam name="TResponse">The response struct, as the protocol's C header lays it out.</typeparam>
public sealed unsafe class BackRing<TRequest, TResponse>
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    // Mutable struct! Never readonly: the ring's state lives in it, padded so that the other end's
    // state, which another thread writes all the time, never shares a cache line with it.
#pragma warning disable IDE0044
    private RingCursor _c;
#pragma warning restore IDE0044

    private BackRing(byte* ring, int length, uint firstIndex)
    {
        _c.Size = SharedRingLayout.Validate<TRequest, TResponse>(ring, length);
        _c.Header = (SharedRingHeader*)ring;
        _c.Entries = ring + SharedRingLayout.EntriesOffset;
        _c.Producer = _c.Consumer = _c.Seen = _c.Published = firstIndex;
    }

    /// <summary>
    /// Attaches the backend to the frontend's ring in <paramref name="pages"/>, without writing to it,
    /// where the ring stands: at its published <c>rsp_prod</c>, as Linux's backends attach. A new ring
    /// has it at 0. A ring whose backend died goes on from there: the requests it consumed but never
    /// answered are consumed again. The pages must outlive the ring.
    /// </summary>
    /// <exception cref="ArgumentException">The pages are read-only or too small for one entry.</exception>
    /// <exception cref="RingProtocolException">The ring claims more unanswered requests than it has slots.</exception>
    public static BackRing<TRequest, TResponse> Attach(PageBuffer pages)
    {
        ArgumentNullException.ThrowIfNull(pages);
        if (!pages.Writable)
            throw new ArgumentException("A shared ring must be writable.", nameof(pages));
        var header = (SharedRingHeader*)pages.Pointer;
        var rspProd = Volatile.Read(ref header->RspProd);
        var ring = new BackRing<TRequest, TResponse>(pages.Pointer, pages.Length, rspProd);
        ring.ReadRequestProducer();   // a req_prod beyond the ring's slots throws here, not at the first read
        return ring;
    }

    /// <summary>
    /// Attaches the backend to the frontend's ring at <paramref name="ring"/> (<c>BACK_RING_ATTACH</c>),
    /// without writing to it. The memory must stay valid and fixed while the ring is in use.
    /// </summary>
    /// <param name="ring">The first byte of the shared ring.</param>
    /// <param name="length">The ring's size in bytes, usually a whole number of pages.</param>
    /// <param name="firstIndex">The index the frontend initialised the ring at: 0 in every real protocol.</param>
    public static BackRing<TRequest, TResponse> Attach(byte* ring, int length, uint firstIndex = 0) =>
        new(ring, length, firstIndex);

    /// <summary>The number of entries (<c>RING_SIZE</c>, <c>nr_ents</c>).</summary>
    public int Size => (int)_c.Size;

    /// <summary>The private response producer: responses written so far, pushed or not.</summary>
    public uint RspProdPvt => _c.Producer;

    /// <summary>The request consumer: requests consumed so far.</summary>
    public uint ReqCons => _c.Consumer;

    /// <summary>Requests consumed that have no response written yet: the slots free for responses.</summary>
    public int UnansweredRequests => (int)(_c.Consumer - _c.Producer);

    /// <summary>
    /// Requests published by the frontend and not yet consumed (<c>RING_HAS_UNCONSUMED_REQUESTS</c>).
    /// </summary>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    public int UnconsumedRequests => (int)(ReadRequestProducer() - _c.Consumer);

    /// <summary>Copies the next request out of shared memory and consumes it; false when there is none.</summary>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadRequest(out TRequest request)
    {
        if (!TryPeekRequest(out request))
            return false;
        _c.Consumer++;
        return true;
    }

    /// <summary>
    /// Copies the next request out of shared memory without consuming it; false when there is none. For a
    /// backend that takes a request only once something else has worked (netback's rx lets its link write a
    /// frame straight into the request's page): it decides on this copy, then consumes the request with
    /// <see cref="TryReadRequest"/>, whose second copy it need not look at.
    /// </summary>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPeekRequest(out TRequest request)
    {
        var cons = _c.Consumer;
        if (cons == _c.Seen && cons == ReadRequestProducer())
        {
            request = default;
            return false;
        }
        request = Unsafe.ReadUnaligned<TRequest>(Slot(cons));
        return true;
    }

    /// <summary>
    /// Consumes up to <paramref name="count"/> of the requests the frontend has published, at once: one
    /// checked read of <c>req_prod</c> (with the read barrier ring.h puts after it), then the entries up to
    /// it, with one update of the consumer index for them all. Read each entry once, into a local
    /// (<c>RING_COPY_REQUEST</c>), before its slot takes a response.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingEntries<TRequest> ConsumeRequests(int count = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var cons = _c.Consumer;
        var taken = Math.Min(ReadRequestProducer() - cons, (uint)count);
        _c.Consumer = cons + taken;
        return new RingEntries<TRequest>(_c.Entries, cons, _c.Size - 1, (uint)SharedRingLayout.SlotSize<TRequest, TResponse>(), (int)taken);
    }

    /// <summary>
    /// Writes <paramref name="response"/> into the slot of the oldest unanswered request; the frontend sees
    /// it after <see cref="PushResponses"/>. Returns false, writing nothing, when every consumed request
    /// already has its response.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWriteResponse(in TResponse response)
    {
        var prod = _c.Producer;
        if (prod == _c.Consumer)
            return false;
        Unsafe.WriteUnaligned(Slot(prod), response);
        _c.Producer = prod + 1;
        return true;
    }

    /// <summary>Writes <paramref name="response"/> into the slot of the oldest unanswered request.</summary>
    /// <exception cref="InvalidOperationException">Every consumed request already has its response.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteResponse(in TResponse response)
    {
        if (!TryWriteResponse(response))
            ThrowHelper.NoRequestToAnswer();
    }

    /// <summary>
    /// Claims the slot of the oldest unanswered request and returns it, to be filled in place with its
    /// response (ring.h's <c>RING_GET_RESPONSE(r, r->rsp_prod_pvt++)</c>); the frontend sees it after
    /// <see cref="PushResponses"/>. The slot still holds the request: set every field.
    /// </summary>
    /// <exception cref="InvalidOperationException">Every consumed request already has its response.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref TResponse ProduceResponse()
    {
        var prod = _c.Producer;
        if (prod == _c.Consumer)
            ThrowHelper.NoRequestToAnswer();
        _c.Producer = prod + 1;
        return ref Unsafe.AsRef<TResponse>(Slot(prod));
    }

    /// <summary>
    /// Claims the slots of up to <paramref name="count"/> of the oldest unanswered requests at once, to be
    /// filled in place with their responses (ring.h's <c>RING_GET_RESPONSE(r, r->rsp_prod_pvt++)</c> in a
    /// loop, with one update of the private producer for them all); the frontend sees them after
    /// <see cref="PushResponses"/>. Fewer when fewer requests are unanswered. A slot still holds its
    /// request: copy the request out before writing the response over it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingSlots<TResponse> ProduceResponses(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var prod = _c.Producer;
        var claimed = Math.Min(_c.Consumer - prod, (uint)count);
        _c.Producer = prod + claimed;
        return new RingSlots<TResponse>(_c.Entries, prod, _c.Size - 1, (uint)SharedRingLayout.SlotSize<TRequest, TResponse>(), (int)claimed);
    }

    /// <summary>
    /// Consumes up to <paramref name="count"/> of the requests the frontend has published and claims their
    /// slots for their responses, at once, for a backend that answers each as it reads it: one checked read
    /// of <c>req_prod</c>, then each request is read from, and its response written into, the same slot
    /// (<see cref="RingExchange{TRequest, TResponse}.Answer"/>). The frontend sees the responses after
    /// <see cref="PushResponses"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">A request consumed before has no response yet: its
    /// response's slot comes first.</exception>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingExchange<TRequest, TResponse> ConsumeAndAnswer(int count = int.MaxValue)
    {
        if (_c.Producer != _c.Consumer)
            ThrowHelper.RequestsUnanswered(_c.Consumer - _c.Producer);
        // Every request consumed so far is answered, so the responses' slots are the requests' own.
        return new RingExchange<TRequest, TResponse>(ProduceResponses(ConsumeRequests(count).Count));
    }

    /// <summary>
    /// Publishes the written responses (<c>RING_PUSH_RESPONSES_AND_CHECK_NOTIFY</c>) and returns whether the
    /// frontend asked to be notified of them: then send it an event.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushResponses()
    {
        // ring.h reads the old rsp_prod back from the header; ours is the value we last wrote there.
        var old = _c.Published;
        var now = _c.Producer;
        if (old == now)
            return false;
        _c.Published = now;
        // One locked exchange both publishes the index (after the entries it covers) and is the full
        // barrier between that store and the read of rsp_event, or a frontend that is just going to sleep
        // and we could both miss each other: one locked instruction per push, not a store and a fence.
        Interlocked.Exchange(ref _c.Header->RspProd, now);
        return now - Volatile.Read(ref _c.Header->RspEvent) < now - old;
    }

    /// <summary>
    /// The check before sleeping (<c>RING_FINAL_CHECK_FOR_REQUESTS</c>): returns true if at least
    /// <paramref name="needed"/> requests are waiting; otherwise asks the frontend to notify on its next
    /// request after those already pushed, then checks once more, so a request pushed meanwhile is never
    /// slept through. A backend that needs several slots for one item (netback's rx, a frame over
    /// several slots) passes their number, as Linux's netback does.
    /// </summary>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    public bool FinalCheckForRequests(int needed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(needed, 1);
        var available = ReadRequestProducer() - _c.Consumer;
        if (available >= (uint)needed)
            return true;
        Volatile.Write(ref _c.Header->ReqEvent, _c.Consumer + available + 1);
        Interlocked.MemoryBarrier();
        return ReadRequestProducer() - _c.Consumer >= (uint)needed;
    }

    /// <summary>
    /// Takes up the live-byte convention (<see cref="SharedRingLayout.BackendLiveOffset"/>) if the
    /// frontend keeps it: when the frontend's byte says connected, marks the backend's connected, watches
    /// the frontend's, and returns true; otherwise writes nothing and returns false (a frontend such as
    /// Linux's zeroes the padding and never looks at it). Map the page with an unmap notification that
    /// clears the backend's byte before this, so that the frontend learns of a death too.
    /// </summary>
    public bool DeclareLive()
    {
        var header = (byte*)_c.Header;
        if (Volatile.Read(ref header[SharedRingLayout.FrontendLiveOffset]) != SharedRingLayout.LiveConnected)
            return false;
        Volatile.Write(ref header[SharedRingLayout.BackendLiveOffset], SharedRingLayout.LiveConnected);
        _c.Watching = 1;
        return true;
    }

    /// <summary>
    /// Whether the frontend, which kept the live-byte convention when <see cref="DeclareLive"/> looked,
    /// has since let go of the ring or died (its unmap notification cleared its byte).
    /// </summary>
    public bool IsFrontendGone =>
        _c.Watching != 0 && Volatile.Read(ref ((byte*)_c.Header)[SharedRingLayout.FrontendLiveOffset]) == SharedRingLayout.LiveExited;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Slot(uint index) =>
        _c.Entries + (nuint)(index & (_c.Size - 1)) * (nuint)SharedRingLayout.SlotSize<TRequest, TResponse>();

    // One 32-bit acquire load of req_prod, checked (RING_REQUEST_PROD_OVERFLOW, and no going back):
    // the frontend may fill only the slots that hold no unanswered request, so req_prod - req_cons
    // never exceeds nr_ents - (req_cons - rsp_prod_pvt). A req_prod behind req_cons wraps to a huge
    // difference and fails the same check.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint ReadRequestProducer()
    {
        var prod = Volatile.Read(ref _c.Header->ReqProd);
        if (prod - _c.Consumer > _c.Size - (_c.Consumer - _c.Producer))
            ThrowHelper.RequestOverflow(prod, _c.Consumer, _c.Producer, _c.Size);
        _c.Seen = prod;
        return prod;
    }
}
