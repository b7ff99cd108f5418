using System.Diagnostics.Metrics;

namespace Blkif;

/// <summary>
/// The <c>System.Diagnostics.Metrics</c> instruments of one blkfront or blkback, on a meter named
/// <see cref="MeterName"/>. They observe the queues' plain counters when a listener collects, so the
/// hot path pays nothing for them.
/// </summary>
public static class BlkifMetrics
{
    /// <summary>The meter's name: listen to it to collect <c>blkif.requests</c> (tagged with
    /// <c>blkif.operation</c>: read, write, write_barrier, flush_diskcache, discard, other),
    /// <c>blkif.bytes</c> (tagged with <c>blkif.direction</c>: read, write), <c>blkif.errors</c> and
    /// <c>blkif.in_flight</c>, each tagged with <c>blkif.side</c> (frontend, backend) and
    /// <c>blkif.name</c>.</summary>
    public const string MeterName = "Mirage.Blkif";

    private static readonly (string Name, int[] Slots)[] Operations =
    [
        ("read", [(int)BlkifOperation.Read]),
        ("write", [(int)BlkifOperation.Write]),
        ("write_barrier", [(int)BlkifOperation.WriteBarrier]),
        ("flush_diskcache", [(int)BlkifOperation.FlushDiskcache]),
        ("discard", [(int)BlkifOperation.Discard]),
        ("other", [(int)BlkifOperation.Reserved1, (int)BlkifOperation.Indirect, BlkifCounters.OperationSlots - 1]),
    ];

    internal static Meter Create(string side, string name, IReadOnlyList<BlkifCounters> queues)
    {
        var meter = new Meter(MeterName);
        KeyValuePair<string, object?>[] Tags(string? key = null, string? value = null) => key is null
            ? [new("blkif.side", side), new("blkif.name", name)]
            : [new("blkif.side", side), new("blkif.name", name), new(key, value)];
        long Sum(Func<BlkifCounters, long> read)
        {
            long total = 0;
            for (var i = 0; i < queues.Count; i++)
                total += read(queues[i]);
            return total;
        }
        IEnumerable<Measurement<long>> Requests()
        {
            foreach (var (operation, slots) in Operations)
            {
                long count = 0;
                foreach (var slot in slots)
                    count += Sum(q => Volatile.Read(ref q.Requests[slot]));
                yield return new Measurement<long>(count, Tags("blkif.operation", operation));
            }
        }
        IEnumerable<Measurement<long>> Bytes()
        {
            yield return new Measurement<long>(Sum(q => Volatile.Read(ref q.BytesRead)), Tags("blkif.direction", "read"));
            yield return new Measurement<long>(Sum(q => Volatile.Read(ref q.BytesWritten)), Tags("blkif.direction", "write"));
        }
        long InFlight()
        {
            long requests = 0;
            for (var slot = 0; slot < BlkifCounters.OperationSlots; slot++)
                requests += Sum(q => Volatile.Read(ref q.Requests[slot]));
            return requests - Sum(q => Volatile.Read(ref q.Finished));
        }
        meter.CreateObservableCounter("blkif.requests", Requests, "{request}", "Requests put on or taken from the rings, by operation.");
        meter.CreateObservableCounter("blkif.bytes", Bytes, "By", "Bytes read and written by requests that succeeded.");
        meter.CreateObservableCounter("blkif.errors", () => new Measurement<long>(Sum(q => Volatile.Read(ref q.Errors)), Tags()), "{request}", "Requests answered with an error or failed.");
        meter.CreateObservableUpDownCounter("blkif.in_flight", () => new Measurement<long>(InFlight(), Tags()), "{request}", "Requests on the rings not yet answered.");
        return meter;
    }
}
