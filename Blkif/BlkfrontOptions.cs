using Microsoft.Extensions.Logging;

namespace Blkif;

/// <summary>What a <see cref="Blkfront{TEvents, TMemory}"/> asks for; each is capped by what the backend offers.</summary>
public sealed class BlkfrontOptions
{
    /// <summary><c>ring-page-order</c> wanted: 2^order pages per ring. Default 4 (16 pages, 512 entries).</summary>
    public int RingPageOrder { get; set; } = BlkifLimits.MaxRingPageOrder;

    /// <summary><c>multi-queue-num-queues</c> wanted. Default 1.</summary>
    public int Queues { get; set; } = 1;

    /// <summary>The most segments (pages) per request; above 11 they travel in indirect pages. Default 256 (1 MiB).</summary>
    public int MaxSegmentsPerRequest { get; set; } = 256;

    /// <summary>The most requests in flight per queue; 0 means one per ring entry. Each holds its data pages once used.</summary>
    public int MaxRequestsPerQueue { get; set; }

    /// <summary><c>feature-persistent</c>: tell the backend that grants are reused (they always are). Default on.</summary>
    public bool FeaturePersistent { get; set; } = true;

    /// <summary>Spin rounds on the ring before sleeping on the event channel. Default
    /// <see cref="BlkifLimits.DefaultSpinCount"/>: ten rounds that only spin, then ten that yield.</summary>
    public int SpinCount { get; set; } = BlkifLimits.DefaultSpinCount;

    /// <summary>A name for the disk in metrics and messages. Default <c>xvda</c>.</summary>
    public string Name { get; set; } = "xvda";

    /// <summary>Where connections and a peer's protocol faults are logged; none if null.</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Name);
        if (RingPageOrder is < 0 or > BlkifLimits.MaxRingPageOrder)
            throw new ArgumentOutOfRangeException(nameof(RingPageOrder), RingPageOrder, $"The ring page order must be 0 to {BlkifLimits.MaxRingPageOrder}.");
        if (Queues < 1)
            throw new ArgumentOutOfRangeException(nameof(Queues), Queues, "At least one queue.");
        if (MaxSegmentsPerRequest is < 1 or > BlkifLimits.MaxIndirectSegments)
            throw new ArgumentOutOfRangeException(nameof(MaxSegmentsPerRequest), MaxSegmentsPerRequest, $"Segments per request must be 1 to {BlkifLimits.MaxIndirectSegments}.");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRequestsPerQueue);
        ArgumentOutOfRangeException.ThrowIfNegative(SpinCount);
    }
}
