namespace Xen.Evtchn.InHeap;

/// <summary>
/// The switchboard of in-heap event channels: it plays the hypervisor for many domains that live in
/// one process. Each domain opens its own <see cref="InHeapEvents"/> with <see cref="Open"/>.
/// </summary>
/// <remarks>Thread-safe. Disposing the hub kills every domain still open.</remarks>
public sealed class InHeapEventHub : IDisposable
{
    // Guards the domain table and every change of who is connected to whom; the hot paths
    // (send, receive) take only the per-channel locks.
    private readonly Lock _gate = new();
    private readonly Dictionary<ushort, EventDomain> _domains = [];

    /// <summary>Opens <paramref name="domain"/> on this hub.</summary>
    /// <exception cref="InvalidOperationException">The domain is already open.</exception>
    public InHeapEvents Open(ushort domain)
    {
        lock (_gate)
        {
            if (_domains.ContainsKey(domain))
                throw new InvalidOperationException($"Domain {domain} is already open on this event hub; dispose it first.");
            var opened = new EventDomain(this, domain);
            _domains.Add(domain, opened);
            return new InHeapEvents(opened);
        }
    }

    /// <summary>
    /// Simulates the crash of <paramref name="domain"/>: every channel it holds closes, so its peers'
    /// waiters fail with <see cref="PeerClosedException"/>. Killing a domain that is not open does nothing.
    /// </summary>
    public void Kill(ushort domain)
    {
        EventDomain? victim;
        lock (_gate)
            _domains.TryGetValue(domain, out victim);
        victim?.Dispose();
    }

    /// <summary>Whether <paramref name="domain"/> is open.</summary>
    public bool IsOpen(ushort domain)
    {
        lock (_gate)
            return _domains.ContainsKey(domain);
    }

    /// <summary>How many channels are bound in all domains: a test can check that everything was closed.</summary>
    public int BoundChannels
    {
        get
        {
            lock (_gate)
                return _domains.Values.Sum(d => d.ChannelCount);
        }
    }

    /// <summary>
    /// How many receivers are blocked in <c>RecvAsync</c> in all domains: a test can wait until a driver
    /// is asleep before it acts, rather than sleep and hope that it got there.
    /// </summary>
    public int BlockedReceivers
    {
        get
        {
            lock (_gate)
                return _domains.Values.Sum(d => d.WaiterCount);
        }
    }

    /// <summary>Kills every domain still open.</summary>
    public void Dispose()
    {
        EventDomain[] all;
        lock (_gate)
            all = [.. _domains.Values];
        foreach (var domain in all)
            domain.Dispose();
    }

    internal Lock Gate => _gate;

    internal EventDomain? FindLocked(ushort domain) => _domains.GetValueOrDefault(domain);

    internal void RemoveLocked(EventDomain domain)
    {
        if (_domains.TryGetValue(domain.Id, out var current) && current == domain)
            _domains.Remove(domain.Id);
    }
}
