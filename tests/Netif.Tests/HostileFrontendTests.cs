using SharedMemoryRing;

namespace Netif.Tests;

/// <summary>
/// A netback facing a frontend that writes bad requests: each bad frame is answered with an error
/// status, dropped and counted, nothing outside a granted page is touched, and the next good frame
/// still goes through. Faults Linux's netback treats as fatal disconnect the queue instead.
/// </summary>
public sealed class HostileFrontendTests
{
    // With kept mappings a one-slot frame takes the netback's fast path: the same checks must hold there.
    private static NetbackOptions? Kept(bool kept) => kept ? new NetbackOptions { KeepMappings = true } : null;

    private static NetifTxRequest Slot(RawFrontend f, int page, ushort id, ushort size, ushort offset = 0, NetifTxFlags flags = 0) =>
        new() { Gref = f.PageRef(page), Offset = offset, Flags = flags, Id = id, Size = size };

    /// <summary>Sends one good 60-byte frame and checks that it comes out of the link.</summary>
    private static async Task AssertStillWorks(RawFrontend f)
    {
        f.Page(0)[..60].Fill(0x5a);
        f.Write(Slot(f, 0, 77, 60));
        f.Push();
        var responses = await f.TxResponsesAsync(1);
        Assert.Equal(new NetifTxResponse { Id = 77, Status = NetifStatus.Okay }, responses[0]);
        var buffer = new byte[Frames.MaxFrame];
        var got = await f.Outside.ReadAsync(buffer, Timeouts.Short);
        Assert.Equal(60, got.Length);
        Assert.All(buffer[..60], b => Assert.Equal(0x5a, b));
    }

    private static async Task AssertDropped(RawFrontend f, int slots, NetifDropReason reason)
    {
        f.Push();
        var responses = await f.TxResponsesAsync(slots);
        Assert.Contains(responses, r => r.Status == NetifStatus.Error);
        Assert.All(responses, r => Assert.True(r.Status is NetifStatus.Error or NetifStatus.Null));
        Assert.Equal(1, f.Netback.Statistics.DropsFor(reason));
        Assert.False(f.Outside.TryRead(new byte[Frames.MaxFrame], out _));
        await AssertStillWorks(f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bad_grant_ref_is_answered_with_an_error_and_counted(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        f.Write(new NetifTxRequest { Gref = new Xen.Gnt.GrantRef(54321), Id = 1, Size = 60 });
        await AssertDropped(f, 1, NetifDropReason.BadGrantRef);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_slot_whose_offset_plus_size_runs_past_its_page_is_dropped(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        f.Write(Slot(f, 0, 1, 200, offset: 4000));
        await AssertDropped(f, 1, NetifDropReason.SlotCrossesPage);
    }

    [Fact]
    public async Task A_first_slot_size_smaller_than_its_fragments_is_dropped()
    {
        await using var f = new RawFrontend();
        f.Write(Slot(f, 0, 1, 100, flags: NetifTxFlags.MoreData));
        f.Write(Slot(f, 1, 2, 200));
        await AssertDropped(f, 2, NetifDropReason.SizeMismatch);
    }

    [Fact]
    public async Task A_frame_of_more_than_18_slots_is_dropped()
    {
        await using var f = new RawFrontend();
        const int slots = Frames.MaxSlots + 1;
        for (var i = 0; i < slots; i++)
            f.Write(Slot(f, i, (ushort)i, i == 0 ? (ushort)(slots * 60) : (ushort)60, flags: i < slots - 1 ? NetifTxFlags.MoreData : 0));
        await AssertDropped(f, slots, NetifDropReason.TooManySlots);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_frame_of_18_slots_is_assembled_in_order(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        const int slots = Frames.MaxSlots;
        for (var i = 0; i < slots; i++)
        {
            f.Page(i)[100..160].Fill((byte)i);
            f.Write(Slot(f, i, (ushort)i, i == 0 ? (ushort)(slots * 60) : (ushort)60, offset: 100, flags: i < slots - 1 ? NetifTxFlags.MoreData : 0));
        }
        f.Push();
        var responses = await f.TxResponsesAsync(slots);
        Assert.All(responses, r => Assert.Equal(NetifStatus.Okay, r.Status));
        Assert.Equal(Enumerable.Range(0, slots).Select(i => (ushort)i), responses.Select(r => r.Id));
        var buffer = new byte[Frames.MaxFrame];
        var got = await f.Outside.ReadAsync(buffer, Timeouts.Short);
        Assert.Equal(slots * 60, got.Length);
        for (var i = 0; i < slots; i++)
            Assert.All(buffer[(i * 60)..((i + 1) * 60)], b => Assert.Equal((byte)i, b));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_extra_info_slot_of_unknown_type_is_dropped(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        f.Write(Slot(f, 0, 1, 60, flags: NetifTxFlags.ExtraInfo));
        f.WriteExtra(new NetifExtraInfo { Type = (NetifExtraType)9 });
        await AssertDropped(f, 2, NetifDropReason.BadExtraInfo);
    }

    [Fact]
    public async Task A_gso_slot_with_zero_size_is_dropped()
    {
        await using var f = new RawFrontend();
        f.Write(Slot(f, 0, 1, 60, flags: NetifTxFlags.ExtraInfo));
        f.WriteExtra(new NetifExtraInfo { Type = NetifExtraType.Gso, Gso = new NetifGsoInfo { Type = NetifGsoType.TcpV4, Size = 0 } });
        await AssertDropped(f, 2, NetifDropReason.BadExtraInfo);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_frame_shorter_than_an_ethernet_header_is_dropped(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        f.Write(Slot(f, 0, 1, 10));
        await AssertDropped(f, 1, NetifDropReason.BadSize);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Duplicate_ids_are_each_answered_and_both_frames_pass(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        f.Write(Slot(f, 0, 9, 60));
        f.Write(Slot(f, 1, 9, 60));
        f.Push();
        var responses = await f.TxResponsesAsync(2);
        Assert.All(responses, r => Assert.Equal(new NetifTxResponse { Id = 9, Status = NetifStatus.Okay }, r));
        Assert.Equal(2, f.Netback.Statistics.TxFrames);
    }

    [Fact]
    public async Task A_frame_that_claims_more_slots_than_pushed_disconnects_the_queue()
    {
        await using var f = new RawFrontend();
        f.Write(Slot(f, 0, 1, 120, flags: NetifTxFlags.MoreData));
        f.Push();
        await Assert.ThrowsAsync<NetifProtocolException>(() => f.Netback.Completion.WaitAsync(Timeouts.Short));
        Assert.Equal(1, f.Netback.Statistics.DropsFor(NetifDropReason.Disconnected));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_disconnect_closes_each_of_the_netbacks_channels_once(bool split)
    {
        await using var f = new RawFrontend(split: split);
        f.Write(Slot(f, 0, 1, 120, flags: NetifTxFlags.MoreData));
        f.Push();
        await Assert.ThrowsAsync<NetifProtocolException>(() => f.Netback.Completion.WaitAsync(Timeouts.Short));
        // A freed port is bound again by the next channel of the process (Unix, xenctrl and Xen
        // events): a second close would shut another driver's channel.
        Assert.Equal(split ? 2 : 1, f.BackendEvents.Closes.Count);
        Assert.All(f.BackendEvents.Closes, c => Assert.True(c.Value == 1, $"Port {c.Key} was closed {c.Value} times."));
    }

    [Fact]
    public async Task A_req_prod_beyond_the_ring_disconnects_the_queue()
    {
        await using var f = new RawFrontend();
        unsafe
        {
            Volatile.Write(ref *(uint*)(f.TxRingPointer + SharedRingLayout.ReqProdOffset), 1000u);
        }
        f.Notify();
        await Assert.ThrowsAsync<RingProtocolException>(() => f.Netback.Completion.WaitAsync(Timeouts.Short));
        Assert.Equal(1, f.Netback.Statistics.DropsFor(NetifDropReason.Disconnected));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_rx_request_with_a_bad_grant_ref_gets_an_error_response(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        f.Rx.WriteRequest(new NetifRxRequest { Id = 3, Gref = new Xen.Gnt.GrantRef(60000) });
        f.Rx.WriteRequest(new NetifRxRequest { Id = 4, Gref = f.RxPageRef(0) });
        f.Push();
        await f.Outside.WriteAsync(new byte[100], cancellationToken: Timeouts.Short);
        var bad = await f.RxResponsesAsync(1);
        Assert.Equal(3, bad[0].Id);
        Assert.Equal((short)NetifStatus.Error, bad[0].Status);
        Assert.Equal(1, f.Netback.Statistics.DropsFor(NetifDropReason.BadGrantRef));
        var frame = TestFrames.Make(100, 8);
        await f.Outside.WriteAsync(frame, cancellationToken: Timeouts.Short);
        var good = await f.RxResponsesAsync(1);
        Assert.Equal(new NetifRxResponse { Id = 4, Offset = 0, Flags = 0, Status = 100 }, good[0]);
        Assert.Equal(frame, f.RxPage(0)[..100].ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rx_frames_that_find_no_request_wait_for_one_and_arrive_in_order(bool kept)
    {
        await using var f = new RawFrontend(options: Kept(kept));
        var frames = Enumerable.Range(0, 3).Select(i => TestFrames.Make(100 + i, (byte)(20 + i))).ToArray();
        foreach (var frame in frames)
            await f.Outside.WriteAsync(frame, cancellationToken: Timeouts.Short);
        // No page posted yet: the netback holds the first frame, takes nothing more, answers nothing.
        await RawFrontend.Until(() => f.Netback.Statistics.RingFullWaits > 0);
        Assert.Equal(0, f.Rx.UnconsumedResponses);
        for (var i = 0; i < 3; i++)
            f.Rx.WriteRequest(new NetifRxRequest { Id = (ushort)(30 + i), Gref = f.RxPageRef(i) });
        f.Push();
        var responses = await f.RxResponsesAsync(3);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(new NetifRxResponse { Id = (ushort)(30 + i), Offset = 0, Flags = 0, Status = (short)(100 + i) }, responses[i]);
            Assert.Equal(frames[i], f.RxPage(i)[..(100 + i)].ToArray());
        }
        Assert.Equal(3, f.Netback.Statistics.RxFrames);
    }
}
