using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Blkif.Tests;

/// <summary>The rules of <see cref="GrantMapCache{TMemory}"/>, the grant mappings blkback and netback keep.</summary>
public sealed class GrantMapCacheTests : IDisposable
{
    private const ushort Backend = 0;
    private const ushort Frontend = 1;

    private readonly InHeapGrantHub _hub = new();
    private readonly InHeapMemory _front;
    private readonly CountingMemory _back;
    private readonly Share _pages;

    public GrantMapCacheTests()
    {
        _front = _hub.Open(Frontend);
        _back = new CountingMemory(_hub.Open(Backend));
        _pages = _front.Share(Backend, pageCount: 8, writable: true);
    }

    public void Dispose()
    {
        _pages.Dispose();
        _hub.Dispose();
    }

    private GrantRef Page(int i) => _pages.Refs[i];

    private GrantMapCache<CountingMemory> Cache(int capacity, GrantMapCacheFull whenFull) =>
        new(_back, Frontend, writable: true, capacity, whenFull);

    [Fact]
    public void A_miss_maps_the_page_the_grant_names()
    {
        using var cache = Cache(4, GrantMapCacheFull.Refuse);
        _pages.Span[3 * PageBuffer.PageSize] = 42;

        var page = cache.Get(Page(3));

        Assert.NotNull(page);
        Assert.Equal(42, page.ReadOnlySpan[0]);
        Assert.Equal(1, _back.Maps);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void A_hit_returns_the_kept_mapping_without_mapping_again()
    {
        using var cache = Cache(4, GrantMapCacheFull.Refuse);
        var first = cache.Get(Page(0));
        cache.EndUse();

        var again = cache.Get(Page(0));

        Assert.Same(first, again);
        Assert.Equal(1, _back.Maps);
    }

    [Fact]
    public void Peek_returns_a_kept_page_and_maps_nothing_for_one_not_kept()
    {
        using var cache = Cache(4, GrantMapCacheFull.EvictOldestHalf);
        var kept = cache.Get(Page(3));
        cache.EndUse();

        Assert.Same(kept, cache.Peek(Page(3)));
        Assert.Null(cache.Peek(Page(5)));
        Assert.Equal(1, _back.Maps);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Peek_never_returns_an_evicted_page()
    {
        using var cache = Cache(4, GrantMapCacheFull.EvictOldestHalf);
        for (var i = 0; i < 4; i++)
            cache.Get(Page(i));
        cache.EndUse();
        cache.Get(Page(4));
        cache.EndUse();

        Assert.Equal([Page(0), Page(1)], _back.Unmapped);
        Assert.Null(cache.Peek(Page(0)));
        Assert.Null(cache.Peek(Page(1)));
        Assert.NotNull(cache.Peek(Page(2)));
        Assert.NotNull(cache.Peek(Page(4)));
    }

    [Fact]
    public void A_grant_that_cannot_be_mapped_throws_and_is_not_kept()
    {
        using var cache = Cache(4, GrantMapCacheFull.EvictOldestHalf);

        Assert.Throws<GrantException>(() => cache.Get(new GrantRef(4000)));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_full_cache_that_refuses_maps_nothing_more_and_keeps_what_it_has()
    {
        using var cache = Cache(2, GrantMapCacheFull.Refuse);
        cache.Get(Page(0));
        cache.Get(Page(1));
        cache.EndUse();

        Assert.Null(cache.Get(Page(2)));
        Assert.Equal(2, _back.Maps);
        Assert.Equal(0, _back.Unmaps);
        Assert.NotNull(cache.Get(Page(0)));
        Assert.Equal(2, _back.Maps);
    }

    [Fact]
    public void A_full_cache_that_evicts_unmaps_the_oldest_half_and_keeps_the_new_page()
    {
        using var cache = Cache(4, GrantMapCacheFull.EvictOldestHalf);
        for (var i = 0; i < 4; i++)
            cache.Get(Page(i));
        cache.EndUse();

        Assert.NotNull(cache.Get(Page(4)));

        Assert.Equal([Page(0), Page(1)], _back.Unmapped);
        Assert.Equal(3, cache.Count);
        // The younger half is still kept: no new mapping.
        cache.Get(Page(2));
        cache.Get(Page(3));
        Assert.Equal(5, _back.Maps);
    }

    [Fact]
    public void Eviction_never_unmaps_a_page_the_current_use_got()
    {
        using var cache = Cache(4, GrantMapCacheFull.EvictOldestHalf);
        for (var i = 0; i < 4; i++)
            cache.Get(Page(i));
        cache.EndUse();

        // One use (a frame) holds the two oldest pages, then needs a new one.
        var held0 = cache.Get(Page(0))!;
        var held1 = cache.Get(Page(1))!;
        Assert.NotNull(cache.Get(Page(4)));

        Assert.Equal([Page(2), Page(3)], _back.Unmapped);
        Assert.Contains(held0, _back.Live);
        Assert.Contains(held1, _back.Live);
    }

    [Fact]
    public void When_every_kept_page_is_in_use_an_evicting_cache_maps_nothing_more()
    {
        using var cache = Cache(2, GrantMapCacheFull.EvictOldestHalf);
        cache.Get(Page(0));
        cache.Get(Page(1));

        Assert.Null(cache.Get(Page(2)));

        // The new page was mapped, found no room, and unmapped again; no kept page went.
        Assert.Equal([Page(2)], _back.Unmapped);
        Assert.Equal(2, _back.Live.Count);
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void Dispose_unmaps_every_kept_page()
    {
        var cache = Cache(4, GrantMapCacheFull.Refuse);
        for (var i = 0; i < 3; i++)
            cache.Get(Page(i));

        cache.Dispose();

        Assert.Empty(_back.Live);
        Assert.Equal(3, _back.Unmaps);
        Assert.Throws<ObjectDisposedException>(() => cache.Get(Page(5)));
    }

    /// <summary>In-heap memory that counts what it maps and unmaps.</summary>
    private sealed class CountingMemory(InHeapMemory inner) : IMemory
    {
        public int Maps { get; private set; }
        public int Unmaps => Unmapped.Count;
        public List<GrantRef> Unmapped { get; } = [];
        public HashSet<Mapping> Live { get; } = [];

        public ushort LocalDomain => inner.LocalDomain;

        public Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default)
        {
            var mapping = inner.Map(remoteDomain, grant, writable, notify);
            Maps++;
            Live.Add(mapping);
            return mapping;
        }

        public void Unmap(Mapping mapping)
        {
            Assert.True(Live.Remove(mapping), "Unmapped twice, or never mapped.");
            Unmapped.Add(mapping.Refs[0]);
            inner.Unmap(mapping);
        }

        public Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default) =>
            throw new NotSupportedException();

        public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default) =>
            throw new NotSupportedException();

        public void Unshare(Share share) => throw new NotSupportedException();

        public void Dispose() => inner.Dispose();
    }
}
