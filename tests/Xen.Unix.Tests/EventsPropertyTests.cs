using FsCheck;
using FsCheck.Fluent;
using Xen.Evtchn;
using Xen.Evtchn.Unix;

namespace Xen.Unix.Tests;

/// <summary>The counter of each end equals the number of sends of the other end, whatever the interleaving.</summary>
public sealed class EventsPropertyTests
{
    [Fact]
    public void Each_ends_counter_counts_exactly_the_peers_sends()
    {
        using var root = new TempRoot();
        using var one = UnixEvents.Create(1, root.Path);
        using var two = UnixEvents.Create(2, root.Path);
        // Each run: a fresh channel and a sequence of steps; 0 = one sends, 1 = two sends,
        // 2 = one checks its counter, 3 = two checks its counter.
        var property = Prop.ForAll(Gen.Choose(0, 3).ArrayOf().ToArbitrary(), steps =>
        {
            var (port, server) = one.Listen(2);
            var client = two.Connect(1, port);
            ulong sentByOne = 0, sentByTwo = 0;
            try
            {
                foreach (var step in steps)
                {
                    switch (step)
                    {
                        case 0: one.Send(server); sentByOne++; break;
                        case 1: two.Send(client); sentByTwo++; break;
                        case 2: Expect(one, server, sentByTwo); break;
                        default: Expect(two, client, sentByOne); break;
                    }
                }
                Expect(one, server, sentByTwo);
                Expect(two, client, sentByOne);
            }
            finally
            {
                one.Close(server);
                two.Close(client);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), property);
    }

    /// <summary>Past every earlier value the counter is reported at once; at its own value a wait stays pending.</summary>
    private static void Expect(UnixEvents events, Channel channel, ulong expected)
    {
        if (expected > 0)
        {
            var seen = events.RecvAsync(channel, new EventCounter(expected - 1));
            Assert.True(seen.IsCompletedSuccessfully);
            Assert.Equal(expected, seen.Result.Value);
        }
        using var cancel = new CancellationTokenSource();
        var pending = events.RecvAsync(channel, new EventCounter(expected), cancel.Token);
        Assert.False(pending.IsCompleted);
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => pending.AsTask().GetAwaiter().GetResult());
    }
}
