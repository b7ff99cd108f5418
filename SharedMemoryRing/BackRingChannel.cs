using Xen.Evtchn;

namespace SharedMemoryRing;

/// <summary>
/// A <see cref="BackRing{TRequest, TResponse}"/> bound to its event channel: pushes notify the frontend
/// only when it asked, and waits spin briefly, then do the final check and sleep on the channel's
/// event counter, so a request pushed at any moment wakes the waiter. One thread drives it at a time.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend; a struct backend is specialised, not boxed.</typeparam>
/// <typeparam name="TRequest">The request struct.</typeparam>
/// <typeparam name="TResponse">The response struct.</typeparam>
public sealed class BackRingChannel<TEvents, TRequest, TResponse> : RingChannel<TEvents>
    where TEvents : IEvents
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    /// <summary>Binds <paramref name="ring"/> to <paramref name="channel"/> of <paramref name="events"/>.</summary>
    public BackRingChannel(TEvents events, Channel channel, BackRing<TRequest, TResponse> ring)
        : base(events, channel)
    {
        ArgumentNullException.ThrowIfNull(ring);
        Ring = ring;
    }

    /// <summary>The ring.</summary>
    public BackRing<TRequest, TResponse> Ring { get; }

    /// <summary>Publishes the written responses and notifies the frontend if it asked. Returns whether it notified.</summary>
    /// <exception cref="PeerClosedException">The frontend closed its end of the channel.</exception>
    public bool PushResponses()
    {
        if (!Ring.PushResponses())
            return false;
        Notify();
        return true;
    }

    /// <summary>
    /// Throws when the frontend let go of the ring or died (<see cref="BackRing{TRequest, TResponse}.IsFrontendGone"/>):
    /// a backend busy with a backlog checks between requests, so that it does not serve a dead frontend's
    /// requests to the end before it notices.
    /// </summary>
    /// <exception cref="PeerClosedException">The frontend is gone.</exception>
    public void ThrowIfFrontendGone()
    {
        if (Ring.IsFrontendGone)
            throw new PeerClosedException(Channel, "the frontend let go of the ring or died");
    }

    /// <summary>
    /// Completes when requests are waiting to be consumed. Checks the token first even then: a backend
    /// calls this between batches, and a frontend that never stops producing must not keep a
    /// cancelled backend serving.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="PeerClosedException">The frontend closed its end of the channel, or let go of the ring or died
    /// (its live byte, <see cref="SharedRingLayout.FrontendLiveOffset"/>, was cleared).</exception>
    /// <exception cref="RingProtocolException">The frontend's <c>req_prod</c> is out of range.</exception>
    public ValueTask WaitForRequestsAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        return Ring.UnconsumedRequests > 0 ? default : WaitSlowAsync(cancellationToken);
    }

    private protected override bool HasWork => Ring.UnconsumedRequests > 0;

    private protected override bool FinalCheck() => Ring.FinalCheckForRequests();

    private protected override void ThrowIfPeerGone() => ThrowIfFrontendGone();
}
