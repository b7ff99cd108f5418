using System.Diagnostics.Metrics;
using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>
/// The Mirage.Xenstore meter. Its counters are process-wide and other tests run beside these, so
/// each test checks that its own actions are counted (at least so much more, at least so many now).
/// </summary>
public sealed class MetricsTests : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _values = [];

    public MetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == XenstoreMetrics.MeterName)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
                key += $"|{tag.Key}={tag.Value}";
            lock (_values)
                _values[key] = value;
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The instruments' values now, by instrument name and tags (<c>name|tag=value</c>); 0 when none was reported.</summary>
    private Func<string, long> Collect()
    {
        lock (_values)
            _values.Clear();
        _listener.RecordObservableInstruments();
        Dictionary<string, long> copy;
        lock (_values)
            copy = new(_values);
        return key => copy.GetValueOrDefault(key);
    }

    [Fact]
    public async Task Requests_are_counted_by_type_on_both_sides()
    {
        using var server = new XenstoreServer();
        await using var client = XenstoreClient.Connect(server.Connect());
        await client.WriteAsync("/metrics/requests", "v");
        var before = Collect();
        for (var i = 0; i < 3; i++)
            await client.ReadAsync("/metrics/requests");
        var after = Collect();
        Assert.True(after("xenstore.client.requests|xenstore.type=Read") - before("xenstore.client.requests|xenstore.type=Read") >= 3);
        Assert.True(after("xenstore.server.requests|xenstore.type=Read") - before("xenstore.server.requests|xenstore.type=Read") >= 3);
    }

    [Fact]
    public async Task Connections_watches_and_domains_are_counted_while_they_exist()
    {
        using var server = new XenstoreServer();
        await using var dom0 = XenstoreClient.Connect(server.Connect());
        await using var other = XenstoreClient.Connect(server.Connect());
        await dom0.IntroduceAsync(9, 1, 2);
        var before = Collect();
        await using var watch = dom0.WatchAsync("/metrics/watched").GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync().AsTask().Within());
        var now = Collect();
        Assert.True(now("xenstore.server.connections") >= 2);
        Assert.True(now("xenstore.server.domains") >= 1);
        Assert.True(now("xenstore.server.watches") >= 1);
        Assert.True(now("xenstore.client.watch_events") - before("xenstore.client.watch_events") >= 1);
    }

    [Fact]
    public async Task The_daemon_counts_quota_hits_by_quota()
    {
        using var server = new XenstoreServer(new XenstoreServerOptions { MaxTransactionsPerConnection = 0 });
        await using var client = XenstoreClient.Connect(server.Connect());
        var before = Collect();
        await Assert.ThrowsAsync<XenstoreException>(() => client.TransactionAsync(_ => Task.CompletedTask)).Within();
        var after = Collect();
        Assert.True(after("xenstore.server.quota_hits|xenstore.quota=transactions") - before("xenstore.server.quota_hits|xenstore.quota=transactions") >= 1);
        Assert.True(after("xenstore.client.quota_hits|xenstore.quota=daemon") - before("xenstore.client.quota_hits|xenstore.quota=daemon") >= 1);
    }

    [Fact]
    public async Task A_peer_dropped_for_not_reading_its_events_is_an_output_quota_hit()
    {
        using var server = new XenstoreServer(new XenstoreServerOptions { MaxPendingOutputBytes = 256 });
        await using var writer = XenstoreClient.Connect(server.Connect());
        // A raw peer that watches and then never reads.
        await using var idle = new Raw(server.Connect());
        await idle.SendAsync(XsMessageType.Watch, Raw.Args("/metrics/flood", "t"));
        const string Key = "xenstore.server.quota_hits|xenstore.quota=output";
        var before = Collect()(Key);
        // Long paths make long events: the in-heap pipe's own buffer fills after a few dozen.
        var path = "/metrics/flood/" + new string('x', 2000);
        var hits = 0L;
        for (var i = 0; i < 200 && hits == 0; i++)
        {
            await writer.WriteAsync(path, "v");
            hits = Collect()(Key) - before;
        }
        Assert.True(hits >= 1);
    }
}
