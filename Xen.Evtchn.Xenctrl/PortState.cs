namespace Xen.Evtchn.Xenctrl;

/// <summary>
/// One bound port's side of the dispatch: its event counter and the receivers waiting for it to move.
/// The reader thread calls <see cref="Fire"/>; receivers call <see cref="WaitAsync"/>.
/// </summary>
internal sealed class PortState
{
    private readonly List<Waiter> _waiters = [];
    private ulong _count;
    private Exception? _closed;
    private Waiter? _spare;

    internal PortState(Channel channel) => Channel = channel;

    /// <summary>The channel bound to this port.</summary>
    internal Channel Channel { get; }

    /// <summary>The counter now.</summary>
    internal EventCounter Counter => new(Volatile.Read(ref _count));

    /// <summary>Whether <see cref="Close"/> has run.</summary>
    internal bool IsClosed => Volatile.Read(ref _closed) is not null;

    /// <summary>The port fired once: count it and wake every receiver whose last-seen value it passes.</summary>
    internal void Fire()
    {
        var now = Interlocked.Increment(ref _count);
        lock (_waiters)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var waiter = _waiters[i];
                if (waiter.LastSeen.Value < now)
                {
                    _waiters.RemoveAt(i);
                    waiter.Complete(new EventCounter(now));
                }
            }
        }
    }

    /// <summary>Completes at once if the counter has passed <paramref name="lastSeen"/>, else when it does.</summary>
    internal ValueTask<EventCounter> WaitAsync(EventCounter lastSeen, CancellationToken cancellationToken)
    {
        var now = Volatile.Read(ref _count);
        if (now > lastSeen.Value)
            return new ValueTask<EventCounter>(new EventCounter(now));
        if (Volatile.Read(ref _closed) is { } closed)
            return ValueTask.FromException<EventCounter>(closed);
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<EventCounter>(cancellationToken);

        var waiter = Interlocked.Exchange(ref _spare, null) ?? new Waiter(this);
        waiter.Prepare(lastSeen, cancellationToken);
        lock (_waiters)
        {
            // Checked again under the lock: Fire counts before it takes the lock, so a receiver that gets
            // here first is seen by it, and one that gets here later sees the new count.
            now = Volatile.Read(ref _count);
            if (now > lastSeen.Value)
            {
                waiter.Abandon();
                return new ValueTask<EventCounter>(new EventCounter(now));
            }
            if (_closed is { } closedNow)
            {
                waiter.Abandon();
                return ValueTask.FromException<EventCounter>(closedNow);
            }
            if (cancellationToken.IsCancellationRequested)
            {
                waiter.Abandon();
                return ValueTask.FromCanceled<EventCounter>(cancellationToken);
            }
            _waiters.Add(waiter);
        }
        return waiter.AsValueTask();
    }

    /// <summary>Ends the port: every receiver, now and later, fails with <paramref name="error"/>. The first call wins.</summary>
    internal void Close(Exception error)
    {
        lock (_waiters)
        {
            if (_closed is not null)
                return;
            Volatile.Write(ref _closed, error);
            foreach (var waiter in _waiters)
                waiter.Fail(error);
            _waiters.Clear();
        }
    }

    /// <summary>A waiter's token was cancelled: drop it, if it is still waiting.</summary>
    internal bool TryRemove(Waiter waiter)
    {
        lock (_waiters)
            return _waiters.Remove(waiter);
    }

    /// <summary>Keeps a finished waiter for the next wait, so that a steady receiver allocates nothing.</summary>
    internal void Return(Waiter waiter) => Volatile.Write(ref _spare, waiter);
}
