using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

/// <summary>
/// A vchan end over the event-channel backend <typeparamref name="TEvents"/> and the grant backend
/// <typeparamref name="TMemory"/>; with struct backends the JIT specialises the whole data path.
/// </summary>
/// <remarks>
/// The class is split by concern: the handshake (<c>.Handshake.cs</c>), reading and writing the rings
/// (<c>.Reading.cs</c>, <c>.Writing.cs</c>), waiting and notifying (<c>.Waiting.cs</c>,
/// <c>.Notifying.cs</c>), the peer's liveness and faults (<c>.Faults.cs</c>) and the close
/// (<c>.Teardown.cs</c>). The rings themselves are <see cref="ByteRingReader"/> and
/// <see cref="ByteRingWriter"/>: no code here reads or writes a ring index.
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant backend.</typeparam>
public sealed partial class VchanEndpoint<TEvents, TMemory> : VchanEndpoint
    where TEvents : IEvents
    where TMemory : IMemory
{
    // Struct backends wrap a reference to their state, so a readonly copy is the same backend.
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly Channel _channel;
    private readonly bool _isServer;
    private readonly ushort _remoteDomain;
    private readonly VchanRendezvous _rendezvous;
    private readonly int _leftOrder, _rightOrder;
    private readonly ILogger _logger;
    private readonly VchanCounters _counters = new();
    private readonly Meter _meter;

    // The pages: the control page, then each paged ring (null for in-page rings).
    private readonly PageBuffer _control;
    private readonly PageBuffer? _leftPages, _rightPages;

    private readonly unsafe VchanControlPage* _page;

    // Our own indices live in these and are only copied out: the peer can scribble on the shared page,
    // but it cannot make us index outside a ring. Mutable structs, so not readonly.
    private ByteRingReader _reader;
    private ByteRingWriter _writer;

    private unsafe VchanEndpoint(TEvents events, TMemory memory, Channel channel, bool isServer, ushort remoteDomain, VchanRendezvous rendezvous,
        int leftOrder, int rightOrder, PageBuffer control, PageBuffer? leftPages, PageBuffer? rightPages, ILogger? logger)
    {
        _events = events;
        _memory = memory;
        _channel = channel;
        _isServer = isServer;
        _remoteDomain = remoteDomain;
        _rendezvous = rendezvous;
        _leftOrder = leftOrder;
        _rightOrder = rightOrder;
        _control = control;
        _leftPages = leftPages;
        _rightPages = rightPages;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _page = (VchanControlPage*)control.Pointer;
        // The left ring carries client-to-server bytes, the right ring server-to-client bytes.
        var left = new ByteRing(RingPointer(control, leftOrder, leftPages), VchanOrders.RingSize(leftOrder), &_page->Left);
        var right = new ByteRing(RingPointer(control, rightOrder, rightPages), VchanOrders.RingSize(rightOrder), &_page->Right);
        // Our indices start where the shared page has them: zero for a new server, and for a client
        // wherever the server left them (it may have written before we came).
        var (read, write) = isServer ? (left, right) : (right, left);
        _reader = new ByteRingReader(read, read.Cons);
        _writer = new ByteRingWriter(write, write.Prod);
        _meter = VchanMetrics.Create(isServer, remoteDomain, _counters);
    }

    private static unsafe byte* RingPointer(PageBuffer control, int order, PageBuffer? pages)
    {
        if (order < VchanOrders.FirstPaged)
            return control.Pointer + VchanOrders.InPageOffset(order);
        Debug.Assert(pages is not null && pages.Length >= VchanOrders.RingSize(order));
        return pages.Pointer;
    }

    /// <inheritdoc />
    public override bool IsServer => _isServer;

    /// <inheritdoc />
    public override ushort RemoteDomain => _remoteDomain;

    /// <inheritdoc />
    public override VchanRendezvous Rendezvous => _rendezvous;

    /// <inheritdoc />
    public override int LeftOrder => _leftOrder;

    /// <inheritdoc />
    public override int RightOrder => _rightOrder;

    internal override Meter Meter => _meter;

    internal override VchanCounters Counters => _counters;

    /// <summary>The control page, for tests that play a hostile peer.</summary>
    internal PageBuffer ControlPage => _control;

    /// <summary>Sends the peer an event, for tests that play a hostile peer.</summary>
    internal void KickPeer() => SendEvent();

    /// <summary>The event channel this end is bound to.</summary>
    public Channel Channel => _channel;

    private string Side => _isServer ? "server" : "client";
}
