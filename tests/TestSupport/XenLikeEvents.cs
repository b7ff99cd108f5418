using Xen.Evtchn;

namespace TestSupport;

/// <summary>
/// Event channels that treat a departed peer as a real Xen does (docs/xenctrl-backend.md): a peer
/// that closes its end or dies raises no error here; its channel goes quiet, and sends into it are
/// dropped. What tells a survivor under Xen is the dead peer's unmap notification: a cleared byte and
/// an event. Over the Unix backends the byte is cleared by the grant side and the event half is the
/// end of the peer's socket, so once that end is seen this reports an event every few milliseconds
/// (the byte may land from the grant thread just after the end): a driver that looks at its peer's
/// live byte after each event learns of the death, and one that waits for an error waits forever.
/// </summary>
/// <typeparam name="TEvents">The backend underneath, usually the Unix one.</typeparam>
public sealed class XenLikeEvents<TEvents>(TEvents inner) : IEvents
    where TEvents : IEvents
{
    private static readonly TimeSpan Repeat = TimeSpan.FromMilliseconds(20);

    /// <inheritdoc />
    public ushort LocalDomain => inner.LocalDomain;

    /// <inheritdoc />
    public (Port Port, Channel Channel) Listen(ushort remoteDomain) => inner.Listen(remoteDomain);

    /// <inheritdoc />
    public Channel Connect(ushort remoteDomain, Port remotePort) => inner.Connect(remoteDomain, remotePort);

    /// <inheritdoc />
    public void Send(Channel channel)
    {
        try
        {
            inner.Send(channel);
        }
        catch (PeerClosedException)
        {
            // Xen drops a notification on a port whose peer is gone.
        }
    }

    /// <inheritdoc />
    public async ValueTask<EventCounter> RecvAsync(Channel channel, EventCounter lastSeen, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.RecvAsync(channel, lastSeen, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerClosedException)
        {
            // The unmap notification's event, as often as the survivor looks.
            await Task.Delay(Repeat, cancellationToken).ConfigureAwait(false);
            return new EventCounter(lastSeen.Value + 1);
        }
    }

    /// <inheritdoc />
    public void Close(Channel channel) => inner.Close(channel);

    /// <summary>Disposes the backend underneath.</summary>
    public void Dispose() => inner.Dispose();
}
