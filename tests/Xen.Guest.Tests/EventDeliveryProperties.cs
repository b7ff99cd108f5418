using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xen.Evtchn;

namespace Xen.Guest.Tests;

/// <summary>The 2-level delivery ABI against random schedules: every raised event is dispatched exactly once,
/// masked ports are not dispatched until unmasked, and then are.</summary>
public sealed class EventDeliveryProperties
{
    public enum Kind { Send, Mask, Unmask }

    public readonly record struct Step(Kind Kind, int Channel);

    /// <summary>How many threads send, and how many sends each makes.</summary>
    public readonly record struct Shape(int Threads, int SendsPerThread);

    /// <summary>Steps on one of three channels, sends twice as likely as each of the others; and
    /// 2 to 4 concurrent senders of 1 to 300 sends each.</summary>
    public static class Schedules
    {
        public static Arbitrary<Step> Step() =>
            Gen.Elements(Kind.Send, Kind.Send, Kind.Mask, Kind.Unmask)
                .Zip(Gen.Choose(0, 2), (kind, channel) => new Step(kind, channel))
                .ToArbitrary();

        public static Arbitrary<Shape> Shape() =>
            Gen.Choose(2, 4).Zip(Gen.Choose(1, 300), (threads, sends) => new Shape(threads, sends)).ToArbitrary();
    }

    [Property(MaxTest = 60, Arbitrary = [typeof(Schedules)])]
    public bool Sends_masks_and_unmasks_follow_the_pending_and_mask_model(Step[] steps) => RunModel(steps);

    // One step at a time, so the model is exact: a send to an unmasked port is dispatched at once (the
    // simulated upcall runs before the send returns); a send to a masked port leaves it pending, and
    // more sends coalesce; unmasking a pending port dispatches it once.
    private static bool RunModel(IList<Step> steps)
    {
        using var pair = new GuestPair();
        var channels = ChannelsInThreeWords(pair);
        var counter = new ulong[3];
        var pending = new bool[3];
        var masked = new bool[3];
        foreach (var step in steps)
        {
            var (server, client) = channels[step.Channel];
            switch (step.Kind)
            {
                case Kind.Send:
                    pair.Two.Events.Send(client);
                    if (masked[step.Channel])
                        pending[step.Channel] = true;
                    else
                        counter[step.Channel]++;
                    break;
                case Kind.Mask:
                    pair.One.Mask(server.LocalPort);
                    masked[step.Channel] = true;
                    break;
                case Kind.Unmask:
                    Assert.Equal(0, pair.One.Unmask(server.LocalPort));
                    masked[step.Channel] = false;
                    if (pending[step.Channel])
                        counter[step.Channel]++;
                    pending[step.Channel] = false;
                    break;
            }
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(counter[i], pair.One.Counter(channels[i].Server));
                Assert.Equal(pending[i], pair.One.Domain.IsPending(channels[i].Server.LocalPort.Value));
            }
        }
        return true;
    }

    [Property(MaxTest = 20, Arbitrary = [typeof(Schedules)])]
    public void Under_concurrent_senders_every_raised_event_is_dispatched_exactly_once(Shape shape)
    {
        var (threads, sendsPerThread) = shape;
        using var pair = new GuestPair();
        var channels = ChannelsInThreeWords(pair);
        var before = channels.Select(c => pair.One.Counter(c.Server)).ToArray();
        using var start = new Barrier(threads);
        var senders = Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < sendsPerThread; i++)
                pair.Two.Events.Send(channels[(t + i) % 3].Client);
        })).ToArray();
        Assert.True(Task.WaitAll(senders, TimeSpan.FromSeconds(30)));

        var total = 0UL;
        for (var i = 0; i < 3; i++)
        {
            var port = channels[i].Server.LocalPort.Value;
            var dispatched = pair.One.Counter(channels[i].Server) - before[i];
            Assert.False(pair.One.Domain.IsPending(port)); // nothing left undelivered
            Assert.Equal((ulong)pair.One.Domain.Raised(port), dispatched); // no loss, no double count
            total += dispatched;
        }
        Assert.InRange(total, 3UL, (ulong)(threads * sendsPerThread));
    }

    /// <summary>Three connected channels whose server ports lie in different words of the bitmaps.</summary>
    private static (Channel Server, Channel Client)[] ChannelsInThreeWords(GuestPair pair)
    {
        var picked = new List<(Channel, Channel)>();
        for (var word = 0; picked.Count < 3;)
        {
            var (server, client) = pair.Connect();
            if (server.LocalPort.Value / 64 == (uint)word)
            {
                picked.Add((server, client));
                word++;
            }
        }
        return [.. picked];
    }
}
