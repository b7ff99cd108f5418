namespace Xen.Evtchn.Xen;

/// <summary>
/// One bound port as the guest sees it: the event counter that upcalls advance, and the receivers
/// waiting for it to pass a value.
/// </summary>
internal sealed class PortState
{
    private readonly EventWaiter _waiters = new();
    private ulong _counter;
    private int _connected;
    private int _peerClosed;

    public PortState(Channel channel, bool connected)
    {
        Channel = channel;
        _connected = connected ? 1 : 0;
    }

    public Channel Channel { get; }

    public ulong Counter => Volatile.Read(ref _counter);

    /// <summary>Whether the port was ever seen connected: by status, by binding it, or by an event,
    /// which only a connected peer can raise.</summary>
    public bool Connected => Volatile.Read(ref _connected) != 0;

    public bool PeerClosed => Volatile.Read(ref _peerClosed) != 0;

    public bool HasWaiters => _waiters.Count != 0;

    public void MarkConnected() => Volatile.Write(ref _connected, 1);

    /// <summary>Counts one event (the upcall found the port pending) and wakes the waiters it satisfies.</summary>
    public void Signal()
    {
        // Interlocked: the full fence the waiter list asks of a sender before it wakes.
        var now = Interlocked.Increment(ref _counter);
        Volatile.Write(ref _connected, 1);
        _waiters.Wake(new EventCounter(now));
    }

    public ValueTask<EventCounter> WaitAsync(EventCounter lastSeen, CancellationToken cancellationToken)
    {
        var wait = _waiters.WaitAsync(lastSeen, cancellationToken);
        // Re-check after parking: an event counted between the caller's check and the parking woke nobody.
        var now = Counter;
        if (now > lastSeen.Value)
            _waiters.Wake(new EventCounter(now));
        else if (PeerClosed)
            OnPeerClosed(null);
        return wait;
    }

    /// <summary>The peer went away: waiters with an event left to report get it, the rest fail, now and later.</summary>
    public void OnPeerClosed(string? detail)
    {
        // Once: whoever marks the port closed also drains its waiters.
        if (Interlocked.Exchange(ref _peerClosed, 1) == 0)
            _waiters.Close(new PeerClosedException(Channel, detail), new EventCounter(Counter));
    }

    /// <summary>The channel was closed locally: every waiter fails, and later waits fail at once.</summary>
    public void OnClosed() => _waiters.Close(new ChannelClosedException(Channel));
}
