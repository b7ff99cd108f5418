using System.Runtime.CompilerServices;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Netif;

/// <summary>
/// One netback queue: the frontend's two rings mapped, its event channels connected, and two loops.
/// The tx loop copies each frame the frontend sends out of its granted pages, checks every field of
/// the copied requests, hands the frame to the link and answers each slot. The rx loop takes frames
/// from the link and copies each into pages the frontend posted (rx-copy).
/// </summary>
/// <remarks>
/// A frame's data pages are mapped for that frame only, all in one call, and unmapped before its
/// responses are written. netif has no persistent grants: a frontend may end a grant as soon as it
/// sees the response, and Linux's netfront does, declaring the device broken ("Grant still in use by
/// backend domain") when the backend still maps the page. Only with
/// <see cref="NetbackOptions.KeepMappings"/> (a frontend known to keep its grants) are they kept.
/// </remarks>
internal sealed class NetbackQueue<TEvents, TMemory> : IDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private const int Page = PageBuffer.PageSize;
    private const int BatchLimit = 64;

#pragma warning disable IDE0044 // Mutable when a struct.
    private TEvents _events;
    private TMemory _memory;
#pragma warning restore IDE0044
    private readonly NetfrontFeatures _frontend;
    private readonly NetbackFeatures _offered;
    private readonly INetworkLink _link;
    private readonly NetifCounters _counters;
    private readonly Mapping _txRing, _rxRing;
    private readonly Channel _txChannel, _rxChannel;
    private readonly BackRingChannel<TEvents, NetifTxRequest, NetifTxResponse> _tx;
    private readonly BackRingChannel<TEvents, NetifRxRequest, NetifRxResponse> _rx;
    private readonly ushort _frontendDomain;
    // Null unless the frontend is known to keep its grants (NetbackOptions.KeepMappings).
    private readonly GrantMapCache<TMemory>? _txMaps, _rxMaps;
    private readonly byte[] _txFrame = GC.AllocateUninitializedArray<byte>(Frames.MaxFrame + 1, pinned: true);
    private readonly byte[] _rxFrame = GC.AllocateUninitializedArray<byte>(Frames.MaxFrame + 1, pinned: true);
    // Copies of one frame's requests: a chain is never longer than the ring.
    private readonly NetifTxRequest[] _txSlots = new NetifTxRequest[NetifConstants.TxRingSize];
    private readonly NetifRxRequest[] _rxSlots = new NetifRxRequest[Frames.MaxSlots + 1];
    // The grants of one frame's data slots, in slot order, for one MapMany.
    private readonly GrantRef[] _txGrants = new GrantRef[NetifConstants.TxRingSize];
    private readonly GrantRef[] _rxGrants = new GrantRef[Frames.MaxSlots];
    // Where those pages are mapped: fields, not stackalloc, which would zero them for every frame.
    private readonly nint[] _txPages = new nint[NetifConstants.TxRingSize];
    private readonly nint[] _rxPages = new nint[Frames.MaxSlots];
    private EventCounter _rxSeen;
    // A frame taken from the link that waits in _rxFrame for the frontend to post requests, and how many
    // it needs (0: none). Kept field by field, never as a ReceivedFrame: see PumpRx.
    private int _rxWaitingLength;
    private FrameChecksum _rxWaitingChecksum;
    private NetifGsoType _rxWaitingGsoType;
    private ushort _rxWaitingGsoSize;
    private int _rxWaitingSlots;
    private int _channelsClosed;

    public NetbackQueue(TEvents events, TMemory memory, ushort frontendDomain, NetifQueueRefs refs,
        NetfrontFeatures frontend, NetbackFeatures offered, INetworkLink link, int keptMappings, NetifCounters counters)
    {
        _events = events;
        _frontendDomain = frontendDomain;
        _memory = memory;
        _frontend = frontend;
        _offered = offered;
        _link = link;
        _counters = counters;
        var done = new List<Action>();
        try
        {
            _txChannel = events.Connect(frontendDomain, refs.TxEventChannel);
            var tx = _txChannel;
            done.Add(() => events.Close(tx));
            _rxChannel = refs.SplitEventChannels ? events.Connect(frontendDomain, refs.RxEventChannel) : _txChannel;
            var rx = _rxChannel;
            if (refs.SplitEventChannels)
                done.Add(() => events.Close(rx));
            // If this process dies, or unmaps, the frontend sees the ring's live byte cleared and an
            // event on the ring's channel (a frontend that does not keep the convention ignores both).
            _txRing = memory.Map(frontendDomain, refs.TxRingRef, writable: true,
                UnmapNotify.ClearByteAndSendEvent(SharedRingLayout.BackendLiveOffset, _txChannel.LocalPort.Value));
            done.Add(() => memory.Unmap(_txRing));
            _rxRing = memory.Map(frontendDomain, refs.RxRingRef, writable: true,
                UnmapNotify.ClearByteAndSendEvent(SharedRingLayout.BackendLiveOffset, _rxChannel.LocalPort.Value));
            done.Add(() => memory.Unmap(_rxRing));
        }
        catch
        {
            for (var i = done.Count - 1; i >= 0; i--)
                done[i]();
            throw;
        }
        // Attach only: the frontend initialised the shared pages.
        var txRing = BackRing<NetifTxRequest, NetifTxResponse>.Attach(_txRing);
        var rxRing = BackRing<NetifRxRequest, NetifRxResponse>.Attach(_rxRing);
        txRing.DeclareLive();
        rxRing.DeclareLive();
        _tx = new BackRingChannel<TEvents, NetifTxRequest, NetifTxResponse>(events, _txChannel, txRing);
        _rx = new BackRingChannel<TEvents, NetifRxRequest, NetifRxResponse>(events, _rxChannel, rxRing);
        if (keptMappings > 0)
        {
            // A frontend's pool may drift: follow it, evicting the oldest, but never a page of the
            // frame being copied.
            _txMaps = new GrantMapCache<TMemory>(memory, frontendDomain, writable: false, keptMappings, GrantMapCacheFull.EvictOldestHalf);
            _rxMaps = new GrantMapCache<TMemory>(memory, frontendDomain, writable: true, keptMappings, GrantMapCacheFull.EvictOldestHalf);
        }
    }

    public NetifCounters Counters => _counters;

    // ---- tx: frontend to link --------------------------------------------------------------

    public async Task RunTxAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _tx.WaitForRequestsAsync(cancellationToken).ConfigureAwait(false);
            _tx.ThrowIfFrontendGone();
            while (!PumpTx(out var length, out var offload))
            {
                // The link is full, the frame copied: let the frontend have its pages back while we wait.
                PushTxResponses();
                _counters.TxRingFullWaits++;
                do
                {
                    if (!await _link.WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
                        return;
                }
                while (!_link.TryWrite(_txFrame.AsSpan(0, length), offload));
            }
            PushTxResponses();
        }
    }

    /// <summary>
    /// Takes up to a batch of frames off the ring and hands them to the link, synchronously (the loop's
    /// state stays in registers, not in the async method's box). False when the link refused the frame
    /// of <paramref name="length"/> bytes now in <see cref="_txFrame"/>.
    /// </summary>
    /// <remarks>
    /// The common frame (one slot, no extras, in bounds, its page kept and found by the cache's
    /// <see cref="GrantMapCache{TMemory}.Peek"/>) goes to the link straight from the page, which saves a
    /// copy (the link copies it, or refuses it whole), and is answered with one store; the counters are
    /// added once per batch, as the rx pump does. It is checked on the copy of the request, as the chain
    /// checks any other frame.
    /// </remarks>
    private unsafe bool PumpTx(out int length, out FrameOffload offload)
    {
        var ring = _tx.Ring;
        // One read of req_prod per batch: the header's cache line is the one both ends write.
        var available = ring.UnconsumedRequests;
        var frames = 0;
        var bytes = 0L;
        var refused = false;
        length = 0;
        offload = default;
        for (var batch = 0; batch < BatchLimit && available > 0; batch++)
        {
            ring.TryReadRequest(out var first);
            offload = new FrameOffload((first.Flags & NetifTxFlags.CsumBlank) != 0 ? FrameChecksum.Blank
                : (first.Flags & NetifTxFlags.DataValidated) != 0 ? FrameChecksum.Validated : FrameChecksum.None);
            if ((first.Flags & (NetifTxFlags.ExtraInfo | NetifTxFlags.MoreData)) == 0 && first.Size >= Frames.EthernetHeader
                && first.Offset + first.Size <= Page && _txMaps?.Peek(first.Gref) is { } page)
            {
                // Nothing gets another page before the link has copied the frame, so the peeked page
                // stays. The frontend can still write it: the link sees bytes, never sizes, from it.
                if (!WriteOrHold(new ReadOnlySpan<byte>(page.Pointer + first.Offset, first.Size), offload))
                {
                    length = first.Size;
                    refused = true;
                }
                AnswerOkay(ref ring.ProduceResponse(), first.Id);
                available--;
                frames++;
                bytes += first.Size;
                if (refused)
                    break;
                continue;
            }
            length = TakeTxChain(first, available, out var used, ref offload, out var delivered);
            available -= used;
            if (length >= 0 && !delivered && !_link.TryWrite(_txFrame.AsSpan(0, length), offload))
            {
                refused = true;
                break;
            }
        }
        _counters.TxFrames += frames;
        _counters.TxBytes += bytes;
        return !refused;
    }

    /// <summary>Writes a tx response of <see cref="NetifStatus.Okay"/> (0) in one store where the layout
    /// allows, not one per field (see <see cref="PumpRx"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AnswerOkay(ref NetifTxResponse response, ushort id)
    {
        if (BitConverter.IsLittleEndian)
        {
            Unsafe.As<NetifTxResponse, uint>(ref response) = id;
            return;
        }
        response.Id = id;
        response.Status = NetifStatus.Okay;
    }

    private void PushTxResponses()
    {
        if (_tx.PushResponses())
            _counters.TxNotifications++;
    }

    /// <summary>
    /// Takes any frame but the common one (see <see cref="PumpTx"/>), <paramref name="first"/> already
    /// consumed: consumes the rest of its requests, checks them, copies the frame into <see cref="_txFrame"/>
    /// and writes its responses. Returns the frame's length, or -1 when it was dropped; <paramref name="used"/>
    /// is the requests it took of the <paramref name="available"/> ones. A frame whole in one kept page
    /// goes to the link straight from that page (<paramref name="delivered"/>) unless the link is full.
    /// </summary>
    private int TakeTxChain(in NetifTxRequest first, int available, out int used, ref FrameOffload offload, out bool delivered)
    {
        delivered = false;
        used = 1;
        var ring = _tx.Ring;
        NetifDropReason? bad = null;

        // Extra-info slots follow the first.
        var extras = 0;
        if ((first.Flags & NetifTxFlags.ExtraInfo) != 0)
        {
            var more = true;
            while (more)
            {
                if (used >= available)
                    Fatal($"A frame's extra-info slots run past the {available} requests pushed.");
                ring.TryReadRequest(out var slot);
                used++;
                extras++;
                var info = Unsafe.As<NetifTxRequest, NetifExtraInfo>(ref slot);
                more = (info.Flags & NetifExtraFlags.More) != 0;
                if (extras > Frames.MaxExtras)
                    bad ??= NetifDropReason.TooManySlots;
                else if (info.Type is NetifExtraType.None or >= NetifExtraType.Max)
                    bad ??= NetifDropReason.BadExtraInfo;
                else if (info.Type == NetifExtraType.Gso)
                {
                    if (info.Gso.Size == 0 || !Offers(info.Gso.Type))
                        bad ??= NetifDropReason.BadExtraInfo;
                    else
                        offload = offload with { GsoType = info.Gso.Type, GsoSize = info.Gso.Size };
                }
            }
        }

        // Then the frame's other slots, while more_data is set.
        var frags = 0;
        var flags = first.Flags;
        while ((flags & NetifTxFlags.MoreData) != 0)
        {
            if (used >= available)
                Fatal($"A frame claims more slots than the {available} requests pushed.");
            ring.TryReadRequest(out _txSlots[frags]);
            flags = _txSlots[frags].Flags;
            used++;
            frags++;
        }

        // Check the copies: sizes, bounds, counts.
        var length = (int)first.Size;
        var remaining = length;
        for (var i = 0; i < frags; i++)
        {
            if (_txSlots[i].Size > remaining)
            {
                bad ??= NetifDropReason.SizeMismatch;
                break;
            }
            remaining -= _txSlots[i].Size;
            if (_txSlots[i].Offset + _txSlots[i].Size > Page)
                bad ??= NetifDropReason.SlotCrossesPage;
        }
        var firstOwn = remaining;
        if (frags + 1 > Frames.MaxSlots)
            bad ??= NetifDropReason.TooManySlots;
        if (frags > 0 && !_offered.Sg)
            bad ??= NetifDropReason.NotNegotiated;
        if (length < Frames.EthernetHeader)
            bad ??= NetifDropReason.BadSize;
        if (first.Offset + firstOwn > Page)
            bad ??= NetifDropReason.SlotCrossesPage;

        // A frame in one slot goes to the link from its page if that is kept (or can be, now); any other is
        // copied out of the frontend's pages, which are unmapped again before any response.
        if (bad is null && !(frags == 0 && TryWriteKept(first, length, offload, out delivered)) && !CopyOut(first, firstOwn, frags))
            bad = NetifDropReason.BadGrantRef;

        // Answer every slot: the first, a null per extra, then the others.
        var status = bad is null ? NetifStatus.Okay : NetifStatus.Error;
        ring.TryWriteResponse(new NetifTxResponse { Id = first.Id, Status = status });
        for (var i = 0; i < extras; i++)
            ring.TryWriteResponse(new NetifTxResponse { Id = 0, Status = NetifStatus.Null });
        for (var i = 0; i < frags; i++)
            ring.TryWriteResponse(new NetifTxResponse { Id = _txSlots[i].Id, Status = status });

        if (bad is { } reason)
        {
            _counters.TxDrops[(int)reason]++;
            return -1;
        }
        _counters.TxFrames++;
        _counters.TxBytes += length;
        return length;
    }

    /// <summary>
    /// A frame in one slot whose page is kept mapped: handed to the link from the page itself, which
    /// saves a copy (the link copies it, or refuses it whole); when the link is full, copied into
    /// <see cref="_txFrame"/> to wait there. False, having done nothing, when the page is not kept
    /// (then <see cref="CopyOut"/> maps it for this frame, or finds the grant bad).
    /// </summary>
    private unsafe bool TryWriteKept(in NetifTxRequest first, int length, FrameOffload offload, out bool delivered)
    {
        delivered = false;
        if (_txMaps is null)
            return false;
        Mapping? page;
        try
        {
            page = _txMaps.Get(first.Gref);
        }
        catch (GrantException)
        {
            return false;
        }
        try
        {
            if (page is null)
                return false;
            // The frontend can still write the page: the link sees bytes, never sizes, from it (the
            // size and offset are the request's copy, checked against the page).
            delivered = WriteOrHold(new ReadOnlySpan<byte>(page.Pointer + first.Offset, length), offload);
            return true;
        }
        finally
        {
            _txMaps.EndUse();
        }
    }

    /// <summary>Hands a frame in a frontend page to the link; when the link is full, copies it into
    /// <see cref="_txFrame"/> to wait there (the page may be gone by the retry). False when held.</summary>
    private bool WriteOrHold(ReadOnlySpan<byte> frame, FrameOffload offload)
    {
        if (_link.TryWrite(frame, offload))
            return true;
        frame.CopyTo(_txFrame);
        return false;
    }

    /// <summary>Maps the pages of the frame's slots that hold data (one call, or from the kept
    /// mappings), copies the frame into <see cref="_txFrame"/> and unmaps them. False when a grant
    /// could not be mapped.</summary>
    private unsafe bool CopyOut(in NetifTxRequest first, int firstOwn, int frags)
    {
        var count = 0;
        if (firstOwn > 0)
            _txGrants[count++] = first.Gref;
        for (var i = 0; i < frags; i++)
        {
            if (_txSlots[i].Size > 0)
                _txGrants[count++] = _txSlots[i].Gref;
        }
        if (count == 0)
            return true;
        var pages = _txPages;
        var kept = KeptPages(_txMaps, _txGrants.AsSpan(0, count), pages);
        if (kept is null)
            return false;
        Mapping? mapping = null;
        if (kept == false)
        {
            try
            {
                mapping = _memory.MapMany(_frontendDomain, _txGrants.AsSpan(0, count), writable: false);
            }
            catch (GrantException)
            {
                return false;
            }
            for (var p = 0; p < count; p++)
                pages[p] = (nint)(mapping.Pointer + (p * Page));
        }
        try
        {
            var frame = _txFrame.AsSpan();
            var at = 0;
            var next = 0;
            if (firstOwn > 0)
            {
                new ReadOnlySpan<byte>((byte*)pages[next++] + first.Offset, firstOwn).CopyTo(frame);
                at = firstOwn;
            }
            for (var i = 0; i < frags; i++)
            {
                var size = _txSlots[i].Size;
                if (size == 0)
                    continue;
                new ReadOnlySpan<byte>((byte*)pages[next++] + _txSlots[i].Offset, size).CopyTo(frame[at..]);
                at += size;
            }
            return true;
        }
        finally
        {
            if (mapping is not null)
                _memory.Unmap(mapping);
            _txMaps?.EndUse();
        }
    }

    /// <summary>
    /// The kept mappings of <paramref name="grants"/>, into <paramref name="pages"/>: true when every
    /// page is kept, false when there are no kept mappings or no room for one of these pages (map
    /// them for this frame), null when a grant could not be mapped. The pages stay mapped until the
    /// cache's <see cref="GrantMapCache{TMemory}.EndUse"/>, even if a later one evicts.
    /// </summary>
    private static unsafe bool? KeptPages(GrantMapCache<TMemory>? cache, ReadOnlySpan<GrantRef> grants, Span<nint> pages)
    {
        if (cache is null)
            return false;
        for (var p = 0; p < grants.Length; p++)
        {
            Mapping? page;
            try
            {
                page = cache.Get(grants[p]);
            }
            catch (GrantException)
            {
                cache.EndUse();
                return null;
            }
            if (page is null)
            {
                cache.EndUse();
                return false;
            }
            pages[p] = (nint)page.Pointer;
        }
        return true;
    }

    private bool Offers(NetifGsoType type) => type switch
    {
        NetifGsoType.TcpV4 => _offered.GsoTcpV4,
        NetifGsoType.TcpV6 => _offered.GsoTcpV6,
        _ => false,
    };

    private void Fatal(string message)
    {
        _counters.TxDrops[(int)NetifDropReason.Disconnected]++;
        throw new NetifProtocolException(message);
    }

    // ---- rx: link to frontend --------------------------------------------------------------

    public async Task RunRxAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var needed = PumpRx();
            PushRxResponses();
            if (needed == RxBatchFull)
                continue;
            if (needed == RxLinkEmpty)
            {
                if (!await _link.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    return;
                continue;
            }
            _counters.RxRingFullWaits++;
            await WaitForRxRequestsAsync(needed, cancellationToken).ConfigureAwait(false);
        }
    }

    private const int RxBatchFull = -1;
    private const int RxLinkEmpty = 0;

    /// <summary>
    /// Puts up to a batch of frames from the link on the ring, synchronously (the loop's state stays in
    /// registers, not in the async method's box), reading <c>req_prod</c> once per batch and again only
    /// when the requests known of are too few for the next frame. Returns <see cref="RxBatchFull"/>,
    /// <see cref="RxLinkEmpty"/>, or the requests the frame waiting in <see cref="_rxFrame"/> needs.
    /// </summary>
    /// <remarks>
    /// The common frame (one page, no GSO, the next request known of and its page kept) is read by the
    /// link straight into that page, which is peeked first and consumed only once the frame is in it, and
    /// answered here without a store it does not need: this loop's stores into the frontend's pages wait
    /// for their cache lines, which the frontend's core holds, and the core commits stores in order, so
    /// every other store of a frame (a counter, a field, a register saved by a call) queues behind them.
    /// A call per frame for this, with a response written field by field and two counters, measured a
    /// third more CPU per frame (docs/netif.md). The counters are added once per batch. Any other frame
    /// goes through <see cref="_rxFrame"/>.
    /// </remarks>
    private unsafe int PumpRx()
    {
        var ring = _rx.Ring;
        var available = ring.UnconsumedRequests;
        var frames = 0;
        var bytes = 0L;
        var result = RxBatchFull;
        for (var batch = 0; batch < BatchLimit; batch++)
        {
            if (_rxWaitingSlots == 0)
            {
                // Field by field, never the struct whole: a link stores the frame's fields one at a
                // time, and a load of the whole struct (to pass or copy it) is not forwarded from those
                // stores, so it waits for every older store to reach the cache, the last frame's
                // stores into the frontend's page and ring among them, whose lines the frontend's core
                // holds: a cross-core round trip per frame, most of this loop's time in a profile.
                ReceivedFrame frame = default;
                var inPage = false;
                if (_rxMaps is not null && (available > 0 || (available = ring.UnconsumedRequests) > 0)
                    && ring.TryPeekRequest(out var next) && _rxMaps.Peek(next.Gref) is { } kept)
                {
                    // Nothing gets another page before this frame is answered, so the peeked page stays.
                    if (_link.TryRead(new Span<byte>(kept.Pointer, Page), out frame))
                    {
                        var length = frame.Length;
                        if (frame.Offload.GsoType == NetifGsoType.None && length >= Frames.EthernetHeader)
                        {
                            ring.TryReadRequest(out _);
                            available--;
                            AnswerWhole(ref ring.ProduceResponse(), next.Id, frame.Offload.Checksum, length);
                            frames++;
                            bytes += length;
                            continue;
                        }
                        // A GSO frame or a runt: the general way takes it from _rxFrame. The bytes come back
                        // out of the frontend's page, and a frontend that changes them spoils only its own frame.
                        new Span<byte>(kept.Pointer, length).CopyTo(_rxFrame);
                        inPage = true;
                    }
                    else if (frame.Length == 0)
                    {
                        result = RxLinkEmpty;
                        break;
                    }
                }
                if (!inPage && !_link.TryRead(_rxFrame, out frame))
                {
                    if (frame.Length > 0)
                        throw new InvalidOperationException($"The link offers a frame of {frame.Length} bytes; a link's frames are at most {Frames.MaxFrame} (INetworkLink.TryRead).");
                    result = RxLinkEmpty;
                    break;
                }
                var slots = RxSlotsFor(frame.Length, frame.Offload.GsoType, frame.Offload.GsoSize);
                if (slots < 0)
                    continue;
                _rxWaitingLength = frame.Length;
                _rxWaitingChecksum = frame.Offload.Checksum;
                _rxWaitingGsoType = frame.Offload.GsoType;
                _rxWaitingGsoSize = frame.Offload.GsoSize;
                _rxWaitingSlots = slots;
            }
            var needed = _rxWaitingSlots;
            if (available < needed && (available = ring.UnconsumedRequests) < needed)
            {
                result = needed;
                break;
            }
            ring.TryReadRequest(out var first);
            PutRxFrame(first, needed, _rxWaitingLength, _rxWaitingChecksum, _rxWaitingGsoType, _rxWaitingGsoSize);
            available -= needed;
            _rxWaitingSlots = 0;
        }
        _counters.RxFrames += frames;
        _counters.RxBytes += bytes;
        return result;
    }

    /// <summary>The rx requests a frame takes (data slots, plus one for a GSO extra), or -1 if it is dropped.</summary>
    private int RxSlotsFor(int length, NetifGsoType gsoType, ushort gsoSize)
    {
        var gso = gsoType != NetifGsoType.None;
        NetifDropReason? bad = null;
        if (length < Frames.EthernetHeader || length > Frames.MaxFrame)
            bad = NetifDropReason.BadSize;
        else if (length > Page && !_frontend.Sg)
            bad = NetifDropReason.NotNegotiated;
        else if (gso && (!_frontend.Accepts(gsoType) || gsoSize == 0))
            bad = NetifDropReason.NotNegotiated;
        if (bad is { } reason)
        {
            _counters.RxDrops[(int)reason]++;
            return -1;
        }
        return Frames.SlotsFor(length) + (gso ? 1 : 0);
    }

    private async ValueTask WaitForRxRequestsAsync(int needed, CancellationToken cancellationToken)
    {
        var spinner = default(SpinWait);
        for (var i = 0; i < _rx.SpinCount; i++)
        {
            if (_rx.Ring.UnconsumedRequests >= needed)
                return;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_rx.Ring.FinalCheckForRequests(needed))
                return;
            _rxSeen = await _events.RecvAsync(_rxChannel, _rxSeen, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Puts the frame in <see cref="_rxFrame"/> into the pages of <paramref name="first"/>, already
    /// consumed, and of the next <paramref name="needed"/> - 1 requests, mapping them for this frame
    /// unless kept, and answers them (with errors if a grant is bad).</summary>
    private unsafe void PutRxFrame(in NetifRxRequest first, int needed, int length, FrameChecksum checksum, NetifGsoType gsoType, ushort gsoSize)
    {
        var ring = _rx.Ring;
        var gso = gsoType != NetifGsoType.None;
        var dataSlots = needed - (gso ? 1 : 0);
        _rxSlots[0] = first;
        for (var i = 1; i < needed; i++)
            ring.TryReadRequest(out _rxSlots[i]);

        // Map every data page first, in one call: a bad ref fails the frame before anything is answered.
        for (var d = 0; d < dataSlots; d++)
            _rxGrants[d] = _rxSlots[RequestOf(d, gso)].Gref;
        if (!CopyIn(length, dataSlots))
        {
            for (var i = 0; i < needed; i++)
                ring.TryWriteResponse(new NetifRxResponse { Id = _rxSlots[i].Id, Status = (short)NetifStatus.Error });
            _counters.RxDrops[(int)NetifDropReason.BadGrantRef]++;
            return;
        }

        var flags = RxFlags(checksum);
        var at = 0;
        for (var d = 0; d < dataSlots; d++)
        {
            var chunk = Math.Min(length - at, Page);
            at += chunk;
            var slotFlags = (d == 0 ? flags | (gso ? NetifRxFlags.ExtraInfo : 0) : NetifRxFlags.None)
                | (at < length ? NetifRxFlags.MoreData : NetifRxFlags.None);
            ring.TryWriteResponse(new NetifRxResponse { Id = _rxSlots[RequestOf(d, gso)].Id, Offset = 0, Flags = slotFlags, Status = (short)chunk });
            if (d == 0 && gso)
            {
                var extra = default(NetifRxResponse);
                ref var info = ref Unsafe.As<NetifRxResponse, NetifExtraInfo>(ref extra);
                info.Type = NetifExtraType.Gso;
                info.Gso.Size = gsoSize;
                info.Gso.Type = gsoType;
                ring.TryWriteResponse(extra);
            }
        }
        _counters.RxFrames++;
        _counters.RxBytes += length;
    }

    /// <summary>Writes the response of a frame whole in one slot at offset 0: in one store where the
    /// layout allows, not one per field (see <see cref="PumpRx"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AnswerWhole(ref NetifRxResponse response, ushort id, FrameChecksum checksum, int length)
    {
        if (BitConverter.IsLittleEndian)
        {
            Unsafe.As<NetifRxResponse, ulong>(ref response) = id | ((ulong)(ushort)RxFlags(checksum) << 32) | ((ulong)(ushort)length << 48);
            return;
        }
        response.Id = id;
        response.Offset = 0;
        response.Flags = RxFlags(checksum);
        response.Status = (short)length;
    }

    private static NetifRxFlags RxFlags(FrameChecksum checksum) => checksum switch
    {
        FrameChecksum.Blank => NetifRxFlags.CsumBlank | NetifRxFlags.DataValidated,
        FrameChecksum.Validated => NetifRxFlags.DataValidated,
        _ => NetifRxFlags.None,
    };

    /// <summary>Copies the frame in <see cref="_rxFrame"/> into the pages of <see cref="_rxGrants"/>, a
    /// page each, and unmaps them before the frontend can see a response and end its grants (unless
    /// they are kept). False, having written nothing, when a grant could not be mapped.</summary>
    private unsafe bool CopyIn(int length, int dataSlots)
    {
        var kept = _rxPages;
        switch (KeptPages(_rxMaps, _rxGrants.AsSpan(0, dataSlots), kept))
        {
            case null:
                return false;
            case true:
                for (var d = 0; d < dataSlots; d++)
                {
                    var at = d * Page;
                    _rxFrame.AsSpan(at, Math.Min(length - at, Page)).CopyTo(new Span<byte>((byte*)kept[d], Page));
                }
                _rxMaps!.EndUse();
                return true;
        }
        Mapping pages;
        try
        {
            pages = _memory.MapMany(_frontendDomain, _rxGrants.AsSpan(0, dataSlots), writable: true);
        }
        catch (GrantException)
        {
            return false;
        }
        try
        {
            // One contiguous view: page d holds bytes d * 4096 onwards.
            _rxFrame.AsSpan(0, length).CopyTo(new Span<byte>(pages.Pointer, length));
        }
        finally
        {
            _memory.Unmap(pages);
        }
        return true;
    }

    // The extra-info slot takes the second request, so data slot d >= 1 uses request d + 1.
    private static int RequestOf(int dataSlot, bool gso) => dataSlot == 0 || !gso ? dataSlot : dataSlot + 1;

    private void PushRxResponses()
    {
        if (_rx.PushResponses())
            _counters.RxNotifications++;
    }

    /// <summary>Closes the channels, so the frontend's waiters learn at once. Safe while loops run, and more than once.</summary>
    public void CloseChannels()
    {
        // Once only: a fault closes them before Dispose does, and the Unix, xenctrl and Xen events bind
        // a freed port to the next channel, so a second close could shut another driver's channel.
        if (Interlocked.Exchange(ref _channelsClosed, 1) != 0)
            return;
        _events.Close(_txChannel);
        if (_rxChannel != _txChannel)
            _events.Close(_rxChannel);
    }

    /// <summary>Unmaps everything. Only once both loops have ended.</summary>
    public void Dispose()
    {
        _txMaps?.Dispose();
        _rxMaps?.Dispose();
        // Unmap the rings while their channels are open, so that their notifications' events go out.
        _memory.Unmap(_txRing);
        _memory.Unmap(_rxRing);
        CloseChannels();
    }
}
