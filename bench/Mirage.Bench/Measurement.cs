using System.Diagnostics;

namespace Mirage.Bench;

/// <summary>
/// One measured figure: its value and how many items it covered, with the CPU time each side spent
/// and the bytes this process allocated over the same interval.
/// </summary>
/// <param name="Value">The figure, in the unit of its row.</param>
/// <param name="Items">Items (round trips, frames, reads, writes) the interval covered.</param>
/// <param name="Cpu">CPU time of this process (user and system) over the interval.</param>
/// <param name="PeerCpu">CPU time of the other process over the interval; null when there is none.</param>
/// <param name="Allocated">Bytes this process allocated over the interval; null when not measured (C).</param>
internal readonly record struct Measurement(double Value, double Items, TimeSpan Cpu, TimeSpan? PeerCpu, long? Allocated)
{
    public double CpuMicrosPerItem => Cpu.TotalMicroseconds / Items;

    public double? PeerCpuMicrosPerItem => PeerCpu is { } peer ? peer.TotalMicroseconds / Items : null;

    public double? AllocatedPerItem => Allocated is { } bytes ? bytes / Items : null;

    /// <summary>The better of two, by <paramref name="higherIsBetter"/>; null counts as worst.</summary>
    public static Measurement Best(Measurement? a, Measurement b, bool higherIsBetter) =>
        a is not { } x ? b : (higherIsBetter ? x.Value >= b.Value : x.Value <= b.Value) ? x : b;
}

/// <summary>
/// A snapshot of the clocks a <see cref="Measurement"/> is made from: this process's CPU time and
/// allocations, and a peer process's CPU time read from <c>/proc/&lt;pid&gt;/stat</c>.
/// </summary>
/// <remarks>
/// Reading the peer's stat file allocates a few kilobytes here, so the allocation count is taken on
/// both sides of that read and an interval counts from the first sample's later count to the second
/// sample's earlier one: the measurement's own reads stay out of the figure.
/// </remarks>
internal readonly record struct Sample(long Timestamp, TimeSpan Cpu, TimeSpan? PeerCpu, long AllocatedBefore, long AllocatedAfter)
{
    public static Sample Take(int? peer = null)
    {
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var timestamp = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        var peerCpu = peer is { } pid ? ProcessCpu.Of(pid) : null;
        return new(timestamp, cpu, peerCpu, before, GC.GetTotalAllocatedBytes(precise: true));
    }

    /// <summary>Wall-clock time from this sample to <paramref name="end"/>.</summary>
    public TimeSpan Elapsed(Sample end) => Stopwatch.GetElapsedTime(Timestamp, end.Timestamp);

    /// <summary>The measurement of <paramref name="items"/> items between this sample and <paramref name="end"/>.</summary>
    public Measurement Until(Sample end, double value, double items) =>
        new(value, items, end.Cpu - Cpu, end.PeerCpu - PeerCpu, end.AllocatedBefore - AllocatedAfter);
}
