using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Xen.InHeap;

/// <summary>
/// One in-heap domain with both halves opened and wired together: its memory fires unmap
/// notifications through its events.
/// </summary>
public sealed class InHeapDomain : IDisposable
{
    private InHeapDomain(InHeapEvents events, InHeapMemory memory)
    {
        Events = events;
        Memory = memory;
    }

    /// <summary>The domain id.</summary>
    public ushort Id => Events.LocalDomain;

    /// <summary>The domain's event channels.</summary>
    public InHeapEvents Events { get; }

    /// <summary>The domain's grant table, whose <see cref="Xen.Gnt.UnmapNotify.EventPort"/>s are sent on <see cref="Events"/>.</summary>
    public InHeapMemory Memory { get; }

    /// <summary>Opens <paramref name="domain"/> on both hubs.</summary>
    /// <exception cref="InvalidOperationException">The domain is already open on one of them.</exception>
    public static InHeapDomain Open(InHeapEventHub eventHub, InHeapGrantHub grantHub, ushort domain)
    {
        ArgumentNullException.ThrowIfNull(eventHub);
        ArgumentNullException.ThrowIfNull(grantHub);
        var events = eventHub.Open(domain);
        try
        {
            return new InHeapDomain(events, grantHub.Open(domain, SendOn(events)));
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>Ends the domain as a crash would: memory first, so that its unmap notifications
    /// still go out, then its event channels.</summary>
    public void Dispose()
    {
        Memory.Dispose();
        Events.Dispose();
    }

    internal static Action<uint> SendOn(InHeapEvents events) => port => events.Send(new Channel(new Port(port)));
}
