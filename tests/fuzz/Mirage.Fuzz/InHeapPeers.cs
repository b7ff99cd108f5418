using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Mirage.Fuzz;

/// <summary>A backend domain (0) and a frontend domain (1) on in-heap event and grant hubs of their own.</summary>
internal sealed class InHeapPeers : IDisposable
{
    public const ushort BackendDomain = 0, FrontendDomain = 1;

    public InHeapPeers()
    {
        Back = InHeapDomain.Open(Events, Grants, BackendDomain);
        Front = InHeapDomain.Open(Events, Grants, FrontendDomain);
    }

    public InHeapEventHub Events { get; } = new();
    public InHeapGrantHub Grants { get; } = new();
    public InHeapDomain Back { get; }
    public InHeapDomain Front { get; }

    /// <summary>
    /// The grant ref a fuzzed 32-bit value stands for: small values name the granted pages in
    /// <paramref name="granted"/>, so that mutations reach real mappings; others go as they are.
    /// </summary>
    public static GrantRef Ref(uint value, IReadOnlyList<GrantRef> granted) =>
        value < (uint)granted.Count ? granted[(int)value] : new GrantRef(value);

    /// <summary>Sends an event; a peer that already closed its end is not an error here.</summary>
    public static void Kick(InHeapEvents events, Channel channel)
    {
        try
        {
            events.Send(channel);
        }
        catch (EventChannelException)
        {
        }
    }

    public void Dispose()
    {
        Front.Dispose();
        Back.Dispose();
        Grants.Dispose();
        Events.Dispose();
    }
}
