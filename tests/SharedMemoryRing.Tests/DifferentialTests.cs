using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Text;
using TestSupport;

namespace SharedMemoryRing.Tests;

/// <summary>
/// Differential tests against ring.h itself: a C peer built from ring_peer.c runs the header's own
/// macros (XEN_FRONT_RING_INIT, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_RESPONSES,
/// BACK_RING_INIT, RING_COPY_REQUEST, ...) on a file in /dev/shm that the C# ring maps too. One random
/// schedule of steps, single steps and batches (filled and consumed with the indices in locals, as
/// Linux's drivers do), runs three times: C front with C back, C front with C# back, C# front with C back.
/// Every reply (requests, responses, notify decisions, final checks, counters) must be the same.
/// </summary>
public sealed class DifferentialTests
{
    [Theory]
    [InlineData(TestRings.SmallRingBytes, 0u, 1)]
    [InlineData(TestRings.SmallRingBytes, uint.MaxValue - 5, 2)]
    [InlineData(4096, 0u, 3)]
    [InlineData(8192, uint.MaxValue - 300, 4)]
    public void CSharp_ends_behave_as_ring_h_macros_step_for_step(int ringBytes, uint first, int seed)
    {
        var schedule = Schedule(new Random(seed), ringBytes <= 160 ? 3000 : 4000, burst: ringBytes <= 160 ? 3 : 40);
        var program = CProgram.Compile("c/ring_peer.c");

        var reference = Run(schedule, ringBytes, first, (file, p) => new CPeer(program, "front", file, ringBytes, first), (file, p) => new CPeer(program, "back", file, ringBytes, first));
        var csharpBack = Run(schedule, ringBytes, first, (file, p) => new CPeer(program, "front", file, ringBytes, first), (file, p) => new CSharpBack(p, ringBytes, first));
        var csharpFront = Run(schedule, ringBytes, first, (file, p) => new CSharpFront(p, ringBytes, first), (file, p) => new CPeer(program, "back", file, ringBytes, first));

        // The schedule must exercise the interesting decisions, or agreeing proves little.
        foreach (var needed in new[] { "notify 1", "notify 0", "work 0", "work 1", "none" })
            Assert.Contains(reference, line => line.EndsWith("-> " + needed, StringComparison.Ordinal));
        if (ringBytes <= 160)
            Assert.Contains(reference, line => line.EndsWith("-> full", StringComparison.Ordinal));
        // And batches that moved something on each side, each way.
        Assert.Contains(reference, line => line.StartsWith("Front requests ", StringComparison.Ordinal) && !line.EndsWith("-> ok 0", StringComparison.Ordinal));
        Assert.Contains(reference, line => line.StartsWith("Front reads ", StringComparison.Ordinal) && !line.EndsWith("-> responses 0", StringComparison.Ordinal));
        Assert.Contains(reference, line => line.StartsWith("Back reads ", StringComparison.Ordinal) && !line.EndsWith("-> requests 0", StringComparison.Ordinal));
        Assert.Contains(reference, line => line.StartsWith("Back answers ", StringComparison.Ordinal) && !line.EndsWith("-> ok 0", StringComparison.Ordinal));
        Assert.Equal(reference, csharpBack);
        Assert.Equal(reference, csharpFront);
    }

    private enum Side { Front, Back }

    private readonly record struct Step(Side Side, string Command);

    private static List<Step> Schedule(Random random, int steps, int burst)
    {
        var schedule = new List<Step>();
        for (var i = 0; i < steps; i++)
        {
            var side = random.Next(2) == 0 ? Side.Front : Side.Back;
            // Now and then a batch, of any size up to twice the burst, as Linux's drivers fill and consume.
            if (random.Next(6) == 0)
            {
                var batch = side == Side.Front
                    ? (random.Next(2) == 0 ? "requests" : "reads")
                    : (random.Next(2) == 0 ? "reads" : "answers");
                schedule.Add(new Step(side, $"{batch} {random.Next(0, (2 * burst) + 1)}"));
                continue;
            }
            var command = side == Side.Front
                ? random.Next(5) switch { 0 or 1 => "request", 2 => "push", 3 => "read", _ => random.Next(2) == 0 ? "final" : "state" }
                : random.Next(5) switch { 0 or 1 => "read", 2 => "response", 3 => "push", _ => random.Next(2) == 0 ? "final" : "state" };
            var repeat = command is "request" or "read" or "response" ? random.Next(1, burst + 1) : 1;
            for (var r = 0; r < repeat; r++)
                schedule.Add(new Step(side, command));
        }
        return schedule;
    }

    private static unsafe List<string> Run(List<Step> schedule, int ringBytes, uint first,
        Func<string, nint, IPeer> makeFront, Func<string, nint, IPeer> makeBack)
    {
        var file = Path.Combine("/dev/shm", $"mirage-ring-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var length = (ringBytes + 4095) / 4096 * 4096;
        using (var f = File.Create(file))
            f.SetLength(length);
        try
        {
            using var mapped = MemoryMappedFile.CreateFromFile(file, FileMode.Open, null, length, MemoryMappedFileAccess.ReadWrite);
            using var view = mapped.CreateViewAccessor(0, length);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            try
            {
                var shared = (nint)(pointer + view.PointerOffset);
                using var front = makeFront(file, shared);
                using var back = makeBack(file, shared);
                var trace = new List<string> { front.Do("init"), back.Do("attach") };
                var unanswered = new Queue<string[]>();
                var nextId = 1u;
                foreach (var step in schedule)
                {
                    var command = step.Command switch
                    {
                        "request" => $"request {nextId} {nextId * 3} {nextId++ % 17}",
                        "response" when unanswered.Count > 0 && unanswered.Peek() is var q =>
                            $"response {q[1]} {uint.Parse(q[2], CultureInfo.InvariantCulture) + uint.Parse(q[3], CultureInfo.InvariantCulture)}",
                        "response" => "response 0 0",
                        _ when step.Side == Side.Front && step.Command.StartsWith("requests ", StringComparison.Ordinal) => $"{step.Command} {nextId}",
                        var other => other,
                    };
                    var reply = (step.Side == Side.Front ? front : back).Do(command);
                    if (step.Side == Side.Back && reply.StartsWith("request ", StringComparison.Ordinal))
                        unanswered.Enqueue(reply.Split(' '));
                    if (step.Side == Side.Back && step.Command == "response" && reply == "ok")
                        unanswered.Dequeue();
                    // A batch of requests read: "requests m" and then id, a and b of each.
                    if (step.Side == Side.Back && reply.StartsWith("requests ", StringComparison.Ordinal))
                    {
                        var words = reply.Split(' ');
                        for (var i = 2; i + 2 < words.Length; i += 3)
                            unanswered.Enqueue(["request", words[i], words[i + 1], words[i + 2]]);
                    }
                    if (step.Side == Side.Back && step.Command.StartsWith("answers ", StringComparison.Ordinal))
                        for (var i = U(reply.Split(' ')[1]); i > 0; i--)
                            unanswered.Dequeue();
                    if (step.Side == Side.Front && step.Command.StartsWith("requests ", StringComparison.Ordinal))
                        nextId += U(reply.Split(' ')[1]);
                    trace.Add($"{step.Side} {command} -> {reply}");
                }
                return trace;
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    private interface IPeer : IDisposable
    {
        string Do(string command);
    }

    private sealed class CPeer : IPeer
    {
        private readonly Process _process;

        public CPeer(CProgram program, string role, string file, int ringBytes, uint first) =>
            _process = program.Start(role, file, ringBytes.ToString(CultureInfo.InvariantCulture), first.ToString(CultureInfo.InvariantCulture));

        public string Do(string command)
        {
            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            var line = _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
            return line ?? throw new InvalidOperationException($"The C peer exited: {_process.StandardError.ReadToEnd()}");
        }

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
                _process.Kill();
            _process.Dispose();
        }
    }

    private sealed unsafe class CSharpFront(nint shared, int ringBytes, uint first) : IPeer
    {
        private FrontRing<TestRequest, TestResponse>? _ring;

        public string Do(string command)
        {
            var words = command.Split(' ');
            switch (words[0])
            {
                case "init":
                    _ring = FrontRing<TestRequest, TestResponse>.Initialise((byte*)shared, ringBytes, first);
                    return $"ok {_ring.Size}";
                case "request":
                    return _ring!.TryWriteRequest(new TestRequest(U(words[1]), U(words[2]), U(words[3]))) ? "ok" : "full";
                case "push":
                    return $"notify {(_ring!.PushRequests() ? 1 : 0)}";
                case "read":
                    return _ring!.TryReadResponse(out var r) ? $"response {r.Id} {r.Sum}" : "none";
                case "requests":
                {
                    var slots = _ring!.ProduceRequests((int)U(words[1]));
                    for (var i = 0u; i < slots.Count; i++)
                    {
                        var id = U(words[2]) + i;
                        slots[(int)i] = new TestRequest(id, id * 3, id % 17);
                    }
                    return $"ok {slots.Count}";
                }
                case "reads":
                {
                    var responses = _ring!.ConsumeResponses((int)U(words[1]));
                    var text = new StringBuilder($"responses {responses.Count}");
                    for (var i = 0; i < responses.Count; i++)
                    {
                        var response = responses[i];
                        text.Append(CultureInfo.InvariantCulture, $" {response.Id} {response.Sum}");
                    }
                    return text.ToString();
                }
                case "final":
                    return $"work {(_ring!.FinalCheckForResponses() ? 1 : 0)}";
                case "state":
                    return $"free {_ring!.FreeRequests} pending {_ring.UnconsumedResponses}";
                default:
                    throw new ArgumentException(command);
            }
        }

        public void Dispose()
        {
        }
    }

    private sealed unsafe class CSharpBack(nint shared, int ringBytes, uint first) : IPeer
    {
        private BackRing<TestRequest, TestResponse>? _ring;

        // Consumed requests not yet answered, oldest first: "answers" answers them in order.
        private readonly Queue<TestRequest> _pending = new();

        public string Do(string command)
        {
            var words = command.Split(' ');
            switch (words[0])
            {
                case "attach":
                    _ring = BackRing<TestRequest, TestResponse>.Attach((byte*)shared, ringBytes, first);
                    return $"ok {_ring.Size}";
                case "read":
                    if (!_ring!.TryReadRequest(out var q))
                        return "none";
                    _pending.Enqueue(q);
                    return $"request {q.Id} {q.A} {q.B}";
                case "response":
                    if (!_ring!.TryWriteResponse(new TestResponse(U(words[1]), U(words[2]))))
                        return "unasked";
                    _pending.Dequeue();
                    return "ok";
                case "reads":
                {
                    var requests = _ring!.ConsumeRequests((int)U(words[1]));
                    var text = new StringBuilder($"requests {requests.Count}");
                    for (var i = 0; i < requests.Count; i++)
                    {
                        var request = requests[i];
                        _pending.Enqueue(request);
                        text.Append(CultureInfo.InvariantCulture, $" {request.Id} {request.A} {request.B}");
                    }
                    return text.ToString();
                }
                case "answers":
                {
                    var answers = _ring!.ProduceResponses((int)U(words[1]));
                    for (var i = 0; i < answers.Count; i++)
                        answers[i] = TestResponse.To(_pending.Dequeue());
                    return $"ok {answers.Count}";
                }
                case "push":
                    return $"notify {(_ring!.PushResponses() ? 1 : 0)}";
                case "final":
                    return $"work {(_ring!.FinalCheckForRequests() ? 1 : 0)}";
                case "state":
                    return $"unconsumed {_ring!.UnconsumedRequests}";
                default:
                    throw new ArgumentException(command);
            }
        }

        public void Dispose()
        {
        }
    }

    private static uint U(string text) => uint.Parse(text, CultureInfo.InvariantCulture);
}
