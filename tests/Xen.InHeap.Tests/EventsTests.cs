using Xen.Evtchn;
using Xen.Evtchn.InHeap;

namespace Xen.InHeap.Tests;

public sealed class EventsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly InHeapEventHub _hub = new();
    private readonly InHeapEvents _dom1;
    private readonly InHeapEvents _dom2;

    public EventsTests()
    {
        _dom1 = _hub.Open(1);
        _dom2 = _hub.Open(2);
    }

    public void Dispose() => _hub.Dispose();

    private (Channel Server, Channel Client) Pair()
    {
        var (port, server) = _dom1.Listen(remoteDomain: 2);
        var client = _dom2.Connect(remoteDomain: 1, port);
        return (server, client);
    }

    [Fact]
    public void Ports_start_at_1_and_each_listen_gets_a_new_one()
    {
        var (first, channel) = _dom1.Listen(2);
        var (second, _) = _dom1.Listen(2);
        Assert.Equal(1u, first.Value);
        Assert.Equal(2u, second.Value);
        Assert.Equal(first, channel.LocalPort);
    }

    [Fact]
    public void A_closed_port_is_not_reused()
    {
        var (first, channel) = _dom1.Listen(2);
        _dom1.Close(channel);
        var (second, _) = _dom1.Listen(2);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Connect_to_a_port_that_does_not_exist_is_not_bound()
    {
        var e = Assert.Throws<PortNotBoundException>(() => _dom2.Connect(1, new Port(42)));
        Assert.Equal(42u, e.Port.Value);
        Assert.Equal((ushort)1, e.RemoteDomain);
    }

    [Fact]
    public void Connect_to_a_port_offered_to_another_domain_is_not_bound()
    {
        using var dom3 = _hub.Open(3);
        var (port, _) = _dom1.Listen(remoteDomain: 2);
        Assert.Throws<PortNotBoundException>(() => dom3.Connect(1, port));
    }

    [Fact]
    public void Connect_to_a_port_already_connected_is_not_bound()
    {
        var (port, _) = _dom1.Listen(remoteDomain: 2);
        _dom2.Connect(1, port);
        Assert.Throws<PortNotBoundException>(() => _dom2.Connect(1, port));
    }

    [Fact]
    public void Connect_to_a_closed_port_is_not_bound()
    {
        var (port, channel) = _dom1.Listen(remoteDomain: 2);
        _dom1.Close(channel);
        Assert.Throws<PortNotBoundException>(() => _dom2.Connect(1, port));
    }

    [Fact]
    public void Connect_to_a_domain_that_is_not_there_is_not_bound()
    {
        var e = Assert.Throws<PortNotBoundException>(() => _dom2.Connect(remoteDomain: 9, new Port(1)));
        Assert.Contains("not there", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_domain_may_connect_to_its_own_port()
    {
        var (port, server) = _dom1.Listen(remoteDomain: 1);
        var client = _dom1.Connect(1, port);
        _dom1.Send(client);
        Assert.Equal(1ul, Done(_dom1.RecvAsync(server, EventCounter.Initial)).Value);
    }

    [Fact]
    public async Task A_send_before_the_peer_connects_is_dropped()
    {
        var (port, server) = _dom1.Listen(remoteDomain: 2);
        _dom1.Send(server);
        var client = _dom2.Connect(1, port);
        var wait = _dom2.RecvAsync(client, EventCounter.Initial);
        Assert.False(wait.IsCompleted);
        _dom1.Send(server);
        Assert.Equal(1ul, (await wait.AsTask().WaitAsync(Timeout)).Value);
    }

    [Fact]
    public void A_send_before_the_wait_is_not_lost()
    {
        var (server, client) = Pair();
        _dom2.Send(client);
        var wait = _dom1.RecvAsync(server, EventCounter.Initial);
        Assert.Equal(1ul, Done(wait).Value);
    }

    [Fact]
    public void Sends_while_nobody_waits_coalesce_into_one_wake_up()
    {
        var (server, client) = Pair();
        _dom2.Send(client);
        _dom2.Send(client);
        _dom2.Send(client);
        var seen = Done(_dom1.RecvAsync(server, EventCounter.Initial));
        Assert.Equal(3ul, seen.Value);
        Assert.False(_dom1.RecvAsync(server, seen).IsCompleted);
    }

    [Fact]
    public async Task A_wait_completes_when_the_peer_sends()
    {
        var (server, client) = Pair();
        var wait = _dom1.RecvAsync(server, EventCounter.Initial);
        Assert.False(wait.IsCompleted);
        _dom2.Send(client);
        Assert.Equal(1ul, (await wait.AsTask().WaitAsync(Timeout)).Value);
    }

    [Fact]
    public async Task Sending_works_both_ways()
    {
        var (server, client) = Pair();
        _dom1.Send(server);
        Assert.Equal(1ul, (await _dom2.RecvAsync(client, EventCounter.Initial)).Value);
        Assert.False(_dom1.RecvAsync(server, EventCounter.Initial).IsCompleted);
    }

    [Fact]
    public void A_wait_past_a_later_counter_waits_until_the_counter_passes_it()
    {
        var (server, client) = Pair();
        var wait = _dom1.RecvAsync(server, new EventCounter(2));
        _dom2.Send(client);
        _dom2.Send(client);
        Assert.False(wait.IsCompleted);
        _dom2.Send(client);
        Assert.Equal(3ul, Done(wait).Value);
    }

    [Fact]
    public async Task Several_waiters_on_one_channel_all_wake()
    {
        var (server, client) = Pair();
        var waits = Enumerable.Range(0, 4).Select(_ => _dom1.RecvAsync(server, EventCounter.Initial).AsTask()).ToArray();
        Assert.All(waits, w => Assert.False(w.IsCompleted));
        _dom2.Send(client);
        var seen = await Task.WhenAll(waits).WaitAsync(Timeout);
        Assert.All(seen, s => Assert.Equal(1ul, s.Value));
        Assert.Equal(0, Endpoint(_dom1, server).WaiterCount);
    }

    [Fact]
    public async Task Waiters_with_different_last_seen_wake_each_at_its_own_time()
    {
        var (server, client) = Pair();
        var early = _dom1.RecvAsync(server, EventCounter.Initial);
        var late = _dom1.RecvAsync(server, new EventCounter(1));
        _dom2.Send(client);
        Assert.Equal(1ul, (await early.AsTask().WaitAsync(Timeout)).Value);
        Assert.False(late.IsCompleted);
        _dom2.Send(client);
        Assert.Equal(2ul, (await late.AsTask().WaitAsync(Timeout)).Value);
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_leaves_no_waiter_behind()
    {
        var (server, client) = Pair();
        using var cts = new CancellationTokenSource();
        var wait = _dom1.RecvAsync(server, EventCounter.Initial, cts.Token).AsTask();
        Assert.Equal(1, Endpoint(_dom1, server).WaiterCount);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Timeout));
        Assert.Equal(0, Endpoint(_dom1, server).WaiterCount);
        // The channel's own waiter is free again and works.
        var next = _dom1.RecvAsync(server, EventCounter.Initial);
        _dom2.Send(client);
        Assert.Equal(1ul, (await next.AsTask().WaitAsync(Timeout)).Value);
    }

    [Fact]
    public void A_wait_with_a_cancelled_token_is_cancelled_at_once()
    {
        var (server, _) = Pair();
        var wait = _dom1.RecvAsync(server, EventCounter.Initial, new CancellationToken(canceled: true));
        Assert.True(wait.IsCanceled);
        Assert.Equal(0, Endpoint(_dom1, server).WaiterCount);
    }

    [Fact]
    public async Task Cancelling_after_the_event_arrived_does_not_disturb_the_next_wait()
    {
        var (server, client) = Pair();
        using var cts = new CancellationTokenSource();
        var first = _dom1.RecvAsync(server, EventCounter.Initial, cts.Token);
        _dom2.Send(client);
        var seen = await first.AsTask().WaitAsync(Timeout);
        await cts.CancelAsync();
        var second = _dom1.RecvAsync(server, seen);
        _dom2.Send(client);
        Assert.Equal(2ul, (await second.AsTask().WaitAsync(Timeout)).Value);
    }

    [Fact]
    public async Task Closing_a_channel_fails_its_waiters_as_closed()
    {
        var (server, _) = Pair();
        var wait = _dom1.RecvAsync(server, EventCounter.Initial).AsTask();
        _dom1.Close(server);
        var e = await Assert.ThrowsAsync<ChannelClosedException>(() => wait.WaitAsync(Timeout));
        Assert.Equal(server, e.Channel);
    }

    [Fact]
    public async Task Closing_a_channel_fails_the_peers_waiters_as_peer_closed()
    {
        var (server, client) = Pair();
        var wait = _dom2.RecvAsync(client, EventCounter.Initial).AsTask();
        _dom1.Close(server);
        var e = await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
        Assert.Equal(client, e.Channel);
    }

    [Fact]
    public void Using_a_closed_channel_is_closed()
    {
        var (server, _) = Pair();
        _dom1.Close(server);
        Assert.Throws<ChannelClosedException>(() => _dom1.Send(server));
        var wait = _dom1.RecvAsync(server, EventCounter.Initial);
        Assert.IsType<ChannelClosedException>(wait.AsTask().Exception!.InnerException);
    }

    [Fact]
    public void Sending_to_a_closed_peer_is_peer_closed()
    {
        var (server, client) = Pair();
        _dom1.Close(server);
        Assert.Throws<PeerClosedException>(() => _dom2.Send(client));
    }

    [Fact]
    public void Events_that_arrived_before_the_peer_closed_are_still_reported()
    {
        var (server, client) = Pair();
        _dom2.Send(client);
        _dom2.Close(client);
        var seen = Done(_dom1.RecvAsync(server, EventCounter.Initial));
        Assert.Equal(1ul, seen.Value);
        Assert.IsType<PeerClosedException>(_dom1.RecvAsync(server, seen).AsTask().Exception!.InnerException);
    }

    [Fact]
    public void Closing_twice_does_nothing()
    {
        var (server, _) = Pair();
        _dom1.Close(server);
        _dom1.Close(server);
        Assert.Equal(1, _hub.BoundChannels);
    }

    [Fact]
    public async Task Disposing_a_domain_fails_its_peers_waiters_as_peer_closed()
    {
        var (server, client) = Pair();
        var wait = _dom2.RecvAsync(client, EventCounter.Initial).AsTask();
        _dom1.Dispose();
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
        Assert.True(_dom1.IsDisposed);
        Assert.False(_hub.IsOpen(1));
    }

    [Fact]
    public async Task Killing_a_domain_fails_its_peers_waiters_as_peer_closed()
    {
        var (server, client) = Pair();
        var wait = _dom1.RecvAsync(server, EventCounter.Initial).AsTask();
        _hub.Kill(2);
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
        Assert.Throws<PeerClosedException>(() => _dom1.Send(server));
        Assert.Equal(1, _hub.BoundChannels);
    }

    [Fact]
    public void A_disposed_domain_cannot_listen()
    {
        _dom1.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _dom1.Listen(2));
    }

    [Fact]
    public void Opening_a_domain_twice_while_it_lives_is_an_error()
    {
        Assert.Throws<InvalidOperationException>(() => _hub.Open(1));
    }

    [Fact]
    public void A_disposed_domain_may_be_opened_again()
    {
        _dom1.Dispose();
        using var again = _hub.Open(1);
        Assert.Equal((ushort)1, again.LocalDomain);
    }

    [Fact]
    public void A_default_InHeapEvents_says_it_was_not_opened()
    {
        Assert.Throws<InvalidOperationException>(() => default(InHeapEvents).Listen(1));
    }

    [Fact]
    public void Continuations_never_run_inline_in_the_sender()
    {
        var (server, client) = Pair();
        var wait = _dom1.RecvAsync(server, EventCounter.Initial);
        var sender = Environment.CurrentManagedThreadId;
        var sending = true;
        var ranInline = (bool?)null;
        using var done = new ManualResetEventSlim();
        wait.GetAwaiter().UnsafeOnCompleted(() =>
        {
            ranInline = sending && Environment.CurrentManagedThreadId == sender;
            done.Set();
        });
        _dom2.Send(client);
        sending = false;
        Assert.True(done.Wait(Timeout));
        Assert.False(ranInline);
    }

    [Fact]
    public void The_single_waiter_path_does_not_allocate()
    {
        var (server, client) = Pair();
        var seen = EventCounter.Initial;
        void Round()
        {
            var wait = _dom1.RecvAsync(server, seen);
            _dom2.Send(client);
            seen = wait.GetAwaiter().GetResult();
            // And the path where the event is already there.
            _dom2.Send(client);
            seen = _dom1.RecvAsync(server, seen).GetAwaiter().GetResult();
        }
        for (var i = 0; i < 100; i++)
            Round();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            Round();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(2200ul, seen.Value);
    }

    [Fact]
    public void Disposing_the_hub_closes_every_channel()
    {
        Pair();
        _hub.Dispose();
        Assert.Equal(0, _hub.BoundChannels);
        Assert.True(_dom1.IsDisposed && _dom2.IsDisposed);
    }

    // Unwraps a wait that must already have completed.
    private static EventCounter Done(ValueTask<EventCounter> wait)
    {
        Assert.True(wait.IsCompletedSuccessfully, "The wait should have completed at once.");
        return wait.GetAwaiter().GetResult();
    }

    private static EventEndpoint Endpoint(InHeapEvents events, Channel channel)
    {
        var domain = (EventDomain)typeof(InHeapEvents).GetField("_domain", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(events)!;
        return domain.Find(channel);
    }
}
