using Xen.Evtchn;

namespace Fbif;

/// <summary>The wait both ends of a framebuffer run between batches of ring events.</summary>
internal static class EventWait
{
    /// <summary>
    /// The counter after the peer's next event, or null when the run must end: the token fired, or the
    /// channel closed because the peer closed its end or died.
    /// </summary>
    public static async ValueTask<EventCounter?> NextAsync<TEvents>(TEvents events, Channel channel, EventCounter seen, CancellationToken cancellationToken)
        where TEvents : IEvents
    {
        try
        {
            return await events.RecvAsync(channel, seen, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (EventChannelException)
        {
            return null;
        }
    }
}
