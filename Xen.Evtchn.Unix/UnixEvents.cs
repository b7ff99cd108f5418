namespace Xen.Evtchn.Unix;

/// <summary>
/// Event channels between ordinary Linux processes: each process is a domain, a channel is a Unix
/// domain socket connection plus a shared counter page, and a peer that closes or dies is a
/// <see cref="PeerClosedException"/> for its waiters. The convention is in <c>docs/unix-backend.md</c>.
/// </summary>
/// <remarks>A struct over one shared state, so drivers generic over <c>TEvents</c> are specialised by the
/// JIT. Copies share the state; dispose one of them, once.</remarks>
public readonly struct UnixEvents : IEvents
{
    private readonly EventsDomain _domain;

    /// <summary>Claims the domain id and starts listening for connections.</summary>
    /// <exception cref="InvalidOperationException">No domain id is configured, or another live process has it.</exception>
    /// <exception cref="IOException">The root folder cannot be used.</exception>
    public UnixEvents(UnixEventsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _domain = new EventsDomain(options);
    }

    /// <summary>Claims <paramref name="domain"/> under <paramref name="root"/> (null: <c>XEN_ROOT</c> or the default).</summary>
    public static UnixEvents Create(ushort domain, string? root = null) => new(new UnixEventsOptions { Domain = domain, Root = root });

    private EventsDomain State => _domain ?? throw new InvalidOperationException("This UnixEvents was not created with a constructor.");

    /// <inheritdoc />
    public ushort LocalDomain => State.Domain;

    /// <summary>The root folder this backend uses.</summary>
    public string Root => State.Root;

    /// <inheritdoc />
    public (Port Port, Channel Channel) Listen(ushort remoteDomain) => State.Listen(remoteDomain);

    /// <inheritdoc />
    public Channel Connect(ushort remoteDomain, Port remotePort) => State.Connect(remoteDomain, remotePort);

    /// <inheritdoc />
    public void Send(Channel channel)
    {
        var state = State.Find(channel.LocalPort.Value);
        if (state is null)
            ThrowClosed(channel);
        state.Send();
    }

    /// <inheritdoc />
    public ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default)
    {
        var domain = State;
        var state = domain.Find(channel.LocalPort.Value);
        if (state is null)
            ThrowClosed(channel);
        return state.RecvAsync(lastSeen, domain.SpinTicks, cancellationToken);
    }

    /// <inheritdoc />
    public void Close(Channel channel) => State.Close(channel);

    // Receivers blocked in RecvAsync on the channel: tests wait for this rather than sleep and hope.
    internal int BlockedReceivers(Channel channel) => State.Find(channel.LocalPort.Value)?.WaiterCount ?? 0;

    /// <summary>Closes every channel, stops listening and gives up the domain id.</summary>
    public void Dispose() => _domain?.Dispose();

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowClosed(Channel channel) => throw new ChannelClosedException(channel);
}
