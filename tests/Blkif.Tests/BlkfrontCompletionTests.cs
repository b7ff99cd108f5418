using System.Runtime.CompilerServices;
using Blkif.Storage;
using SharedMemoryRing;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Blkif.Tests;

/// <summary>How a blkfront completes its callers, against a backend this test drives by hand.</summary>
public sealed class BlkfrontCompletionTests
{
    [Fact]
    public async Task A_completion_batch_takes_a_response_that_reached_the_ring_while_it_ran()
    {
        using var eventHub = new InHeapEventHub();
        using var grantHub = new InHeapGrantHub();
        using var back = InHeapDomain.Open(eventHub, grantHub, 0);
        using var frontDomain = InHeapDomain.Open(eventHub, grantHub, 1);
        using var storage = new MemoryStorage(1 << 20);
        // A blkback's published info, but this test answers the ring itself.
        var info = new Blkback<InHeapEvents, InHeapMemory>(back.Events, back.Memory, storage, new BlkbackOptions { MaxRingPageOrder = 0 }).Info;
        await using var front = Blkfront<InHeapEvents, InHeapMemory>.Create(frontDomain.Events, frontDomain.Memory, 0, info,
            new BlkfrontOptions { RingPageOrder = 0, SpinCount = 0 });
        var queue = front.FrontendInfo.Queues[0];
        using var pages = back.Memory.MapMany(1, [.. queue.RingRefs], writable: true);
        var ring = BackRing<BlkifRequest, BlkifResponse>.Attach(pages);
        var channel = back.Events.Connect(1, queue.EventChannel);

        var first = front.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask();
        var second = front.ReadAsync(4096, new byte[4096], TestData.Timeout()).AsTask();
        var requests = new List<BlkifRequest>();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (requests.Count < 2)
            {
                deadline.Token.ThrowIfCancellationRequested();
                if (ring.TryReadRequest(out var request))
                    requests.Add(request);
                else
                    Thread.Yield();
            }
        }

        // The first answer's caller runs inside the completion batch. While it runs, the receive loop
        // finds the ring empty and asks for an event (rsp_event one past the first response); then the
        // second answer is pushed with no event yet: only the batch can find it.
        var pushed = first.ContinueWith(_ =>
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (ResponseEvent(pages) != 2)
            {
                deadline.Token.ThrowIfCancellationRequested();
                Thread.Yield();
            }
            ring.WriteResponse(new BlkifResponse { Id = requests[1].Id, Operation = BlkifOperation.Read, Status = BlkifStatus.Okay });
            ring.PushResponses();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        ring.WriteResponse(new BlkifResponse { Id = requests[0].Id, Operation = BlkifOperation.Read, Status = BlkifStatus.Okay });
        if (ring.PushResponses())
            back.Events.Send(channel);

        await first;
        await pushed.WaitAsync(TimeSpan.FromSeconds(30));
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        back.Events.Close(channel);
    }

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
