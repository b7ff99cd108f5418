using System.Threading.Channels;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using Xen.Store;
using Xen.Store.Server;

namespace Netif.Tests;

/// <summary>
/// An in-heap Xenstore daemon, a toolstack (dom0) that created <c>vif/0</c> for domain 1, and the two
/// domains' backends; the netfront and netback find each other through the store.
/// </summary>
internal sealed class XenstoreNet : IAsyncDisposable
{
    public static readonly XenbusDevice Device = new(NetifXenstore.DeviceType, 0, FrontendDomain: 1, BackendDomain: 0);

    private XenstoreNet(XenstoreServer server, XenstoreClient dom0, XenstoreClient dom1)
    {
        Server = server;
        Dom0 = dom0;
        Dom1 = dom1;
    }

    public XenstoreServer Server { get; }
    public XenstoreClient Dom0 { get; }
    public XenstoreClient Dom1 { get; }
    public InHeapEventHub Events { get; } = new();
    public InHeapGrantHub Grants { get; } = new();
    public InHeapDomain Front { get; private set; } = null!;
    public InHeapMemory BackMemory { get; private set; }
    public InHeapEvents BackEvents { get; set; }

    public static async Task<XenstoreNet> CreateAsync(string? mac = null)
    {
        var server = new XenstoreServer();
        var net = new XenstoreNet(server, XenstoreClient.Connect(server.Connect()), XenstoreClient.Connect(server.Connect(domain: 1)));
        net.Front = InHeapDomain.Open(net.Events, net.Grants, 1);
        net.BackEvents = net.Events.Open(0);
        net.BackMemory = net.Grants.Open(0, port => net.BackEvents.Send(new Xen.Evtchn.Channel(new Port(port))));
        await Xenbus.CreateDeviceAsync(net.Dom0, Device);
        if (mac is not null)
            await net.Dom0.WriteAsync(Device.FrontendPath + "/mac", mac);
        return net;
    }

    public NetbackDevice<InHeapEvents, InHeapMemory> Backend(XenstoreClient store, INetworkLink link, NetbackFeatures? offered = null) =>
        new(store, Device, BackEvents, BackMemory, link, new NetbackOptions { Features = offered ?? new NetbackFeatures() });

    public NetfrontDevice<InHeapEvents, InHeapMemory> Frontend(NetfrontOptions? options = null) =>
        new(Dom1, Device, Front.Events, Front.Memory, options);

    public Task<XenbusState> WaitForAsync(string path, XenbusState state) =>
        Xenbus.WaitForStateAsync(Dom0, path, s => s == state, Timeouts.Short);

    public async ValueTask DisposeAsync()
    {
        await Dom1.DisposeAsync();
        await Dom0.DisposeAsync();
        Front.Dispose();
        BackMemory.Dispose();
        BackEvents.Dispose();
        Grants.Dispose();
        Events.Dispose();
        Server.Dispose();
    }
}

/// <summary>
/// A frontend session that sends one frame through the loopback (on a one-queue interface: with
/// several, the loopback may hand it to another queue), checks it came back, reports the connection,
/// and stays until the backend goes.
/// </summary>
internal static class EchoSession
{
    public static Func<Netfront<InHeapEvents, InHeapMemory>, CancellationToken, Task> Create(ChannelWriter<Netfront<InHeapEvents, InHeapMemory>> connected, bool stay = true) =>
        async (netfront, token) =>
        {
            if (netfront.Queues.Count == 1)
            {
                var frame = TestFrames.Make(1000, netfront.GetHashCode());
                var buffer = new byte[netfront.Queues[0].MaxFrame];
                await netfront.Queues[0].SendAsync(frame, cancellationToken: token);
                var got = await netfront.Queues[0].ReceiveAsync(buffer, token);
                if (!buffer.AsSpan(0, got.Length).SequenceEqual(frame))
                    throw new InvalidOperationException("The frame came back changed.");
            }
            await connected.WriteAsync(netfront, token);
            if (stay)
                await Task.Delay(Timeout.Infinite, token);
        };
}
