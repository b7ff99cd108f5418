using System.Net.Sockets;

namespace Xen.Store.Tests;

/// <summary>A client whose daemon accepts requests and never answers them.</summary>
public sealed class SilentDaemonTests : IDisposable
{
    private readonly Socket _daemon;
    private readonly XenstoreClient _client;

    public SilentDaemonTests()
    {
        (var socket, _daemon) = SocketPair.Create();
        _client = XenstoreClient.Connect(new NetworkStream(socket, ownsSocket: true));
    }

    public void Dispose()
    {
        _client.Dispose();
        _daemon.Dispose();
    }

    [Fact]
    public async Task Cancelled_requests_leave_nothing_behind()
    {
        for (var i = 0; i < 100; i++)
        {
            using var cancel = new CancellationTokenSource();
            var read = _client.ReadAsync("/never/answered", cancel.Token);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.Within());
        }
        Assert.Equal(0, _client.PendingRequests);
    }
}
