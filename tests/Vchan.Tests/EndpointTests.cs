using System.Security.Cryptography;
using TestSupport;

namespace Vchan.Tests;

public class EndpointTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Server_waits_until_the_client_connects()
    {
        var b = VchanPair.CreateBackends();
        using var server = VchanEndpoint.Listen(b.ServerEvents, b.ServerMemory, VchanPair.ClientDomain);
        Assert.Equal(VchanState.Waiting, server.State);
        using var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, server.Rendezvous);
        Assert.Equal(VchanState.Connected, server.State);
        Assert.Equal(VchanState.Connected, client.State);
    }

    [Fact]
    public async Task Wait_for_connection_completes_when_the_client_connects()
    {
        var b = VchanPair.CreateBackends();
        using var server = VchanEndpoint.Listen(b.ServerEvents, b.ServerMemory, VchanPair.ClientDomain);
        var waiting = server.WaitForConnectionAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        using var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, server.Rendezvous);
        await waiting.WaitAsync(Timeout);
        Assert.Equal(VchanState.Connected, server.State);
    }

    [Fact]
    public void Bytes_the_server_writes_before_the_client_connects_reach_the_client()
    {
        var b = VchanPair.CreateBackends();
        using var server = VchanEndpoint.Listen(b.ServerEvents, b.ServerMemory, VchanPair.ClientDomain);
        Assert.Equal(5, server.TryWrite("early"u8));
        using var client = VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, server.Rendezvous);
        var buffer = new byte[16];
        Assert.Equal("early", System.Text.Encoding.ASCII.GetString(buffer, 0, client.TryRead(buffer)));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(8192, 65536)]
    public void Ring_sizes_follow_the_chosen_orders(int left, int right)
    {
        using var pair = VchanPair.Create(left, right);
        var (l, r) = VchanOrders.Choose(left, right);
        Assert.Equal((l, r), (pair.Client.LeftOrder, pair.Client.RightOrder));
        Assert.Equal(1 << l, pair.Client.WriteRingSize);
        Assert.Equal(1 << r, pair.Client.ReadRingSize);
        Assert.Equal(1 << l, pair.Server.ReadRingSize);
        Assert.Equal(1 << r, pair.Server.WriteRingSize);
    }

    [Fact]
    public void Try_write_fills_the_ring_and_no_further()
    {
        using var pair = VchanPair.Create(0, 0);
        var data = new byte[5000];
        Assert.Equal(1024, pair.Client.TryWrite(data));
        Assert.Equal(0, pair.Client.TryWrite(data));
        Assert.Equal(0, pair.Client.BufferSpace);
        Assert.Equal(1024, pair.Server.DataReady);
    }

    [Fact]
    public void Try_read_returns_nothing_from_an_empty_ring() =>
        Assert.Equal(0, VchanPair.Create().Server.TryRead(new byte[10]));

    [Fact]
    public async Task A_pending_read_completes_when_the_peer_writes()
    {
        using var pair = VchanPair.Create();
        var buffer = new byte[10];
        var read = pair.Server.ReadAsync(buffer).AsTask();
        await Until.TrueAsync(() => pair.Hubs.EventHub.BlockedReceivers == 1, "the reader asleep on its channel");
        Assert.False(read.IsCompleted);
        pair.Client.Write("hi"u8);
        Assert.Equal(2, await read.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_write_larger_than_the_ring_completes_as_the_peer_reads()
    {
        using var pair = VchanPair.Create(0, 0);
        var data = RandomNumberGenerator.GetBytes(10_000);
        var write = pair.Client.WriteAsync(data).AsTask();
        var received = new MemoryStream();
        var buffer = new byte[300];
        while (received.Length < data.Length)
            received.Write(buffer, 0, await pair.Server.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        await write.WaitAsync(Timeout);
        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task A_read_is_cancelled_by_its_token()
    {
        using var pair = VchanPair.Create();
        using var cts = new CancellationTokenSource();
        var read = pair.Server.ReadAsync(new byte[10], cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Closing_an_end_fails_its_own_pending_read()
    {
        var pair = VchanPair.Create();
        var read = pair.Server.ReadAsync(new byte[10]).AsTask();
        await Task.Delay(20);
        pair.Server.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.WaitAsync(Timeout));
        pair.Client.Dispose();
    }

    [Fact]
    public async Task A_read_whose_notification_races_its_own_close_returns_its_bytes()
    {
        using var backends = VchanPair.CreateBackends();
        var clientEvents = new HeldSendEvents(backends.ClientEvents);
        using var server = VchanEndpoint.Listen(backends.ServerEvents, backends.ServerMemory, VchanPair.ClientDomain);
        using var client = VchanEndpoint.Connect(clientEvents, backends.ClientMemory, VchanPair.ServerDomain, server.Rendezvous);
        // More than the ring holds: the server waits for room and asks to hear of the client's reads.
        var write = server.WriteAsync(new byte[server.WriteRingSize + 1]).AsTask();
        await Until.TrueAsync(() => backends.EventHub.BlockedReceivers == 1, "the writer asleep on its channel");

        clientEvents.HoldNextSend();
        var read = Task.Run(() => client.Read(new byte[64]));
        await clientEvents.Held.Task.WaitAsync(Timeout);
        var closing = Task.Run(client.Dispose);

        Assert.Equal(64, await read.WaitAsync(Timeout));
        await closing.WaitAsync(Timeout);
        await Assert.ThrowsAsync<IOException>(() => write.WaitAsync(Timeout));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Bytes_written_before_a_close_are_read_then_the_end(bool serverCloses)
    {
        using var pair = VchanPair.Create(0, 0);
        var writer = pair.End(serverCloses);
        var reader = pair.End(!serverCloses);
        writer.Write("last words"u8);
        writer.Dispose();
        Assert.Equal(VchanState.Closed, reader.State);
        var buffer = new byte[64];
        var n = await reader.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
        Assert.Equal("last words", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(0, await reader.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_pending_read_sees_the_end_when_the_peer_closes()
    {
        using var pair = VchanPair.Create();
        var read = pair.Server.ReadAsync(new byte[10]).AsTask();
        await Task.Delay(20);
        pair.Client.Dispose();
        Assert.Equal(0, await read.WaitAsync(Timeout));
    }

    [Fact]
    public void Writing_to_a_closed_peer_throws_an_io_exception()
    {
        using var pair = VchanPair.Create();
        pair.Server.Dispose();
        var e = Assert.Throws<IOException>(() => pair.Client.Write("x"u8));
        Assert.IsNotType<ObjectDisposedException>(e);
    }

    [Fact]
    public async Task A_pending_write_fails_when_the_peer_closes()
    {
        using var pair = VchanPair.Create(0, 0);
        var write = pair.Client.WriteAsync(new byte[4096]).AsTask();
        await Until.TrueAsync(() => pair.Hubs.EventHub.BlockedReceivers == 1, "the writer asleep on its channel");
        Assert.False(write.IsCompleted);
        pair.Server.Dispose();
        await Assert.ThrowsAsync<IOException>(() => write.WaitAsync(Timeout));
    }

    [Fact]
    public void Using_a_closed_end_throws_object_disposed()
    {
        using var pair = VchanPair.Create();
        pair.Client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pair.Client.TryRead(new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => pair.Client.TryWrite(new byte[1]));
    }

    [Fact]
    public void Closing_sets_the_live_byte_to_zero()
    {
        using var pair = VchanPair.Create();
        pair.Client.Dispose();
        Assert.Equal(0, pair.Control.ReadOnlySpan[VchanControlPage.CliLiveOffset]);
        Assert.Equal(1, pair.Control.ReadOnlySpan[VchanControlPage.SrvLiveOffset]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_peer_that_dies_is_seen_after_its_bytes_are_read(bool serverDies)
    {
        using var pair = VchanPair.Create(0, 0);
        var dying = pair.End(serverDies);
        var survivor = pair.End(!serverDies);
        dying.Write("abc"u8);
        pair.Kill(serverDies);
        var buffer = new byte[16];
        Assert.Equal(3, await survivor.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.Equal(0, await survivor.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.Equal(VchanState.Closed, survivor.State);
        Assert.Throws<IOException>(() => survivor.Write("x"u8));
    }

    [Fact]
    public async Task A_blocked_read_wakes_when_the_peer_dies()
    {
        using var pair = VchanPair.Create();
        var read = pair.Server.ReadAsync(new byte[16]).AsTask();
        await Task.Delay(20);
        pair.Kill(server: false);
        Assert.Equal(0, await read.WaitAsync(Timeout));
    }
}
