using System.Diagnostics.Metrics;
using System.Globalization;

namespace Vchan;

/// <summary>
/// The <c>System.Diagnostics.Metrics</c> instruments of a vchan end, on a meter named
/// <see cref="MeterName"/>. They observe the end's plain counters when a listener collects, so the hot
/// path pays nothing for them; the end's meter is disposed when the end closes.
/// </summary>
public static class VchanMetrics
{
    /// <summary>The meter's name: listen to it to collect <c>vchan.bytes</c> and <c>vchan.waits</c>
    /// (tagged <c>vchan.direction</c>: read, write) and <c>vchan.faults</c>, each tagged with
    /// <c>vchan.side</c> (server, client) and <c>vchan.remote_domain</c>.</summary>
    public const string MeterName = "Mirage.Vchan";

    internal static Meter Create(bool isServer, ushort remoteDomain, VchanCounters counters)
    {
        var meter = new Meter(MeterName);
        var side = new KeyValuePair<string, object?>("vchan.side", isServer ? "server" : "client");
        var remote = new KeyValuePair<string, object?>("vchan.remote_domain", remoteDomain.ToString(CultureInfo.InvariantCulture));
        KeyValuePair<string, object?>[] read = [side, remote, new("vchan.direction", "read")];
        KeyValuePair<string, object?>[] write = [side, remote, new("vchan.direction", "write")];
        KeyValuePair<string, object?>[] both = [side, remote];
        meter.CreateObservableCounter("vchan.bytes", () => new Measurement<long>[]
        {
            new(Volatile.Read(ref counters.BytesRead), read),
            new(Volatile.Read(ref counters.BytesWritten), write),
        }, "By", "Bytes read from and written to the rings.");
        meter.CreateObservableCounter("vchan.waits", () => new Measurement<long>[]
        {
            new(Volatile.Read(ref counters.ReadWaits), read),
            new(Volatile.Read(ref counters.WriteWaits), write),
        }, "{wait}", "Times a reader or writer blocked on the event channel for the peer.");
        meter.CreateObservableCounter("vchan.faults", () => new Measurement<long>(Volatile.Read(ref counters.Faults), both),
            "{fault}", "Protocol faults of the peer.");
        return meter;
    }
}
