using System.Diagnostics;
using System.Runtime.CompilerServices;
using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

// Leases and the close: one lease for the owner plus one per operation in flight; the pages are
// released when the last one ends, so a read racing a close never touches unmapped memory.
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private int _leases = 1;
    private volatile bool _closed;
    private int _released;

    // How long a close waits for operations in flight to notice it, so that the pages are gone
    // when Dispose returns.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

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
            throw ProtocolException(error);
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
        _meter.Dispose();
        Log.Closed(_logger, Side, _remoteDomain, Volatile.Read(ref _counters.BytesRead), Volatile.Read(ref _counters.BytesWritten));
    }

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
