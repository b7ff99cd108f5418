using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.Xen;
using Xen.Gnt;

namespace Xen.Guest.Tests;

[StructLayout(LayoutKind.Sequential)]
internal readonly record struct RingRequest(uint Id, uint A, uint B);

[StructLayout(LayoutKind.Sequential)]
internal readonly record struct RingResponse(uint Id, uint Sum);

/// <summary>
/// A ring.h front/back pair over the guest backends on the simulated hypervisor: the frontend (domain 1)
/// grants the ring page and listens, the backend (domain 2) maps the grant and connects, as real
/// drivers meet; notifications travel through EVTCHNOP_send and the 2-level bitmaps.
/// </summary>
public sealed class RingOverGuestTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private sealed class RingPair : IDisposable
    {
        public RingPair(TimeSpan? peerCheckInterval = null)
        {
            Guests = new GuestPair(peerCheckInterval);
            Share = Guests.One.Memory.Share(Guests.Two.Id, 1, writable: true);
            Mapping = Guests.Two.Memory.Map(Guests.One.Id, Share.Refs[0], writable: true);
            var (port, frontChannel) = Guests.One.Events.Listen(Guests.Two.Id);
            var backChannel = Guests.Two.Events.Connect(Guests.One.Id, port);
            Front = new(Guests.One.Events, frontChannel, FrontRing<RingRequest, RingResponse>.Initialise(Share));
            Back = new(Guests.Two.Events, backChannel, BackRing<RingRequest, RingResponse>.Attach(Mapping));
        }

        public GuestPair Guests { get; }
        public Share Share { get; }
        public Mapping Mapping { get; }
        public FrontRingChannel<XenEvents, RingRequest, RingResponse> Front { get; }
        public BackRingChannel<XenEvents, RingRequest, RingResponse> Back { get; }

        public void Dispose()
        {
            Mapping.Dispose();
            Share.Dispose();
            Guests.Dispose();
        }
    }

    private enum Kind { FrontWrite, FrontPush, BackServe, BackPush, FrontRead }

    [Fact]
    public void Random_front_and_back_steps_keep_fifo_order_and_every_notify_reaches_the_peer()
    {
        var steps = Gen.Elements(Enum.GetValues<Kind>()).ListOf().ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), Prop.ForAll(steps, RunModel));
    }

    // The model: requests written but not pushed, pushed but not served, responses written but not
    // pushed, pushed but not read; ids in order. A push that says "notify" must raise the peer's counter.
    private static bool RunModel(IList<Kind> steps)
    {
        using var rings = new RingPair();
        var front = rings.Front;
        var back = rings.Back;
        uint nextId = 0, nextResponse = 0;
        var served = new Queue<uint>();
        var frontSeen = rings.Guests.One.Counter(front.Channel);
        var backSeen = rings.Guests.Two.Counter(back.Channel);
        foreach (var step in steps)
        {
            switch (step)
            {
                case Kind.FrontWrite:
                    if (front.Ring.TryWriteRequest(new RingRequest(nextId, nextId, 1)))
                        nextId++;
                    break;
                case Kind.FrontPush:
                    var notify = front.PushRequests();
                    var backNow = rings.Guests.Two.Counter(back.Channel);
                    Assert.Equal(notify, backNow > backSeen);
                    backSeen = backNow;
                    break;
                case Kind.BackServe:
                    while (back.Ring.TryReadRequest(out var request))
                    {
                        Assert.Equal(request.Id + 1, request.A + request.B);
                        served.Enqueue(request.Id);
                        back.Ring.WriteResponse(new RingResponse(request.Id, request.A + request.B));
                    }
                    break;
                case Kind.BackPush:
                    var notifyFront = back.PushResponses();
                    var frontNow = rings.Guests.One.Counter(front.Channel);
                    Assert.Equal(notifyFront, frontNow > frontSeen);
                    frontSeen = frontNow;
                    break;
                case Kind.FrontRead:
                    while (front.Ring.TryReadResponse(out var response))
                    {
                        Assert.Equal(nextResponse, response.Id);
                        Assert.Equal(response.Id + 1, response.Sum);
                        nextResponse++;
                    }
                    break;
            }
            Assert.True(front.Ring.FreeRequests >= 0 && front.Ring.FreeRequests <= front.Ring.Size);
        }
        return true;
    }

    [Fact]
    public async Task Requests_and_responses_cross_on_two_threads_with_no_lost_wake_up()
    {
        using var rings = new RingPair();
        const int total = 20_000;
        using var cancel = new CancellationTokenSource(Timeout);
        var backend = Task.Run(async () =>
        {
            var answered = 0;
            while (answered < total)
            {
                await rings.Back.WaitForRequestsAsync(cancel.Token);
                while (rings.Back.Ring.TryReadRequest(out var request))
                {
                    rings.Back.Ring.WriteResponse(new RingResponse(request.Id, request.A + request.B));
                    answered++;
                }
                rings.Back.PushResponses();
            }
        });
        uint sent = 0, received = 0;
        while (received < total)
        {
            while (sent < total && rings.Front.Ring.TryWriteRequest(new RingRequest(sent, sent, 1)))
                sent++;
            rings.Front.PushRequests();
            await rings.Front.WaitForResponsesAsync(cancel.Token);
            while (rings.Front.Ring.TryReadResponse(out var response))
            {
                Assert.Equal(received, response.Id);
                received++;
            }
        }
        await backend.WaitAsync(Timeout);
        Assert.Equal((uint)total, received);
    }

    [Fact]
    public async Task A_frontend_waiting_on_a_destroyed_backend_sees_PeerClosedException()
    {
        using var rings = new RingPair(peerCheckInterval: TimeSpan.FromMilliseconds(20));
        rings.Front.SpinCount = 0;
        rings.Front.Ring.WriteRequest(new RingRequest(1, 1, 1));
        rings.Front.PushRequests();
        var waiting = rings.Front.WaitForResponsesAsync().AsTask();

        rings.Guests.Hypervisor.DestroyDomain(rings.Guests.Two.Id);

        await Assert.ThrowsAsync<PeerClosedException>(() => waiting.WaitAsync(Timeout));
    }
}
