using System.Net.Sockets;

namespace Xen.Store.Tests;

/// <summary>A daemon's peer that never reads its socket: the daemon must go on serving everyone else.</summary>
public sealed class UnreadSocketTests
{
    [Fact]
    public async Task A_watcher_that_never_reads_its_socket_holds_up_no_other_client()
    {
        // The default output limit (1 MiB) is far above what the socket's buffer takes, so the daemon's
        // sends to the idle peer find the buffer full long before it drops the peer.
        var daemon = await SocketDaemon.StartAsync();

        using var idle = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        idle.Connect(new UnixDomainSocketEndPoint(daemon.Socket));
        idle.Send(Raw.Message(XsMessageType.Watch, 1, 0, Raw.Args("/flood", "t")));
        await using (var writer = await XenstoreClient.ConnectAsync(daemon.Socket))
        {
            // Every write sends the idle peer an event of 2 KiB, under the daemon's lock: 300 of them
            // are more than its socket's buffer holds.
            var path = "/flood/" + new string('x', 2000);
            for (var i = 0; i < 300; i++)
                await writer.WriteAsync(path, "v").Within();
            await using var reader = await XenstoreClient.ConnectAsync(daemon.Socket);
            Assert.Equal("v", await reader.ReadAsync(path).Within());
        }

        // Stopping ends the idle peer's connection too, though the daemon's send to it still waits for
        // room: the peer, still not reading, finds its socket closed at the other end.
        await daemon.DisposeAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        idle.Blocking = false;
        while (true)
        {
            idle.Send("x"u8, SocketFlags.None, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock))
                break;
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the daemon still holds the connection whose send waits");
            await Task.Delay(10);
        }
    }
}
