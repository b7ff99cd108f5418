using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Netif.Tests;

/// <summary>A netfront in domain 1 and a netback in domain 0, in one process, joined by a rendezvous.</summary>
internal sealed class InHeapNet : IAsyncDisposable
{
    public const ushort BackendDomain = 0;
    public const ushort FrontendDomain = 1;

    public InHeapNet(INetworkLink link, NetbackFeatures? offered = null, NetfrontOptions? options = null)
    {
        Events = new InHeapEventHub();
        Grants = new InHeapGrantHub();
        Back = InHeapDomain.Open(Events, Grants, BackendDomain);
        Front = InHeapDomain.Open(Events, Grants, FrontendDomain);
        Offered = offered ?? new NetbackFeatures();
        Netfront = Netfront<InHeapEvents, InHeapMemory>.Create(Front.Events, Front.Memory, BackendDomain, Offered, options);
        Netback = Netback<InHeapEvents, InHeapMemory>.Attach(Back.Events, Back.Memory, Netfront.Rendezvous, link, new NetbackOptions { Features = Offered });
        Netfront.SetLinkState(true);
    }

    public InHeapEventHub Events { get; }
    public InHeapGrantHub Grants { get; }
    public InHeapDomain Back { get; }
    public InHeapDomain Front { get; }
    public NetbackFeatures Offered { get; }
    public Netfront<InHeapEvents, InHeapMemory> Netfront { get; }
    public Netback<InHeapEvents, InHeapMemory> Netback { get; }
    public NetfrontQueue Queue => Netfront.Queues[0];

    public async ValueTask DisposeAsync()
    {
        Netfront.Dispose();
        await Netback.DisposeAsync();
        Front.Dispose();
        Back.Dispose();
        Grants.Dispose();
        Events.Dispose();
    }
}

internal static class Timeouts
{
    public static CancellationToken Short => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;
}

internal static class TestFrames
{
    /// <summary>A frame of <paramref name="length"/> bytes whose content depends on <paramref name="seed"/>.</summary>
    public static byte[] Make(int length, int seed)
    {
        var frame = new byte[length];
        new Random(seed).NextBytes(frame);
        return frame;
    }
}
