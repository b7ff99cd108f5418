using System.Collections.Immutable;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace SharedMemoryRing.Tests;

/// <summary>
/// Model-based tests of the request/response ring: a front and a back on one shared ring against a
/// model of where every request and response is. FIFO order, nothing lost or duplicated, and the
/// free-slot accounting hold after every step, with indices that start anywhere, also just below
/// <see cref="uint.MaxValue"/> so that they wrap during the run.
/// </summary>
public sealed class RingModelTests
{
    [Fact]
    public void Front_and_back_agree_with_the_model_over_random_operations() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), new RingMachine().ToProperty());

    internal sealed record Model(
        uint First,
        int Size,
        uint NextId,
        ImmutableQueue<TestRequest> Written,
        ImmutableQueue<TestRequest> Pushed,
        ImmutableQueue<TestRequest> Unanswered,
        ImmutableQueue<TestResponse> ResponsesWritten,
        ImmutableQueue<TestResponse> ResponsesPushed,
        long RequestsWritten,
        long ResponsesConsumed,
        long RequestsConsumed,
        long ResponsesWrittenTotal,
        // What the last operation must have returned, for its check.
        object? Expected)
    {
        public int Outstanding => (int)(RequestsWritten - ResponsesConsumed);
        public int Free => Size - Outstanding;
        public override string ToString() =>
            $"first={First} size={Size} written={Written.Count()} pushed={Pushed.Count()} unanswered={Unanswered.Count()} " +
            $"rspWritten={ResponsesWritten.Count()} rspPushed={ResponsesPushed.Count()}";
    }

    internal sealed unsafe class Rings : IDisposable
    {
        public Rings(uint first)
        {
            Pages = new GuardedPages(1);
            // The ring's last byte is the page's last byte, so a slot past the end would hit the guard page.
            var at = Pages.Pointer + Pages.Length - TestRings.SmallRingBytes;
            Front = FrontRing<TestRequest, TestResponse>.Initialise(at, TestRings.SmallRingBytes, first);
            Back = BackRing<TestRequest, TestResponse>.Attach(at, TestRings.SmallRingBytes, first);
        }

        public GuardedPages Pages { get; }
        public FrontRing<TestRequest, TestResponse> Front { get; }
        public BackRing<TestRequest, TestResponse> Back { get; }
        public void Dispose() => Pages.Dispose();
        public override string ToString() => $"front pvt={Front.ReqProdPvt} cons={Front.RspCons}; back pvt={Back.RspProdPvt} cons={Back.ReqCons}";
    }

    private sealed class RingSetup(uint first) : Setup<Rings, Model>
    {
        public override Rings Actual() => new(first);

        public override Model Model() => new(first, 8, 1, [], [], [], [], [], 0, 0, 0, 0, null);

        public override string ToString() => $"rings starting at {first}";
    }

    private sealed class RingMachine : Machine<Rings, Model>
    {
        public RingMachine() : base(60) { }

        public override Arbitrary<Setup<Rings, Model>> Setup =>
            Arb.From(Gen.OneOf(
                    Gen.Choose(0, 20).Select(d => uint.MaxValue - (uint)d),
                    Gen.Constant(0u),
                    Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i)))
                .Select(first => (Setup<Rings, Model>)new RingSetup(first)));

        public override TearDown<Rings> TearDown => new Disposer();

        public override Gen<Operation<Rings, Model>> Next(Model model) =>
            Gen.Frequency(
                (4, Gen.Choose(1, 3).Select(a => (Operation<Rings, Model>)new WriteRequest((uint)a))),
                (2, Gen.Constant<Operation<Rings, Model>>(new PushRequests())),
                (3, Gen.Constant<Operation<Rings, Model>>(new ReadRequest())),
                (3, Gen.Constant<Operation<Rings, Model>>(new WriteResponse())),
                (2, Gen.Constant<Operation<Rings, Model>>(new PushResponses())),
                (3, Gen.Constant<Operation<Rings, Model>>(new ReadResponse())),
                // Batches of every size, also beyond the ring's, between the single steps.
                (2, Gen.Zip(Gen.Choose(0, 10), Gen.Choose(1, 3)).Select(t => (Operation<Rings, Model>)new ProduceRequests(t.Item1, (uint)t.Item2))),
                (2, Gen.Choose(0, 10).Select(n => (Operation<Rings, Model>)new ConsumeRequests(n))),
                (2, Gen.Choose(0, 10).Select(n => (Operation<Rings, Model>)new ProduceResponses(n))),
                (2, Gen.Choose(0, 10).Select(n => (Operation<Rings, Model>)new ConsumeAndAnswer(n))),
                (2, Gen.Choose(0, 10).Select(n => (Operation<Rings, Model>)new ConsumeResponses(n))));
    }

    private sealed class Disposer : TearDown<Rings>
    {
        public override void Actual(Rings actual) => actual.Dispose();
    }

    // Checks the counters every operation leaves behind.
    private static Property Counters(Rings r, Model m) =>
        (r.Front.FreeRequests == m.Free).Label($"free requests {r.Front.FreeRequests}, model {m.Free}")
        .And((r.Front.IsFull == (m.Free == 0)).Label("full"))
        .And((r.Front.ReqProdPvt == unchecked(m.First + (uint)m.RequestsWritten)).Label($"req_prod_pvt {r.Front.ReqProdPvt}"))
        .And((r.Front.RspCons == unchecked(m.First + (uint)m.ResponsesConsumed)).Label($"rsp_cons {r.Front.RspCons}"))
        .And((r.Back.ReqCons == unchecked(m.First + (uint)m.RequestsConsumed)).Label($"req_cons {r.Back.ReqCons}"))
        .And((r.Back.RspProdPvt == unchecked(m.First + (uint)m.ResponsesWrittenTotal)).Label($"rsp_prod_pvt {r.Back.RspProdPvt}"))
        .And((r.Back.UnconsumedRequests == m.Pushed.Count()).Label($"unconsumed requests {r.Back.UnconsumedRequests}, model {m.Pushed.Count()}"))
        .And((r.Front.UnconsumedResponses == m.ResponsesPushed.Count()).Label($"unconsumed responses {r.Front.UnconsumedResponses}"))
        .And((r.Back.UnansweredRequests == m.Unanswered.Count()).Label("unanswered"))
        .And((r.Front.UnpushedRequests == m.Written.Count()).Label("unpushed"));

    private sealed class WriteRequest(uint a) : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            if (m.Free == 0)
                return m with { Expected = false };
            var request = new TestRequest(m.NextId, a, m.NextId * 7);
            return m with
            {
                NextId = m.NextId + 1,
                Written = m.Written.Enqueue(request),
                RequestsWritten = m.RequestsWritten + 1,
                Expected = request,
            };
        }

        public override Property Check(Rings r, Model m) =>
            m.Expected is TestRequest request
                ? r.Front.TryWriteRequest(request).Label("a free slot takes the request").And(Counters(r, m))
                : (!r.Front.TryWriteRequest(new TestRequest(0, 0, 0))).Label("a full ring refuses the request").And(Counters(r, m));

        public override string ToString() => $"WriteRequest({a})";
    }

    private sealed class PushRequests : Operation<Rings, Model>
    {
        public override Model Run(Model m) =>
            m with { Pushed = m.Written.Aggregate(m.Pushed, (q, x) => q.Enqueue(x)), Written = [], Expected = null };

        public override Property Check(Rings r, Model m)
        {
            r.Front.PushRequests();
            return Counters(r, m);
        }

        public override string ToString() => "PushRequests";
    }

    private sealed class ReadRequest : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            if (m.Pushed.IsEmpty)
                return m with { Expected = null };
            var pushed = m.Pushed.Dequeue(out var head);
            return m with { Pushed = pushed, Unanswered = m.Unanswered.Enqueue(head), RequestsConsumed = m.RequestsConsumed + 1, Expected = head };
        }

        public override Property Check(Rings r, Model m)
        {
            var got = r.Back.TryReadRequest(out var request);
            return (m.Expected is TestRequest expected
                    ? (got && request == expected).Label($"read {request}, expected {expected}")
                    : (!got).Label("nothing to read"))
                .And(Counters(r, m));
        }

        public override string ToString() => "ReadRequest";
    }

    private sealed class WriteResponse : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            if (m.Unanswered.IsEmpty)
                return m with { Expected = null };
            var unanswered = m.Unanswered.Dequeue(out var head);
            var response = TestResponse.To(head);
            return m with
            {
                Unanswered = unanswered,
                ResponsesWritten = m.ResponsesWritten.Enqueue(response),
                ResponsesWrittenTotal = m.ResponsesWrittenTotal + 1,
                Expected = response,
            };
        }

        public override Property Check(Rings r, Model m) =>
            (m.Expected is TestResponse response
                ? r.Back.TryWriteResponse(response).Label("an unanswered request's slot takes the response")
                : (!r.Back.TryWriteResponse(new TestResponse(0, 0))).Label("no slot for a response without a request"))
            .And(Counters(r, m));

        public override string ToString() => "WriteResponse";
    }

    private sealed class PushResponses : Operation<Rings, Model>
    {
        public override Model Run(Model m) =>
            m with { ResponsesPushed = m.ResponsesWritten.Aggregate(m.ResponsesPushed, (q, x) => q.Enqueue(x)), ResponsesWritten = [], Expected = null };

        public override Property Check(Rings r, Model m)
        {
            r.Back.PushResponses();
            return Counters(r, m);
        }

        public override string ToString() => "PushResponses";
    }

    private sealed class ReadResponse : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            if (m.ResponsesPushed.IsEmpty)
                return m with { Expected = null };
            var pushed = m.ResponsesPushed.Dequeue(out var head);
            return m with { ResponsesPushed = pushed, ResponsesConsumed = m.ResponsesConsumed + 1, Expected = head };
        }

        public override Property Check(Rings r, Model m)
        {
            var got = r.Front.TryReadResponse(out var response);
            return (m.Expected is TestResponse expected
                    ? (got && response == expected).Label($"read {response}, expected {expected}")
                    : (!got).Label("nothing to read"))
                .And(Counters(r, m));
        }

        public override string ToString() => "ReadResponse";
    }

    // A batch claims min(n, free) slots at req_prod_pvt: never a slot whose request or response is still
    // outstanding, which the reads that follow would show as a lost or changed entry.
    private sealed class ProduceRequests(int n, uint a) : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            var requests = Enumerable.Range(0, Math.Min(n, m.Free)).Select(i => new TestRequest(m.NextId + (uint)i, a, (m.NextId + (uint)i) * 7)).ToList();
            return m with
            {
                NextId = m.NextId + (uint)requests.Count,
                Written = requests.Aggregate(m.Written, (q, x) => q.Enqueue(x)),
                RequestsWritten = m.RequestsWritten + requests.Count,
                Expected = requests,
            };
        }

        public override Property Check(Rings r, Model m)
        {
            var requests = (List<TestRequest>)m.Expected!;
            var before = r.Front.ReqProdPvt;
            var slots = r.Front.ProduceRequests(n);
            var claimed = (slots.Count == requests.Count).Label($"claimed {slots.Count}, model {requests.Count}")
                .And((slots.FirstIndex == before).Label($"first slot {slots.FirstIndex}, req_prod_pvt was {before}"));
            for (var i = 0; i < Math.Min(slots.Count, requests.Count); i++)
                slots[i] = requests[i];
            return claimed.And(Counters(r, m));
        }

        public override string ToString() => $"ProduceRequests({n}, {a})";
    }

    private sealed class ConsumeRequests(int n) : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            var taken = m.Pushed.Take(n).ToList();
            return m with
            {
                Pushed = taken.Aggregate(m.Pushed, (q, _) => q.Dequeue()),
                Unanswered = taken.Aggregate(m.Unanswered, (q, x) => q.Enqueue(x)),
                RequestsConsumed = m.RequestsConsumed + taken.Count,
                Expected = taken,
            };
        }

        public override Property Check(Rings r, Model m)
        {
            var expected = (List<TestRequest>)m.Expected!;
            var entries = r.Back.ConsumeRequests(n);
            var got = new List<TestRequest>();
            for (var i = 0; i < entries.Count; i++)
                got.Add(entries[i]);
            return got.SequenceEqual(expected).Label($"consumed [{string.Join(", ", got)}], expected [{string.Join(", ", expected)}]")
                .And(Counters(r, m));
        }

        public override string ToString() => $"ConsumeRequests({n})";
    }

    private sealed class ProduceResponses(int n) : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            var answered = m.Unanswered.Take(n).ToList();
            var responses = answered.Select(TestResponse.To).ToList();
            return m with
            {
                Unanswered = answered.Aggregate(m.Unanswered, (q, _) => q.Dequeue()),
                ResponsesWritten = responses.Aggregate(m.ResponsesWritten, (q, x) => q.Enqueue(x)),
                ResponsesWrittenTotal = m.ResponsesWrittenTotal + responses.Count,
                Expected = responses,
            };
        }

        public override Property Check(Rings r, Model m)
        {
            var responses = (List<TestResponse>)m.Expected!;
            var before = r.Back.RspProdPvt;
            var slots = r.Back.ProduceResponses(n);
            var claimed = (slots.Count == responses.Count).Label($"claimed {slots.Count}, model {responses.Count}")
                .And((slots.FirstIndex == before).Label($"first slot {slots.FirstIndex}, rsp_prod_pvt was {before}"));
            for (var i = 0; i < Math.Min(slots.Count, responses.Count); i++)
                slots[i] = responses[i];
            return claimed.And(Counters(r, m));
        }

        public override string ToString() => $"ProduceResponses({n})";
    }

    // Only when every consumed request has its response: otherwise it refuses, changing nothing.
    private sealed class ConsumeAndAnswer(int n) : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            if (!m.Unanswered.IsEmpty)
                return m with { Expected = null };
            var taken = m.Pushed.Take(n).ToList();
            var responses = taken.Select(TestResponse.To).ToList();
            return m with
            {
                Pushed = taken.Aggregate(m.Pushed, (q, _) => q.Dequeue()),
                RequestsConsumed = m.RequestsConsumed + taken.Count,
                ResponsesWritten = responses.Aggregate(m.ResponsesWritten, (q, x) => q.Enqueue(x)),
                ResponsesWrittenTotal = m.ResponsesWrittenTotal + responses.Count,
                Expected = taken,
            };
        }

        public override Property Check(Rings r, Model m)
        {
            if (m.Expected is not List<TestRequest> expected)
            {
                try
                {
                    r.Back.ConsumeAndAnswer(n);
                    return false.Label("took requests while others are unanswered");
                }
                catch (InvalidOperationException)
                {
                    return Counters(r, m);
                }
            }
            var before = r.Back.ReqCons;
            var exchange = r.Back.ConsumeAndAnswer(n);
            var got = new List<TestRequest>();
            for (var i = 0; i < exchange.Count; i++)
            {
                ref var response = ref exchange.Answer(i, out var request);
                got.Add(request);
                response = TestResponse.To(request);
            }
            return got.SequenceEqual(expected).Label($"consumed [{string.Join(", ", got)}], expected [{string.Join(", ", expected)}]")
                .And((exchange.FirstIndex == before).Label($"first entry {exchange.FirstIndex}, req_cons was {before}"))
                .And(Counters(r, m));
        }

        public override string ToString() => $"ConsumeAndAnswer({n})";
    }

    private sealed class ConsumeResponses(int n) : Operation<Rings, Model>
    {
        public override Model Run(Model m)
        {
            var taken = m.ResponsesPushed.Take(n).ToList();
            return m with
            {
                ResponsesPushed = taken.Aggregate(m.ResponsesPushed, (q, _) => q.Dequeue()),
                ResponsesConsumed = m.ResponsesConsumed + taken.Count,
                Expected = taken,
            };
        }

        public override Property Check(Rings r, Model m)
        {
            var expected = (List<TestResponse>)m.Expected!;
            var entries = r.Front.ConsumeResponses(n);
            var got = new List<TestResponse>();
            for (var i = 0; i < entries.Count; i++)
                got.Add(entries[i]);
            return got.SequenceEqual(expected).Label($"consumed [{string.Join(", ", got)}], expected [{string.Join(", ", expected)}]")
                .And(Counters(r, m));
        }

        public override string ToString() => $"ConsumeResponses({n})";
    }
}
