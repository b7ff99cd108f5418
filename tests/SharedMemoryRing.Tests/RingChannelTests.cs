using TestSupport;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace SharedMemoryRing.Tests;

/// <summary>
/// The async layer over the in-heap backends: a frontend (domain 1) and a backend (domain 0) meet as
/// real drivers do, through a grant and an event channel.
/// </summary>
public sealed class RingChannelTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();
    private readonly Share _share;
    private readonly Mapping _mapping;

    public RingChannelTests()
    {
        var frontEvents = _eventHub.Open(1);
        var backEvents = _eventHub.Open(0);
        _share = _grantHub.Open(1).Share(0, 1, writable: true);
        _mapping = _grantHub.Open(0).Map(1, _share.Refs[0], writable: true);
        var (port, frontChannel) = frontEvents.Listen(0);
        Front = new(frontEvents, frontChannel, FrontRing<TestRequest, TestResponse>.Initialise(_share));
        Back = new(backEvents, backEvents.Connect(1, port), BackRing<TestRequest, TestResponse>.Attach(_mapping));
    }

    private FrontRingChannel<InHeapEvents, TestRequest, TestResponse> Front { get; }

    private BackRingChannel<InHeapEvents, TestRequest, TestResponse> Back { get; }

    public void Dispose()
    {
        ((IDisposable)_mapping).Dispose();
        ((IDisposable)_share).Dispose();
        _eventHub.Dispose();
        _grantHub.Dispose();
    }

    [Fact]
    public async Task A_sleeping_backend_wakes_when_the_frontend_pushes_a_request()
    {
        Back.SpinCount = 0;
        var waiting = Back.WaitForRequestsAsync().AsTask();
        await Until.TrueAsync(() => _eventHub.BlockedReceivers == 1, "the backend asleep on its channel");
        Assert.False(waiting.IsCompleted);
        Front.Ring.WriteRequest(new TestRequest(1, 2, 3));
        Assert.True(Front.PushRequests());
        await waiting.WaitAsync(Timeout);
        Assert.True(Back.Ring.TryReadRequest(out var request));
        Assert.Equal(new TestRequest(1, 2, 3), request);
    }

    [Fact]
    public async Task A_sleeping_frontend_wakes_when_the_backend_pushes_a_response()
    {
        Front.SpinCount = 0;
        Front.Ring.WriteRequest(new TestRequest(1, 2, 3));
        Front.PushRequests();
        var waiting = Front.WaitForResponsesAsync().AsTask();
        Assert.True(Back.Ring.TryReadRequest(out var request));
        Back.Ring.WriteResponse(TestResponse.To(request));
        Assert.True(Back.PushResponses());
        await waiting.WaitAsync(Timeout);
        Assert.True(Front.Ring.TryReadResponse(out var response));
        Assert.Equal(new TestResponse(1, 5), response);
    }

    [Fact]
    public void A_wait_with_work_already_there_completes_at_once()
    {
        Front.Ring.WriteRequest(new TestRequest(1, 2, 3));
        Front.PushRequests();
        Assert.True(Back.WaitForRequestsAsync().IsCompletedSuccessfully);
    }

    [Fact]
    public void A_cancelled_wait_is_cancelled_even_with_work_there()
    {
        // A backend that waits between batches must stop even if the frontend never stops producing.
        Front.Ring.WriteRequest(new TestRequest(1, 2, 3));
        Front.Ring.WriteRequest(new TestRequest(2, 2, 3));
        Front.PushRequests();
        Assert.True(Back.Ring.TryReadRequest(out var first));
        Back.Ring.WriteResponse(TestResponse.To(first));
        Back.PushResponses();
        var cancelled = new CancellationToken(canceled: true);
        Assert.True(Back.WaitForRequestsAsync(cancelled).IsCanceled);
        Assert.True(Front.WaitForResponsesAsync(cancelled).IsCanceled);
    }

    [Fact]
    public async Task A_frontend_with_a_full_ring_waits_for_free_slots_until_responses_come()
    {
        Front.SpinCount = 0;
        while (Front.Ring.TryWriteRequest(new TestRequest(0, 0, 0))) { }
        Front.PushRequests();
        var waiting = Front.WaitForFreeRequestsAsync().AsTask();
        await Until.TrueAsync(() => _eventHub.BlockedReceivers == 1, "the frontend asleep on its channel");
        Assert.False(waiting.IsCompleted);
        Back.Ring.TryReadRequest(out var request);
        Back.Ring.WriteResponse(TestResponse.To(request));
        Back.PushResponses();
        await waiting.WaitAsync(Timeout);
        Assert.True(Front.Ring.TryReadResponse(out _));
        Assert.Equal(1, Front.Ring.FreeRequests);
    }

    [Fact]
    public async Task A_wait_ends_when_it_is_cancelled()
    {
        using var cancel = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Back.WaitForRequestsAsync(cancel.Token).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_waiter_sees_the_peer_close()
    {
        Front.SpinCount = 0;
        var waiting = Front.WaitForResponsesAsync().AsTask();
        _eventHub.Kill(0);
        await Assert.ThrowsAsync<PeerClosedException>(() => waiting.WaitAsync(Timeout));
    }

    [Fact]
    public void A_push_to_a_closed_peer_fails()
    {
        Front.Ring.WriteRequest(new TestRequest(1, 2, 3));
        _eventHub.Kill(0);
        Assert.Throws<PeerClosedException>(() => Front.PushRequests());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(RingWait.DefaultSpinCount)]
    public async Task Two_million_requests_cross_on_two_threads_with_no_lost_wake_up(int spinCount)
    {
        const int Count = 2_000_000;
        Front.SpinCount = spinCount;
        Back.SpinCount = spinCount;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var backend = Task.Run(async () =>
        {
            var (answered, sum) = (0, 0ul);
            while (answered < Count)
            {
                await Back.WaitForRequestsAsync(cancel.Token);
                while (Back.Ring.TryReadRequest(out var request))
                {
                    Assert.Equal((uint)answered, request.Id);
                    sum += request.A + ((ulong)request.B << 32);
                    Back.Ring.WriteResponse(TestResponse.To(request));
                    answered++;
                }
                Back.PushResponses();
            }
            return sum;
        });
        var frontend = Task.Run(async () =>
        {
            var (sent, received, sum, responseSum) = (0u, 0u, 0ul, 0ul);
            while (received < Count)
            {
                while (sent < Count && Front.Ring.TryWriteRequest(new TestRequest(sent, sent * 31, sent ^ 0x5555)))
                {
                    sum += sent * 31 + ((ulong)(sent ^ 0x5555) << 32);
                    sent++;
                }
                Front.PushRequests();
                await Front.WaitForResponsesAsync(cancel.Token);
                while (Front.Ring.TryReadResponse(out var response))
                {
                    Assert.Equal(received, response.Id);
                    responseSum += response.Sum;
                    received++;
                }
            }
            return (sum, responseSum);
        });
        var (sentSum, responseSum) = await frontend.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(sentSum, await backend.WaitAsync(TimeSpan.FromMinutes(1)));
        var expected = 0ul;
        for (var i = 0u; i < Count; i++)
            expected += unchecked(i * 31 + (i ^ 0x5555));
        Assert.Equal(expected, responseSum);
    }
}
