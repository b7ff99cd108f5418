namespace Xen.Evtchn.InHeap;

/// <summary>
/// One domain's event channels on an <see cref="InHeapEventHub"/>. A small struct over the domain's
/// state, so that drivers generic over <c>TEvents</c> are specialised for it by the JIT.
/// </summary>
/// <remarks>
/// Obtain it with <see cref="InHeapEventHub.Open"/>. Copies share the same domain; disposing any
/// copy closes every channel of the domain, and the peers' waiters fail with
/// <see cref="PeerClosedException"/>.
/// </remarks>
public readonly struct InHeapEvents : IEvents
{
    private readonly EventDomain? _domain;

    internal InHeapEvents(EventDomain domain) => _domain = domain;

    private EventDomain Domain => _domain ?? ThrowHelper.ThrowNotOpened();

    /// <inheritdoc />
    public ushort LocalDomain => Domain.Id;

    /// <summary>Whether the domain has been disposed or killed.</summary>
    public bool IsDisposed => Domain.IsDisposed;

    /// <inheritdoc />
    public (Port Port, Channel Channel) Listen(ushort remoteDomain) => Domain.Listen(remoteDomain);

    /// <inheritdoc />
    public Channel Connect(ushort remoteDomain, Port remotePort) => Domain.Connect(remoteDomain, remotePort);

    /// <inheritdoc />
    public void Send(Channel channel) => Domain.Find(channel).Send();

    /// <inheritdoc />
    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default) =>
        Domain.TryFind(channel, out var endpoint)
            ? endpoint.RecvAsync(lastSeen, cancellationToken)
            : ValueTask.FromException<EventCounter>(new ChannelClosedException(channel));

    /// <inheritdoc />
    public void Close(Channel channel) => Domain.Close(channel);

    /// <summary>Closes every channel of the domain and leaves the hub; the domain may then be opened again.</summary>
    public void Dispose() => _domain?.Dispose();

    /// <inheritdoc />
    public override string ToString() => _domain is null ? "in-heap events (not opened)" : $"in-heap events of domain {_domain.Id}";
}
