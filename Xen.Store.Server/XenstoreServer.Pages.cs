using Xen.Evtchn;
using Xen.Gnt;

namespace Xen.Store.Server;

public sealed partial class XenstoreServer
{
    private Action<ushort, long, uint>? _attachPage;

    /// <summary>
    /// Lets dom0's <c>INTRODUCE domid|mfn|port|</c> connect guests the way Xen does: the daemon maps
    /// the Xenstore page that <c>domid</c> granted to it, connects to the event channel <c>port</c> that
    /// the guest offered, and serves the page as a connection of domain <c>domid</c>. A page that
    /// cannot be mapped or a port that cannot be connected makes <c>INTRODUCE</c> fail with <c>EINVAL</c>.
    /// </summary>
    /// <param name="events">The daemon's event channels.</param>
    /// <param name="memory">The daemon's grant mappings.</param>
    /// <param name="page">
    /// Null: the <c>mfn</c> field carries the grant ref (backends whose <see cref="IMemory"/> has no
    /// frame numbers). Set: every domain's page is this grant and <c>mfn</c> is ignored, as under Xen,
    /// where the domain builder grants the page as <c>GNTTAB_RESERVED_XENSTORE</c> (ref 1).
    /// </param>
    /// <param name="releaseWhenPageEnds">
    /// True: a domain whose page connection ends is released (where nothing else says a domain died).
    /// False: it stays introduced until <see cref="ReleaseDomain"/>, as under Xen, where the host learns
    /// of deaths from <c>VIRQ_DOM_EXC</c>; a guest cut off for breaking its ring is then not reported gone.
    /// </param>
    public void AcceptDomainPages<TEvents, TMemory>(TEvents events, TMemory memory, GrantRef? page = null, bool releaseWhenPageEnds = true)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        lock (_lock)
        {
            _attachPage = (domain, mfn, port) =>
            {
                GrantRef grant;
                if (page is { } fixedPage)
                    grant = fixedPage;
                else if (mfn is < 0 or > uint.MaxValue)
                    throw new XenstoreException(XsError.EINVAL, $"{mfn} is not a grant ref.");
                else
                    grant = new GrantRef((uint)mfn);
                var (mapping, channel) = Attach(events, memory, domain, grant, new Port(port));
                _ = Task.Run(() => ServeAttachedAsync(events, mapping, channel, domain, releaseWhenPageEnds, CancellationToken.None));
            };
        }
    }

    /// <summary>
    /// Serves a Xenstore ring already at hand, <paramref name="page"/> notified through the bound
    /// <paramref name="channel"/>, as a connection of <paramref name="domain"/>, until it ends or
    /// <paramref name="cancellationToken"/> fires: dom0's own ring, which Linux's kernel sets up
    /// (<c>/proc/xen/xsd_kva</c>). Takes both: closes the channel and disposes the page at the end.
    /// </summary>
    public Task ServeRingAsync<TEvents>(TEvents events, PageBuffer page, Channel channel, ushort domain, CancellationToken cancellationToken = default)
        where TEvents : IEvents
    {
        ArgumentNullException.ThrowIfNull(page);
        return ServeAttachedAsync(events, page, channel, domain, releaseWhenEnds: false, cancellationToken);
    }

    /// <summary>
    /// Serves the Xenstore page that <paramref name="domain"/> granted as <paramref name="page"/>,
    /// notified through the event channel it offered as <paramref name="port"/>, as a connection of
    /// that domain; returns when the connection ends. Unmaps the page and closes the channel then.
    /// </summary>
    /// <exception cref="XenstoreException">The page cannot be mapped or the port connected (<see cref="XsError.EINVAL"/>).</exception>
    public Task ServePageAsync<TEvents, TMemory>(TEvents events, TMemory memory, ushort domain, GrantRef page, Port port, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        var (mapping, channel) = Attach(events, memory, domain, page, port);
        return ServeAttachedAsync(events, mapping, channel, domain, releaseWhenEnds: true, cancellationToken);
    }

    private static (Mapping Mapping, Channel Channel) Attach<TEvents, TMemory>(TEvents events, TMemory memory, ushort domain, GrantRef page, Port port)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        Mapping mapping;
        try
        {
            mapping = memory.Map(domain, page, writable: true);
        }
        catch (GrantException e)
        {
            throw new XenstoreException(XsError.EINVAL, $"Cannot map the Xenstore page {page} of domain {domain}: {e.Message}");
        }
        try
        {
            return (mapping, events.Connect(domain, port));
        }
        catch (EventChannelException e)
        {
            mapping.Dispose();
            throw new XenstoreException(XsError.EINVAL, $"Cannot connect to port {port} of domain {domain}: {e.Message}");
        }
    }

    private async Task ServeAttachedAsync<TEvents>(TEvents events, PageBuffer mapping, Channel channel, ushort domain, bool releaseWhenEnds, CancellationToken cancellationToken)
        where TEvents : IEvents
    {
        try
        {
            var transport = new XenstorePageTransport<TEvents>(events, channel, mapping, daemon: true);
            // A kernel that waits for its daemon (dom0's, whose xenbus probes on the first event) needs
            // one event to learn the daemon is there, whether or not it has written a request yet.
            try
            {
                events.Send(channel);
            }
            catch (EventChannelException)
            {
            }
            await ServeAsync(transport, domain, cancellationToken).ConfigureAwait(false);
            await transport.Completion.ConfigureAwait(false);
        }
        finally
        {
            events.Close(channel);
            mapping.Dispose();
            if (releaseWhenEnds && !cancellationToken.IsCancellationRequested)
                ReleaseGone(domain);
        }
    }

    // A guest's page connection ends, on backends with no VIRQ_DOM_EXC, only when the guest is gone:
    // the domain is released as RELEASE would release it, so that backends watching @releaseDomain
    // let go of its devices.
    private void ReleaseGone(ushort domain)
    {
        lock (_lock)
        {
            if (!_stopping.IsCancellationRequested)
                Release(domain, "its page connection ended", except: null);
        }
    }
}
