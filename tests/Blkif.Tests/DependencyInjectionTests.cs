using Blkif.Storage;
using Microsoft.Extensions.DependencyInjection;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using Xen.Store;

namespace Blkif.Tests;

/// <summary><c>AddBlkif</c>: a backend container (domain 0) and a frontend container (domain 1) sharing in-heap hubs.</summary>
public sealed class DependencyInjectionTests : IDisposable
{
    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();
    private readonly MemoryStorage _storage = new(1 << 20);

    public void Dispose()
    {
        _grantHub.Dispose();
        _eventHub.Dispose();
        _storage.Dispose();
    }

    private ServiceCollection Domain(ushort id, Action<BlkifOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(_eventHub).AddSingleton(_grantHub)
            .AddXenInHeap(o => o.Domain = id)
            .AddBlkif<InHeapEvents, InHeapMemory>(configure);
        return services;
    }

    private static BlkifFactory<InHeapEvents, InHeapMemory> Factory(IServiceProvider provider) =>
        provider.GetRequiredService<BlkifFactory<InHeapEvents, InHeapMemory>>();

    private async Task WriteAndReadBackAsync(IBlockDevice front)
    {
        var data = TestData.Pattern(8192, 7);
        await front.WriteAsync(4096, data, TestData.Timeout());
        var back = new byte[8192];
        await front.ReadAsync(4096, back, TestData.Timeout());
        Assert.Equal(data, back);
        Assert.Equal(data, _storage.Bytes.Slice(4096, 8192).ToArray());
    }

    [Fact]
    public async Task A_blkfront_and_a_blkback_from_two_containers_write_and_read_the_disk()
    {
        await using var back = Domain(0).BuildServiceProvider();
        await using var front = Domain(1).BuildServiceProvider();
        var blkback = Factory(back).CreateBlkback(_storage);
        var blkfront = Factory(front).CreateBlkfront(backendDomain: 0, blkback.Info);
        blkback.Connect(frontendDomain: 1, blkfront.FrontendInfo);
        await WriteAndReadBackAsync(blkfront);
    }

    [Fact]
    public async Task The_options_set_what_the_backend_offers_and_the_frontend_asks_for()
    {
        await using var back = Domain(0, o => o.Backend.MaxQueues = 3).BuildServiceProvider();
        await using var front = Domain(1, o => { o.Frontend.Queues = 2; o.Frontend.RingPageOrder = 1; }).BuildServiceProvider();
        var blkback = Factory(back).CreateBlkback(_storage);
        Assert.Equal(3, blkback.Info.MaxQueues);
        var blkfront = Factory(front).CreateBlkfront(backendDomain: 0, blkback.Info);
        Assert.Equal(2, blkfront.FrontendInfo.Queues.Count);
        Assert.Equal(1, blkfront.FrontendInfo.RingPageOrder);
    }

    [Fact]
    public void Options_out_of_range_fail_when_the_factory_is_resolved()
    {
        using var provider = Domain(1, o => o.Frontend.Queues = 0).BuildServiceProvider();
        Assert.Throws<ArgumentOutOfRangeException>(() => Factory(provider));
    }

    [Fact]
    public async Task Through_Xenstore_the_two_ends_connect_serve_and_close()
    {
        using var daemon = new XenstoreServer();
        var device = new XenbusDevice(BlkifXenbus.DeviceType, 51712, FrontendDomain: 1, BackendDomain: 0);
        await using (var toolstack = XenstoreClient.Connect(daemon.Connect()))
        {
            await toolstack.MkdirAsync("/local/domain/1", TestData.Timeout());
            await toolstack.SetPermissionsAsync("/local/domain/1", XsPermissions.Create(1), TestData.Timeout());
            await Xenbus.CreateDeviceAsync(toolstack, device, TestData.Timeout());
        }
        await using var back = Domain(0).AddXenstore(_ => XenstoreClient.Connect(daemon.Connect(domain: 0))).BuildServiceProvider();
        await using var front = Domain(1).AddXenstore(_ => XenstoreClient.Connect(daemon.Connect(domain: 1))).BuildServiceProvider();
        var connecting = Factory(front).ConnectFrontendAsync(51712, backendDomain: 0, TestData.Timeout());
        var blkback = await Factory(back).ConnectBackendAsync(51712, frontendDomain: 1, _storage, TestData.Timeout());
        var serving = Factory(back).ServeBackendAsync(51712, frontendDomain: 1, blkback, TestData.Timeout());
        var blkfront = await connecting;
        await WriteAndReadBackAsync(blkfront);
        Assert.True(await Factory(front).CloseFrontendAsync(51712, backendDomain: 0, blkfront, TestData.Timeout()));
        Assert.True(await serving.WaitAsync(TimeSpan.FromSeconds(30)));   // the frontend closed through Xenstore
    }

    [Fact]
    public async Task Disposing_the_container_disposes_its_blkback_before_the_backends_go()
    {
        await using var front = Domain(1).BuildServiceProvider();
        var back = Domain(0).BuildServiceProvider();
        var blkback = Factory(back).CreateBlkback(_storage);
        var blkfront = Factory(front).CreateBlkfront(backendDomain: 0, blkback.Info);
        blkback.Connect(frontendDomain: 1, blkfront.FrontendInfo);
        back.Dispose();   // throws if the blkback unmapped the frontend's pages with memory that was already gone
        Assert.True(blkback.Completion.IsCompleted);
        Assert.False(_eventHub.IsOpen(0));
        await Assert.ThrowsAsync<BlkifIOException>(() => blkfront.ReadAsync(0, new byte[512], TestData.Timeout()).AsTask());   // its peer is gone
    }

    [Fact]
    public void Without_a_backend_resolving_the_factory_says_how_to_register_one()
    {
        using var provider = new ServiceCollection().AddBlkif<InHeapEvents, InHeapMemory>().BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => Factory(provider));
        Assert.Contains("InHeapEvents", e.Message, StringComparison.Ordinal);
        Assert.Contains("AddXenBackend()", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_without_Xenstore_says_to_register_it()
    {
        await using var provider = Domain(1).BuildServiceProvider();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Factory(provider).ConnectFrontendAsync(51712, 0));
        Assert.Contains("AddXenstore", e.Message, StringComparison.Ordinal);
    }
}
