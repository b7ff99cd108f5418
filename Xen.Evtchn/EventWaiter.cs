namespace Xen.Evtchn;

/// <summary>
/// The receivers parked on one port: each waits for the port's counter to move past the value it last
/// saw. Every backend's <see cref="IEvents.RecvAsync"/> parks here; no backend has a waiter of its own.
/// </summary>
/// <remarks>
/// <para><b>Waking.</b> The backend owns the counter. A sender counts the event with a full fence
/// (an <see cref="Interlocked"/> operation) and then calls <see cref="Wake"/>. A receiver that found the
/// counter not yet past its value calls <see cref="WaitAsync"/>, then reads the counter again and calls
/// <see cref="Wake"/> itself if it moved. Parking ends in a full fence too, so one of the two always sees
/// the other: a wake-up that comes before the wait is never lost.</para>
/// <para><b>Cancellation and reuse: one rule.</b> A wait completes exactly once, by whichever takes it off
/// the list first: <see cref="Wake"/> (with the counter), <see cref="Close"/> (with the error), or its
/// token (with <see cref="OperationCanceledException"/>). Cancellation unregisters the wait; a wake or a
/// close disposes the token registration before it publishes the result, so no callback outlives the
/// wait. The object behind the returned <see cref="ValueTask{TResult}"/> is pooled: it goes back to the
/// pool when the caller consumes the result, and only then; so a steady receiver allocates nothing, and
/// the returned task must be awaited (or its result read) exactly once, as every value task must.</para>
/// <para>Completions run outside the list's lock. Continuations run asynchronously unless the backend
/// asks for them inline (a dedicated thread that runs receivers itself).</para>
/// </remarks>
public sealed partial class EventWaiter
{
    // Enough for the usual concurrent receivers on one port (a vchan reader and writer, a ring's
    // two directions); more are allocated and left to the collector.
    private const int MaxSpares = 4;

    private readonly Lock _gate = new();
    private readonly bool _runContinuationsAsynchronously;
    private Pending? _parked;
    private Pending? _spares;
    private int _spareCount;
    private int _count;
    private Exception? _closed;
    private ulong _finalCounter;

    /// <summary>Creates an empty list.</summary>
    /// <param name="runContinuationsAsynchronously">False only for a backend whose own thread completes
    /// waits and may run the receivers' continuations inline.</param>
    public EventWaiter(bool runContinuationsAsynchronously = true) =>
        _runContinuationsAsynchronously = runContinuationsAsynchronously;

    /// <summary>How many receivers are parked now. Tests use it to know that a receiver is asleep.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Parks a receiver until the counter moves past <paramref name="lastSeen"/>. After <see cref="Close"/>
    /// it completes at once: with the final counter if that is past <paramref name="lastSeen"/>, else with
    /// the close's error. The caller must read its counter again after this returns (see the remarks).
    /// </summary>
    public ValueTask<EventCounter> WaitAsync(EventCounter lastSeen, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<EventCounter>(cancellationToken);
        Pending wait;
        lock (_gate)
        {
            if (_closed is { } error)
            {
                return _finalCounter > lastSeen.Value
                    ? new ValueTask<EventCounter>(new EventCounter(_finalCounter))
                    : ValueTask.FromException<EventCounter>(error);
            }
            wait = TakeSpare() ?? new Pending(this, _runContinuationsAsynchronously);
            wait.LastSeen = lastSeen.Value;
            wait.Next = _parked;
            wait.Linked = true;
            _parked = wait;
            // A full fence: the caller's second read of its counter cannot move above the parking.
            Interlocked.Increment(ref _count);
            // Registered under the lock, so a wake that finds the wait also finds its registration. A token
            // cancelled meanwhile runs the callback here, re-entering the lock, before anyone awaits.
            if (cancellationToken.CanBeCanceled)
                wait.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Pending)state!).Owner.Cancel((Pending)state, token), wait);
        }
        return new ValueTask<EventCounter>(wait, wait.Version);
    }

    /// <summary>The counter is now <paramref name="counter"/>: completes every wait it has passed.</summary>
    public void Wake(EventCounter counter)
    {
        // Nobody parked: the receiver that parks next reads the counter again and sees this event.
        if (Volatile.Read(ref _count) == 0)
            return;
        Pending? ready;
        lock (_gate)
            ready = Detach(counter.Value, all: false);
        while (ready is not null)
        {
            var next = ready.Next;
            ready.Next = null;
            ready.Complete(counter.Value);
            ready = next;
        }
    }

    /// <summary>
    /// Ends the port: parked waits that <paramref name="finalCounter"/> has passed complete with it, the rest
    /// fail with <paramref name="error"/>, and so do later waits. The first call wins; later calls do nothing.
    /// </summary>
    /// <param name="error">What receivers see: the channel closed locally, or the peer went away.</param>
    /// <param name="finalCounter">The counter when the peer went away, so events it sent before are still
    /// reported; the default fails every wait.</param>
    public void Close(Exception error, EventCounter finalCounter = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        Pending? chain;
        lock (_gate)
        {
            if (_closed is not null)
                return;
            _closed = error;
            _finalCounter = finalCounter.Value;
            chain = Detach(0, all: true);
        }
        while (chain is not null)
        {
            var next = chain.Next;
            chain.Next = null;
            if (finalCounter.Value > chain.LastSeen)
                chain.Complete(finalCounter.Value);
            else
                chain.Fail(error);
            chain = next;
        }
    }

    private void Cancel(Pending wait, CancellationToken token)
    {
        lock (_gate)
        {
            // Already taken by a wake or a close: that completion wins.
            if (!wait.Linked)
                return;
            Unlink(wait);
        }
        wait.Cancelled(token);
    }

    private void Return(Pending wait)
    {
        lock (_gate)
        {
            if (_spareCount == MaxSpares)
                return;
            wait.Next = _spares;
            _spares = wait;
            _spareCount++;
        }
    }

    // Under the lock.
    private Pending? TakeSpare()
    {
        var spare = _spares;
        if (spare is not null)
        {
            _spares = spare.Next;
            spare.Next = null;
            _spareCount--;
        }
        return spare;
    }

    // Moves the waits the counter has passed (or all) to a chain of their own. Under the lock.
    private Pending? Detach(ulong counter, bool all)
    {
        Pending? taken = null;
        ref var link = ref _parked;
        while (link is not null)
        {
            var wait = link;
            if (all || wait.LastSeen < counter)
            {
                link = wait.Next;
                wait.Linked = false;
                wait.Next = taken;
                taken = wait;
                Interlocked.Decrement(ref _count);
            }
            else
            {
                link = ref wait.Next;
            }
        }
        return taken;
    }

    // Under the lock.
    private void Unlink(Pending wait)
    {
        ref var link = ref _parked;
        while (link is not null)
        {
            if (link == wait)
            {
                link = wait.Next;
                wait.Next = null;
                wait.Linked = false;
                Interlocked.Decrement(ref _count);
                return;
            }
            link = ref link.Next;
        }
    }
}
