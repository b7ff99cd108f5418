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

    [Fact]
    public async Task A_completion_batch_takes_answers_that_came_while_it_ran_without_an_event()
    {
        await using var rig = new HandDrivenRing();
        var second = await rig.AnswerWhileCompleting(id => id);
        await second.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData(9999)]   // not one of the ring's ids
    [InlineData(-1)]     // the first request's id, answered already
    public async Task A_completion_batch_that_takes_a_hostile_answer_fails_the_device(int hostileId)
    {
        await using var rig = new HandDrivenRing();
        var second = await rig.AnswerWhileCompleting(id => hostileId >= 0 ? (ulong)hostileId : id - 1);
        var e = await Assert.ThrowsAsync<BlkifIOException>(() => second.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsType<InvalidDataException>(e.InnerException);
        await Assert.ThrowsAsync<BlkifIOException>(() => rig.Front.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask());
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

    /// <summary>A blkfront with one single-page ring, whose backend side this test drives by hand.</summary>
    private sealed class HandDrivenRing : IAsyncDisposable
    {
        private readonly InHeapEventHub _eventHub = new();
        private readonly InHeapGrantHub _grantHub = new();
        private readonly InHeapDomain _back;
        private readonly InHeapDomain _frontDomain;
        private readonly MemoryStorage _storage = new(4 << 20);
        private readonly Xen.Gnt.Mapping _pages;
        private readonly BackRing<BlkifRequest, BlkifResponse> _ring;
        private readonly Xen.Evtchn.Channel _channel;

        public HandDrivenRing()
        {
            _back = InHeapDomain.Open(_eventHub, _grantHub, 0);
            _frontDomain = InHeapDomain.Open(_eventHub, _grantHub, 1);
            var info = new Blkback<InHeapEvents, InHeapMemory>(_back.Events, _back.Memory, _storage, new BlkbackOptions { MaxRingPageOrder = 0 }).Info;
            // No spin: once the receive loop finds the ring empty it makes its final check and sleeps.
            Front = Blkfront<InHeapEvents, InHeapMemory>.Create(_frontDomain.Events, _frontDomain.Memory, 0, info,
                new BlkfrontOptions { RingPageOrder = 0, SpinCount = 0 });
            var queue = Front.FrontendInfo.Queues[0];
            _pages = _back.Memory.MapMany(1, [.. queue.RingRefs], writable: true);
            _ring = BackRing<BlkifRequest, BlkifResponse>.Attach(_pages);
            _channel = _back.Events.Connect(1, queue.EventChannel);
        }

        public Blkfront<InHeapEvents, InHeapMemory> Front { get; }

        /// <summary>
        /// Sends two reads. The first is answered with an event; its caller's continuation, which runs in
        /// the completion batch, waits until the receive loop has made its final check and gone to sleep,
        /// then answers the second read (with the id <paramref name="answer"/> makes of its own) and sends
        /// no event: only the completion batch, looking at the ring again when its callers are done, can
        /// find that answer. Returns the second read.
        /// </summary>
        public async Task<Task> AnswerWhileCompleting(Func<ulong, ulong> answer)
        {
            var first = Front.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask();
            var second = Front.ReadAsync(4096, new byte[4096], TestData.Timeout()).AsTask();
            var requests = ReadRequests(_ring, 2);
            var answered = first.ContinueWith(_ =>
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (ResponseEvent(_pages) != 2)
                {
                    deadline.Token.ThrowIfCancellationRequested();
                    Thread.Yield();
                }
                _ring.WriteResponse(new BlkifResponse { Id = answer(requests[1].Id), Operation = BlkifOperation.Read, Status = BlkifStatus.Okay });
                _ring.PushResponses();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            Answer(_back, _channel, _ring, requests[0]);
            await first.WaitAsync(TimeSpan.FromSeconds(30));
            await answered.WaitAsync(TimeSpan.FromSeconds(30));
            return second;
        }

        public async ValueTask DisposeAsync()
        {
            await Front.DisposeAsync();
            _back.Events.Close(_channel);
            _pages.Dispose();
            _frontDomain.Dispose();
            _back.Dispose();
            _storage.Dispose();
            _grantHub.Dispose();
            _eventHub.Dispose();
        }
    }
}
