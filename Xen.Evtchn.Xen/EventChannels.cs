using System.Numerics;
using System.Runtime.CompilerServices;
using static Xen.Evtchn.Xen.EventChannelAbi;

namespace Xen.Evtchn.Xen;

/// <summary>
/// The guest kernel's event-channel layer: binds ports through hypercalls, keeps every port it has
/// not bound masked, and turns upcalls into counter increments by scanning the 2-level bitmaps.
/// </summary>
internal sealed unsafe class EventChannels : IDisposable
{
    private readonly IEventChannelHypercalls _hypercalls;
    private readonly SharedInfo* _shared;
    private readonly VcpuInfo* _vcpu;
    private readonly PortState?[] _ports = new PortState?[EVTCHN_2L_NR_CHANNELS];
    private readonly Timer? _peerCheck;
    private int _disposed;

    public EventChannels(IEventChannelHypercalls hypercalls, nint sharedInfo, ushort localDomain, int vcpu, TimeSpan peerCheckInterval)
    {
        ArgumentNullException.ThrowIfNull(hypercalls);
        if (sharedInfo == 0 || sharedInfo % 4096 != 0)
            throw new ArgumentException("The shared-info page must be mapped at a non-null, page-aligned address.", nameof(sharedInfo));
        ArgumentOutOfRangeException.ThrowIfNegative(vcpu);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(vcpu, XEN_LEGACY_MAX_VCPUS);
        if (localDomain >= DOMID_FIRST_RESERVED)
            throw new ArgumentOutOfRangeException(nameof(localDomain), localDomain, "A domain id must be below DOMID_FIRST_RESERVED (0x7FF0).");
        _hypercalls = hypercalls;
        _shared = (SharedInfo*)sharedInfo;
        _vcpu = (VcpuInfo*)Unsafe.AsPointer(ref _shared->VcpuInfo[vcpu]);
        LocalDomain = localDomain;

        // No channel is live until this layer binds it: mask every port, so an event on a port that
        // nobody here listens to never raises an upcall (Mini-OS and Linux do the same at boot).
        for (var word = 0; word < BitsPerWord; word++)
            Volatile.Write(ref _shared->EvtchnMask[word], ulong.MaxValue);

        if (peerCheckInterval != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(peerCheckInterval, TimeSpan.Zero, nameof(peerCheckInterval));
            _peerCheck = new Timer(static s => ((EventChannels)s!).CheckWaitingPeers(), this, peerCheckInterval, peerCheckInterval);
        }
    }

    public ushort LocalDomain { get; }

    public (Port Port, Channel Channel) Listen(ushort remoteDomain)
    {
        ThrowIfDisposed();
        var op = new EvtchnAllocUnbound { Dom = DOMID_SELF, RemoteDom = remoteDomain };
        var rc = _hypercalls.EventChannelOp(EVTCHNOP_alloc_unbound, &op);
        if (rc < 0)
            throw new EventChannelException($"EVTCHNOP_alloc_unbound for domain {remoteDomain} failed: {Errno.Name(rc)}.");
        var channel = Bind(op.Port, connected: false);
        return (new Port(op.Port), channel);
    }

    public Channel Connect(ushort remoteDomain, Port remotePort)
    {
        ThrowIfDisposed();
        var op = new EvtchnBindInterdomain { RemoteDom = remoteDomain, RemotePort = remotePort.Value };
        var rc = _hypercalls.EventChannelOp(EVTCHNOP_bind_interdomain, &op);
        if (rc == -ESRCH)
            throw new PortNotBoundException(remoteDomain, remotePort, "EVTCHNOP_bind_interdomain returned -ESRCH: the domain does not exist");
        if (rc == -EINVAL)
            throw new PortNotBoundException(remoteDomain, remotePort, "EVTCHNOP_bind_interdomain returned -EINVAL: no such port, already connected, or offered to another domain");
        if (rc < 0)
            throw new EventChannelException($"EVTCHNOP_bind_interdomain to port {remotePort} of domain {remoteDomain} failed: {Errno.Name(rc)}.");
        // Xen marks the new local port pending in case the peer notified the unbound port before:
        // unmasking in Bind delivers that one event at once.
        return Bind(op.LocalPort, connected: true);
    }

    public Channel Attach(Port localPort)
    {
        ThrowIfDisposed();
        if (localPort.Value >= EVTCHN_2L_NR_CHANNELS)
            throw new ArgumentOutOfRangeException(nameof(localPort), localPort.Value, "The 2-level event ABI addresses ports below 4096.");
        var status = Status(localPort.Value, out var rc);
        if (rc < 0 || status.Status != EVTCHNSTAT_interdomain)
            throw new PortNotBoundException(LocalDomain, localPort, rc < 0 ? $"EVTCHNOP_status failed: {Errno.Name(rc)}" : $"its status is {status.Status}, not EVTCHNSTAT_interdomain");
        return Bind(localPort.Value, connected: true);
    }

    public void Send(Channel channel)
    {
        var state = Lookup(channel);
        if (state.PeerClosed)
            throw new PeerClosedException(channel);
        var op = new EvtchnSend { Port = channel.LocalPort.Value };
        var rc = _hypercalls.EventChannelOp(EVTCHNOP_send, &op);
        if (rc < 0)
            ThrowSendFailed(channel, rc);
    }

    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken)
    {
        PortState state;
        try
        {
            state = Lookup(channel);
        }
        catch (ChannelClosedException e)
        {
            return ValueTask.FromException<EventCounter>(e);
        }
        var now = state.Counter;
        if (now > lastSeen.Value)
            return new ValueTask<EventCounter>(new EventCounter(now));
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<EventCounter>(cancellationToken);
        // The ABI has no close notification: before blocking, ask Xen whether the peer is still there.
        CheckPeer(state);
        return state.WaitAsync(lastSeen, cancellationToken);
    }

    public void Close(Channel channel)
    {
        var port = channel.LocalPort.Value;
        if (port >= EVTCHN_2L_NR_CHANNELS)
            return;
        var state = Interlocked.Exchange(ref _ports[port], null);
        if (state is null)
            return;
        CloseBound(state);
    }

    /// <summary>Asks Xen about every port with waiters, failing those whose peer went away.</summary>
    public void CheckPeers()
    {
        foreach (var state in _ports)
        {
            if (state is not null)
                CheckPeer(state);
        }
    }

    /// <summary>
    /// The upcall: Xen set <c>evtchn_upcall_pending</c> and selector bits. Clear the flag before
    /// scanning, take the selector atomically, and test-and-clear each pending, unmasked port, so
    /// that concurrent upcalls on other threads count every event exactly once.
    /// </summary>
    public void OnUpcall()
    {
        ref var vcpu = ref *_vcpu;
        while (Volatile.Read(ref vcpu.EvtchnUpcallPending) != 0)
        {
            Volatile.Write(ref vcpu.EvtchnUpcallPending, 0);
            // The flag must be clear before the selector is read: an event raised after this point
            // sets it again, and the loop comes round once more.
            Interlocked.MemoryBarrier();
            var selector = Interlocked.Exchange(ref vcpu.EvtchnPendingSel, 0);
            while (selector != 0)
            {
                var word = BitOperations.TrailingZeroCount(selector);
                selector &= selector - 1;
                ScanWord(word);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _peerCheck?.Dispose();
        for (var port = 0; port < _ports.Length; port++)
        {
            if (Interlocked.Exchange(ref _ports[port], null) is { } state)
                CloseBound(state);
        }
    }

    private void ScanWord(int word)
    {
        ref var pending = ref _shared->EvtchnPending[word];
        var ready = Volatile.Read(ref pending) & ~Volatile.Read(ref _shared->EvtchnMask[word]);
        while (ready != 0)
        {
            var bit = BitOperations.TrailingZeroCount(ready);
            var mask = 1UL << bit;
            ready &= ready - 1;
            // Test-and-clear: of several scanners, only the one that clears the bit counts the event.
            if ((Interlocked.And(ref pending, ~mask) & mask) != 0)
                Volatile.Read(ref _ports[word * BitsPerWord + bit])?.Signal();
        }
    }

    private Channel Bind(uint port, bool connected)
    {
        var channel = new Channel(new Port(port));
        if (port >= EVTCHN_2L_NR_CHANNELS)
        {
            var close = new EvtchnClose { Port = port };
            _hypercalls.EventChannelOp(EVTCHNOP_close, &close);
            throw new EventChannelException($"Xen gave port {port}, which the 2-level event ABI cannot address.");
        }
        var state = new PortState(channel, connected);
        if (Interlocked.CompareExchange(ref _ports[port], state, null) is not null)
            throw new EventChannelException($"Xen gave port {port}, which is already bound here.");
        // Unmask through Xen: if the port became pending while masked, Xen re-raises it.
        var op = new EvtchnUnmask { Port = port };
        var rc = _hypercalls.EventChannelOp(EVTCHNOP_unmask, &op);
        if (rc < 0)
        {
            Volatile.Write(ref _ports[port], null);
            throw new EventChannelException($"EVTCHNOP_unmask of port {port} failed: {Errno.Name(rc)}.");
        }
        return channel;
    }

    private void CloseBound(PortState state)
    {
        var port = state.Channel.LocalPort.Value;
        Interlocked.Or(ref _shared->EvtchnMask[(int)(port / BitsPerWord)], 1UL << (int)(port % BitsPerWord));
        // A last notification wakes the peer, whose next wait then finds the port unbound.
        if (!state.PeerClosed)
        {
            var send = new EvtchnSend { Port = port };
            _hypercalls.EventChannelOp(EVTCHNOP_send, &send);
        }
        var close = new EvtchnClose { Port = port };
        _hypercalls.EventChannelOp(EVTCHNOP_close, &close);
        state.OnClosed();
    }

    private void CheckPeer(PortState state)
    {
        if (state.PeerClosed)
            return;
        var status = Status(state.Channel.LocalPort.Value, out var rc);
        if (rc < 0)
            return;
        if (status.Status == EVTCHNSTAT_interdomain)
            state.MarkConnected();
        else if (status.Status == EVTCHNSTAT_unbound && state.Connected)
            state.OnPeerClosed($"Xen reports the port unbound: domain {status.RemoteDom} closed its end or died");
    }

    private void CheckWaitingPeers()
    {
        foreach (var state in _ports)
        {
            if (state is { HasWaiters: true })
                CheckPeer(state);
        }
    }

    private EvtchnStatus Status(uint port, out int rc)
    {
        var op = new EvtchnStatus { Dom = DOMID_SELF, Port = port };
        rc = _hypercalls.EventChannelOp(EVTCHNOP_status, &op);
        return op;
    }

    private PortState Lookup(Channel channel)
    {
        var port = channel.LocalPort.Value;
        var state = port < EVTCHN_2L_NR_CHANNELS ? Volatile.Read(ref _ports[port]) : null;
        if (state is null)
            ThrowClosed(channel);
        return state;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowClosed(Channel channel) => throw new ChannelClosedException(channel);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowSendFailed(Channel channel, int rc) =>
        throw (rc == -EINVAL
            ? new ChannelClosedException(channel)
            : new EventChannelException($"EVTCHNOP_send on {channel} failed: {Errno.Name(rc)}."));
}
