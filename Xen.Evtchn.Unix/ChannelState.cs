using System.Runtime.CompilerServices;
using Xen.Unix;

namespace Xen.Evtchn.Unix;

/// <summary>One local port: offered, connected, peer gone, or closed; its counter page and its waiters.</summary>
internal sealed unsafe class ChannelState
{
    public const int Offered = 0;
    public const int Connected = 1;
    public const int PeerGone = 2;
    public const int Closed = 3;

    private readonly Lock _gate = new();
    private readonly EventWaiter _waiters;
    private ChannelLink? _link;
    private readonly int _ownEvents;
    private readonly int _ownWaiting;
    private readonly int _peerEvents;
    private readonly int _peerWaiting;
    private int _phase;
    private string? _goneDetail;

    public ChannelState(uint port, ushort remoteDomain, bool isListener, bool runContinuationsAsynchronously)
    {
        Port = port;
        RemoteDomain = remoteDomain;
        IsListener = isListener;
        _waiters = new EventWaiter(runContinuationsAsynchronously);
        (_ownEvents, _ownWaiting, _peerEvents, _peerWaiting) = isListener
            ? (CounterPage.ListenerEvents, CounterPage.ListenerWaiting, CounterPage.ConnectorEvents, CounterPage.ConnectorWaiting)
            : (CounterPage.ConnectorEvents, CounterPage.ConnectorWaiting, CounterPage.ListenerEvents, CounterPage.ListenerWaiting);
    }

    public uint Port { get; }

    public ushort RemoteDomain { get; }

    public bool IsListener { get; }

    public int Phase => Volatile.Read(ref _phase);

    public ChannelLink? Link => Volatile.Read(ref _link);

    // Receivers blocked on this port (for tests that must know a receiver is asleep).
    public int WaiterCount => _waiters.Count;

    private Xen.Evtchn.Channel Channel => new(new Port(Port));

    /// <summary>Attaches the connection: from now on sends reach the peer.</summary>
    public bool Attach(ChannelLink link)
    {
        lock (_gate)
        {
            if (_phase != Offered)
                return false;
            Volatile.Write(ref _link, link);
            // Waiters that came before the peer must be woken by its first send. The fence pairs with
            // the one in RecvAsync: either the receiver sees the link, or this sees the receiver.
            Interlocked.MemoryBarrier();
            if (_waiters.Count > 0)
                Volatile.Write(ref *(int*)(link.Page + _ownWaiting), 1);
            Volatile.Write(ref _phase, Connected);
            return true;
        }
    }

    public void Send()
    {
        var link = Volatile.Read(ref _link);
        if (link is null)
        {
            ThrowIfUnusable();
            return; // offered but not connected yet: dropped, as Xen drops it
        }
        if (Phase != Connected)
            ThrowIfUnusable();
        var page = link.Page;
        Interlocked.Increment(ref *(ulong*)(page + _peerEvents));
        // The increment is a full barrier: the peer either sees the new count before it blocks, or
        // had already said it waits, and then its doorbell rings.
        if (Volatile.Read(ref *(int*)(page + _peerWaiting)) != 0 && Interlocked.Exchange(ref *(int*)(page + _peerWaiting), 0) != 0)
            RingDoorbell(link);
        GC.KeepAlive(link); // the page stays mapped until here (see ChannelLink)
    }

    // Not inlined: the common send, to a peer that spins or is busy, rings nothing.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RingDoorbell(ChannelLink link) => Doorbell.Ring(link.PeerDoorbell);

    /// <summary>The number of notifications received; zero before the peer connects, and after a close.</summary>
    private ulong ReadCounter(ChannelLink? link)
    {
        if (link is null)
            return 0;
        var counter = Volatile.Read(ref *(ulong*)(link.Page + _ownEvents));
        GC.KeepAlive(link);
        return counter;
    }

    public ValueTask<EventCounter> RecvAsync(EventCounter lastSeen, long spinTicks, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<EventCounter>(cancellationToken);
        var link = Volatile.Read(ref _link);
        ulong counter;
        if (spinTicks > 0 && link is not null)
        {
            if (TrySpin(link, lastSeen.Value, spinTicks, out counter))
                return new ValueTask<EventCounter>(new EventCounter(counter));
        }
        else
        {
            counter = ReadCounter(link);
            if (counter > lastSeen.Value)
                return new ValueTask<EventCounter>(new EventCounter(counter));
        }
        if (Phase != Connected && Phase != Offered)
            ThrowIfUnusable();

        var wait = _waiters.WaitAsync(lastSeen, cancellationToken);
        // Parked (a full fence) before the link is read; Attach writes the link before it counts waiters.
        if (Volatile.Read(ref _link) is { } attached)
        {
            WantDoorbell(attached);
            counter = ReadCounter(attached);
            if (counter > lastSeen.Value)
                _waiters.Wake(new EventCounter(counter));
        }
        return wait;
    }

    // Asks the peer to ring the doorbell on its next send, then fences, so the counter read after it is fresh.
    private void WantDoorbell(ChannelLink link)
    {
        Volatile.Write(ref *(int*)(link.Page + _ownWaiting), 1);
        Interlocked.MemoryBarrier();
        GC.KeepAlive(link);
    }

    // The first look and the spin take no reference on the link (see ChannelLink): on the spinning
    // path each round trip's locked instructions are most of what a side spends besides waiting. A
    // channel that is no longer connected is not spun on; the caller throws.
    private bool TrySpin(ChannelLink link, ulong lastSeen, long spinTicks, out ulong counter)
    {
        var events = (ulong*)(link.Page + _ownEvents);
        try
        {
            counter = Volatile.Read(ref *events);
            if (counter > lastSeen)
                return true;
            if (Phase != Connected)
                return false;
            var spin = new BoundedSpin(spinTicks);
            while (spin.Continue())
            {
                counter = Volatile.Read(ref *events);
                if (counter > lastSeen)
                    return true;
            }
            counter = 0;
            return false;
        }
        finally
        {
            GC.KeepAlive(link);
        }
    }

    /// <summary>
    /// Called by the doorbell thread after a ring, and by the event thread when the peer's socket ends:
    /// completes the waiters whose count has moved, and asks for another ring for the rest; a peer that
    /// went away ends the waits.
    /// </summary>
    public void Wake(bool peerGone, string? detail)
    {
        if (peerGone)
        {
            lock (_gate)
            {
                if (_phase == Connected)
                {
                    _goneDetail = detail;
                    Volatile.Write(ref _phase, PeerGone);
                }
            }
        }
        var link = Volatile.Read(ref _link);
        while (true)
        {
            var counter = ReadCounter(link);
            _waiters.Wake(new EventCounter(counter));
            if (Phase == PeerGone)
            {
                // Events sent before the peer went are still reported; then waits fail.
                _waiters.Close(new PeerClosedException(Channel, _goneDetail), new EventCounter(counter));
                return;
            }
            if (_waiters.Count == 0 || link is null || Phase != Connected)
                return;
            WantDoorbell(link);
            if (ReadCounter(link) == counter)
                return;
        }
    }

    /// <summary>Closes the local end: waiters fail, the socket closes (the peer sees it), the page is unmapped.</summary>
    public ChannelLink? Close()
    {
        ChannelLink? link;
        lock (_gate)
        {
            if (_phase == Closed)
                return null;
            Volatile.Write(ref _phase, Closed);
            link = _link;
        }
        _waiters.Close(new ChannelClosedException(Channel));
        return link;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIfUnusable()
    {
        switch (Phase)
        {
            case Closed:
                throw new ChannelClosedException(Channel);
            case PeerGone:
                throw new PeerClosedException(Channel, _goneDetail);
        }
    }
}
