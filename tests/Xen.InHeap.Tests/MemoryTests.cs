using System.Globalization;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Xen.InHeap.Tests;

public sealed class MemoryTests : IDisposable
{
    private readonly InHeapGrantHub _hub = new(maxPagesPerDomain: 64);
    private readonly InHeapMemory _dom1;
    private readonly InHeapMemory _dom2;

    public MemoryTests()
    {
        _dom1 = _hub.Open(1);
        _dom2 = _hub.Open(2);
    }

    public void Dispose() => _hub.Dispose();

    [Fact]
    public void Refs_start_at_8_and_the_reserved_ones_are_never_handed_out()
    {
        using var share = _dom1.Share(2, pageCount: 3, writable: true);
        Assert.Equal([8u, 9u, 10u], share.Refs.Select(r => r.Value));
        Assert.All(share.Refs, r => Assert.False(r.IsReserved));
    }

    [Fact]
    public void A_share_holds_zeroed_pages_granted_to_the_named_domain()
    {
        using var share = _dom1.Share(2, pageCount: 2, writable: true);
        Assert.Equal(2 * PageBuffer.PageSize, share.Length);
        Assert.Equal((ushort)2, share.RemoteDomain);
        Assert.True(share.ReadOnlySpan.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void A_mapping_and_the_share_see_the_same_memory()
    {
        using var share = _dom1.Share(2, 1, writable: true);
        using var mapping = _dom2.Map(1, share.Refs[0], writable: true);
        Assert.NotEqual(share.Address, mapping.Address);
        share.Span[100] = 42;
        Assert.Equal(42, mapping.ReadOnlySpan[100]);
        mapping.Span[4095] = 7;
        Assert.Equal(7, share.ReadOnlySpan[4095]);
    }

    [Fact]
    public void A_grant_maps_only_from_the_domain_it_names()
    {
        using var dom3 = _hub.Open(3);
        using var share = _dom1.Share(2, 1, writable: true);
        var e = Assert.Throws<GrantException>(() => dom3.Map(1, share.Refs[0], writable: false));
        Assert.Equal(GrantStatus.PermissionDenied, e.Status);
    }

    [Fact]
    public void An_unknown_ref_is_a_bad_gntref()
    {
        using var share = _dom1.Share(2, 1, writable: true);
        var e = Assert.Throws<GrantException>(() => _dom2.Map(1, new GrantRef(500), writable: false));
        Assert.Equal(GrantStatus.BadGntref, e.Status);
    }

    [Fact]
    public void A_reserved_ref_is_a_bad_gntref()
    {
        var e = Assert.Throws<GrantException>(() => _dom2.Map(1, GrantRef.Xenstore, writable: false));
        Assert.Equal(GrantStatus.BadGntref, e.Status);
    }

    [Fact]
    public void An_ended_ref_is_a_bad_gntref()
    {
        var share = _dom1.Share(2, 1, writable: true);
        _dom1.Unshare(share);
        var e = Assert.Throws<GrantException>(() => _dom2.Map(1, share.Refs[0], writable: false));
        Assert.Equal(GrantStatus.BadGntref, e.Status);
    }

    [Fact]
    public void An_unknown_domain_is_a_bad_domain()
    {
        var e = Assert.Throws<GrantException>(() => _dom2.Map(9, new GrantRef(8), writable: false));
        Assert.Equal(GrantStatus.BadDomain, e.Status);
    }

    [Fact]
    public void A_writable_map_of_a_read_only_grant_is_denied()
    {
        using var share = _dom1.Share(2, 1, writable: false);
        var e = Assert.Throws<GrantException>(() => _dom2.Map(1, share.Refs[0], writable: true));
        Assert.Equal(GrantStatus.PermissionDenied, e.Status);
    }

    [Fact]
    public void A_read_only_mapping_refuses_a_writable_span_but_reads()
    {
        using var share = _dom1.Share(2, 1, writable: false);
        unsafe
        {
            share.Pointer[5] = 9;   // the owner's own view is writable memory
        }
        using var mapping = _dom2.Map(1, share.Refs[0], writable: false);
        Assert.False(mapping.Writable);
        Assert.Throws<InvalidOperationException>(() => { _ = mapping.Span; });
        Assert.Throws<InvalidOperationException>(() => mapping.Memory);
        Assert.Equal(9, mapping.ReadOnlySpan[5]);
    }

    [Fact]
    public void A_read_only_mapping_is_protected_read_only_by_the_kernel()
    {
        using var share = _dom1.Share(2, 2, writable: true);
        using var readOnly = _dom2.MapMany(1, [share.Refs[0], share.Refs[1]], writable: false);
        using var writable = _dom2.Map(1, share.Refs[0], writable: true);
        Assert.Equal(["r--s", "r--s"], Permissions(readOnly));
        Assert.Equal(["rw-s"], Permissions(writable));
    }

    [Fact]
    public void MapMany_gives_one_contiguous_view_in_the_order_asked()
    {
        using var share = _dom1.Share(2, 3, writable: true);
        for (var page = 0; page < 3; page++)
            share.Span.Slice(page * PageBuffer.PageSize, PageBuffer.PageSize).Fill((byte)(page + 1));
        using var mapping = _dom2.MapMany(1, [share.Refs[2], share.Refs[0], share.Refs[1]], writable: false);
        Assert.Equal(3 * PageBuffer.PageSize, mapping.Length);
        Assert.Equal([share.Refs[2], share.Refs[0], share.Refs[1]], mapping.Refs);
        var view = mapping.ReadOnlySpan;
        Assert.True(view[..4096].IndexOfAnyExcept((byte)3) < 0);
        Assert.True(view[4096..8192].IndexOfAnyExcept((byte)1) < 0);
        Assert.True(view[8192..].IndexOfAnyExcept((byte)2) < 0);
    }

    [Fact]
    public void MapMany_maps_all_or_nothing()
    {
        using var share = _dom1.Share(2, 2, writable: true);
        var e = Assert.Throws<GrantException>(() => _dom2.MapMany(1, [share.Refs[0], new GrantRef(99), share.Refs[1]], writable: false));
        Assert.Equal(GrantStatus.BadGntref, e.Status);
        Assert.Equal(0, _hub.LiveMappings);
        _dom1.Unshare(share);
        Assert.Equal(0, _hub.PagesHeld);   // no page was left mapped by the failed call
    }

    [Fact]
    public void MapMany_of_no_refs_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => _dom2.MapMany(1, [], writable: false));
    }

    [Fact]
    public void Unsharing_a_mapped_page_ends_the_share_view_but_the_mapping_stays_valid()
    {
        var share = _dom1.Share(2, 1, writable: true);
        share.Span[0] = 11;
        using var mapping = _dom2.Map(1, share.Refs[0], writable: true);
        _dom1.Unshare(share);
        Assert.True(share.IsReleased);
        Assert.Throws<ObjectDisposedException>(() => { unsafe { _ = share.Pointer; } });
        Assert.Equal(11, mapping.ReadOnlySpan[0]);
        mapping.Span[1] = 12;
        Assert.Equal(12, mapping.ReadOnlySpan[1]);
        Assert.Equal(1, _hub.PagesHeld);
        Assert.Equal(0, _hub.LiveGrants);
    }

    [Fact]
    public void A_ref_still_mapped_after_unshare_is_not_reused_until_unmapped()
    {
        var share = _dom1.Share(2, 1, writable: true);
        var held = share.Refs[0];
        var mapping = _dom2.Map(1, held, writable: true);
        _dom1.Unshare(share);
        using (var next = _dom1.Share(2, 4, writable: true))
            Assert.DoesNotContain(held, next.Refs);
        _dom2.Unmap(mapping);
        Assert.Equal(0, _hub.PagesHeld);
    }

    [Fact]
    public void A_reused_page_comes_back_zeroed()
    {
        var first = _dom1.Share(2, 1, writable: true);
        first.Span.Fill(0xAA);
        _dom1.Unshare(first);
        using var second = _dom1.Share(2, 1, writable: true);
        Assert.True(second.ReadOnlySpan.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Sharing_past_the_domain_limit_is_no_space()
    {
        using var big = _dom1.Share(2, 60, writable: true);
        var e = Assert.Throws<GrantException>(() => _dom1.Share(2, 5, writable: true));
        Assert.Equal(GrantStatus.NoSpace, e.Status);
        Assert.Equal(60, _hub.PagesHeld);
    }

    [Fact]
    public void A_byte_to_clear_outside_the_pages_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _dom1.Share(2, 1, writable: true, UnmapNotify.ClearByte(4096)));
    }

    [Fact]
    public void A_read_only_mapping_may_not_ask_to_clear_a_byte()
    {
        using var share = _dom1.Share(2, 1, writable: true);
        Assert.Throws<ArgumentException>(() => _dom2.Map(1, share.Refs[0], writable: false, UnmapNotify.ClearByte(0)));
    }

    [Fact]
    public void Unmapping_another_domains_mapping_is_an_argument_error()
    {
        using var share = _dom1.Share(2, 1, writable: true);
        using var mapping = _dom2.Map(1, share.Refs[0], writable: false);
        Assert.Throws<ArgumentException>(() => _dom1.Unmap(mapping));
        Assert.Throws<ArgumentException>(() => _dom2.Unshare(share));
    }

    [Fact]
    public void Unmapping_clears_the_notify_byte_in_the_granted_page()
    {
        using var share = _dom1.Share(2, 2, writable: true);
        share.Span[4096 + 21] = 1;
        var mapping = _dom2.MapMany(1, [share.Refs[0], share.Refs[1]], writable: true, UnmapNotify.ClearByte(4096 + 21));
        Assert.Equal(1, share.ReadOnlySpan[4096 + 21]);
        mapping.Dispose();
        Assert.Equal(0, share.ReadOnlySpan[4096 + 21]);
    }

    [Fact]
    public async Task Unmapping_clears_the_byte_then_sends_the_event()
    {
        using var events = new InHeapEventHub();
        using var grants = new InHeapGrantHub();
        using var server = InHeapDomain.Open(events, grants, 1);
        using var client = InHeapDomain.Open(events, grants, 2);
        var (port, serverChannel) = server.Events.Listen(2);
        var clientChannel = client.Events.Connect(1, port);
        using var share = server.Memory.Share(2, 1, writable: true);
        share.Span[7] = 1;

        var mapping = client.Memory.Map(1, share.Refs[0], writable: true,
            UnmapNotify.ClearByteAndSendEvent(7, clientChannel.LocalPort.Value));
        var wait = server.Events.RecvAsync(serverChannel, EventCounter.Initial);
        Assert.False(wait.IsCompleted);
        client.Memory.Unmap(mapping);
        await wait.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, share.ReadOnlySpan[7]);
    }

    [Fact]
    public void The_byte_is_cleared_before_the_event_is_sent()
    {
        using var share = _dom1.Share(3, 1, writable: true);
        share.Span[0] = 1;
        byte seenAtSend = 0xFF;
        using var dom3 = _hub.Open(3, sendEvent: _ => seenAtSend = share.ReadOnlySpan[0]);
        dom3.Map(1, share.Refs[0], writable: true, UnmapNotify.ClearByteAndSendEvent(0, 5)).Dispose();
        Assert.Equal(0, seenAtSend);
    }

    [Fact]
    public void Unsharing_fires_the_shares_notification()
    {
        var sent = new List<uint>();
        using var dom3 = _hub.Open(3, sent.Add);
        var share = dom3.Share(1, 1, writable: true, UnmapNotify.ClearByteAndSendEvent(3, 17));
        share.Span[3] = 1;
        using var peerView = _dom1.Map(3, share.Refs[0], writable: true);
        dom3.Unshare(share);
        Assert.Equal([17u], sent);
        Assert.Equal(0, peerView.ReadOnlySpan[3]);
    }

    [Fact]
    public void Killing_a_granter_fires_its_shares_notification()
    {
        var sent = new List<uint>();
        using var dom3 = _hub.Open(3, sent.Add);
        var share = dom3.Share(1, 1, writable: true, UnmapNotify.ClearByteAndSendEvent(3, 17));
        share.Span[3] = 1;
        using var peerView = _dom1.Map(3, share.Refs[0], writable: true);
        _hub.Kill(3);
        Assert.Equal([17u], sent);
        Assert.Equal(0, peerView.ReadOnlySpan[3]);
    }

    [Fact]
    public void Killing_a_mapper_fires_its_notifications_and_releases_its_mappings()
    {
        var sent = new List<uint>();
        using var dom3 = _hub.Open(3, sent.Add);
        using var share = _dom1.Share(3, 1, writable: true);
        share.Span[9] = 1;
        var mapping = dom3.Map(1, share.Refs[0], writable: true, UnmapNotify.ClearByteAndSendEvent(9, 4));
        _hub.Kill(3);
        Assert.Equal(0, share.ReadOnlySpan[9]);
        Assert.Equal([4u], sent);
        Assert.Equal(0, _hub.LiveMappings);
        Assert.True(dom3.IsDisposed);
        mapping.Dispose();
    }

    [Fact]
    public void A_killed_domains_views_are_cut_off_from_the_pages_but_stay_addressable_until_disposed()
    {
        // Its drivers may still run in this process: they must neither fault nor reach a live peer.
        using var dom3 = _hub.Open(3);
        using var theirs = _dom1.Share(3, 1, writable: true);
        var mine = dom3.Share(1, 1, writable: true);
        var mapping = dom3.Map(1, theirs.Refs[0], writable: true);
        using var peerView = _dom1.Map(3, mine.Refs[0], writable: true);
        theirs.Span[5] = 1;
        mine.Span[5] = 2;
        _hub.Kill(3);

        Assert.Equal(0, mapping.ReadOnlySpan[5]);
        Assert.Equal(0, mine.ReadOnlySpan[5]);
        mapping.Span[6] = 3;
        mine.Span[6] = 4;
        Assert.Equal(0, theirs.ReadOnlySpan[6]);
        Assert.Equal(0, peerView.ReadOnlySpan[6]);
        Assert.Equal(2, peerView.ReadOnlySpan[5]);
        mapping.Dispose();
        mine.Dispose();
        Assert.Equal(1, _hub.LiveMappings);
        Assert.Equal(1, _hub.LiveShares);
    }

    [Fact]
    public void Killing_a_granter_leaves_its_peers_mappings_valid_until_they_unmap()
    {
        var share = _dom1.Share(2, 1, writable: true);
        share.Span[0] = 33;
        var mapping = _dom2.Map(1, share.Refs[0], writable: true);
        _hub.Kill(1);
        Assert.Equal(0, share.ReadOnlySpan[0]);
        Assert.Equal(33, mapping.ReadOnlySpan[0]);
        mapping.Span[0] = 34;
        Assert.Equal(1, _hub.PagesHeld);
        var e = Assert.Throws<GrantException>(() => _dom2.Map(1, share.Refs[0], writable: false));
        Assert.Equal(GrantStatus.BadDomain, e.Status);
        mapping.Dispose();
        Assert.Equal(0, _hub.PagesHeld);
    }

    [Fact]
    public void A_killed_domain_can_do_nothing_more()
    {
        _hub.Kill(1);
        Assert.Throws<ObjectDisposedException>(() => _dom1.Share(2, 1, writable: true));
        Assert.False(_hub.IsOpen(1));
    }

    [Fact]
    public void Opening_a_domain_twice_while_it_lives_is_an_error()
    {
        Assert.Throws<InvalidOperationException>(() => _hub.Open(1));
    }

    [Fact]
    public void A_disposed_domain_may_be_opened_again()
    {
        _dom1.Dispose();
        using var again = _hub.Open(1);
        using var share = again.Share(2, 1, writable: true);
        Assert.Equal(8u, share.Refs[0].Value);
    }

    [Fact]
    public void Everything_is_released_once_shares_and_mappings_are_gone()
    {
        var shares = Enumerable.Range(0, 5).Select(i => _dom1.Share(2, i + 1, writable: i % 2 == 0)).ToList();
        var mappings = shares.Select(s => _dom2.MapMany(1, s.Refs.ToArray(), writable: false)).ToList();
        var back = _dom2.Share(1, 3, writable: true);
        var backMapping = _dom1.Map(2, back.Refs[1], writable: true);
        Assert.Equal(18, _hub.PagesHeld);
        Assert.Equal(6, _hub.LiveMappings);

        foreach (var share in shares)
            share.Dispose();
        Assert.Equal(18, _hub.PagesHeld);   // every shared page is still mapped
        Assert.Equal(3, _hub.LiveGrants);
        foreach (var mapping in mappings)
            _dom2.Unmap(mapping);
        Assert.Equal(3, _hub.PagesHeld);
        _dom2.Dispose();   // ends `back`, and its page mapped by dom1 stays until dom1 goes
        Assert.Equal(1, _hub.PagesHeld);
        _dom1.Dispose();
        backMapping.Dispose();

        Assert.Equal(0, _hub.LiveGrants);
        Assert.Equal(0, _hub.LiveShares);
        Assert.Equal(0, _hub.LiveMappings);
        Assert.Equal(0, _hub.PagesHeld);
    }

    // PageBuffer's Dispose is IDisposable's, implemented explicitly by MemoryManager.

    // The permissions /proc/self/maps shows for each page of the buffer.
    private static List<string> Permissions(PageBuffer buffer)
    {
        var start = (ulong)buffer.Address;
        var end = start + (ulong)buffer.Length;
        var perms = new List<string>();
        for (var page = start; page < end; page += PageBuffer.PageSize)
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var range = line[..line.IndexOf(' ', StringComparison.Ordinal)].Split('-');
                var lo = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var hi = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (page >= lo && page < hi)
                {
                    perms.Add(line.Split(' ')[1]);
                    break;
                }
            }
        }
        return perms;
    }
}
