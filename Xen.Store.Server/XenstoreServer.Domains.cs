namespace Xen.Store.Server;

public sealed partial class XenstoreServer
{
    private readonly HashSet<ushort> _shutDown = [];

    /// <summary>The domains introduced and not yet released, dom0 aside.</summary>
    public IReadOnlyList<ushort> IntroducedDomains
    {
        get
        {
            lock (_lock)
                return [.. _introduced];
        }
    }

    /// <summary>
    /// Releases <paramref name="domain"/> as <c>RELEASE</c> does, for a host that learnt from the
    /// hypervisor that the domain is dying or gone: its connections close (their watches and
    /// transactions go with them, and a page connection unmaps its page), and <c>@releaseDomain</c> fires.
    /// </summary>
    /// <returns>False if the domain was not introduced.</returns>
    public bool ReleaseDomain(ushort domain, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        lock (_lock)
            return Release(domain, reason, except: null);
    }

    /// <summary>
    /// Tells <c>@releaseDomain</c>'s watchers, once, that <paramref name="domain"/> shut down (or
    /// crashed) while still introduced, as the C daemon does, so that the toolstack looks at it; the
    /// domain stays introduced until released. <c>RESUME</c> clears the mark.
    /// </summary>
    /// <returns>False if the domain is not introduced or was reported already.</returns>
    public bool ReportShutdown(ushort domain)
    {
        lock (_lock)
        {
            if (!_introduced.Contains(domain) || !_shutDown.Add(domain))
                return false;
            Log.DomainShutDown(_logger, domain);
            FireSpecial(XsWire.ReleaseDomain);
            return true;
        }
    }

    /// <summary>
    /// Forgets <paramref name="domain"/>, closes its connections but <paramref name="except"/>, runs
    /// <paramref name="released"/> (a RELEASE's reply, which then comes before the event) and fires
    /// <c>@releaseDomain</c>. Under the lock.
    /// </summary>
    private bool Release(ushort domain, string reason, ServerConnection? except, Action? released = null)
    {
        if (!_introduced.Remove(domain))
            return false;
        _targets.Remove(domain);
        _shutDown.Remove(domain);
        XenstoreServerMetrics.DomainsChanged(-1);
        Log.DomainReleased(_logger, domain, reason);
        var held = _connections.Where(o => o != except && o.Domain == domain).ToList();
        var watches = _watches.Count(w => held.Contains(w.Connection));
        var transactions = held.Sum(c => c.Transactions.Count);
        Log.DomainReleasedHeld(_logger, domain, held.Count, watches, transactions);
        foreach (var other in held)
            other.Abort();
        // The watches go now, not when each connection's loop notices: the event below must not reach them.
        XenstoreServerMetrics.WatchesChanged(-_watches.RemoveAll(w => held.Contains(w.Connection)));
        released?.Invoke();
        FireSpecial(XsWire.ReleaseDomain);
        return true;
    }
}
