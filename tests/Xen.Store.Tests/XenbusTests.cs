using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class XenbusTests : IAsyncLifetime
{
    private static readonly XenbusDevice Device = new("vif", 0, FrontendDomain: 1, BackendDomain: 2);
    private readonly XenstoreServer _server = new();
    private XenstoreClient _toolstack = null!;
    private XenstoreClient _frontend = null!;
    private XenstoreClient _backend = null!;

    public async Task InitializeAsync()
    {
        _toolstack = XenstoreClient.Connect(_server.Connect());
        _frontend = XenstoreClient.Connect(_server.Connect(domain: 1));
        _backend = XenstoreClient.Connect(_server.Connect(domain: 2));
        foreach (ushort d in new ushort[] { 1, 2 })
        {
            await _toolstack.MkdirAsync($"/local/domain/{d}");
            await _toolstack.SetPermissionsAsync($"/local/domain/{d}", XsPermissions.Create(d));
        }
        await Xenbus.CreateDeviceAsync(_toolstack, Device);
    }

    public async Task DisposeAsync()
    {
        await _toolstack.DisposeAsync();
        await _frontend.DisposeAsync();
        await _backend.DisposeAsync();
        _server.Dispose();
    }

    [Fact]
    public void Device_paths_follow_the_xenbus_layout()
    {
        Assert.Equal("/local/domain/1/device/vif/0", Device.FrontendPath);
        Assert.Equal("/local/domain/2/backend/vif/1/0", Device.BackendPath);
    }

    [Fact]
    public async Task The_toolstack_links_both_ends_and_each_can_read_the_other()
    {
        Assert.Equal(Device.BackendPath, await _frontend.ReadAsync(Device.FrontendPath + "/backend"));
        Assert.Equal("2", await _frontend.ReadAsync(Device.FrontendPath + "/backend-id"));
        Assert.Equal(Device.FrontendPath, await _backend.ReadAsync(Device.BackendPath + "/frontend"));
        Assert.Equal(XenbusState.Initialising, await Xenbus.ReadStateAsync(_frontend, Device.BackendPath));
        Assert.Equal(XenbusState.Initialising, await Xenbus.ReadStateAsync(_backend, Device.FrontendPath));
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _frontend.WriteAsync(Device.BackendPath + "/state", "4"));
        Assert.Equal(XsError.EACCES, e.Error);
    }

    [Fact]
    public async Task The_standard_connect_sequence_reaches_connected_on_both_ends()
    {
        string? ringRef = null;
        // The frontend starts first and must wait for the backend's features.
        var frontend = Xenbus.FrontendConnectAsync(_frontend, Device, async tx =>
        {
            Assert.Equal("1", await tx.ReadAsync(Device.BackendPath + "/feature-rx-copy"));
            await tx.WriteAsync(Device.FrontendPath + "/tx-ring-ref", "8");
        }, Timeouts.Token);
        await Xenbus.BackendInitWaitAsync(_backend, Device, [new("feature-rx-copy", "1")], Timeouts.Token);
        await Xenbus.BackendConnectAsync(_backend, Device, async c => ringRef = await c.ReadAsync(Device.FrontendPath + "/tx-ring-ref"), Timeouts.Token);
        await frontend.Within();
        Assert.Equal("8", ringRef);
        Assert.Equal(XenbusState.Connected, await Xenbus.ReadStateAsync(_toolstack, Device.FrontendPath));
        Assert.Equal(XenbusState.Connected, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
    }

    [Fact]
    public async Task The_close_sequence_reaches_closed_on_both_ends()
    {
        await Xenbus.SetStateAsync(_frontend, Device.FrontendPath, XenbusState.Connected);
        await Xenbus.SetStateAsync(_backend, Device.BackendPath, XenbusState.Connected);
        var front = Xenbus.CloseAsync(_frontend, Device.FrontendPath, Device.BackendPath, Timeouts.Token);
        await Xenbus.WaitForStateAsync(_backend, Device.FrontendPath, s => s == XenbusState.Closing, Timeouts.Token);
        await Xenbus.CloseAsync(_backend, Device.BackendPath, Device.FrontendPath, Timeouts.Token);
        await front.Within();
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(_toolstack, Device.FrontendPath));
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(_toolstack, Device.BackendPath));
    }

    [Fact]
    public async Task A_frontend_waiting_for_a_backend_that_closes_gets_an_error()
    {
        var frontend = Xenbus.FrontendConnectAsync(_frontend, Device, _ => Task.CompletedTask, Timeouts.Token);
        await Xenbus.SetStateAsync(_backend, Device.BackendPath, XenbusState.Closed);
        var e = await Assert.ThrowsAsync<XenstoreException>(() => frontend.Within());
        Assert.Equal(XsError.EIO, e.Error);
    }

    [Fact]
    public async Task A_malformed_state_reads_as_unknown()
    {
        await _backend.WriteAsync(Device.BackendPath + "/state", "garbage");
        Assert.Equal(XenbusState.Unknown, await Xenbus.ReadStateAsync(_frontend, Device.BackendPath));
    }
}
