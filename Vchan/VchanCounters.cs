namespace Vchan;

/// <summary>
/// One vchan end's plain counters: the reader alone adds to the read ones and the writer alone to the
/// write ones, so the hot path pays one add; <see cref="VchanMetrics"/> reads them when a listener collects.
/// </summary>
internal sealed class VchanCounters
{
    public long BytesRead;
    public long BytesWritten;
    // Times a reader or writer found nothing to do after spinning and blocked on the event channel.
    public long ReadWaits;
    public long WriteWaits;
    // Spins that yielded at once because the peer had answered only past a yield (see SpinHabit).
    public long ReadSpinsYieldingAtOnce;
    public long WriteSpinsYieldingAtOnce;
    public long Faults;
}
