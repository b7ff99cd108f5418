using Xen.Evtchn;

namespace Xen.InHeap.Tests;

/// <summary>The one waiter's rule: completed once by a wake, a close or a cancellation; reused only after its result is read.</summary>
public sealed class EventWaiterTests
{
    private static EventCounter At(ulong value) => new(value);

    // Reads a wait's result once, as awaiting it would, without blocking: every wait read here has completed
    // or must throw.
    private static EventCounter ResultOf(ValueTask<EventCounter> wait) => wait.GetAwaiter().GetResult();

    [Fact]
    public void A_wake_completes_the_waits_it_has_passed_and_leaves_the_rest_parked()
    {
        var waiter = new EventWaiter();
        var early = waiter.WaitAsync(At(1));
        var late = waiter.WaitAsync(At(5));

        waiter.Wake(At(3));

        Assert.True(early.IsCompletedSuccessfully);
        Assert.Equal(At(3), ResultOf(early));
        Assert.False(late.IsCompleted);
        Assert.Equal(1, waiter.Count);
    }

    [Fact]
    public async Task Cancelling_a_wait_fails_it_with_its_token_and_takes_it_off_the_list()
    {
        var waiter = new EventWaiter();
        using var cts = new CancellationTokenSource();
        var wait = waiter.WaitAsync(At(0), cts.Token);
        Assert.Equal(1, waiter.Count);

        cts.Cancel();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask());
        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.Equal(0, waiter.Count);
    }

    [Fact]
    public void A_wait_with_a_token_already_cancelled_fails_at_once_and_parks_nothing()
    {
        var waiter = new EventWaiter();
        var wait = waiter.WaitAsync(At(0), new CancellationToken(canceled: true));
        Assert.True(wait.IsCanceled);
        Assert.Equal(0, waiter.Count);
    }

    [Fact]
    public void A_token_cancelled_after_its_wait_was_woken_does_not_touch_the_next_wait()
    {
        var waiter = new EventWaiter();
        using var cts = new CancellationTokenSource();
        var first = waiter.WaitAsync(At(0), cts.Token);
        waiter.Wake(At(1));
        Assert.Equal(At(1), ResultOf(first)); // read: the wait's object goes back to the pool

        var next = waiter.WaitAsync(At(1));
        cts.Cancel();

        Assert.False(next.IsCompleted);
        Assert.Equal(1, waiter.Count);
        waiter.Wake(At(2));
        Assert.Equal(At(2), ResultOf(next));
    }

    [Fact]
    public void A_completed_wait_whose_result_was_not_read_is_not_reused()
    {
        var waiter = new EventWaiter();
        var first = waiter.WaitAsync(At(0));
        waiter.Wake(At(1));

        var second = waiter.WaitAsync(At(1));

        Assert.False(second.IsCompleted);
        Assert.Equal(At(1), ResultOf(first));
        waiter.Wake(At(2));
        Assert.Equal(At(2), ResultOf(second));
    }

    [Fact]
    public void Reading_a_result_twice_throws_and_does_not_put_the_wait_in_the_pool_twice()
    {
        var waiter = new EventWaiter();
        var wait = waiter.WaitAsync(At(0));
        waiter.Wake(At(1));
        var copy = wait;
        Assert.Equal(At(1), ResultOf(wait));
        Assert.Throws<InvalidOperationException>(() => ResultOf(copy));

        var a = waiter.WaitAsync(At(5));
        var b = waiter.WaitAsync(At(7));
        waiter.Wake(At(6));

        Assert.Equal(At(6), ResultOf(a));
        Assert.False(b.IsCompleted);
        Assert.Equal(1, waiter.Count);
    }

    [Fact]
    public void Reading_a_result_before_the_wake_throws_and_leaves_the_wait_parked()
    {
        var waiter = new EventWaiter();
        var wait = waiter.WaitAsync(At(0));
        var copy = wait;
        Assert.Throws<InvalidOperationException>(() => ResultOf(copy));

        var other = waiter.WaitAsync(At(3));
        waiter.Wake(At(1));

        Assert.Equal(At(1), ResultOf(wait));
        Assert.False(other.IsCompleted);
    }

    [Fact]
    public void A_steady_wait_wake_and_read_allocates_nothing()
    {
        var waiter = new EventWaiter();
        ulong counter = 0;
        using var cts = new CancellationTokenSource();
        void Round()
        {
            var wait = waiter.WaitAsync(At(counter), cts.Token);
            waiter.Wake(At(++counter));
            _ = wait.GetAwaiter().GetResult();
        }
        Round(); // fills the pool

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
            Round();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_wake_before_the_wait_is_seen_by_the_receiver_that_reads_the_counter_after_parking()
    {
        // The protocol every backend follows: count, then wake; park, then read again.
        var waiter = new EventWaiter();
        ulong counter = 0;
        Interlocked.Increment(ref counter);
        waiter.Wake(At(counter)); // nobody parked yet

        var wait = waiter.WaitAsync(At(0));
        Assert.False(wait.IsCompleted);
        waiter.Wake(At(Volatile.Read(ref counter)));

        Assert.Equal(At(1), ResultOf(wait));
        Assert.Equal(0, waiter.Count);
    }

    [Fact]
    public async Task Close_reports_events_before_the_final_counter_and_fails_the_rest_now_and_later()
    {
        var waiter = new EventWaiter();
        var behind = waiter.WaitAsync(At(1));
        var caughtUp = waiter.WaitAsync(At(2));
        var error = new PeerClosedException(new Channel(new Port(1)));

        waiter.Close(error, At(2));

        Assert.Equal(At(2), ResultOf(behind));
        Assert.Same(error, await Assert.ThrowsAsync<PeerClosedException>(() => caughtUp.AsTask()));
        Assert.Equal(At(2), ResultOf(waiter.WaitAsync(At(0))));
        Assert.Same(error, await Assert.ThrowsAsync<PeerClosedException>(() => waiter.WaitAsync(At(2)).AsTask()));
    }

    [Fact]
    public async Task The_first_close_wins()
    {
        var waiter = new EventWaiter();
        var first = new ChannelClosedException(new Channel(new Port(1)));
        waiter.Close(first);
        waiter.Close(new PeerClosedException(new Channel(new Port(1))));
        Assert.Same(first, await Assert.ThrowsAsync<ChannelClosedException>(() => waiter.WaitAsync(At(0)).AsTask()));
    }

    [Fact]
    public async Task A_wake_racing_a_cancellation_completes_each_wait_exactly_once()
    {
        var waiter = new EventWaiter();
        ulong counter = 0;
        var woken = 0;
        var cancelled = 0;
        for (var i = 0; i < 2000; i++)
        {
            using var cts = new CancellationTokenSource();
            var wait = waiter.WaitAsync(At(counter), cts.Token);
            var next = ++counter;
            using var start = new Barrier(2);
            var canceller = Task.Run(() =>
            {
                start.SignalAndWait();
                cts.Cancel();
            });
            start.SignalAndWait();
            waiter.Wake(At(next));
            await canceller;
            try
            {
                Assert.Equal(At(next), await wait);
                woken++;
            }
            catch (OperationCanceledException e) when (e.CancellationToken == cts.Token)
            {
                cancelled++;
            }
            Assert.Equal(0, waiter.Count);
        }
        Assert.Equal(2000, woken + cancelled);

        // After all that the pooled waits still park and wake as new.
        var last = waiter.WaitAsync(At(counter));
        Assert.False(last.IsCompleted);
        waiter.Wake(At(counter + 1));
        Assert.Equal(At(counter + 1), await last);
    }
}
