using Blkif.Storage;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Blkif.Tests;

/// <summary>
/// Model-based random I/O: a blkfront and a blkback on a memory disk, in random configurations
/// (ring order, queues, indirect segments, persistent grants, sector size), against a plain byte
/// array. Reads, writes, flushes, discards, and batches with many requests in flight at once:
/// overlapping reads alongside writes to other ranges. Every read returns exactly the model's bytes.
/// </summary>
public sealed class BlkifModelTests
{
    private const int DiskBytes = 1 << 20;

    [Fact]
    public void The_device_agrees_with_a_byte_array_over_random_io() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), new DiskMachine().ToProperty());

    internal sealed record Setting(int SectorSize, int RingOrder, int Queues, int IndirectSegments, bool Persistent)
    {
        public override string ToString() =>
            $"sector {SectorSize}, order {RingOrder}, {Queues} queue(s), indirect {IndirectSegments}, persistent {Persistent}";
    }

    internal sealed class Model(Setting setting)
    {
        public Setting Setting { get; } = setting;
        public byte[] Bytes { get; } = new byte[DiskBytes];
        public Model Clone()
        {
            var copy = new Model(Setting);
            Bytes.CopyTo(copy.Bytes, 0);
            return copy;
        }
        public override string ToString() => Setting.ToString();
    }

    internal sealed class Actual(InHeapDisk disk) : IDisposable
    {
        public Blkfront<Xen.Evtchn.InHeap.InHeapEvents, Xen.Gnt.InHeap.InHeapMemory> Device => disk.Frontend;
        public void Dispose() => disk.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
        public override string ToString() => "disk";
    }

    private sealed class DiskSetup(Setting setting) : Setup<Actual, Model>
    {
        public override Actual Actual() => new(InHeapDisk.Start(
            new MemoryStorage(DiskBytes, setting.SectorSize),
            new BlkbackOptions { MaxIndirectSegments = setting.IndirectSegments, FeaturePersistent = setting.Persistent, MaxQueues = 4 },
            new BlkfrontOptions { RingPageOrder = setting.RingOrder, Queues = setting.Queues, MaxRequestsPerQueue = 8 }));

        public override Model Model() => new(setting);

        public override string ToString() => setting.ToString();
    }

    private sealed class DiskMachine : Machine<Actual, Model>
    {
        public DiskMachine() : base(25) { }

        public override Arbitrary<Setup<Actual, Model>> Setup =>
            Arb.From(
                from sector in Gen.Elements(512, 4096)
                from order in Gen.Choose(0, 4)
                from queues in Gen.Choose(1, 3)
                from indirect in Gen.Elements(0, 32, 256)
                from persistent in Gen.Elements(true, false)
                select (Setup<Actual, Model>)new DiskSetup(new Setting(sector, order, queues, indirect, persistent)));

        public override TearDown<Actual> TearDown => new Disposer();

        public override Gen<Operation<Actual, Model>> Next(Model model)
        {
            var unit = model.Setting.SectorSize;
            var sectors = DiskBytes / unit;
            // Mostly small requests, sometimes ones that need splitting and indirect pages.
            var range =
                from start in Gen.Choose(0, sectors - 1)
                from length in Gen.Frequency((6, Gen.Choose(1, 16)), (2, Gen.Choose(1, 128)), (1, Gen.Choose(1, sectors)))
                select (Offset: (long)start * unit, Length: Math.Min(length, sectors - start) * unit);
            return Gen.Frequency(
                (4, from r in range from seed in Gen.Choose(0, 1_000_000) select (Operation<Actual, Model>)new Write(r.Offset, r.Length, seed)),
                (4, range.Select(r => (Operation<Actual, Model>)new Read(r.Offset, r.Length))),
                (1, Gen.Constant((Operation<Actual, Model>)new Flush())),
                (1, range.Select(r => (Operation<Actual, Model>)new Discard(r.Offset, r.Length))),
                (2, Batch(unit)));
        }

        // Eight zones: each gets one write or several overlapping reads, all in flight together.
        private static Gen<Operation<Actual, Model>> Batch(int unit)
        {
            var zoneSectors = DiskBytes / 8 / unit;
            var zone =
                from isWrite in Gen.Elements(true, false)
                from count in Gen.Choose(1, 4)
                from ranges in Gen.Choose(0, zoneSectors - 1).SelectMany(s => Gen.Choose(1, Math.Min(8, zoneSectors - s)).Select(l => (s, l))).ListOf(count)
                from seed in Gen.Choose(0, 1_000_000)
                select (isWrite, ranges, seed);
            return zone.ListOf(8).Select(zones =>
            {
                var items = new List<BatchItem>();
                for (var z = 0; z < zones.Count; z++)
                {
                    var (isWrite, ranges, seed) = zones[z];
                    var zoneStart = (long)z * zoneSectors * unit;
                    if (isWrite)
                        items.Add(new BatchItem(true, zoneStart + (long)ranges[0].s * unit, ranges[0].l * unit, seed));
                    else
                        items.AddRange(ranges.Select(r => new BatchItem(false, zoneStart + (long)r.s * unit, r.l * unit, 0)));
                }
                return (Operation<Actual, Model>)new Concurrent(items);
            });
        }
    }

    private sealed class Disposer : TearDown<Actual>
    {
        public override void Actual(Actual actual) => actual.Dispose();
    }

    private static void Wait(ValueTask task)
    {
        if (!task.AsTask().Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("A block request did not complete within 30 s.");
    }

    private sealed class Write(long offset, int length, int seed) : Operation<Actual, Model>
    {
        public override Model Run(Model m)
        {
            var next = m.Clone();
            TestData.Pattern(length, seed).CopyTo(next.Bytes, offset);
            return next;
        }

        public override Property Check(Actual a, Model m)
        {
            Wait(a.Device.WriteAsync(offset, TestData.Pattern(length, seed)));
            return true.ToProperty();
        }

        public override string ToString() => $"Write({offset}, {length})";
    }

    private sealed class Read(long offset, int length) : Operation<Actual, Model>
    {
        public override Model Run(Model m) => m;

        public override Property Check(Actual a, Model m)
        {
            var buffer = new byte[length];
            Wait(a.Device.ReadAsync(offset, buffer));
            return buffer.AsSpan().SequenceEqual(m.Bytes.AsSpan((int)offset, length)).Label($"read {length} bytes at {offset}");
        }

        public override string ToString() => $"Read({offset}, {length})";
    }

    private sealed class Flush : Operation<Actual, Model>
    {
        public override Model Run(Model m) => m;

        public override Property Check(Actual a, Model m)
        {
            Wait(a.Device.FlushAsync());
            return true.ToProperty();
        }

        public override string ToString() => "Flush";
    }

    private sealed class Discard(long offset, int length) : Operation<Actual, Model>
    {
        public override Model Run(Model m)
        {
            var next = m.Clone();
            Array.Clear(next.Bytes, (int)offset, length);
            return next;
        }

        public override Property Check(Actual a, Model m)
        {
            Wait(a.Device.DiscardAsync(offset, length));
            return true.ToProperty();
        }

        public override string ToString() => $"Discard({offset}, {length})";
    }

    internal sealed record BatchItem(bool IsWrite, long Offset, int Length, int Seed);

    private sealed class Concurrent(List<BatchItem> items) : Operation<Actual, Model>
    {
        public override Model Run(Model m)
        {
            var next = m.Clone();
            foreach (var item in items.Where(i => i.IsWrite))
                TestData.Pattern(item.Length, item.Seed).CopyTo(next.Bytes, item.Offset);
            return next;
        }

        public override Property Check(Actual a, Model m)
        {
            // Everything is started before anything is awaited; reads never overlap a write in the batch.
            var buffers = items.Select(i => i.IsWrite ? TestData.Pattern(i.Length, i.Seed) : new byte[i.Length]).ToArray();
            var tasks = items.Select((i, k) => (i.IsWrite ? a.Device.WriteAsync(i.Offset, buffers[k]) : a.Device.ReadAsync(i.Offset, buffers[k])).AsTask()).ToArray();
            if (!Task.WaitAll(tasks, TimeSpan.FromSeconds(30)))
                throw new TimeoutException("A batch did not complete within 30 s.");
            var ok = items.Select((i, k) => i.IsWrite || buffers[k].AsSpan().SequenceEqual(m.Bytes.AsSpan((int)i.Offset, i.Length))).All(x => x);
            return ok.Label($"every read of the batch of {items.Count} returns the model's bytes");
        }

        public override string ToString() => $"Concurrent({string.Join(", ", items.Select(i => $"{(i.IsWrite ? "W" : "R")}{i.Offset}+{i.Length}"))})";
    }
}
