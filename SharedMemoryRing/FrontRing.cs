using System.Runtime.CompilerServices;
using Xen.Gnt;

namespace SharedMemoryRing;

/// <summary>
/// The frontend's end of a <c>ring.h</c> shared ring: it produces requests and consumes responses.
/// Only the frontend initialises the shared page. Not thread-safe: one thread drives an end at a time.
/// </summary>
/// <remarks>
/// Write requests with <see cref="TryWriteRequest"/>, publish them with <see cref="PushRequests"/> and
/// notify the backend when it says so; read responses with <see cref="TryReadResponse"/>, and before
/// sleeping call <see cref="FinalCheckForResponses"/>. Many at a time go faster in batches:
/// <see cref="ProduceRequests"/> and <see cref="ConsumeResponses"/> keep the indices in locals for the whole
/// batch, and one push publishes it. Each response is copied out of shared memory once,
/// and every <c>rsp_prod</c> read from shared memory is checked: a backend that claims more responses than
/// there are outstanding requests gets a <see cref="RingProtocolException"/>.
/// </remarks>
/// <typeparam name="TRequest">The request struct, as the protocol's C header lays it out.</typeparam>
/// <typeparam name="TResponse">The response struct, as the protocol's C header lays it out.</typeparam>
public sealed unsafe class FrontRing<TRequest, TResponse>
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    // Mutable struct! Never readonly: the ring's state lives in it, padded so that the other end's
    // state, which another thread writes all the time, never shares a cache line with it.
#pragma warning disable IDE0044
    private RingCursor _c;
#pragma warning restore IDE0044

    private FrontRing(byte* ring, int length, uint firstIndex)
    {
        _c.Size = SharedRingLayout.Validate<TRequest, TResponse>(ring, length);
        _c.Header = (SharedRingHeader*)ring;
        _c.Entries = ring + SharedRingLayout.EntriesOffset;
        _c.Producer = _c.Consumer = _c.Seen = _c.Published = firstIndex;
        SharedRingLayout.Initialise(ring, firstIndex);
    }

    /// <summary>Initialises the shared ring in <paramref name="pages"/> and attaches the frontend to it.
    /// The pages must outlive the ring.</summary>
    /// <exception cref="ArgumentException">The pages are read-only or too small for one entry.</exception>
    public static FrontRing<TRequest, TResponse> Initialise(PageBuffer pages)
    {
        ArgumentNullException.ThrowIfNull(pages);
        if (!pages.Writable)
            throw new ArgumentException("A shared ring must be writable.", nameof(pages));
        return new FrontRing<TRequest, TResponse>(pages.Pointer, pages.Length, 0);
    }

    /// <summary>
    /// Initialises the shared ring at <paramref name="ring"/> (<c>XEN_FRONT_RING_INIT</c>) and attaches the
    /// frontend to it. The memory must stay valid and fixed while the ring is in use.
    /// </summary>
    /// <param name="ring">The first byte of the shared ring.</param>
    /// <param name="length">The ring's size in bytes, usually a whole number of pages.</param>
    /// <param name="firstIndex">The index both producers start at: 0 in every real protocol
    /// (tests start near <see cref="uint.MaxValue"/> to exercise wrap-around).</param>
    public static FrontRing<TRequest, TResponse> Initialise(byte* ring, int length, uint firstIndex = 0) =>
        new(ring, length, firstIndex);

    /// <summary>The number of entries (<c>RING_SIZE</c>, <c>nr_ents</c>).</summary>
    public int Size => (int)_c.Size;

    /// <summary>The private request producer: requests written so far, pushed or not.</summary>
    public uint ReqProdPvt => _c.Producer;

    /// <summary>The response consumer: responses consumed so far.</summary>
    public uint RspCons => _c.Consumer;

    /// <summary>Free request slots (<c>RING_FREE_REQUESTS</c>). Slots come free as responses are consumed.</summary>
    public int FreeRequests => (int)(_c.Size - (_c.Producer - _c.Consumer));

    /// <summary>Whether no request slot is free (<c>RING_FULL</c>).</summary>
    public bool IsFull => _c.Producer - _c.Consumer >= _c.Size;

    /// <summary>Requests written but not yet pushed.</summary>
    public int UnpushedRequests => (int)(_c.Producer - _c.Published);

    /// <summary>
    /// Writes <paramref name="request"/> into the next free slot; the backend sees it after
    /// <see cref="PushRequests"/>. Returns false, writing nothing, when the ring is full.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWriteRequest(in TRequest request)
    {
        var prod = _c.Producer;
        if (prod - _c.Consumer >= _c.Size)
            return false;
        Unsafe.WriteUnaligned(Slot(prod), request);
        _c.Producer = prod + 1;
        return true;
    }

    /// <summary>Writes <paramref name="request"/> into the next free slot.</summary>
    /// <exception cref="InvalidOperationException">The ring is full.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteRequest(in TRequest request)
    {
        if (!TryWriteRequest(request))
            ThrowHelper.RingFull();
    }

    /// <summary>
    /// Claims the next free slot and returns it, to be filled in place (ring.h's
    /// <c>RING_GET_REQUEST(r, r->req_prod_pvt++)</c>); the backend sees it after <see cref="PushRequests"/>.
    /// The slot still holds an old entry: set every field.
    /// </summary>
    /// <exception cref="InvalidOperationException">The ring is full.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref TRequest ProduceRequest()
    {
        var prod = _c.Producer;
        if (prod - _c.Consumer >= _c.Size)
            ThrowHelper.RingFull();
        _c.Producer = prod + 1;
        return ref Unsafe.AsRef<TRequest>(Slot(prod));
    }

    /// <summary>
    /// Claims up to <paramref name="count"/> free slots at once, to be filled in place (ring.h's
    /// <c>RING_GET_REQUEST(r, r->req_prod_pvt++)</c> in a loop, with one update of the private producer
    /// for them all); the backend sees them after <see cref="PushRequests"/>. Fewer when fewer are free;
    /// none when the ring is full.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingSlots<TRequest> ProduceRequests(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var prod = _c.Producer;
        var claimed = Math.Min(_c.Size - (prod - _c.Consumer), (uint)count);
        _c.Producer = prod + claimed;
        return new RingSlots<TRequest>(_c.Entries, prod, _c.Size - 1, (uint)SharedRingLayout.SlotSize<TRequest, TResponse>(), (int)claimed);
    }

    /// <summary>
    /// Publishes the written requests (<c>RING_PUSH_REQUESTS_AND_CHECK_NOTIFY</c>) and returns whether the
    /// backend asked to be notified of them: then send it an event.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushRequests()
    {
        // ring.h reads the old req_prod back from the header; ours is the value we last wrote there.
        var old = _c.Published;
        var now = _c.Producer;
        if (old == now)
            return false;
        _c.Published = now;
        // One locked exchange both publishes the index (after the entries it covers) and is the full
        // barrier between that store and the read of req_event, or a backend that is just going to sleep
        // and we could both miss each other: one locked instruction per push, not a store and a fence.
        Interlocked.Exchange(ref _c.Header->ReqProd, now);
        return now - Volatile.Read(ref _c.Header->ReqEvent) < now - old;
    }

    /// <summary>
    /// Responses published by the backend and not yet consumed (<c>RING_HAS_UNCONSUMED_RESPONSES</c>).
    /// </summary>
    /// <exception cref="RingProtocolException">The backend's <c>rsp_prod</c> is out of range.</exception>
    public int UnconsumedResponses => (int)(ReadResponseProducer() - _c.Consumer);

    /// <summary>Copies the next response out of shared memory and consumes it; false when there is none.</summary>
    /// <exception cref="RingProtocolException">The backend's <c>rsp_prod</c> is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadResponse(out TResponse response)
    {
        var cons = _c.Consumer;
        if (cons == _c.Seen && cons == ReadResponseProducer())
        {
            response = default;
            return false;
        }
        response = Unsafe.ReadUnaligned<TResponse>(Slot(cons));
        _c.Consumer = cons + 1;
        return true;
    }

    /// <summary>
    /// Consumes up to <paramref name="count"/> of the responses the backend has published, at once: one
    /// checked read of <c>rsp_prod</c> (with the read barrier ring.h puts after it), then the entries up
    /// to it, with one update of the consumer index for them all. Read each entry once; their slots are
    /// free to new requests from now on, so read them before producing requests.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    /// <exception cref="RingProtocolException">The backend's <c>rsp_prod</c> is out of range.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingEntries<TResponse> ConsumeResponses(int count = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var cons = _c.Consumer;
        var taken = Math.Min(ReadResponseProducer() - cons, (uint)count);
        _c.Consumer = cons + taken;
        return new RingEntries<TResponse>(_c.Entries, cons, _c.Size - 1, (uint)SharedRingLayout.SlotSize<TRequest, TResponse>(), (int)taken);
    }

    /// <summary>
    /// The check before sleeping (<c>RING_FINAL_CHECK_FOR_RESPONSES</c>): returns true if responses are
    /// waiting; otherwise asks the backend to notify on the next response, then checks once more, so a
    /// response pushed meanwhile is never slept through.
    /// </summary>
    /// <exception cref="RingProtocolException">The backend's <c>rsp_prod</c> is out of range.</exception>
    public bool FinalCheckForResponses()
    {
        if (ReadResponseProducer() != _c.Consumer)
            return true;
        Volatile.Write(ref _c.Header->RspEvent, _c.Consumer + 1);
        Interlocked.MemoryBarrier();
        return ReadResponseProducer() != _c.Consumer;
    }

    /// <summary>
    /// Takes up the live-byte convention (<see cref="SharedRingLayout.FrontendLiveOffset"/>): marks the
    /// backend's byte waiting and the frontend's connected, then watches the backend's. Share the page
    /// with an unmap notification that clears the frontend's byte before this, so that the backend
    /// learns of a death too. Call before the ring is published.
    /// </summary>
    public void DeclareLive()
    {
        var header = (byte*)_c.Header;
        Volatile.Write(ref header[SharedRingLayout.BackendLiveOffset], SharedRingLayout.LiveWaiting);
        Volatile.Write(ref header[SharedRingLayout.FrontendLiveOffset], SharedRingLayout.LiveConnected);
        _c.Watching = 1;
    }

    /// <summary>
    /// Whether a backend that keeps the live-byte convention attached and has since let go of the ring
    /// or died (its unmap notification cleared its byte). False before <see cref="DeclareLive"/>, and
    /// always with a backend that does not keep the convention (Linux's), which leaves the byte waiting.
    /// </summary>
    public bool IsBackendGone =>
        _c.Watching != 0 && Volatile.Read(ref ((byte*)_c.Header)[SharedRingLayout.BackendLiveOffset]) == SharedRingLayout.LiveExited;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Slot(uint index) =>
        _c.Entries + (nuint)(index & (_c.Size - 1)) * (nuint)SharedRingLayout.SlotSize<TRequest, TResponse>();

    // One 32-bit acquire load of rsp_prod, checked: the backend can only answer requests we pushed
    // (a response takes the slot of a consumed request), so rsp_prod - rsp_cons never exceeds
    // req_prod - rsp_cons <= nr_ents. Requests written but not yet pushed do not count: the backend
    // has not seen them, and a response in their slot would overwrite them. A smaller rsp_prod than
    // before also fails this check.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint ReadResponseProducer()
    {
        var prod = Volatile.Read(ref _c.Header->RspProd);
        if (prod - _c.Consumer > _c.Published - _c.Consumer)
            ThrowHelper.ResponseOverflow(prod, _c.Consumer, _c.Published);
        _c.Seen = prod;
        return prod;
    }
}
