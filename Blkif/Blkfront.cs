using System.Runtime.InteropServices;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// The frontend of a Xen virtual block device: an <see cref="IBlockDevice"/> whose requests travel
/// over one or more shared rings to a blkback. Calls larger than a request are split; requests of
/// more than 11 pages use indirect pages; each request id owns granted pages that are reused
/// (persistent grants), so a call copies its data once and allocates nothing in steady state.
/// </summary>
/// <remarks>
/// <para><see cref="Create"/> allocates the rings and binds the event channels; publish
/// <see cref="FrontendInfo"/> (Xenstore's frontend keys) for the backend to connect. Requests made
/// before it connects wait on the ring.</para>
/// <para>A request on the ring cannot be taken back: cancellation stops a call only while it waits
/// for a free request id. If the backend dies, closes its channel or breaks the ring, every call in
/// flight and every later one fails with <see cref="BlkifIOException"/>.</para>
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class Blkfront<TEvents, TMemory> : IBlockDevice, IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly BlkfrontQueue<TEvents, TMemory>[] _queues;
    private readonly OperationPool _pool = new();
    private readonly SharedBufferPool _sharedBuffers = new();
    private readonly int _wantedSegments;
    private BlkifBackendInfo? _backend;
    private int _maxRequestBytes;
    private int _next;
    private int _disposed;

    private readonly Meter _meter;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly ushort _backendDomain;
    // Mutable when the backend is a struct.
#pragma warning disable IDE0044
    private TMemory _memory;
#pragma warning restore IDE0044

    private readonly BlkifCounters[] _counters;

    private Blkfront(BlkfrontQueue<TEvents, TMemory>[] queues, BlkifCounters[] counters, int ringPageOrder, bool persistent, int wantedSegments,
        ushort backendDomain, TMemory memory, BlkfrontOptions options)
    {
        _queues = queues;
        _memory = memory;
        _backendDomain = backendDomain;
        _name = options.Name;
        _logger = options.Logger ?? NullLogger.Instance;
        _meter = BlkifMetrics.Create("frontend", _name, counters);
        _counters = counters;
        _wantedSegments = wantedSegments;
        FrontendInfo = new BlkifFrontendInfo(ringPageOrder, [.. queues.Select(q => new BlkifRingInfo([.. q.RingRefs], q.Port))], persistent);
    }

    /// <summary>
    /// Allocates and initialises the rings and binds their event channels, asking for what
    /// <paramref name="options"/> wants within what <paramref name="backend"/> offers; the device is
    /// ready at once (requests wait on the ring until the backend connects).
    /// </summary>
    /// <param name="events">This domain's events.</param>
    /// <param name="memory">This domain's grant table.</param>
    /// <param name="backendDomain">The backend's domain.</param>
    /// <param name="backend">What the backend published.</param>
    /// <param name="options">What to ask for.</param>
    /// <exception cref="InvalidDataException">What the backend published is out of range.</exception>
    public static Blkfront<TEvents, TMemory> Create(TEvents events, TMemory memory, ushort backendDomain, BlkifBackendInfo backend, BlkfrontOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        try
        {
            backend.Validate();
        }
        catch (InvalidDataException e)
        {
            Log.BlkfrontBackendFault(options?.Logger ?? NullLogger.Instance, options?.Name ?? new BlkfrontOptions().Name, backendDomain, e.Message);
            throw;
        }
        var front = Allocate(events, memory, backendDomain, backend.MaxRingPageOrder, backend.MaxQueues, options);
        front.Attach(backend);
        return front;
    }

    /// <summary>
    /// The first half of <see cref="Create"/>, for Xenbus: rings and channels from the backend's
    /// transport limits alone, as a backend publishes its disk only when it connects.
    /// </summary>
    internal static Blkfront<TEvents, TMemory> Allocate(TEvents events, TMemory memory, ushort backendDomain, int maxRingPageOrder, int maxQueues, BlkfrontOptions? options)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(memory);
        options ??= new BlkfrontOptions();
        options.Validate();
        var order = Math.Clamp(maxRingPageOrder, 0, options.RingPageOrder);
        var queueCount = Math.Clamp(maxQueues, 1, options.Queues);
        var queues = new BlkfrontQueue<TEvents, TMemory>[queueCount];
        var counters = new BlkifCounters[queueCount];
        var logger = options.Logger ?? NullLogger.Instance;
        try
        {
            for (var i = 0; i < queueCount; i++)
            {
                counters[i] = new BlkifCounters();
                queues[i] = new BlkfrontQueue<TEvents, TMemory>(events, memory, backendDomain, order, options.MaxRequestsPerQueue, options.SpinCount,
                    counters[i], logger, options.Name);
            }
        }
        catch
        {
            foreach (var queue in queues)
                queue?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        foreach (var queue in queues)
            queue.Start();
        return new Blkfront<TEvents, TMemory>(queues, counters, order, options.FeaturePersistent, options.MaxSegmentsPerRequest, backendDomain, memory, options);
    }

    /// <summary>The second half of <see cref="Create"/>: the disk and features the backend published when it connected.</summary>
    /// <exception cref="InvalidDataException">The backend's info is out of range or does not fit the rings.</exception>
    internal void Attach(BlkifBackendInfo backend)
    {
        try
        {
            backend.Validate();
            if (FrontendInfo.RingPageOrder > backend.MaxRingPageOrder || FrontendInfo.Queues.Count > backend.MaxQueues)
                throw new InvalidDataException("The backend's ring limits shrank below the rings already in use.");
        }
        catch (InvalidDataException e)
        {
            Log.BlkfrontBackendFault(_logger, _name, _backendDomain, e.Message);
            throw;
        }
        var maxSegments = Math.Min(_wantedSegments,
            backend.MaxIndirectSegments > BlkifConstants.MaxSegmentsPerRequest ? Math.Min(backend.MaxIndirectSegments, BlkifLimits.MaxIndirectSegments) : BlkifConstants.MaxSegmentsPerRequest);
        foreach (var queue in _queues)
            queue.SetMaxSegments(maxSegments);
        MaxSegmentsPerRequest = maxSegments;
        _maxRequestBytes = maxSegments * PageBuffer.PageSize;
        Volatile.Write(ref _backend, backend);
        Log.BlkfrontConnected(_logger, _name, _backendDomain, _queues.Length, FrontendInfo.RingPageOrder, backend.Sectors, backend.SectorSize,
            backend.ReadOnly, FrontendInfo.FeaturePersistent && backend.FeaturePersistent, maxSegments,
            backend.FeatureFlushCache, backend.FeatureBarrier, backend.FeatureDiscard);
    }

    /// <summary>The operations this device reuses (tests).</summary>
    internal OperationPool OperationPool => _pool;

    /// <summary>The requests put on queue <paramref name="queue"/>'s ring so far (tests).</summary>
    internal long RequestsOn(int queue) => _counters[queue].Requests.Sum();

    /// <summary>What the frontend publishes for the backend: rings, event channels, features.</summary>
    public BlkifFrontendInfo FrontendInfo { get; }

    /// <summary>What the backend published.</summary>
    /// <exception cref="InvalidOperationException">The backend has not connected yet.</exception>
    public BlkifBackendInfo BackendInfo => Volatile.Read(ref _backend) ?? throw new InvalidOperationException("The backend has not published its disk yet.");

    /// <summary>The most pages one ring request carries: 11, or the indirect segments agreed on.</summary>
    public int MaxSegmentsPerRequest { get; private set; }

    /// <inheritdoc />
    public long Length => BackendInfo.Length;

    /// <inheritdoc />
    public int SectorSize => BackendInfo.SectorSize;

    /// <inheritdoc />
    public bool IsReadOnly => BackendInfo.ReadOnly;

    /// <inheritdoc />
    public bool CanDiscard => BackendInfo.FeatureDiscard;

    /// <inheritdoc />
    public int DiscardGranularity => BackendInfo.DiscardGranularity == 0 ? SectorSize : (int)BackendInfo.DiscardGranularity;

    /// <inheritdoc />
    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, buffer.Length);
        return buffer.IsEmpty ? default : Transfer(BlkifOperation.Read, offset, default, buffer, buffer.Length, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckRange(offset, data.Length);
        return data.IsEmpty ? default : Transfer(BlkifOperation.Write, offset, data, default, data.Length, cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="data"/> as barrier requests (<c>BLKIF_OP_WRITE_BARRIER</c>): the backend
    /// completes every request it received earlier on the same ring first, and the data is durable
    /// when the call completes.
    /// </summary>
    /// <exception cref="NotSupportedException">The backend does not offer <c>feature-barrier</c>.</exception>
    /// <exception cref="BlkifIOException">The backend failed the write.</exception>
    public ValueTask WriteBarrierAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (!BackendInfo.FeatureBarrier)
            throw new NotSupportedException("The backend does not offer feature-barrier.");
        CheckRange(offset, data.Length);
        return Transfer(BlkifOperation.WriteBarrier, offset, data, default, data.Length, cancellationToken);
    }

    /// <summary>
    /// Sends <c>BLKIF_OP_FLUSH_DISKCACHE</c>, or an empty barrier if the backend offers only barriers.
    /// A backend that offers neither has no cache to flush: the call completes at once.
    /// </summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (BackendInfo.FeatureFlushCache)
            return Transfer(BlkifOperation.FlushDiskcache, 0, default, default, 0, cancellationToken);
        if (BackendInfo.FeatureBarrier)
            return Transfer(BlkifOperation.WriteBarrier, 0, default, default, 0, cancellationToken);
        return default;
    }

    /// <inheritdoc />
    public ValueTask DiscardAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        if (!CanDiscard)
            throw new NotSupportedException("The backend does not offer feature-discard.");
        CheckRange(offset, length);
        if (length == 0)
            return default;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var queue = NextQueue();
        var operation = _pool.Rent(1);
        var sector = (ulong)offset / BlkifConstants.SectorSize;
        var sectors = (ulong)length / BlkifConstants.SectorSize;
        if (queue.TryAcquire(out var slot))
        {
            queue.SubmitDiscard(slot, operation, sector, sectors);
            return operation.AsValueTask();
        }
        return DiscardSlowAsync(queue, operation, sector, sectors, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask DiscardSlowAsync(BlkfrontQueue<TEvents, TMemory> queue, BlockOperation operation, ulong sector, ulong sectors, CancellationToken cancellationToken)
    {
        try
        {
            queue.SubmitDiscard(await queue.AcquireAsync(cancellationToken).ConfigureAwait(false), operation, sector, sectors);
        }
        catch (Exception e) when (e is OperationCanceledException or BlkifIOException)
        {
            operation.PieceDone(e);
        }
        await operation.AsValueTask().ConfigureAwait(false);
    }

    /// <summary>
    /// Pages granted to the backend once, for data that should cross only once: a read or write whose
    /// memory lies in them, starting at a page boundary, names these pages on the ring itself, so
    /// the backend reads into them (or writes from them) and nothing is copied through the request's
    /// own pages. Memory elsewhere works as always, with one copy more. The grants are persistent
    /// (<c>feature-persistent</c>): a backend may keep them mapped until the device goes, so a disposed
    /// buffer's pages stay granted and are lent again, cleared, to a later call that asks for as many
    /// pages (up to 16 MiB of them wait); they are ungranted when the device is disposed. A buffer
    /// disposed while a call using it is still in flight goes back only once that call's requests are
    /// answered, so their data never lands in another caller's buffer; the call itself still writes
    /// into (or reads from) the disposed buffer's pages, so await it first.
    /// </summary>
    /// <param name="pageCount">Pages of <see cref="PageBuffer.PageSize"/> bytes.</param>
    /// <exception cref="GrantException">No more pages can be granted.</exception>
    public Share AllocateSharedBuffer(int pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageCount);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _sharedBuffers.TryLend(pageCount) ?? _sharedBuffers.Lend(_memory.Share(_backendDomain, pageCount, writable: true));
    }

    /// <summary>A seekable stream over the device; reads and writes at any offset, partial sectors read, modified and written back.</summary>
    public Stream AsStream() => new BlockDeviceStream(this);

    /// <summary>Fails calls still in flight, closes the event channels and ends the grants.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        foreach (var queue in _queues)
            await queue.DisposeAsync().ConfigureAwait(false);
        // No request names the pooled buffers any more: their grants can end.
        _sharedBuffers.Close();
        _pool.Close();
        _meter.Dispose();
        Log.BlkfrontDisconnected(_logger, _name, _backendDomain);
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || offset % SectorSize != 0)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"The offset must be a non-negative multiple of the {SectorSize}-byte sector.");
        if (length % SectorSize != 0)
            throw new ArgumentException($"The length {length} is not a whole number of {SectorSize}-byte sectors.", nameof(length));
        if (offset > Length || length > Length - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes at offset {offset} lie past the end of the {Length}-byte device.");
    }

    /// <summary>
    /// The queue for the next call: for one of at most a ring request's inline segments (44 KiB), the
    /// queue whose completion batch this thread is running, if it is one of ours with a free id; else
    /// the next in turn. A caller whose continuation runs in a queue's batch stays on that ring, so the
    /// answers one batch completes come back to its backend as one run of requests; handed round all the
    /// queues instead they come in ones and twos, each backend sleeps after nearly every request, and
    /// every wake-up costs an event and a thread-pool hop. Larger calls still go round: each takes its
    /// backend long enough that a wake-up is cheap beside it, and spread over the queues they keep
    /// every backend thread busy.
    /// </summary>
    private BlkfrontQueue<TEvents, TMemory> NextQueue(long bytes = 0)
    {
        if (_queues.Length == 1)
            return _queues[0];
        if (bytes <= BlkifConstants.MaxSegmentsPerRequest * PageBuffer.PageSize
            && BlkfrontQueue<TEvents, TMemory>.Completing is { } completing && completing.HasFreeSlot)
        {
            foreach (var queue in _queues)
            {
                if (queue == completing)
                    return queue;
            }
        }
        return _queues[(int)((uint)Interlocked.Increment(ref _next) % (uint)_queues.Length)];
    }

    private ValueTask Transfer(BlkifOperation kind, long offset, ReadOnlyMemory<byte> data, Memory<byte> target, int length, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        var queue = NextQueue(length);
        var pieces = Pieces(kind, length);
        var operation = _pool.Rent(pieces);
        var direct = Direct(data, target, out var firstPage);
        for (var i = 0; i < pieces; i++)
        {
            if (!queue.TryAcquire(out var slot))
                return TransferSlowAsync(queue, operation, kind, offset, data, target, length, i, cancellationToken);
            SubmitPiece(queue, slot, operation, kind, offset, data, target, length, i, direct, firstPage);
        }
        return operation.AsValueTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask TransferSlowAsync(BlkfrontQueue<TEvents, TMemory> queue, BlockOperation operation, BlkifOperation kind, long offset,
        ReadOnlyMemory<byte> data, Memory<byte> target, int length, int first, CancellationToken cancellationToken)
    {
        var pieces = Pieces(kind, length);
        var direct = Direct(data, target, out var firstPage);
        var i = first;
        try
        {
            for (; i < pieces; i++)
                SubmitPiece(queue, await queue.AcquireAsync(cancellationToken).ConfigureAwait(false), operation, kind, offset, data, target, length, i, direct, firstPage);
        }
        catch (Exception e) when (e is OperationCanceledException or BlkifIOException)
        {
            // The pieces already on the ring still write into our pages: wait for them, then report.
            for (; i < pieces; i++)
                operation.PieceDone(e);
        }
        await operation.AsValueTask().ConfigureAwait(false);
    }

    // Indirect requests carry only reads and writes: barriers and flushes with data stay direct.
    private int MaxRequestBytes(BlkifOperation kind) =>
        kind is BlkifOperation.Read or BlkifOperation.Write ? _maxRequestBytes : BlkifConstants.MaxSegmentsPerRequest * PageBuffer.PageSize;

    private int Pieces(BlkifOperation kind, int length)
    {
        var max = MaxRequestBytes(kind);
        return Math.Max(1, (length + max - 1) / max);
    }

    private void SubmitPiece(BlkfrontQueue<TEvents, TMemory> queue, RequestSlot slot, BlockOperation operation, BlkifOperation kind, long offset,
        ReadOnlyMemory<byte> data, Memory<byte> target, int length, int piece, Share? direct, int firstPage)
    {
        var max = MaxRequestBytes(kind);
        var start = piece * max;
        var bytes = Math.Min(max, length - start);
        var sector = (ulong)(offset + start) / BlkifConstants.SectorSize;
        if (direct is not null)
        {
            // Every piece but the last is whole pages: its pages follow on in the buffer.
            queue.SubmitDirect(slot, operation, kind, sector, direct, firstPage + start / PageBuffer.PageSize, bytes);
            return;
        }
        queue.Submit(slot, operation, kind, sector,
            data.IsEmpty ? default : data.Slice(start, bytes),
            target.IsEmpty ? default : target.Slice(start, bytes),
            bytes);
    }

    /// <summary>
    /// The buffer from <see cref="AllocateSharedBuffer"/> that a read's target or a write's data lies
    /// in, and the page it starts at; null when it lies elsewhere, starts inside a page, or (for a
    /// read) is not writable by the backend.
    /// </summary>
    private Share? Direct(ReadOnlyMemory<byte> data, Memory<byte> target, out int firstPage)
    {
        firstPage = 0;
        var memory = target.IsEmpty ? data : target;
        if (memory.IsEmpty || !MemoryMarshal.TryGetMemoryManager<byte, Share>(memory, out var share, out var start, out _)
            || share.RemoteDomain != _backendDomain || share.IsReleased || start % PageBuffer.PageSize != 0 || (!target.IsEmpty && !share.PeerWritable))
            return null;
        firstPage = start / PageBuffer.PageSize;
        return share;
    }
}
