using System.Globalization;
using Xen.Evtchn;
using Xen.Gnt;
using static Xen.Gnt.Xen.GrantTableAbi;

namespace Xen.Guest.Tests;

public sealed class GrantTableTests
{
    [Fact]
    public void A_mapping_shows_the_granted_pages_and_writes_go_both_ways()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);
        share.Span[100] = 42;

        using var mapping = pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: true);
        mapping.Span[200] = 7;

        Assert.Equal(42, mapping.ReadOnlySpan[100]);
        Assert.Equal(7, share.ReadOnlySpan[200]);
    }

    [Fact]
    public void A_share_writes_a_v1_entry_naming_the_peer_and_the_frame()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: false);

        Assert.Equal(GTF_permit_access | GTF_readonly, pair.One.Domain.GrantFlags(share.Refs[0].Value));
    }

    [Fact]
    public void Refs_0_to_7_are_never_handed_out()
    {
        using var pair = new GuestPair(grantFrames: 1);
        using var share = pair.One.Memory.Share(pair.Two.Id, EntriesPerFrame - GNTTAB_NR_RESERVED_ENTRIES, writable: true);

        Assert.All(share.Refs, r => Assert.False(r.IsReserved));
        Assert.Equal(EntriesPerFrame - GNTTAB_NR_RESERVED_ENTRIES, share.Refs.Distinct().Count());
    }

    [Fact]
    public void A_full_table_refuses_with_NoSpace()
    {
        using var pair = new GuestPair(grantFrames: 1);
        using var share = pair.One.Memory.Share(pair.Two.Id, EntriesPerFrame - GNTTAB_NR_RESERVED_ENTRIES, writable: true);

        var error = Assert.Throws<GrantException>(() => pair.One.Memory.Share(pair.Two.Id, 1, writable: true));
        Assert.Equal(GrantStatus.NoSpace, error.Status);
    }

    [Fact]
    public void An_ended_share_returns_its_refs_to_the_free_list()
    {
        using var pair = new GuestPair();
        var free = pair.One.Memory.FreeGrantCount;
        var first = pair.One.Memory.Share(pair.Two.Id, 2, writable: true);
        var refs = first.Refs.ToArray();

        pair.One.Memory.Unshare(first);

        Assert.Equal(free, pair.One.Memory.FreeGrantCount);
        Assert.Equal(GTF_invalid, pair.One.Domain.GrantFlags(refs[0].Value));
        using var second = pair.One.Memory.Share(pair.Two.Id, 2, writable: true);
        Assert.Equal(refs.Select(r => r.Value).Order(), second.Refs.Select(r => r.Value).Order());
    }

    [Fact]
    public void A_read_only_grant_cannot_be_mapped_writable()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: false);

        var error = Assert.Throws<GrantException>(() => pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: true));

        Assert.Equal(GrantStatus.GeneralError, error.Status); // Xen's _set_status_v1 answer
        Assert.Equal(GTF_permit_access | GTF_readonly, pair.One.Domain.GrantFlags(share.Refs[0].Value));
    }

    [Fact]
    public void A_read_only_grant_maps_read_only_in_the_page_tables()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: false);
        share.Span[0] = 9; // the granter's own view is always writable

        using var mapping = pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: false);

        Assert.Equal(9, mapping.ReadOnlySpan[0]);
        Assert.Throws<InvalidOperationException>(() => mapping.Span[0]);
        Assert.Equal("r--s", Protection(mapping.Address));
        Assert.Equal(GTF_permit_access | GTF_readonly | GTF_reading, pair.One.Domain.GrantFlags(share.Refs[0].Value));
    }

    [Fact]
    public void A_grant_for_another_domain_is_refused()
    {
        using var pair = new GuestPair();
        using var three = Guest.Boot(pair.Hypervisor, 3);
        using var share = pair.One.Memory.Share(three.Id, 1, writable: true);

        var error = Assert.Throws<GrantException>(() => pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: false));

        Assert.Equal(GrantStatus.GeneralError, error.Status); // Xen: "Bad flags or dom"
    }

    [Fact]
    public void A_missing_domain_is_BadDomain()
    {
        using var pair = new GuestPair();

        var error = Assert.Throws<GrantException>(() => pair.Two.Memory.Map(42, new GrantRef(8), writable: false));

        Assert.Equal(GrantStatus.BadDomain, error.Status);
    }

    [Fact]
    public void A_ref_beyond_the_table_is_BadGntref()
    {
        using var pair = new GuestPair(grantFrames: 1);

        var error = Assert.Throws<GrantException>(() => pair.Two.Memory.Map(pair.One.Id, new GrantRef(EntriesPerFrame), writable: false));

        Assert.Equal(GrantStatus.BadGntref, error.Status);
    }

    [Fact]
    public void An_ungranted_ref_is_refused()
    {
        using var pair = new GuestPair();

        var error = Assert.Throws<GrantException>(() => pair.Two.Memory.Map(pair.One.Id, new GrantRef(20), writable: false));

        Assert.Equal(GrantStatus.GeneralError, error.Status);
    }

    [Fact]
    public void A_busy_grant_is_not_ended_until_the_peer_unmaps()
    {
        using var pair = new GuestPair();
        var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);
        var gref = share.Refs[0];
        share.Span[5] = 55;
        var mapping = pair.Two.Memory.Map(pair.One.Id, gref, writable: true);
        var free = pair.One.Memory.FreeGrantCount;

        pair.One.Memory.Unshare(share);

        Assert.Equal(1, pair.One.Memory.DeferredGrantCount);
        Assert.Equal(free, pair.One.Memory.FreeGrantCount);
        Assert.Equal(GTF_permit_access | GTF_reading | GTF_writing, pair.One.Domain.GrantFlags(gref.Value));
        Assert.Equal(55, mapping.ReadOnlySpan[5]); // still the granted page

        pair.Two.Memory.Unmap(mapping);

        Assert.Equal(0, pair.One.Memory.ReclaimDeferred());
        Assert.Equal(free + 1, pair.One.Memory.FreeGrantCount);
        Assert.Equal(GTF_invalid, pair.One.Domain.GrantFlags(gref.Value));
    }

    [Fact]
    public void A_busy_ref_is_not_handed_out_again()
    {
        using var pair = new GuestPair();
        var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);
        using var mapping = pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: true);
        pair.One.Memory.Unshare(share);

        using var next = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);

        Assert.NotEqual(share.Refs[0], next.Refs[0]);
    }

    [Fact]
    public void MapMany_gives_one_contiguous_view_in_the_order_asked()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 3, writable: true);
        for (var page = 0; page < 3; page++)
            share.Span[page * PageBuffer.PageSize] = (byte)(page + 1);

        using var mapping = pair.Two.Memory.MapMany(pair.One.Id, [share.Refs[2], share.Refs[0], share.Refs[1]], writable: false);

        Assert.Equal(3 * PageBuffer.PageSize, mapping.Length);
        Assert.Equal([3, 1, 2], Enumerable.Range(0, 3).Select(p => mapping.ReadOnlySpan[p * PageBuffer.PageSize]));
    }

    [Fact]
    public void MapMany_maps_nothing_when_one_ref_fails()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 2, writable: true);

        var error = Assert.Throws<GrantException>(() =>
            pair.Two.Memory.MapMany(pair.One.Id, [share.Refs[0], share.Refs[1], new GrantRef(100)], writable: true));

        Assert.Equal(GrantStatus.GeneralError, error.Status);
        Assert.Equal(0, pair.Two.Domain.MappedGrants);
        Assert.All(share.Refs, r => Assert.Equal(GTF_permit_access, pair.One.Domain.GrantFlags(r.Value)));
    }

    [Fact]
    public void Unmapping_with_ClearByte_clears_the_byte_in_the_granters_page()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);
        share.Span[21] = 1;
        var mapping = pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: true, UnmapNotify.ClearByte(21));

        pair.Two.Memory.Unmap(mapping);

        Assert.Equal(0, share.ReadOnlySpan[21]);
        Assert.Equal(GTF_permit_access, pair.One.Domain.GrantFlags(share.Refs[0].Value));
    }

    [Fact]
    public async Task Unmapping_with_SendEvent_notifies_the_port()
    {
        using var pair = new GuestPair();
        var (server, client) = pair.Connect();
        var seen = await pair.Two.Events.RecvAsync(client, EventCounter.Initial); // the bind event
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);
        var mapping = pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: false, UnmapNotify.SendEvent(client.LocalPort.Value));
        var wait = pair.One.Events.RecvAsync(server, EventCounter.Initial).AsTask();

        pair.Two.Memory.Unmap(mapping);

        Assert.Equal(new EventCounter(1), await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new EventCounter(1), seen);
    }

    [Fact]
    public void A_share_whose_notify_port_was_closed_first_still_ends()
    {
        using var pair = new GuestPair();
        var (server, _) = pair.Connect();
        var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true, UnmapNotify.SendEvent(server.LocalPort.Value));
        var free = pair.One.Memory.FreeGrantCount;
        pair.One.Events.Close(server);

        pair.One.Memory.Unshare(share);

        Assert.Equal(free + 1, pair.One.Memory.FreeGrantCount);
    }

    [Fact]
    public void Unsharing_with_ClearByte_clears_the_byte_the_peer_still_sees()
    {
        using var pair = new GuestPair();
        var share = pair.One.Memory.Share(pair.Two.Id, 2, writable: true, UnmapNotify.ClearByte(PageBuffer.PageSize + 3));
        share.Span[PageBuffer.PageSize + 3] = 1;
        using var mapping = pair.Two.Memory.MapMany(pair.One.Id, [share.Refs[0], share.Refs[1]], writable: false);

        pair.One.Memory.Unshare(share);

        Assert.Equal(0, mapping.ReadOnlySpan[PageBuffer.PageSize + 3]);
    }

    [Fact]
    public void A_read_only_mapping_cannot_ask_to_clear_a_byte()
    {
        using var pair = new GuestPair();
        using var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);

        Assert.Throws<ArgumentException>(() => pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: false, UnmapNotify.ClearByte(0)));
    }

    [Fact]
    public void A_destroyed_mapper_releases_its_mappings_so_the_share_can_end()
    {
        using var pair = new GuestPair();
        var share = pair.One.Memory.Share(pair.Two.Id, 1, writable: true);
        _ = pair.Two.Memory.Map(pair.One.Id, share.Refs[0], writable: true);
        pair.One.Memory.Unshare(share);
        Assert.Equal(1, pair.One.Memory.DeferredGrantCount);

        pair.Hypervisor.DestroyDomain(pair.Two.Id);

        Assert.Equal(0, pair.One.Memory.ReclaimDeferred());
    }

    [Fact]
    public void Ended_pages_go_back_to_the_guest_memory_manager()
    {
        using var pair = new GuestPair();
        var before = pair.One.Domain.GuestPages;
        var share = pair.One.Memory.Share(pair.Two.Id, 3, writable: true);
        Assert.Equal(before + 3, pair.One.Domain.GuestPages);

        pair.One.Memory.Unshare(share);

        Assert.Equal(before, pair.One.Domain.GuestPages);
    }

    /// <summary>The permissions column of the /proc/self/maps line that holds <paramref name="address"/>.</summary>
    private static string Protection(nint address)
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var range = line[..line.IndexOf(' ', StringComparison.Ordinal)].Split('-');
            var start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var end = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if ((ulong)address >= start && (ulong)address < end)
                return line.Split(' ')[1];
        }
        throw new InvalidOperationException($"{address:x} is not mapped.");
    }
}
