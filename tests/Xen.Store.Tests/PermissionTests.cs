using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class PermissionTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private XenstoreClient _dom0 = null!;
    private XenstoreClient _dom1 = null!;
    private XenstoreClient _dom2 = null!;

    public async Task InitializeAsync()
    {
        _dom0 = XenstoreClient.Connect(_server.Connect());
        _dom1 = XenstoreClient.Connect(_server.Connect(domain: 1));
        _dom2 = XenstoreClient.Connect(_server.Connect());
        await _dom2.ActAsDomainAsync(2);
        foreach (ushort d in new ushort[] { 1, 2 })
        {
            await _dom0.MkdirAsync($"/local/domain/{d}");
            await _dom0.SetPermissionsAsync($"/local/domain/{d}", XsPermissions.Create(d));
        }
    }

    public async Task DisposeAsync()
    {
        await _dom0.DisposeAsync();
        await _dom1.DisposeAsync();
        await _dom2.DisposeAsync();
        _server.Dispose();
    }

    private static async Task<XsError> ErrorOf(Func<Task> action) => (await Assert.ThrowsAsync<XenstoreException>(action)).Error;

    [Fact]
    public async Task A_domain_cannot_read_a_node_that_gives_others_no_access()
    {
        await _dom0.WriteAsync("/secret", "x");
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.ReadAsync("/secret")));
    }

    [Fact]
    public async Task A_read_entry_lets_that_domain_read_but_not_write()
    {
        await _dom0.WriteAsync("/shared", "x");
        await _dom0.SetPermissionsAsync("/shared", XsPermissions.Create(0, XsAccess.None, new XsPermission(1, XsAccess.Read)));
        Assert.Equal("x", await _dom1.ReadAsync("/shared"));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.WriteAsync("/shared", "y")));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom2.ReadAsync("/shared")));
    }

    [Fact]
    public async Task The_first_entry_sets_what_unlisted_domains_may_do()
    {
        await _dom0.WriteAsync("/public", "x");
        await _dom0.SetPermissionsAsync("/public", XsPermissions.Create(0, XsAccess.Read, new XsPermission(2, XsAccess.None)));
        Assert.Equal("x", await _dom1.ReadAsync("/public"));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom2.ReadAsync("/public")));
    }

    [Fact]
    public async Task A_write_only_entry_allows_writing_without_reading()
    {
        await _dom0.WriteAsync("/drop", "");
        await _dom0.SetPermissionsAsync("/drop", XsPermissions.Create(0, XsAccess.None, new XsPermission(1, XsAccess.Write)));
        await _dom1.WriteAsync("/drop", "in");
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.ReadAsync("/drop")));
        Assert.Equal("in", await _dom0.ReadAsync("/drop"));
    }

    [Fact]
    public async Task A_domain_writes_relative_paths_in_its_home_and_owns_what_it_creates()
    {
        await _dom1.WriteAsync("data/k", "v");
        Assert.Equal("v", await _dom0.ReadAsync("/local/domain/1/data/k"));
        Assert.Equal(1, (await _dom0.GetPermissionsAsync("/local/domain/1/data/k")).Owner);
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom2.ReadAsync("/local/domain/1/data/k")));
    }

    [Fact]
    public async Task Creating_a_node_needs_write_access_to_the_nearest_existing_parent()
    {
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.WriteAsync("/local/domain/2/intruder/x", "v")));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.MkdirAsync("/toplevel")));
    }

    [Fact]
    public async Task Removing_needs_write_access_to_the_node()
    {
        await _dom2.WriteAsync("mine", "v");
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.RmAsync("/local/domain/2/mine")));
        await _dom2.RmAsync("mine");
    }

    [Fact]
    public async Task Only_the_owner_sets_permissions_and_cannot_give_the_node_away()
    {
        await _dom1.WriteAsync("own", "v");
        var grant = XsPermissions.Create(1, XsAccess.None, new XsPermission(2, XsAccess.Read));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom2.SetPermissionsAsync("/local/domain/1/own", grant)));
        await _dom1.SetPermissionsAsync("own", grant);
        Assert.Equal("v", await _dom2.ReadAsync("/local/domain/1/own"));
        Assert.Equal(XsError.EPERM, await ErrorOf(() => _dom1.SetPermissionsAsync("own", XsPermissions.Create(2))));
    }

    [Fact]
    public async Task Dom0_may_do_anything()
    {
        await _dom1.WriteAsync("private", "v");
        await _dom1.SetPermissionsAsync("private", XsPermissions.Create(1));
        Assert.Equal("v", await _dom0.ReadAsync("/local/domain/1/private"));
        await _dom0.WriteAsync("/local/domain/1/private", "w");
        await _dom0.SetPermissionsAsync("/local/domain/1/private", XsPermissions.Create(2));
        Assert.Equal("w", await _dom2.ReadAsync("/local/domain/1/private"));
    }

    [Fact]
    public async Task Only_dom0_introduces_releases_and_restricts()
    {
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.IntroduceAsync(5, 1, 1)));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.ReleaseAsync(5)));
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.ActAsDomainAsync(0)));
    }

    [Fact]
    public async Task Set_target_gives_a_domain_its_targets_access()
    {
        await _dom2.WriteAsync("guest-only", "v");
        Assert.Equal(XsError.EACCES, await ErrorOf(() => _dom1.ReadAsync("/local/domain/2/guest-only")));
        await _dom0.RequestAsync(XsMessageType.SetTarget, [.. "1\02\0"u8], 0, CancellationToken.None);
        Assert.Equal("v", await _dom1.ReadAsync("/local/domain/2/guest-only"));
    }

    [Fact]
    public async Task Watch_events_skip_domains_that_cannot_read_the_node()
    {
        await _dom0.MkdirAsync("/w");
        await _dom0.SetPermissionsAsync("/w", XsPermissions.Create(0, XsAccess.Read));
        await using var events = _dom1.WatchAsync("/w", Timeouts.Token).GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync());
        await _dom0.TransactionAsync(async tx =>
        {
            await tx.WriteAsync("/w/hidden", "x");
            await tx.SetPermissionsAsync("/w/hidden", XsPermissions.Create(0));
        });
        await _dom0.WriteAsync("/w/visible", "y");
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("/w/visible", events.Current.Path);
    }
}
