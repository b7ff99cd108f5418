using System.Runtime.CompilerServices;
using Xen.Evtchn;

namespace SharedMemoryRing;

/// <summary>
/// What both ends of a ring bound to its event channel share: the channel, and the wait for the peer's
/// work, which spins briefly, then does the final check (asking the peer for a notification) and sleeps
/// on the channel's event counter, so work pushed at any moment wakes the waiter.
/// <see cref="FrontRingChannel{TEvents, TRequest, TResponse}"/> waits for responses,
/// <see cref="BackRingChannel{TEvents, TRequest, TResponse}"/> for requests.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend; a struct backend is specialised, not boxed.</typeparam>
public abstract class RingChannel<TEvents>
    where TEvents : IEvents
{
    // Mutable when TEvents is a struct: never readonly, or every call would be made on a defensive copy.
#pragma warning disable IDE0044
    private TEvents _events;
#pragma warning restore IDE0044
    private EventCounter _seen;

    private protected RingChannel(TEvents events, Channel channel)
    {
        // No boxing of a struct backend: the JIT drops this test for value types.
        if (events is null)
            throw new ArgumentNullException(nameof(events));
        _events = events;
        Channel = channel;
    }

    /// <summary>The event channel to the peer.</summary>
    public Channel Channel { get; }

    /// <summary>Spin rounds before blocking; <see cref="RingWait.DefaultSpinCount"/> unless set.</summary>
    public int SpinCount { get; set; } = RingWait.DefaultSpinCount;

    /// <summary>Whether the peer's work is waiting to be consumed.</summary>
    private protected abstract bool HasWork { get; }

    /// <summary>The ring's final check: work is waiting, or the peer was asked to notify.</summary>
    private protected abstract bool FinalCheck();

    /// <summary>Throws <see cref="PeerClosedException"/> if the peer let go of the ring or died.</summary>
    private protected abstract void ThrowIfPeerGone();

    private protected void Notify() => _events.Send(Channel);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private protected async ValueTask WaitSlowAsync(CancellationToken cancellationToken)
    {
        var spinner = default(SpinWait);
        for (var i = 0; i < SpinCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (HasWork)
                return;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The counter we wait past was read before this check: work pushed after the check comes
            // with a notification (we just asked for one), which moves the counter past it.
            if (FinalCheck())
                return;
            // Under Xen a dead peer's channel just goes quiet; its unmap notification clears its live
            // byte and sends the one event that wakes us here.
            ThrowIfPeerGone();
            _seen = await _events.RecvAsync(Channel, _seen, cancellationToken).ConfigureAwait(false);
        }
    }
}
