using System.Diagnostics.Metrics;
using Blkif.Storage;

namespace Blkif.Tests;

/// <summary>Requests, bytes, errors and requests in flight are published on the Mirage.Blkif meter.</summary>
public sealed class BlkifMetricsTests
{
    [Fact]
    public async Task Requests_by_operation_and_bytes_are_counted_on_both_sides()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(1 << 20),
            new BlkbackOptions { Name = "metrics-rw" }, new BlkfrontOptions { Name = "metrics-rw" });
        await disk.Frontend.WriteAsync(0, new byte[8192], TestData.Timeout());
        await disk.Frontend.ReadAsync(4096, new byte[4096], TestData.Timeout());
        await disk.Frontend.FlushAsync(TestData.Timeout());

        foreach (var side in new[] { "frontend", "backend" })
        {
            var seen = Collect("metrics-rw", side);
            Assert.Equal(1, seen["blkif.requests/read"]);
            Assert.Equal(1, seen["blkif.requests/write"]);
            Assert.Equal(1, seen["blkif.requests/flush_diskcache"]);
            Assert.Equal(0, seen["blkif.requests/discard"]);
            Assert.Equal(4096, seen["blkif.bytes/read"]);
            Assert.Equal(8192, seen["blkif.bytes/write"]);
            Assert.Equal(0, seen["blkif.errors"]);
            Assert.Equal(0, seen["blkif.in_flight"]);
        }
    }

    [Fact]
    public async Task A_request_the_backend_refuses_is_counted_as_an_error()
    {
        await using var front = new RawFrontend(new RecordingStorage(1 << 20), new BlkbackOptions { Name = "metrics-error" });

        var response = front.Send(RawFrontend.Request(BlkifOperation.Read, front.Capacity, RawFrontend.Segment(front.Data.Refs[0])));

        Assert.Equal(BlkifStatus.Error, response.Status);
        var seen = Collect("metrics-error", "backend");
        Assert.Equal(1, seen["blkif.errors"]);
        Assert.Equal(1, seen["blkif.requests/read"]);
        Assert.Equal(0, seen["blkif.bytes/read"]);
    }

    [Fact]
    public async Task A_request_being_served_is_in_flight_on_both_sides_until_it_is_answered()
    {
        var storage = new GatedStorage(1 << 20); // the disk disposes it
        await using var disk = InHeapDisk.Start(storage,
            new BlkbackOptions { Name = "metrics-in-flight" }, new BlkfrontOptions { Name = "metrics-in-flight" });

        var read = disk.Frontend.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask();
        await storage.Entered.Task.WaitAsync(TestData.Timeout());
        Assert.Equal(1, Collect("metrics-in-flight", "frontend")["blkif.in_flight"]);
        Assert.Equal(1, Collect("metrics-in-flight", "backend")["blkif.in_flight"]);

        storage.Release.Set();
        await read;
        Assert.Equal(0, Collect("metrics-in-flight", "frontend")["blkif.in_flight"]);
        Assert.Equal(0, Collect("metrics-in-flight", "backend")["blkif.in_flight"]);
    }

    // One collection of the named disk's instruments on one side: "instrument/tag value" for tagged ones.
    private static Dictionary<string, long> Collect(string name, string side)
    {
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == BlkifMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(kv => kv.Key, kv => kv.Value);
            if (!Equals(t["blkif.name"], name) || !Equals(t["blkif.side"], side))
                return;
            var key = t.TryGetValue("blkif.operation", out var op) ? $"{instrument.Name}/{op}"
                : t.TryGetValue("blkif.direction", out var direction) ? $"{instrument.Name}/{direction}"
                : instrument.Name;
            seen[key] = seen.GetValueOrDefault(key) + value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    /// <summary>A memory disk whose reads wait until the test lets them go.</summary>
    private sealed class GatedStorage(long length) : IBlockStorage
    {
        private readonly MemoryStorage _inner = new(length);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ManualResetEventSlim Release { get; } = new();

        public long Length => _inner.Length;
        public int SectorSize => _inner.SectorSize;
        public int PhysicalSectorSize => _inner.PhysicalSectorSize;
        public bool IsReadOnly => _inner.IsReadOnly;
        public bool CanDiscard => _inner.CanDiscard;
        public int DiscardGranularity => _inner.DiscardGranularity;

        public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
        {
            Entered.TrySetResult();
            Assert.True(Release.Wait(TimeSpan.FromSeconds(30)), "the test never let the read go");
            _inner.Read(offset, buffers);
        }

        public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers) => _inner.Write(offset, buffers);
        public void Flush() => _inner.Flush();
        public void Discard(long offset, long length) => _inner.Discard(offset, length);

        public void Dispose()
        {
            Release.Set();
            Release.Dispose();
            _inner.Dispose();
        }
    }
}
