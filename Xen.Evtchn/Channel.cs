namespace Xen.Evtchn;

/// <summary>
/// A bound event channel: one end of a connection between two domains, named by its local port.
/// A channel is a handle; it is valid from <see cref="IEvents.Listen"/> or <see cref="IEvents.Connect"/>
/// until <see cref="IEvents.Close"/>.
/// </summary>
/// <param name="LocalPort">The port this end is bound to in the local domain.</param>
public readonly record struct Channel(Port LocalPort)
{
    /// <inheritdoc />
    public override string ToString() => $"channel {LocalPort}";
}
