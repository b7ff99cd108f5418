using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using Xen.Store;
using Xen.Store.Server;

namespace Vchan.Tests;

/// <summary><c>AddVchan</c>: two containers, one per domain, sharing in-heap hubs, as two programs would.</summary>
public sealed class DependencyInjectionTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();

    public void Dispose()
    {
        _grantHub.Dispose();
        _eventHub.Dispose();
    }

    private ServiceCollection Domain(ushort id, Action<VchanOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(_eventHub).AddSingleton(_grantHub)
            .AddXenInHeap(o => o.Domain = id)
            .AddVchan<InHeapEvents, InHeapMemory>(configure);
        return services;
    }

    private static async Task<string> ReadAllAsync(VchanEndpoint end, int length)
    {
        var buffer = new byte[length];
        for (var read = 0; read < length;)
        {
            var n = await end.ReadAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Timeout);
            Assert.NotEqual(0, n);
            read += n;
        }
        return Encoding.ASCII.GetString(buffer);
    }

    [Fact]
    public async Task A_vchan_from_one_containers_factory_carries_bytes_to_the_others()
    {
        await using var one = Domain(1).BuildServiceProvider();
        await using var two = Domain(2).BuildServiceProvider();
        var server = one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().Listen(clientDomain: 2);
        var client = two.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().Connect(serverDomain: 1, server.Rendezvous);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        await client.WriteAsync("ping from 2"u8.ToArray()).AsTask().WaitAsync(Timeout);
        await server.WriteAsync("pong from 1"u8.ToArray()).AsTask().WaitAsync(Timeout);
        Assert.Equal("ping from 2", await ReadAllAsync(server, 11));
        Assert.Equal("pong from 1", await ReadAllAsync(client, 11));
    }

    [Fact]
    public async Task The_options_set_the_rings_and_the_spin_time()
    {
        await using var one = Domain(1, o => { o.LeftMin = 8192; o.RightMin = 16384; o.SpinTime = TimeSpan.Zero; }).BuildServiceProvider();
        using var server = one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().Listen(clientDomain: 2);
        Assert.Equal(13, server.LeftOrder);
        Assert.Equal(14, server.RightOrder);
        Assert.Equal(TimeSpan.Zero, server.SpinTime);
    }

    [Fact]
    public void Ring_sizes_out_of_range_fail_when_the_factory_is_resolved()
    {
        using var one = Domain(1, o => o.LeftMin = 2 << 20).BuildServiceProvider();
        Assert.Throws<ArgumentOutOfRangeException>(() => one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>());
    }

    [Fact]
    public async Task Through_Xenstore_a_client_finds_the_server_by_port_name()
    {
        using var daemon = new XenstoreServer();
        await using (var toolstack = XenstoreClient.Connect(daemon.Connect()))
        {
            // The toolstack's part: the server's data directory is its own.
            await toolstack.MkdirAsync("/local/domain/1/data").WaitAsync(Timeout);
            await toolstack.SetPermissionsAsync("/local/domain/1/data", XsPermissions.Create(1)).WaitAsync(Timeout);
        }
        await using var one = Domain(1).AddXenstore(_ => XenstoreClient.Connect(daemon.Connect(domain: 1))).BuildServiceProvider();
        await using var two = Domain(2).AddXenstore(_ => XenstoreClient.Connect(daemon.Connect(domain: 2))).BuildServiceProvider();
        var server = await one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().ListenAsync(2, "data-di").WaitAsync(Timeout);
        var client = await two.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().ConnectAsync(1, "data-di").WaitAsync(Timeout);
        await client.WriteAsync("over xenstore"u8.ToArray()).AsTask().WaitAsync(Timeout);
        Assert.Equal("over xenstore", await ReadAllAsync(server, 13));
        await server.DisposeAsync();
        await using var look = XenstoreClient.Connect(daemon.Connect());
        Assert.Null(await look.TryReadAsync(VchanXenstore.PathOf(1, 2, "data-di") + "/ring-ref").WaitAsync(Timeout));
    }

    [Fact]
    public async Task Disposing_the_container_closes_open_vchans_before_the_backends_go()
    {
        var one = Domain(1).BuildServiceProvider();
        await using var two = Domain(2).BuildServiceProvider();
        var server = one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().Listen(clientDomain: 2);
        var client = two.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>().Connect(serverDomain: 1, server.Rendezvous);
        await server.WriteAsync("last words"u8.ToArray()).AsTask().WaitAsync(Timeout);
        one.Dispose();   // the vchan first (a clean close the peer reads to the end), then memory, then events
        Assert.Equal(VchanState.Closed, server.State);
        Assert.False(_eventHub.IsOpen(1));
        Assert.Equal("last words", await ReadAllAsync(client, 10));
        Assert.Equal(0, await client.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void A_disposed_factory_opens_no_more_vchans()
    {
        var one = Domain(1).BuildServiceProvider();
        var factory = one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>();
        one.Dispose();
        Assert.Throws<ObjectDisposedException>(() => factory.Listen(clientDomain: 2));
    }

    [Fact]
    public void Without_a_backend_resolving_the_factory_says_how_to_register_one()
    {
        using var provider = new ServiceCollection().AddVchan<InHeapEvents, InHeapMemory>().BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>());
        Assert.Contains("InHeapEvents", e.Message, StringComparison.Ordinal);
        Assert.Contains("AddXenBackend()", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listening_by_port_name_without_Xenstore_says_to_register_it()
    {
        await using var one = Domain(1).BuildServiceProvider();
        var factory = one.GetRequiredService<VchanFactory<InHeapEvents, InHeapMemory>>();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => factory.ListenAsync(2, "p"));
        Assert.Contains("AddXenstore", e.Message, StringComparison.Ordinal);
    }
}
