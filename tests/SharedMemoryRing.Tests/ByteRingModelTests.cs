using System.Collections.Immutable;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace SharedMemoryRing.Tests;

/// <summary>
/// Model-based test of the byte rings: every ring of the Xenstore and console pages against a queue
/// of bytes. FIFO, nothing lost or duplicated, writes take exactly what fits, and the free-space
/// accounting holds, with indices that start anywhere, also just below <see cref="uint.MaxValue"/>.
/// </summary>
public sealed unsafe class ByteRingModelTests
{
    [Fact]
    public void Every_byte_ring_agrees_with_a_queue_of_bytes_over_random_reads_and_writes() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), new ByteRingMachine().ToProperty());

    internal sealed record Model(int Which, int Size, ImmutableQueue<byte> Queued, int Count, byte Next, object? Expected)
    {
        public override string ToString() => $"ring {Which} of size {Size} holding {Count}";
    }

    internal sealed class Actual : IDisposable
    {
        public Actual(int which, uint first)
        {
            Pages = new GuardedPages(1);
            var page = Pages.Pointer;
            (Ring, var cons, var prod) = which switch
            {
                0 => (new XenstorePage(page).Requests, XenstoreRingLayout.ReqConsOffset, XenstoreRingLayout.ReqProdOffset),
                1 => (new XenstorePage(page).Responses, XenstoreRingLayout.RspConsOffset, XenstoreRingLayout.RspProdOffset),
                2 => (new ConsolePage(page).In, ConsoleRingLayout.InConsOffset, ConsoleRingLayout.InProdOffset),
                _ => (new ConsolePage(page).Out, ConsoleRingLayout.OutConsOffset, ConsoleRingLayout.OutProdOffset),
            };
            Pages.Word(cons) = first;
            Pages.Word(prod) = first;
        }

        public GuardedPages Pages { get; }
        public ByteRing Ring { get; }
        public void Dispose() => Pages.Dispose();
        public override string ToString() => $"cons={Ring.Cons} prod={Ring.Prod}";
    }

    private sealed class ByteRingSetup(int which, uint first) : Setup<Actual, Model>
    {
        public override Actual Actual() => new(which, first);

        public override Model Model() => new(which, which switch { 0 or 1 => 1024, 2 => 1024, _ => 2048 }, [], 0, 0, null);

        public override string ToString() => $"ring {which} starting at {first}";
    }

    private sealed class ByteRingMachine : Machine<Actual, Model>
    {
        public ByteRingMachine() : base(40) { }

        public override Arbitrary<Setup<Actual, Model>> Setup =>
            Arb.From(Gen.Zip(
                    Gen.Choose(0, 3),
                    Gen.OneOf(Gen.Constant(0u), Gen.Choose(0, 3000).Select(d => uint.MaxValue - (uint)d), Gen.Choose(0, int.MaxValue).Select(i => (uint)i)))
                .Select(t => (Setup<Actual, Model>)new ByteRingSetup(t.Item1, t.Item2)));

        public override TearDown<Actual> TearDown => new Disposer();

        public override Gen<Operation<Actual, Model>> Next(Model model) =>
            Gen.OneOf(
                Gen.Choose(0, 1500).Select(n => (Operation<Actual, Model>)new Write(n)),
                Gen.Choose(0, 1500).Select(n => (Operation<Actual, Model>)new Read(n)));
    }

    private sealed class Disposer : TearDown<Actual>
    {
        public override void Actual(Actual actual) => actual.Dispose();
    }

    private static Property Counters(Actual a, Model m) =>
        (a.Ring.Available == m.Count).Label($"available {a.Ring.Available}, model {m.Count}")
        .And((a.Ring.Free == m.Size - m.Count).Label($"free {a.Ring.Free}"));

    private sealed class Write(int length) : Operation<Actual, Model>
    {
        public override Model Run(Model m)
        {
            var fits = Math.Min(length, m.Size - m.Count);
            var queued = m.Queued;
            for (var i = 0; i < fits; i++)
                queued = queued.Enqueue((byte)(m.Next + i));
            return m with { Queued = queued, Count = m.Count + fits, Next = (byte)(m.Next + fits), Expected = (fits, m.Next) };
        }

        public override Property Check(Actual a, Model m)
        {
            var (fits, first) = ((int, byte))m.Expected!;
            var data = new byte[length];
            for (var i = 0; i < length; i++)
                data[i] = (byte)(first + i);
            var written = a.Ring.Write(data);
            return (written == fits).Label($"wrote {written}, {fits} fit").And(Counters(a, m));
        }

        public override string ToString() => $"Write({length})";
    }

    private sealed class Read(int length) : Operation<Actual, Model>
    {
        public override Model Run(Model m)
        {
            var count = Math.Min(length, m.Count);
            var queued = m.Queued;
            var expected = new byte[count];
            for (var i = 0; i < count; i++)
                queued = queued.Dequeue(out expected[i]);
            return m with { Queued = queued, Count = m.Count - count, Expected = expected };
        }

        public override Property Check(Actual a, Model m)
        {
            var expected = (byte[])m.Expected!;
            var buffer = new byte[length];
            var read = a.Ring.Read(buffer);
            return (read == expected.Length && buffer.AsSpan(0, read).SequenceEqual(expected))
                .Label($"read {read} bytes, expected {expected.Length} in order")
                .And(Counters(a, m));
        }

        public override string ToString() => $"Read({length})";
    }
}
