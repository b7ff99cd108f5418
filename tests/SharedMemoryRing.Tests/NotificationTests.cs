using FsCheck;
using FsCheck.Fluent;

namespace SharedMemoryRing.Tests;

/// <summary>
/// Event-index notification over random interleavings of producer and consumer steps: a consumer
/// that goes to sleep after its final check is always woken while work is pending (no lost wake-up),
/// and producers notify only when the consumer asked (at most one notification per final check, so
/// a busy consumer causes no notification storm).
/// </summary>
public sealed class NotificationTests
{
    // A step: 0 = producer writes and pushes up to Count entries; 1 = consumer consumes up to Count;
    // 2 = consumer does the final check and sleeps if it finds nothing.
    public readonly record struct Step(int Kind, int Count);

    private static readonly Arbitrary<(uint First, Step[] Steps)> Schedules = Arb.From(
        Gen.Zip(
            Gen.OneOf(Gen.Constant(0u), Gen.Choose(0, 40).Select(d => uint.MaxValue - (uint)d)),
            Gen.Zip(Gen.Frequency((3, Gen.Constant(0)), (3, Gen.Constant(1)), (2, Gen.Constant(2))), Gen.Choose(1, 10))
                .Select(t => new Step(t.Item1, t.Item2))
                .ArrayOf()));

    private sealed class Sleeper
    {
        public bool Asleep;
        public int FinalChecks;
        public int Notifications;
    }

    [Fact]
    public unsafe void A_backend_asleep_after_its_final_check_is_woken_for_every_pending_request() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(Schedules, schedule =>
        {
            using var pages = new GuardedPages(1);
            var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes, schedule.First);
            var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes, schedule.First);
            var backend = new Sleeper();
            foreach (var step in schedule.Steps)
            {
                switch (step.Kind)
                {
                    case 0:
                        // The frontend takes its responses back (freeing slots) and sends more requests.
                        while (front.TryReadResponse(out _)) { }
                        for (var i = 0; i < step.Count && front.TryWriteRequest(new TestRequest((uint)i, 0, 0)); i++) { }
                        if (front.PushRequests())
                        {
                            backend.Notifications++;
                            backend.Asleep = false;
                        }
                        break;
                    case 1 when !backend.Asleep:
                        for (var i = 0; i < step.Count && back.TryReadRequest(out var request); i++)
                            back.WriteResponse(TestResponse.To(request));
                        back.PushResponses();
                        break;
                    case 2 when !backend.Asleep:
                        backend.FinalChecks++;
                        backend.Asleep = !back.FinalCheckForRequests();
                        break;
                }
                if (backend.Asleep && back.UnconsumedRequests != 0)
                    return false.Label($"the backend sleeps with {back.UnconsumedRequests} requests pending");
                // The initial req_event asks for the first request; every other notification needs a final check.
                if (backend.Notifications > backend.FinalChecks + 1)
                    return false.Label($"{backend.Notifications} notifications for {backend.FinalChecks} final checks");
            }
            return true.ToProperty();
        }));

    [Fact]
    public unsafe void A_frontend_asleep_after_its_final_check_is_woken_for_every_pending_response() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(Schedules, schedule =>
        {
            using var pages = new GuardedPages(1);
            var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes, schedule.First);
            var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes, schedule.First);
            // The frontend keeps the ring full of requests so that the backend always has something to answer.
            void Refill()
            {
                while (front.TryWriteRequest(new TestRequest(1, 2, 3))) { }
                front.PushRequests();
            }
            Refill();
            var frontend = new Sleeper();
            foreach (var step in schedule.Steps)
            {
                switch (step.Kind)
                {
                    case 0:
                        for (var i = 0; i < step.Count && back.TryReadRequest(out var request); i++)
                            back.WriteResponse(TestResponse.To(request));
                        if (back.PushResponses())
                        {
                            frontend.Notifications++;
                            frontend.Asleep = false;
                        }
                        break;
                    case 1 when !frontend.Asleep:
                        for (var i = 0; i < step.Count && front.TryReadResponse(out _); i++) { }
                        Refill();
                        break;
                    case 2 when !frontend.Asleep:
                        frontend.FinalChecks++;
                        frontend.Asleep = !front.FinalCheckForResponses();
                        break;
                }
                if (frontend.Asleep && front.UnconsumedResponses != 0)
                    return false.Label($"the frontend sleeps with {front.UnconsumedResponses} responses pending");
                if (frontend.Notifications > frontend.FinalChecks + 1)
                    return false.Label($"{frontend.Notifications} notifications for {frontend.FinalChecks} final checks");
            }
            return true.ToProperty();
        }));

    [Fact]
    public unsafe void A_consumer_that_never_sleeps_gets_at_most_the_first_notification()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        var notifications = 0;
        for (var batch = 0; batch < 10_000; batch++)
        {
            while (front.TryReadResponse(out _)) { }
            for (var i = 0; i < 1 + batch % 7 && front.TryWriteRequest(new TestRequest((uint)i, 1, 1)); i++) { }
            if (front.PushRequests())
                notifications++;
            while (back.TryReadRequest(out var request))
                back.WriteResponse(TestResponse.To(request));
            back.PushResponses();
        }
        Assert.Equal(1, notifications);
    }
}
