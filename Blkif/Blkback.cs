using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// The backend of a Xen virtual block device: it serves a frontend's rings from an
/// <see cref="IBlockStorage"/>. Each request is copied out of the ring once and validated (sectors
/// past the end, bad first and last sectors, too many segments, bad grants or indirect pages,
/// unknown operations, writes to a read-only disk): a bad request gets an error status and touches
/// nothing. A frontend that breaks the ring itself is disconnected.
/// </summary>
/// <remarks>
/// <para>Publish <see cref="Info"/> (Xenstore's backend keys), then <see cref="Connect"/> with what the
/// frontend published. Each queue is served in order by one loop, so a flush or barrier completes
/// after every request before it on its ring.</para>
/// <para>The storage belongs to the caller, who disposes it after the backend.</para>
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class Blkback<TEvents, TMemory> : IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly IBlockStorage _storage;
    private readonly BlkbackOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private BlkbackQueue<TEvents, TMemory>[] _queues = [];
    private Task _completion = Task.CompletedTask;
    private bool _connected, _disposed;

    /// <summary>Creates the backend of <paramref name="storage"/>; nothing is shared or mapped until <see cref="Connect"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public Blkback(TEvents events, TMemory memory, IBlockStorage storage, BlkbackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new BlkbackOptions();
        options.Validate();
        StorageChecks.SectorSize(storage.SectorSize);
        if (storage.Length <= 0 || storage.Length % storage.SectorSize != 0)
            throw new ArgumentException($"The storage's length {storage.Length} is not a positive number of {storage.SectorSize}-byte sectors.", nameof(storage));
        _events = events;
        _memory = memory;
        _storage = storage;
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        var discard = options.FeatureDiscard && storage.CanDiscard && !storage.IsReadOnly;
        Info = new BlkifBackendInfo
        {
            Sectors = (ulong)(storage.Length / BlkifConstants.SectorSize),
            SectorSize = storage.SectorSize,
            PhysicalSectorSize = storage.PhysicalSectorSize,
            Info = storage.IsReadOnly ? VdiskInfo.ReadOnly : VdiskInfo.None,
            FeatureFlushCache = options.FeatureFlushCache,
            FeatureBarrier = options.FeatureBarrier,
            FeatureDiscard = discard,
            DiscardGranularity = discard ? (uint)storage.DiscardGranularity : 0,
            DiscardAlignment = 0,
            DiscardSecure = false,
            FeaturePersistent = options.FeaturePersistent,
            MaxIndirectSegments = options.MaxIndirectSegments,
            MaxRingPageOrder = options.MaxRingPageOrder,
            MaxQueues = options.MaxQueues,
        };
    }

    /// <summary>What the backend publishes: geometry and features.</summary>
    public BlkifBackendInfo Info { get; }

    /// <summary>
    /// Completes when every queue has stopped: the frontend closed its channels or died, or the backend
    /// was disposed. Faults with a <see cref="SharedMemoryRing.RingProtocolException"/> if the frontend
    /// broke a ring, which stops every queue.
    /// </summary>
    public Task Completion => _completion;

    /// <summary>
    /// Maps the frontend's rings, binds their event channels and starts serving them.
    /// </summary>
    /// <exception cref="InvalidDataException">What the frontend published is out of range.</exception>
    /// <exception cref="GrantException">A ring page cannot be mapped.</exception>
    /// <exception cref="EventChannelException">An event channel cannot be bound.</exception>
    /// <exception cref="InvalidOperationException">The backend is already connected.</exception>
    public void Connect(ushort frontendDomain, BlkifFrontendInfo frontend)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        try
        {
            frontend.Validate(Info);
        }
        catch (InvalidDataException e)
        {
            Log.BlkbackFrontendFault(_logger, _options.Name, frontendDomain, e.Message);
            throw;
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connected)
                throw new InvalidOperationException("The backend is already connected to a frontend.");
            _connected = true;
        }
        var persistent = _options.FeaturePersistent && frontend.FeaturePersistent;
        var queues = new BlkbackQueue<TEvents, TMemory>[frontend.Queues.Count];
        var counters = new BlkifCounters[queues.Length];
        try
        {
            for (var i = 0; i < queues.Length; i++)
            {
                counters[i] = new BlkifCounters();
                queues[i] = new BlkbackQueue<TEvents, TMemory>(_events, _memory, _storage, Info, frontendDomain, frontend.Queues[i],
                    persistent ? _options.MaxPersistentGrantsPerQueue : 0, _options.SpinCount, counters[i]);
            }
        }
        catch
        {
            foreach (var queue in queues)
                queue?.Dispose();
            // Nothing stays mapped or bound: the backend may connect again.
            lock (_gate)
                _connected = false;
            throw;
        }
        _queues = queues;
        Log.BlkbackConnected(_logger, _options.Name, frontendDomain, queues.Length, frontend.RingPageOrder, persistent,
            Info.MaxIndirectSegments, Info.Sectors, Info.SectorSize, Info.ReadOnly);
        _completion = RunAsync(queues, BlkifMetrics.Create("backend", _options.Name, counters), frontendDomain);
    }

    private async Task RunAsync(BlkbackQueue<TEvents, TMemory>[] queues, Meter meter, ushort frontendDomain)
    {
        try
        {
            await Task.WhenAll(queues.Select(q => Task.Run(() => RunQueueAsync(q, frontendDomain)))).ConfigureAwait(false);
        }
        finally
        {
            meter.Dispose();
            Log.BlkbackDisconnected(_logger, _options.Name, frontendDomain);
        }
    }

    // A queue whose ring is broken takes the device down: the other queues stop too, so that
    // Completion ends with the fault and the device closes, as Linux's blkback does.
    private async Task RunQueueAsync(BlkbackQueue<TEvents, TMemory> queue, ushort frontendDomain)
    {
        try
        {
            await queue.RunAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (e is RingProtocolException)
                Log.BlkbackFrontendFault(_logger, _options.Name, frontendDomain, e.Message);
            else
                Log.BlkbackQueueFailed(_logger, _options.Name, frontendDomain, e);
            await _stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops serving, unmaps the frontend's pages and closes the event channels. The storage is left open.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        // A faulted queue may have cancelled already: disposal still waits for every queue.
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A broken frontend's error was for Completion's observers; disposal goes on.
        }
        _stop.Dispose();
    }
}
