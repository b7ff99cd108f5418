using Blkif.Storage;
using Xen.Gnt;

namespace Blkif.Tests;

/// <summary>Reads and writes in pages the frontend granted to the backend (<c>Blkfront.AllocateSharedBuffer</c>): the backend moves the data itself.</summary>
public sealed class SharedBufferTests
{
    private const int Disk = 8 << 20;

    [Fact]
    public async Task A_read_lands_in_the_buffer_while_the_backend_reads()
    {
        var data = TestData.Pattern(Disk, 7);
        var storage = new ObservingStorage(new MemoryStorage(Disk));
        data.CopyTo(((MemoryStorage)storage.Inner).Bytes);
        await using var disk = InHeapDisk.Start(storage);
        using var buffer = disk.Frontend.AllocateSharedBuffer(8);
        var expected = data.AsSpan(3 * 4096, 5 * 4096 + 512).ToArray();
        var seen = false;
        // The backend's storage fills the caller's pages themselves: no copy follows.
        storage.AfterRead = () => seen = buffer.ReadOnlySpan[..expected.Length].SequenceEqual(expected);
        await disk.Frontend.ReadAsync(3 * 4096, buffer.Memory[..expected.Length], TestData.Timeout());
        Assert.True(seen, "the data reached the buffer only after the backend's read");
        Assert.Equal(expected, buffer.ReadOnlySpan[..expected.Length].ToArray());
    }

    [Fact]
    public async Task A_read_longer_than_a_request_fills_every_page_in_order()
    {
        var data = TestData.Pattern(Disk, 8);
        var storage = new MemoryStorage(Disk);
        data.CopyTo(storage.Bytes);
        await using var disk = InHeapDisk.Start(storage);
        // Past one request's segments: several requests, each naming its own part of the buffer.
        var pages = new BlkbackOptions().MaxIndirectSegments + 300;
        using var buffer = disk.Frontend.AllocateSharedBuffer(pages + 1);
        var target = buffer.Memory.Slice(4096, pages * 4096);
        await disk.Frontend.ReadAsync(8192, target, TestData.Timeout());
        Assert.Equal(data.AsSpan(8192, pages * 4096).ToArray(), target.ToArray());
    }

    [Fact]
    public async Task A_write_from_the_buffer_reaches_the_disk()
    {
        var storage = new ObservingStorage(new MemoryStorage(Disk));
        await using var disk = InHeapDisk.Start(storage);
        using var buffer = disk.Frontend.AllocateSharedBuffer(4);
        var data = TestData.Pattern(4 * 4096, 9);
        data.CopyTo(buffer.Span);
        await disk.Frontend.WriteAsync(4096, buffer.Memory, TestData.Timeout());
        Assert.Equal(data, ((MemoryStorage)storage.Inner).Bytes.Slice(4096, data.Length).ToArray());
    }

    [Fact]
    public async Task Memory_inside_a_page_of_the_buffer_is_copied_and_still_right()
    {
        var data = TestData.Pattern(Disk, 10);
        var storage = new ObservingStorage(new MemoryStorage(Disk));
        data.CopyTo(((MemoryStorage)storage.Inner).Bytes);
        await using var disk = InHeapDisk.Start(storage);
        using var buffer = disk.Frontend.AllocateSharedBuffer(4);
        var seen = true;
        // Not page-aligned: the request's own pages carry it, and the buffer fills only afterwards.
        var target = buffer.Memory.Slice(512, 8192);
        storage.AfterRead = () => seen = target.Span.SequenceEqual(data.AsSpan(0, 8192));
        await disk.Frontend.ReadAsync(0, target, TestData.Timeout());
        Assert.False(seen);
        Assert.Equal(data.AsSpan(0, 8192).ToArray(), target.ToArray());
    }

    [Fact]
    public async Task A_buffer_after_the_device_is_disposed_is_refused()
    {
        var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        await disk.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => disk.Frontend.AllocateSharedBuffer(1));
    }

    [Fact]
    public async Task A_buffer_given_back_is_lent_again_with_its_grants_and_cleared()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        var first = disk.Frontend.AllocateSharedBuffer(4);
        var refs = first.Refs.ToArray();
        // The backend maps the pages for this read, and keeps them.
        await disk.Frontend.ReadAsync(0, first.Memory, TestData.Timeout());
        first.Span.Fill(0xA5);
        first.Dispose();
        // The backend keeps persistent grants mapped: the same refs come back, not new ones.
        using var second = disk.Frontend.AllocateSharedBuffer(4);
        Assert.Equal(refs, second.Refs.ToArray());
        Assert.True(second.ReadOnlySpan.IndexOfAnyExcept((byte)0) < 0, "a lent buffer starts zeroed");
        // Another size is granted afresh.
        using var other = disk.Frontend.AllocateSharedBuffer(2);
        Assert.Empty(other.Refs.Intersect(refs));
    }

    [Fact]
    public async Task A_buffer_disposed_during_its_read_is_lent_again_only_once_the_read_is_answered()
    {
        var storage = new ObservingStorage(new MemoryStorage(Disk));
        await using var disk = InHeapDisk.Start(storage);
        var first = disk.Frontend.AllocateSharedBuffer(4);
        var refs = first.Refs.ToArray();
        using var reading = new ManualResetEventSlim();
        using var answer = new ManualResetEventSlim();
        // The backend's read waits inside the storage until the test lets it go: the request is in flight.
        storage.BeforeRead = () =>
        {
            reading.Set();
            Assert.True(answer.Wait(TimeSpan.FromSeconds(30)));
        };
        var read = disk.Frontend.ReadAsync(0, first.Memory, TestData.Timeout()).AsTask();
        try
        {
            Assert.True(reading.Wait(TimeSpan.FromSeconds(30)));
            first.Dispose();
            // The backend still writes into the first buffer's pages: another caller must not get them yet.
            using var meanwhile = disk.Frontend.AllocateSharedBuffer(4);
            Assert.Empty(meanwhile.Refs.Intersect(refs));
        }
        finally
        {
            storage.BeforeRead = null;
            answer.Set();
        }
        await read;
        // Answered: now they come back (beside the buffer lent meanwhile, which was given back too).
        using var one = disk.Frontend.AllocateSharedBuffer(4);
        using var two = disk.Frontend.AllocateSharedBuffer(4);
        Assert.True(refs.SequenceEqual(one.Refs) || refs.SequenceEqual(two.Refs), "the first buffer's pages are lent again once its read is answered");
    }

    [Fact]
    public async Task Buffers_allocated_over_and_over_keep_the_backends_persistent_map_bounded()
    {
        var data = TestData.Pattern(Disk, 11);
        var storage = new MemoryStorage(Disk);
        data.CopyTo(storage.Bytes);
        // Room for the ring's own request pages and one buffer, not for a buffer per round.
        await using var disk = InHeapDisk.Start(storage, new BlkbackOptions { MaxPersistentGrantsPerQueue = 48 }, new BlkfrontOptions { MaxRequestsPerQueue = 2 });
        var mapped = new HashSet<GrantRef>();
        for (var round = 0; round < 8; round++)
        {
            using var buffer = disk.Frontend.AllocateSharedBuffer(16);
            mapped.UnionWith(buffer.Refs);
            await disk.Frontend.ReadAsync(round * 65536, buffer.Memory, TestData.Timeout());
            Assert.Equal(data.AsSpan(round * 65536, 65536).ToArray(), buffer.ReadOnlySpan.ToArray());
        }
        Assert.Equal(16, mapped.Count);
    }

    private sealed class ObservingStorage(IBlockStorage inner) : IBlockStorage
    {
        public IBlockStorage Inner => inner;

        public Action? BeforeRead { get; set; }

        public Action? AfterRead { get; set; }

        public long Length => inner.Length;

        public int SectorSize => inner.SectorSize;

        public int PhysicalSectorSize => inner.PhysicalSectorSize;

        public bool IsReadOnly => inner.IsReadOnly;

        public bool CanDiscard => inner.CanDiscard;

        public int DiscardGranularity => inner.DiscardGranularity;

        public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
        {
            BeforeRead?.Invoke();
            inner.Read(offset, buffers);
            AfterRead?.Invoke();
        }

        public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers) => inner.Write(offset, buffers);

        public void Flush() => inner.Flush();

        public void Discard(long offset, long length) => inner.Discard(offset, length);

        public void Dispose() => inner.Dispose();
    }
}
