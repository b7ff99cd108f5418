using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// One ring of a blkfront: request ids with their granted pages, the submit path (many callers,
/// under a short lock) and the receive loop that consumes responses, copies read data out and
/// completes the callers.
/// </summary>
internal sealed class BlkfrontQueue<TEvents, TMemory> : IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private const int PageSize = PageBuffer.PageSize;

    // Mutable when the backends are structs.
#pragma warning disable IDE0044
    private TEvents _events;
    private TMemory _memory;
#pragma warning restore IDE0044
    private readonly ushort _backend;
    private readonly Share _ringPages;
    private readonly FrontRing<BlkifRequest, BlkifResponse> _ring;
    private readonly Channel _channel;
    private readonly int _spinCount;
    private int _indirectPages;
    // Guards the ring, the free ids and the failure: the ring has one producer and one consumer
    // thread at a time only under it.
    private readonly Lock _gate = new();
    private readonly RequestSlot[] _slots;
    private readonly ushort[] _free;
    private int _freeCount;
    private readonly SemaphoreSlim _available;
    private readonly CancellationTokenSource _stop = new();
    private Exception? _failure;
    // Requests on the ring that carry more than one ring request's inline segments (up to 1 MiB): each
    // takes the backend a few hundred microseconds, so the receive loop sleeps rather than spins.
    private int _largeInFlight;
    private Task _receiver = Task.CompletedTask;
    private readonly Stack<CompletionBatch> _batches = new();
    // Leases on the slots' pages: one for the queue until it is disposed, and one for each completion
    // batch, which copies read data out of them. The pages are freed once the last lease is given back
    // and every request id is free (a caller fills its slot's pages until it gives the id back, even
    // after a disposal), by whichever of the two comes last; after that no id is taken.
    private int _leases = 1;
    private bool _pagesFreed; // under _gate

    // The queue whose completion batch runs on this thread, while it runs: a caller's continuation that
    // makes its next call from there sends it down the same ring (Blkfront.NextQueue).
    [ThreadStatic]
    private static BlkfrontQueue<TEvents, TMemory>? t_completing;

    private readonly BlkifCounters _counters;
    private readonly ILogger _logger;
    private readonly string _name;

    public BlkfrontQueue(TEvents events, TMemory memory, ushort backend, int ringPageOrder, int maxRequests, int spinCount,
        BlkifCounters counters, ILogger logger, string name)
    {
        _counters = counters;
        _logger = logger;
        _name = name;
        _events = events;
        _memory = memory;
        _backend = backend;
        _spinCount = spinCount;
        var (port, channel) = _events.Listen(backend);
        Port = port;
        _channel = channel;
        try
        {
            // If this process dies, or ends the share, the backend sees the ring's live byte cleared
            // and an event: under Xen nothing else would tell it.
            _ringPages = _memory.Share(backend, 1 << ringPageOrder, writable: true,
                UnmapNotify.ClearByteAndSendEvent(SharedRingLayout.FrontendLiveOffset, channel.LocalPort.Value));
        }
        catch
        {
            _events.Close(channel);
            throw;
        }
        _ring = FrontRing<BlkifRequest, BlkifResponse>.Initialise(_ringPages);
        _ring.DeclareLive();
        var count = maxRequests == 0 ? _ring.Size : Math.Min(maxRequests, _ring.Size);
        _slots = new RequestSlot[count];
        _free = new ushort[count];
        for (var i = 0; i < count; i++)
        {
            _slots[i] = new RequestSlot((ushort)i);
            // The stack pops low ids first: the same few ids (and grants) serve a light load.
            _free[i] = (ushort)(count - 1 - i);
        }
        _freeCount = count;
        _available = new SemaphoreSlim(count, count);
    }

    public Port Port { get; }

    /// <summary>Sets the segments a request may carry, once the backend's limit is known.</summary>
    public void SetMaxSegments(int maxSegments) =>
        _indirectPages = maxSegments > BlkifConstants.MaxSegmentsPerRequest
            ? (maxSegments + BlkifConstants.SegmentsPerIndirectFrame - 1) / BlkifConstants.SegmentsPerIndirectFrame
            : 0;

    public IReadOnlyList<GrantRef> RingRefs => _ringPages.Refs;

    /// <summary>The queue whose completion batch is running on this thread, if any.</summary>
    public static BlkfrontQueue<TEvents, TMemory>? Completing => t_completing;

    /// <summary>Whether a request id is free now (a hint: another caller may take it first).</summary>
    public bool HasFreeSlot => _available.CurrentCount > 0;

    public void Start() => _receiver = Task.Run(ReceiveAsync);

    /// <summary>Takes a free request id at once, if there is one: none once a disposal has freed the
    /// slots' pages (<see cref="AcquireAsync"/> then says the device is closed).</summary>
    public bool TryAcquire(out RequestSlot slot)
    {
        if (_available.Wait(0))
            return TryPop(out slot);
        slot = null!;
        return false;
    }

    /// <summary>Waits for a free request id.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="BlkifIOException">The queue was closed while waiting.</exception>
    public async ValueTask<RequestSlot> AcquireAsync(CancellationToken cancellationToken)
    {
        // Disposal must wake the waiters too: they wait on both tokens.
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            await _available.WaitAsync(both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Closed();
        }
        return TryPop(out var slot) ? slot : throw Closed();
    }

    private BlkifIOException Closed() => Failure as BlkifIOException ?? new BlkifIOException("The block device was closed.", null);

    // Takes a free id; false, with the id's count given back, once the slots' pages are freed.
    private bool TryPop(out RequestSlot slot)
    {
        lock (_gate)
        {
            if (!_pagesFreed)
            {
                slot = _slots[_free[--_freeCount]];
                return true;
            }
        }
        _available.Release();
        slot = null!;
        return false;
    }

    // The caller has claimed the slot's operation (or never posted it).
    private void Release(RequestSlot slot)
    {
        slot.ReadTarget = default;
        if (slot.SharedBuffer is { } buffer)
        {
            slot.SharedBuffer = null;
            SharedBufferPool.EndUse(buffer);
        }
        if (slot.Large)
        {
            slot.Large = false;
            Interlocked.Decrement(ref _largeInFlight);
        }
        bool last;
        lock (_gate)
        {
            _free[_freeCount++] = slot.Id;
            last = ClaimUnusedPages();
        }
        _available.Release();
        if (last)
            FreePages();
    }

    /// <summary>
    /// Puts one ring request on the ring for <paramref name="slot"/>: fills its pages (copying a
    /// write's data in), writes the request and pushes it. A failure completes the piece at once.
    /// </summary>
    public void Submit(RequestSlot slot, BlockOperation operation, BlkifOperation kind, ulong sector,
        ReadOnlyMemory<byte> writeData, Memory<byte> readTarget, int bytes)
    {
        slot.Start(kind, sector, bytes, readTarget);
        var request = default(BlkifRequest);
        request.Id = slot.Id;
        request.SectorNumber = sector;
        try
        {
            var segments = (bytes + PageSize - 1) / PageSize;
            if (segments > 0)
            {
                slot.EnsurePages(ref _memory, _backend, segments);
                if (!writeData.IsEmpty)
                    CopyIn(slot, writeData.Span);
            }
            PutSegments(slot, ref request, kind, segments, bytes, null, 0);
        }
        catch (Exception e) when (e is GrantException or ObjectDisposedException)
        {
            Fail(slot, operation, e);
            return;
        }
        Post(slot, operation, request);
    }

    /// <summary>
    /// Puts one ring request on the ring whose segments name <paramref name="pages"/> from
    /// <paramref name="firstPage"/> on: the caller's own granted pages, which the backend reads into
    /// or writes from, with nothing copied here.
    /// </summary>
    public void SubmitDirect(RequestSlot slot, BlockOperation operation, BlkifOperation kind, ulong sector, Share pages, int firstPage, int bytes)
    {
        slot.Start(kind, sector, bytes, default);
        var request = default(BlkifRequest);
        request.Id = slot.Id;
        request.SectorNumber = sector;
        try
        {
            SharedBufferPool.BeginUse(pages);
            slot.SharedBuffer = pages;
            PutSegments(slot, ref request, kind, (bytes + PageSize - 1) / PageSize, bytes, pages.Refs, firstPage);
        }
        catch (Exception e) when (e is GrantException or ObjectDisposedException)
        {
            Fail(slot, operation, e);
            return;
        }
        Post(slot, operation, request);
    }

    /// <summary>
    /// Writes the request's operation and segments: in the request, or in the slot's indirect pages when
    /// there are more than fit (written before the push publishes the request). The data pages are the
    /// slot's own (<paramref name="refs"/> null) or the caller's granted ones from <paramref name="first"/> on.
    /// </summary>
    private void PutSegments(RequestSlot slot, ref BlkifRequest request, BlkifOperation kind, int segments, int bytes, IReadOnlyList<GrantRef>? refs, int first)
    {
        if (segments <= BlkifConstants.MaxSegmentsPerRequest)
        {
            request.Operation = kind;
            request.NrSegments = (byte)segments;
            FillSegments(slot, refs, first, request.Segments, bytes);
            return;
        }
        var indirectPages = slot.Indirect(ref _memory, _backend, _indirectPages);
        FillSegments(slot, refs, first, MemoryMarshal.Cast<byte, BlkifRequestSegment>(indirectPages.Span), bytes);
        ref var indirect = ref Unsafe.As<BlkifRequest, BlkifRequestIndirect>(ref request);
        indirect.Operation = BlkifOperation.Indirect;
        indirect.IndirectOp = kind;
        indirect.NrSegments = (ushort)segments;
        var used = (segments + BlkifConstants.SegmentsPerIndirectFrame - 1) / BlkifConstants.SegmentsPerIndirectFrame;
        Span<GrantRef> grefs = indirect.IndirectGrefs;
        for (var i = 0; i < used; i++)
            grefs[i] = indirectPages.Refs[i];
    }

    /// <summary>Gives the slot back and fails the piece: no page could be granted for it.</summary>
    private void Fail(RequestSlot slot, BlockOperation operation, Exception e)
    {
        Release(slot);
        operation.PieceDone(new BlkifIOException($"No page could be granted to the backend for the request: {e.Message}", e));
    }

    /// <summary>Puts a request for a discard on the ring.</summary>
    public void SubmitDiscard(RequestSlot slot, BlockOperation operation, ulong sector, ulong sectors)
    {
        slot.Start(BlkifOperation.Discard, sector, 0, default);
        var request = default(BlkifRequest);
        ref var discard = ref Unsafe.As<BlkifRequest, BlkifRequestDiscard>(ref request);
        discard.Operation = BlkifOperation.Discard;
        discard.Id = slot.Id;
        discard.SectorNumber = sector;
        discard.NrSectors = sectors;
        Post(slot, operation, request);
    }

    private void Post(RequestSlot slot, BlockOperation operation, in BlkifRequest request)
    {
        Exception? failure;
        var notify = false;
        lock (_gate)
        {
            failure = _failure;
            if (failure is null)
            {
                // In flight from here, under the lock that a failure takes to gather what is in flight:
                // a slot that missed the failure's look is released below, by this call alone.
                slot.Operation = operation;
                // Counted before the push: the answer may be released on the receive loop at once.
                if (slot.Bytes > BlkifConstants.MaxSegmentsPerRequest * PageSize)
                {
                    slot.Large = true;
                    Interlocked.Increment(ref _largeInFlight);
                }
                // Never full: each request in flight holds one of at most ring-size ids.
                _ring.WriteRequest(request);
                notify = _ring.PushRequests();
                _counters.Requests[BlkifCounters.SlotOf(slot.Kind)]++;
            }
        }
        if (failure is not null)
        {
            Release(slot);
            operation.PieceDone(failure);
            return;
        }
        if (notify)
        {
            try
            {
                _events.Send(_channel);
            }
            catch (EventChannelException e)
            {
                Fail(e);
            }
        }
    }

    private static unsafe void CopyIn(RequestSlot slot, ReadOnlySpan<byte> data)
    {
        for (var p = 0; !data.IsEmpty; p++)
        {
            var n = Math.Min(PageSize, data.Length);
            data[..n].CopyTo(new Span<byte>(slot.Page(p), n));
            data = data[n..];
        }
    }

    private static unsafe void CopyOut(RequestSlot slot, Span<byte> target)
    {
        for (var p = 0; !target.IsEmpty; p++)
        {
            var n = Math.Min(PageSize, target.Length);
            new ReadOnlySpan<byte>(slot.Page(p), n).CopyTo(target);
            target = target[n..];
        }
    }

    // Data sits at the start of each page: whole pages, then the last one's first sectors.
    private static void FillSegments(RequestSlot slot, IReadOnlyList<GrantRef>? refs, int first, Span<BlkifRequestSegment> segments, int bytes)
    {
        for (var i = 0; bytes > 0; i++)
        {
            var n = Math.Min(PageSize, bytes);
            segments[i] = new BlkifRequestSegment
            {
                Gref = refs is null ? slot.Ref(i) : refs[first + i],
                FirstSect = 0,
                LastSect = (byte)(n / BlkifConstants.SectorSize - 1),
            };
            bytes -= n;
        }
    }

    private async Task ReceiveAsync()
    {
        var seen = EventCounter.Initial;
        var token = _stop.Token;
        try
        {
            while (true)
            {
                if (Dispatch())
                    continue;
                if (Volatile.Read(ref _failure) is not null)
                    return;
                if (Spin())
                    continue;
                bool pending;
                lock (_gate)
                {
                    if (_failure is not null)
                        return;
                    pending = _ring.FinalCheckForResponses();
                }
                if (pending)
                    continue;
                // Under Xen a dead backend's channel just goes quiet; its unmap notification clears
                // its live byte and sends the one event that wakes us.
                if (_ring.IsBackendGone)
                    throw new PeerClosedException(_channel, "the backend let go of the ring or died");
                seen = await _events.RecvAsync(_channel, seen, token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    // Claims the requests the waiting responses answer and hands them to one thread-pool work item,
    // which copies read data out and completes the callers inline: one thread hop per batch, not per
    // request, and a caller that blocks in its continuation never stops this loop. False when no
    // response was waiting.
    private bool Dispatch()
    {
        var batch = RentBatch();
        try
        {
            Collect(batch);
        }
        finally
        {
            if (batch.Count > 0)
            {
                Interlocked.Increment(ref _leases);
                ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: false);
            }
            else
            {
                ReturnBatch(batch);
            }
        }
        return batch.Count > 0;
    }

    /// <summary>
    /// Consumes the responses waiting on the ring (as many as the batch holds: one read of
    /// <c>rsp_prod</c> and one update of <c>rsp_cons</c> for them all) and claims the requests they
    /// answer into <paramref name="batch"/>. Nothing once the queue has failed.
    /// </summary>
    /// <exception cref="InvalidDataException">A response names an id that is not in flight; the
    /// requests claimed before it are in the batch.</exception>
    private void Collect(CompletionBatch batch)
    {
        lock (_gate)
        {
            if (_failure is not null)
                return;
            var responses = _ring.ConsumeResponses(batch.Items.Length - batch.Count);
            for (var i = 0; i < responses.Count; i++)
            {
                // Read once: the backend may rewrite the slot while we look.
                var response = responses[i];
                // The id is the backend's word: check it names a request in flight before touching anything.
                var id = response.Id;
                if (id >= (ulong)_slots.Length)
                    throw new InvalidDataException($"The backend answered request id {id}, which is not one of the {_slots.Length} ids.");
                var slot = _slots[id];
                // Claiming the operation makes the answer count once, even against a concurrent failure.
                if (Interlocked.Exchange(ref slot.Operation, null) is not { } operation)
                    throw new InvalidDataException($"The backend answered request id {id}, which is not in flight.");
                batch.Add(slot, operation, response.Status);
            }
        }
    }

    private void CompleteBatch(CompletionBatch batch)
    {
        var outer = t_completing;
        t_completing = this;
        try
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var (slot, operation, status) = batch.Items[i];
                Exception? error = null;
                if (status == BlkifStatus.Okay)
                {
                    if (!slot.ReadTarget.IsEmpty)
                        CopyOut(slot, slot.ReadTarget.Span);
                    if (slot.Kind == BlkifOperation.Read)
                        Interlocked.Add(ref _counters.BytesRead, slot.Bytes);
                    else
                        Interlocked.Add(ref _counters.BytesWritten, slot.Bytes);
                }
                else
                {
                    Interlocked.Increment(ref _counters.Errors);
                    error = new BlkifIOException(slot.Kind, status, $"The backend answered {slot.Kind} at sector {slot.Sector} with {status}.");
                }
                Interlocked.Increment(ref _counters.Finished);
                Release(slot);
                operation.PieceDone(error);
            }
        }
        finally
        {
            t_completing = outer;
            ReturnBatch(batch);
            ReturnLease();
        }
    }

    private void ReturnLease()
    {
        if (Interlocked.Decrement(ref _leases) != 0)
            return;
        bool last;
        lock (_gate)
            last = ClaimUnusedPages();
        if (last)
            FreePages();
    }

    // Under _gate. The lease count is read last: while requests are in flight it is not read at all.
    private bool ClaimUnusedPages()
    {
        if (_pagesFreed || _freeCount < _slots.Length || Volatile.Read(ref _leases) != 0)
            return false;
        _pagesFreed = true;
        return true;
    }

    private void FreePages()
    {
        foreach (var slot in _slots)
            slot.Dispose();
    }

    private CompletionBatch RentBatch()
    {
        CompletionBatch? batch;
        lock (_batches)
            _batches.TryPop(out batch);
        batch ??= new CompletionBatch(this, _ring.Size);
        return batch;
    }

    private void ReturnBatch(CompletionBatch batch)
    {
        batch.Clear();
        lock (_batches)
            _batches.Push(batch);
    }

    private sealed class CompletionBatch(BlkfrontQueue<TEvents, TMemory> owner, int capacity) : IThreadPoolWorkItem
    {
        public readonly (RequestSlot Slot, BlockOperation Operation, BlkifStatus Status)[] Items = new (RequestSlot, BlockOperation, BlkifStatus)[capacity];
        public int Count;

        public void Add(RequestSlot slot, BlockOperation operation, BlkifStatus status) => Items[Count++] = (slot, operation, status);

        public void Clear()
        {
            Array.Clear(Items, 0, Count);
            Count = 0;
        }

        public void Execute() => owner.CompleteBatch(this);
    }

    // Spin briefly while requests are in flight: a busy backend answers sooner than an event round trip.
    // Not while a large request is in flight: its answer is hundreds of microseconds away, and the
    // spin would only take the core the backend (or the caller) needs.
    private bool Spin()
    {
        if (Volatile.Read(ref _largeInFlight) > 0)
            return false;
        var spinner = default(SpinWait);
        for (var i = 0; i < _spinCount; i++)
        {
            lock (_gate)
            {
                if (_freeCount == _slots.Length)
                    return false;
                if (_ring.UnconsumedResponses > 0)
                    return true;
            }
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        return false;
    }

    /// <summary>Fails every request in flight and every later one: the backend is gone or broke the ring.</summary>
    private void Fail(Exception cause)
    {
        var failure = cause as BlkifIOException ?? new BlkifIOException(cause switch
        {
            OperationCanceledException => "The block device was closed.",
            PeerClosedException => "The backend closed its end or died.",
            _ => $"The connection to the backend broke: {cause.Message}",
        }, cause);
        List<RequestSlot> inFlight = [];
        lock (_gate)
        {
            if (_failure is not null)
                return;
            _failure = failure;
            foreach (var slot in _slots)
            {
                if (slot.Operation is not null)
                    inFlight.Add(slot);
            }
        }
        switch (cause)
        {
            case InvalidDataException or RingProtocolException:
                Log.BlkfrontBackendFault(_logger, _name, _backend, cause.Message);
                break;
            case PeerClosedException or EventChannelException:
                Log.BlkfrontBackendGone(_logger, _name, _backend);
                break;
        }
        foreach (var slot in inFlight)
        {
            if (Interlocked.Exchange(ref slot.Operation, null) is not { } operation)
                continue;
            Interlocked.Increment(ref _counters.Errors);
            Interlocked.Increment(ref _counters.Finished);
            Release(slot);
            operation.PieceDone(failure);
        }
    }

    public Exception? Failure => Volatile.Read(ref _failure);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
            return;
        _stop.Cancel();
        // The receive loop catches everything, so this wait cannot throw.
        await _receiver.ConfigureAwait(false);
        Fail(new ObjectDisposedException("Blkfront"));
        // End the ring's share while its channel is open, so that its notification's event goes out.
        _ringPages.Dispose();
        try
        {
            _events.Close(_channel);
        }
        catch (EventChannelException)
        {
        }
        // Completion batches still running keep the slots' pages until they finish.
        ReturnLease();
    }
}
