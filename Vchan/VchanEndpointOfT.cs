using System.Diagnostics;
using System.Runtime.CompilerServices;
using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

/// <summary>
/// A vchan end over the event-channel backend <typeparamref name="TEvents"/> and the grant backend
/// <typeparamref name="TMemory"/>; with struct backends the JIT specialises the whole data path.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant backend.</typeparam>
public sealed class VchanEndpoint<TEvents, TMemory> : VchanEndpoint
    where TEvents : IEvents
    where TMemory : IMemory
{
    // Struct backends wrap a reference to their state, so a readonly copy is the same backend.
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly Channel _channel;
    private readonly bool _isServer;
    private readonly ushort _remoteDomain;
    private readonly VchanRendezvous _rendezvous;
    private readonly int _leftOrder, _rightOrder;

    // The pages: the control page, then each paged ring (null for in-page rings).
    private readonly PageBuffer _control;
    private readonly PageBuffer? _leftPages, _rightPages;

    private readonly unsafe VchanControlPage* _page;
    private readonly unsafe VchanRingShared* _readShared, _writeShared;
    private readonly unsafe byte* _readRing, _writeRing;
    private readonly uint _readSize, _writeSize;

    // Our own indices live here and are only copied out: the peer can scribble on the shared page,
    // but it cannot make us index outside a ring.
    private uint _readCons, _writeProd;

    private EventCounter _readSeen, _writeSeen, _connectSeen;
    private volatile bool _peerGone;
    private volatile string? _protocolError;

    // One lease for the owner plus one per operation in flight: the pages are released when the last
    // one ends, so a read racing a close never touches unmapped memory.
    private int _leases = 1;
    private volatile bool _closed;
    private int _released;

    private unsafe VchanEndpoint(TEvents events, TMemory memory, Channel channel, bool isServer, ushort remoteDomain, VchanRendezvous rendezvous,
        int leftOrder, int rightOrder, PageBuffer control, PageBuffer? leftPages, PageBuffer? rightPages)
    {
        _events = events;
        _memory = memory;
        _channel = channel;
        _isServer = isServer;
        _remoteDomain = remoteDomain;
        _rendezvous = rendezvous;
        _leftOrder = leftOrder;
        _rightOrder = rightOrder;
        _control = control;
        _leftPages = leftPages;
        _rightPages = rightPages;
        _page = (VchanControlPage*)control.Pointer;
        var left = RingPointer(control, leftOrder, leftPages);
        var right = RingPointer(control, rightOrder, rightPages);
        uint leftSize = (uint)VchanOrders.RingSize(leftOrder), rightSize = (uint)VchanOrders.RingSize(rightOrder);
        _readShared = isServer ? &_page->Left : &_page->Right;
        _writeShared = isServer ? &_page->Right : &_page->Left;
        _readRing = isServer ? left : right;
        _writeRing = isServer ? right : left;
        _readSize = isServer ? leftSize : rightSize;
        _writeSize = isServer ? rightSize : leftSize;
    }

    private static unsafe byte* RingPointer(PageBuffer control, int order, PageBuffer? pages)
    {
        if (order < VchanOrders.FirstPaged)
            return control.Pointer + VchanOrders.InPageOffset(order);
        Debug.Assert(pages is not null && pages.Length >= VchanOrders.RingSize(order));
        return pages.Pointer;
    }

    internal static unsafe VchanEndpoint<TEvents, TMemory> Listen(TEvents events, TMemory memory, ushort clientDomain, int leftMin, int rightMin)
    {
        var (leftOrder, rightOrder) = VchanOrders.Choose(leftMin, rightMin);
        var (port, channel) = events.Listen(clientDomain);
        Share? control = null, left = null, right = null;
        try
        {
            // If this process dies, the client sees srv_live cleared and an event.
            control = memory.Share(clientDomain, 1, writable: true,
                UnmapNotify.ClearByteAndSendEvent(VchanControlPage.SrvLiveOffset, channel.LocalPort.Value));
            var page = (VchanControlPage*)control.Pointer;
            control.Span.Clear();
            page->LeftOrder = (ushort)leftOrder;
            page->RightOrder = (ushort)rightOrder;
            page->CliLive = VchanControlPage.LiveWaiting;
            page->SrvLive = VchanControlPage.LiveConnected;
            // The client's first write wakes us.
            page->CliNotify = VchanControlPage.NotifyWrite;
            var grants = (uint*)((byte*)page + VchanControlPage.GrantsOffset);
            if (VchanOrders.PageCount(leftOrder) is var leftPages and > 0)
            {
                left = memory.Share(clientDomain, leftPages, writable: true);
                for (var i = 0; i < leftPages; i++)
                    grants[i] = left.Refs[i].Value;
                grants += leftPages;
            }
            if (VchanOrders.PageCount(rightOrder) is var rightPages and > 0)
            {
                right = memory.Share(clientDomain, rightPages, writable: true);
                for (var i = 0; i < rightPages; i++)
                    grants[i] = right.Refs[i].Value;
            }
            Interlocked.MemoryBarrier();
            return new VchanEndpoint<TEvents, TMemory>(events, memory, channel, isServer: true, clientDomain,
                new VchanRendezvous(control.Refs[0], port), leftOrder, rightOrder, control, left, right);
        }
        catch
        {
            if (right is not null)
                memory.Unshare(right);
            if (left is not null)
                memory.Unshare(left);
            if (control is not null)
                memory.Unshare(control);
            events.Close(channel);
            throw;
        }
    }

    internal static unsafe VchanEndpoint<TEvents, TMemory> Connect(TEvents events, TMemory memory, ushort serverDomain, VchanRendezvous rendezvous)
    {
        var channel = events.Connect(serverDomain, rendezvous.EventChannel);
        Mapping? control = null, left = null, right = null;
        try
        {
            // If this process dies, the server sees cli_live cleared and an event.
            control = memory.Map(serverDomain, rendezvous.ControlPage, writable: true,
                UnmapNotify.ClearByteAndSendEvent(VchanControlPage.CliLiveOffset, channel.LocalPort.Value));
            var page = (VchanControlPage*)control.Pointer;
            // Read each order once and check the copy: the server may change the page under us.
            int leftOrder = Volatile.Read(ref page->LeftOrder), rightOrder = Volatile.Read(ref page->RightOrder);
            VchanOrders.Validate(leftOrder, rightOrder);
            int leftCount = VchanOrders.PageCount(leftOrder), rightCount = VchanOrders.PageCount(rightOrder);
            var grants = new ReadOnlySpan<uint>((byte*)page + VchanControlPage.GrantsOffset, leftCount + rightCount).ToArray();
            if (leftCount > 0)
                left = memory.MapMany(serverDomain, ToRefs(grants.AsSpan(0, leftCount)), writable: true);
            if (rightCount > 0)
                right = memory.MapMany(serverDomain, ToRefs(grants.AsSpan(leftCount, rightCount)), writable: false);
            CheckMapped(left, leftOrder);
            CheckMapped(right, rightOrder);
            var endpoint = new VchanEndpoint<TEvents, TMemory>(events, memory, channel, isServer: false, serverDomain, rendezvous,
                leftOrder, rightOrder, control, left, right);
            // Our indices start where the server left them: it may have written before we came.
            endpoint._readCons = Volatile.Read(ref page->Right.Cons);
            endpoint._writeProd = Volatile.Read(ref page->Left.Prod);
            endpoint.CheckIndicesAtConnect();
            Volatile.Write(ref page->SrvNotify, VchanControlPage.NotifyWrite);
            Volatile.Write(ref page->CliLive, VchanControlPage.LiveConnected);
            Interlocked.MemoryBarrier();
            endpoint.SendEvent();
            return endpoint;
        }
        catch
        {
            if (right is not null)
                memory.Unmap(right);
            if (left is not null)
                memory.Unmap(left);
            if (control is not null)
                memory.Unmap(control);
            events.Close(channel);
            throw;
        }
    }

    private static GrantRef[] ToRefs(ReadOnlySpan<uint> values)
    {
        var refs = new GrantRef[values.Length];
        for (var i = 0; i < values.Length; i++)
            refs[i] = new GrantRef(values[i]);
        return refs;
    }

    private static void CheckMapped(Mapping? mapping, int order)
    {
        if (mapping is not null && mapping.Length < VchanOrders.RingSize(order))
            throw new VchanProtocolException($"The ring of order {order} mapped only {mapping.Length} bytes.");
    }

    private unsafe void CheckIndicesAtConnect()
    {
        var written = _writeProd - Volatile.Read(ref _writeShared->Cons);
        if (written > _writeSize)
            ProtocolError($"the client-to-server ring claims {written} bytes in flight, more than its {_writeSize}");
    }

    /// <inheritdoc />
    public override bool IsServer => _isServer;

    /// <inheritdoc />
    public override ushort RemoteDomain => _remoteDomain;

    /// <inheritdoc />
    public override VchanRendezvous Rendezvous => _rendezvous;

    /// <inheritdoc />
    public override int LeftOrder => _leftOrder;

    /// <inheritdoc />
    public override int RightOrder => _rightOrder;

    /// <summary>The control page, for tests that play a hostile peer.</summary>
    internal PageBuffer ControlPage => _control;

    /// <summary>Sends the peer an event, for tests that play a hostile peer.</summary>
    internal void KickPeer() => SendEvent();

    /// <summary>The event channel this end is bound to.</summary>
    public Channel Channel => _channel;

    /// <inheritdoc />
    public override VchanState State
    {
        get
        {
            if (_closed)
                return VchanState.Closed;
            Enter();
            try
            {
                if (_peerGone)
                    return VchanState.Closed;
                return PeerLive() switch
                {
                    VchanControlPage.LiveExited => VchanState.Closed,
                    VchanControlPage.LiveWaiting when _isServer => VchanState.Waiting,
                    _ => VchanState.Connected,
                };
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public override int DataReady
    {
        get
        {
            Enter();
            try
            {
                RequestNotify(VchanControlPage.NotifyWrite);
                return (int)RawDataReady();
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public override int BufferSpace
    {
        get
        {
            Enter();
            try
            {
                RequestNotify(VchanControlPage.NotifyRead);
                return (int)RawBufferSpace();
            }
            finally
            {
                Exit();
            }
        }
    }

    // ---- reading ----

    /// <inheritdoc />
    public override int TryRead(Span<byte> buffer)
    {
        Enter();
        try
        {
            return ReadCore(buffer);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        Enter();
        try
        {
            while (true)
            {
                var n = ReadOrPrepareWait(buffer, out var seen);
                if (n >= 0)
                    return n;
                _readSeen = WaitForEvent(seen);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<int>(cancellationToken);
        Enter();
        try
        {
            var n = ReadOrPrepareWait(buffer.Span, out var seen);
            if (n >= 0)
            {
                Exit();
                return new ValueTask<int>(n);
            }
            return ReadWaitingAsync(buffer, seen, cancellationToken);
        }
        catch
        {
            Exit();
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadWaitingAsync(Memory<byte> buffer, EventCounter seen, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                _readSeen = await WaitForEventAsync(seen, cancellationToken).ConfigureAwait(false);
                var n = ReadOrPrepareWait(buffer.Span, out seen);
                if (n >= 0)
                    return n;
            }
        }
        finally
        {
            Exit();
        }
    }

    // Returns the bytes read, 0 at the end of the stream, or -1 when the caller must wait for an
    // event past `seen` (taken before the last look at the ring, so no event is missed).
    private int ReadOrPrepareWait(Span<byte> buffer, out EventCounter seen)
    {
        ThrowIfClosed();
        seen = _readSeen;
        if (buffer.IsEmpty)
            return 0;
        var n = ReadCore(buffer);
        if (n > 0)
            return n;
        SpinUntil(reading: true);
        n = ReadCore(buffer);
        if (n > 0)
            return n;
        RequestNotify(VchanControlPage.NotifyWrite);
        n = ReadCore(buffer);
        if (n > 0)
            return n;
        if (PeerClosed())
            return ReadCore(buffer); // the peer's last bytes may have landed just before it left
        return -1;
    }

    private unsafe int ReadCore(Span<byte> buffer)
    {
        var ready = RawDataReady();
        var n = (uint)Math.Min(ready, (uint)buffer.Length);
        if (n == 0)
            return 0;
        var at = _readCons & (_readSize - 1);
        var first = Math.Min(n, _readSize - at);
        new ReadOnlySpan<byte>(_readRing + at, (int)first).CopyTo(buffer);
        if (first < n)
            new ReadOnlySpan<byte>(_readRing, (int)(n - first)).CopyTo(buffer[(int)first..]);
        // Release: the copy completes before the peer can see the space as free.
        _readCons += n;
        Volatile.Write(ref _readShared->Cons, _readCons);
        SendNotify(VchanControlPage.NotifyRead);
        return (int)n;
    }

    private unsafe uint RawDataReady()
    {
        // Acquire: the bytes are read only after the index that covers them.
        var ready = Volatile.Read(ref _readShared->Prod) - _readCons;
        if (ready > _readSize)
            ProtocolError($"the peer's producer index claims {ready} bytes ready in a ring of {_readSize}");
        return ready;
    }

    // ---- writing ----

    /// <inheritdoc />
    public override int TryWrite(ReadOnlySpan<byte> data)
    {
        Enter();
        try
        {
            ThrowIfPeerClosed();
            return WriteCore(data);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> data)
    {
        Enter();
        try
        {
            while (!data.IsEmpty)
            {
                var n = WriteOrPrepareWait(data, out var seen);
                if (n > 0)
                    data = data[n..];
                else
                    _writeSeen = WaitForEvent(seen);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        Enter();
        try
        {
            while (!data.IsEmpty)
            {
                var n = WriteOrPrepareWait(data.Span, out var seen);
                if (n == 0)
                    return WriteWaitingAsync(data, seen, cancellationToken);
                data = data[n..];
            }
        }
        catch
        {
            Exit();
            throw;
        }
        Exit();
        return ValueTask.CompletedTask;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteWaitingAsync(ReadOnlyMemory<byte> data, EventCounter seen, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                _writeSeen = await WaitForEventAsync(seen, cancellationToken).ConfigureAwait(false);
                int n;
                while ((n = WriteOrPrepareWait(data.Span, out seen)) > 0)
                {
                    data = data[n..];
                    if (data.IsEmpty)
                        return;
                }
            }
        }
        finally
        {
            Exit();
        }
    }

    // Returns the bytes written, or 0 when the caller must wait for an event past `seen`.
    private int WriteOrPrepareWait(ReadOnlySpan<byte> data, out EventCounter seen)
    {
        ThrowIfClosed();
        seen = _writeSeen;
        ThrowIfPeerClosed();
        var n = WriteCore(data);
        if (n > 0)
            return n;
        SpinUntil(reading: false);
        ThrowIfPeerClosed();
        n = WriteCore(data);
        if (n > 0)
            return n;
        RequestNotify(VchanControlPage.NotifyRead);
        n = WriteCore(data);
        if (n > 0)
            return n;
        ThrowIfPeerClosed();
        return 0;
    }

    private unsafe int WriteCore(ReadOnlySpan<byte> data)
    {
        var space = RawBufferSpace();
        var n = (uint)Math.Min(space, (uint)data.Length);
        if (n == 0)
            return 0;
        var at = _writeProd & (_writeSize - 1);
        var first = Math.Min(n, _writeSize - at);
        data[..(int)first].CopyTo(new Span<byte>(_writeRing + at, (int)first));
        if (first < n)
            data[(int)first..(int)n].CopyTo(new Span<byte>(_writeRing, (int)(n - first)));
        // Release: the bytes are in the ring before the index that covers them.
        _writeProd += n;
        Volatile.Write(ref _writeShared->Prod, _writeProd);
        SendNotify(VchanControlPage.NotifyWrite);
        return (int)n;
    }

    private unsafe uint RawBufferSpace()
    {
        var used = _writeProd - Volatile.Read(ref _writeShared->Cons);
        if (used > _writeSize)
            ProtocolError($"the peer's consumer index leaves {(int)used} bytes in flight in a ring of {_writeSize}");
        return _writeSize - used;
    }

    // ---- waiting ----

    /// <inheritdoc />
    public override async ValueTask WaitForConnectionAsync(CancellationToken cancellationToken = default)
    {
        Enter();
        try
        {
            while (true)
            {
                var seen = _connectSeen;
                if (!_isServer || _closed || PeerClosed() || PeerLive() != VchanControlPage.LiveWaiting)
                    return;
                _connectSeen = await WaitForEventAsync(seen, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Exit();
        }
    }

    // Spins briefly while nothing can happen: a peer on another CPU usually answers within
    // microseconds, far sooner than an event would wake us.
    private void SpinUntil(bool reading)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
        var spinner = new SpinWait();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_closed || _peerGone || PeerLive() == VchanControlPage.LiveExited)
                return;
            if (reading ? RawDataReady() > 0 : RawBufferSpace() > 0)
                return;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private EventCounter WaitForEvent(EventCounter seen)
    {
        var wait = WaitForEventAsync(seen, CancellationToken.None);
        return wait.IsCompleted ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<EventCounter> WaitForEventAsync(EventCounter seen, CancellationToken cancellationToken)
    {
        try
        {
            return await _events.RecvAsync(_channel, seen, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerClosedException)
        {
            _peerGone = true;
            return seen;
        }
        catch (ChannelClosedException) when (_closed)
        {
            throw new ObjectDisposedException(GetType().Name, "The vchan was closed while waiting.");
        }
    }

    // ---- notifications ----

    // Ask the peer to send an event on its next write (or read): the bit goes into the peer's byte.
    private unsafe void RequestNotify(byte bit)
    {
        ref var notify = ref _isServer ? ref _page->CliNotify : ref _page->SrvNotify;
        var old = Volatile.Read(ref notify);
        while ((old & bit) == 0)
        {
            var seen = Interlocked.CompareExchange(ref notify, (byte)(old | bit), old);
            if (seen == old)
                break;
            old = seen;
        }
        // Post the request before the caller looks at the indices again.
        Interlocked.MemoryBarrier();
    }

    // After moving an index: if the peer asked for this bit in our byte, clear it and send an event.
    private unsafe void SendNotify(byte bit)
    {
        // The index store must be visible before we look at the request.
        Interlocked.MemoryBarrier();
        ref var notify = ref _isServer ? ref _page->SrvNotify : ref _page->CliNotify;
        var old = Volatile.Read(ref notify);
        while ((old & bit) != 0)
        {
            var seen = Interlocked.CompareExchange(ref notify, (byte)(old & ~bit), old);
            if (seen == old)
            {
                SendEvent();
                return;
            }
            old = seen;
        }
    }

    private void SendEvent()
    {
        try
        {
            _events.Send(_channel);
        }
        catch (PeerClosedException)
        {
            _peerGone = true;
        }
    }

    // ---- liveness and errors ----

    private unsafe byte PeerLive()
    {
        var live = Volatile.Read(ref _isServer ? ref _page->CliLive : ref _page->SrvLive);
        if (live > VchanControlPage.LiveWaiting)
            ProtocolError($"the peer's live byte holds {live}, which means nothing");
        return live;
    }

    private bool PeerClosed() => _peerGone || PeerLive() == VchanControlPage.LiveExited;

    private void ThrowIfPeerClosed()
    {
        if (PeerClosed())
            ThrowPeerClosed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowPeerClosed() => throw new IOException("The vchan's peer has closed or died; nothing more can be written.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ProtocolError(string what)
    {
        _protocolError ??= what;
        throw new VchanProtocolException($"Vchan protocol error from domain {_remoteDomain}: {what}.");
    }

    private void Enter()
    {
        Interlocked.Increment(ref _leases);
        if (_closed)
        {
            Exit();
            ThrowClosed();
        }
        if (_protocolError is { } error)
        {
            Exit();
            throw new VchanProtocolException($"Vchan protocol error from domain {_remoteDomain}: {error}.");
        }
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _leases) == 0)
            Release();
    }

    private void ThrowIfClosed()
    {
        if (_closed)
            ThrowClosed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowClosed() => throw new ObjectDisposedException(GetType().Name, "This vchan end is closed.");

    /// <inheritdoc />
    protected override unsafe void Dispose(bool disposing)
    {
        if (_closed)
            return;
        lock (_control)
        {
            if (_closed)
                return;
            _closed = true;
        }
        // Our live byte goes to 0 and the peer hears of it; it can still read what we wrote.
        Volatile.Write(ref _isServer ? ref _page->SrvLive : ref _page->CliLive, VchanControlPage.LiveExited);
        Interlocked.MemoryBarrier();
        try
        {
            _events.Send(_channel);
        }
        catch (EventChannelException)
        {
            // The peer is gone already; nobody to tell.
        }
        // Wakes our own waiters, which then let go of their leases; once the last has, the pages go.
        _events.Close(_channel);
        Exit();
        var spinner = new SpinWait();
        var patience = Stopwatch.StartNew();
        while (Volatile.Read(ref _leases) > 0 && patience.Elapsed < DrainTimeout)
            spinner.SpinOnce();
    }

    // How long a close waits for operations in flight to notice it, so that the pages are gone
    // when Dispose returns.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        foreach (var pages in (ReadOnlySpan<PageBuffer?>)[_rightPages, _leftPages, _control])
        {
            if (pages is Share share)
                _memory.Unshare(share);
            else if (pages is Mapping mapping)
                _memory.Unmap(mapping);
        }
    }
}
