namespace Xen.Evtchn;

/// <summary>What every domain type needs from its events beyond <see cref="IEvents"/>.</summary>
public static class EventsExtensions
{
    /// <summary>
    /// A callback that signals a port number on <paramref name="events"/>: how a grant table that
    /// knows only port numbers (an unmap notification's <c>EventPort</c>) reaches the domain's event
    /// channels. A domain type wires its memory to its events with it, once.
    /// </summary>
    public static Action<uint> SendOnPort<TEvents>(this TEvents events)
        where TEvents : IEvents =>
        port => events.Send(new Channel(new Port(port)));
}
