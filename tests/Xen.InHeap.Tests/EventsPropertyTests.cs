using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;

namespace Xen.InHeap.Tests;

/// <summary>The counter's contract, against random interleavings: no event is ever lost or invented.</summary>
public sealed class EventsPropertyTests
{
    public enum Step { Send, ReceiveA, ReceiveB }

    /// <summary>How many threads send, and how many sends each makes.</summary>
    public readonly record struct Shape(int Senders, int PerSender);

    /// <summary>1 to 3 concurrent senders of up to 200 sends each.</summary>
    public static class Shapes
    {
        public static Arbitrary<Shape> Shape() =>
            Gen.Choose(1, 3).Zip(Gen.Choose(0, 200), (senders, perSender) => new Shape(senders, perSender)).ToArbitrary();
    }

    [Property(MaxTest = 300)]
    public bool Random_interleavings_of_sends_and_two_receivers_never_lose_or_invent_events(Step[] steps) => RunModel(steps);

    // Steps run one at a time, so the model knows exactly what each wait must see: a receiver whose
    // last-seen counter is behind the sends completes at once with the count of sends; otherwise it
    // stays pending until the next send, which completes it with the new count.
    private static bool RunModel(IList<Step> steps)
    {
        using var hub = new InHeapEventHub();
        using var receiverDomain = hub.Open(1);
        using var senderDomain = hub.Open(2);
        var (port, server) = receiverDomain.Listen(2);
        var client = senderDomain.Connect(1, port);
        ulong sent = 0;
        var seen = new ulong[2];
        var pending = new ValueTask<EventCounter>?[2];
        foreach (var step in steps)
        {
            if (step == Step.Send)
            {
                senderDomain.Send(client);
                sent++;
                for (var r = 0; r < 2; r++)
                {
                    if (pending[r] is not { } wait)
                        continue;
                    if (!wait.IsCompletedSuccessfully || wait.GetAwaiter().GetResult().Value != sent)
                        return false;
                    seen[r] = sent;
                    pending[r] = null;
                }
            }
            else
            {
                var r = step == Step.ReceiveA ? 0 : 1;
                if (pending[r] is not null)
                    continue;   // still waiting: a receiver waits once at a time
                var wait = receiverDomain.RecvAsync(server, new EventCounter(seen[r]));
                if (sent > seen[r])
                {
                    if (!wait.IsCompletedSuccessfully || wait.GetAwaiter().GetResult().Value != sent)
                        return false;
                    seen[r] = sent;
                }
                else if (wait.IsCompleted)
                {
                    return false;   // an invented event
                }
                else
                {
                    pending[r] = wait;
                }
            }
        }
        // Nothing left over: close, and the pending waits fail rather than hang.
        receiverDomain.Close(server);
        foreach (var wait in pending)
        {
            if (wait is { } w && !(w.IsFaulted && w.AsTask().Exception!.InnerException is ChannelClosedException))
                return false;
        }
        return true;
    }

    [Property(MaxTest = 40, Arbitrary = [typeof(Shapes)])]
    public bool Concurrent_senders_and_a_receiver_see_exactly_the_events_sent(Shape shape)
    {
        var (senders, perSender) = shape;
        using var hub = new InHeapEventHub();
        using var receiverDomain = hub.Open(1);
        using var senderDomain = hub.Open(2);
        var (port, server) = receiverDomain.Listen(2);
        var client = senderDomain.Connect(1, port);
        var total = (ulong)(senders * perSender);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var receiver = Task.Run(async () =>
        {
            var seen = EventCounter.Initial;
            while (seen.Value < total)
            {
                var next = await receiverDomain.RecvAsync(server, seen, timeout.Token);
                if (next <= seen || next.Value > total)
                    return false;   // went backwards or invented an event
                seen = next;
            }
            return seen.Value == total;
        });
        var sending = Enumerable.Range(0, senders).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < perSender; i++)
                senderDomain.Send(client);
        })).ToArray();
        Task.WaitAll(sending, timeout.Token);
        if (!receiver.Wait(TimeSpan.FromSeconds(20)) || !receiver.Result)
            return false;
        // Nothing more than was sent: a wait past the total does not complete.
        return !receiverDomain.RecvAsync(server, new EventCounter(total)).IsCompleted;
    }
}
