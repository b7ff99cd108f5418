using Xen.Evtchn;
using Xen.Evtchn.Xen;
using static Xen.Evtchn.Xen.EventChannelAbi;

namespace Xen.Guest.Tests;

public sealed class EventChannelTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void Listen_then_connect_leaves_both_ports_interdomain_with_each_other()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();

        var s = pair.One.Status(server.LocalPort);
        var c = pair.Two.Status(client.LocalPort);

        Assert.Equal((EVTCHNSTAT_interdomain, pair.Two.Id, client.LocalPort.Value), (s.Status, s.RemoteDom, s.RemotePort));
        Assert.Equal((EVTCHNSTAT_interdomain, pair.One.Id, server.LocalPort.Value), (c.Status, c.RemoteDom, c.RemotePort));
    }

    [Fact]
    public void A_listening_port_is_unbound_for_the_named_domain_only()
    {
        using var pair = new GuestPair();
        var (port, _) = pair.One.Events.Listen(pair.Two.Id);

        var status = pair.One.Status(port);

        Assert.Equal((EVTCHNSTAT_unbound, pair.Two.Id), (status.Status, status.RemoteDom));
    }

    [Fact]
    public async Task Send_advances_the_peers_counter_by_one()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();

        pair.Two.Events.Send(client);

        Assert.Equal(new EventCounter(1), await pair.One.Events.RecvAsync(server, EventCounter.Initial));
    }

    [Fact]
    public async Task Connect_delivers_the_conservative_bind_event_at_once()
    {
        using var pair = new GuestPair();
        var (_, client) = pair.Connect();

        var seen = pair.Two.Events.RecvAsync(client, EventCounter.Initial);

        Assert.True(seen.IsCompletedSuccessfully);
        Assert.Equal(new EventCounter(1), await seen);
    }

    [Fact]
    public void Every_port_is_masked_until_the_event_layer_binds_it()
    {
        using var pair = new GuestPair();
        var (port, _) = pair.One.Events.Listen(pair.Two.Id);

        Assert.False(pair.One.Domain.IsMasked(port.Value));
        Assert.True(pair.One.Domain.IsMasked(port.Value + 1));
        Assert.True(pair.One.Domain.IsMasked(EVTCHN_2L_NR_CHANNELS - 1));
    }

    [Fact]
    public async Task A_waiter_wakes_when_the_peer_sends()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();
        Assert.False(wait.IsCompleted);

        pair.Two.Events.Send(client);

        Assert.Equal(new EventCounter(1), await wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_masked_port_is_not_dispatched_until_unmasked_and_then_is()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        pair.One.Mask(server.LocalPort);

        pair.Two.Events.Send(client);
        pair.Two.Events.Send(client);
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();
        Assert.False(wait.IsCompleted);
        Assert.True(pair.One.Domain.IsPending(server.LocalPort.Value));

        Assert.Equal(0, pair.One.Unmask(server.LocalPort));

        Assert.Equal(new EventCounter(1), await wait.WaitAsync(Timeout)); // the two sends coalesced
        Assert.False(pair.One.Domain.IsPending(server.LocalPort.Value));
    }

    [Fact]
    public async Task A_masked_vcpu_upcall_delays_dispatch_until_the_upcall_is_unmasked()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        pair.One.Domain.SetUpcallMask(true);

        pair.Two.Events.Send(client);
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();
        Assert.False(wait.IsCompleted);

        pair.One.Domain.SetUpcallMask(false);

        Assert.Equal(new EventCounter(1), await wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Close_fails_local_waiters_with_ChannelClosedException()
    {
        using var pair = new GuestPair();
        var (server, _) = pair.Connect();
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();

        pair.One.Events.Close(server);

        await Assert.ThrowsAsync<ChannelClosedException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public void Send_after_close_throws_ChannelClosedException()
    {
        using var pair = new GuestPair();
        var (server, _) = pair.Connect();
        pair.One.Events.Close(server);

        Assert.Throws<ChannelClosedException>(() => pair.One.Events.Send(server));
    }

    [Fact]
    public void Closing_twice_does_nothing()
    {
        using var pair = new GuestPair();
        var (server, _) = pair.Connect();
        pair.One.Events.Close(server);

        pair.One.Events.Close(server);

        Assert.Equal(EVTCHNSTAT_closed, pair.One.Status(server.LocalPort).Status);
    }

    [Fact]
    public async Task A_peer_close_wakes_the_waiter_and_its_next_wait_fails_with_PeerClosedException()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();

        pair.Two.Events.Close(client);

        var last = await wait.WaitAsync(Timeout);
        await Assert.ThrowsAsync<PeerClosedException>(() => pair.One.Events.RecvAsync(server, last).AsTask().WaitAsync(Timeout));
        Assert.Throws<PeerClosedException>(() => pair.One.Events.Send(server));
    }

    [Fact]
    public async Task CheckPeers_fails_the_waiters_of_a_destroyed_domain()
    {
        using var pair = new GuestPair();
        var (server, _) = pair.Connect();
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();

        pair.Hypervisor.DestroyDomain(pair.Two.Id);
        Assert.False(wait.IsCompleted); // Xen says nothing
        pair.One.Events.CheckPeers();

        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_periodic_peer_check_fails_a_waiter_whose_peer_died_without_a_word()
    {
        using var pair = new GuestPair(peerCheckInterval: TimeSpan.FromMilliseconds(20));
        var (server, _) = pair.Connect();
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();

        pair.Hypervisor.DestroyDomain(pair.Two.Id);

        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_waiter_that_has_an_event_left_gets_it_before_the_peer_close()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        pair.Two.Events.Send(client);
        pair.Hypervisor.DestroyDomain(pair.Two.Id);
        pair.One.Events.CheckPeers();

        Assert.Equal(new EventCounter(1), await pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAsync<PeerClosedException>(() => pair.One.Events.RecvAsync(server, new EventCounter(1)).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void Connecting_to_a_port_offered_to_another_domain_throws_PortNotBoundException()
    {
        using var pair = new GuestPair();
        using var three = Guest.Boot(pair.Hypervisor, 3);
        var (port, _) = pair.One.Events.Listen(three.Id);

        var error = Assert.Throws<PortNotBoundException>(() => pair.Two.Events.Connect(pair.One.Id, port));
        Assert.Equal(port, error.Port);
    }

    [Fact]
    public void Connecting_to_a_port_twice_throws_PortNotBoundException()
    {
        using var pair = new GuestPair();
        var (port, _) = pair.One.Events.Listen(pair.Two.Id);
        pair.Two.Events.Connect(pair.One.Id, port);

        Assert.Throws<PortNotBoundException>(() => pair.Two.Events.Connect(pair.One.Id, port));
    }

    [Fact]
    public void Connecting_to_a_missing_domain_throws_PortNotBoundException()
    {
        using var pair = new GuestPair();

        Assert.Throws<PortNotBoundException>(() => pair.Two.Events.Connect(42, new Port(1)));
    }

    [Fact]
    public async Task A_cancelled_wait_ends_with_OperationCanceledException()
    {
        using var pair = new GuestPair();
        var (server, _) = pair.Connect();
        using var cts = new CancellationTokenSource();
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial, cts.Token).AsTask();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Attach_takes_over_a_port_bound_behind_the_event_layers_back()
    {
        using var pair = new GuestPair();
        // Bound with a bare hypercall, as a domain builder binds the Xenstore port: still masked.
        var (port, _) = pair.Two.Events.Listen(pair.One.Id);
        var bound = Bind(pair.One, pair.Two.Id, port);
        Assert.True(pair.One.Domain.IsMasked(bound.Value));

        var channel = pair.One.Events.Attach(bound);

        Assert.False(pair.One.Domain.IsMasked(bound.Value));
        Assert.Equal(new EventCounter(1), await pair.One.Events.RecvAsync(channel, EventCounter.Initial).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void Attach_refuses_a_port_that_is_not_connected()
    {
        using var pair = new GuestPair();

        Assert.Throws<PortNotBoundException>(() => pair.One.Events.Attach(new Port(100)));
    }

    [Fact]
    public async Task A_domain_may_connect_to_its_own_port()
    {
        using var pair = new GuestPair();
        var (port, server) = pair.One.Events.Listen(pair.One.Id);
        var client = pair.One.Events.Connect(pair.One.Id, port);

        pair.One.Events.Send(client);

        Assert.Equal(new EventCounter(1), await pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_send_before_the_peer_connects_is_dropped_by_Xen()
    {
        using var pair = new GuestPair();
        var (port, server) = pair.One.Events.Listen(pair.Two.Id);
        pair.One.Events.Send(server);
        var client = pair.Two.Events.Connect(pair.One.Id, port);

        // Only the bind event: the early send went nowhere.
        Assert.Equal(new EventCounter(1), await pair.Two.Events.RecvAsync(client, EventCounter.Initial));
        Assert.False(pair.Two.Events.RecvAsync(client, new EventCounter(1), new CancellationTokenSource(0).Token).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Several_waiters_on_one_channel_all_wake()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        var waits = Enumerable.Range(0, 3).Select(_ => pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask()).ToArray();

        pair.Two.Events.Send(client);

        Assert.All(await Task.WhenAll(waits).WaitAsync(Timeout), c => Assert.Equal(new EventCounter(1), c));
    }

    private static unsafe Port Bind(Guest guest, ushort remote, Port remotePort)
    {
        var op = new EvtchnBindInterdomain { RemoteDom = remote, RemotePort = remotePort.Value };
        Assert.Equal(0, guest.Domain.EventChannelOp(EVTCHNOP_bind_interdomain, &op));
        return new Port(op.LocalPort);
    }
}
