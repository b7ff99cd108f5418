using System.Buffers.Binary;
using System.Diagnostics.Metrics;

namespace Vchan.Tests;

/// <summary>The "Mirage.Vchan" meter: bytes each way, waits and the peer's faults, from the ends' own counters.</summary>
public class MetricsTests
{
    [Fact]
    public async Task The_meter_counts_bytes_waits_and_faults()
    {
        using var pair = VchanPair.Create(0, 0);
        pair.Server.SpinTime = TimeSpan.Zero;
        // A reader that finds nothing waits on the event channel: one wait, then the bytes.
        var read = pair.Server.ReadAsync(new byte[100]).AsTask();
        pair.Client.Write(new byte[300]);
        var buffer = new byte[300];
        var got = await read.WaitAsync(TimeSpan.FromSeconds(30));
        while (got < 300)
            got += pair.Server.TryRead(buffer.AsSpan(got));
        // A peer that moves an index backwards: one fault.
        BinaryPrimitives.WriteUInt32LittleEndian(pair.Control.Span[(VchanControlPage.LeftOffset + 4)..], 100);
        Assert.Throws<VchanProtocolException>(() => pair.Server.TryRead(new byte[1]));

        var server = Collect(pair.Server);
        var client = Collect(pair.Client);
        Assert.Equal(300, server[("vchan.bytes", "read")]);
        Assert.Equal(0, server[("vchan.bytes", "write")]);
        Assert.Equal(300, client[("vchan.bytes", "write")]);
        Assert.True(server[("vchan.waits", "read")] >= 1);
        Assert.Equal(1, server[("vchan.faults", "")]);
        Assert.Equal(0, client[("vchan.faults", "")]);
    }

    // One collection of one end's Mirage.Vchan instruments, keyed by instrument and direction (other
    // tests' ends run meanwhile, each on its own meter).
    private static Dictionary<(string, string), long> Collect(VchanEndpoint end)
    {
        var values = new Dictionary<(string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == VchanMetrics.MeterName && instrument.Meter == end.Meter)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var direction = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "vchan.direction")
                    direction = (string)tag.Value!;
            }
            values[(instrument.Name, direction)] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
