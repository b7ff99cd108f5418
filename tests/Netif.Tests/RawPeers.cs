using System.Runtime.CompilerServices;
using Netif.Links;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using TestSupport;

namespace Netif.Tests;

/// <summary>
/// A frontend written by hand against a real netback: it writes whatever requests a test asks for,
/// straight into the shared rings, and watches what comes out on the far side of the link.
/// </summary>
internal sealed class RawFrontend : IAsyncDisposable
{
    public const int DataPages = 32;

    private readonly InHeapEventHub _events = new();
    private readonly InHeapGrantHub _grants = new();
    private readonly InHeapDomain _back, _front;
    private readonly Share _txRing, _rxRing, _pages, _rxPages;
    private readonly Channel _rxChannel;

    /// <param name="split">Whether rx has its own event channel (feature-split-event-channels).</param>
    public RawFrontend(NetfrontFeatures? features = null, NetbackOptions? options = null, bool split = false)
    {
        _back = InHeapDomain.Open(_events, _grants, 0);
        _front = InHeapDomain.Open(_events, _grants, 1);
        _txRing = _front.Memory.Share(0, 1, writable: true);
        _rxRing = _front.Memory.Share(0, 1, writable: true);
        _pages = _front.Memory.Share(0, DataPages, writable: false);
        _rxPages = _front.Memory.Share(0, DataPages, writable: true);
        (var port, Channel) = _front.Events.Listen(0);
        var rxPort = port;
        _rxChannel = Channel;
        if (split)
            (rxPort, _rxChannel) = _front.Events.Listen(0);
        Tx = FrontRing<NetifTxRequest, NetifTxResponse>.Initialise(_txRing);
        Rx = FrontRing<NetifRxRequest, NetifRxResponse>.Initialise(_rxRing);
        var rendezvous = new NetfrontRendezvous(1, features ?? new NetfrontFeatures { Sg = true, GsoTcpV4 = true, GsoTcpV6 = true },
            [new NetifQueueRefs(_txRing.Refs[0], _rxRing.Refs[0], port, rxPort)]);
        (Link, Outside) = NetworkLink.CreatePair();
        BackendEvents = new ClosesCountedEvents(_back.Events);
        Netback = Netback<ClosesCountedEvents, InHeapMemory>.Attach(BackendEvents, _back.Memory, rendezvous, Link, options);
    }

    public Channel Channel { get; }
    public FrontRing<NetifTxRequest, NetifTxResponse> Tx { get; }
    public FrontRing<NetifRxRequest, NetifRxResponse> Rx { get; }
    public QueueLink Link { get; }
    public QueueLink Outside { get; }
    public Netback<ClosesCountedEvents, InHeapMemory> Netback { get; }
    public ClosesCountedEvents BackendEvents { get; }
    public unsafe byte* TxRingPointer => _txRing.Pointer;

    /// <summary>Pages the backend maps now: its two ring pages, and any data page it still holds.</summary>
    public int BackendMappings => _grants.LiveMappings;

    /// <summary>A page the backend may map read-only, and its ref.</summary>
    public GrantRef PageRef(int i) => _pages.Refs[i];
    public Span<byte> Page(int i) => _pages.Span.Slice(i * PageBuffer.PageSize, PageBuffer.PageSize);
    public GrantRef RxPageRef(int i) => _rxPages.Refs[i];
    public Span<byte> RxPage(int i) => _rxPages.Span.Slice(i * PageBuffer.PageSize, PageBuffer.PageSize);

    public void Write(NetifTxRequest request) => Tx.WriteRequest(request);

    public void WriteExtra(NetifExtraInfo extra)
    {
        var slot = default(NetifTxRequest);
        Unsafe.As<NetifTxRequest, NetifExtraInfo>(ref slot) = extra;
        Tx.WriteRequest(slot);
    }

    public void Push()
    {
        Tx.PushRequests();
        Rx.PushRequests();
        Notify();
    }

    public void Notify()
    {
        Kick.Peer(_front.Events, Channel);
        if (_rxChannel != Channel)
            Kick.Peer(_front.Events, _rxChannel);
    }

    /// <summary>Waits until <paramref name="count"/> tx responses are there and reads them.</summary>
    public async Task<List<NetifTxResponse>> TxResponsesAsync(int count)
    {
        await Until(() => Tx.UnconsumedResponses >= count);
        var list = new List<NetifTxResponse>();
        while (list.Count < count && Tx.TryReadResponse(out var r))
            list.Add(r);
        return list;
    }

    public async Task<List<NetifRxResponse>> RxResponsesAsync(int count)
    {
        await Until(() => Rx.UnconsumedResponses >= count);
        var list = new List<NetifRxResponse>();
        while (list.Count < count && Rx.TryReadResponse(out var r))
            list.Add(r);
        return list;
    }

    public static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The peer did not answer in time.");
            await Task.Delay(2);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _front.Events.Close(Channel);
        if (_rxChannel != Channel)
            _front.Events.Close(_rxChannel);
        await Netback.DisposeAsync();
        _front.Dispose();
        _back.Dispose();
        _grants.Dispose();
        _events.Dispose();
    }
}

/// <summary>
/// A backend written by hand against a real netfront: it maps the frontend's rings and answers with
/// whatever responses a test asks for.
/// </summary>
internal sealed class RawBackend : IAsyncDisposable
{
    private readonly InHeapEventHub _events = new();
    private readonly InHeapGrantHub _grants = new();
    private readonly InHeapDomain _back, _front;
    private readonly Mapping _txRing, _rxRing;

    public RawBackend(NetbackFeatures? offered = null, NetfrontOptions? options = null)
    {
        _back = InHeapDomain.Open(_events, _grants, 0);
        _front = InHeapDomain.Open(_events, _grants, 1);
        Netfront = Netfront<InHeapEvents, InHeapMemory>.Create(_front.Events, _front.Memory, 0,
            offered ?? new NetbackFeatures { SplitEventChannels = false, MaxQueues = 1 }, options);
        var refs = Netfront.Rendezvous.Queues[0];
        _txRing = _back.Memory.Map(1, refs.TxRingRef, writable: true);
        _rxRing = _back.Memory.Map(1, refs.RxRingRef, writable: true);
        Channel = _back.Events.Connect(1, refs.TxEventChannel);
        Tx = BackRing<NetifTxRequest, NetifTxResponse>.Attach(_txRing);
        Rx = BackRing<NetifRxRequest, NetifRxResponse>.Attach(_rxRing);
    }

    public Netfront<InHeapEvents, InHeapMemory> Netfront { get; }
    public NetfrontQueue Queue => Netfront.Queues[0];
    public Channel Channel { get; }
    public BackRing<NetifTxRequest, NetifTxResponse> Tx { get; }
    public BackRing<NetifRxRequest, NetifRxResponse> Rx { get; }
    public unsafe byte* RxRingPointer => _rxRing.Pointer;

    public NetifRxRequest ReadRx()
    {
        Assert.True(Rx.TryReadRequest(out var request));
        return request;
    }

    /// <summary>Writes <paramref name="data"/> into the page of an rx request.</summary>
    public void Fill(NetifRxRequest request, int offset, ReadOnlySpan<byte> data)
    {
        using var page = _back.Memory.Map(1, request.Gref, writable: true);
        data.CopyTo(page.Span[offset..]);
    }

    public void Push()
    {
        Tx.PushResponses();
        Rx.PushResponses();
        Kick.Peer(_back.Events, Channel);
    }

    public async ValueTask DisposeAsync()
    {
        Netfront.Dispose();
        _back.Memory.Unmap(_txRing);
        _back.Memory.Unmap(_rxRing);
        _front.Dispose();
        _back.Dispose();
        _grants.Dispose();
        _events.Dispose();
        await Task.CompletedTask;
    }
}
