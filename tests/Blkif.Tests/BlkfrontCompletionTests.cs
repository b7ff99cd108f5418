using System.Runtime.CompilerServices;
using Blkif.Storage;
using SharedMemoryRing;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Blkif.Tests;

/// <summary>How a blkfront waits for its answers, against a backend this test drives by hand.</summary>
public sealed class BlkfrontCompletionTests
{
    [Fact]
    public async Task The_receive_loop_sleeps_at_once_while_a_large_request_is_in_flight()
    {
        using var eventHub = new InHeapEventHub();
        using var grantHub = new InHeapGrantHub();
        using var back = InHeapDomain.Open(eventHub, grantHub, 0);
        using var frontDomain = InHeapDomain.Open(eventHub, grantHub, 1);
        using var storage = new MemoryStorage(4 << 20);
        var info = new Blkback<InHeapEvents, InHeapMemory>(back.Events, back.Memory, storage, new BlkbackOptions { MaxRingPageOrder = 0 }).Info;
        // A spin that would outlast the test's wait (each round past the tenth yields the core) if the
        // loop spun while the 1 MiB read is in flight.
        await using var front = Blkfront<InHeapEvents, InHeapMemory>.Create(frontDomain.Events, frontDomain.Memory, 0, info,
            new BlkfrontOptions { RingPageOrder = 0, SpinCount = 100_000_000 });
        var queue = front.FrontendInfo.Queues[0];
        using var pages = back.Memory.MapMany(1, [.. queue.RingRefs], writable: true);
        var ring = BackRing<BlkifRequest, BlkifResponse>.Attach(pages);
        var channel = back.Events.Connect(1, queue.EventChannel);

        var large = front.ReadAsync(0, new byte[1 << 20], TestData.Timeout()).AsTask();
        var small = front.ReadAsync(1 << 20, new byte[4096], TestData.Timeout()).AsTask();
        var requests = ReadRequests(ring, 2);
        Assert.Equal(BlkifOperation.Indirect, requests[0].Operation);
        Answer(back, channel, ring, requests[1]);
        await small.WaitAsync(TimeSpan.FromSeconds(30));
        // Having taken the small answer, the loop asks for an event (rsp_event one past it) and sleeps.
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (ResponseEvent(pages) != 2)
            {
                deadline.Token.ThrowIfCancellationRequested();
                Thread.Yield();
            }
        }
        Answer(back, channel, ring, requests[0]);
        await large.WaitAsync(TimeSpan.FromSeconds(30));
        back.Events.Close(channel);
    }

    private static List<BlkifRequest> ReadRequests(BackRing<BlkifRequest, BlkifResponse> ring, int count)
    {
        var requests = new List<BlkifRequest>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (requests.Count < count)
        {
            deadline.Token.ThrowIfCancellationRequested();
            if (ring.TryReadRequest(out var request))
                requests.Add(request);
            else
                Thread.Yield();
        }
        return requests;
    }

    private static void Answer(InHeapDomain back, Xen.Evtchn.Channel channel, BackRing<BlkifRequest, BlkifResponse> ring, in BlkifRequest request)
    {
        ring.WriteResponse(new BlkifResponse { Id = request.Id, Operation = BlkifOperation.Read, Status = BlkifStatus.Okay });
        if (ring.PushResponses())
            back.Events.Send(channel);
    }

    private static uint ResponseEvent(Xen.Gnt.Mapping pages) =>
        Volatile.Read(ref Unsafe.As<byte, uint>(ref pages.Span[SharedRingLayout.RspEventOffset]));
}
