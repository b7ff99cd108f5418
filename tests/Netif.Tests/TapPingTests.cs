using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Netif.Ipv4;
using Netif.Links;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Netif.Tests;

/// <summary>
/// Linux's own ping against a netfront: a TAP interface in a private network namespace, a netback on
/// it, a netfront answering ARP and ICMP echo for 10.0.0.2. In one process over the in-heap backends.
/// Runs alone: ping counts a reply later than twice the slowest round trip as lost, and the
/// property tests that block pool threads would otherwise delay replies.
/// </summary>
[Collection(nameof(Alone))]
public sealed class TapPingTests
{
    [RootFact]
    public async Task Linux_pings_a_netfront_through_a_tap_with_no_loss()
    {
        var id = Environment.ProcessId % 100000;
        var ns = $"mnetif{id}";
        var tap = $"mtap{id}";
        using var events = new InHeapEventHub();
        using var grants = new InHeapGrantHub();
        using var back = InHeapDomain.Open(events, grants, 0);
        using var front = InHeapDomain.Open(events, grants, 1);
        Assert.Equal(0, Shell.Run($"ip netns add {ns}").Code);
        try
        {
            using var link = TapLink.Open(tap);
            var setup = Shell.Run($"ip link set {tap} netns {ns} && ip -n {ns} link set lo up && ip -n {ns} addr add 10.0.0.1/24 dev {tap} && ip -n {ns} link set {tap} up");
            Assert.True(setup.Code == 0, setup.Output);
            var offered = new NetbackFeatures();
            using var netfront = Netfront<InHeapEvents, InHeapMemory>.Create(front.Events, front.Memory, 0, offered);
            await using var netback = Netback<InHeapEvents, InHeapMemory>.Attach(back.Events, back.Memory, netfront.Rendezvous, link);
            var responder = new Ipv4Responder(netfront.Mac, IPAddress.Parse("10.0.0.2"));
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var queue = netfront.Queues[0];
            var answering = Task.Run(async () =>
            {
                var buffer = new byte[Frames.MaxFrame];
                var reply = new byte[Frames.MaxFrame];
                try
                {
                    while (true)
                    {
                        var frame = await queue.ReceiveAsync(buffer, stop.Token);
                        var n = responder.TryAnswer(buffer.AsSpan(0, frame.Length), reply);
                        if (n > 0)
                            await queue.SendAsync(reply.AsMemory(0, n), cancellationToken: stop.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
            // Until 20 replies have come (-w 30), not 20 requests then a wait: once it has replies, ping waits
            // only twice the slowest round trip for the last ones (-W matters only before the first) and
            // counts a later one as lost, and on a loaded 2-core machine a reply can stall longer than that.
            // Ping sends more requests while it waits, so a lost one shows as a missing sequence number among
            // the first 20, and the last few may be in flight when it stops. On a thread of its own, so that
            // the blocking wait takes no pool thread from the drivers.
            var ping = await Task.Factory.StartNew(() => Shell.Run($"ip netns exec {ns} ping -c 20 -w 30 -i 0.05 10.0.0.2"), TaskCreationOptions.LongRunning);
            await stop.CancelAsync();
            await answering;
            Assert.True(ping.Code == 0, ping.Output);
            var answered = Regex.Matches(ping.Output, @"bytes from 10\.0\.0\.2: icmp_seq=(\d+)").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            Assert.True(Enumerable.Range(1, 20).All(answered.Contains), ping.Output);
            Assert.DoesNotContain("DUP!", ping.Output, StringComparison.Ordinal);
            var sent = int.Parse(Regex.Match(ping.Output, @"(\d+) packets transmitted").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.InRange(responder.EchoReplies, answered.Count, sent);
        }
        finally
        {
            Shell.Run($"ip netns del {ns}");
        }
    }
}

/// <summary>Tests that run with no other test beside them.</summary>
[CollectionDefinition(nameof(Alone), DisableParallelization = true)]
public sealed class Alone;
