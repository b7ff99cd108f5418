using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class TransactionTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private XenstoreClient _a = null!;
    private XenstoreClient _b = null!;

    public Task InitializeAsync()
    {
        _a = XenstoreClient.Connect(_server.Connect());
        _b = XenstoreClient.Connect(_server.Connect());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _server.Dispose();
    }

    [Fact]
    public async Task Writes_in_a_transaction_are_invisible_until_commit()
    {
        var inside = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var tx = _a.TransactionAsync(async t =>
        {
            await t.WriteAsync("/t/k", "v");
            Assert.Equal("v", await t.ReadAsync("/t/k"));
            inside.SetResult();
            await release.Task;
        });
        await inside.Task.Within();
        Assert.Null(await _b.TryReadAsync("/t/k"));
        release.SetResult();
        await tx.Within();
        Assert.Equal("v", await _b.ReadAsync("/t/k"));
    }

    [Fact]
    public async Task A_transaction_reads_its_snapshot_not_later_commits()
    {
        await _a.WriteAsync("/s", "old");
        var seen = new List<string>();
        var first = true;
        await _a.TransactionAsync(async t =>
        {
            if (first)
            {
                first = false;
                await _b.WriteAsync("/s", "new");
            }
            seen.Add(await t.ReadAsync("/s"));
        });
        // The first attempt reads its snapshot; what it read then changed, so it runs again and sees b's value.
        Assert.Equal(["old", "new"], seen);
    }

    [Fact]
    public async Task A_conflicting_commit_gets_EAGAIN_and_the_client_retries()
    {
        await _a.WriteAsync("/c", "0");
        var attempts = 0;
        await _a.TransactionAsync(async t =>
        {
            attempts++;
            var n = int.Parse(await t.ReadAsync("/c"));
            if (attempts == 1)
                await _b.WriteAsync("/c", "10");
            await t.WriteAsync("/c", (n + 1).ToString());
        });
        Assert.Equal(2, attempts);
        Assert.Equal("11", await _a.ReadAsync("/c"));
    }

    [Fact]
    public async Task A_raw_conflicting_commit_is_answered_EAGAIN()
    {
        await using var raw = new Raw(_server.Connect());
        await _a.WriteAsync("/e", "0");
        var start = await raw.RequestAsync(XsMessageType.TransactionStart, [0]);
        var id = uint.Parse(start.Payload.TrimEnd('\0'));
        Assert.Equal(XsMessageType.Read, (await raw.RequestAsync(XsMessageType.Read, Raw.Args("/e"), id)).Type);
        await _b.WriteAsync("/e", "1");
        Assert.Equal(XsMessageType.Write, (await raw.RequestAsync(XsMessageType.Write, [.. Raw.Args("/e"), (byte)'2'], id)).Type);
        var end = await raw.RequestAsync(XsMessageType.TransactionEnd, Raw.Args("T"), id);
        Assert.Equal((XsMessageType.Error, "EAGAIN\0"), end);
        Assert.Equal("1", await _a.ReadAsync("/e"));
    }

    [Fact]
    public async Task Transactions_on_disjoint_nodes_both_commit()
    {
        await _a.WriteAsync("/d/x", "0");
        await _a.WriteAsync("/d/y", "0");
        var attempts = 0;
        await _a.TransactionAsync(async t =>
        {
            attempts++;
            await t.WriteAsync("/d/x", "1");
            await _b.TransactionAsync(async u => await u.WriteAsync("/d/y", "1"));
        });
        Assert.Equal(1, attempts);
        Assert.Equal(("1", "1"), (await _a.ReadAsync("/d/x"), await _a.ReadAsync("/d/y")));
    }

    [Fact]
    public async Task An_aborted_transaction_leaves_nothing_behind()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => _a.TransactionAsync(async t =>
        {
            await t.WriteAsync("/gone/k", "v");
            await t.RmAsync("/local");
            throw new InvalidOperationException("abort");
        }));
        Assert.Null(await _a.TryReadAsync("/gone"));
    }

    [Fact]
    public async Task An_unknown_transaction_id_is_ENOENT()
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.RequestAsync(XsMessageType.Read, Raw.Args("/"), txId: 12345));
    }

    [Fact]
    public async Task Transaction_end_needs_T_or_F()
    {
        await using var raw = new Raw(_server.Connect());
        var id = uint.Parse((await raw.RequestAsync(XsMessageType.TransactionStart, [0])).Payload.TrimEnd('\0'));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.RequestAsync(XsMessageType.TransactionEnd, Raw.Args("X"), id));
    }
}
