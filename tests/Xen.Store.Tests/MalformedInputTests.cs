using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>A hostile or broken peer gets an error or is dropped; everyone else goes on being served.</summary>
public sealed class MalformedInputTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private XenstoreClient _bystander = null!;

    public async Task InitializeAsync()
    {
        _bystander = XenstoreClient.Connect(_server.Connect());
        await _bystander.WriteAsync("/alive", "yes");
    }

    public async Task DisposeAsync()
    {
        await _bystander.DisposeAsync();
        _server.Dispose();
    }

    private async Task BystanderIsServed() => Assert.Equal("yes", await _bystander.ReadAsync("/alive").Within());

    [Fact]
    public async Task A_truncated_header_then_close_drops_only_that_peer()
    {
        var raw = new Raw(_server.Connect());
        await raw.SendBytesAsync([2, 0, 0, 0, 1, 0]);
        await raw.DisposeAsync();
        await BystanderIsServed();
    }

    [Fact]
    public async Task A_length_above_4096_disconnects_the_peer()
    {
        await using var raw = new Raw(_server.Connect());
        var header = new byte[16];
        new XsWireHeader(XsMessageType.Read, 1, 0, XsWire.PayloadMax + 1).Write(header);
        await raw.SendBytesAsync(header);
        Assert.Null(await raw.ReceiveAsync());
        await BystanderIsServed();
    }

    [Fact]
    public async Task A_payload_of_exactly_4096_is_accepted()
    {
        await using var raw = new Raw(_server.Connect());
        var payload = new byte[XsWire.PayloadMax];
        "/full\0"u8.CopyTo(payload);
        Assert.Equal((XsMessageType.Write, "OK\0"), await raw.RequestAsync(XsMessageType.Write, payload));
    }

    [Fact]
    public async Task A_path_without_its_NUL_names_no_node_and_a_write_without_a_value_is_EINVAL()
    {
        // As Xen's C daemon answers.
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.RequestAsync(XsMessageType.Read, "/alive"u8.ToArray()));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.Write, "/alive"u8.ToArray()));
        await BystanderIsServed();
    }

    [Fact]
    public async Task Extra_arguments_to_a_read_name_no_node()
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.RequestAsync(XsMessageType.Read, Raw.Args("/alive", "extra")));
    }

    [Theory]
    [InlineData(20u)]
    [InlineData(23u)]
    [InlineData(0xffffu)]
    [InlineData(0xffffffffu)]
    public async Task Unknown_types_are_ENOSYS(uint type)
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "ENOSYS\0"), await raw.RequestAsync((XsMessageType)type, Raw.Args("/alive")));
        await BystanderIsServed();
    }

    [Theory]
    [InlineData(XsMessageType.WatchEvent)]
    [InlineData(XsMessageType.Error)]
    public async Task Reply_types_sent_as_requests_are_ENOSYS(XsMessageType type)
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "ENOSYS\0"), await raw.RequestAsync(type, Raw.Args("/alive", "t")));
    }

    [Theory]
    [InlineData("/a//b")]
    [InlineData("/a/")]
    [InlineData("/ä")]
    [InlineData("")]
    [InlineData("/a\u0001")]
    public async Task Bad_paths_are_EINVAL(string path)
    {
        await using var raw = new Raw(_server.Connect());
        var payload = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.Read, payload));
    }

    [Theory]
    [InlineData("x5")]
    [InlineData("r")]
    [InlineData("r-1")]
    public async Task Malformed_permissions_are_EINVAL(string perm)
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.SetPerms, Raw.Args("/alive", perm)));
        Assert.Equal("yes", await _bystander.ReadAsync("/alive"));
    }

    [Theory]
    [InlineData("r70000")]
    [InlineData("n32752")]
    public async Task An_owner_no_domain_can_have_is_ENOENT_as_with_the_C_daemon(string perm)
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.RequestAsync(XsMessageType.SetPerms, Raw.Args("/alive", perm)));
        Assert.Equal("yes", await _bystander.ReadAsync("/alive"));
    }

    [Fact]
    public async Task Bad_domain_ids_are_EINVAL()
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.GetDomainPath, Raw.Args("65536")));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.GetDomainPath, Raw.Args("x")));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.Introduce, Raw.Args("0", "1", "1")));
    }

    [Fact]
    public async Task Random_bytes_never_stop_the_server()
    {
        var random = new Random(1234);
        for (var round = 0; round < 50; round++)
        {
            var raw = new Raw(_server.Connect());
            var bytes = new byte[random.Next(1, 200)];
            random.NextBytes(bytes);
            // Keep lengths small half the time, so that some garbage parses as whole messages.
            if (bytes.Length >= 16 && round % 2 == 0)
                BitConverter.TryWriteBytes(bytes.AsSpan(12), (uint)random.Next(0, bytes.Length - 16 + 1));
            await raw.SendBytesAsync(bytes);
            await raw.DisposeAsync();
        }
        await BystanderIsServed();
    }

    [Fact]
    public async Task A_peer_that_never_reads_its_replies_is_held_back_without_harming_others()
    {
        var server = new XenstoreServer(new XenstoreServerOptions { MaxPendingOutputBytes = 64 * 1024 });
        var pipe = server.Connect();
        // Twenty thousand requests per write, so that the server finds many queued at once, as it would
        // from a guest's full ring: it must stop at the limit inside a batch, not after it.
        var batch = Enumerable.Repeat(Raw.Message(XsMessageType.Read, 0, 0, Raw.Args("/")), 20_000).SelectMany(m => m).ToArray();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        // Writes until the server stops taking requests; the test's pipe then fills and the write waits.
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 5 && !cts.IsCancellationRequested; i++)
                await pipe.Output.WriteAsync(batch, cts.Token);
        });
        var other = XenstoreClient.Connect(server.Connect());
        await other.WriteAsync("/still", "served").Within();
        Assert.Equal("served", await other.ReadAsync("/still").Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writing);
        // Held back: the replies it never read stop at the limit (give or take the one that crossed
        // it), rather than growing with every request it sent.
        Assert.InRange(server.PendingOutputBytes, 1, 64 * 1024 + XsWireHeader.Size + XsWire.PayloadMax);
        await other.DisposeAsync();
        server.Dispose();
    }
}
