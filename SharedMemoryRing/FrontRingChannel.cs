using System.Runtime.CompilerServices;
using Xen.Evtchn;

namespace SharedMemoryRing;

/// <summary>
/// A <see cref="FrontRing{TRequest, TResponse}"/> bound to its event channel: pushes notify the backend
/// only when it asked, and waits spin briefly, then do the final check and sleep on the channel's
/// event counter, so a response pushed at any moment wakes the waiter. One thread drives it at a time.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend; a struct backend is specialised, not boxed.</typeparam>
/// <typeparam name="TRequest">The request struct.</typeparam>
/// <typeparam name="TResponse">The response struct.</typeparam>
public sealed class FrontRingChannel<TEvents, TRequest, TResponse>
    where TEvents : IEvents
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    // Mutable when TEvents is a struct: never readonly, or every call would be made on a defensive copy.
#pragma warning disable IDE0044
    private TEvents _events;
#pragma warning restore IDE0044
    private EventCounter _seen;

    /// <summary>Binds <paramref name="ring"/> to <paramref name="channel"/> of <paramref name="events"/>.</summary>
    public FrontRingChannel(TEvents events, Channel channel, FrontRing<TRequest, TResponse> ring)
    {
        // No boxing of a struct backend: the JIT drops this test for value types.
        if (events is null)
            throw new ArgumentNullException(nameof(events));
        ArgumentNullException.ThrowIfNull(ring);
        _events = events;
        Channel = channel;
        Ring = ring;
    }

    /// <summary>The ring.</summary>
    public FrontRing<TRequest, TResponse> Ring { get; }

    /// <summary>The event channel to the backend.</summary>
    public Channel Channel { get; }

    /// <summary>Spin rounds before blocking; <see cref="RingWait.DefaultSpinCount"/> unless set.</summary>
    public int SpinCount { get; set; } = RingWait.DefaultSpinCount;

    /// <summary>Publishes the written requests and notifies the backend if it asked. Returns whether it notified.</summary>
    /// <exception cref="PeerClosedException">The backend closed its end of the channel.</exception>
    public bool PushRequests()
    {
        if (!Ring.PushRequests())
            return false;
        _events.Send(Channel);
        return true;
    }

    /// <summary>Completes when responses are waiting to be consumed. Checks the token first even then,
    /// as <see cref="BackRingChannel{TEvents, TRequest, TResponse}.WaitForRequestsAsync"/> does.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="PeerClosedException">The backend closed its end of the channel, or let go of the ring or died
    /// (its live byte, <see cref="SharedRingLayout.BackendLiveOffset"/>, was cleared).</exception>
    /// <exception cref="RingProtocolException">The backend's <c>rsp_prod</c> is out of range.</exception>
    public ValueTask WaitForResponsesAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        return Ring.UnconsumedResponses > 0 ? default : WaitSlowAsync(cancellationToken);
    }

    /// <summary>
    /// Completes when a request slot is free, or when responses are waiting: slots come free only as the
    /// frontend consumes responses, so consume them and look at <see cref="FrontRing{TRequest, TResponse}.FreeRequests"/> again.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="PeerClosedException">The backend closed its end of the channel, or let go of the ring or died
    /// (its live byte, <see cref="SharedRingLayout.BackendLiveOffset"/>, was cleared).</exception>
    /// <exception cref="RingProtocolException">The backend's <c>rsp_prod</c> is out of range.</exception>
    public ValueTask WaitForFreeRequestsAsync(CancellationToken cancellationToken = default) =>
        !Ring.IsFull ? default : WaitForResponsesAsync(cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WaitSlowAsync(CancellationToken cancellationToken)
    {
        var spinner = default(SpinWait);
        for (var i = 0; i < SpinCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Ring.UnconsumedResponses > 0)
                return;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The counter we wait past was read before this check: a response pushed after the check
            // comes with a notification (we just asked for one), which moves the counter past it.
            if (Ring.FinalCheckForResponses())
                return;
            // Under Xen a dead peer's channel just goes quiet; its unmap notification clears its live
            // byte and sends the one event that wakes us here.
            if (Ring.IsBackendGone)
                throw new PeerClosedException(Channel, "the backend let go of the ring or died");
            _seen = await _events.RecvAsync(Channel, _seen, cancellationToken).ConfigureAwait(false);
        }
    }
}
