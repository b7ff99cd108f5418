using System.Runtime.CompilerServices;
using Xen.Evtchn;

namespace Vchan;

// Waiting for the peer: a short spin on the ring, then the event channel.
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private EventCounter _connectSeen;

    // Spins briefly while nothing can happen: a peer on another CPU usually answers within
    // microseconds, far sooner than an event would wake us.
    private void SpinUntil(bool reading)
    {
        if (SpinTime <= TimeSpan.Zero)
            return;
        var spin = new BoundedSpin(SpinTime);
        do
        {
            if (_closed || _peerGone || PeerLive() == VchanControlPage.LiveExited)
                return;
            if (reading ? ReadyToRead() > 0 : FreeToWrite() > 0)
                return;
        }
        while (spin.Continue());
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
}
