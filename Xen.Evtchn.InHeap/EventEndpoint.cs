namespace Xen.Evtchn.InHeap;

/// <summary>
/// One bound port: its counter, its peer, and the receivers parked on it (an <see cref="EventWaiter"/>,
/// which pools them, so the steady wait allocates nothing).
/// </summary>
internal sealed class EventEndpoint
{
    private readonly Lock _gate = new();
    private readonly EventWaiter _waiters = new();
    private EventEndpoint? _peer;
    private bool _closed;
    private bool _peerGone;
    private ulong _counter;

    public EventEndpoint(Channel channel, ushort remoteDomain)
    {
        Channel = channel;
        RemoteDomain = remoteDomain;
    }

    public Channel Channel { get; }

    public ushort RemoteDomain { get; }

    public bool IsUnconnected
    {
        get
        {
            lock (_gate)
                return _peer is null && !_closed;
        }
    }

    public int WaiterCount => _waiters.Count;

    public void ConnectTo(EventEndpoint peer)
    {
        lock (_gate)
            _peer = peer;
    }

    public void Send()
    {
        EventEndpoint? peer;
        lock (_gate)
        {
            if (_closed)
                ThrowHelper.ThrowChannelClosed(Channel);
            if (_peerGone)
                ThrowHelper.ThrowPeerClosed(Channel);
            peer = _peer;
        }
        // Nobody connected yet: Xen drops the notification, and so do we.
        if (peer is not null && !peer.Deliver())
            ThrowHelper.ThrowPeerClosed(Channel);
    }

    public ValueTask<EventCounter> RecvAsync(EventCounter lastSeen, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<EventCounter>(cancellationToken);
        lock (_gate)
        {
            if (_closed)
                return ValueTask.FromException<EventCounter>(new ChannelClosedException(Channel));
            if (_counter > lastSeen.Value)
                return new ValueTask<EventCounter>(new EventCounter(_counter));
            if (_peerGone)
                return ValueTask.FromException<EventCounter>(new PeerClosedException(Channel));
        }
        var wait = _waiters.WaitAsync(lastSeen, cancellationToken);
        // An event delivered between the check above and the parking woke nobody: look again.
        var now = Volatile.Read(ref _counter);
        if (now > lastSeen.Value)
            _waiters.Wake(new EventCounter(now));
        return wait;
    }

    /// <summary>Counts one notification from the peer; false if this end is closed.</summary>
    public bool Deliver()
    {
        ulong counter;
        lock (_gate)
        {
            if (_closed)
                return false;
            // Interlocked: the full fence the waiter list asks of a sender before it wakes.
            counter = Interlocked.Increment(ref _counter);
        }
        _waiters.Wake(new EventCounter(counter));
        return true;
    }

    /// <summary>Closes this end: its waiters fail as closed, the peer's as peer-closed.</summary>
    public void Close()
    {
        EventEndpoint? peer;
        lock (_gate)
        {
            if (_closed)
                return;
            _closed = true;
            peer = _peer;
        }
        _waiters.Close(new ChannelClosedException(Channel));
        peer?.OnPeerClosed();
    }

    private void OnPeerClosed()
    {
        ulong counter;
        lock (_gate)
        {
            if (_closed)
                return;
            _peerGone = true;
            counter = _counter;
        }
        // Events the peer sent before it went are still reported; then waits fail.
        _waiters.Close(new PeerClosedException(Channel), new EventCounter(counter));
    }
}
