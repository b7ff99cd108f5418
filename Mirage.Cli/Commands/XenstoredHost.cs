using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt;
using Xen.Gnt.Xenctrl;
using Xen.Store.Server;
using Xen.Xenctrl;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage xenstored --backend xenctrl</c>: the daemon as a real Xen host's Xenstore, in dom0. What
/// Xen's C daemon does at start: serve dom0's own ring (<c>/proc/xen/xsd_kva</c>, <c>xsd_port</c>),
/// map each guest that <c>INTRODUCE</c> names through its grant 1 (<c>GNTTAB_RESERVED_XENSTORE</c>),
/// bind <c>VIRQ_DOM_EXC</c>, and on each one ask Xen (<c>XEN_DOMCTL_getdomaininfo</c>) which
/// introduced domains are dying, gone or shut down.
/// </summary>
internal sealed class XenstoredHost : IDisposable
{
    /// <summary><c>GNTTAB_RESERVED_XENSTORE</c> (Xen's public <c>grant_table.h</c>): the grant the domain builder makes of a guest's Xenstore page to the Xenstore domain.</summary>
    private static readonly GrantRef ReservedXenstoreGrant = new(1);

    private readonly XenstoreServer _server;
    private readonly XenctrlEvents _events;
    private readonly XenctrlMemory _memory;
    private readonly XenctrlHypervisor _hypervisor;

    private XenstoredHost(XenstoreServer server, XenctrlEvents events, XenctrlMemory memory, XenctrlHypervisor hypervisor)
    {
        _server = server;
        _events = events;
        _memory = memory;
        _hypervisor = hypervisor;
    }

    /// <summary>Opens dom0's devices and lets <c>INTRODUCE</c> connect guests' pages.</summary>
    /// <exception cref="IOException">A device cannot be opened; the message says which and why.</exception>
    public static XenstoredHost Open(XenstoreServer server)
    {
        XenctrlEvents events;
        try
        {
            events = XenctrlEvents.Open(0);
        }
        catch (EventChannelException e)
        {
            throw new IOException(e.Message, e);
        }
        XenctrlMemory memory = default;
        try
        {
            memory = XenctrlMemory.Open(0);
            var hypervisor = XenctrlHypervisor.Open();
            // Xen says when a domain dies (VIRQ_DOM_EXC): a guest cut off for breaking its ring stays introduced.
            server.AcceptDomainPages(events, memory, ReservedXenstoreGrant, releaseWhenPageEnds: false);
            return new XenstoredHost(server, events, memory, hypervisor);
        }
        catch (Exception e) when (e is GrantException or IOException)
        {
            memory.Dispose();
            events.Dispose();
            throw e as IOException ?? new IOException(e.Message, e);
        }
    }

    /// <summary>
    /// Serves dom0's ring and watches <c>VIRQ_DOM_EXC</c>; <paramref name="started"/> is called once both
    /// are in place. Returns when <paramref name="cancellationToken"/> fires; throws if either fails.
    /// </summary>
    public async Task RunAsync(Action started, CancellationToken cancellationToken)
    {
        Channel virq;
        try
        {
            virq = _events.BindVirq(XenctrlEvents.VirqDomExc);
        }
        catch (EventChannelException e)
        {
            throw new IOException($"cannot bind VIRQ_DOM_EXC: {e.Message}", e);
        }
        XenstoreLocalPage page;
        Channel ring;
        try
        {
            page = XenstoreLocalPage.Open();
        }
        catch (IOException e)
        {
            _events.Close(virq);
            throw new IOException($"cannot map dom0's Xenstore ring: {e.Message}", e);
        }
        try
        {
            ring = _events.Connect(0, page.Port);
        }
        catch (EventChannelException e)
        {
            page.Dispose();
            _events.Close(virq);
            throw new IOException($"cannot bind dom0's Xenstore port {page.Port}: {e.Message}", e);
        }
        var port = page.Port;
        var dom0 = _server.ServeRingAsync(_events, page, ring, 0, cancellationToken);
        Console.Error.WriteLine($"xenstored: serving dom0's ring (xsd_port {port}); VIRQ_DOM_EXC bound");
        started();
        var exceptions = WatchDomainsAsync(virq, cancellationToken);
        var first = await Task.WhenAny(dom0, exceptions).ConfigureAwait(false);
        if (!cancellationToken.IsCancellationRequested)
        {
            await first.ConfigureAwait(false);
            throw new IOException(first == dom0 ? "dom0's ring stopped being served" : "VIRQ_DOM_EXC stopped");
        }
        await Task.WhenAll(dom0.ContinueWith(_ => { }, TaskScheduler.Default), exceptions.ContinueWith(_ => { }, TaskScheduler.Default)).ConfigureAwait(false);
    }

    private async Task WatchDomainsAsync(Channel virq, CancellationToken cancellationToken)
    {
        var seen = EventCounter.Initial;
        try
        {
            while (true)
            {
                seen = await _events.RecvAsync(virq, seen, cancellationToken).ConfigureAwait(false);
                LookAtDomains();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _events.Close(virq);
        }
    }

    /// <summary>
    /// As the C daemon after <c>VIRQ_DOM_EXC</c>: a domain Xen no longer knows, or that is dying, is
    /// released (its page unmapped, which lets Xen finish destroying it); one that shut down or crashed
    /// is reported once on <c>@releaseDomain</c>, for the toolstack to act on.
    /// </summary>
    private void LookAtDomains()
    {
        foreach (var domain in _server.IntroducedDomains)
        {
            XenDomainInfo? info;
            try
            {
                info = _hypervisor.GetDomainInfo(domain);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"xenstored: cannot ask Xen about domain {domain}: {e.Message}");
                continue;
            }
            if (info is null)
                _server.ReleaseDomain(domain, "Xen no longer knows it");
            else if (info.Value.Dying)
                _server.ReleaseDomain(domain, "Xen is destroying it");
            else if (info.Value.Shutdown)
                _server.ReportShutdown(domain);
        }
    }

    /// <summary>Closes the devices: grant mappings first, then event channels.</summary>
    public void Dispose()
    {
        _hypervisor.Dispose();
        _memory.Dispose();
        _events.Dispose();
    }
}
