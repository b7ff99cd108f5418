using Xen.Gnt;
using Xen.Gnt.Unix;

namespace Xen.Unix.Tests;

/// <summary>Unix grant tables between two domains in one process (each with its own backend).</summary>
[Collection(nameof(NoForksBeside))]
public sealed class MemoryTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly List<uint> _events = [];
    private readonly UnixMemory _one;
    private readonly UnixMemory _two;

    public MemoryTests()
    {
        _one = UnixMemory.Create(1, _root.Path, port => { lock (_events) _events.Add(port); });
        _two = UnixMemory.Create(2, _root.Path, port => { lock (_events) _events.Add(port + 1000); });
    }

    public void Dispose()
    {
        _one.Dispose();
        _two.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void A_mapped_page_shows_the_granters_writes_and_the_granter_sees_the_mappers()
    {
        using var share = _one.Share(2, 1, writable: true);
        using var mapping = _two.Map(1, share.Refs[0], writable: true);
        share.Span[10] = 42;
        Assert.Equal(42, mapping.ReadOnlySpan[10]);
        mapping.Span[20] = 7;
        Assert.Equal(7, share.ReadOnlySpan[20]);
    }

    [Fact]
    public void Refs_start_at_8()
    {
        using var share = _one.Share(2, 3, writable: true);
        Assert.Equal([8u, 9u, 10u], share.Refs.Select(r => r.Value));
    }

    [Fact]
    public void Shared_pages_are_zeroed()
    {
        using var share = _one.Share(2, 2, writable: true);
        Assert.True(share.ReadOnlySpan.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void A_grant_for_another_domain_is_refused_with_permission_denied()
    {
        using var share = _one.Share(3, 1, writable: true);
        var error = Assert.Throws<GrantException>(() => _two.Map(1, share.Refs[0], writable: false));
        Assert.Equal(GrantStatus.PermissionDenied, error.Status);
    }

    [Fact]
    public void A_read_only_grant_cannot_be_mapped_writable()
    {
        using var share = _one.Share(2, 1, writable: false);
        Assert.False(share.PeerWritable);
        Assert.True(share.Writable);
        var error = Assert.Throws<GrantException>(() => _two.Map(1, share.Refs[0], writable: true));
        Assert.Equal(GrantStatus.PermissionDenied, error.Status);
    }

    [Fact]
    public void A_read_only_mapping_gives_only_read_only_views()
    {
        using var share = _one.Share(2, 1, writable: false);
        share.Span[0] = 9;
        using var mapping = _two.Map(1, share.Refs[0], writable: false);
        Assert.False(mapping.Writable);
        Assert.Equal(9, mapping.ReadOnlySpan[0]);
        Assert.Throws<InvalidOperationException>(() => mapping.Span[0]);
    }

    [Fact]
    public void A_reserved_ref_is_a_bad_gntref()
    {
        var error = Assert.Throws<GrantException>(() => _two.Map(1, GrantRef.Xenstore, writable: false));
        Assert.Equal(GrantStatus.BadGntref, error.Status);
    }

    [Fact]
    public void An_unknown_ref_is_a_bad_gntref()
    {
        var error = Assert.Throws<GrantException>(() => _two.Map(1, new GrantRef(12345), writable: false));
        Assert.Equal(GrantStatus.BadGntref, error.Status);
    }

    [Fact]
    public void A_domain_that_does_not_exist_is_a_bad_domain()
    {
        var error = Assert.Throws<GrantException>(() => _two.Map(9, new GrantRef(8), writable: false));
        Assert.Equal(GrantStatus.BadDomain, error.Status);
    }

    [Fact]
    public void Map_many_gives_one_contiguous_view_in_the_order_given()
    {
        using var share = _one.Share(2, 3, writable: true);
        for (var page = 0; page < 3; page++)
            share.Span[page * PageBuffer.PageSize] = (byte)(page + 1);
        using var mapping = _two.MapMany(1, [share.Refs[2], share.Refs[0], share.Refs[1]], writable: true);
        Assert.Equal(3 * PageBuffer.PageSize, mapping.Length);
        Assert.Equal(3, mapping.ReadOnlySpan[0]);
        Assert.Equal(1, mapping.ReadOnlySpan[PageBuffer.PageSize]);
        Assert.Equal(2, mapping.ReadOnlySpan[2 * PageBuffer.PageSize]);
    }

    [Fact]
    public void A_failed_map_many_maps_nothing()
    {
        using var share = _one.Share(2, 1, writable: true);
        Assert.Throws<GrantException>(() => _two.MapMany(1, [share.Refs[0], new GrantRef(5000)], writable: true));
        // The good ref is not left held: ending the share removes its files at once.
        ((IDisposable)share).Dispose();
        Assert.False(File.Exists(Path.Combine(_root.Path, "1", "gnt", share.Refs[0].ToString())));
    }

    [Fact]
    public void After_unshare_the_mappers_view_stays_valid_and_the_ref_is_not_reused()
    {
        var share = _one.Share(2, 1, writable: true);
        var grant = share.Refs[0];
        using var mapping = _two.Map(1, grant, writable: true);
        _one.Unshare(share);
        mapping.Span[100] = 5;
        Assert.Equal(5, mapping.ReadOnlySpan[100]);
        using var next = _one.Share(2, 1, writable: true);
        Assert.NotEqual(grant, next.Refs[0]);
        var error = Assert.Throws<GrantException>(() => _two.Map(1, grant, writable: true));
        Assert.Equal(GrantStatus.BadGntref, error.Status);
    }

    [Fact]
    public void An_ended_grants_files_go_when_the_last_mapper_unmaps()
    {
        var share = _one.Share(2, 1, writable: true);
        var page = Path.Combine(_root.Path, "1", "gnt", share.Refs[0].ToString());
        var mapping = _two.Map(1, share.Refs[0], writable: true);
        _one.Unshare(share);
        Assert.True(File.Exists(page));
        Assert.False(File.Exists(page + ".grant"));
        _two.Unmap(mapping);
        Assert.False(File.Exists(page));
    }

    [Fact]
    public void Unmap_clears_the_byte_and_sends_the_event()
    {
        using var share = _one.Share(2, 1, writable: true);
        share.Span[30] = 1;
        var mapping = _two.Map(1, share.Refs[0], writable: true, UnmapNotify.ClearByteAndSendEvent(30, 4));
        _two.Unmap(mapping);
        Assert.Equal(0, share.ReadOnlySpan[30]);
        lock (_events)
            Assert.Equal([1004u], _events);
    }

    [Fact]
    public void Unmapping_a_read_only_mapping_still_clears_its_byte()
    {
        using var share = _one.Share(2, 1, writable: false);
        share.Span[31] = 1;
        var mapping = _two.Map(1, share.Refs[0], writable: false, UnmapNotify.ClearByte(31));
        _two.Unmap(mapping);
        Assert.Equal(0, share.ReadOnlySpan[31]);
    }

    [Fact]
    public void Unshare_clears_the_byte_the_mapper_sees_and_sends_the_event()
    {
        var share = _one.Share(2, 2, writable: true, UnmapNotify.ClearByteAndSendEvent(PageBuffer.PageSize + 3, 6));
        using var mapping = _two.MapMany(1, [share.Refs[0], share.Refs[1]], writable: true);
        mapping.Span[PageBuffer.PageSize + 3] = 1;
        _one.Unshare(share);
        Assert.Equal(0, mapping.ReadOnlySpan[PageBuffer.PageSize + 3]);
        lock (_events)
            Assert.Equal([6u], _events);
    }

    [Fact]
    public void A_notification_byte_outside_the_pages_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _one.Share(2, 1, writable: true, UnmapNotify.ClearByte(PageBuffer.PageSize)));
    }

    [Fact]
    public void Unmapping_a_mapping_of_another_backend_is_refused()
    {
        using var share = _one.Share(2, 1, writable: true);
        using var mapping = _two.Map(1, share.Refs[0], writable: true);
        Assert.Throws<ArgumentException>(() => _one.Unmap(mapping));
    }

    [Fact]
    public void Nothing_is_left_under_the_root_after_a_clean_exit()
    {
        using var root = new TempRoot();
        var one = UnixMemory.Create(1, root.Path);
        var two = UnixMemory.Create(2, root.Path);
        var share = one.Share(2, 2, writable: true);
        two.MapMany(1, [share.Refs[0], share.Refs[1]], writable: true);
        one.Share(2, 1, writable: false);
        two.Dispose();
        one.Dispose();
        Assert.Empty(root.Leftovers());
    }

    [Fact]
    public void Files_of_a_dead_domain_are_reclaimed_by_the_next_process()
    {
        using var root = new TempRoot();
        // What a killed process leaves: a domain folder, an unheld lock, a page and its metadata, a socket name.
        var dead = Path.Combine(root.Path, "5");
        Directory.CreateDirectory(Path.Combine(dead, "gnt"));
        File.WriteAllBytes(Path.Combine(dead, "lock"), []);
        File.WriteAllBytes(Path.Combine(dead, "gnt", "8"), new byte[4096]);
        File.WriteAllBytes(Path.Combine(dead, "gnt", "8.grant"), new byte[32]);
        File.WriteAllBytes(Path.Combine(dead, "gnt-4242"), []);
        using (UnixMemory.Create(1, root.Path))
            Assert.False(Directory.Exists(dead));
    }

    [Fact]
    public void Concurrent_shares_in_one_process_get_distinct_refs()
    {
        var refs = new System.Collections.Concurrent.ConcurrentBag<uint>();
        var shares = new System.Collections.Concurrent.ConcurrentBag<Share>();
        Parallel.For(0, 200, _ =>
        {
            var share = _one.Share(2, 1, writable: true);
            shares.Add(share);
            refs.Add(share.Refs[0].Value);
        });
        Assert.Equal(200, refs.Distinct().Count());
        foreach (IDisposable share in shares)
            share.Dispose();
    }
}
