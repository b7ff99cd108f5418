using System.Net.NetworkInformation;
using System.Threading.Channels;
using Netif.Links;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.Store;

namespace Netif.Tests;

/// <summary>Netfront and netback meeting through an in-heap Xenstore with the netif keys and the Xenbus states.</summary>
public sealed class XenbusHandshakeTests
{
    private static Channel<Netfront<InHeapEvents, InHeapMemory>> Connections() => Channel.CreateUnbounded<Netfront<InHeapEvents, InHeapMemory>>();

    [Fact]
    public async Task Both_ends_reach_Connected_and_a_frame_crosses()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var backend = net.Backend(net.Dom0, NetworkLink.CreateLoopback());
        var back = backend.RunAsync(stop.Token);
        var connected = Connections();
        var front = net.Frontend().RunAsync(EchoSession.Create(connected.Writer), stop.Token);

        var netfront = await connected.Reader.ReadAsync(stop.Token);

        Assert.True(netfront.IsLinkUp);
        Assert.Equal(XenbusState.Connected, await net.WaitForAsync(XenstoreNet.Device.FrontendPath, XenbusState.Connected));
        Assert.Equal(XenbusState.Connected, await Xenbus.ReadStateAsync(net.Dom0, XenstoreNet.Device.BackendPath));
        Assert.Equal(1, backend.Connections);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task The_frontend_publishes_and_goes_Connected_for_a_backend_that_waits_for_Connected_as_Linuxs_netback_does()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var device = XenstoreNet.Device;
        // Linux's netback (drivers/net/xen-netback/xenbus.c, frontend_changed) ignores the frontend's
        // Initialised: it maps the rings when the frontend is Connected, and only then goes Connected itself.
        await Xenbus.BackendInitWaitAsync(net.Dom0, device, NetifXenstore.BackendKeys(new NetbackFeatures()), stop.Token);
        var connected = Connections();
        var front = net.Frontend().RunAsync(EchoSession.Create(connected.Writer), stop.Token);

        await Xenbus.WaitForStateAsync(net.Dom0, device.FrontendPath, s => s == XenbusState.Connected, Timeouts.Short);
        var rendezvous = await NetifXenstore.ReadFrontendAsync(net.Dom0, device.FrontendPath, device.FrontendDomain, stop.Token);
        await using var netback = Netback<InHeapEvents, InHeapMemory>.Attach(net.BackEvents, net.BackMemory, rendezvous, NetworkLink.CreateLoopback());
        await Xenbus.SetStateAsync(net.Dom0, device.BackendPath, XenbusState.Connected, stop.Token);
        var netfront = await connected.Reader.ReadAsync(stop.Token);

        Assert.True(netfront.IsLinkUp);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
    }

    [Fact]
    public async Task The_backend_publishes_what_it_offers()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var offered = new NetbackFeatures { Sg = true, GsoTcpV4 = false, GsoTcpV6 = true, SplitEventChannels = false, MaxQueues = 3, Mtu = 9000 };
        var back = net.Backend(net.Dom0, NetworkLink.CreateLoopback(), offered).RunAsync(stop.Token);
        await net.WaitForAsync(XenstoreNet.Device.BackendPath, XenbusState.InitWait);

        var be = XenstoreNet.Device.BackendPath;
        Assert.Equal("1", await net.Dom1.ReadAsync(be + "/feature-rx-copy"));
        Assert.Equal("1", await net.Dom1.ReadAsync(be + "/feature-sg"));
        Assert.Equal("0", await net.Dom1.ReadAsync(be + "/feature-gso-tcpv4"));
        Assert.Equal("1", await net.Dom1.ReadAsync(be + "/feature-gso-tcpv6"));
        Assert.Equal("0", await net.Dom1.ReadAsync(be + "/feature-split-event-channels"));
        Assert.Equal("3", await net.Dom1.ReadAsync(be + "/multi-queue-max-queues"));
        Assert.Equal("9000", await net.Dom1.ReadAsync(be + "/mtu"));
        Assert.Equal(offered with { Ipv6CsumOffload = true }, await NetifXenstore.ReadBackendAsync(net.Dom1, be));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task The_frontend_publishes_split_channels_and_queues_and_uses_its_mac()
    {
        await using var net = await XenstoreNet.CreateAsync(mac: "00:16:3e:0a:0b:0c");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var offered = new NetbackFeatures { GsoTcpV4 = false, MaxQueues = 2 };
        var back = net.Backend(net.Dom0, NetworkLink.CreateLoopback(), offered).RunAsync(stop.Token);
        var connected = Connections();
        var front = net.Frontend(new NetfrontOptions { Queues = 4 }).RunAsync(EchoSession.Create(connected.Writer), stop.Token);
        var netfront = await connected.Reader.ReadAsync(stop.Token);

        var fe = XenstoreNet.Device.FrontendPath;
        Assert.Equal(PhysicalAddress.Parse("00-16-3E-0A-0B-0C"), netfront.Mac);
        Assert.Equal("2", await net.Dom0.ReadAsync(fe + "/multi-queue-num-queues"));
        for (var i = 0; i < 2; i++)
        {
            var refs = netfront.Rendezvous.Queues[i];
            Assert.Equal(refs.TxRingRef.Value.ToString(), await net.Dom0.ReadAsync($"{fe}/queue-{i}/tx-ring-ref"));
            Assert.Equal(refs.RxRingRef.Value.ToString(), await net.Dom0.ReadAsync($"{fe}/queue-{i}/rx-ring-ref"));
            Assert.Equal(refs.TxEventChannel.Value.ToString(), await net.Dom0.ReadAsync($"{fe}/queue-{i}/event-channel-tx"));
            Assert.Equal(refs.RxEventChannel.Value.ToString(), await net.Dom0.ReadAsync($"{fe}/queue-{i}/event-channel-rx"));
            Assert.NotEqual(refs.TxEventChannel, refs.RxEventChannel);
        }
        Assert.Null(await net.Dom0.TryReadAsync(fe + "/tx-ring-ref"));
        Assert.Equal("1", await net.Dom0.ReadAsync(fe + "/request-rx-copy"));
        Assert.Equal("1", await net.Dom0.ReadAsync(fe + "/feature-rx-notify"));
        Assert.Equal("1", await net.Dom0.ReadAsync(fe + "/feature-sg"));
        Assert.Equal("0", await net.Dom0.ReadAsync(fe + "/feature-gso-tcpv4"));
        Assert.Equal("1", await net.Dom0.ReadAsync(fe + "/feature-gso-tcpv6"));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task One_queue_without_split_channels_uses_the_flat_keys()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var back = net.Backend(net.Dom0, NetworkLink.CreateLoopback(), new NetbackFeatures { SplitEventChannels = false }).RunAsync(stop.Token);
        var connected = Connections();
        var front = net.Frontend().RunAsync(EchoSession.Create(connected.Writer), stop.Token);
        var netfront = await connected.Reader.ReadAsync(stop.Token);

        var fe = XenstoreNet.Device.FrontendPath;
        var refs = netfront.Rendezvous.Queues[0];
        Assert.Null(await net.Dom0.TryReadAsync(fe + "/multi-queue-num-queues"));
        Assert.Equal(refs.TxRingRef.Value.ToString(), await net.Dom0.ReadAsync(fe + "/tx-ring-ref"));
        Assert.Equal(refs.TxEventChannel.Value.ToString(), await net.Dom0.ReadAsync(fe + "/event-channel"));
        Assert.Null(await net.Dom0.TryReadAsync(fe + "/event-channel-tx"));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task The_frontend_reconnects_to_a_backend_that_crashed_and_restarted()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var firstStore = XenstoreClient.Connect(net.Server.Connect());
        var first = net.Backend(firstStore, NetworkLink.CreateLoopback()).RunAsync(stop.Token);
        var connected = Connections();
        var frontend = net.Frontend();
        var front = frontend.RunAsync(EchoSession.Create(connected.Writer), stop.Token);
        var before = await connected.Reader.ReadAsync(stop.Token);

        // The backend dies: its store connection drops and its event channels close, its state stays Connected.
        await firstStore.DisposeAsync();
        var died = await Assert.ThrowsAsync<XenstoreException>(() => first);
        Assert.Contains("closed", died.Message);
        net.Events.Kill(0);
        net.BackEvents = net.Events.Open(0);
        var second = net.Backend(net.Dom0, NetworkLink.CreateLoopback());
        var back = second.RunAsync(stop.Token);
        var after = await connected.Reader.ReadAsync(stop.Token);

        Assert.NotSame(before, after);
        Assert.Equal(2, frontend.Connections);
        Assert.Equal(1, second.Connections);
        Assert.Equal(XenbusState.Connected, await net.WaitForAsync(XenstoreNet.Device.FrontendPath, XenbusState.Connected));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task A_backend_that_closes_is_followed_and_a_new_one_is_joined()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stopFirst = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var first = net.Backend(net.Dom0, NetworkLink.CreateLoopback()).RunAsync(stopFirst.Token);
        var connected = Connections();
        var frontend = net.Frontend();
        var front = frontend.RunAsync(EchoSession.Create(connected.Writer), stop.Token);
        await connected.Reader.ReadAsync(stop.Token);

        await stopFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(net.Dom0, XenstoreNet.Device.BackendPath));
        await net.WaitForAsync(XenstoreNet.Device.FrontendPath, XenbusState.Initialising);
        var back = net.Backend(net.Dom0, NetworkLink.CreateLoopback()).RunAsync(stop.Token);
        await connected.Reader.ReadAsync(stop.Token);

        Assert.Equal(2, frontend.Connections);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task A_frontend_that_is_done_closes_and_the_backend_follows()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var backend = net.Backend(net.Dom0, NetworkLink.CreateLoopback());
        var back = backend.RunAsync(stop.Token);
        var connected = Connections();

        await net.Frontend().RunAsync(EchoSession.Create(connected.Writer, stay: false), stop.Token);

        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(net.Dom0, XenstoreNet.Device.FrontendPath));
        Assert.Equal(XenbusState.Closed, await net.WaitForAsync(XenstoreNet.Device.BackendPath, XenbusState.Closed));
        Assert.Null(backend.Current);
        Assert.Equal(0, net.Events.BoundChannels);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Fact]
    public async Task A_backend_without_rx_copy_is_refused()
    {
        await using var net = await XenstoreNet.CreateAsync();
        var be = XenstoreNet.Device.BackendPath;
        await net.Dom0.WriteAsync(be + "/mtu", "1500");

        await Assert.ThrowsAsync<NetifProtocolException>(() => NetifXenstore.ReadBackendAsync(net.Dom1, be));
    }

    [Fact]
    public async Task One_queue_keys_are_read_flat_even_with_multi_queue_num_queues_1_as_Linuxs_netfront_writes_them()
    {
        await using var net = await XenstoreNet.CreateAsync();
        var fe = XenstoreNet.Device.FrontendPath;
        // What Linux's netfront writes for one queue when the backend offers multi-queue-max-queues
        // (drivers/net/xen-netfront.c, talk_to_netback).
        await net.Dom1.WriteAsync(fe + "/multi-queue-num-queues", "1");
        await net.Dom1.WriteAsync(fe + "/tx-ring-ref", "9");
        await net.Dom1.WriteAsync(fe + "/rx-ring-ref", "10");
        await net.Dom1.WriteAsync(fe + "/event-channel-tx", "5");
        await net.Dom1.WriteAsync(fe + "/event-channel-rx", "6");
        await net.Dom1.WriteAsync(fe + "/request-rx-copy", "1");

        var rendezvous = await NetifXenstore.ReadFrontendAsync(net.Dom0, fe, 1);
        var queue = Assert.Single(rendezvous.Queues);
        Assert.Equal(9u, queue.TxRingRef.Value);
        Assert.Equal(10u, queue.RxRingRef.Value);
        Assert.True(queue.SplitEventChannels);
        Assert.Equal(6u, queue.RxEventChannel.Value);
    }

    [Fact]
    public async Task A_malformed_ring_ref_is_a_clear_error()
    {
        await using var net = await XenstoreNet.CreateAsync();
        var fe = XenstoreNet.Device.FrontendPath;
        await net.Dom1.WriteAsync(fe + "/request-rx-copy", "1");
        await net.Dom1.WriteAsync(fe + "/tx-ring-ref", "banana");

        var e = await Assert.ThrowsAsync<NetifProtocolException>(() => NetifXenstore.ReadFrontendAsync(net.Dom0, fe, 1));
        Assert.Contains("tx-ring-ref", e.Message);
    }

    [Fact]
    public async Task A_run_cancelled_after_the_attach_but_before_Connected_raises_neither_Connected_nor_Disconnected()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Cancelled from inside the attach (its log line), so the backend's write of Connected is the
        // first step to see the cancellation: the connection ends before it was announced.
        var logger = new CancelOnAttach(stop);
        var backend = new NetbackDevice<InHeapEvents, InHeapMemory>(net.Dom0, XenstoreNet.Device, net.BackEvents, net.BackMemory,
            NetworkLink.CreateLoopback(), new NetbackOptions { Logger = logger });
        int connected = 0, disconnected = 0;
        backend.Connected += (_, _) => Interlocked.Increment(ref connected);
        backend.Disconnected += (_, _) => Interlocked.Increment(ref disconnected);
        var back = backend.RunAsync(stop.Token);
        var front = net.Frontend().RunAsync(EchoSession.Create(Connections().Writer), stop.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);

        Assert.True(logger.Attached);
        Assert.Equal(0, backend.Connections);
        Assert.Equal((0, 0), (connected, disconnected));
        Assert.Null(backend.Current);
    }

    private sealed class CancelOnAttach(CancellationTokenSource stop) : Microsoft.Extensions.Logging.ILogger
    {
        public bool Attached { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name != "NetbackConnected")
                return;
            Attached = true;
            stop.Cancel();
        }
    }
}

/// <summary>What a backend does with keys it cannot attach to.</summary>
public sealed class XenbusRecoveryTests
{
    [Fact]
    public async Task A_backend_that_cannot_attach_closes_and_the_frontend_publishes_again()
    {
        await using var net = await XenstoreNet.CreateAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var fe = XenstoreNet.Device.FrontendPath;
        // A frontend that died after publishing: its rings and channels are gone, its state stays Initialised.
        await net.Dom1.WriteAsync(fe + "/request-rx-copy", "1");
        await net.Dom1.WriteAsync(fe + "/tx-ring-ref", "4000");
        await net.Dom1.WriteAsync(fe + "/rx-ring-ref", "4001");
        await net.Dom1.WriteAsync(fe + "/event-channel", "77");
        await Xenbus.SetStateAsync(net.Dom1, fe, XenbusState.Initialised);
        var backend = net.Backend(net.Dom0, NetworkLink.CreateLoopback());
        var failures = 0;
        backend.ConnectionFailed += (_, _) => Interlocked.Increment(ref failures);
        var back = backend.RunAsync(stop.Token);
        await net.WaitForAsync(XenstoreNet.Device.BackendPath, XenbusState.Closed);

        var connected = Channel.CreateUnbounded<Netfront<InHeapEvents, InHeapMemory>>();
        var front = net.Frontend().RunAsync(EchoSession.Create(connected.Writer), stop.Token);
        await connected.Reader.ReadAsync(stop.Token);

        Assert.Equal(1, failures);
        Assert.Equal(1, backend.Connections);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => front);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }
}
