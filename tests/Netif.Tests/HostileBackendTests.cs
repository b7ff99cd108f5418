using System.Runtime.CompilerServices;
using SharedMemoryRing;

namespace Netif.Tests;

/// <summary>
/// A netfront facing a backend that writes bad responses: bad frames are dropped and counted,
/// responses to ids never requested are ignored and counted, nothing outside a page is read, and
/// the frontend keeps sending and receiving.
/// </summary>
public sealed class HostileBackendTests
{
    private static readonly byte[] Buffer = new byte[Frames.MaxFrame];

    [Fact]
    public async Task A_tx_response_to_an_id_never_requested_is_ignored_and_counted()
    {
        await using var b = new RawBackend();
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.True(b.Tx.TryReadRequest(out var request));
        b.Tx.WriteResponse(new NetifTxResponse { Id = (ushort)(request.Id + 100), Status = NetifStatus.Okay });
        b.Push();
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.Equal(1, b.Netfront.Statistics.DropsFor(NetifDropReason.UnknownId));
    }

    [Fact]
    public async Task A_duplicate_tx_response_is_ignored_and_counted()
    {
        await using var b = new RawBackend();
        Assert.True(b.Queue.TrySend(new byte[60]));
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.True(b.Tx.TryReadRequest(out var first));
        Assert.True(b.Tx.TryReadRequest(out _));
        b.Tx.WriteResponse(new NetifTxResponse { Id = first.Id, Status = NetifStatus.Okay });
        b.Tx.WriteResponse(new NetifTxResponse { Id = first.Id, Status = NetifStatus.Okay });
        b.Push();
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.Equal(1, b.Netfront.Statistics.DropsFor(NetifDropReason.UnknownId));
    }

    [Fact]
    public async Task A_tx_error_status_is_counted()
    {
        await using var b = new RawBackend();
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.True(b.Tx.TryReadRequest(out var request));
        b.Tx.WriteResponse(new NetifTxResponse { Id = request.Id, Status = NetifStatus.Error });
        b.Push();
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.Equal(1, b.Netfront.Statistics.DropsFor(NetifDropReason.PeerError));
    }

    [Fact]
    public async Task Flush_collects_the_tx_responses_written_since()
    {
        await using var b = new RawBackend();
        Assert.True(b.Queue.TrySend(new byte[60]));
        b.Queue.Flush();
        Assert.True(b.Tx.TryReadRequest(out var request));
        b.Tx.WriteResponse(new NetifTxResponse { Id = request.Id, Status = NetifStatus.Error });
        b.Push();
        b.Queue.Flush();
        Assert.Equal(1, b.Netfront.Statistics.DropsFor(NetifDropReason.PeerError));
    }

    private static async Task AssertRxDropped(RawBackend b, NetifDropReason reason)
    {
        Assert.False(b.Queue.TryReceive(Buffer, out _));
        Assert.Equal(1, b.Netfront.Statistics.DropsFor(reason));
        // A good frame after it is received.
        var request = b.ReadRx();
        var frame = TestFrames.Make(80, 11);
        b.Fill(request, 0, frame);
        b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Status = 80 });
        b.Push();
        Assert.True(b.Queue.TryReceive(Buffer, out var got));
        Assert.Equal(frame, Buffer[..got.Length]);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task An_rx_response_past_the_end_of_its_page_is_dropped()
    {
        await using var b = new RawBackend();
        var request = b.ReadRx();
        b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Offset = 4000, Status = 200 });
        b.Push();
        await AssertRxDropped(b, NetifDropReason.SlotCrossesPage);
    }

    [Fact]
    public async Task An_rx_response_with_another_slots_id_is_dropped()
    {
        await using var b = new RawBackend();
        var request = b.ReadRx();
        b.Rx.WriteResponse(new NetifRxResponse { Id = (ushort)(request.Id + 5), Status = 60 });
        b.Push();
        await AssertRxDropped(b, NetifDropReason.UnknownId);
    }

    [Fact]
    public async Task An_rx_error_status_is_dropped()
    {
        await using var b = new RawBackend();
        var request = b.ReadRx();
        b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Status = (short)NetifStatus.Error });
        b.Push();
        await AssertRxDropped(b, NetifDropReason.PeerError);
    }

    [Fact]
    public async Task An_rx_chain_of_more_than_18_slots_is_dropped_and_its_pages_reposted()
    {
        await using var b = new RawBackend();
        var before = b.Rx.UnconsumedRequests;
        const int slots = Frames.MaxSlots + 1;
        for (var i = 0; i < slots; i++)
        {
            var request = b.ReadRx();
            b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Status = 60, Flags = i < slots - 1 ? NetifRxFlags.MoreData : 0 });
        }
        b.Push();
        Assert.False(b.Queue.TryReceive(Buffer, out _));
        Assert.Equal(before, b.Rx.UnconsumedRequests);
        await AssertRxDropped(b, NetifDropReason.TooManySlots);
    }

    [Fact]
    public async Task An_rx_extra_info_slot_of_unknown_type_is_dropped()
    {
        await using var b = new RawBackend();
        var request = b.ReadRx();
        b.ReadRx();
        b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Status = 60, Flags = NetifRxFlags.ExtraInfo });
        var extra = default(NetifRxResponse);
        Unsafe.As<NetifRxResponse, NetifExtraInfo>(ref extra).Type = (NetifExtraType)200;
        b.Rx.WriteResponse(extra);
        b.Push();
        await AssertRxDropped(b, NetifDropReason.BadExtraInfo);
    }

    [Fact]
    public async Task An_rx_frame_with_two_extras_of_one_type_is_dropped()
    {
        await using var b = new RawBackend();
        var request = b.ReadRx();
        b.ReadRx();
        b.ReadRx();
        b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Status = 60, Flags = NetifRxFlags.ExtraInfo });
        var extra = default(NetifRxResponse);
        ref var info = ref Unsafe.As<NetifRxResponse, NetifExtraInfo>(ref extra);
        info.Type = NetifExtraType.Hash;
        info.Flags = NetifExtraFlags.More;
        b.Rx.WriteResponse(extra);
        info.Flags = 0;
        b.Rx.WriteResponse(extra);
        b.Push();
        await AssertRxDropped(b, NetifDropReason.BadExtraInfo);
    }

    [Fact]
    public async Task A_backend_that_answers_every_repost_with_a_bad_frame_cannot_hold_a_receive_for_ever()
    {
        await using var b = new RawBackend();
        var size = b.Rx.Size;
        using var stop = new CancellationTokenSource();
        // Answers each rx request with an error as soon as it is posted: every one posted now, then
        // the reposts, for ten rings' worth.
        var answered = 0;
        void AnswerPosted()
        {
            while (b.Rx.TryReadRequest(out var request))
            {
                b.Rx.WriteResponse(new NetifRxResponse { Id = request.Id, Status = (short)NetifStatus.Error });
                answered++;
            }
            b.Rx.PushResponses();
        }
        AnswerPosted();
        using var flooding = new ManualResetEventSlim();
        var flood = Task.Factory.StartNew(() =>
        {
            flooding.Set();
            while (answered < 10 * size && !stop.IsCancellationRequested)
                AnswerPosted();
        }, TaskCreationOptions.LongRunning);
        flooding.Wait();
        Assert.False(b.Queue.TryReceive(Buffer, out _));
        await stop.CancelAsync();
        await flood;
        Assert.InRange(b.Netfront.Statistics.DropsFor(NetifDropReason.PeerError), 1, size);
    }

    [Fact]
    public async Task An_rsp_prod_beyond_the_requests_is_a_ring_protocol_error()
    {
        await using var b = new RawBackend();
        unsafe
        {
            Volatile.Write(ref *(uint*)(b.RxRingPointer + SharedRingLayout.RspProdOffset), 100_000u);
        }
        Assert.Throws<RingProtocolException>(() => b.Queue.TryReceive(Buffer, out _));
        await Task.CompletedTask;
    }
}
