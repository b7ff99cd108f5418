using SharedMemoryRing;

namespace Blkif.Tests;

/// <summary>
/// A frontend that writes bad requests: each gets an error status, the storage is not called and
/// nothing outside the disk is touched, and the ring goes on serving good requests.
/// </summary>
public sealed class HostileFrontendTests
{
    private const long Disk = 1 << 20;

    private static async Task AssertRefused(BlkifStatus expected, Func<RawFrontend, BlkifRequest> bad, RecordingStorage? storage = null, BlkbackOptions? options = null, bool persistent = true)
    {
        storage ??= new RecordingStorage(Disk);
        TestData.Pattern((int)storage.Length, 1).CopyTo(storage.Bytes);
        var before = storage.Bytes.ToArray();
        await using var front = new RawFrontend(storage, options, persistent);
        var response = front.Send(bad(front));
        Assert.Equal(expected, response.Status);
        Assert.Equal(0, storage.Calls);
        Assert.True(storage.Bytes.SequenceEqual(before), "the disk changed");
        // The ring still serves a good request afterwards.
        var good = front.Send(RawFrontend.Request(BlkifOperation.Read, 0, RawFrontend.Segment(front.Data.Refs[0])));
        Assert.Equal(BlkifStatus.Okay, good.Status);
        Assert.True(front.Data.Span[..4096].SequenceEqual(before.AsSpan(0, 4096)));
    }

    [Fact]
    public Task A_read_past_the_end_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, f.Capacity - 4, RawFrontend.Segment(f.Data.Refs[0])));

    [Fact]
    public Task A_write_past_the_end_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, f.Capacity, RawFrontend.Segment(f.Data.Refs[0], 0, 0)));

    [Fact]
    public Task A_read_past_the_end_of_a_4096_byte_sector_disk_is_refused() =>
        // The last 4096-byte sector, then one more: `sectors` is in 512-byte units, so is the capacity.
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, f.Capacity - 8, RawFrontend.Segment(f.Data.Refs[0]), RawFrontend.Segment(f.Data.Refs[1])),
            new RecordingStorage(Disk, sectorSize: 4096));

    [Fact]
    public async Task The_last_sector_of_a_4096_byte_sector_disk_reads()
    {
        var storage = new RecordingStorage(Disk, sectorSize: 4096);
        TestData.Pattern((int)Disk, 2).CopyTo(storage.Bytes);
        await using var front = new RawFrontend(storage);
        var response = front.Send(RawFrontend.Request(BlkifOperation.Read, front.Capacity - 8, RawFrontend.Segment(front.Data.Refs[0])));
        Assert.Equal(BlkifStatus.Okay, response.Status);
        Assert.True(front.Data.Span[..4096].SequenceEqual(storage.Bytes[^4096..]));
    }

    [Fact]
    public Task A_sector_number_that_overflows_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, ulong.MaxValue - 3, RawFrontend.Segment(f.Data.Refs[0])));

    [Fact]
    public Task A_first_sector_after_the_last_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, 0, RawFrontend.Segment(f.Data.Refs[0], 5, 2)));

    [Fact]
    public Task A_last_sector_past_the_page_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, 0, RawFrontend.Segment(f.Data.Refs[0], 0, 8)));

    [Fact]
    public Task A_bad_segment_after_good_ones_refuses_the_whole_request() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, 0,
            RawFrontend.Segment(f.Data.Refs[0]), RawFrontend.Segment(f.Data.Refs[1]), RawFrontend.Segment(f.Data.Refs[2], 7, 255)));

    [Fact]
    public Task Too_many_direct_segments_are_refused() =>
        AssertRefused(BlkifStatus.Error, f =>
        {
            var request = RawFrontend.Request(BlkifOperation.Write, 0, RawFrontend.Segment(f.Data.Refs[0]));
            request.NrSegments = 12;
            return request;
        });

    [Fact]
    public Task A_read_of_no_segments_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, 0));

    [Fact]
    public Task A_data_page_not_granted_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, 0, RawFrontend.Segment(RawFrontend.Ungranted)));

    [Fact]
    public Task A_data_page_not_granted_is_refused_without_persistent_grants() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, 0, RawFrontend.Segment(RawFrontend.Ungranted)), persistent: false);

    [Fact]
    public Task A_read_into_a_read_only_grant_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, 0, RawFrontend.Segment(f.ReadOnlyPage.Refs[0])), persistent: false);

    [Fact]
    public Task Too_many_indirect_segments_are_refused() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Write, 0, 257, [RawFrontend.Segment(f.Data.Refs[0])]),
            options: new BlkbackOptions { MaxIndirectSegments = 256 });

    [Fact]
    public Task An_indirect_request_of_no_segments_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Read, 0, 0, []));

    [Fact]
    public Task An_indirect_page_not_granted_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Write, 0, 1, [RawFrontend.Segment(f.Data.Refs[0])], RawFrontend.Ungranted));

    [Fact]
    public Task An_indirect_page_not_granted_is_refused_without_persistent_grants() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Write, 0, 1, [RawFrontend.Segment(f.Data.Refs[0])], RawFrontend.Ungranted), persistent: false);

    [Fact]
    public Task A_bad_segment_in_an_indirect_page_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Write, 0, 2, [RawFrontend.Segment(f.Data.Refs[0]), RawFrontend.Segment(f.Data.Refs[1], 3, 9)]));

    [Fact]
    public Task An_indirect_request_past_the_end_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Read, f.Capacity - 8, 2, [RawFrontend.Segment(f.Data.Refs[0]), RawFrontend.Segment(f.Data.Refs[1])]));

    [Theory]
    [InlineData(BlkifOperation.Discard)]
    [InlineData(BlkifOperation.FlushDiskcache)]
    [InlineData(BlkifOperation.Indirect)]
    [InlineData((BlkifOperation)77)]
    public Task An_indirect_request_for_anything_but_read_or_write_is_refused(BlkifOperation inner) =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(inner, 0, 1, [RawFrontend.Segment(f.Data.Refs[0])]));

    [Fact]
    public Task Indirect_requests_are_unknown_when_not_offered() =>
        AssertRefused(BlkifStatus.EOpNotSupp, f => f.Indirect(BlkifOperation.Write, 0, 1, [RawFrontend.Segment(f.Data.Refs[0])]),
            options: new BlkbackOptions { MaxIndirectSegments = 0 });

    [Theory]
    [InlineData(BlkifOperation.Reserved1)]
    [InlineData((BlkifOperation)7)]
    [InlineData((BlkifOperation)255)]
    public Task An_unknown_operation_is_not_supported(BlkifOperation operation) =>
        AssertRefused(BlkifStatus.EOpNotSupp, f => RawFrontend.Request(operation, 0, RawFrontend.Segment(f.Data.Refs[0])));

    [Fact]
    public Task A_write_to_a_read_only_disk_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, 0, RawFrontend.Segment(f.Data.Refs[0])), new RecordingStorage(Disk, readOnly: true));

    [Fact]
    public Task An_indirect_write_to_a_read_only_disk_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => f.Indirect(BlkifOperation.Write, 0, 1, [RawFrontend.Segment(f.Data.Refs[0])]), new RecordingStorage(Disk, readOnly: true));

    [Fact]
    public Task A_discard_past_the_end_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Discard(f.Capacity - 1, 2));

    [Fact]
    public Task A_discard_whose_length_overflows_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Discard(8, ulong.MaxValue - 4));

    [Fact]
    public Task A_discard_is_unknown_when_not_offered() =>
        AssertRefused(BlkifStatus.EOpNotSupp, f => RawFrontend.Discard(0, 8), options: new BlkbackOptions { FeatureDiscard = false });

    [Fact]
    public Task A_flush_is_unknown_when_not_offered() =>
        AssertRefused(BlkifStatus.EOpNotSupp, f => RawFrontend.Request(BlkifOperation.FlushDiskcache, 0), options: new BlkbackOptions { FeatureFlushCache = false });

    [Fact]
    public Task A_read_not_aligned_to_a_4096_byte_sector_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Read, 1, RawFrontend.Segment(f.Data.Refs[0], 0, 7)), new RecordingStorage(Disk, 4096));

    [Fact]
    public Task A_partial_4096_byte_sector_is_refused() =>
        AssertRefused(BlkifStatus.Error, f => RawFrontend.Request(BlkifOperation.Write, 8, RawFrontend.Segment(f.Data.Refs[0], 0, 3)), new RecordingStorage(Disk, 4096));

    [Fact]
    public async Task Bad_requests_among_good_ones_taken_together_are_each_refused_and_the_good_ones_served()
    {
        var storage = new RecordingStorage(Disk);
        TestData.Pattern((int)storage.Length, 1).CopyTo(storage.Bytes);
        await using var front = new RawFrontend(storage);
        var good = RawFrontend.Request(BlkifOperation.Read, 8, RawFrontend.Segment(front.Data.Refs[0]));
        var responses = front.SendTogether(
            RawFrontend.Request(BlkifOperation.Read, front.Capacity - 4, RawFrontend.Segment(front.Data.Refs[1])),
            good,
            RawFrontend.Request(BlkifOperation.Read, 0, RawFrontend.Segment(RawFrontend.Ungranted)),
            RawFrontend.Request((BlkifOperation)99, 0),
            good);
        Assert.Equal([BlkifStatus.Error, BlkifStatus.Okay, BlkifStatus.Error, BlkifStatus.EOpNotSupp, BlkifStatus.Okay], responses.Select(r => r.Status));
        Assert.Equal([BlkifOperation.Read, BlkifOperation.Read, BlkifOperation.Read, (BlkifOperation)99, BlkifOperation.Read], responses.Select(r => r.Operation));
        Assert.Equal(2, storage.Calls);
        Assert.True(front.Data.Span[..4096].SequenceEqual(storage.Bytes.Slice(4096, 4096)));
    }

    [Fact]
    public async Task A_fault_on_one_queue_stops_every_queue()
    {
        await using var front = new RawFrontend(new RecordingStorage(Disk), new BlkbackOptions { MaxQueues = 2 }, idleQueues: 1);
        front.CorruptRequestProducer(1000);
        await Assert.ThrowsAsync<RingProtocolException>(() => front.Backend.Completion.WaitAsync(TestData.Timeout()));
    }

    [Fact]
    public async Task A_request_producer_that_claims_more_than_the_ring_disconnects_the_frontend()
    {
        await using var front = new RawFrontend(new RecordingStorage(Disk));
        front.CorruptRequestProducer(1000);
        var e = await Assert.ThrowsAsync<RingProtocolException>(() => front.Backend.Completion.WaitAsync(TestData.Timeout()));
        Assert.Contains("req_prod", e.Message);
        Assert.Equal(0, front.Storage.Calls);
    }
}
