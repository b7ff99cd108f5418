using System.Diagnostics;
using System.Globalization;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Unix.Tests;

namespace Xen.Store.Tests;

/// <summary>
/// A guest process on its shared Xenstore page, served by the real <c>mirage xenstored --domain-pages</c>
/// process over the Unix backends: this test process is domain 1, the daemon domain 0.
/// </summary>
public sealed class DomainPagesProcessTests : IDisposable
{
    private readonly string _root = Path.Combine("/dev/shm", "mirage-xs-pages-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public async Task A_guest_process_reaches_the_daemon_process_over_its_shared_page()
    {
        using var daemon = new DaemonProcess(["--domain-pages", "--root", _root]);
        using var events = UnixEvents.Create(1, _root);
        using var memory = UnixMemory.Create(1, _root, events.SendOnPort());
        await using var dom0 = await XenstoreClient.ConnectAsync(daemon.SocketPath, Timeouts.Token);
        await dom0.MkdirAsync("/local/domain/1", Timeouts.Token);
        await dom0.SetPermissionsAsync("/local/domain/1", XsPermissions.Create(1), Timeouts.Token);
        await dom0.WriteAsync("/secret", "dom0 only", Timeouts.Token);

        // What a guest does at boot, and what the toolstack in dom0 then says to the daemon.
        using var page = memory.Share(remoteDomain: 0, pageCount: 1, writable: true);
        var (port, channel) = events.Listen(remoteDomain: 0);
        await using var guest = XenstoreClient.ConnectPage(events, channel, page);
        await dom0.IntroduceAsync(1, page.Refs[0].Value, port.Value, Timeouts.Token);

        await guest.WriteAsync("data/greeting", "hello", Timeouts.Token);
        Assert.Equal("hello", await dom0.ReadAsync("/local/domain/1/data/greeting", Timeouts.Token));
        Assert.Equal(1, (await dom0.GetPermissionsAsync("/local/domain/1/data/greeting", Timeouts.Token)).Owner);
        var denied = await Assert.ThrowsAsync<XenstoreException>(() => guest.ReadAsync("/secret", Timeouts.Token));
        Assert.Equal(XsError.EACCES, denied.Error);
        Assert.True(await dom0.IsDomainIntroducedAsync(1, Timeouts.Token));
    }

    [Fact]
    public async Task A_killed_guest_process_is_released_at_once_as_xl_destroy_would_release_it()
    {
        using var daemon = new DaemonProcess(["--domain-pages", "--root", _root]);
        await using var dom0 = await XenstoreClient.ConnectAsync(daemon.SocketPath, Timeouts.Token);
        // The guest, domain 2, in its own process: its Xenstore page and event channel, offered to dom0.
        using var guest = new PeerProcess(_root, 2);
        var page = guest.Ask("share 0 1 rw").Split(' ')[1];
        var port = guest.Ask("listen 0");
        await dom0.IntroduceAsync(2, long.Parse(page, CultureInfo.InvariantCulture), uint.Parse(port, CultureInfo.InvariantCulture), Timeouts.Token);
        Assert.True(await dom0.IsDomainIntroducedAsync(2, Timeouts.Token));
        await using var released = dom0.WatchAsync(XsWire.ReleaseDomain, Timeouts.Token).GetAsyncEnumerator();
        Assert.True(await released.MoveNextAsync());   // a watch fires once when it is set

        guest.Kill();
        var clock = Stopwatch.StartNew();
        Assert.True(await released.MoveNextAsync());
        var noticed = clock.Elapsed;
        Assert.False(await dom0.IsDomainIntroducedAsync(2, Timeouts.Token));
        // The requirement: the daemon, and every backend watching @releaseDomain, knows within a second.
        Assert.True(noticed < TimeSpan.FromSeconds(1), $"@releaseDomain fired {noticed.TotalMilliseconds:F0} ms after the kill");
    }
}
