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
    public async Task An_answer_with_an_id_that_is_not_one_of_the_rings_fails_the_device()
    {
        await using var rig = new HandDrivenRing();
        var (first, second, requests) = rig.TwoReads();
        rig.Answer(requests[0], id: 9999);
        await AssertBrokenByBackend(first);
        await AssertBrokenByBackend(second);
        await AssertBrokenByBackend(rig.Front.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask());
    }

    [Fact]
    public async Task A_second_answer_to_the_same_request_fails_the_device()
    {
        await using var rig = new HandDrivenRing();
        var (first, second, requests) = rig.TwoReads();
        rig.Answer(requests[0], requests[0].Id);
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        rig.Answer(requests[0], requests[0].Id);
        await AssertBrokenByBackend(second);
    }

    // The CI caught it once, as an IndexOutOfRangeException from a blkfront whose backend was killed: a
    // failure that came while a request was being put together took the request as in flight, and the
    // request's own post, seeing the failure, gave its slot back a second time.
    [Fact]
    public async Task A_failure_while_a_request_is_put_together_fails_it_once_and_keeps_every_slot_once()
    {
        await using var rig = new HandDrivenRing();
        var read = rig.Front.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask();
        var request = rig.NextRequests(1)[0];
        // The write's slot shares its pages first: there, the backend breaks the ring and the device fails.
        rig.Memory.BeforeShare = () =>
        {
            rig.Memory.BeforeShare = null;
            rig.Answer(request, id: 9999);
            Assert.True(SpinWait.SpinUntil(() => read.IsCompleted, TimeSpan.FromSeconds(30)), "the device did not fail");
        };
        var write = rig.Front.WriteAsync(4096, new byte[4096], TestData.Timeout()).AsTask();
        await AssertBrokenByBackend(read);
        await AssertBrokenByBackend(write);
        // Every slot came back once: as many requests as the ring holds still fail cleanly, none hangs.
        var later = Enumerable.Range(0, 40).Select(i => rig.Front.ReadAsync(4096L * i, new byte[4096], TestData.Timeout()).AsTask()).ToArray();
        foreach (var each in later)
            await AssertBrokenByBackend(each);
    }

    // A caller that took a slot before the device was disposed still fills its pages after: they must stay
    // until it gives the slot back, and end then. Freed under it, the caller copied into ended pages, or
    // granted new ones that nobody ended.
    [Fact]
    public async Task A_disposal_while_a_request_is_put_together_fails_it_and_leaves_no_page_granted()
    {
        await using var rig = new HandDrivenRing();
        // The write's slot shares its pages first: there, the device is disposed.
        rig.Memory.BeforeShare = () =>
        {
            rig.Memory.BeforeShare = null;
            var disposal = rig.Front.DisposeAsync().AsTask();
            Assert.True(SpinWait.SpinUntil(() => disposal.IsCompleted, TimeSpan.FromSeconds(30)), "the disposal did not finish");
        };
        var write = rig.Front.WriteAsync(0, new byte[4096], TestData.Timeout()).AsTask();
        await Assert.ThrowsAsync<BlkifIOException>(() => write.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, rig.LiveShares);
    }

    private static async Task AssertBrokenByBackend(Task read)
    {
        var e = await Assert.ThrowsAsync<BlkifIOException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsType<InvalidDataException>(e.InnerException);
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

    /// <summary>The frontend's grants, with a hook that runs before each share: a request's first use of
    /// its slot shares the slot's pages between the slot's start and the request's post.</summary>
    private sealed class HookedMemory(InHeapMemory inner) : Xen.Gnt.IMemory
    {
        public Action? BeforeShare { get; set; }

        public ushort LocalDomain => inner.LocalDomain;

        public Xen.Gnt.Share Share(ushort remoteDomain, int pageCount, bool writable, Xen.Gnt.UnmapNotify notify = default)
        {
            BeforeShare?.Invoke();
            return inner.Share(remoteDomain, pageCount, writable, notify);
        }

        public Xen.Gnt.Mapping Map(ushort remoteDomain, Xen.Gnt.GrantRef grant, bool writable, Xen.Gnt.UnmapNotify notify = default) =>
            inner.Map(remoteDomain, grant, writable, notify);

        public Xen.Gnt.Mapping MapMany(ushort remoteDomain, ReadOnlySpan<Xen.Gnt.GrantRef> grants, bool writable, Xen.Gnt.UnmapNotify notify = default) =>
            inner.MapMany(remoteDomain, grants, writable, notify);

        public void Unmap(Xen.Gnt.Mapping mapping) => inner.Unmap(mapping);

        public void Unshare(Xen.Gnt.Share share) => inner.Unshare(share);

        public void Dispose()
        {
        }
    }

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
            Memory = new HookedMemory(_frontDomain.Memory);
            Front = Blkfront<InHeapEvents, HookedMemory>.Create(_frontDomain.Events, Memory, 0, info,
                new BlkfrontOptions { RingPageOrder = 0 });
            var queue = Front.FrontendInfo.Queues[0];
            _pages = _back.Memory.MapMany(1, [.. queue.RingRefs], writable: true);
            _ring = BackRing<BlkifRequest, BlkifResponse>.Attach(_pages);
            _channel = _back.Events.Connect(1, queue.EventChannel);
        }

        public Blkfront<InHeapEvents, HookedMemory> Front { get; }

        /// <summary>The frontend's grants.</summary>
        public HookedMemory Memory { get; }

        /// <summary>The frontend's shares not yet ended: the backend shares none.</summary>
        public int LiveShares => _grantHub.LiveShares;

        /// <summary>Sends two 4 KiB reads and returns them with the requests they put on the ring.</summary>
        public (Task First, Task Second, List<BlkifRequest> Requests) TwoReads()
        {
            var first = Front.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask();
            var second = Front.ReadAsync(4096, new byte[4096], TestData.Timeout()).AsTask();
            return (first, second, ReadRequests(_ring, 2));
        }

        /// <summary>The next <paramref name="count"/> requests the frontend puts on the ring.</summary>
        public List<BlkifRequest> NextRequests(int count) => ReadRequests(_ring, count);

        /// <summary>Answers <paramref name="request"/> under the id given, and sends the event.</summary>
        public void Answer(in BlkifRequest request, ulong id)
        {
            _ring.WriteResponse(new BlkifResponse { Id = id, Operation = request.Operation, Status = BlkifStatus.Okay });
            if (_ring.PushResponses())
                _back.Events.Send(_channel);
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
