using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>A socket whose connections act as one domain, for programs that cannot send <c>restrict</c>.</summary>
public class DomainSocketTests
{
    [Fact]
    public async Task Every_connection_on_a_domain_socket_acts_as_that_domain()
    {
        using var server = new XenstoreServer();
        var dir = Directory.CreateTempSubdirectory("mirage-xs-");
        string dom0Socket = Path.Combine(dir.FullName, "socket"), guestSocket = Path.Combine(dir.FullName, "socket-3");
        using var stop = new CancellationTokenSource();
        var dom0Ready = new TaskCompletionSource();
        var guestReady = new TaskCompletionSource();
        var listening = new[]
        {
            server.ListenAsync(dom0Socket, dom0Ready.SetResult, stop.Token),
            server.ListenAsync(guestSocket, 3, guestReady.SetResult, stop.Token),
        };
        await Task.WhenAll(dom0Ready.Task, guestReady.Task).Within();
        await using (var dom0 = await XenstoreClient.ConnectAsync(dom0Socket))
        {
            await dom0.WriteAsync("/secret", "dom0 only");
            await dom0.WriteAsync("/local/domain/3/name", "guest");
            await dom0.SetPermissionsAsync("/local/domain/3/name", XsPermissions.Create(0, XsAccess.None, new XsPermission(3, XsAccess.Read)));
        }
        await using var guest = await XenstoreClient.ConnectAsync(guestSocket);
        // Relative paths resolve under the domain's home, and dom0's nodes are closed to it.
        Assert.Equal("guest", await guest.ReadAsync("name"));
        var denied = await Assert.ThrowsAsync<XenstoreException>(() => guest.ReadAsync("/secret"));
        Assert.Equal(XsError.EACCES, denied.Error);
        await stop.CancelAsync();
        await Task.WhenAll(listening).Within();
        Assert.False(File.Exists(guestSocket));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void The_daemon_offers_a_domain_socket_to_xens_own_tools()
    {
        var dir = Directory.CreateTempSubdirectory("mirage-xs-");
        var guestSocket = Path.Combine(dir.FullName, "socket-3");
        using (var daemon = new DaemonProcess(["--domain-socket", guestSocket + "=3"]))
        {
            Assert.Equal(0, daemon.Tool("xenstore-write", "/secret", "dom0 only", "/local/domain/3/name", "guest").Code);
            Assert.Equal(0, daemon.Tool("xenstore-chmod", "/local/domain/3/name", "n0", "r3").Code);
            // Debian's xenstore-read, on Xen's libxenstore, cannot restrict its connection: the socket does it.
            Assert.Equal((0, "guest\n"), daemon.ToolOn(guestSocket, "xenstore-read", "name"));
            Assert.NotEqual(0, daemon.ToolOn(guestSocket, "xenstore-read", "/secret").Code);
            Assert.Equal(0, daemon.ToolOn(daemon.SocketPath, "xenstore-read", "/secret").Code);
        }
        dir.Delete(recursive: true);
    }
}
