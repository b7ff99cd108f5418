using System.Runtime.CompilerServices;
using SharedMemoryRing;

namespace Vchan;

// The peer's liveness and the peer's faults: a live byte that says it left, or a page that breaks
// the protocol (ring indices out of their window, a live byte that means nothing).
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private volatile bool _peerGone;
    private volatile string? _protocolError;
    private int _peerGoneLogged;

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

    private unsafe byte PeerLive()
    {
        var live = Volatile.Read(ref _isServer ? ref _page->CliLive : ref _page->SrvLive);
        if (live > VchanControlPage.LiveWaiting)
            throw Fault($"the peer's live byte holds {live}, which means nothing");
        return live;
    }

    private bool PeerClosed()
    {
        if (!_peerGone && PeerLive() != VchanControlPage.LiveExited)
            return false;
        if (Interlocked.Exchange(ref _peerGoneLogged, 1) == 0)
            Log.PeerClosed(_logger, Side, _remoteDomain);
        return true;
    }

    private void ThrowIfPeerClosed()
    {
        if (PeerClosed())
            ThrowPeerClosed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowPeerClosed() => throw new IOException("The vchan's peer has closed or died; nothing more can be written.");

    // The ring's own words for what was wrong, e.g. "The byte ring's producer index moved backwards".
    [MethodImpl(MethodImplOptions.NoInlining)]
    private VchanProtocolException Fault(RingProtocolException e) => Fault(e.Message.TrimEnd('.'), e);

    // Records the first fault (every later operation fails with it), counts and logs it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private VchanProtocolException Fault(string what, Exception? inner = null)
    {
        if (Interlocked.CompareExchange(ref _protocolError, what, null) is null)
        {
            Interlocked.Increment(ref _counters.Faults);
            Log.ProtocolFault(_logger, _remoteDomain, what);
        }
        return ProtocolException(what, inner);
    }

    private VchanProtocolException ProtocolException(string what, Exception? inner = null) =>
        new($"Vchan protocol error from domain {_remoteDomain}: {what}.", inner);
}
