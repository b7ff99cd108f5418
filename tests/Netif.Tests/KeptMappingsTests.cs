using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Netif.Tests;

/// <summary>
/// A netback that keeps the frontend's pages mapped (<see cref="NetbackOptions.KeepMappings"/>) in a
/// cache smaller than a frame: the frame's pages stay mapped while it is copied, and a frame that
/// finds no room maps its pages for itself.
/// </summary>
public sealed class KeptMappingsTests
{
    private static NetbackOptions TwoKept => new() { KeepMappings = true, MappingCacheSize = 2 };

    [Fact]
    public async Task A_received_frame_of_more_pages_than_are_kept_arrives_whole()
    {
        await using var f = new RawFrontend(options: TwoKept);
        var frame = TestFrames.Make(9014, 9);
        for (var i = 0; i < 3; i++)
            f.Rx.WriteRequest(new NetifRxRequest { Id = (ushort)(10 + i), Gref = f.RxPageRef(i) });
        f.Push();
        await f.Outside.WriteAsync(frame, cancellationToken: Timeouts.Short);

        var responses = await f.RxResponsesAsync(3);

        Assert.Equal([4096, 4096, 822], responses.Select(r => (int)r.Status));
        byte[] received = [.. f.RxPage(0), .. f.RxPage(1), .. f.RxPage(2)[..822]];
        Assert.Equal(frame, received);
        // The two ring pages and the two kept pages: the third was mapped for the frame alone.
        Assert.Equal(4, f.BackendMappings);
    }

    [Fact]
    public async Task Received_frames_over_more_pages_than_are_kept_evict_old_pages_but_arrive_whole()
    {
        await using var f = new RawFrontend(options: TwoKept);
        for (var n = 0; n < 4; n++)
        {
            // Two pages a frame, a new pair each time: the cache evicts the last frame's pair.
            var frame = TestFrames.Make(6000, n);
            for (var i = 0; i < 2; i++)
                f.Rx.WriteRequest(new NetifRxRequest { Id = (ushort)(20 + i), Gref = f.RxPageRef(2 * n + i) });
            f.Push();
            await f.Outside.WriteAsync(frame, cancellationToken: Timeouts.Short);

            var responses = await f.RxResponsesAsync(2);

            Assert.Equal([4096, 6000 - 4096], responses.Select(r => (int)r.Status));
            byte[] received = [.. f.RxPage(2 * n), .. f.RxPage(2 * n + 1)[..(6000 - 4096)]];
            Assert.Equal(frame, received);
            Assert.Equal(4, f.BackendMappings);
        }
    }

    // A frontend whose rx page 0 the backend keeps (one frame went through a request on it), with two
    // more requests posted: id 2 on page 0, then id 3 on page 1. The link is offered page 0 first.
    private static async Task<RawFrontend> Page0KeptAndTwoRequestsAsync()
    {
        var f = new RawFrontend(options: TwoKept);
        f.Rx.WriteRequest(new NetifRxRequest { Id = 1, Gref = f.RxPageRef(0) });
        f.Push();
        await f.Outside.WriteAsync(TestFrames.Make(60, 1), cancellationToken: Timeouts.Short);
        Assert.Equal(60, (await f.RxResponsesAsync(1))[0].Status);
        f.Rx.WriteRequest(new NetifRxRequest { Id = 2, Gref = f.RxPageRef(0) });
        f.Rx.WriteRequest(new NetifRxRequest { Id = 3, Gref = f.RxPageRef(1) });
        f.Push();
        return f;
    }

    [Fact]
    public async Task A_received_frame_longer_than_the_kept_page_it_is_offered_first_arrives_whole()
    {
        // The kept page the link is offered first is too small for the frame.
        await using var f = await Page0KeptAndTwoRequestsAsync();
        var frame = TestFrames.Make(6000, 2);
        await f.Outside.WriteAsync(frame, cancellationToken: Timeouts.Short);

        var responses = await f.RxResponsesAsync(2);

        Assert.Equal([(2, 4096), (3, 6000 - 4096)], responses.Select(r => ((int)r.Id, (int)r.Status)));
        byte[] received = [.. f.RxPage(0), .. f.RxPage(1)[..(6000 - 4096)]];
        Assert.Equal(frame, received);
    }

    [Fact]
    public async Task A_gso_frame_that_fits_a_kept_page_still_gets_its_extra_slot_and_a_runt_keeps_its_request()
    {
        await using var f = await Page0KeptAndTwoRequestsAsync();
        // Both are written into the kept page first; the runt is dropped there, its request left for the GSO frame.
        await f.Outside.WriteAsync(TestFrames.Make(10, 3), cancellationToken: Timeouts.Short);
        var frame = TestFrames.Make(3000, 4);
        await f.Outside.WriteAsync(frame, new FrameOffload(FrameChecksum.Blank, NetifGsoType.TcpV4, 1448), Timeouts.Short);

        var responses = await f.RxResponsesAsync(2);

        Assert.Equal(2, responses[0].Id);
        Assert.Equal(3000, responses[0].Status);
        Assert.True(responses[0].Flags.HasFlag(NetifRxFlags.ExtraInfo));
        var extra = Unsafe.As<NetifRxResponse, NetifExtraInfo>(ref CollectionsMarshal.AsSpan(responses)[1]);
        Assert.Equal((NetifExtraType.Gso, NetifGsoType.TcpV4, (ushort)1448), (extra.Type, extra.Gso.Type, extra.Gso.Size));
        Assert.Equal(frame, f.RxPage(0)[..3000].ToArray());
        Assert.Equal(1, f.Netback.Statistics.DropsFor(NetifDropReason.BadSize));
    }

    [Fact]
    public async Task Sent_frames_in_a_kept_page_are_answered_by_their_ids_counted_and_passed_whole()
    {
        await using var f = new RawFrontend(options: TwoKept);
        var buffer = new byte[Frames.MaxFrame];
        // The first frame keeps the page; the next find it kept and are taken in the pump itself.
        for (var n = 0; n < 3; n++)
        {
            var frame = TestFrames.Make(100 + n, n);
            frame.CopyTo(f.Page(0));
            f.Write(new NetifTxRequest { Gref = f.PageRef(0), Id = (ushort)(40 + n), Size = (ushort)frame.Length });
            f.Push();

            var response = (await f.TxResponsesAsync(1))[0];

            Assert.Equal(((ushort)(40 + n), NetifStatus.Okay), (response.Id, response.Status));
            var got = await f.Outside.ReadAsync(buffer, Timeouts.Short);
            Assert.Equal(frame, buffer[..got.Length]);
            Assert.Equal(n + 1, f.Netback.Statistics.TxFrames);
        }
        Assert.Equal(3, f.BackendMappings);
    }

    [Fact]
    public async Task A_sent_frame_of_more_pages_than_are_kept_arrives_whole()
    {
        await using var f = new RawFrontend(options: TwoKept);
        var frame = TestFrames.Make(5000, 7);
        frame.AsSpan(0, 2000).CopyTo(f.Page(0));
        frame.AsSpan(2000, 2500).CopyTo(f.Page(1));
        frame.AsSpan(4500).CopyTo(f.Page(2));
        f.Write(new NetifTxRequest { Gref = f.PageRef(0), Id = 1, Size = 5000, Flags = NetifTxFlags.MoreData });
        f.Write(new NetifTxRequest { Gref = f.PageRef(1), Id = 2, Size = 2500, Flags = NetifTxFlags.MoreData });
        f.Write(new NetifTxRequest { Gref = f.PageRef(2), Id = 3, Size = 500 });
        f.Push();

        var responses = await f.TxResponsesAsync(3);

        Assert.All(responses, r => Assert.Equal(NetifStatus.Okay, r.Status));
        var buffer = new byte[Frames.MaxFrame];
        var got = await f.Outside.ReadAsync(buffer, Timeouts.Short);
        Assert.Equal(frame, buffer[..got.Length]);
        Assert.Equal(4, f.BackendMappings);
    }
}
