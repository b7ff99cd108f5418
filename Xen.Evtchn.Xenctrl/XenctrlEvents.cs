namespace Xen.Evtchn.Xenctrl;

/// <summary>
/// Event channels of a real Xen domain through Linux's <c>/dev/xen/evtchn</c>. One value owns one open
/// device handle and one reader thread that counts fired ports for every channel bound through it.
/// </summary>
/// <remarks>
/// <para>A struct over an internal device, so that drivers generic over <c>TEvents</c> are specialised by the JIT.
/// Copies share the device; dispose one of them once.</para>
/// <para>Xen does not tell a domain when the peer of a channel closes its end: the channel simply stops
/// receiving events and the peer's port becomes unbound. <see cref="PeerClosedException"/> is raised only
/// where it can be seen: connecting to a domain that does not exist. Drivers learn of a peer's departure
/// from shared memory (vchan's live bytes) and from unmap notifications.</para>
/// <para>Binding an interdomain channel leaves the new port pending once, so a receiver may wake once
/// without a notification; receivers must look at their shared memory after every wake-up anyway.</para>
/// </remarks>
public readonly struct XenctrlEvents : IEvents
{
    /// <summary>Where Linux puts the event-channel device.</summary>
    public const string DefaultDevicePath = "/dev/xen/evtchn";

    private readonly EvtchnDevice? _device;

    private XenctrlEvents(EvtchnDevice device) => _device = device;

    /// <summary>
    /// Opens the event-channel device of the domain <paramref name="localDomain"/> this process runs in
    /// (0 in dom0; a domU reads its own with <c>xenstore-read domid</c>).
    /// </summary>
    /// <param name="localDomain">This domain's id, reported as <see cref="LocalDomain"/>.</param>
    /// <param name="devicePath">The device, <see cref="DefaultDevicePath"/> unless Linux put it elsewhere.</param>
    /// <exception cref="EventChannelException">The device cannot be opened: not a Xen domain, the
    /// <c>xen-evtchn</c> module not loaded, or no permission. The message says which and what to do.</exception>
    public static XenctrlEvents Open(ushort localDomain, string devicePath = DefaultDevicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(devicePath);
        return new XenctrlEvents(EvtchnDevice.Open(devicePath, localDomain));
    }

    /// <inheritdoc />
    public ushort LocalDomain => Device.LocalDomain;

    /// <summary>The device this value has open.</summary>
    public string DevicePath => Device.Path;

    private EvtchnDevice Device => _device ?? ThrowNotOpened();

    /// <inheritdoc />
    public (Port Port, Channel Channel) Listen(ushort remoteDomain)
    {
        var channel = Device.BindUnboundPort(remoteDomain);
        return (channel.LocalPort, channel);
    }

    /// <inheritdoc />
    public Channel Connect(ushort remoteDomain, Port remotePort) => Device.BindInterdomain(remoteDomain, remotePort);

    /// <summary>
    /// Binds the virtual interrupt <paramref name="virq"/> (e.g. <see cref="VirqDomExc"/>) to a new
    /// channel: each time Xen raises it, the channel's counter moves. <see cref="Close"/> unbinds it.
    /// </summary>
    /// <exception cref="EventChannelException">Xen refused it: a global VIRQ is bound once per host, and only from dom0.</exception>
    public Channel BindVirq(uint virq) => Device.BindVirq(virq);

    /// <summary><c>VIRQ_DOM_EXC</c>: a domain was destroyed or shut down (<c>xen.h</c>). Xenstore daemons bind it.</summary>
    public const uint VirqDomExc = 3;

    /// <inheritdoc />
    public void Send(Channel channel) => Device.Notify(channel);

    /// <inheritdoc />
    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default) =>
        Device.WaitAsync(channel, lastSeen, cancellationToken);

    /// <inheritdoc />
    public void Close(Channel channel) => Device.Unbind(channel);

    /// <summary>Unbinds every channel (their receivers fail with <see cref="ChannelClosedException"/>) and closes the device.</summary>
    public void Dispose() => _device?.Dispose();

    private static EvtchnDevice ThrowNotOpened() =>
        throw new InvalidOperationException($"This {nameof(XenctrlEvents)} is the default value; create one with {nameof(XenctrlEvents)}.{nameof(Open)}.");
}
