using Blkif.Storage;
namespace Blkif.Tests;

/// <summary>The raw image file storage: preadv/pwritev, fdatasync, hole punching, read-only files.</summary>
public sealed class RawImageStorageTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"blkif-{Guid.NewGuid():N}.img");

    public RawImageStorageTests() => File.WriteAllBytes(_path, TestData.Pattern(1 << 20, 1));

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void The_size_is_the_file_size_in_whole_sectors()
    {
        File.AppendAllText(_path, "tail");
        using var storage = RawImageStorage.Open(_path, sectorSize: 4096);
        Assert.Equal(1 << 20, storage.Length);
    }

    [Fact]
    public void A_scattered_write_lands_in_order_in_the_file()
    {
        using (var storage = RawImageStorage.Open(_path))
        {
            var a = TestData.Pattern(512, 2);
            var b = TestData.Pattern(4096, 3);
            storage.Write(8192, [a, b]);
            storage.Flush();
        }
        var file = File.ReadAllBytes(_path);
        Assert.Equal(TestData.Pattern(512, 2), file.AsSpan(8192, 512).ToArray());
        Assert.Equal(TestData.Pattern(4096, 3), file.AsSpan(8192 + 512, 4096).ToArray());
    }

    [Fact]
    public void A_scattered_read_fills_the_buffers_in_order()
    {
        using var storage = RawImageStorage.Open(_path);
        var a = new byte[1024];
        var b = new byte[3072];
        storage.Read(4096, [a, b]);
        var file = File.ReadAllBytes(_path);
        Assert.Equal(file.AsSpan(4096, 1024).ToArray(), a);
        Assert.Equal(file.AsSpan(5120, 3072).ToArray(), b);
    }

    [Fact]
    public void A_single_buffer_read_and_write_move_exactly_that_range()
    {
        var data = TestData.Pattern(4096, 4);
        using (var storage = RawImageStorage.Open(_path))
        {
            storage.Write(12288, [data]);
            var back = new byte[4096];
            storage.Read(12288, [back]);
            Assert.Equal(data, back);
        }
        var file = File.ReadAllBytes(_path);
        Assert.Equal(data, file.AsSpan(12288, 4096).ToArray());
        Assert.Equal(TestData.Pattern(1 << 20, 1).AsSpan(8192, 4096).ToArray(), file.AsSpan(8192, 4096).ToArray());
        Assert.Equal(TestData.Pattern(1 << 20, 1).AsSpan(16384, 4096).ToArray(), file.AsSpan(16384, 4096).ToArray());
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void A_read_of_as_many_vectors_as_a_ring_request_or_one_more_is_complete(int count)
    {
        using var storage = RawImageStorage.Open(_path);
        var buffers = Enumerable.Range(0, count).Select(_ => new Memory<byte>(new byte[4096])).ToArray();
        storage.Read(4096, buffers);
        var file = File.ReadAllBytes(_path);
        for (var i = 0; i < buffers.Length; i++)
            Assert.True(buffers[i].Span.SequenceEqual(file.AsSpan(4096 + i * 4096, 4096)), $"buffer {i}");
    }

    [Fact]
    public void A_read_of_more_vectors_than_iov_max_is_complete()
    {
        using var storage = RawImageStorage.Open(_path);
        var buffers = Enumerable.Range(0, 1500).Select(_ => new Memory<byte>(new byte[512])).ToArray();
        storage.Read(0, buffers);
        var file = File.ReadAllBytes(_path);
        for (var i = 0; i < buffers.Length; i++)
            Assert.True(buffers[i].Span.SequenceEqual(file.AsSpan(i * 512, 512)), $"buffer {i}");
    }

    [Fact]
    public void A_discard_punches_a_hole_that_reads_as_zeros_and_keeps_the_size()
    {
        using (var storage = RawImageStorage.Open(_path))
            storage.Discard(65536, 131072);
        var file = File.ReadAllBytes(_path);
        Assert.Equal(1 << 20, file.Length);
        Assert.True(file.AsSpan(65536, 131072).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(TestData.Pattern(1 << 20, 1).AsSpan(0, 65536).ToArray(), file.AsSpan(0, 65536).ToArray());
    }

    [Fact]
    public void A_read_only_image_refuses_writes_and_offers_no_discard()
    {
        using var storage = RawImageStorage.Open(_path, readOnly: true);
        Assert.True(storage.IsReadOnly);
        Assert.False(storage.CanDiscard);
        Assert.Throws<IOException>(() => storage.Write(0, [new byte[512]]));
    }

    [Fact]
    public void A_range_outside_the_image_is_refused()
    {
        using var storage = RawImageStorage.Open(_path);
        Assert.Throws<ArgumentOutOfRangeException>(() => storage.Read((1 << 20) - 512, [new byte[1024]]));
    }

    [Fact]
    public void An_image_smaller_than_a_sector_is_refused()
    {
        File.WriteAllBytes(_path, new byte[100]);
        Assert.Throws<IOException>(() => RawImageStorage.Open(_path));
    }
}
