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

    /// <summary>XS_CONTROL "quota ...", as Xen 4.17's xenstore-control sends it.</summary>
    private async Task<(XsMessageType Type, string Text)> QuotaAsync(Raw raw, params string[] args) =>
        await raw.RequestAsync(XsMessageType.Control, Raw.Args(["quota", .. args]));

    [Fact]
    public async Task Dom0_lists_the_quotas_and_what_a_domain_holds_as_Xens_daemon_lays_them_out()
    {
        await using var raw = new Raw(_server.Connect());
        await using var guest = new Raw(_server.Connect(domain: 1));
        await _dom1.WriteAsync("a", "1");
        Assert.Equal(XsMessageType.Watch, (await guest.RequestAsync(XsMessageType.Watch, Raw.Args("/local/domain/1", "t"))).Type);
        Assert.Equal(XsMessageType.TransactionStart, (await guest.RequestAsync(XsMessageType.TransactionStart, [0])).Type);

        // The layout of Xen 4.17's C daemon: "%-17s: %8d %s" per setting, "%-16s: %8d" per domain count.
        Assert.Equal((XsMessageType.Control, "Quota settings:\n"
            + "nodes            :       20 Nodes per domain\n"
            + "watches          :        5 Watches per connection\n"
            + "transactions     :        3 Transactions per connection\n\0"), await QuotaAsync(raw));
        Assert.Equal((XsMessageType.Control, "Domain 1:\n"
            + "nodes           :        2\n"
            + "watches         :        1\n"
            + "transactions    :        1\n\0"), await QuotaAsync(raw, "1"));
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await QuotaAsync(raw, "7"));
    }

    [Fact]
    public async Task A_quota_dom0_sets_holds_for_what_comes_next_and_only_dom0_may_set_it()
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Control, "OK\0"), await QuotaAsync(raw, "set", "nodes", "3"));
        await _dom1.WriteAsync("a", "1");
        await _dom1.WriteAsync("b", "1");
        Assert.Equal(XsError.ENOSPC, (await Assert.ThrowsAsync<XenstoreException>(() => _dom1.WriteAsync("c", "1"))).Error);
        Assert.Equal((XsMessageType.Control, "OK\0"), await QuotaAsync(raw, "set", "transactions", "0"));
        await using var guest = new Raw(_server.Connect(domain: 1));
        Assert.Equal((XsMessageType.Error, "ENOSPC\0"), await guest.RequestAsync(XsMessageType.TransactionStart, [0]));

        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await QuotaAsync(raw, "set", "bogus", "1"));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await QuotaAsync(raw, "set", "nodes", "abc"));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await QuotaAsync(raw, "set", "nodes"));
        Assert.Equal((XsMessageType.Error, "EACCES\0"), await QuotaAsync(guest, "set", "nodes", "1000"));
        Assert.Equal((XsMessageType.Error, "EACCES\0"), await QuotaAsync(guest));
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
