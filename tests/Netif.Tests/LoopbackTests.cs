using FsCheck;
using FsCheck.Fluent;
using Netif.Links;

namespace Netif.Tests;

/// <summary>Frames from a netfront through a netback with a loopback link and back, in one process.</summary>
public sealed class LoopbackTests
{
    [Fact]
    public async Task A_sent_frame_comes_back_unchanged()
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback(), new NetbackFeatures { Mtu = 9000 });
        var frame = TestFrames.Make(1514, 1);
        await net.Queue.SendAsync(frame, cancellationToken: Timeouts.Short);
        var buffer = new byte[Frames.MaxFrame];
        var got = await net.Queue.ReceiveAsync(buffer, Timeouts.Short);
        Assert.Equal(frame, buffer[..got.Length]);
    }

    [Fact]
    public async Task A_frame_over_several_pages_comes_back_unchanged()
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback(), new NetbackFeatures { Mtu = 9000 });
        var frame = TestFrames.Make(9000 + Frames.EthernetHeader, 2);
        await net.Queue.SendAsync(frame, cancellationToken: Timeouts.Short);
        var buffer = new byte[Frames.MaxFrame];
        var got = await net.Queue.ReceiveAsync(buffer, Timeouts.Short);
        Assert.Equal(frame, buffer[..got.Length]);
    }

    [Theory]
    [InlineData(NetifGsoType.TcpV4, FrameChecksum.Blank)]
    [InlineData(NetifGsoType.TcpV6, FrameChecksum.Blank)]
    [InlineData(NetifGsoType.None, FrameChecksum.Validated)]
    [InlineData(NetifGsoType.None, FrameChecksum.None)]
    public async Task Gso_and_checksum_flags_travel_both_ways(NetifGsoType gso, FrameChecksum checksum)
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback());
        var offload = new FrameOffload(checksum, gso, gso == NetifGsoType.None ? (ushort)0 : (ushort)1448);
        var frame = TestFrames.Make(gso == NetifGsoType.None ? 600 : 60_000, 3);
        await net.Queue.SendAsync(frame, offload, Timeouts.Short);
        var buffer = new byte[Frames.MaxFrame];
        var got = await net.Queue.ReceiveAsync(buffer, Timeouts.Short);
        Assert.Equal(offload, got.Offload);
        Assert.Equal(frame, buffer[..got.Length]);
    }

    [Fact]
    public async Task A_largest_gso_frame_of_65535_bytes_comes_back()
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback());
        var frame = TestFrames.Make(Frames.MaxFrame, 4);
        var offload = new FrameOffload(FrameChecksum.Blank, NetifGsoType.TcpV4, 1448);
        await net.Queue.SendAsync(frame, offload, Timeouts.Short);
        var buffer = new byte[Frames.MaxFrame];
        var got = await net.Queue.ReceiveAsync(buffer, Timeouts.Short);
        Assert.Equal(frame, buffer[..got.Length]);
    }

    [Fact]
    public async Task Random_frames_of_60_to_9000_bytes_come_back_in_order_and_unchanged()
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback(), new NetbackFeatures { Mtu = 9000 });
        var gen = Gen.Choose(60, 9000).Zip(Gen.Choose(0, int.MaxValue)).ListOf().Where(l => l.Count > 0);
        var buffer = new byte[Frames.MaxFrame];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30), Prop.ForAll(gen.ToArbitrary(), frames =>
        {
            var sent = frames.Select(f => TestFrames.Make(f.Item1, f.Item2)).ToList();
            var receiver = Task.Run(async () =>
            {
                var got = new List<byte[]>();
                while (got.Count < sent.Count)
                {
                    var frame = await net.Queue.ReceiveAsync(buffer, Timeouts.Short);
                    got.Add(buffer[..frame.Length]);
                }
                return got;
            });
            foreach (var frame in sent)
                net.Queue.SendAsync(frame, cancellationToken: Timeouts.Short).AsTask().GetAwaiter().GetResult();
            var received = receiver.GetAwaiter().GetResult();
            return received.Count == sent.Count && received.Zip(sent).All(p => p.First.AsSpan().SequenceEqual(p.Second));
        }));
        Assert.Equal(0, net.Netfront.Statistics.TotalDrops);
        Assert.Equal(0, net.Netback.Statistics.TotalDrops);
    }

    [Fact]
    public async Task Thousands_of_frames_in_batches_pass_with_ring_full_waits_and_no_loss()
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback(capacity: 64), new NetbackFeatures { Mtu = 9000 });
        const int count = 5000;
        var receiver = Task.Run(async () =>
        {
            var buffer = new byte[Frames.MaxFrame];
            for (var i = 0; i < count; i++)
            {
                var got = await net.Queue.ReceiveAsync(buffer, Timeouts.Short);
                Assert.Equal(60 + (i % 3000), got.Length);
                Assert.Equal((byte)i, buffer[20]);
            }
        });
        var frame = new byte[Frames.MaxFrame];
        for (var i = 0; i < count; i++)
        {
            frame[20] = (byte)i;
            while (!net.Queue.TrySend(frame.AsSpan(0, 60 + (i % 3000))))
            {
                net.Queue.Flush();
                await net.Queue.WaitToSendAsync(Timeouts.Short);
            }
            if (i % 16 == 15)
                net.Queue.Flush();
        }
        net.Queue.Flush();
        await receiver.WaitAsync(Timeouts.Short);
        var front = net.Netfront.Statistics;
        Assert.Equal(count, front.TxFrames);
        Assert.Equal(count, front.RxFrames);
        Assert.Equal(0, front.TotalDrops);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_queues_with_split_or_shared_event_channels_both_carry_frames(bool split)
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback(),
            new NetbackFeatures { MaxQueues = 2, SplitEventChannels = split },
            new NetfrontOptions { Queues = 2 });
        Assert.Equal(2, net.Netfront.Queues.Count);
        Assert.All(net.Netfront.Rendezvous.Queues, q => Assert.Equal(split, q.SplitEventChannels));
        const int perQueue = 200;
        var received = 0;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(Timeouts.Short);
        var receivers = net.Netfront.Queues.Select(q => Task.Run(async () =>
        {
            var buffer = new byte[Frames.MaxFrame];
            try
            {
                while (true)
                {
                    await q.ReceiveAsync(buffer, done.Token);
                    if (Interlocked.Increment(ref received) == 2 * perQueue)
                        await done.CancelAsync();
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToList();
        var frame = TestFrames.Make(100, 5);
        foreach (var q in net.Netfront.Queues)
            for (var i = 0; i < perQueue; i++)
                await q.SendAsync(frame, cancellationToken: Timeouts.Short);
        await Task.WhenAll(receivers);
        Assert.Equal(2 * perQueue, Volatile.Read(ref received));
        Assert.Equal(2 * perQueue, net.Netback.Statistics.TxFrames);
    }
}
