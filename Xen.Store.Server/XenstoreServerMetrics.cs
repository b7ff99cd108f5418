using System.Diagnostics.Metrics;

namespace Xen.Store.Server;

/// <summary>
/// The <c>System.Diagnostics.Metrics</c> instruments of every <see cref="XenstoreServer"/> in the
/// process, on the meter <see cref="XenstoreMetrics.MeterName"/> that the clients use too. Servers
/// increment plain counters; the instruments read them only when a listener collects.
/// </summary>
public static class XenstoreServerMetrics
{
    /// <summary>The instruments: <c>xenstore.server.requests</c> (tagged <c>xenstore.type</c>),
    /// <c>xenstore.server.connections</c>, <c>xenstore.server.watches</c>, <c>xenstore.server.domains</c>
    /// (those three count what exists now) and <c>xenstore.server.quota_hits</c> (tagged
    /// <c>xenstore.quota</c>: <c>nodes</c>, <c>watches</c>, <c>transactions</c>, <c>output</c>).</summary>
    public const string MeterName = XenstoreMetrics.MeterName;

    private static readonly long[] Requests = new long[XenstoreMetrics.TypeSlots];
    private static readonly long[] QuotaHits = new long[4];
    private static long _connections;
    private static long _watches;
    private static long _domains;

    // Created after the counters it reads, once, when a server first counts something.
    private static readonly Meter Meter = Create();

    internal static void RequestServed(XsMessageType type) => Interlocked.Increment(ref Requests[XenstoreMetrics.Slot(type)]);

    internal static void QuotaHit(Quota quota) => Interlocked.Increment(ref QuotaHits[(int)quota]);

    internal static void ConnectionsChanged(int by) => Interlocked.Add(ref _connections, by);

    internal static void WatchesChanged(int by) => Interlocked.Add(ref _watches, by);

    internal static void DomainsChanged(int by) => Interlocked.Add(ref _domains, by);

    private static IEnumerable<Measurement<long>> ByQuota()
    {
        for (var i = 0; i < QuotaHits.Length; i++)
            yield return new Measurement<long>(Volatile.Read(ref QuotaHits[i]), new KeyValuePair<string, object?>("xenstore.quota", ((Quota)i).ToString().ToLowerInvariant()));
    }

    private static Meter Create()
    {
        var meter = new Meter(MeterName);
        meter.CreateObservableCounter("xenstore.server.requests", () => XenstoreMetrics.ByType(Requests, "xenstore.type"), "{request}", "Requests served, by type.");
        meter.CreateObservableUpDownCounter("xenstore.server.connections", () => Volatile.Read(ref _connections), "{connection}", "Connections open.");
        meter.CreateObservableUpDownCounter("xenstore.server.watches", () => Volatile.Read(ref _watches), "{watch}", "Watches registered.");
        meter.CreateObservableUpDownCounter("xenstore.server.domains", () => Volatile.Read(ref _domains), "{domain}", "Domains introduced and not yet released.");
        meter.CreateObservableCounter("xenstore.server.quota_hits", ByQuota, "{hit}", "Requests refused by a quota, and peers dropped for not reading their output.");
        return meter;
    }
}
