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
public sealed class FrontRingChannel<TEvents, TRequest, TResponse> : RingChannel<TEvents>
    where TEvents : IEvents
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    /// <summary>Binds <paramref name="ring"/> to <paramref name="channel"/> of <paramref name="events"/>.</summary>
    public FrontRingChannel(TEvents events, Channel channel, FrontRing<TRequest, TResponse> ring)
        : base(events, channel)
    {
        ArgumentNullException.ThrowIfNull(ring);
        Ring = ring;
    }

    /// <summary>The ring.</summary>
    public FrontRing<TRequest, TResponse> Ring { get; }

    /// <summary>Publishes the written requests and notifies the backend if it asked. Returns whether it notified.</summary>
    /// <exception cref="PeerClosedException">The backend closed its end of the channel.</exception>
    public bool PushRequests()
    {
        if (!Ring.PushRequests())
            return false;
        Notify();
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

    private protected override bool HasWork => Ring.UnconsumedResponses > 0;

    private protected override bool FinalCheck() => Ring.FinalCheckForResponses();

    private protected override void ThrowIfPeerGone()
    {
        if (Ring.IsBackendGone)
            throw new PeerClosedException(Channel, "the backend let go of the ring or died");
    }
}
