namespace Xen.Evtchn.Xen;

/// <summary>
/// <see cref="IEvents"/> as a guest kernel implements it on Xen: ports are bound with
/// <c>EVTCHNOP_*</c> hypercalls, and events arrive through the 2-level bitmaps of the shared-info
/// page when the host calls <see cref="OnUpcall"/>.
/// </summary>
/// <remarks>
/// <para>The host supplies the hypercall transport (<see cref="IEventChannelHypercalls"/>), the
/// mapped shared-info page, and calls <see cref="OnUpcall"/> from its upcall handler. On creation
/// every port is masked; a port is unmasked (through <c>EVTCHNOP_unmask</c>, which re-raises it if
/// it became pending meanwhile) once it is bound here.</para>
/// <para><see cref="Connect"/> delivers one event at once: Xen marks a newly bound port pending in
/// case the peer notified before.</para>
/// <para>Xen has no close notification. A peer that closed or died is seen with
/// <c>EVTCHNOP_status</c> (the port turns from interdomain to unbound): before every wait that would
/// block, every <c>peerCheckInterval</c> for channels with waiters, and whenever the host calls
/// <see cref="CheckPeers"/> (for instance on <c>VIRQ_DOM_EXC</c>). <see cref="Close"/> sends one last
/// event before closing, so a waiting peer wakes up and finds out at its next wait. <see cref="Send"/>
/// to a closed peer is dropped by Xen and throws <see cref="PeerClosedException"/> only once a status
/// check has seen the close.</para>
/// <para>A struct over internal state: copies share the same channels.</para>
/// </remarks>
public readonly struct XenEvents : IEvents
{
    private readonly EventChannels _channels;

    /// <summary>Creates the event layer of a guest.</summary>
    /// <param name="hypercalls">The host's event-channel hypercall.</param>
    /// <param name="sharedInfo">The address where the host mapped this domain's shared-info page.</param>
    /// <param name="localDomain">This domain's id.</param>
    /// <param name="vcpu">The vCPU whose <c>vcpu_info</c> the upcalls use.</param>
    /// <param name="peerCheckInterval">How often to check the peers of waiting channels; default 1 s,
    /// <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
    public XenEvents(IEventChannelHypercalls hypercalls, nint sharedInfo, ushort localDomain, int vcpu = 0, TimeSpan? peerCheckInterval = null)
        => _channels = new EventChannels(hypercalls, sharedInfo, localDomain, vcpu, peerCheckInterval ?? TimeSpan.FromSeconds(1));

    private EventChannels Channels => _channels ?? throw new InvalidOperationException("This XenEvents was not created with its constructor.");

    /// <inheritdoc />
    public ushort LocalDomain => Channels.LocalDomain;

    /// <inheritdoc />
    public (Port Port, Channel Channel) Listen(ushort remoteDomain) => Channels.Listen(remoteDomain);

    /// <inheritdoc />
    public Channel Connect(ushort remoteDomain, Port remotePort) => Channels.Connect(remoteDomain, remotePort);

    /// <summary>
    /// Takes over a port that is already connected, such as the Xenstore or console port the domain
    /// builder bound (<c>start_info</c>'s <c>store_evtchn</c>).
    /// </summary>
    /// <exception cref="PortNotBoundException">Xen does not report the port as interdomain.</exception>
    public Channel Attach(Port localPort) => Channels.Attach(localPort);

    /// <inheritdoc />
    public void Send(Channel channel) => Channels.Send(channel);

    /// <inheritdoc />
    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default)
        => Channels.RecvAsync(channel, lastSeen, cancellationToken);

    /// <inheritdoc />
    public void Close(Channel channel) => Channels.Close(channel);

    /// <summary>
    /// The upcall: the host calls this when Xen raises the event upcall on the vCPU (and may call it
    /// at any time; with nothing pending it does nothing). Safe to call from several threads at once.
    /// </summary>
    public void OnUpcall() => Channels.OnUpcall();

    /// <summary>Checks with <c>EVTCHNOP_status</c> whether each channel's peer is still there, failing the
    /// waiters of those that went away.</summary>
    public void CheckPeers() => Channels.CheckPeers();

    /// <summary>Closes every channel.</summary>
    public void Dispose() => _channels?.Dispose();
}
