using System.Net.Sockets;
using System.Text;

namespace Xen.Store.Tests;

/// <summary>A client whose daemon accepts requests and answers none of them, or only when the test says.</summary>
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

    [Fact]
    public async Task A_request_cancelled_before_it_is_sent_never_goes_out()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.WriteAsync("/cancelled", "x", cancel.Token).Within());
        // The write never reached the daemon: the next request is the next message it reads.
        var read = _client.ReadAsync("/next", Timeouts.Token);
        var next = await ReceiveAsync();
        Assert.Equal(XsMessageType.Read, next.Header.Type);
        Answer(next.Header, "v"u8.ToArray());
        Assert.Equal("v", await read.Within());
    }

    [Fact]
    public async Task A_transaction_start_cancelled_before_its_reply_ends_the_transaction_it_opened()
    {
        using var cancel = new CancellationTokenSource();
        var transaction = _client.TransactionAsync(_ => Task.CompletedTask, cancel.Token);
        var start = await ReceiveAsync();
        Assert.Equal(XsMessageType.TransactionStart, start.Header.Type);
        await cancel.CancelAsync();
        // The caller does not wait for the daemon's answer...
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => transaction.Within());
        // ...which opened transaction 7 all the same.
        Answer(start.Header, Raw.Args("7"));
        var end = await ReceiveAsync();
        Assert.Equal((XsMessageType.TransactionEnd, 7u, "F\0"), (end.Header.Type, end.Header.TxId, Encoding.ASCII.GetString(end.Payload)));
    }

    [Fact]
    public async Task A_transaction_cancelled_in_its_body_is_aborted_not_committed()
    {
        using var cancel = new CancellationTokenSource();
        var transaction = _client.TransactionAsync(_ => cancel.CancelAsync(), cancel.Token);
        var start = await ReceiveAsync();
        Answer(start.Header, Raw.Args("7"));
        var end = await ReceiveAsync();
        Assert.Equal((XsMessageType.TransactionEnd, 7u, "F\0"), (end.Header.Type, end.Header.TxId, Encoding.ASCII.GetString(end.Payload)));
        // The caller does not wait for the abort's answer.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => transaction.Within());
    }

    [Fact]
    public async Task A_transaction_id_that_is_not_a_number_is_a_XenstoreException()
    {
        var transaction = _client.TransactionAsync(_ => Task.CompletedTask, Timeouts.Token);
        var start = await ReceiveAsync();
        Answer(start.Header, Raw.Args("x7"));
        var e = await Assert.ThrowsAsync<XenstoreException>(() => transaction.Within());
        Assert.Contains("\"x7\"", e.Message);
    }

    // The next message the client sent, read off the daemon's end.
    private async Task<(XsWireHeader Header, byte[] Payload)> ReceiveAsync()
    {
        using var stream = new NetworkStream(_daemon, ownsSocket: false);
        var bytes = new byte[XsWireHeader.Size];
        try
        {
            await stream.ReadExactlyAsync(bytes, Timeouts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("The client sent nothing more in 30 s.");
        }
        var header = XsWireHeader.Read(bytes);
        var payload = new byte[header.Len];
        await stream.ReadExactlyAsync(payload, Timeouts.Token);
        return (header, payload);
    }

    private void Answer(XsWireHeader request, byte[] payload) =>
        _daemon.Send(Raw.Message(request.Type, request.ReqId, request.TxId, payload));
}
