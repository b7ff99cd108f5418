using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// What a blkfront publishes for the backend to connect (the frontend keys of <c>blkif.h</c>): one
/// ring and event channel per queue, the ring's size, and whether the frontend reuses its grants.
/// Through Xenstore these are the keys under <c>device/vbd/&lt;device&gt;/</c>; without it, hand the
/// record to the backend.
/// </summary>
/// <param name="RingPageOrder"><c>ring-page-order</c>: each ring is 2^order pages.</param>
/// <param name="Queues">One ring per queue (<c>multi-queue-num-queues</c>, <c>queue-&lt;i&gt;/</c>).</param>
/// <param name="FeaturePersistent"><c>feature-persistent</c>: the frontend reuses the same grants, all writable.</param>
/// <param name="Protocol"><c>protocol</c>: the ring's ABI.</param>
public sealed record BlkifFrontendInfo(int RingPageOrder, IReadOnlyList<BlkifRingInfo> Queues, bool FeaturePersistent, string Protocol = BlkifLimits.ProtocolX86_64)
{
    /// <summary>Checks what a (possibly hostile or broken) frontend published against what the backend offered.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    public void Validate(BlkifBackendInfo offered)
    {
        ArgumentNullException.ThrowIfNull(offered);
        if (Protocol != BlkifLimits.ProtocolX86_64)
            throw new InvalidDataException($"protocol '{Protocol}' is not supported; only '{BlkifLimits.ProtocolX86_64}' is.");
        if (RingPageOrder < 0 || RingPageOrder > offered.MaxRingPageOrder)
            throw new InvalidDataException($"ring-page-order {RingPageOrder} is not 0 to max-ring-page-order {offered.MaxRingPageOrder}.");
        if (Queues is null || Queues.Count < 1 || Queues.Count > offered.MaxQueues)
            throw new InvalidDataException($"multi-queue-num-queues {Queues?.Count} is not 1 to multi-queue-max-queues {offered.MaxQueues}.");
        foreach (var queue in Queues)
        {
            if (queue is null || queue.RingRefs is null || queue.RingRefs.Count != 1 << RingPageOrder)
                throw new InvalidDataException($"A queue publishes {queue?.RingRefs?.Count} ring refs; ring-page-order {RingPageOrder} needs {1 << RingPageOrder}.");
        }
    }
}

/// <summary>One queue's ring and event channel.</summary>
/// <param name="RingRefs"><c>ring-ref</c> (one page) or <c>ring-ref0..N</c>: the grants of the ring's pages, in order.</param>
/// <param name="EventChannel"><c>event-channel</c>: the port the frontend listens on.</param>
public sealed record BlkifRingInfo(IReadOnlyList<GrantRef> RingRefs, Port EventChannel);
