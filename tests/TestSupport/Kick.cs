using Xen.Evtchn;

namespace TestSupport;

public static class Kick
{
    /// <summary>
    /// Sends an event to a driver under test. A driver that polls its ring may already have seen a
    /// bad request or response before this event, disconnected and closed its end; the test then
    /// asserts on that outcome, so a closed channel is not an error here.
    /// </summary>
    public static void Peer<TEvents>(TEvents events, Channel channel) where TEvents : IEvents
    {
        try
        {
            events.Send(channel);
        }
        catch (PeerClosedException)
        {
        }
    }
}
