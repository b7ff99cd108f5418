namespace Xen.Evtchn.Xen;

/// <summary>
/// One bound port as the guest sees it: the event counter that upcalls advance, and the tasks
/// waiting for it to pass a value.
/// </summary>
internal sealed class PortState
{
    private readonly List<Waiter> _waiters = [];
    private ulong _counter;
    private int _waiterCount;
    private int _connected;
    private int _peerClosed;
    private Exception? _closed;

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

    public bool HasWaiters => Volatile.Read(ref _waiterCount) != 0;

    public void MarkConnected() => Volatile.Write(ref _connected, 1);

    /// <summary>Counts one event (the upcall found the port pending) and wakes the waiters it satisfies.</summary>
    public void Signal()
    {
        // Interlocked: a full fence, so the waiter count read below is not hoisted above the increment;
        // WaitAsync registers then re-reads the counter, so one of the two sides always sees the other.
        var now = Interlocked.Increment(ref _counter);
        Volatile.Write(ref _connected, 1);
        if (Volatile.Read(ref _waiterCount) != 0)
            Wake(now);
    }

    public ValueTask<EventCounter> WaitAsync(EventCounter lastSeen, CancellationToken cancellationToken)
    {
        var waiter = new Waiter(this, lastSeen.Value);
        lock (_waiters)
        {
            if (_closed is { } closed)
                return ValueTask.FromException<EventCounter>(closed);
            _waiters.Add(waiter);
            Interlocked.Increment(ref _waiterCount);
        }
        // Re-check after registering: an event counted between the caller's check and the
        // registration would otherwise be missed.
        var now = Counter;
        if (now > lastSeen.Value)
            Wake(now);
        else if (PeerClosed)
            OnPeerClosed(null);
        if (cancellationToken.CanBeCanceled)
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter);
        return new ValueTask<EventCounter>(waiter.Task);
    }

    /// <summary>The peer went away: waiters with an event left to report get it, the rest fail.</summary>
    public void OnPeerClosed(string? detail)
    {
        Volatile.Write(ref _peerClosed, 1);
        var now = Counter;
        foreach (var waiter in TakeWaiters(static (w, _) => true, 0) ?? Enumerable.Empty<Waiter>())
        {
            if (now > waiter.LastSeen)
                waiter.Complete(now);
            else
                waiter.Fail(new PeerClosedException(Channel, detail));
        }
    }

    /// <summary>The channel was closed locally: every waiter fails, and later waits fail at once.</summary>
    public void OnClosed()
    {
        var error = new ChannelClosedException(Channel);
        lock (_waiters)
            _closed ??= error;
        foreach (var waiter in TakeWaiters(static (w, _) => true, 0) ?? Enumerable.Empty<Waiter>())
            waiter.Fail(error);
    }

    private void Wake(ulong now)
    {
        if (TakeWaiters(static (w, now) => now > w.LastSeen, now) is { } taken)
        {
            foreach (var waiter in taken)
                waiter.Complete(now);
        }
    }

    /// <summary>Removes the waiters <paramref name="which"/> selects; null when there are none, so that
    /// a wake-up with nobody to wake allocates nothing.</summary>
    private List<Waiter>? TakeWaiters(Func<Waiter, ulong, bool> which, ulong now)
    {
        List<Waiter>? taken = null;
        lock (_waiters)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (which(_waiters[i], now))
                {
                    (taken ??= []).Add(_waiters[i]);
                    _waiters.RemoveAt(i);
                }
            }
            Volatile.Write(ref _waiterCount, _waiters.Count);
        }
        return taken;
    }

    private bool Remove(Waiter waiter)
    {
        lock (_waiters)
        {
            var removed = _waiters.Remove(waiter);
            Volatile.Write(ref _waiterCount, _waiters.Count);
            return removed;
        }
    }

    private sealed class Waiter(PortState port, ulong lastSeen)
        : TaskCompletionSource<EventCounter>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ulong LastSeen { get; } = lastSeen;

        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(ulong counter)
        {
            Registration.Dispose();
            TrySetResult(new EventCounter(counter));
        }

        public void Fail(Exception error)
        {
            Registration.Dispose();
            TrySetException(error);
        }

        public void Cancel(CancellationToken token)
        {
            if (port.Remove(this))
                TrySetCanceled(token);
        }
    }
}
