using SharedMemoryRing;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Unix.Peer;

namespace Xen.Unix.Tests;

/// <summary>The shared ring over the Unix backends: in one process, and across two.</summary>
public sealed class RingTests
{
    private const int Requests = 200_000;

    private static ulong ExpectedChecksum(int count)
    {
        ulong sum = 0;
        for (uint id = 0; id < count; id++)
            sum += (id * 7) + (id ^ 0x5555);
        return sum;
    }

    [Fact]
    public async Task Two_hundred_thousand_requests_through_a_ring_in_one_process()
    {
        using var root = new TempRoot();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var frontEvents = UnixEvents.Create(1, root.Path);
        using var backEvents = UnixEvents.Create(2, root.Path);
        using var frontMemory = UnixMemory.Create(1, root.Path);
        using var backMemory = UnixMemory.Create(2, root.Path);
        using var share = frontMemory.Share(2, 1, writable: true);
        var (port, front) = frontEvents.Listen(2);
        var exchange = RingExchange.FrontAsync(frontEvents, front, FrontRing<RingRequest, RingResponse>.Initialise(share), Requests, timeout.Token);
        using var mapping = backMemory.Map(1, share.Refs[0], writable: true);
        var back = backEvents.Connect(1, port);
        var answered = RingExchange.BackAsync(backEvents, back, mapping, Requests, timeout.Token);
        Assert.Equal(ExpectedChecksum(Requests), await exchange);
        Assert.Equal(Requests, await answered);
    }

    [Fact]
    public async Task Two_hundred_thousand_requests_through_a_ring_across_two_processes()
    {
        using var root = new TempRoot();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var events = UnixEvents.Create(1, root.Path);
        using var memory = UnixMemory.Create(1, root.Path);
        using var share = memory.Share(2, 2, writable: true);
        var (port, channel) = events.Listen(2);
        using var peer = new PeerProcess(root.Path, 2);
        var exchange = RingExchange.FrontAsync(events, channel, FrontRing<RingRequest, RingResponse>.Initialise(share), Requests, timeout.Token);
        peer.Post($"ringback 1 {share.Refs[0]},{share.Refs[1]} {port} {Requests}");
        Assert.Equal(ExpectedChecksum(Requests), await exchange);
        Assert.Equal($"ok {Requests}", peer.ReadLine());
    }
}
