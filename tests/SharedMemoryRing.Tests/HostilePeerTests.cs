using FsCheck;
using FsCheck.Fluent;

namespace SharedMemoryRing.Tests;

/// <summary>
/// A hostile peer writes arbitrary values into the shared page between the honest side's steps.
/// The honest side must never read or write outside the ring (the ring ends at a guard page, so an
/// out-of-range access crashes the run), never loop without end, never hold more than
/// <c>nr_ents</c> entries, and report every impossible index as a <see cref="RingProtocolException"/>.
/// </summary>
public sealed unsafe class HostilePeerTests
{
    // A hostile write: which 32-bit word of the header or entries, and the value.
    public readonly record struct Scribble(int Word, uint Value);

    private static readonly Gen<uint> AnyIndex = Gen.OneOf(
        Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i)),
        Gen.Choose(-20, 20).Select(i => unchecked((uint)i)),
        Gen.Choose(-20, 20).Select(i => unchecked(0x8000_0000u + (uint)i)));

    private static readonly Arbitrary<(uint First, Scribble[] Scribbles)> Attacks = Arb.From(Gen.Zip(
        Gen.OneOf(Gen.Constant(0u), Gen.Choose(0, 10).Select(d => uint.MaxValue - (uint)d)),
        Gen.Zip(Gen.Choose(0, (TestRings.SmallRingBytes / 4) - 1), AnyIndex).Select(t => new Scribble(t.Item1, t.Item2)).ArrayOf()));

    [Fact]
    public void A_backend_never_accepts_more_requests_than_the_ring_holds() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(Attacks, attack =>
        {
            using var pages = new GuardedPages(1);
            var at = pages.Pointer + pages.Length - TestRings.SmallRingBytes;
            // The hostile frontend's page starts honestly initialised.
            FrontRing<TestRequest, TestResponse>.Initialise(at, TestRings.SmallRingBytes, attack.First);
            var back = BackRing<TestRequest, TestResponse>.Attach(at, TestRings.SmallRingBytes, attack.First);
            foreach (var scribble in attack.Scribbles)
            {
                ((uint*)at)[scribble.Word] = scribble.Value;
                try
                {
                    var unanswered = back.UnansweredRequests;
                    var read = 0;
                    // Bounded: a correct ring stops by itself long before this.
                    while (read <= back.Size && back.TryReadRequest(out _))
                        read++;
                    if (unanswered + read > back.Size)
                        return false.Label($"the backend holds {unanswered + read} requests in a ring of {back.Size}");
                    // Answer about half, so that slots come free and the ring moves on.
                    for (var i = 0; i < (read + 1) / 2; i++)
                        back.WriteResponse(new TestResponse(0, 0));
                    back.PushResponses();
                    back.FinalCheckForRequests();
                }
                catch (RingProtocolException)
                {
                    // Detected: a real backend disconnects here.
                    return true.ToProperty();
                }
            }
            return true.ToProperty();
        }));

    [Fact]
    public void A_frontend_never_accepts_more_responses_than_it_has_requests_outstanding() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(Attacks, attack =>
        {
            using var pages = new GuardedPages(1);
            var at = pages.Pointer + pages.Length - TestRings.SmallRingBytes;
            var front = FrontRing<TestRequest, TestResponse>.Initialise(at, TestRings.SmallRingBytes, attack.First);
            foreach (var scribble in attack.Scribbles)
            {
                ((uint*)at)[scribble.Word] = scribble.Value;
                try
                {
                    // Only pushed requests can be answered.
                    var outstanding = front.Size - front.FreeRequests - front.UnpushedRequests;
                    var read = 0;
                    while (read <= front.Size && front.TryReadResponse(out _))
                        read++;
                    if (read > outstanding)
                        return false.Label($"the frontend accepted {read} responses for {outstanding} outstanding requests");
                    if (front.FreeRequests is < 0 or > 8)
                        return false.Label($"free requests {front.FreeRequests}");
                    for (var i = 0; i < 3 && front.TryWriteRequest(new TestRequest(1, 1, 1)); i++) { }
                    front.PushRequests();
                    front.FinalCheckForResponses();
                }
                catch (RingProtocolException)
                {
                    return true.ToProperty();
                }
            }
            return true.ToProperty();
        }));

    [Fact]
    public void A_backend_consuming_in_batches_never_accepts_more_requests_than_the_ring_holds() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(Attacks, attack =>
        {
            using var pages = new GuardedPages(1);
            var at = pages.Pointer + pages.Length - TestRings.SmallRingBytes;
            FrontRing<TestRequest, TestResponse>.Initialise(at, TestRings.SmallRingBytes, attack.First);
            var back = BackRing<TestRequest, TestResponse>.Attach(at, TestRings.SmallRingBytes, attack.First);
            foreach (var scribble in attack.Scribbles)
            {
                ((uint*)at)[scribble.Word] = scribble.Value;
                try
                {
                    var unanswered = back.UnansweredRequests;
                    var requests = back.ConsumeRequests();
                    var read = requests.Count;
                    // Every entry read: a window beyond the ring would reach the guard page.
                    for (var i = 0; i < read; i++)
                        _ = requests[i];
                    if (unanswered + read > back.Size)
                        return false.Label($"the backend holds {unanswered + read} requests in a ring of {back.Size}");
                    var answers = back.ProduceResponses((read + 1) / 2);
                    for (var i = 0; i < answers.Count; i++)
                        answers[i] = new TestResponse(0, 0);
                    back.PushResponses();
                    back.FinalCheckForRequests();
                }
                catch (RingProtocolException)
                {
                    return true.ToProperty();
                }
            }
            return true.ToProperty();
        }));

    [Fact]
    public void A_frontend_consuming_in_batches_never_accepts_more_responses_than_it_has_requests_outstanding() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(Attacks, attack =>
        {
            using var pages = new GuardedPages(1);
            var at = pages.Pointer + pages.Length - TestRings.SmallRingBytes;
            var front = FrontRing<TestRequest, TestResponse>.Initialise(at, TestRings.SmallRingBytes, attack.First);
            foreach (var scribble in attack.Scribbles)
            {
                ((uint*)at)[scribble.Word] = scribble.Value;
                try
                {
                    var outstanding = front.Size - front.FreeRequests - front.UnpushedRequests;
                    var responses = front.ConsumeResponses();
                    for (var i = 0; i < responses.Count; i++)
                        _ = responses[i];
                    if (responses.Count > outstanding)
                        return false.Label($"the frontend accepted {responses.Count} responses for {outstanding} outstanding requests");
                    var slots = front.ProduceRequests(3);
                    for (var i = 0; i < slots.Count; i++)
                        slots[i] = new TestRequest(1, 1, 1);
                    front.PushRequests();
                    front.FinalCheckForResponses();
                }
                catch (RingProtocolException)
                {
                    return true.ToProperty();
                }
            }
            return true.ToProperty();
        }));

    [Theory]
    [InlineData(9u)]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    public void A_request_producer_far_beyond_the_ring_fails_a_batch_consume(uint reqProd)
    {
        using var pages = new GuardedPages(1);
        FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes);
        pages.Word(SharedRingLayout.ReqProdOffset) = reqProd;
        var error = Assert.Throws<RingProtocolException>(() => back.ConsumeRequests(1).Count);
        Assert.Contains($"req_prod {reqProd}", error.Message, StringComparison.Ordinal);
        Assert.Equal(0u, back.ReqCons);
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    public void A_response_producer_far_beyond_the_pushed_requests_fails_a_batch_consume(uint rspProd)
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        front.ProduceRequests(1)[0] = new TestRequest(1, 0, 0);
        front.PushRequests();
        pages.Word(SharedRingLayout.RspProdOffset) = rspProd;
        var error = Assert.Throws<RingProtocolException>(() => front.ConsumeResponses().Count);
        Assert.Contains($"rsp_prod {rspProd}", error.Message, StringComparison.Ordinal);
        Assert.Equal(0u, front.RspCons);
    }

    [Fact]
    public void A_request_producer_beyond_the_free_slots_is_a_protocol_error()
    {
        using var pages = new GuardedPages(1);
        FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes);
        pages.Word(SharedRingLayout.ReqProdOffset) = 9;
        Assert.Throws<RingProtocolException>(() => back.TryReadRequest(out _));
    }

    [Fact]
    public void A_request_producer_that_moves_backwards_is_a_protocol_error()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes);
        for (var i = 0; i < 4; i++)
            front.WriteRequest(new TestRequest((uint)i, 0, 0));
        front.PushRequests();
        while (back.TryReadRequest(out _)) { }
        pages.Word(SharedRingLayout.ReqProdOffset) = 2;
        Assert.Throws<RingProtocolException>(() => back.UnconsumedRequests);
    }

    [Fact]
    public void A_response_without_an_outstanding_request_is_a_protocol_error()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        front.WriteRequest(new TestRequest(1, 0, 0));
        front.PushRequests();
        pages.Word(SharedRingLayout.RspProdOffset) = 2;
        Assert.Throws<RingProtocolException>(() => front.TryReadResponse(out _));
    }

    [Fact]
    public void A_response_to_a_request_not_yet_pushed_is_a_protocol_error()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        front.WriteRequest(new TestRequest(1, 0, 0));
        front.PushRequests();
        front.WriteRequest(new TestRequest(2, 0, 0));
        pages.Word(SharedRingLayout.RspProdOffset) = 2;
        Assert.Throws<RingProtocolException>(() => front.TryReadResponse(out _));
    }

    [Fact]
    public void A_request_is_copied_out_once_so_a_later_rewrite_of_its_slot_does_not_change_it()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        front.WriteRequest(new TestRequest(1, 2, 3));
        front.PushRequests();
        Assert.True(back.TryReadRequest(out var request));
        pages.Word(SharedRingLayout.EntriesOffset) = 99;
        Assert.Equal(new TestRequest(1, 2, 3), request);
    }
}
