using TestSupport;
using Xen.Evtchn;
using Xen.Evtchn.Unix;

namespace Xen.Unix.Tests;

/// <summary>Unix event channels between two domains in one process (each with its own backend).</summary>
[Collection(nameof(NoForksBeside))]
public sealed class EventsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TempRoot _root = new();
    private readonly UnixEvents _one;
    private readonly UnixEvents _two;

    public EventsTests()
    {
        _one = UnixEvents.Create(1, _root.Path);
        _two = UnixEvents.Create(2, _root.Path);
    }

    public void Dispose()
    {
        _one.Dispose();
        _two.Dispose();
        _root.Dispose();
    }

    private (Channel Server, Channel Client) Pair()
    {
        var (port, server) = _one.Listen(2);
        var client = _two.Connect(1, port);
        return (server, client);
    }

    [Fact]
    public async Task A_send_reaches_the_listener_as_a_counter()
    {
        var (server, client) = Pair();
        _two.Send(client);
        var seen = await _one.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(Timeout);
        Assert.Equal(1UL, seen.Value);
    }

    [Fact]
    public async Task A_send_reaches_the_connector()
    {
        var (server, client) = Pair();
        _one.Send(server);
        var seen = await _two.RecvAsync(client, EventCounter.Initial).AsTask().WaitAsync(Timeout);
        Assert.Equal(1UL, seen.Value);
    }

    [Fact]
    public async Task A_waiter_blocked_before_the_send_is_woken()
    {
        var (server, client) = Pair();
        var wait = _one.RecvAsync(server, EventCounter.Initial).AsTask();
        await Until.TrueAsync(() => _one.BlockedReceivers(server) == 1, "the receiver asleep on its channel");
        Assert.False(wait.IsCompleted);
        _two.Send(client);
        Assert.Equal(1UL, (await wait.WaitAsync(Timeout)).Value);
    }

    [Fact]
    public async Task Sends_while_nobody_waits_coalesce_into_one_wake_up()
    {
        var (server, client) = Pair();
        for (var i = 0; i < 5; i++)
            _two.Send(client);
        var seen = await _one.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(Timeout);
        Assert.Equal(5UL, seen.Value);
        var next = _one.RecvAsync(server, seen).AsTask();
        await Until.TrueAsync(() => _one.BlockedReceivers(server) == 1, "the receiver asleep on its channel");
        Assert.False(next.IsCompleted);
        _two.Send(client);
        Assert.Equal(6UL, (await next.WaitAsync(Timeout)).Value);
    }

    [Fact]
    public async Task A_waiter_before_the_peer_connects_is_woken_by_its_first_send()
    {
        var (port, server) = _one.Listen(2);
        var wait = _one.RecvAsync(server, EventCounter.Initial).AsTask();
        var client = _two.Connect(1, port);
        _two.Send(client);
        Assert.Equal(1UL, (await wait.WaitAsync(Timeout)).Value);
    }

    [Fact]
    public void Sends_before_the_peer_connects_are_dropped()
    {
        var (port, server) = _one.Listen(2);
        _one.Send(server);
        var client = _two.Connect(1, port);
        Assert.False(_two.RecvAsync(client, EventCounter.Initial).IsCompleted);
    }

    [Fact]
    public void Connecting_to_a_port_offered_to_another_domain_is_refused()
    {
        var (port, _) = _one.Listen(3);
        var error = Assert.Throws<PortNotBoundException>(() => _two.Connect(1, port));
        Assert.Contains("another domain", error.Message);
    }

    [Fact]
    public void Connecting_to_a_port_nobody_offered_is_refused()
    {
        Assert.Throws<PortNotBoundException>(() => _two.Connect(1, new Port(999)));
    }

    [Fact]
    public void Connecting_twice_to_one_port_is_refused()
    {
        var (port, _) = _one.Listen(2);
        _two.Connect(1, port);
        var error = Assert.Throws<PortNotBoundException>(() => _two.Connect(1, port));
        Assert.Contains("already connected", error.Message);
    }

    [Fact]
    public void Connecting_to_a_domain_that_is_not_running_is_refused()
    {
        var error = Assert.Throws<PortNotBoundException>(() => _two.Connect(7, new Port(1)));
        Assert.Contains("not running", error.Message);
    }

    [Fact]
    public void A_second_process_claiming_the_same_domain_id_fails_clearly()
    {
        var error = Assert.Throws<InvalidOperationException>(() => UnixEvents.Create(1, _root.Path));
        Assert.Contains("already taken", error.Message);
    }

    [Fact]
    public async Task Closing_one_end_fails_the_peers_waiter_with_peer_closed()
    {
        var (server, client) = Pair();
        var wait = _one.RecvAsync(server, EventCounter.Initial).AsTask();
        _two.Close(client);
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Events_sent_before_a_close_are_still_reported()
    {
        var (server, client) = Pair();
        _two.Send(client);
        _two.Close(client);
        await Task.Delay(50);
        Assert.Equal(1UL, (await _one.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(Timeout)).Value);
        await Assert.ThrowsAsync<PeerClosedException>(() => _one.RecvAsync(server, new EventCounter(1)).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Closing_locally_fails_the_local_waiter_with_channel_closed()
    {
        var (server, _) = Pair();
        var wait = _one.RecvAsync(server, EventCounter.Initial).AsTask();
        _one.Close(server);
        await Assert.ThrowsAsync<ChannelClosedException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public void Sending_on_a_closed_channel_is_channel_closed()
    {
        var (server, _) = Pair();
        _one.Close(server);
        Assert.Throws<ChannelClosedException>(() => _one.Send(server));
    }

    [Fact]
    public async Task Sending_to_a_peer_that_closed_is_peer_closed()
    {
        var (server, client) = Pair();
        var wait = _one.RecvAsync(server, EventCounter.Initial).AsTask();
        _two.Close(client);
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
        Assert.Throws<PeerClosedException>(() => _one.Send(server));
    }

    [Fact]
    public async Task A_cancelled_wait_ends_with_operation_cancelled()
    {
        var (server, _) = Pair();
        using var cancel = new CancellationTokenSource();
        var wait = _one.RecvAsync(server, EventCounter.Initial, cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Disposing_the_peer_backend_fails_waiters_with_peer_closed()
    {
        using var root = new TempRoot();
        using var one = UnixEvents.Create(1, root.Path);
        var two = UnixEvents.Create(2, root.Path);
        var (port, server) = one.Listen(2);
        two.Connect(1, port);
        var wait = one.RecvAsync(server, EventCounter.Initial).AsTask();
        two.Dispose();
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Many_channels_each_get_their_own_events()
    {
        const int Count = 300;
        var pairs = Enumerable.Range(0, Count).Select(_ => Pair()).ToArray();
        var waits = pairs.Select(p => _one.RecvAsync(p.Server, EventCounter.Initial).AsTask()).ToArray();
        for (var i = 0; i < Count; i += 2)
            _two.Send(pairs[i].Client);
        await Task.WhenAll(waits.Where((_, i) => i % 2 == 0)).WaitAsync(Timeout);
        Assert.All(waits.Where((_, i) => i % 2 == 1), w => Assert.False(w.IsCompleted));
    }

    [Fact]
    public async Task Spinning_before_blocking_still_sees_every_event()
    {
        using var root = new TempRoot();
        using var one = new UnixEvents(new UnixEventsOptions { Root = root.Path, Domain = 1, SpinBeforeBlock = TimeSpan.FromMicroseconds(50) });
        using var two = new UnixEvents(new UnixEventsOptions { Root = root.Path, Domain = 2, SpinBeforeBlock = TimeSpan.FromMicroseconds(50) });
        var (port, server) = one.Listen(2);
        var client = two.Connect(1, port);
        var echo = Task.Run(async () =>
        {
            var seen = EventCounter.Initial;
            for (var i = 0; i < 2000; i++)
            {
                seen = await two.RecvAsync(client, seen);
                two.Send(client);
            }
        });
        var mine = EventCounter.Initial;
        for (var i = 0; i < 2000; i++)
        {
            one.Send(server);
            mine = await one.RecvAsync(server, mine).AsTask().WaitAsync(Timeout);
        }
        await echo.WaitAsync(Timeout);
        Assert.Equal(2000UL, mine.Value);
    }

    [Fact]
    public async Task Closing_a_channel_while_a_receive_spins_on_its_page_fails_the_receive_with_channel_closed()
    {
        // The spin reads the counter page with no reference on it: the close must leave that address
        // readable (a fault would take the whole test process down) and the receive must still end.
        using var root = new TempRoot();
        using var one = new UnixEvents(new UnixEventsOptions { Root = root.Path, Domain = 1, SpinBeforeBlock = TimeSpan.FromMilliseconds(100) });
        using var two = UnixEvents.Create(2, root.Path);
        var (port, server) = one.Listen(2);
        two.Connect(1, port);
        using var receiving = new ManualResetEventSlim();
        var receive = Task.Run(() =>
        {
            receiving.Set();
            return one.RecvAsync(server, EventCounter.Initial).AsTask();
        });
        receiving.Wait(Timeout);
        // Either order ends the same way; this one gives the receive a moment to be inside its spin.
        await Task.Delay(20);
        one.Close(server);
        await Assert.ThrowsAsync<ChannelClosedException>(() => receive.WaitAsync(Timeout));
    }

    [Fact]
    public void Ports_are_reused_after_close_and_never_zero()
    {
        var (first, channel) = _one.Listen(2);
        Assert.NotEqual(0u, first.Value);
        _one.Close(channel);
        var (second, _) = _one.Listen(2);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Nothing_is_left_under_the_root_after_both_backends_are_disposed()
    {
        using var root = new TempRoot();
        var one = UnixEvents.Create(1, root.Path);
        var two = UnixEvents.Create(2, root.Path);
        var (port, _) = one.Listen(2);
        two.Connect(1, port);
        one.Dispose();
        two.Dispose();
        Assert.Empty(root.Leftovers());
    }

    [Fact]
    public void Send_and_a_receive_that_completes_at_once_allocate_nothing()
    {
        var (server, client) = Pair();
        var seen = EventCounter.Initial;
        for (var i = 0; i < 100; i++)
        {
            _two.Send(client);
            seen = AtOnce(_one.RecvAsync(server, seen));
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            _two.Send(client);
            seen = AtOnce(_one.RecvAsync(server, seen));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(10_100UL, seen.Value);
    }

    private static EventCounter AtOnce(ValueTask<EventCounter> receive)
    {
        Assert.True(receive.IsCompletedSuccessfully);
        return receive.Result;
    }
}
