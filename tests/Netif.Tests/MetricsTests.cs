using System.Diagnostics.Metrics;
using Netif.Links;

namespace Netif.Tests;

/// <summary>The counters are published through System.Diagnostics.Metrics.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Frames_and_bytes_are_published_on_the_netif_meter()
    {
        await using var net = new InHeapNet(NetworkLink.CreateLoopback(), options: new NetfrontOptions { Name = "metrics-test" });
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NetifMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value);
            if (Equals(t["netif.name"], "metrics-test") && Equals(t["netif.side"], "frontend") && Equals(t["netif.direction"], "tx"))
                seen[instrument.Name] = seen.GetValueOrDefault(instrument.Name) + value;
        });
        listener.Start();
        for (var i = 0; i < 3; i++)
            await net.Queue.SendAsync(new byte[100], cancellationToken: Timeouts.Short);
        listener.RecordObservableInstruments();
        Assert.Equal(3, seen["netif.frames"]);
        Assert.Equal(300, seen["netif.bytes"]);
        Assert.Equal(0, seen["netif.drops"]);
    }
}
