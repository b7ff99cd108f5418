using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Evtchn;
using Xen.Gnt;

namespace Netif;

/// <summary>
/// A Xen network backend over any event-channel and memory backend: it attaches to a netfront's
/// rings and passes frames between them and an <see cref="INetworkLink"/>.
/// </summary>
/// <remarks>
/// Each queue runs two loops on the thread pool until the frontend goes, the backend is disposed, or
/// the frontend breaks the protocol in a way that Linux's netback treats as fatal: then
/// <see cref="Completion"/> faults with a <see cref="NetifProtocolException"/> (or the ring's
/// <see cref="SharedMemoryRing.RingProtocolException"/>) and the channels are closed, which the
/// frontend sees as a disconnect. Frames that are merely bad are answered with an error status,
/// dropped and counted, and the backend carries on.
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class Netback<TEvents, TMemory> : IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly NetbackQueue<TEvents, TMemory>[] _queues;
    private readonly NetifCounters[] _counters;
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly Meter _meter;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly ushort _frontendDomain;

    private Netback(NetbackQueue<TEvents, TMemory>[] queues, NetifCounters[] counters, NetfrontFeatures features, string name,
        ushort frontendDomain, ILogger logger)
    {
        _queues = queues;
        _counters = counters;
        Features = features;
        _name = name;
        _frontendDomain = frontendDomain;
        _logger = logger;
        _meter = NetifMetrics.Create("backend", name, counters);
        Completion = RunAsync();
    }

    /// <summary>
    /// Attaches to the netfront described by <paramref name="rendezvous"/> and starts passing frames
    /// between it and <paramref name="link"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The frontend asked for more queues than offered, or for split
    /// event channels that were not offered.</exception>
    /// <exception cref="GrantException">A ring page could not be mapped.</exception>
    /// <exception cref="PortNotBoundException">An event channel could not be connected.</exception>
    public static Netback<TEvents, TMemory> Attach(TEvents events, TMemory memory, NetfrontRendezvous rendezvous, INetworkLink link, NetbackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(rendezvous);
        ArgumentNullException.ThrowIfNull(link);
        options ??= new NetbackOptions();
        var offered = options.Features;
        offered.Validate();
        var count = rendezvous.Queues.Count;
        if (count < 1 || count > offered.MaxQueues)
            throw new ArgumentException($"The frontend asked for {count} queues; this backend offers 1 to {offered.MaxQueues}.", nameof(rendezvous));
        if (!offered.SplitEventChannels && rendezvous.Queues.Any(q => q.SplitEventChannels))
            throw new ArgumentException("The frontend used split event channels, which this backend did not offer.", nameof(rendezvous));
        // A frontend may only use what was offered.
        var asked = rendezvous.Features;
        var features = new NetfrontFeatures
        {
            Sg = asked.Sg && offered.Sg,
            GsoTcpV4 = asked.GsoTcpV4 && offered.GsoTcpV4,
            GsoTcpV6 = asked.GsoTcpV6 && offered.GsoTcpV6,
            Ipv6CsumOffload = asked.Ipv6CsumOffload && offered.Ipv6CsumOffload,
        };
        var queues = new NetbackQueue<TEvents, TMemory>[count];
        var counters = new NetifCounters[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                counters[i] = new NetifCounters();
                queues[i] = new NetbackQueue<TEvents, TMemory>(events, memory, rendezvous.FrontendDomain, rendezvous.Queues[i],
                    features, offered, link, options.KeepMappings ? options.MappingCacheSize : 0, counters[i]);
            }
        }
        catch
        {
            foreach (var q in queues)
                q?.Dispose();
            throw;
        }
        var logger = options.Logger ?? NullLogger.Instance;
        Log.NetbackConnected(logger, options.Name, rendezvous.FrontendDomain, count, rendezvous.Queues[0].SplitEventChannels,
            features.Sg, features.GsoTcpV4, features.GsoTcpV6, features.Ipv6CsumOffload, options.KeepMappings ? options.MappingCacheSize : 0);
        return new Netback<TEvents, TMemory>(queues, counters, features, options.Name, rendezvous.FrontendDomain, logger);
    }

    /// <summary>The features in use: what the frontend asked for, of what was offered.</summary>
    public NetfrontFeatures Features { get; }

    /// <summary>
    /// Completes when the backend has stopped and released the frontend's pages: normally once the
    /// frontend closed its channels or the backend was disposed; faulted when the frontend broke the protocol.
    /// </summary>
    public Task Completion { get; }

    /// <summary>The counters, summed over the queues.</summary>
    public NetifStatistics Statistics => NetifCounters.Sum(_counters);

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var loops = new List<Task>();
        foreach (var q in _queues)
        {
            loops.Add(Guard(q.RunTxAsync, q.Counters.TxDrops, token));
            loops.Add(Guard(q.RunRxAsync, q.Counters.RxDrops, token));
        }
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            foreach (var q in _queues)
                q.Dispose();
            _meter.Dispose();
            Log.NetbackDisconnected(_logger, _name, _frontendDomain);
        }
    }

    // Runs one loop on the pool. A protocol error stops every loop and closes the channels at once,
    // so the frontend learns; a closed peer or our own stop ends the loop quietly.
    private Task Guard(Func<CancellationToken, Task> loop, long[] drops, CancellationToken token) =>
        Task.Run(async () =>
        {
            try
            {
                await loop(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            catch (EventChannelException)
            {
                // The frontend closed its end, or we closed ours: the connection is over.
                await _stop.CancelAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                if (e is SharedMemoryRing.RingProtocolException)
                    drops[(int)NetifDropReason.Disconnected]++;
                if (e is NetifProtocolException or SharedMemoryRing.RingProtocolException)
                    Log.NetbackFrontendFault(_logger, _name, _frontendDomain, e.Message);
                await _stop.CancelAsync().ConfigureAwait(false);
                foreach (var q in _queues)
                    q.CloseChannels();
                throw;
            }
        }, CancellationToken.None);

    /// <summary>Stops the loops and releases the frontend's pages; a protocol fault is not rethrown here. Disposing twice does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is NetifProtocolException or SharedMemoryRing.RingProtocolException)
        {
        }
        _stop.Dispose();
    }
}
