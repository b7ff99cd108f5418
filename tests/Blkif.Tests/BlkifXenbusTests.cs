using Blkif.Storage;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using Xen.Store;
using Xen.Store.Server;

namespace Blkif.Tests;

/// <summary>Blkfront and blkback meeting through an in-heap Xenstore daemon, each end its own domain.</summary>
public sealed class BlkifXenbusTests : IAsyncLifetime
{
    private const ushort BackendDomain = 2;
    private const ushort FrontendDomain = 3;
    private static readonly XenbusDevice Device = new(BlkifXenbus.DeviceType, 51712, FrontendDomain, BackendDomain);

    private readonly XenstoreServer _server = new();
    private readonly InHeapEventHub _events = new();
    private readonly InHeapGrantHub _grants = new();
    private readonly MemoryStorage _storage = new(1 << 20);
    private InHeapDomain _back = null!;
    private InHeapDomain _front = null!;
    private XenstoreClient _toolstack = null!;
    private XenstoreClient _frontClient = null!;
    private XenstoreClient _backClient = null!;

    public async Task InitializeAsync()
    {
        _back = InHeapDomain.Open(_events, _grants, BackendDomain);
        _front = InHeapDomain.Open(_events, _grants, FrontendDomain);
        _toolstack = XenstoreClient.Connect(_server.Connect());
        _frontClient = XenstoreClient.Connect(_server.Connect(domain: FrontendDomain));
        _backClient = XenstoreClient.Connect(_server.Connect(domain: BackendDomain));
        foreach (var d in new[] { BackendDomain, FrontendDomain })
        {
            await _toolstack.MkdirAsync($"/local/domain/{d}");
            await _toolstack.SetPermissionsAsync($"/local/domain/{d}", XsPermissions.Create(d));
        }
        await BlkifXenbus.CreateDeviceAsync(_toolstack, Device, readOnly: false, "/images/disk.img");
    }

    public async Task DisposeAsync()
    {
        await _toolstack.DisposeAsync();
        await _frontClient.DisposeAsync();
        await _backClient.DisposeAsync();
        _server.Dispose();
        _front.Dispose();
        _back.Dispose();
        _grants.Dispose();
        _events.Dispose();
        _storage.Dispose();
    }

    private Blkback<InHeapEvents, InHeapMemory> NewBackend(BlkbackOptions? options = null) => new(_back.Events, _back.Memory, _storage, options);

    private async Task<(Blkback<InHeapEvents, InHeapMemory> Back, Blkfront<InHeapEvents, InHeapMemory> Front)> ConnectAsync(BlkbackOptions? backOptions = null, BlkfrontOptions? frontOptions = null)
    {
        var back = NewBackend(backOptions);
        // The frontend starts first: it must wait for the backend's InitWait.
        var front = BlkifXenbus.ConnectFrontendAsync(_frontClient, Device, _front.Events, _front.Memory, frontOptions, TestData.Timeout());
        await BlkifXenbus.ConnectBackendAsync(_backClient, Device, back, TestData.Timeout());
        return (back, await front);
    }

    [Fact]
    public async Task Both_ends_reach_connected_and_the_disk_works()
    {
        var (back, front) = await ConnectAsync();
        await using (back)
        await using (front)
        {
            Assert.Equal(XenbusState.Connected, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
            Assert.Equal(XenbusState.Connected, await Xenbus.ReadStateAsync(_toolstack, Device.FrontendPath));
            Assert.Equal(1 << 20, front.Length);
            var data = TestData.Pattern(64 << 10, 1);
            await front.WriteAsync(8192, data, TestData.Timeout());
            var read = new byte[data.Length];
            await front.ReadAsync(8192, read, TestData.Timeout());
            Assert.Equal(data, read);
        }
    }

    [Fact]
    public async Task The_toolstack_step_writes_what_a_linux_blkfront_reads_in_its_probe()
    {
        // Read as the frontend's own domain: the keys must be there and readable before any driver starts.
        Assert.Equal("51712", await _frontClient.ReadAsync(Device.FrontendPath + "/virtual-device"));
        Assert.Equal("disk", await _frontClient.ReadAsync(Device.FrontendPath + "/device-type"));
        Assert.Equal(Device.BackendPath, await _frontClient.ReadAsync(Device.FrontendPath + "/backend"));
        Assert.Equal(XenbusState.Initialising, await Xenbus.ReadStateAsync(_frontClient, Device.FrontendPath));
        Assert.Equal("1", await _backClient.ReadAsync(Device.BackendPath + "/online"));
        Assert.Equal("w", await _backClient.ReadAsync(Device.BackendPath + "/mode"));
        Assert.Equal("/images/disk.img", await _backClient.ReadAsync(Device.BackendPath + "/params"));
        Assert.Equal("disk", await _frontClient.ReadAsync(Device.BackendPath + "/device-type"));
    }

    [Fact]
    public async Task The_backend_publishes_the_standard_keys()
    {
        var (back, front) = await ConnectAsync(new BlkbackOptions { MaxQueues = 4, MaxRingPageOrder = 2, MaxIndirectSegments = 64 });
        await using (back)
        await using (front)
        {
            async Task<string> Key(string name) => await _toolstack.ReadAsync(Device.BackendPath + "/" + name);
            Assert.Equal("2048", await Key("sectors"));
            Assert.Equal("512", await Key("sector-size"));
            Assert.Equal("512", await Key("physical-sector-size"));
            Assert.Equal("0", await Key("info"));
            Assert.Equal("w", await Key("mode"));
            Assert.Equal("1", await Key("feature-flush-cache"));
            Assert.Equal("1", await Key("feature-barrier"));
            Assert.Equal("1", await Key("feature-discard"));
            Assert.Equal("512", await Key("discard-granularity"));
            Assert.Equal("0", await Key("discard-alignment"));
            Assert.Equal("0", await Key("discard-secure"));
            Assert.Equal("1", await Key("feature-persistent"));
            Assert.Equal("64", await Key("feature-max-indirect-segments"));
            Assert.Equal("2", await Key("max-ring-page-order"));
            Assert.Equal("4", await Key("multi-queue-max-queues"));
        }
    }

    [Fact]
    public async Task A_one_page_single_queue_frontend_publishes_ring_ref_and_event_channel()
    {
        var (back, front) = await ConnectAsync(frontOptions: new BlkfrontOptions { RingPageOrder = 0, Queues = 1 });
        await using (back)
        await using (front)
        {
            var keys = await _toolstack.DirectoryAsync(Device.FrontendPath);
            Assert.Contains("ring-ref", keys);
            Assert.Contains("event-channel", keys);
            Assert.DoesNotContain("ring-page-order", keys);
            Assert.DoesNotContain("multi-queue-num-queues", keys);
            Assert.Equal("x86_64-abi", await _toolstack.ReadAsync(Device.FrontendPath + "/protocol"));
            Assert.Equal("1", await _toolstack.ReadAsync(Device.FrontendPath + "/feature-persistent"));
            Assert.Equal(front.FrontendInfo.Queues[0].RingRefs[0].ToString(), await _toolstack.ReadAsync(Device.FrontendPath + "/ring-ref"));
        }
    }

    [Fact]
    public async Task A_multi_page_multi_queue_frontend_publishes_queue_directories_and_works()
    {
        var (back, front) = await ConnectAsync(new BlkbackOptions { MaxQueues = 2, MaxRingPageOrder = 2 }, new BlkfrontOptions { RingPageOrder = 4, Queues = 4 });
        await using (back)
        await using (front)
        {
            // Each is clamped to what the backend offered.
            Assert.Equal("2", await _toolstack.ReadAsync(Device.FrontendPath + "/multi-queue-num-queues"));
            Assert.Equal("2", await _toolstack.ReadAsync(Device.FrontendPath + "/ring-page-order"));
            for (var q = 0; q < 2; q++)
            {
                var keys = await _toolstack.DirectoryAsync($"{Device.FrontendPath}/queue-{q}");
                Assert.Equal(["event-channel", "ring-ref0", "ring-ref1", "ring-ref2", "ring-ref3"], keys.Order(StringComparer.Ordinal));
            }
            var data = TestData.Pattern(256 << 10, 2);
            await front.WriteAsync(0, data, TestData.Timeout());
            var read = new byte[data.Length];
            await front.ReadAsync(0, read, TestData.Timeout());
            Assert.Equal(data, read);
        }
    }

    [Fact]
    public async Task The_standard_close_leaves_both_ends_closed()
    {
        var (back, front) = await ConnectAsync();
        var serving = BlkifXenbus.ServeBackendAsync(_backClient, Device, back, cancellationToken: TestData.Timeout());
        Assert.True(await BlkifXenbus.CloseFrontendAsync(_frontClient, Device, front, TimeSpan.FromSeconds(30), TestData.Timeout()));
        Assert.True(await serving);
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(_toolstack, Device.FrontendPath));
    }

    [Fact]
    public async Task A_frontend_that_starts_again_asks_a_backend_left_Closed_to_start_again_as_Linuxs_blkback_needs()
    {
        var (back, front) = await ConnectAsync();
        var serving = BlkifXenbus.ServeBackendAsync(_backClient, Device, back, cancellationToken: TestData.Timeout());
        Assert.True(await BlkifXenbus.CloseFrontendAsync(_frontClient, Device, front, TimeSpan.FromSeconds(30), TestData.Timeout()));
        await serving;
        // Linux's xen-blkback keeps an online device Closed, and goes back to InitWait only when the frontend
        // is Initialising again (drivers/block/xen-blkback/xenbus.c, frontend_changed).
        var linux = Task.Run(async () =>
        {
            await Xenbus.WaitForStateAsync(_backClient, Device.FrontendPath, s => s == XenbusState.Initialising, TestData.Timeout());
            var again = NewBackend();
            await BlkifXenbus.ConnectBackendAsync(_backClient, Device, again, TestData.Timeout());
            return again;
        });

        await using var frontAgain = await BlkifXenbus.ConnectFrontendAsync(_frontClient, Device, _front.Events, _front.Memory, null, TestData.Timeout());
        await using var backAgain = await linux;

        var data = TestData.Pattern(8192, 2);
        await frontAgain.WriteAsync(0, data, TestData.Timeout());
        Assert.Equal(data, _storage.Bytes[..8192].ToArray());
    }

    [Fact]
    public async Task A_frontend_that_dies_without_closing_still_lets_the_backend_close()
    {
        var (back, front) = await ConnectAsync();
        var serving = BlkifXenbus.ServeBackendAsync(_backClient, Device, back, cancellationToken: TestData.Timeout());
        _events.Kill(FrontendDomain);
        Assert.False(await serving.WaitAsync(TestData.Timeout()));
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
        await front.DisposeAsync();
    }

    [Fact]
    public async Task A_frontend_whose_backend_closes_before_connecting_fails_with_eio()
    {
        var front = BlkifXenbus.ConnectFrontendAsync(_frontClient, Device, _front.Events, _front.Memory, null, TestData.Timeout());
        // The backend offers itself, lets the frontend publish its rings, then closes instead of connecting.
        // It closes only once the frontend waits for Connected: a backend already Closed when the frontend
        // first looks is an earlier connection's, and is asked to start again instead.
        await Xenbus.SetStateAsync(_backClient, Device.BackendPath, XenbusState.InitWait);
        await Xenbus.WaitForStateAsync(_backClient, Device.FrontendPath, s => s == XenbusState.Initialised, TestData.Timeout());
        await Xenbus.SetStateAsync(_backClient, Device.BackendPath, XenbusState.Closed);
        var e = await Assert.ThrowsAsync<XenstoreException>(() => front);
        Assert.Equal(XsError.EIO, e.Error);
    }

    [Fact]
    public async Task A_new_backend_closes_a_device_a_dead_backend_left_connected_and_the_frontend_connects_again()
    {
        var (dead, old) = await ConnectAsync();
        // The backend dies: its rings go, its state stays Connected, and so does the frontend's.
        await dead.DisposeAsync();
        // The frontend behaves as Linux's blkfront: it follows a close, then starts again from Closed.
        var frontend = Task.Run(async () =>
        {
            await Xenbus.WaitForStateAsync(_frontClient, Device.BackendPath, s => s == XenbusState.Closing, TestData.Timeout());
            await old.DisposeAsync();
            await Xenbus.SetStateAsync(_frontClient, Device.FrontendPath, XenbusState.Closed);
            await Xenbus.WaitForStateAsync(_frontClient, Device.BackendPath, s => s == XenbusState.InitWait, TestData.Timeout());
            return await BlkifXenbus.ConnectFrontendAsync(_frontClient, Device, _front.Events, _front.Memory, null, TestData.Timeout());
        });
        await using var back = NewBackend();
        await BlkifXenbus.ConnectBackendAsync(_backClient, Device, back, TestData.Timeout());
        await using var front = await frontend;

        var data = TestData.Pattern(16 << 10, 7);
        await front.WriteAsync(0, data, TestData.Timeout());
        var read = new byte[data.Length];
        await front.ReadAsync(0, read, TestData.Timeout());
        Assert.Equal(data, read);
        Assert.Equal(XenbusState.Connected, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
    }

    [Fact]
    public async Task A_backend_given_malformed_frontend_keys_refuses_them()
    {
        await using var back = NewBackend();
        var connect = BlkifXenbus.ConnectBackendAsync(_backClient, Device, back, TestData.Timeout());
        await Xenbus.WaitForStateAsync(_frontClient, Device.BackendPath, s => s == XenbusState.InitWait, TestData.Timeout());
        await _frontClient.WriteAsync(Device.FrontendPath + "/ring-ref", "8");
        await _frontClient.WriteAsync(Device.FrontendPath + "/event-channel", "not-a-port");
        await Xenbus.SetStateAsync(_frontClient, Device.FrontendPath, XenbusState.Initialised);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => connect);
        Assert.Contains("event-channel", e.Message, StringComparison.Ordinal);
        Assert.Equal(XenbusState.InitWait, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
    }
}
