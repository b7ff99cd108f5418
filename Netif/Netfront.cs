using System.Diagnostics.Metrics;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Evtchn;
using Xen.Gnt;

namespace Netif;

/// <summary>
/// A Xen network frontend over any event-channel and memory backend: a network interface with a MAC,
/// an MTU, a link state and one or more <see cref="NetfrontQueue"/>s that send and receive Ethernet
/// frames through a netback.
/// </summary>
/// <remarks>
/// <see cref="Create"/> negotiates with what the backend offers, grants the rings and page pools and
/// offers the event channels; <see cref="Rendezvous"/> is what the backend needs to attach (Xenstore
/// carries it between domains). Disposing closes the channels and ends the grants.
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class Netfront<TEvents, TMemory> : IDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly NetfrontQueueCore<TEvents, TMemory>[] _queues;
    private readonly NetifCounters[] _counters;
    private readonly Meter _meter;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly ushort _backendDomain;
    private int _linkUp;
    private int _disposed;

    private Netfront(PhysicalAddress mac, int mtu, NetfrontRendezvous rendezvous, NetfrontQueueCore<TEvents, TMemory>[] queues, NetifCounters[] counters, string name,
        ushort backendDomain, ILogger logger)
    {
        _name = name;
        _backendDomain = backendDomain;
        _logger = logger;
        Mac = mac;
        Mtu = mtu;
        Rendezvous = rendezvous;
        _queues = queues;
        _counters = counters;
        _meter = NetifMetrics.Create("frontend", name, counters);
    }

    /// <summary>
    /// Sets up a netfront for <paramref name="backendDomain"/>, using each feature in
    /// <paramref name="options"/> that <paramref name="backend"/> offers too.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option or a backend value is out of range.</exception>
    /// <exception cref="GrantException">Pages could not be granted.</exception>
    public static Netfront<TEvents, TMemory> Create(TEvents events, TMemory memory, ushort backendDomain, NetbackFeatures backend, NetfrontOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(backend);
        backend.Validate();
        options ??= new NetfrontOptions();
        if (options.Queues < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.Queues, "A netfront has at least one queue.");
        var features = new NetfrontFeatures
        {
            Sg = options.Sg && backend.Sg,
            GsoTcpV4 = options.GsoTcpV4 && backend.GsoTcpV4 && options.Sg && backend.Sg,
            GsoTcpV6 = options.GsoTcpV6 && backend.GsoTcpV6 && options.Sg && backend.Sg,
            Ipv6CsumOffload = backend.Ipv6CsumOffload,
        };
        var split = options.SplitEventChannels && backend.SplitEventChannels;
        var count = Math.Min(options.Queues, backend.MaxQueues);
        var maxFrame = Math.Min(backend.Mtu + Frames.EthernetHeader + Frames.VlanTag, features.Sg ? Frames.MaxFrame : PageBuffer.PageSize);
        var queues = new NetfrontQueueCore<TEvents, TMemory>[count];
        var counters = new NetifCounters[count];
        var logger = options.Logger ?? NullLogger.Instance;
        try
        {
            for (var i = 0; i < count; i++)
            {
                counters[i] = new NetifCounters();
                queues[i] = new NetfrontQueueCore<TEvents, TMemory>(i, events, memory, backendDomain, features, split, maxFrame, counters[i], logger, options.Name);
            }
        }
        catch
        {
            foreach (var q in queues)
                q?.Dispose();
            throw;
        }
        var rendezvous = new NetfrontRendezvous(memory.LocalDomain, features, [.. queues.Select(q => q.Refs)]);
        Log.NetfrontConnected(logger, options.Name, backendDomain, count, split, backend.Mtu, features.Sg, features.GsoTcpV4, features.GsoTcpV6);
        return new Netfront<TEvents, TMemory>(options.Mac ?? RandomMac(), backend.Mtu, rendezvous, queues, counters, options.Name, backendDomain, logger);
    }

    /// <summary>The interface's Ethernet address.</summary>
    public PhysicalAddress Mac { get; }

    /// <summary>The MTU the backend gave: the largest IP packet without the Ethernet header.</summary>
    public int Mtu { get; }

    /// <summary>What the backend needs to attach.</summary>
    public NetfrontRendezvous Rendezvous { get; }

    /// <summary>The negotiated features.</summary>
    public NetfrontFeatures Features => Rendezvous.Features;

    /// <summary>The queues; frames of one flow should stay on one queue to stay in order.</summary>
    public IReadOnlyList<NetfrontQueue> Queues => _queues;

    /// <summary>Whether the backend is connected (Xenbus <c>Connected</c>); set by whoever runs the handshake.</summary>
    public bool IsLinkUp => Volatile.Read(ref _linkUp) != 0;

    /// <summary>Raised when <see cref="IsLinkUp"/> changes.</summary>
    public event EventHandler<bool>? LinkStateChanged;

    /// <summary>Marks the link up or down, as the Xenbus handshake learns of the backend's state.</summary>
    public void SetLinkState(bool up)
    {
        if (Interlocked.Exchange(ref _linkUp, up ? 1 : 0) != (up ? 1 : 0))
            LinkStateChanged?.Invoke(this, up);
    }

    /// <summary>The counters, summed over the queues.</summary>
    public NetifStatistics Statistics => NetifCounters.Sum(_counters);

    /// <summary>Closes the event channels and ends the grants. Call once no send or receive is running.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        SetLinkState(false);
        _meter.Dispose();
        foreach (var q in _queues)
            q.Dispose();
        Log.NetfrontDisconnected(_logger, _name, _backendDomain);
    }

    private static PhysicalAddress RandomMac()
    {
        // 00:16:3e is Xen's prefix; the rest random.
        Span<byte> mac = [0x00, 0x16, 0x3e, 0, 0, 0];
        Random.Shared.NextBytes(mac[3..]);
        return new PhysicalAddress(mac.ToArray());
    }
}
