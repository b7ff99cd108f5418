using System.Diagnostics;
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

    private readonly List<ChannelWaiter> _waiters = [];
    private readonly bool _runContinuationsAsynchronously;
    private ChannelWaiter? _spare;
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
        _runContinuationsAsynchronously = runContinuationsAsynchronously;
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
    public int WaiterCount
    {
        get
        {
            lock (_waiters)
                return _waiters.Count;
        }
    }

    private Xen.Evtchn.Channel Channel => new(new Port(Port));

    /// <summary>Attaches the connection: from now on sends reach the peer.</summary>
    public bool Attach(ChannelLink link)
    {
        lock (_waiters)
        {
            if (_phase != Offered)
                return false;
            _link = link;
            // Waiters that came before the peer must be woken by its first send.
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
        var added = false;
        try
        {
            link.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            ThrowIfUnusable();
            return;
        }
        try
        {
            if (Phase != Connected)
                ThrowIfUnusable();
            var page = link.Page;
            Interlocked.Increment(ref *(ulong*)(page + _peerEvents));
            // The increment is a full barrier: the peer either sees the new count before it blocks, or
            // had already said it waits, and then gets the doorbell.
            if (Volatile.Read(ref *(int*)(page + _peerWaiting)) != 0 && Interlocked.Exchange(ref *(int*)(page + _peerWaiting), 0) != 0)
            {
                byte doorbell = Handshake.Doorbell;
                // A full socket means the peer has doorbells it has not read yet: nothing is lost.
                Interop.send(link.Fd, &doorbell, 1, Interop.MSG_DONTWAIT | Interop.MSG_NOSIGNAL);
            }
        }
        finally
        {
            if (added)
                link.DangerousRelease();
        }
    }

    /// <summary>The number of notifications received; zero before the peer connects.</summary>
    private ulong ReadCounter(ChannelLink? link)
    {
        if (link is null)
            return 0;
        var added = false;
        try
        {
            link.DangerousAddRef(ref added);
            return Volatile.Read(ref *(ulong*)(link.Page + _ownEvents));
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
                link.DangerousRelease();
        }
    }

    public ValueTask<EventCounter> RecvAsync(EventCounter lastSeen, long spinTicks, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<EventCounter>(cancellationToken);
        var link = Volatile.Read(ref _link);
        var counter = ReadCounter(link);
        if (counter > lastSeen.Value)
            return new ValueTask<EventCounter>(new EventCounter(counter));
        if (Phase != Connected && Phase != Offered)
            ThrowIfUnusable();
        if (spinTicks > 0 && link is not null && TrySpin(link, lastSeen.Value, spinTicks, out counter))
            return new ValueTask<EventCounter>(new EventCounter(counter));

        var waiter = Interlocked.Exchange(ref _spare, null) ?? new ChannelWaiter(this, _runContinuationsAsynchronously);
        waiter.Start(lastSeen.Value, cancellationToken);
        if (waiter.IsCompleted)
            return new ValueTask<EventCounter>(waiter, waiter.Version); // cancelled while registering
        lock (_waiters)
        {
            if (_phase is Closed or PeerGone)
            {
                counter = ReadCounter(_link);
                if (counter > lastSeen.Value)
                    waiter.Complete(counter);
                else
                    waiter.Fail(_phase == Closed ? new ChannelClosedException(Channel) : new PeerClosedException(Channel, _goneDetail));
                return new ValueTask<EventCounter>(waiter, waiter.Version);
            }
            _waiters.Add(waiter);
            if (_link is { } attached)
            {
                Volatile.Write(ref *(int*)(attached.Page + _ownWaiting), 1);
                Interlocked.MemoryBarrier();
                counter = ReadCounter(attached);
                if (counter > lastSeen.Value)
                {
                    _waiters.Remove(waiter);
                    waiter.Complete(counter);
                }
            }
        }
        return new ValueTask<EventCounter>(waiter, waiter.Version);
    }

    private bool TrySpin(ChannelLink link, ulong lastSeen, long spinTicks, out ulong counter)
    {
        var added = false;
        try
        {
            link.DangerousAddRef(ref added);
            var events = (ulong*)(link.Page + _ownEvents);
            var until = Stopwatch.GetTimestamp() + spinTicks;
            // SpinOnce yields the core now and then, so a peer waiting for it (fewer cores than
            // runnable threads) can run and answer.
            var spinner = default(SpinWait);
            do
            {
                counter = Volatile.Read(ref *events);
                if (counter > lastSeen)
                    return true;
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            while (Stopwatch.GetTimestamp() < until);
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
                link.DangerousRelease();
        }
        counter = 0;
        return false;
    }

    /// <summary>
    /// Called by the event thread after the socket was drained: completes the waiters whose count has
    /// moved, and asks for another doorbell for the rest. <paramref name="ready"/> is the thread's scratch list.
    /// </summary>
    public void Wake(bool peerGone, string? detail, List<(ChannelWaiter Waiter, ulong Counter)> ready)
    {
        ready.Clear();
        Exception? error = null;
        lock (_waiters)
        {
            if (peerGone && _phase == Connected)
            {
                _goneDetail = detail;
                Volatile.Write(ref _phase, PeerGone);
            }
            var link = _link;
            while (true)
            {
                var counter = ReadCounter(link);
                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (counter > _waiters[i].LastSeen)
                    {
                        ready.Add((_waiters[i], counter));
                        _waiters.RemoveAt(i);
                    }
                    else if (_phase != Connected && _phase != Offered)
                    {
                        error ??= _phase == Closed ? new ChannelClosedException(Channel) : new PeerClosedException(Channel, _goneDetail);
                        ready.Add((_waiters[i], 0)); // 0: no event, the error
                        _waiters.RemoveAt(i);
                    }
                }
                if (_waiters.Count == 0 || link is null || _phase != Connected)
                    break;
                Volatile.Write(ref *(int*)(link.Page + _ownWaiting), 1);
                Interlocked.MemoryBarrier();
                if (ReadCounter(link) == counter)
                    break;
            }
        }
        foreach (var (waiter, counter) in ready)
        {
            if (counter == 0 && error is not null)
                waiter.Fail(error);
            else
                waiter.Complete(counter);
        }
        ready.Clear();
    }

    /// <summary>Closes the local end: waiters fail, the socket closes (the peer sees it), the page is unmapped.</summary>
    public ChannelLink? Close()
    {
        ChannelWaiter[] waiters;
        ChannelLink? link;
        lock (_waiters)
        {
            if (_phase == Closed)
                return null;
            Volatile.Write(ref _phase, Closed);
            waiters = [.. _waiters];
            _waiters.Clear();
            link = _link;
        }
        var error = new ChannelClosedException(Channel);
        foreach (var waiter in waiters)
            waiter.Fail(error);
        return link;
    }

    /// <summary>A cancelled waiter leaves the list.</summary>
    public void Forget(ChannelWaiter waiter)
    {
        lock (_waiters)
            _waiters.Remove(waiter);
    }

    public void Return(ChannelWaiter waiter) => Volatile.Write(ref _spare, waiter);

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
