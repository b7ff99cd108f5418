using System.Runtime.CompilerServices;
using Blkif.Storage;
namespace Blkif.Tests;

/// <summary>The frontend's block device against a blkback on a memory disk, in one process.</summary>
public sealed class BlkfrontTests
{
    private const int Disk = 4 << 20;

    [Fact]
    public async Task Written_sectors_read_back()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        var data = TestData.Pattern(8192, 1);
        await disk.Frontend.WriteAsync(4096, data);
        var back = new byte[8192];
        await disk.Frontend.ReadAsync(4096, back);
        Assert.Equal(data, back);
        Assert.Equal(data, ((MemoryStorage)disk.Storage).Bytes.Slice(4096, 8192).ToArray());
    }

    [Fact]
    public async Task Reads_return_what_the_disk_holds()
    {
        var storage = new MemoryStorage(Disk);
        var data = TestData.Pattern(Disk, 2);
        data.CopyTo(storage.Bytes);
        await using var disk = InHeapDisk.Start(storage);
        var back = new byte[3 << 20];
        await disk.Frontend.ReadAsync(512, back);
        Assert.Equal(data.AsSpan(512, back.Length).ToArray(), back);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Every_ring_order_carries_requests(int order)
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), frontOptions: new BlkfrontOptions { RingPageOrder = order });
        Assert.Equal(order, disk.Frontend.FrontendInfo.RingPageOrder);
        Assert.Equal(1 << order, disk.Frontend.FrontendInfo.Queues[0].RingRefs.Count);
        await RoundTripsManyInFlight(disk.Frontend, 200);
    }

    [Fact]
    public async Task Several_queues_carry_requests()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { MaxQueues = 4 }, new BlkfrontOptions { Queues = 3 });
        Assert.Equal(3, disk.Frontend.FrontendInfo.Queues.Count);
        await RoundTripsManyInFlight(disk.Frontend, 200);
    }

    [Fact]
    public async Task A_call_made_where_an_answer_completed_goes_down_that_answers_queue()
    {
        const int Reads = 40;
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { MaxQueues = 4 }, new BlkfrontOptions { Queues = 4 });
        var front = disk.Frontend;
        var buffer = new byte[4096];
        // Each read is made by the continuation of the one before, which runs where that one's answer was
        // completed (no context to go back to); only a read that completed before its await was reached
        // is made from elsewhere.
        await Task.Run(async () =>
        {
            for (var i = 0; i < Reads; i++)
                await front.ReadAsync(i * 4096L, buffer, TestData.Timeout()).ConfigureAwait(false);
        });
        var perQueue = Enumerable.Range(0, 4).Select(q => front.RequestsOn(q)).ToArray();
        Assert.Equal(Reads, perQueue.Sum());
        // Handed round the queues in turn, each would have about a quarter.
        Assert.True(perQueue.Max() >= Reads - 4, $"Requests per queue: {string.Join(", ", perQueue)}");
    }

    [Fact]
    public async Task Calls_larger_than_a_requests_inline_segments_go_round_the_queues_wherever_they_are_made()
    {
        const int Reads = 40;
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { MaxQueues = 4 }, new BlkfrontOptions { Queues = 4 });
        var front = disk.Frontend;
        var buffer = new byte[64 << 10];
        await Task.Run(async () =>
        {
            for (var i = 0; i < Reads; i++)
                await front.ReadAsync(i * (long)buffer.Length, buffer, TestData.Timeout()).ConfigureAwait(false);
        });
        var perQueue = Enumerable.Range(0, 4).Select(q => front.RequestsOn(q)).ToArray();
        Assert.Equal(Reads, perQueue.Sum());
        Assert.True(perQueue.Min() >= Reads / 4 - 1, $"Requests per queue: {string.Join(", ", perQueue)}");
    }

    [Fact]
    public void A_disposed_device_is_not_kept_alive_by_the_operation_a_thread_keeps_spare()
    {
        var pool = ReadOnceAndDispose();
        // The thread that finished the disposal may still be returning through it: collect until the
        // pool is gone or the deadline passes.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            if (!pool.IsAlive || DateTime.UtcNow > deadline)
                break;
            Thread.Yield();
        }
        Assert.False(pool.IsAlive, "a thread's spare operation still holds the disposed device's pool");
    }

    // The read's operation goes back to the spare of the thread that consumed its result: one of the
    // thread pool's, which outlives the device.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ReadOnceAndDispose()
    {
        var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        disk.Frontend.ReadAsync(0, new byte[4096], TestData.Timeout()).AsTask().Wait(TimeSpan.FromSeconds(30));
        var pool = new WeakReference(disk.Frontend.OperationPool);
        disk.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
        return pool;
    }

    [Fact]
    public async Task Queue_count_is_capped_by_the_backend()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { MaxQueues = 2 }, new BlkfrontOptions { Queues = 8 });
        Assert.Equal(2, disk.Frontend.FrontendInfo.Queues.Count);
    }

    [Fact]
    public async Task Without_indirect_segments_large_requests_are_split_into_direct_ones()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { MaxIndirectSegments = 0 });
        Assert.Equal(BlkifConstants.MaxSegmentsPerRequest, disk.Frontend.MaxSegmentsPerRequest);
        var data = TestData.Pattern(1 << 20, 3);
        await disk.Frontend.WriteAsync(0, data);
        var back = new byte[data.Length];
        await disk.Frontend.ReadAsync(0, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task Indirect_requests_carry_up_to_the_agreed_segments()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { MaxIndirectSegments = 1024 }, new BlkfrontOptions { MaxSegmentsPerRequest = 1024 });
        Assert.Equal(1024, disk.Frontend.MaxSegmentsPerRequest);
        var data = TestData.Pattern(4 << 20, 4);
        await disk.Frontend.WriteAsync(0, data);
        var back = new byte[data.Length];
        await disk.Frontend.ReadAsync(0, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task Without_persistent_grants_the_backend_maps_per_request()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { FeaturePersistent = false });
        await RoundTripsManyInFlight(disk.Frontend, 100);
        var data = TestData.Pattern(1 << 20, 5);
        await disk.Frontend.WriteAsync(1 << 20, data);
        var back = new byte[data.Length];
        await disk.Frontend.ReadAsync(1 << 20, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task Persistent_grants_are_mapped_once_and_reused()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        var buffer = new byte[4096];
        for (var i = 0; i < 50; i++)
            await disk.Frontend.WriteAsync(i * 4096, buffer);
        // One request at a time takes the same id and page: the ring pages and that one page stay mapped.
        Assert.Equal(2, disk.GrantHub.LiveMappings);
    }

    [Fact]
    public async Task Flush_reaches_the_storage()
    {
        var storage = new MemoryStorage(Disk);
        await using var disk = InHeapDisk.Start(storage);
        await disk.Frontend.WriteAsync(0, new byte[512]);
        await disk.Frontend.FlushAsync();
        Assert.Equal(1, storage.Flushes);
    }

    [Fact]
    public async Task Flush_falls_back_to_an_empty_barrier()
    {
        var storage = new MemoryStorage(Disk);
        await using var disk = InHeapDisk.Start(storage, new BlkbackOptions { FeatureFlushCache = false });
        await disk.Frontend.FlushAsync();
        Assert.Equal(1, storage.Flushes);
    }

    [Fact]
    public async Task Disposal_does_not_wait_for_a_blocked_completion_and_the_pages_outlive_it()
    {
        var storage = new BlockingStorage(new MemoryStorage(Disk));
        await using var disk = InHeapDisk.Start(storage);
        using var gate = new ManualResetEventSlim();
        using var inCallback = new ManualResetEventSlim();
        // The caller's continuation runs inline on the completion batch and blocks it. The backend holds
        // the write until the continuation is attached: one attached to a write already done would run
        // (and block) here.
        var write = disk.Frontend.WriteAsync(0, new byte[4096]).AsTask();
        Assert.True(storage.Entered.Wait(TimeSpan.FromSeconds(30)));
        var blocked = write.ContinueWith(_ =>
        {
            inCallback.Set();
            gate.Wait();
        }, TaskContinuationOptions.ExecuteSynchronously);
        storage.Release.Set();
        Assert.True(inCallback.Wait(TimeSpan.FromSeconds(30)));
        var sharesDuringCallback = disk.GrantHub.LiveShares;
        await disk.Frontend.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        // The batch still runs: the slots' pages are still granted.
        Assert.True(disk.GrantHub.LiveShares > 0);
        gate.Set();
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        // The batch gives up its lease just after the callback returns: then the pages go.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (disk.GrantHub.LiveShares != 0)
            await Task.Delay(1, timeout.Token);
        Assert.True(sharesDuringCallback > 0);
    }

    [Fact]
    public async Task Without_flush_or_barrier_every_write_is_durable_before_it_is_acknowledged()
    {
        // The frontend has no way to ask for durability, so the backend writes through.
        var storage = new MemoryStorage(Disk);
        await using var disk = InHeapDisk.Start(storage, new BlkbackOptions { FeatureFlushCache = false, FeatureBarrier = false });
        await disk.Frontend.WriteAsync(0, new byte[512]);
        Assert.Equal(1, storage.Flushes);
        await disk.Frontend.FlushAsync();
        Assert.Equal(1, storage.Flushes);
    }

    [Fact]
    public async Task With_flush_offered_writes_are_not_flushed_one_by_one()
    {
        var storage = new MemoryStorage(Disk);
        await using var disk = InHeapDisk.Start(storage);
        await disk.Frontend.WriteAsync(0, new byte[512]);
        await disk.Frontend.WriteAsync(512, new byte[512]);
        Assert.Equal(0, storage.Flushes);
    }

    [Fact]
    public async Task A_barrier_write_lands_and_flushes()
    {
        var storage = new MemoryStorage(Disk);
        await using var disk = InHeapDisk.Start(storage);
        var data = TestData.Pattern(64 << 10, 6);
        await disk.Frontend.WriteBarrierAsync(8192, data);
        Assert.Equal(data, storage.Bytes.Slice(8192, data.Length).ToArray());
        Assert.True(storage.Flushes >= 1);
    }

    [Fact]
    public async Task Barrier_is_refused_locally_when_not_offered()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk), new BlkbackOptions { FeatureBarrier = false });
        Assert.Throws<NotSupportedException>(() => { _ = disk.Frontend.WriteBarrierAsync(0, new byte[512]); });
    }

    [Fact]
    public async Task Discarded_sectors_read_as_zeros()
    {
        var storage = new MemoryStorage(Disk);
        TestData.Pattern(Disk, 7).CopyTo(storage.Bytes);
        await using var disk = InHeapDisk.Start(storage);
        Assert.True(disk.Frontend.CanDiscard);
        await disk.Frontend.DiscardAsync(1024, 3072);
        var back = new byte[3072];
        await disk.Frontend.ReadAsync(1024, back);
        Assert.All(back, b => Assert.Equal(0, b));
        Assert.Equal(1, storage.Discards);
    }

    [Fact]
    public async Task Discard_is_not_offered_for_storage_that_cannot()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk, canDiscard: false));
        Assert.False(disk.Backend.Info.FeatureDiscard);
        Assert.Throws<NotSupportedException>(() => { _ = disk.Frontend.DiscardAsync(0, 512); });
    }

    [Fact]
    public async Task A_read_only_disk_refuses_writes_with_an_error_status()
    {
        var storage = new MemoryStorage(Disk, readOnly: true);
        await using var disk = InHeapDisk.Start(storage);
        Assert.True(disk.Frontend.IsReadOnly);
        Assert.Equal(VdiskInfo.ReadOnly, disk.Backend.Info.Info);
        var e = await Assert.ThrowsAsync<BlkifIOException>(async () => await disk.Frontend.WriteAsync(0, TestData.Pattern(4096, 8)));
        Assert.Equal(BlkifStatus.Error, e.Status);
        Assert.True(storage.Bytes.IndexOfAnyExcept((byte)0) < 0, "the read-only disk was written");
    }

    [Fact]
    public async Task A_read_only_disk_still_reads()
    {
        var storage = new MemoryStorage(Disk, readOnly: true);
        TestData.Pattern(Disk, 9).CopyTo(storage.Bytes);
        await using var disk = InHeapDisk.Start(storage);
        var back = new byte[4096];
        await disk.Frontend.ReadAsync(4096, back);
        Assert.Equal(storage.Bytes.Slice(4096, 4096).ToArray(), back);
    }

    [Fact]
    public async Task A_4096_byte_sector_disk_reports_its_size_in_512_byte_units()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk, sectorSize: 4096));
        Assert.Equal(4096, disk.Frontend.SectorSize);
        // blkif.h: `sectors` counts 512-byte units whatever sector-size says; Linux's blkfront reads it so.
        Assert.Equal((ulong)(Disk / 512), disk.Backend.Info.Sectors);
        Assert.Equal(Disk, disk.Frontend.Length);
        var data = TestData.Pattern(12288, 10);
        await disk.Frontend.WriteAsync(8192, data);
        var back = new byte[12288];
        await disk.Frontend.ReadAsync(8192, back);
        Assert.Equal(data, back);
        Assert.Equal(data, ((MemoryStorage)disk.Storage).Bytes.Slice(8192, 12288).ToArray());
    }

    [Fact]
    public async Task A_4096_byte_sector_disk_refuses_partial_sectors_locally()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk, sectorSize: 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = disk.Frontend.ReadAsync(512, new byte[4096]); });
        Assert.Throws<ArgumentException>(() => { _ = disk.Frontend.ReadAsync(0, new byte[512]); });
    }

    [Fact]
    public async Task Requests_past_the_end_are_refused_locally()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = disk.Frontend.ReadAsync(Disk - 512, new byte[1024]); });
    }

    [Fact]
    public async Task Requests_in_flight_fail_cleanly_when_the_backend_dies()
    {
        await using var disk = InHeapDisk.Start(new MemoryStorage(Disk));
        await disk.Frontend.WriteAsync(0, new byte[4096]);
        var blocked = new BlockingStorage(new MemoryStorage(Disk));
        await using var stuck = InHeapDisk.Start(blocked);
        var write = stuck.Frontend.WriteAsync(0, TestData.Pattern(65536, 11)).AsTask();
        Assert.True(blocked.Entered.Wait(TimeSpan.FromSeconds(10)));
        stuck.KillBackend();
        var e = await Assert.ThrowsAsync<BlkifIOException>(() => write.WaitAsync(TestData.Timeout()));
        Assert.Null(e.Status);
        await Assert.ThrowsAsync<BlkifIOException>(async () => await stuck.Frontend.ReadAsync(0, new byte[512]));
        blocked.Release.Set();
    }

    [Fact]
    public async Task A_call_waiting_for_a_free_request_fails_when_the_device_closes()
    {
        var blocked = new BlockingStorage(new MemoryStorage(Disk));
        await using var disk = InHeapDisk.Start(blocked, frontOptions: new BlkfrontOptions { MaxRequestsPerQueue = 1 });
        var first = disk.Frontend.WriteAsync(0, new byte[4096]).AsTask();
        Assert.True(blocked.Entered.Wait(TimeSpan.FromSeconds(10)));
        var second = disk.Frontend.WriteAsync(4096, new byte[4096]).AsTask();
        Assert.False(second.IsCompleted);
        await disk.Frontend.DisposeAsync();
        await Assert.ThrowsAsync<BlkifIOException>(() => second.WaitAsync(TestData.Timeout()));
        await Assert.ThrowsAsync<BlkifIOException>(() => first.WaitAsync(TestData.Timeout()));
        blocked.Release.Set();
    }

    [Fact]
    public async Task Cancelling_a_call_waiting_for_a_free_request_cancels_it()
    {
        var blocked = new BlockingStorage(new MemoryStorage(Disk));
        await using var disk = InHeapDisk.Start(blocked, frontOptions: new BlkfrontOptions { MaxRequestsPerQueue = 1 });
        var first = disk.Frontend.WriteAsync(0, new byte[4096]).AsTask();
        Assert.True(blocked.Entered.Wait(TimeSpan.FromSeconds(10)));
        using var cancel = new CancellationTokenSource();
        var second = disk.Frontend.WriteAsync(4096, new byte[4096], cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(TestData.Timeout()));
        blocked.Release.Set();
        await first.WaitAsync(TestData.Timeout());
    }

    private static async Task RoundTripsManyInFlight(IBlockDevice device, int count)
    {
        var writes = new Task[count];
        for (var i = 0; i < count; i++)
            writes[i] = device.WriteAsync(i * 8192L, TestData.Pattern(8192, 100 + i)).AsTask();
        await Task.WhenAll(writes).WaitAsync(TestData.Timeout());
        var reads = new Task<byte[]>[count];
        for (var i = 0; i < count; i++)
        {
            var at = i * 8192L;
            reads[i] = Task.Run(async () =>
            {
                var b = new byte[8192];
                await device.ReadAsync(at, b);
                return b;
            });
        }
        await Task.WhenAll(reads).WaitAsync(TestData.Timeout());
        for (var i = 0; i < count; i++)
            Assert.Equal(TestData.Pattern(8192, 100 + i), reads[i].Result);
    }
}

/// <summary>A storage whose writes block until released, to catch a backend mid-write.</summary>
internal sealed class BlockingStorage(MemoryStorage inner) : IBlockStorage
{
    public ManualResetEventSlim Entered { get; } = new();
    public ManualResetEventSlim Release { get; } = new();
    public long Length => inner.Length;
    public int SectorSize => inner.SectorSize;
    public int PhysicalSectorSize => inner.PhysicalSectorSize;
    public bool IsReadOnly => inner.IsReadOnly;
    public bool CanDiscard => inner.CanDiscard;
    public int DiscardGranularity => inner.DiscardGranularity;
    public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers) => inner.Read(offset, buffers);

    public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        Entered.Set();
        Release.Wait(TimeSpan.FromSeconds(30));
        inner.Write(offset, buffers);
    }

    public void Flush() => inner.Flush();
    public void Discard(long offset, long length) => inner.Discard(offset, length);
    public void Dispose() => Release.Set();
}
