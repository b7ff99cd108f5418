using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;

namespace Xen.Xenctrl.Tests;

/// <summary>
/// The dispatch of fired ports to channels, as the reader thread drives it, without a device: counters,
/// waiters, closing and cancellation.
/// </summary>
public sealed class PortTableTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_fired_port_completes_its_waiter_with_the_new_counter()
    {
        var table = new PortTable();
        var channel = table.Add(new Port(5)).Channel;
        var wait = table.Find(channel.LocalPort)!.WaitAsync(EventCounter.Initial, default).AsTask();
        Assert.False(wait.IsCompleted);
        table.Dispatch([5]);
        Assert.Equal(new EventCounter(1), await wait.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_wait_behind_the_counter_completes_at_once()
    {
        var table = new PortTable();
        var state = table.Add(new Port(5));
        table.Dispatch([5, 5]);
        var wait = state.WaitAsync(new EventCounter(1), default);
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(new EventCounter(2), await wait);
    }

    [Fact]
    public async Task Events_fired_while_nobody_waits_are_kept_and_coalesced()
    {
        var table = new PortTable();
        var state = table.Add(new Port(9));
        table.Dispatch([9, 9, 9]);
        Assert.Equal(new EventCounter(3), await state.WaitAsync(EventCounter.Initial, default));
    }

    [Fact]
    public async Task Each_port_counts_only_its_own_events()
    {
        var table = new PortTable();
        var a = table.Add(new Port(1));
        var b = table.Add(new Port(2));
        table.Dispatch([1, 2, 1, 77]); // 77 is not bound here (closed meanwhile): ignored
        Assert.Equal(new EventCounter(2), await a.WaitAsync(EventCounter.Initial, default));
        Assert.Equal(new EventCounter(1), await b.WaitAsync(EventCounter.Initial, default));
    }

    [Fact]
    public async Task A_waiter_ahead_of_the_counter_keeps_waiting_until_the_counter_passes_it()
    {
        var table = new PortTable();
        var state = table.Add(new Port(3));
        var wait = state.WaitAsync(new EventCounter(2), default).AsTask();
        table.Dispatch([3, 3]);
        Assert.False(wait.IsCompleted);
        table.Dispatch([3]);
        Assert.Equal(new EventCounter(3), await wait.WaitAsync(Patience));
    }

    [Fact]
    public async Task Removing_a_port_fails_its_waiters_and_later_waits_with_ChannelClosedException()
    {
        var table = new PortTable();
        var state = table.Add(new Port(4));
        var wait = state.WaitAsync(EventCounter.Initial, default).AsTask();
        Assert.Same(state, table.Remove(new Port(4)));
        var e = await Assert.ThrowsAsync<ChannelClosedException>(() => wait.WaitAsync(Patience));
        Assert.Equal(new Channel(new Port(4)), e.Channel);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await state.WaitAsync(EventCounter.Initial, default));
        Assert.Null(table.Find(new Port(4)));
        Assert.Null(table.Remove(new Port(4)));
    }

    [Fact]
    public async Task A_cancelled_wait_fails_with_OperationCanceledException_and_the_next_wait_still_works()
    {
        var table = new PortTable();
        var state = table.Add(new Port(6));
        using var cts = new CancellationTokenSource();
        var wait = state.WaitAsync(EventCounter.Initial, cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Patience));
        var next = state.WaitAsync(EventCounter.Initial, default).AsTask();
        table.Dispatch([6]);
        Assert.Equal(new EventCounter(1), await next.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_wait_with_an_already_cancelled_token_fails_at_once()
    {
        var table = new PortTable();
        var state = table.Add(new Port(6));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await state.WaitAsync(EventCounter.Initial, new CancellationToken(true)));
    }

    [Fact]
    public async Task After_an_overflow_every_port_counts_one_event()
    {
        var table = new PortTable();
        var a = table.Add(new Port(1));
        var b = table.Add(new Port(2));
        table.DispatchAll();
        Assert.Equal(new EventCounter(1), await a.WaitAsync(EventCounter.Initial, default));
        Assert.Equal(new EventCounter(1), await b.WaitAsync(EventCounter.Initial, default));
        Assert.Equal([1u, 2u], table.Snapshot().Order());
    }

    [Fact]
    public void A_port_bound_twice_is_refused()
    {
        var table = new PortTable();
        table.Add(new Port(8));
        Assert.Throws<InvalidOperationException>(() => table.Add(new Port(8)));
    }

    [Fact]
    public async Task Several_waiters_on_one_channel_all_wake()
    {
        var table = new PortTable();
        var state = table.Add(new Port(2));
        var waits = Enumerable.Range(0, 5).Select(_ => state.WaitAsync(EventCounter.Initial, default).AsTask()).ToArray();
        table.Dispatch([2]);
        var results = await Task.WhenAll(waits).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal(new EventCounter(1), r));
    }

    [Fact]
    public async Task A_receiver_that_waits_in_a_loop_sees_every_event_counted_while_the_reader_fires_concurrently()
    {
        var table = new PortTable();
        var state = table.Add(new Port(1));
        const int events = 20_000;
        var reader = Task.Run(() =>
        {
            for (var i = 0; i < events; i++)
                table.Dispatch([1]);
        });
        var seen = EventCounter.Initial;
        while (seen.Value < events)
        {
            var next = await state.WaitAsync(seen, default).AsTask().WaitAsync(Patience);
            Assert.True(next > seen, "the counter only grows");
            seen = next;
        }
        await reader;
        Assert.Equal(new EventCounter(events), seen);
    }

    // Whatever batches the reader reads, each bound port counts exactly its occurrences and ports not
    // bound are ignored.
    [Property(MaxTest = 200, Arbitrary = [typeof(FiredPorts)])]
    public bool The_counter_of_each_port_is_the_number_of_times_it_fired(uint[][] fired)
    {
        var table = new PortTable();
        var bound = new uint[] { 1, 2, 3 };
        var states = bound.Select(p => table.Add(new Port(p))).ToArray();
        foreach (var batch in fired)
            table.Dispatch(batch);
        return bound.Select((port, i) => states[i].Counter.Value == (ulong)fired.Sum(b => b.Count(p => p == port))).All(ok => ok);
    }

    /// <summary>Fired ports: the three bound (1 to 3) and some that are not (0, 4 to 6).</summary>
    public static class FiredPorts
    {
        public static Arbitrary<uint> Port() => Gen.Choose(0, 6).Select(i => (uint)i).ToArbitrary();
    }
}
