using System.Collections.Immutable;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Netif.Links;

namespace Netif.Tests;

/// <summary>
/// Model-based test of frame transfer: a netfront and a netback over a loopback link against a model
/// that is just the queue of frames in flight. Every frame comes back once, in order, unchanged, with
/// its offloads, and the counters agree with the model after every step.
/// </summary>
public sealed class NetifModelTests
{
    [Fact]
    public void Netfront_and_netback_agree_with_a_fifo_of_frames_in_flight() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), new FrameMachine().ToProperty());

    // At most this many frames in flight: each takes at most 4 slots, so the rings never fill.
    private const int MaxInFlight = 48;

    internal sealed record Sent(byte[] Frame, FrameOffload Offload)
    {
        public override string ToString() => $"{Frame.Length} bytes {Offload}";
    }

    internal sealed record Model(ImmutableQueue<Sent> InFlight, int Count, long SentFrames, long SentBytes, long Received, Sent? Expected)
    {
        public override string ToString() => $"in flight {Count}, sent {SentFrames}, received {Received}";
    }

    internal sealed class Harness : IDisposable
    {
        public InHeapNet Net { get; } = new(NetworkLink.CreateLoopback(), new NetbackFeatures { Mtu = 9000 });
        public byte[] Buffer { get; } = new byte[Frames.MaxFrame];
        public void Dispose() => Net.DisposeAsync().AsTask().GetAwaiter().GetResult();
        public override string ToString() => Net.Netfront.Statistics.ToString();
    }

    private sealed class FrameSetup : Setup<Harness, Model>
    {
        public override Harness Actual() => new();
        public override Model Model() => new([], 0, 0, 0, 0, null);
    }

    private sealed class FrameMachine : Machine<Harness, Model>
    {
        public FrameMachine() : base(40) { }

        public override Arbitrary<Setup<Harness, Model>> Setup => Arb.From(Gen.Constant((Setup<Harness, Model>)new FrameSetup()));

        public override TearDown<Harness> TearDown => new Disposer();

        private static readonly Gen<FrameOffload> Offloads = Gen.OneOf(
            Gen.Elements(FrameChecksum.None, FrameChecksum.Validated, FrameChecksum.Blank).Select(c => new FrameOffload(c)),
            Gen.Elements(NetifGsoType.TcpV4, NetifGsoType.TcpV6).Zip(Gen.Choose(1, 9000))
                .Select(g => new FrameOffload(FrameChecksum.Blank, g.Item1, (ushort)g.Item2)));

        public override Gen<Operation<Harness, Model>> Next(Model model) =>
            Gen.Frequency(
                (3, Gen.Choose(Frames.EthernetHeader, 9000).Zip(Gen.Choose(0, int.MaxValue)).Zip(Offloads)
                    .Select(t => (Operation<Harness, Model>)new Send(t.Item1.Item1, t.Item1.Item2, t.Item2))),
                (2, Gen.Constant<Operation<Harness, Model>>(new Receive())));
    }

    private sealed class Disposer : TearDown<Harness>
    {
        public override void Actual(Harness actual) => actual.Dispose();
    }

    private static Property Counters(Harness h, Model m)
    {
        var front = h.Net.Netfront.Statistics;
        return (front.TxFrames == m.SentFrames).Label($"tx frames {front.TxFrames}, model {m.SentFrames}")
            .And((front.TxBytes == m.SentBytes).Label($"tx bytes {front.TxBytes}, model {m.SentBytes}"))
            .And((front.RxFrames == m.Received).Label($"rx frames {front.RxFrames}, model {m.Received}"))
            .And((front.TotalDrops == 0 && h.Net.Netback.Statistics.TotalDrops == 0).Label("no drops"));
    }

    private sealed class Send(int length, int seed, FrameOffload offload) : Operation<Harness, Model>
    {
        private readonly Sent _sent = new(TestFrames.Make(length, seed), offload);

        public override bool Pre(Model m) => m.Count < MaxInFlight;

        public override Model Run(Model m) =>
            m with { InFlight = m.InFlight.Enqueue(_sent), Count = m.Count + 1, SentFrames = m.SentFrames + 1, SentBytes = m.SentBytes + length, Expected = null };

        public override Property Check(Harness h, Model m)
        {
            var ok = h.Net.Queue.TrySend(_sent.Frame, _sent.Offload);
            h.Net.Queue.Flush();
            return ok.Label("a ring with room takes the frame").And(Counters(h, m));
        }

        public override string ToString() => $"Send({length} bytes, {offload})";
    }

    private sealed class Receive : Operation<Harness, Model>
    {
        public override Model Run(Model m)
        {
            if (m.InFlight.IsEmpty)
                return m with { Expected = null };
            var rest = m.InFlight.Dequeue(out var head);
            return m with { InFlight = rest, Count = m.Count - 1, Received = m.Received + 1, Expected = head };
        }

        public override Property Check(Harness h, Model m)
        {
            if (m.Expected is not { } expected)
                return (!h.Net.Queue.TryReceive(h.Buffer, out _)).Label("nothing in flight, nothing received").And(Counters(h, m));
            var got = h.Net.Queue.ReceiveAsync(h.Buffer, Timeouts.Short).AsTask().GetAwaiter().GetResult();
            return h.Buffer.AsSpan(0, got.Length).SequenceEqual(expected.Frame).Label($"received {got.Length} bytes, expected {expected}")
                .And((got.Offload == expected.Offload).Label($"offload {got.Offload}, expected {expected.Offload}"))
                .And(Counters(h, m));
        }

        public override string ToString() => "Receive";
    }
}
