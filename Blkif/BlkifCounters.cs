namespace Blkif;

/// <summary>
/// The plain counters of one blkfront or blkback queue, which <see cref="BlkifMetrics"/> observes.
/// A blkback queue's loop is their only writer; a blkfront queue counts requests under its ring's
/// lock and answers with interlocked adds, as completions run on several threads.
/// </summary>
internal sealed class BlkifCounters
{
    /// <summary>Slots of <see cref="Requests"/>: one per operation number up to indirect, and the last for any other.</summary>
    public const int OperationSlots = 8;

    /// <summary>Requests put on (front) or taken from (back) the ring, by operation; an indirect request counts as the operation it carries.</summary>
    public readonly long[] Requests = new long[OperationSlots];

    /// <summary>Requests answered (or failed without an answer).</summary>
    public long Finished;

    /// <summary>Requests answered with an error, or failed.</summary>
    public long Errors;

    public long BytesRead;
    public long BytesWritten;

    public static int SlotOf(BlkifOperation operation) => Math.Min((int)operation, OperationSlots - 1);
}
