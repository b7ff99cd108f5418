using Xen.Evtchn;
using Xen.Evtchn.Xen;
using Xen.Gnt.Xen;
using Xen.Guest.Tests.Simulator;

namespace Xen.Guest.Tests;

/// <summary>
/// A guest booted on the simulated hypervisor: the domain is its host (hypercalls, shared-info page,
/// memory manager), and its upcall is wired to the event layer, as a real host's interrupt handler is.
/// </summary>
public sealed unsafe class Guest : IDisposable
{
    private Guest(SimulatedDomain domain, XenEvents events, XenMemory memory)
    {
        Domain = domain;
        Events = events;
        Memory = memory;
    }

    public SimulatedDomain Domain { get; }

    public XenEvents Events { get; }

    public XenMemory Memory { get; }

    public ushort Id => Domain.Id;

    public SharedInfo* SharedInfo => (SharedInfo*)Domain.SharedInfoAddress;

    public static Guest Boot(SimulatedHypervisor hypervisor, ushort id, TimeSpan? peerCheckInterval = null, int grantFrames = 4)
    {
        var domain = hypervisor.CreateDomain(id);
        var events = new XenEvents(domain, domain.SharedInfoAddress, id, peerCheckInterval: peerCheckInterval ?? Timeout.InfiniteTimeSpan);
        domain.Upcall = events.OnUpcall;
        var memory = new XenMemory(domain, domain, id, grantFrames, events.SendOnPort());
        return new Guest(domain, events, memory);
    }

    /// <summary>A channel's counter, read without blocking: the least v for which RecvAsync(v) does not complete at once.</summary>
    public ulong Counter(Channel channel)
    {
        ulong low = 0, high = 1UL << 40;
        while (low < high)
        {
            var mid = low + ((high - low) / 2);
            using var cts = new CancellationTokenSource();
            var done = Events.RecvAsync(channel, new EventCounter(mid), cts.Token).IsCompleted;
            cts.Cancel();
            if (done)
                low = mid + 1;
            else
                high = mid;
        }
        return low;
    }

    /// <summary>Sets a port's mask bit in the shared-info page, as the guest kernel may.</summary>
    public void Mask(Port port) =>
        Interlocked.Or(ref SharedInfo->EvtchnMask[(int)(port.Value / 64)], 1UL << (int)(port.Value % 64));

    /// <summary>Issues <c>EVTCHNOP_unmask</c> for a port.</summary>
    public int Unmask(Port port)
    {
        var op = new EvtchnUnmask { Port = port.Value };
        return Domain.EventChannelOp(EventChannelAbi.EVTCHNOP_unmask, &op);
    }

    /// <summary>Issues <c>EVTCHNOP_status</c> for one of this domain's ports.</summary>
    public EvtchnStatus Status(Port port)
    {
        var op = new EvtchnStatus { Dom = EventChannelAbi.DOMID_SELF, Port = port.Value };
        Assert.Equal(0, Domain.EventChannelOp(EventChannelAbi.EVTCHNOP_status, &op));
        return op;
    }

    public void Dispose()
    {
        Memory.Dispose();
        Events.Dispose();
    }
}

/// <summary>Two guests on one simulated hypervisor, domains 1 and 2.</summary>
public sealed class GuestPair : IDisposable
{
    public GuestPair(TimeSpan? peerCheckInterval = null, int grantFrames = 4)
    {
        Hypervisor = new SimulatedHypervisor();
        One = Guest.Boot(Hypervisor, 1, peerCheckInterval, grantFrames);
        Two = Guest.Boot(Hypervisor, 2, peerCheckInterval, grantFrames);
    }

    public SimulatedHypervisor Hypervisor { get; }

    public Guest One { get; }

    public Guest Two { get; }

    /// <summary>Domain 1 listens, domain 2 connects; returns both channels.</summary>
    public (Channel Server, Channel Client) Connect()
    {
        var (port, server) = One.Events.Listen(Two.Id);
        var client = Two.Events.Connect(One.Id, port);
        return (server, client);
    }

    public void Dispose()
    {
        One.Dispose();
        Two.Dispose();
        Hypervisor.Dispose();
    }
}
