using System.Runtime.CompilerServices;
using Xen.Evtchn;

namespace Vchan;

// Waiting for the peer: a short spin on the ring, then the event channel.
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private EventCounter _connectSeen;

    // Mutable structs, each used by one side: not readonly.
    private SpinHabit _readHabit, _writeHabit;

    // Spins briefly while nothing can happen: a peer on another CPU usually answers within
    // microseconds, far sooner than an event would wake us. A peer on our own CPU answers only once we
    // yield, and then the spin yields at once (see SpinHabit).
    private void SpinUntil(bool reading)
    {
        if (SpinTime <= TimeSpan.Zero)
            return;
        ref var habit = ref reading ? ref _readHabit : ref _writeHabit;
        var yieldAtOnce = habit.NextYieldsAtOnce();
        if (yieldAtOnce)
        {
            if (reading)
                _counters.ReadSpinsYieldingAtOnce++;
            else
                _counters.WriteSpinsYieldingAtOnce++;
        }
        var spin = new BoundedSpin(SpinTime, yieldAtOnce);
        do
        {
            if (_closed || _peerGone || PeerLive() == VchanControlPage.LiveExited)
                return;
            if (reading ? ReadyToRead() > 0 : FreeToWrite() > 0)
            {
                habit.Answered(spin.HasYielded);
                return;
            }
        }
        while (spin.Continue());
        habit.TimedOut();
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
