using System.Diagnostics.Metrics;

namespace Netif;

/// <summary>
/// The <c>System.Diagnostics.Metrics</c> instruments of one netfront or netback, on a meter named
/// <see cref="MeterName"/>. They observe the queues' plain counters when a listener collects, so the
/// hot path pays nothing for them.
/// </summary>
public static class NetifMetrics
{
    /// <summary>The meter's name: listen to it to collect <c>netif.frames</c>, <c>netif.bytes</c>,
    /// <c>netif.drops</c>, <c>netif.ring_full_waits</c> and <c>netif.notifications</c>, tagged with
    /// <c>netif.side</c> (frontend, backend), <c>netif.name</c>, <c>netif.queue</c>,
    /// <c>netif.direction</c> (tx, rx) and, for drops, <c>netif.reason</c>.</summary>
    public const string MeterName = "Mirage.Netif";

    internal static Meter Create(string side, string name, IReadOnlyList<NetifCounters> queues)
    {
        var meter = new Meter(MeterName);
        IEnumerable<Measurement<long>> Each(Func<NetifCounters, long> tx, Func<NetifCounters, long> rx)
        {
            for (var i = 0; i < queues.Count; i++)
            {
                yield return new Measurement<long>(tx(queues[i]), Tags(side, name, i, "tx"));
                yield return new Measurement<long>(rx(queues[i]), Tags(side, name, i, "rx"));
            }
        }
        IEnumerable<Measurement<long>> Drops()
        {
            for (var i = 0; i < queues.Count; i++)
                for (var r = 0; r < NetifCounters.DropReasons; r++)
                {
                    var reason = ((NetifDropReason)r).ToString();
                    yield return new Measurement<long>(Volatile.Read(ref queues[i].TxDrops[r]), [.. Tags(side, name, i, "tx"), new("netif.reason", reason)]);
                    yield return new Measurement<long>(Volatile.Read(ref queues[i].RxDrops[r]), [.. Tags(side, name, i, "rx"), new("netif.reason", reason)]);
                }
        }
        meter.CreateObservableCounter("netif.frames", () => Each(q => Volatile.Read(ref q.TxFrames), q => Volatile.Read(ref q.RxFrames)), "{frame}", "Frames carried.");
        meter.CreateObservableCounter("netif.bytes", () => Each(q => Volatile.Read(ref q.TxBytes), q => Volatile.Read(ref q.RxBytes)), "By", "Bytes of the frames carried.");
        meter.CreateObservableCounter("netif.drops", Drops, "{frame}", "Frames dropped and responses ignored, by reason.");
        meter.CreateObservableCounter("netif.ring_full_waits", () => Each(q => Volatile.Read(ref q.TxRingFullWaits), q => Volatile.Read(ref q.RxRingFullWaits)), "{wait}", "Waits for a full ring or link.");
        meter.CreateObservableCounter("netif.notifications", () => Each(q => Volatile.Read(ref q.TxNotifications), q => Volatile.Read(ref q.RxNotifications)), "{event}", "Event-channel notifications sent.");
        return meter;
    }

    private static KeyValuePair<string, object?>[] Tags(string side, string name, int queue, string direction) =>
    [
        new("netif.side", side),
        new("netif.name", name),
        new("netif.queue", queue),
        new("netif.direction", direction),
    ];
}
