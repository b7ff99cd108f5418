namespace Xen.Evtchn.InHeap;

/// <summary>
/// One bound port: its counter, its peer, and the waiters parked on it. The first waiter uses a
/// reusable <see cref="Waiter"/> so that the common wait allocates nothing; extra concurrent
/// waiters (a vchan reader and writer on one channel) get their own.
/// </summary>
internal sealed class EventEndpoint
{
    private readonly Lock _gate = new();
    private readonly Waiter _primary;
    private int _primaryBusy;
    private Waiter? _waiters;
    private EventEndpoint? _peer;
    private bool _closed;
    private bool _peerGone;
    private ulong _counter;

    public EventEndpoint(Channel channel, ushort remoteDomain)
    {
        Channel = channel;
        RemoteDomain = remoteDomain;
        _primary = new Waiter(this, reusable: true);
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

    public int WaiterCount
    {
        get
        {
            lock (_gate)
            {
                var n = 0;
                for (var w = _waiters; w is not null; w = w.Next)
                    n++;
                return n;
            }
        }
    }

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

            Waiter waiter;
            if (Volatile.Read(ref _primaryBusy) == 0)
            {
                _primaryBusy = 1;
                waiter = _primary;
            }
            else
            {
                waiter = new Waiter(this, reusable: false);
            }
            waiter.LastSeen = lastSeen.Value;
            waiter.Token = cancellationToken;
            waiter.Next = _waiters;
            waiter.Linked = true;
            _waiters = waiter;
            // Registered under the lock, so that a delivery that finds the waiter also finds its registration.
            // A token cancelled meanwhile runs the callback here; the lock is re-entrant and the
            // continuation runs asynchronously.
            waiter.Registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Owner.Cancel((Waiter)state, token), waiter)
                : default;
            return new ValueTask<EventCounter>(waiter, waiter.Version);
        }
    }

    /// <summary>Counts one notification from the peer; false if this end is closed.</summary>
    public bool Deliver()
    {
        Waiter? ready;
        ulong counter;
        lock (_gate)
        {
            if (_closed)
                return false;
            counter = ++_counter;
            ready = DetachWhere(counter);
        }
        while (ready is not null)
        {
            var next = ready.Next;
            ready.Next = null;
            ready.Registration.Unregister();
            ready.SetResult(new EventCounter(counter));
            ready = next;
        }
        return true;
    }

    /// <summary>Closes this end: its waiters fail as closed, the peer's as peer-closed.</summary>
    public void Close()
    {
        Waiter? failed;
        EventEndpoint? peer;
        lock (_gate)
        {
            if (_closed)
                return;
            _closed = true;
            failed = DetachWhere(ulong.MaxValue, all: true);
            peer = _peer;
        }
        Fail(failed, static c => new ChannelClosedException(c));
        peer?.OnPeerClosed();
    }

    public void ReturnPrimary() => Volatile.Write(ref _primaryBusy, 0);

    private void OnPeerClosed()
    {
        Waiter? failed;
        lock (_gate)
        {
            if (_closed)
                return;
            _peerGone = true;
            // Every parked waiter has seen all there is: nothing past its lastSeen is left to report.
            failed = DetachWhere(ulong.MaxValue, all: true);
        }
        Fail(failed, static c => new PeerClosedException(c));
    }

    private void Cancel(Waiter waiter, CancellationToken token)
    {
        lock (_gate)
        {
            // A stale callback (the waiter completed and was reused with another token) does nothing.
            if (!waiter.Linked || waiter.Token != token)
                return;
            Unlink(waiter);
        }
        waiter.SetException(new OperationCanceledException(token));
    }

    private void Fail(Waiter? chain, Func<Channel, Exception> error)
    {
        while (chain is not null)
        {
            var next = chain.Next;
            chain.Next = null;
            chain.Registration.Unregister();
            chain.SetException(error(Channel));
            chain = next;
        }
    }

    // Moves the waiters that the counter has passed (or all) to a chain of their own. Under the lock.
    private Waiter? DetachWhere(ulong counter, bool all = false)
    {
        Waiter? ready = null;
        ref var link = ref _waiters;
        while (link is not null)
        {
            var w = link;
            if (all || w.LastSeen < counter)
            {
                link = w.Next;
                w.Linked = false;
                w.Next = ready;
                ready = w;
            }
            else
            {
                link = ref w.Next;
            }
        }
        return ready;
    }

    private void Unlink(Waiter waiter)
    {
        ref var link = ref _waiters;
        while (link is not null)
        {
            if (link == waiter)
            {
                link = waiter.Next;
                waiter.Next = null;
                waiter.Linked = false;
                return;
            }
            link = ref link.Next;
        }
    }
}
