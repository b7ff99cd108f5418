using Xen.Evtchn;
using Xen.Gnt;

namespace Netif;

/// <summary>
/// One queue's rings and event channels, as the frontend publishes them (<c>tx-ring-ref</c>,
/// <c>rx-ring-ref</c>, and <c>event-channel</c> or <c>event-channel-tx</c>/<c>-rx</c>, under
/// <c>queue-&lt;i&gt;/</c> when there are several queues).
/// </summary>
/// <param name="TxRingRef">The grant of the tx ring page.</param>
/// <param name="RxRingRef">The grant of the rx ring page.</param>
/// <param name="TxEventChannel">The port of the tx event channel, or of the one shared channel.</param>
/// <param name="RxEventChannel">The port of the rx event channel; the same as <paramref name="TxEventChannel"/> when shared.</param>
public readonly record struct NetifQueueRefs(GrantRef TxRingRef, GrantRef RxRingRef, Port TxEventChannel, Port RxEventChannel)
{
    /// <summary>Whether the queue has one event channel per direction.</summary>
    public bool SplitEventChannels => TxEventChannel != RxEventChannel;
}

/// <summary>
/// Everything a netback needs to attach to a netfront: the frontend's domain, what it asked for, and
/// each queue's rings and event channels. Xenstore carries it between domains; a test or a program
/// that composes both ends in one process can hand it over directly.
/// </summary>
/// <param name="FrontendDomain">The frontend's domain.</param>
/// <param name="Features">What the frontend asked for.</param>
/// <param name="Queues">One entry per queue, at least one.</param>
public sealed record NetfrontRendezvous(ushort FrontendDomain, NetfrontFeatures Features, IReadOnlyList<NetifQueueRefs> Queues);
