namespace Xen.Evtchn.Xenctrl;

/// <summary>
/// One bound port's side of the dispatch: its event counter and the receivers waiting for it to move.
/// The reader thread calls <see cref="Fire"/>; receivers call <see cref="WaitAsync"/>.
/// </summary>
internal sealed class PortState
{
    private readonly EventWaiter _waiters = new();
    private ulong _count;
    private Exception? _closed;

    internal PortState(Channel channel) => Channel = channel;

    /// <summary>The channel bound to this port.</summary>
    internal Channel Channel { get; }

    /// <summary>The counter now.</summary>
    internal EventCounter Counter => new(Volatile.Read(ref _count));

    /// <summary>Whether <see cref="Close"/> has run.</summary>
    internal bool IsClosed => Volatile.Read(ref _closed) is not null;

    /// <summary>Receivers parked on the port now.</summary>
    internal int WaiterCount => _waiters.Count;

    /// <summary>The port fired once: count it and wake every receiver whose last-seen value it passes.</summary>
    internal void Fire() => _waiters.Wake(new EventCounter(Interlocked.Increment(ref _count)));

    /// <summary>Completes at once if the counter has passed <paramref name="lastSeen"/>, else when it does.</summary>
    internal ValueTask<EventCounter> WaitAsync(EventCounter lastSeen, CancellationToken cancellationToken)
    {
        var now = Volatile.Read(ref _count);
        if (now > lastSeen.Value)
            return new ValueTask<EventCounter>(new EventCounter(now));
        if (Volatile.Read(ref _closed) is { } closed)
            return ValueTask.FromException<EventCounter>(closed);
        var wait = _waiters.WaitAsync(lastSeen, cancellationToken);
        // Fire counts before it wakes: a receiver parked first is woken by it, one parked later sees the count.
        now = Volatile.Read(ref _count);
        if (now > lastSeen.Value)
            _waiters.Wake(new EventCounter(now));
        return wait;
    }

    /// <summary>Ends the port: every receiver, now and later, fails with <paramref name="error"/>. The first call wins.</summary>
    internal void Close(Exception error)
    {
        if (Interlocked.CompareExchange(ref _closed, error, null) is null)
            _waiters.Close(error);
    }
}
