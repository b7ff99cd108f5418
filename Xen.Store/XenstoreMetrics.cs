using System.Diagnostics.Metrics;

namespace Xen.Store;

/// <summary>
/// The <c>System.Diagnostics.Metrics</c> instruments of every <see cref="XenstoreClient"/> in the
/// process, on a meter named <see cref="MeterName"/>. Clients increment plain counters; the
/// instruments read them only when a listener collects.
/// </summary>
/// <remarks>
/// The counters are process-wide rather than per client: a program opens and closes many short
/// connections, and one series per connection would say nothing a listener could aggregate. The
/// daemon (Xen.Store.Server) reports on the same meter name under <c>xenstore.server.*</c>.
/// </remarks>
public static class XenstoreMetrics
{
    /// <summary>The meter's name: listen to it to collect <c>xenstore.client.requests</c> (tagged
    /// <c>xenstore.type</c>), <c>xenstore.client.watch_events</c> and <c>xenstore.client.quota_hits</c>
    /// (tagged <c>xenstore.quota</c>: <c>daemon</c> for a quota error reply, <c>watch_backlog</c>
    /// for a watch whose reader fell behind).</summary>
    public const string MeterName = "Mirage.Xenstore";

    // One slot per xs_wire message type (all below 31); the last holds any other number a peer sends.
    internal const int TypeSlots = 32;

    private static readonly long[] Requests = new long[TypeSlots];
    private static long _watchEvents;
    private static long _daemonQuotaHits;
    private static long _watchBacklogHits;

    // Created after the counters it reads, once, when a client first counts something.
    private static readonly Meter Meter = Create();

    internal static void RequestSent(XsMessageType type) => Interlocked.Increment(ref Requests[Slot(type)]);

    internal static int Slot(XsMessageType type) => (uint)type < TypeSlots - 1 ? (int)type : TypeSlots - 1;

    internal static void WatchEventReceived() => Interlocked.Increment(ref _watchEvents);

    internal static void DaemonQuotaHit() => Interlocked.Increment(ref _daemonQuotaHits);

    internal static void WatchBacklogHit() => Interlocked.Increment(ref _watchBacklogHits);

    /// <summary>One measurement per request type that has been counted, tagged with its name.</summary>
    internal static IEnumerable<Measurement<long>> ByType(long[] counters, string tag)
    {
        for (var i = 0; i < counters.Length; i++)
        {
            var count = Volatile.Read(ref counters[i]);
            if (count != 0)
                yield return new Measurement<long>(count, new KeyValuePair<string, object?>(tag, Enum.IsDefined((XsMessageType)i) ? ((XsMessageType)i).ToString() : "unknown"));
        }
    }

    private static Meter Create()
    {
        var meter = new Meter(MeterName);
        meter.CreateObservableCounter("xenstore.client.requests", () => ByType(Requests, "xenstore.type"), "{request}", "Requests sent to the daemon, by type.");
        meter.CreateObservableCounter("xenstore.client.watch_events", () => Volatile.Read(ref _watchEvents), "{event}", "Watch events received.");
        meter.CreateObservableCounter("xenstore.client.quota_hits", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _daemonQuotaHits), new KeyValuePair<string, object?>("xenstore.quota", "daemon")),
            new Measurement<long>(Volatile.Read(ref _watchBacklogHits), new KeyValuePair<string, object?>("xenstore.quota", "watch_backlog")),
        }, "{hit}", "Quota error replies from the daemon, and watches ended because their reader fell behind.");
        return meter;
    }
}
