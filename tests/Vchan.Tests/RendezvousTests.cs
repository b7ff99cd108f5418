using System.Globalization;
using Xen.Store;
using Xen.Store.Server;

namespace Vchan.Tests;

/// <summary>How a client reads the rendezvous a server publishes in Xenstore.</summary>
public sealed class RendezvousTests
{
    [Fact]
    public async Task A_client_reads_ring_ref_and_event_channel_from_the_same_server()
    {
        // A server starting again and again on the same port: each start writes both keys in one
        // transaction, here both the same number, so a pair that differs came from two starts.
        using var daemon = new XenstoreServer();
        await using var servers = XenstoreClient.Connect(daemon.Connect());
        var path = VchanXenstore.PathOf(1, 2, "restarts");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starts = 0;
        var restarting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var start = (++starts).ToString(CultureInfo.InvariantCulture);
                await servers.TransactionAsync(async tx =>
                {
                    await tx.WriteAsync(path + "/ring-ref", start);
                    await tx.WriteAsync(path + "/event-channel", start);
                });
            }
        });
        try
        {
            // Clients on connections of their own, so that reads and starts interleave every way.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                await using var client = XenstoreClient.Connect(daemon.Connect());
                for (var read = 0; read < 2000; read++)
                {
                    var (ringRef, eventChannel) = await VchanXenstore.ReadRendezvousAsync(client, path, stop.Token);
                    Assert.Equal(ringRef, eventChannel);
                }
            })));
        }
        finally
        {
            await stop.CancelAsync();
            await restarting;
        }
        Assert.True(starts > 10, $"the server started only {starts} times while the client read");
    }
}
