using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class StoreTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private XenstoreClient _client = null!;

    public Task InitializeAsync()
    {
        _client = XenstoreClient.Connect(_server.Connect());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        _server.Dispose();
    }

    [Fact]
    public async Task Write_then_read_returns_the_value()
    {
        await _client.WriteAsync("/a/b", "hello");
        Assert.Equal("hello", await _client.ReadAsync("/a/b"));
    }

    [Fact]
    public async Task Write_creates_missing_parents_with_empty_values()
    {
        await _client.WriteAsync("/x/y/z", "v");
        Assert.Equal("", await _client.ReadAsync("/x/y"));
        Assert.Equal(["y"], await _client.DirectoryAsync("/x"));
    }

    [Fact]
    public async Task Reading_a_missing_node_is_ENOENT()
    {
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _client.ReadAsync("/nothing"));
        Assert.Equal(XsError.ENOENT, e.Error);
        Assert.Null(await _client.TryReadAsync("/nothing"));
    }

    [Fact]
    public async Task Values_are_binary_safe()
    {
        byte[] value = [0, 1, 2, 255, 0];
        await _client.WriteAsync("/bin", value);
        Assert.Equal(value, await _client.ReadBytesAsync("/bin"));
    }

    [Fact]
    public async Task Mkdir_leaves_an_existing_value_alone()
    {
        await _client.WriteAsync("/m", "keep");
        await _client.MkdirAsync("/m");
        await _client.MkdirAsync("/m/n/o");
        Assert.Equal("keep", await _client.ReadAsync("/m"));
        Assert.Equal("", await _client.ReadAsync("/m/n/o"));
    }

    [Fact]
    public async Task Rm_removes_the_subtree_and_tolerates_a_missing_node_under_an_existing_parent()
    {
        await _client.WriteAsync("/r/a/b", "1");
        await _client.RmAsync("/r/a");
        Assert.Empty(await _client.DirectoryAsync("/r"));
        await _client.RmAsync("/r/a");
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _client.RmAsync("/r/a/b"));
        Assert.Equal(XsError.ENOENT, e.Error);
    }

    [Fact]
    public async Task The_root_cannot_be_removed()
    {
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _client.RmAsync("/"));
        Assert.Equal(XsError.EINVAL, e.Error);
    }

    [Fact]
    public async Task Relative_paths_of_a_socket_connection_resolve_under_domain_0()
    {
        await _client.WriteAsync("rel/key", "v");
        Assert.Equal("v", await _client.ReadAsync("/local/domain/0/rel/key"));
    }

    [Fact]
    public async Task Get_domain_path_names_the_domain_home()
    {
        Assert.Equal("/local/domain/7", await _client.GetDomainPathAsync(7));
    }

    [Theory]
    [InlineData("/a//b")]
    [InlineData("/a/")]
    [InlineData("/a b")]
    [InlineData("/a.b")]
    [InlineData("")]
    public async Task Bad_paths_are_EINVAL(string path)
    {
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _client.WriteAsync(path, "v"));
        Assert.Equal(XsError.EINVAL, e.Error);
    }

    [Fact]
    public async Task Paths_longer_than_the_limits_are_EINVAL()
    {
        // As Xen's C daemon: at most 2048 bytes after a domain's home, or in all outside one; dom0 too.
        await _client.WriteAsync("/" + new string('a', XsWire.RelPathMax - 1), "ok");
        await _client.WriteAsync("/local/domain/0/" + new string('a', XsWire.RelPathMax), "ok");
        await _client.WriteAsync(new string('b', XsWire.RelPathMax), "ok");
        string[] tooLong =
        [
            "/" + new string('a', XsWire.RelPathMax),
            "/local/domain/0/" + new string('a', XsWire.RelPathMax + 1),
            new string('a', XsWire.RelPathMax + 1),
            "/" + new string('a', XsWire.AbsPathMax),
        ];
        foreach (var path in tooLong)
            Assert.Equal(XsError.EINVAL, (await Assert.ThrowsAsync<XenstoreException>(() => _client.ReadAsync(path))).Error);
    }

    [Fact]
    public async Task Long_child_lists_come_back_whole_through_directory_part()
    {
        var names = Enumerable.Range(0, 400).Select(i => $"child-with-a-long-name-{i:D4}").ToList();
        await _client.TransactionAsync(async tx =>
        {
            foreach (var n in names)
                await tx.WriteAsync("/big/" + n, "");
        });
        Assert.Equal(names, await _client.DirectoryAsync("/big"));
    }

    [Fact]
    public async Task Pipelined_requests_each_get_their_own_reply()
    {
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => _client.WriteAsync($"/p/{i}", i.ToString())));
        var values = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => _client.ReadAsync($"/p/{i}")));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i.ToString()), values);
    }

    [Fact]
    public async Task Permissions_round_trip_owner_first()
    {
        await _client.WriteAsync("/perm", "");
        var perms = XsPermissions.Create(3, XsAccess.Read, new XsPermission(5, XsAccess.Both), new XsPermission(6, XsAccess.None));
        await _client.SetPermissionsAsync("/perm", perms);
        Assert.Equal(perms, await _client.GetPermissionsAsync("/perm"));
    }

    [Fact]
    public async Task A_closed_client_fails_requests_instead_of_hanging()
    {
        var client = XenstoreClient.Connect(_server.Connect());
        await client.DisposeAsync();
        await Assert.ThrowsAsync<XenstoreException>(() => client.ReadAsync("/a"));
    }
}

public class BackpressureTests
{
    [Fact]
    public async Task Pending_output_is_counted_exactly_through_a_long_pipelined_stream()
    {
        // A small limit makes any drift in the pending-output count show up as a stall.
        using var server = new XenstoreServer(new XenstoreServerOptions { MaxPendingOutputBytes = 4096 });
        var dir = Directory.CreateTempSubdirectory("mirage-xs-");
        var socket = Path.Combine(dir.FullName, "socket");
        var ready = new TaskCompletionSource();
        using var stop = new CancellationTokenSource();
        var listening = server.ListenAsync(socket, ready.SetResult, stop.Token);
        await ready.Task.Within();
        await using var client = await XenstoreClient.ConnectAsync(socket);
        await client.WriteAsync("/k", "value");
        var window = new Task[256];
        for (var i = 0; i < 20_000; i++)
        {
            if (window[i % 256] is { } previous)
                await previous.WaitAsync(TimeSpan.FromSeconds(10));
            window[i % 256] = client.ReadBytesAsync("/k");
        }
        await Task.WhenAll(window.Where(t => t is not null)).Within();
        // Every reply arrived, so nothing is left to send: the count of pending bytes is back to zero.
        for (var i = 0; i < 500 && server.PendingOutputBytes != 0; i++)
            await Task.Delay(10);
        Assert.Equal(0, server.PendingOutputBytes);
        await stop.CancelAsync();
        await listening.Within();
        dir.Delete(recursive: true);
    }
}
