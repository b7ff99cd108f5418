using Blkif.Storage;
using FsCheck;
using FsCheck.Fluent;

namespace Blkif.Tests;

/// <summary>The seekable stream over a blkfront: any offset and length, partial sectors read, modified and written back.</summary>
public sealed class BlockDeviceStreamTests
{
    private const int Disk = 256 << 10;

    [Fact]
    public void Unaligned_writes_and_reads_match_a_memory_stream() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(10), Prop.ForAll(
            Arb.From(Gen.Elements(512, 4096)),
            Arb.From(Gen.Choose(0, Disk - 1).SelectMany(p => Gen.Choose(0, Math.Min(20_000, Disk - p)).Select(n => (p, n))).ListOf(12)),
            (sectorSize, writes) =>
            {
                var disk = InHeapDisk.Start(new MemoryStorage(Disk, sectorSize));
                try
                {
                    var stream = disk.Frontend.AsStream();
                    var backing = new byte[Disk];
                    var model = new MemoryStream(backing);
                    var seed = 0;
                    foreach (var (position, length) in writes)
                    {
                        var data = TestData.Pattern(length, seed++);
                        stream.Position = position;
                        stream.Write(data);
                        model.Position = position;
                        model.Write(data);
                        Assert.Equal(model.Position, stream.Position);
                    }
                    foreach (var (position, length) in writes)
                    {
                        var got = new byte[length];
                        stream.Position = position;
                        Assert.Equal(length, stream.Read(got));
                        Assert.Equal(backing.AsSpan(position, length).ToArray(), got);
                    }
                }
                finally
                {
                    disk.DisposeAsync().AsTask().Wait();
                }
            }));

    [Fact]
    public async Task The_stream_has_the_device_length_and_seeks_from_the_end()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        await using var stream = disk.Frontend.AsStream();
        Assert.True(stream.CanSeek);
        Assert.Equal(Disk, stream.Length);
        Assert.Equal(Disk - 100, stream.Seek(-100, SeekOrigin.End));
    }

    [Fact]
    public async Task A_read_at_the_end_returns_nothing_and_one_near_it_is_cut_short()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        await using var stream = disk.Frontend.AsStream();
        stream.Position = Disk;
        Assert.Equal(0, await stream.ReadAsync(new byte[10]));
        stream.Position = Disk - 3;
        Assert.Equal(3, await stream.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task A_write_past_the_end_is_refused()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        await using var stream = disk.Frontend.AsStream();
        stream.Position = Disk - 3;
        await Assert.ThrowsAsync<IOException>(async () => await stream.WriteAsync(new byte[10]));
    }

    [Fact]
    public async Task A_read_only_device_gives_a_read_only_stream()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk, readOnly: true));
        await using var stream = disk.Frontend.AsStream();
        Assert.False(stream.CanWrite);
        Assert.Throws<NotSupportedException>(() => stream.Write(new byte[1]));
    }

    [Fact]
    public async Task Copying_the_whole_stream_out_gives_the_disk()
    {
        var storage = new MemoryStorage(Disk);
        TestData.Pattern(Disk, 5).CopyTo(storage.Bytes);
        await using var disk = InHeapDisk.Start(storage);
        await using var stream = disk.Frontend.AsStream();
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(storage.Bytes.ToArray(), copy.ToArray());
    }
}
