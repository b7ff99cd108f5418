using Xen.Evtchn;
using Xen.Gnt;

namespace Xen.Store.Server;

public sealed partial class XenstoreServer
{
    private Action<ushort, long, uint>? _attachPage;

    /// <summary>
    /// Lets dom0's <c>INTRODUCE domid|mfn|port|</c> connect guests the way Xen does: the daemon maps
    /// the Xenstore page that <c>domid</c> granted to it (the <c>mfn</c> field carries the grant ref,
    /// since <see cref="IMemory"/> speaks in grants), connects to the event channel <c>port</c> that
    /// the guest offered, and serves the page as a connection of domain <c>domid</c>. A page that
    /// cannot be mapped or a port that cannot be connected makes <c>INTRODUCE</c> fail with <c>EINVAL</c>.
    /// </summary>
    /// <param name="events">The daemon's event channels.</param>
    /// <param name="memory">The daemon's grant mappings.</param>
    public void AcceptDomainPages<TEvents, TMemory>(TEvents events, TMemory memory)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        lock (_lock)
        {
            _attachPage = (domain, mfn, port) =>
            {
                if (mfn is < 0 or > uint.MaxValue)
                    throw new XenstoreException(XsError.EINVAL, $"{mfn} is not a grant ref.");
                var (mapping, channel) = Attach(events, memory, domain, new GrantRef((uint)mfn), new Port(port));
                _ = Task.Run(() => ServeAttachedAsync(events, mapping, channel, domain, CancellationToken.None));
            };
        }
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
        return ServeAttachedAsync(events, mapping, channel, domain, cancellationToken);
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

    private async Task ServeAttachedAsync<TEvents>(TEvents events, Mapping mapping, Channel channel, ushort domain, CancellationToken cancellationToken)
        where TEvents : IEvents
    {
        try
        {
            var transport = new XenstorePageTransport<TEvents>(events, channel, mapping, daemon: true);
            await ServeAsync(transport, domain, cancellationToken).ConfigureAwait(false);
            await transport.Completion.ConfigureAwait(false);
        }
        finally
        {
            events.Close(channel);
            mapping.Dispose();
            if (!cancellationToken.IsCancellationRequested)
                ReleaseGone(domain);
        }
    }

    // A guest's page connection ends only when the guest is gone: under Xen the daemon learns of a
    // death from VIRQ_DOM_EXC, here from the page's event channel closing. Either way the domain is
    // released as RELEASE would release it, so that backends watching @releaseDomain let go of its devices.
    private void ReleaseGone(ushort domain)
    {
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested || !_introduced.Remove(domain))
                return;
            _targets.Remove(domain);
            XenstoreServerMetrics.DomainsChanged(-1);
            Log.DomainReleased(_logger, domain, "its page connection ended");
            FireSpecial(XsWire.ReleaseDomain);
        }
    }
}
