using System.Security.Cryptography;
using Vchan;

namespace Xen.Guest.Tests;

/// <summary>libxenvchan's protocol over the guest backends on the simulated hypervisor: a server in
/// domain 1 and a client in domain 2 meet through a grant of the control page and an event channel,
/// as real domains do (the rendezvous is passed directly here; Vchan.Tests covers it through Xenstore).</summary>
public sealed class VchanOverGuestTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0, 0, 10, 11)]          // in-page rings
    [InlineData(8192, 65536, 13, 16)]   // granted rings: 2 and 16 pages
    public async Task Bytes_cross_both_ways_intact(int leftMin, int rightMin, int leftOrder, int rightOrder)
    {
        using var guests = new GuestPair();
        using var server = VchanEndpoint.Listen(guests.One.Events, guests.One.Memory, guests.Two.Id, leftMin, rightMin);
        using var client = VchanEndpoint.Connect(guests.Two.Events, guests.Two.Memory, guests.One.Id, server.Rendezvous);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal((leftOrder, rightOrder), (client.LeftOrder, client.RightOrder));
        var up = RandomNumberGenerator.GetBytes(300_000);
        var down = RandomNumberGenerator.GetBytes(200_000);

        var sendUp = Task.Run(async () => await client.WriteAsync(up));
        var sendDown = Task.Run(async () => await server.WriteAsync(down));
        var gotUp = await ReadExactly(server, up.Length).WaitAsync(Timeout);
        var gotDown = await ReadExactly(client, down.Length).WaitAsync(Timeout);
        await Task.WhenAll(sendUp, sendDown).WaitAsync(Timeout);

        Assert.Equal(up, gotUp);
        Assert.Equal(down, gotDown);
    }

    [Fact]
    public async Task A_close_is_seen_as_the_end_of_the_stream_after_the_last_bytes()
    {
        using var guests = new GuestPair();
        using var server = VchanEndpoint.Listen(guests.One.Events, guests.One.Memory, guests.Two.Id);
        var client = VchanEndpoint.Connect(guests.Two.Events, guests.Two.Memory, guests.One.Id, server.Rendezvous);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);

        await client.WriteAsync("bye"u8.ToArray());
        client.Dispose();

        Assert.Equal("bye"u8.ToArray(), await ReadExactly(server, 3).WaitAsync(Timeout));
        Assert.Equal(0, await server.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_blocked_read_ends_when_the_server_domain_is_destroyed()
    {
        using var guests = new GuestPair(peerCheckInterval: TimeSpan.FromMilliseconds(20));
        // Not disposed: its domain is gone, and a destroyed domain runs no code.
        var server = VchanEndpoint.Listen(guests.One.Events, guests.One.Memory, guests.Two.Id);
        using var client = VchanEndpoint.Connect(guests.Two.Events, guests.Two.Memory, guests.One.Id, server.Rendezvous);
        await server.WaitForConnectionAsync().AsTask().WaitAsync(Timeout);
        var read = client.ReadAsync(new byte[16]).AsTask();

        guests.Hypervisor.DestroyDomain(guests.One.Id);

        Assert.Equal(0, await read.WaitAsync(Timeout));
        Assert.Equal(VchanState.Closed, client.State);
        GC.KeepAlive(server);
    }

    private static async Task<byte[]> ReadExactly(VchanEndpoint endpoint, int count)
    {
        var buffer = new byte[count];
        var at = 0;
        while (at < count)
        {
            var n = await endpoint.ReadAsync(buffer.AsMemory(at));
            Assert.NotEqual(0, n);
            at += n;
        }
        return buffer;
    }
}
