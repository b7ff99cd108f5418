using Microsoft.Extensions.Logging;

namespace Blkif;

/// <summary>What a <see cref="Blkback{TEvents, TMemory}"/> offers beyond what its storage decides.</summary>
public sealed class BlkbackOptions
{
    /// <summary><c>max-ring-page-order</c>: rings of up to 2^order pages, 0 to <see cref="BlkifLimits.MaxRingPageOrder"/>. Default 4 (16 pages).</summary>
    public int MaxRingPageOrder { get; set; } = BlkifLimits.MaxRingPageOrder;

    /// <summary><c>multi-queue-max-queues</c>. Default: the processor count.</summary>
    public int MaxQueues { get; set; } = Environment.ProcessorCount;

    /// <summary><c>feature-max-indirect-segments</c>; 0 turns indirect requests off. Default 256 (1 MiB per request).</summary>
    public int MaxIndirectSegments { get; set; } = 256;

    /// <summary><c>feature-persistent</c>: keep the frontend's grants mapped between requests. Default on.</summary>
    public bool FeaturePersistent { get; set; } = true;

    /// <summary>How many grants one queue keeps mapped at most; past it, requests map and unmap their pages. Default 4096 (16 MiB).</summary>
    public int MaxPersistentGrantsPerQueue { get; set; } = 4096;

    /// <summary><c>feature-flush-cache</c>. Default on.</summary>
    public bool FeatureFlushCache { get; set; } = true;

    /// <summary><c>feature-barrier</c>. Default on. With this and <see cref="FeatureFlushCache"/> both off the
    /// frontend cannot ask for durability, so every write is flushed before it is acknowledged.</summary>
    public bool FeatureBarrier { get; set; } = true;

    /// <summary><c>feature-discard</c>, if the storage can discard. Default on.</summary>
    public bool FeatureDiscard { get; set; } = true;

    /// <summary>
    /// Spin rounds on the ring before sleeping on the event channel. Default 0: a backend whose ring
    /// ran dry waits for the frontend, which needs a core to make the next requests; spinning (and
    /// yielding) there takes that core from it. With four queues on two cores, 20 rounds cost 3 to 4
    /// us of CPU per 4 KiB read against about 1 without, and halved the reads per second. The
    /// frontend asks for an event (<c>req_event</c>) whenever the backend sleeps, so none is lost.
    /// </summary>
    public int SpinCount { get; set; }

    /// <summary>A name for the disk in metrics and messages. Default <c>xvda</c>.</summary>
    public string Name { get; set; } = "xvda";

    /// <summary>Where connections and a peer's protocol faults are logged; none if null.</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Name);
        ArgumentOutOfRangeException.ThrowIfNegative(SpinCount);
        if (MaxRingPageOrder is < 0 or > BlkifLimits.MaxRingPageOrder)
            throw new ArgumentOutOfRangeException(nameof(MaxRingPageOrder), MaxRingPageOrder, $"The ring page order must be 0 to {BlkifLimits.MaxRingPageOrder}.");
        if (MaxQueues < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxQueues), MaxQueues, "At least one queue.");
        if (MaxIndirectSegments != 0 && MaxIndirectSegments is < BlkifConstants.MaxSegmentsPerRequest or > BlkifLimits.MaxIndirectSegments)
            throw new ArgumentOutOfRangeException(nameof(MaxIndirectSegments), MaxIndirectSegments, $"Indirect segments must be 0 (off) or {BlkifConstants.MaxSegmentsPerRequest} to {BlkifLimits.MaxIndirectSegments}.");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPersistentGrantsPerQueue);
    }
}
