using SharedMemoryRing;
using TestSupport;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>
/// The daemon as a real host runs it (<c>mirage xenstored --backend xenctrl</c>): every guest's page is
/// one fixed grant, and the host, not the page connection, says when a domain is gone
/// (<see cref="XenstoreServer.ReleaseDomain"/>, <see cref="XenstoreServer.ReportShutdown"/>). Over the
/// in-heap backends; the rig runs the same against Xen (xen-vm/check-host-xenstored.sh).
/// </summary>
public sealed class HostDomainTests : IAsyncLifetime
{
    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();
    private readonly XenstoreServer _server = new();
    private InHeapEvents _events1;
    private InHeapMemory _memory1;
    private Share _page = null!;
    private XenstoreClient _dom0 = null!;

    public async Task InitializeAsync()
    {
        _events1 = _eventHub.Open(1);
        _memory1 = _grantHub.Open(1);
        // The guest's page exists before the daemon learns of it, as the domain builder grants it.
        _page = _memory1.Share(remoteDomain: 0, pageCount: 1, writable: true);
        _server.AcceptDomainPages(_eventHub.Open(0), _grantHub.Open(0), page: _page.Refs[0], releaseWhenPageEnds: false);
        _dom0 = XenstoreClient.Connect(_server.Connect());
        await _dom0.MkdirAsync("/local/domain/1");
        await _dom0.SetPermissionsAsync("/local/domain/1", XsPermissions.Create(1));
    }

    public async Task DisposeAsync()
    {
        await _dom0.DisposeAsync();
        _server.Dispose();
        _page.Dispose();
        _eventHub.Dispose();
        _grantHub.Dispose();
    }

    /// <summary>Boots the guest: offers a port; dom0 introduces it with a machine frame number, as libxl does.</summary>
    private async Task<XenstoreClient> BootGuestAsync()
    {
        var (port, channel) = _events1.Listen(remoteDomain: 0);
        var client = XenstoreClient.ConnectPage(_events1, channel, _page);
        await _dom0.IntroduceAsync(1, 0x12345678, port.Value);
        return client;
    }

    [Fact]
    public async Task Introduce_maps_the_fixed_grant_whatever_the_mfn_says()
    {
        await using var guest = await BootGuestAsync();
        await guest.WriteAsync("data/x", "1").Within();
        Assert.Equal("1", await _dom0.ReadAsync("/local/domain/1/data/x"));
        Assert.Equal([(ushort)1], _server.IntroducedDomains);
    }

    [Fact]
    public async Task ReleaseDomain_cuts_the_guest_off_drops_its_watches_and_fires_releaseDomain()
    {
        await using var guest = await BootGuestAsync();
        await using var released = _dom0.WatchAsync(XsWire.ReleaseDomain, Timeouts.Token).GetAsyncEnumerator();
        Assert.True(await released.MoveNextAsync().AsTask().Within());
        await using var watched = guest.WatchAsync("device", Timeouts.Token).GetAsyncEnumerator();
        Assert.True(await watched.MoveNextAsync().AsTask().Within());

        Assert.True(_server.ReleaseDomain(1, "Xen is destroying it"));

        Assert.True(await released.MoveNextAsync().AsTask().Within());
        Assert.False(await _dom0.IsDomainIntroducedAsync(1));
        Assert.Empty(_server.IntroducedDomains);
        await Assert.ThrowsAnyAsync<Exception>(() => guest.ReadAsync("data/x").Within());
        Assert.False(_server.ReleaseDomain(1, "again"));
    }

    [Fact]
    public async Task ReportShutdown_tells_releaseDomain_once_and_keeps_the_domain_until_resumed()
    {
        await using var guest = await BootGuestAsync();
        await using var released = _dom0.WatchAsync(XsWire.ReleaseDomain, Timeouts.Token).GetAsyncEnumerator();
        Assert.True(await released.MoveNextAsync().AsTask().Within());

        Assert.True(_server.ReportShutdown(1));
        Assert.True(await released.MoveNextAsync().AsTask().Within());
        Assert.False(_server.ReportShutdown(1));
        Assert.True(await _dom0.IsDomainIntroducedAsync(1));
        Assert.Equal("up", await WriteThenReadAsync(guest));

        await _dom0.RequestAsync(XsMessageType.Resume, "1\0"u8.ToArray(), 0, CancellationToken.None);
        Assert.True(_server.ReportShutdown(1));
    }

    [Fact]
    public async Task A_guest_cut_off_for_a_broken_ring_stays_introduced_until_the_host_releases_it()
    {
        var (port, channel) = _events1.Listen(remoteDomain: 0);
        await _dom0.IntroduceAsync(1, 0x12345678, port.Value);
        unsafe
        {
            *(uint*)(_page.Pointer + XenstoreRingLayout.ReqProdOffset) = 5000;
        }
        _events1.Send(channel);
        await Until.TrueAsync(() => ErrorOf(_page) == 2, "the daemon never flagged the ring");
        await Until.TrueAsync(() => _server.ConnectionCount == 1, "the daemon kept serving the broken ring");
        Assert.True(await _dom0.IsDomainIntroducedAsync(1));
        Assert.True(_server.ReleaseDomain(1, "Xen is destroying it"));
    }

    private static async Task<string> WriteThenReadAsync(XenstoreClient guest)
    {
        await guest.WriteAsync("state", "up").Within();
        return await guest.ReadAsync("state").Within();
    }

    private static unsafe uint ErrorOf(PageBuffer page) => Volatile.Read(ref *(uint*)(page.Pointer + XenstoreRingLayout.ErrorOffset));
}
