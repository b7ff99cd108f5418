using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class LimitTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new(new XenstoreServerOptions
    {
        MaxNodesPerDomain = 20,
        MaxWatchesPerConnection = 5,
        MaxTransactionsPerConnection = 3,
    });
    private XenstoreClient _dom0 = null!;
    private XenstoreClient _dom1 = null!;

    public async Task InitializeAsync()
    {
        _dom0 = XenstoreClient.Connect(_server.Connect());
        _dom1 = XenstoreClient.Connect(_server.Connect(domain: 1));
        await _dom0.MkdirAsync("/local/domain/1");
        await _dom0.SetPermissionsAsync("/local/domain/1", XsPermissions.Create(1));
    }

    public async Task DisposeAsync()
    {
        await _dom0.DisposeAsync();
        await _dom1.DisposeAsync();
        _server.Dispose();
    }

    [Fact]
    public async Task A_domain_over_its_node_quota_gets_ENOSPC_and_can_go_on_after_removing()
    {
        // It owns its home already: 19 more nodes fit.
        for (var i = 0; i < 19; i++)
            await _dom1.WriteAsync($"n{i}", "v");
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _dom1.WriteAsync("one-too-many", "v"));
        Assert.Equal(XsError.ENOSPC, e.Error);
        await _dom1.RmAsync("n0");
        await _dom1.WriteAsync("fits-again", "v");
    }

    [Fact]
    public async Task The_node_quota_counts_a_transactions_writes()
    {
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _dom1.TransactionAsync(async tx =>
        {
            for (var i = 0; i < 25; i++)
                await tx.WriteAsync($"t{i}", "v");
        }));
        Assert.Equal(XsError.ENOSPC, e.Error);
        Assert.Empty(await _dom1.DirectoryAsync("/local/domain/1"));
    }

    [Fact]
    public async Task Dom0_is_not_held_to_the_node_quota()
    {
        for (var i = 0; i < 30; i++)
            await _dom0.WriteAsync($"/many/{i}", "v");
        Assert.Equal(30, (await _dom0.DirectoryAsync("/many")).Count);
    }

    [Fact]
    public async Task Too_many_watches_is_E2BIG()
    {
        await using var raw = new Raw(_server.Connect());
        for (var i = 0; i < 5; i++)
            Assert.Equal(XsMessageType.Watch, (await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/w", $"t{i}"))).Type);
        Assert.Equal((XsMessageType.Error, "E2BIG\0"), await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/w", "t5")));
    }

    [Fact]
    public async Task Too_many_open_transactions_is_ENOSPC()
    {
        await using var raw = new Raw(_server.Connect());
        for (var i = 0; i < 3; i++)
            Assert.Equal(XsMessageType.TransactionStart, (await raw.RequestAsync(XsMessageType.TransactionStart, [0])).Type);
        Assert.Equal((XsMessageType.Error, "ENOSPC\0"), await raw.RequestAsync(XsMessageType.TransactionStart, [0]));
    }

    [Fact]
    public async Task A_request_above_the_payload_limit_is_refused_by_the_client()
    {
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _dom0.WriteAsync("/big", new byte[XsWire.PayloadMax]));
        Assert.Equal(XsError.E2BIG, e.Error);
        await _dom0.WriteAsync("/big", new byte[XsWire.PayloadMax - 5]);
    }

    [Fact]
    public async Task Over_long_watch_tokens_are_E2BIG()
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Error, "E2BIG\0"), await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/w", new string('t', 2000))));
    }
}
