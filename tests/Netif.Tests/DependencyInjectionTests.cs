using Microsoft.Extensions.DependencyInjection;
using Netif.Links;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using Xen.Store;

namespace Netif.Tests;

/// <summary><c>AddNetif</c>: a frontend container (domain 1) and a backend container (domain 0) sharing in-heap hubs.</summary>
public sealed class DependencyInjectionTests : IDisposable
{
    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();

    public void Dispose()
    {
        _grantHub.Dispose();
        _eventHub.Dispose();
    }

    private ServiceCollection Domain(ushort id, Action<NetifOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(_eventHub).AddSingleton(_grantHub)
            .AddXenInHeap(o => o.Domain = id)
            .AddNetif<InHeapEvents, InHeapMemory>(configure);
        return services;
    }

    private static NetifFactory<InHeapEvents, InHeapMemory> Factory(IServiceProvider provider) =>
        provider.GetRequiredService<NetifFactory<InHeapEvents, InHeapMemory>>();

    private static async Task EchoAsync(NetfrontQueue queue, int length, int seed)
    {
        var frame = TestFrames.Make(length, seed);
        await queue.SendAsync(frame, cancellationToken: Timeouts.Short);
        var buffer = new byte[Frames.MaxFrame];
        var got = await queue.ReceiveAsync(buffer, Timeouts.Short);
        Assert.Equal(frame, buffer[..got.Length]);
    }

    [Fact]
    public async Task A_netfront_and_a_netback_from_two_containers_pass_a_frame_through_a_loopback()
    {
        await using var back = Domain(0).BuildServiceProvider();
        await using var front = Domain(1).BuildServiceProvider();
        var netfront = Factory(front).CreateNetfront(backendDomain: 0, Factory(back).Offered);
        Factory(back).AttachNetback(netfront.Rendezvous, NetworkLink.CreateLoopback());
        netfront.SetLinkState(true);
        await EchoAsync(netfront.Queues[0], 1514, 1);
    }

    [Fact]
    public async Task The_options_set_what_the_backend_offers_and_the_frontend_asks_for()
    {
        await using var back = Domain(0, o => o.Backend = new NetbackOptions { Features = new NetbackFeatures { Mtu = 9000, MaxQueues = 2 } }).BuildServiceProvider();
        await using var front = Domain(1, o => o.Frontend = new NetfrontOptions { Queues = 2, Name = "di0" }).BuildServiceProvider();
        var netfront = Factory(front).CreateNetfront(backendDomain: 0, Factory(back).Offered);
        Assert.Equal(9000, netfront.Mtu);
        Assert.Equal(2, netfront.Queues.Count);
    }

    [Fact]
    public async Task Devices_from_two_containers_meet_through_Xenstore_and_carry_a_frame()
    {
        using var daemon = new XenstoreServer();
        var device = new XenbusDevice(NetifXenstore.DeviceType, 0, FrontendDomain: 1, BackendDomain: 0);
        await using (var toolstack = XenstoreClient.Connect(daemon.Connect()))
            await Xenbus.CreateDeviceAsync(toolstack, device).WaitAsync(TimeSpan.FromSeconds(20));
        await using var back = Domain(0).AddXenstore(_ => XenstoreClient.Connect(daemon.Connect(domain: 0))).BuildServiceProvider();
        await using var front = Domain(1).AddXenstore(_ => XenstoreClient.Connect(daemon.Connect(domain: 1))).BuildServiceProvider();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var netback = Factory(back).CreateNetbackDevice(deviceId: 0, frontendDomain: 1, NetworkLink.CreateLoopback());
        var serving = netback.RunAsync(stop.Token);
        var netfront = Factory(front).CreateNetfrontDevice(deviceId: 0, backendDomain: 0);
        Assert.Equal(device, netfront.Device);
        await netfront.RunAsync((nf, _) => EchoAsync(nf.Queues[0], 600, 2), stop.Token);
        Assert.Equal(1, netfront.Connections);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);
    }

    [Fact]
    public async Task Disposing_the_container_disposes_its_netfront_before_the_backends_go()
    {
        await using var back = Domain(0).BuildServiceProvider();
        var front = Domain(1).BuildServiceProvider();
        var netfront = Factory(front).CreateNetfront(backendDomain: 0, Factory(back).Offered);
        var netback = Factory(back).AttachNetback(netfront.Rendezvous, NetworkLink.CreateLoopback());
        netfront.SetLinkState(true);
        var changes = new List<bool>();
        netfront.LinkStateChanged += (_, up) => changes.Add(up);
        front.Dispose();   // throws if the netfront ended its grants on memory that was already gone
        Assert.Equal([false], changes);   // the netfront was disposed (its link went down)
        Assert.False(_eventHub.IsOpen(1));
        await netback.Completion.WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.True(netback.Completion.IsCompleted);
    }

    [Fact]
    public async Task Ends_the_caller_disposed_are_left_as_they_are_when_the_container_is_disposed()
    {
        var back = Domain(0).BuildServiceProvider();
        var front = Domain(1).BuildServiceProvider();
        var netfront = Factory(front).CreateNetfront(backendDomain: 0, Factory(back).Offered);
        await using (Factory(back).AttachNetback(netfront.Rendezvous, NetworkLink.CreateLoopback()))
        {
        }
        netfront.Dispose();
        await back.DisposeAsync();   // the factories dispose only what is still open: nothing here
        await front.DisposeAsync();
        Assert.False(_eventHub.IsOpen(0));
        Assert.False(_eventHub.IsOpen(1));
    }

    [Fact]
    public void Without_a_backend_resolving_the_factory_says_how_to_register_one()
    {
        using var provider = new ServiceCollection().AddNetif<InHeapEvents, InHeapMemory>().BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => Factory(provider));
        Assert.Contains("InHeapEvents", e.Message, StringComparison.Ordinal);
        Assert.Contains("AddXenBackend()", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_without_Xenstore_says_to_register_it()
    {
        using var provider = Domain(1).BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => Factory(provider).CreateNetfrontDevice(0, 0));
        Assert.Contains("AddXenstore", e.Message, StringComparison.Ordinal);
    }
}
