using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Netif;

/// <summary>
/// A netfront queue over <typeparamref name="TEvents"/> and <typeparamref name="TMemory"/>: two rings,
/// one or two event channels, and a pool of granted pages per direction (one page per ring slot).
/// </summary>
/// <remarks>
/// Tx: slot ids and pages go together (id <c>i</c> is page <c>i</c>); an id is in use from the request
/// until its response, so a response to an id not in use is the backend's error and is ignored.
/// Rx: the request at ring index <c>j</c> has id <c>j mod 256</c> and page <c>j mod 256</c>; the
/// backend answers in order, so the response at index <c>j</c> must carry that id and lies in that
/// page. Pages go back on the ring only once the frame they hold has been copied out.
/// </remarks>
internal sealed class NetfrontQueueCore<TEvents, TMemory> : NetfrontQueue, IDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private const int RingSize = NetifConstants.TxRingSize;
    private const int Mask = RingSize - 1;
    private const int Page = PageBuffer.PageSize;

#pragma warning disable IDE0044 // Mutable when a struct.
    private TEvents _events;
    private TMemory _memory;
#pragma warning restore IDE0044
    private readonly NetfrontFeatures _features;
    private readonly NetifCounters _counters;
    private readonly Share _txRingPage, _rxRingPage, _txPages, _rxPages;
    private readonly FrontRingChannel<TEvents, NetifTxRequest, NetifTxResponse> _tx;
    private readonly FrontRingChannel<TEvents, NetifRxRequest, NetifRxResponse> _rx;
    private readonly unsafe byte* _txData;
    private readonly unsafe byte* _rxData;
    private readonly GrantRef[] _txRefs;
    private readonly GrantRef[] _rxRefs;

    // Tx ids: a stack of free ids, and which ids await a response.
    private readonly ushort[] _freeTxIds = new ushort[RingSize];
    private int _freeTx;
    private readonly bool[] _txInUse = new bool[RingSize];

    // Rx: the frame being put together from consecutive responses.
    private readonly ushort[] _chainOffset = new ushort[Frames.MaxSlots];
    private readonly ushort[] _chainLength = new ushort[Frames.MaxSlots];
    private readonly int[] _chainPage = new int[Frames.MaxSlots];
    private int _chainData;          // data slots recorded
    private int _chainConsumed;      // responses consumed for this frame, not yet reposted
    private int _chainBytes;
    private bool _inChain, _firstPending, _moreData, _extraPending;
    private int _chainExtraTypes;    // a bit for each extra-info type this frame has carried
    private NetifDropReason? _chainBad;
    private FrameOffload _chainOffload;
    private int _toRepost;           // responses of finished frames whose pages may go back on the ring

    private readonly ILogger _logger;
    private readonly string _name;
    private readonly ushort _backendDomain;
    private int _loggedTx, _loggedRx;  // a bit for each drop reason already logged: the first of a kind only

    public unsafe NetfrontQueueCore(int index, TEvents events, TMemory memory, ushort backendDomain, NetfrontFeatures features,
        bool splitEvents, int maxFrame, NetifCounters counters, ILogger logger, string name)
        : base(index, maxFrame)
    {
        _logger = logger;
        _name = name;
        _backendDomain = backendDomain;
        _events = events;
        _memory = memory;
        _features = features;
        _counters = counters;
        var made = new List<IDisposable>();
        try
        {
            var (txPort, txChannel) = events.Listen(backendDomain);
            made.Add(new ChannelCloser(events, txChannel));
            var (rxPort, rxChannel) = (txPort, txChannel);
            if (splitEvents)
            {
                (rxPort, rxChannel) = events.Listen(backendDomain);
                made.Add(new ChannelCloser(events, rxChannel));
            }
            // If this process dies, or ends the share, the backend sees the ring's live byte cleared
            // and an event on the ring's channel: under Xen nothing else would tell it.
            _txRingPage = Track(made, memory.Share(backendDomain, 1, writable: true,
                UnmapNotify.ClearByteAndSendEvent(SharedRingLayout.FrontendLiveOffset, txChannel.LocalPort.Value)));
            _rxRingPage = Track(made, memory.Share(backendDomain, 1, writable: true,
                UnmapNotify.ClearByteAndSendEvent(SharedRingLayout.FrontendLiveOffset, rxChannel.LocalPort.Value)));
            // The backend only reads what we send, and only writes where we receive.
            _txPages = Track(made, memory.Share(backendDomain, RingSize, writable: false));
            _rxPages = Track(made, memory.Share(backendDomain, RingSize, writable: true));
            Refs = new NetifQueueRefs(_txRingPage.Refs[0], _rxRingPage.Refs[0], txPort, rxPort);
            var txRing = FrontRing<NetifTxRequest, NetifTxResponse>.Initialise(_txRingPage);
            var rxRing = FrontRing<NetifRxRequest, NetifRxResponse>.Initialise(_rxRingPage);
            txRing.DeclareLive();
            rxRing.DeclareLive();
            _tx = new FrontRingChannel<TEvents, NetifTxRequest, NetifTxResponse>(events, txChannel, txRing);
            _rx = new FrontRingChannel<TEvents, NetifRxRequest, NetifRxResponse>(events, rxChannel, rxRing);
            _txData = _txPages.Pointer;
            _rxData = _rxPages.Pointer;
            _txRefs = [.. _txPages.Refs];
            _rxRefs = [.. _rxPages.Refs];
        }
        catch
        {
            for (var i = made.Count - 1; i >= 0; i--)
                made[i].Dispose();
            throw;
        }
        for (var i = 0; i < RingSize; i++)
            _freeTxIds[i] = (ushort)(RingSize - 1 - i);
        _freeTx = RingSize;
        // Offer every rx page at once; the backend fills them as frames come.
        _toRepost = RingSize;
        Repost();
        _rx.Ring.PushRequests();
    }

    private static T Track<T>(List<IDisposable> made, T item) where T : IDisposable
    {
        made.Add(item);
        return item;
    }

    /// <summary>What the backend needs to attach this queue.</summary>
    public NetifQueueRefs Refs { get; }

    // ---- tx -------------------------------------------------------------------------------

    public override unsafe bool TrySend(ReadOnlySpan<byte> frame, FrameOffload offload = default)
    {
        var length = frame.Length;
        ValidateSend(length, offload);
        var dataSlots = Frames.SlotsFor(length);
        var slots = dataSlots + (offload.IsGso ? 1 : 0);
        var ring = _tx.Ring;
        // Responses are collected when the room runs short, and at each Flush: not per frame, whose
        // read of rsp_prod would pull the header's cache line, which the backend writes, every frame.
        if (ring.FreeRequests < slots || _freeTx < dataSlots)
        {
            CollectTxResponses();
            if (ring.FreeRequests < slots || _freeTx < dataSlots)
                return false;
        }
        if (slots == 1)
        {
            // The common frame, one slot and no extras: its request is written in place.
            var one = _freeTxIds[--_freeTx];
            _txInUse[one] = true;
            frame.CopyTo(new Span<byte>(_txData + (nint)one * Page, Page));
            ref var request = ref ring.ProduceRequest();
            request.Gref = _txRefs[one];
            request.Offset = 0;
            request.Flags = offload.Checksum switch
            {
                FrameChecksum.Blank => NetifTxFlags.CsumBlank | NetifTxFlags.DataValidated,
                FrameChecksum.Validated => NetifTxFlags.DataValidated,
                _ => NetifTxFlags.None,
            };
            request.Id = one;
            request.Size = (ushort)length;
            _counters.TxFrames++;
            _counters.TxBytes += length;
            return true;
        }

        var flags = offload.Checksum switch
        {
            FrameChecksum.Blank => NetifTxFlags.CsumBlank | NetifTxFlags.DataValidated,
            FrameChecksum.Validated => NetifTxFlags.DataValidated,
            _ => NetifTxFlags.None,
        };
        if (offload.IsGso)
            flags |= NetifTxFlags.ExtraInfo;
        var done = 0;
        for (var slot = 0; slot < dataSlots; slot++)
        {
            var chunk = Math.Min(length - done, Page);
            var id = _freeTxIds[--_freeTx];
            _txInUse[id] = true;
            frame.Slice(done, chunk).CopyTo(new Span<byte>(_txData + (nint)id * Page, chunk));
            done += chunk;
            var request = new NetifTxRequest
            {
                Gref = _txRefs[id],
                Offset = 0,
                Flags = (slot == 0 ? flags : NetifTxFlags.None) | (done < length ? NetifTxFlags.MoreData : NetifTxFlags.None),
                Id = id,
                // The first slot carries the whole frame's size; the others their own.
                Size = (ushort)(slot == 0 ? length : chunk),
            };
            _tx.Ring.TryWriteRequest(request);
            if (slot == 0 && offload.IsGso)
            {
                var extra = default(NetifTxRequest);
                ref var info = ref Unsafe.As<NetifTxRequest, NetifExtraInfo>(ref extra);
                info.Type = NetifExtraType.Gso;
                info.Gso.Size = offload.GsoSize;
                info.Gso.Type = offload.GsoType;
                _tx.Ring.TryWriteRequest(extra);
            }
        }
        _counters.TxFrames++;
        _counters.TxBytes += length;
        return true;
    }

    private void ValidateSend(int length, FrameOffload offload)
    {
        if (length < Frames.EthernetHeader)
            ThrowHelper.FrameTooShort(length);
        if (length > (offload.IsGso ? Frames.MaxFrame : MaxFrame))
            ThrowHelper.FrameTooLong(length, offload.IsGso ? Frames.MaxFrame : MaxFrame);
        if (length > Page && !_features.Sg)
            ThrowHelper.NeedsScatterGather(length);
        if (offload.IsGso && (offload.GsoSize == 0 || !_features.Accepts(offload.GsoType)))
            ThrowHelper.BadGso(offload);
    }

    private void CollectTxResponses()
    {
        while (_tx.Ring.TryReadResponse(out var response))
        {
            if (response.Status == NetifStatus.Null)
                continue; // the slot of an extra-info request
            var id = response.Id;
            if (id >= RingSize || !_txInUse[id])
            {
                _counters.TxDrops[(int)NetifDropReason.UnknownId]++;
                LogFirst(ref _loggedTx, "tx", NetifDropReason.UnknownId);
                continue;
            }
            _txInUse[id] = false;
            _freeTxIds[_freeTx++] = id;
            if (response.Status != NetifStatus.Okay)
                _counters.TxDrops[(int)NetifDropReason.PeerError]++;
        }
    }

    public override void Flush()
    {
        if (_tx.PushRequests())
            _counters.TxNotifications++;
        // The push just wrote the header's cache line: rsp_prod is read from it at no extra cost.
        CollectTxResponses();
    }

    public override ValueTask WaitToSendAsync(CancellationToken cancellationToken = default)
    {
        CollectTxResponses();
        if (HasTxRoom)
            return default;
        return WaitForTxSpaceAsync(cancellationToken);
    }

    private bool HasTxRoom => _tx.Ring.FreeRequests >= Frames.MaxSlots + 1 && _freeTx >= Frames.MaxSlots;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WaitForTxSpaceAsync(CancellationToken cancellationToken)
    {
        // Flush collects too: the responses that make room may be taken here, and then none may be
        // left to come (every request answered), so the room is checked before each wait, never a
        // response awaited that no request will bring.
        Flush();
        _counters.TxRingFullWaits++;
        while (!HasTxRoom)
        {
            await _tx.WaitForResponsesAsync(cancellationToken).ConfigureAwait(false);
            CollectTxResponses();
        }
    }

    // ---- rx -------------------------------------------------------------------------------

    public override bool TryReceive(Span<byte> destination, out ReceivedFrame frame)
    {
        // Pages go back to the backend while bad frames are dropped, so a backend that answers every
        // repost with another bad frame could keep this loop going for ever: one call takes at most
        // a ring's worth of responses, and the caller's wait finds the rest.
        for (var taken = 0; ; taken++)
        {
            var index = _rx.Ring.RspCons;
            if (taken == RingSize || !_rx.Ring.TryReadResponse(out var response))
            {
                RepostAndPush();
                frame = default;
                return false;
            }
            if (!_inChain && TryTakeWhole(response, index, destination, out frame))
                return true;
            _chainConsumed++;
            if (!_inChain)
                StartChain();
            if (_extraPending)
                TakeExtra(Unsafe.As<NetifRxResponse, NetifExtraInfo>(ref response));
            else
                TakeData(response, index);

            if (_chainBad is not null)
            {
                // Nothing of a bad frame is copied: its pages may go back at once.
                _toRepost += _chainConsumed;
                _chainConsumed = 0;
            }
            if (_moreData || _extraPending)
                continue;

            // The frame is complete.
            var delivered = FinishChain(destination, out frame);
            if (_toRepost >= 32)
                RepostAndPush();
            if (delivered)
                return true;
        }
    }

    /// <summary>
    /// The common frame, whole in one slot with nothing wrong: copied out at once, without the chain's
    /// bookkeeping. False, having taken nothing, for anything else (the chain then takes it).
    /// </summary>
    private unsafe bool TryTakeWhole(in NetifRxResponse response, uint index, Span<byte> destination, out ReceivedFrame frame)
    {
        var length = response.Status;
        var page = (int)(index & Mask);
        if ((response.Flags & (NetifRxFlags.MoreData | NetifRxFlags.ExtraInfo)) != 0 || response.Id != page
            || length < Frames.EthernetHeader || response.Offset + length > Page || length > destination.Length)
        {
            frame = default;
            return false;
        }
        new ReadOnlySpan<byte>(_rxData + (nint)page * Page + response.Offset, length).CopyTo(destination);
        _counters.RxFrames++;
        _counters.RxBytes += length;
        frame = new ReceivedFrame(length, new FrameOffload((response.Flags & NetifRxFlags.CsumBlank) != 0 ? FrameChecksum.Blank
            : (response.Flags & NetifRxFlags.DataValidated) != 0 ? FrameChecksum.Validated : FrameChecksum.None));
        if (++_toRepost >= 32)
            RepostAndPush();
        return true;
    }

    // A response the backend got wrong is logged the first time of its kind, then only counted:
    // a hostile backend must not fill the log, nor slow the ring.
    private void LogFirst(ref int logged, string direction, NetifDropReason reason)
    {
        var bit = 1 << (int)reason;
        if ((logged & bit) != 0)
            return;
        logged |= bit;
        Log.NetfrontBadResponse(_logger, _name, _backendDomain, direction, Index, reason);
    }

    private void StartChain()
    {
        _inChain = true;
        _chainData = 0;
        _chainBytes = 0;
        _chainBad = null;
        _chainOffload = default;
        _firstPending = true;
        _moreData = _extraPending = false;
        _chainExtraTypes = 0;
    }

    private void TakeExtra(NetifExtraInfo extra)
    {
        _extraPending = (extra.Flags & NetifExtraFlags.More) != 0;
        // A frame needs one extra of each type at most (Linux keeps only the last of each): a repeat
        // is refused, which caps a chain of extras.
        var bit = 1 << (int)extra.Type;
        if (extra.Type is NetifExtraType.None or >= NetifExtraType.Max || (_chainExtraTypes & bit) != 0)
        {
            _chainBad ??= NetifDropReason.BadExtraInfo;
            return;
        }
        _chainExtraTypes |= bit;
        if (extra.Type == NetifExtraType.Gso)
        {
            if (extra.Gso.Size == 0 || !_features.Accepts(extra.Gso.Type))
                _chainBad ??= NetifDropReason.BadExtraInfo;
            else
                _chainOffload = _chainOffload with { GsoType = extra.Gso.Type, GsoSize = extra.Gso.Size };
        }
    }

    private void TakeData(NetifRxResponse response, uint index)
    {
        var first = _firstPending;
        _firstPending = false;
        _moreData = (response.Flags & NetifRxFlags.MoreData) != 0;
        if (first)
        {
            _extraPending = (response.Flags & NetifRxFlags.ExtraInfo) != 0;
            _chainOffload = new FrameOffload((response.Flags & NetifRxFlags.CsumBlank) != 0 ? FrameChecksum.Blank
                : (response.Flags & NetifRxFlags.DataValidated) != 0 ? FrameChecksum.Validated : FrameChecksum.None);
        }
        var page = (int)(index & Mask);
        if (response.Id != page)
        {
            _chainBad ??= NetifDropReason.UnknownId;
            return;
        }
        if (response.Status < 0)
        {
            _chainBad ??= NetifDropReason.PeerError;
            return;
        }
        if (response.Offset + response.Status > Page)
        {
            _chainBad ??= NetifDropReason.SlotCrossesPage;
            return;
        }
        if (_chainData == Frames.MaxSlots)
        {
            _chainBad ??= NetifDropReason.TooManySlots;
            return;
        }
        if (_chainData > 0 && !_features.Sg)
        {
            _chainBad ??= NetifDropReason.NotNegotiated;
            return;
        }
        _chainOffset[_chainData] = response.Offset;
        _chainLength[_chainData] = (ushort)response.Status;
        _chainPage[_chainData] = page;
        _chainData++;
        _chainBytes += response.Status;
    }

    private unsafe bool FinishChain(Span<byte> destination, out ReceivedFrame frame)
    {
        _inChain = false;
        var bad = _chainBad;
        if (bad is null && (_chainBytes < Frames.EthernetHeader || _chainBytes > Frames.MaxFrame))
            bad = NetifDropReason.BadSize;
        if (bad is null && _chainBytes > destination.Length)
            bad = NetifDropReason.BufferTooSmall;
        if (bad is { } reason)
        {
            _counters.RxDrops[(int)reason]++;
            if (reason is not (NetifDropReason.BufferTooSmall or NetifDropReason.PeerError))
                LogFirst(ref _loggedRx, "rx", reason);
            _toRepost += _chainConsumed;
            _chainConsumed = 0;
            frame = default;
            return false;
        }
        var at = 0;
        for (var i = 0; i < _chainData; i++)
        {
            new ReadOnlySpan<byte>(_rxData + (nint)_chainPage[i] * Page + _chainOffset[i], _chainLength[i]).CopyTo(destination[at..]);
            at += _chainLength[i];
        }
        _toRepost += _chainConsumed;
        _chainConsumed = 0;
        _counters.RxFrames++;
        _counters.RxBytes += at;
        frame = new ReceivedFrame(at, _chainOffload);
        return true;
    }

    private void Repost()
    {
        var ring = _rx.Ring;
        // Never more than the free slots: a backend that answered more than was posted was refused
        // when its rsp_prod was read, so this is the whole ring at most.
        var slots = ring.ProduceRequests(_toRepost);
        _toRepost -= slots.Count;
        var first = slots.FirstIndex;
        var refs = _rxRefs;
        for (var i = 0; i < slots.Count; i++)
        {
            var id = (ushort)((first + (uint)i) & Mask);
            ref var request = ref slots[i];
            request.Id = id;
            request.Pad = 0;
            request.Gref = refs[id];
        }
    }

    private void RepostAndPush()
    {
        if (_toRepost == 0)
            return;
        Repost();
        if (_rx.PushRequests())
            _counters.RxNotifications++;
    }

    public override ValueTask WaitToReceiveAsync(CancellationToken cancellationToken = default)
    {
        RepostAndPush();
        return _rx.WaitForResponsesAsync(cancellationToken);
    }

    public void Dispose()
    {
        // End the rings' shares while their channels are open, so that their notifications' events go out.
        _memory.Unshare(_txRingPage);
        _memory.Unshare(_rxRingPage);
        _events.Close(_tx.Channel);
        if (_rx.Channel != _tx.Channel)
            _events.Close(_rx.Channel);
        _memory.Unshare(_txPages);
        _memory.Unshare(_rxPages);
    }

    private sealed class ChannelCloser(TEvents events, Channel channel) : IDisposable
    {
        public void Dispose() => events.Close(channel);
    }
}
