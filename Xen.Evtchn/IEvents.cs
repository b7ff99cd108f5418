namespace Xen.Evtchn;

/// <summary>
/// Event channels between domains, after Xen's: a doorbell with no payload. One side listens and
/// publishes the port; the other connects to it; either side then sends notifications that the
/// other receives as a counter that only grows.
/// </summary>
/// <remarks>
/// <para>Drivers are generic over the backend (<c>Driver&lt;TEvents&gt; where TEvents : IEvents</c>),
/// so the program that composes them chooses in-heap, Unix, xenctrl or Xen guest events.</para>
/// <para>Errors are distinct: a port that nobody offered to this domain is a
/// <see cref="PortNotBoundException"/>; using a channel after <see cref="Close"/> is a
/// <see cref="ChannelClosedException"/>; a peer that closed its end or died is a
/// <see cref="PeerClosedException"/>, which waiters see instead of waiting forever.</para>
/// <para>Implementations are thread-safe.</para>
/// </remarks>
public interface IEvents : IDisposable
{
    /// <summary>The domain this backend acts as.</summary>
    ushort LocalDomain { get; }

    /// <summary>
    /// Offers a new port to <paramref name="remoteDomain"/> (Xen's <c>EVTCHNOP_alloc_unbound</c>).
    /// Notifications sent before the peer connects are dropped, as Xen drops them.
    /// </summary>
    /// <param name="remoteDomain">The only domain that may connect to the port.</param>
    /// <returns>The port to publish, and the local channel bound to it.</returns>
    (Port Port, Channel Channel) Listen(ushort remoteDomain);

    /// <summary>
    /// Connects to a port that <paramref name="remoteDomain"/> offered to this domain
    /// (Xen's <c>EVTCHNOP_bind_interdomain</c>).
    /// </summary>
    /// <exception cref="PortNotBoundException">The remote domain is not there, or the port does not
    /// exist, is already connected, or was offered to another domain.</exception>
    Channel Connect(ushort remoteDomain, Port remotePort);

    /// <summary>Notifies the peer of <paramref name="channel"/>. Never blocks.</summary>
    /// <exception cref="ChannelClosedException">The channel was closed locally.</exception>
    /// <exception cref="PeerClosedException">The peer closed its end or died.</exception>
    void Send(Channel channel);

    /// <summary>
    /// Waits until the channel's counter has moved past <paramref name="lastSeen"/> and returns the
    /// new counter. Completes at once if it already has.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ChannelClosedException">The channel was closed locally, before or during the wait.</exception>
    /// <exception cref="PeerClosedException">The peer closed its end or died, and no event past
    /// <paramref name="lastSeen"/> is left to report.</exception>
    ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default);

    /// <summary>Closes the local end. Waiters fail with <see cref="ChannelClosedException"/>; the peer's
    /// waiters fail with <see cref="PeerClosedException"/>. Closing twice does nothing.</summary>
    void Close(Channel channel);
}
