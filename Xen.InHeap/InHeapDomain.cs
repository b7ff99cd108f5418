using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.Store;

namespace Xen.InHeap;

/// <summary>
/// One in-heap domain with both halves opened and wired together: its memory fires unmap
/// notifications through its events.
/// </summary>
public sealed class InHeapDomain : IDisposable
{
    private readonly string? _xenstore;

    private InHeapDomain(InHeapEvents events, InHeapMemory memory, InHeapFrames frames, string? xenstore)
    {
        Events = events;
        Memory = memory;
        Frames = frames;
        _xenstore = xenstore;
    }

    /// <summary>The domain id.</summary>
    public ushort Id => Events.LocalDomain;

    /// <summary>The domain's event channels.</summary>
    public InHeapEvents Events { get; }

    /// <summary>The domain's grant table, whose <see cref="Xen.Gnt.UnmapNotify.EventPort"/>s are sent on <see cref="Events"/>.</summary>
    public InHeapMemory Memory { get; }

    /// <summary>This domain's memory by frame number, and other domains' frames when this is domain 0.</summary>
    public InHeapFrames Frames { get; }

    /// <summary>Opens <paramref name="domain"/> on both hubs.</summary>
    /// <exception cref="InvalidOperationException">The domain is already open on one of them.</exception>
    public static InHeapDomain Open(InHeapEventHub eventHub, InHeapGrantHub grantHub, ushort domain) =>
        Open(new InHeapDomainOptions { EventHub = eventHub, GrantHub = grantHub, Domain = domain });

    /// <summary>Opens the domain <paramref name="options"/> names, on its hubs (by default the process-wide ones).</summary>
    /// <exception cref="InvalidOperationException">The domain is already open on one of them.</exception>
    public static InHeapDomain Open(InHeapDomainOptions? options = null)
    {
        options ??= new InHeapDomainOptions();
        var events = (options.EventHub ?? InHeapBackend.EventHub).Open(options.Domain);
        try
        {
            var hub = options.GrantHub ?? InHeapBackend.GrantHub;
            var memory = hub.Open(options.Domain, events.SendOnPort());
            try
            {
                return new InHeapDomain(events, memory, hub.OpenFrames(options.Domain), options.Xenstore);
            }
            catch
            {
                memory.Dispose();
                throw;
            }
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens Xenstore where the options said (<see cref="XenstoreClient.OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/>),
    /// acting as this domain. The caller disposes the client, before the domain.
    /// </summary>
    public Task<XenstoreClient> OpenXenstoreAsync(CancellationToken cancellationToken = default) =>
        XenstoreClient.OpenAsync(_xenstore, Id, cancellationToken);

    /// <summary>Ends the domain as a crash would: memory first, so that its unmap notifications
    /// still go out, then its event channels.</summary>
    public void Dispose()
    {
        Frames.Dispose();
        Memory.Dispose();
        Events.Dispose();
    }
}
