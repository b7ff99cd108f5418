using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Blkif;
using TestSupport;

namespace Blkif.Tests;

/// <summary>The C# wire structs and constants against what gcc says of <c>xen/io/blkif.h</c> (x86-64).</summary>
public sealed class BlkifLayoutTests
{
    private static long Size<T>() where T : unmanaged => Unsafe.SizeOf<T>();

    private static long Off<T>(string field) => Marshal.OffsetOf<T>(field).ToInt64();

    [Fact]
    public void Structs_and_constants_match_the_C_header()
    {
        var probe = CProgram.Compile("probe.c").RunProbe();
        var request = default(BlkifRequest);
        var indirect = default(BlkifRequestIndirect);
        ProbeAssert.Matches(probe, new Dictionary<string, long>
        {
            ["sizeof_blkif_request_segment"] = Size<BlkifRequestSegment>(),
            ["offsetof_blkif_request_segment_gref"] = Off<BlkifRequestSegment>(nameof(BlkifRequestSegment.Gref)),
            ["offsetof_blkif_request_segment_first_sect"] = Off<BlkifRequestSegment>(nameof(BlkifRequestSegment.FirstSect)),
            ["offsetof_blkif_request_segment_last_sect"] = Off<BlkifRequestSegment>(nameof(BlkifRequestSegment.LastSect)),

            ["sizeof_blkif_request"] = Size<BlkifRequest>(),
            ["offsetof_blkif_request_operation"] = Off<BlkifRequest>(nameof(BlkifRequest.Operation)),
            ["offsetof_blkif_request_nr_segments"] = Off<BlkifRequest>(nameof(BlkifRequest.NrSegments)),
            ["offsetof_blkif_request_handle"] = Off<BlkifRequest>(nameof(BlkifRequest.Handle)),
            ["offsetof_blkif_request_id"] = Off<BlkifRequest>(nameof(BlkifRequest.Id)),
            ["offsetof_blkif_request_sector_number"] = Off<BlkifRequest>(nameof(BlkifRequest.SectorNumber)),
            ["offsetof_blkif_request_seg"] = Off<BlkifRequest>(nameof(BlkifRequest.Segments)),
            ["offsetof_blkif_request_seg[1]"] = Unsafe.ByteOffset(ref Unsafe.As<BlkifRequest, byte>(ref request), ref Unsafe.As<BlkifRequestSegment, byte>(ref request.Segments[1])),
            ["offsetof_blkif_request_seg[10]"] = Unsafe.ByteOffset(ref Unsafe.As<BlkifRequest, byte>(ref request), ref Unsafe.As<BlkifRequestSegment, byte>(ref request.Segments[10])),

            ["sizeof_blkif_request_discard"] = Size<BlkifRequestDiscard>(),
            ["offsetof_blkif_request_discard_operation"] = Off<BlkifRequestDiscard>(nameof(BlkifRequestDiscard.Operation)),
            ["offsetof_blkif_request_discard_flag"] = Off<BlkifRequestDiscard>(nameof(BlkifRequestDiscard.Flag)),
            ["offsetof_blkif_request_discard_handle"] = Off<BlkifRequestDiscard>(nameof(BlkifRequestDiscard.Handle)),
            ["offsetof_blkif_request_discard_id"] = Off<BlkifRequestDiscard>(nameof(BlkifRequestDiscard.Id)),
            ["offsetof_blkif_request_discard_sector_number"] = Off<BlkifRequestDiscard>(nameof(BlkifRequestDiscard.SectorNumber)),
            ["offsetof_blkif_request_discard_nr_sectors"] = Off<BlkifRequestDiscard>(nameof(BlkifRequestDiscard.NrSectors)),

            ["sizeof_blkif_request_indirect"] = Size<BlkifRequestIndirect>(),
            ["offsetof_blkif_request_indirect_operation"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.Operation)),
            ["offsetof_blkif_request_indirect_indirect_op"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.IndirectOp)),
            ["offsetof_blkif_request_indirect_nr_segments"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.NrSegments)),
            ["offsetof_blkif_request_indirect_id"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.Id)),
            ["offsetof_blkif_request_indirect_sector_number"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.SectorNumber)),
            ["offsetof_blkif_request_indirect_handle"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.Handle)),
            ["offsetof_blkif_request_indirect_indirect_grefs"] = Off<BlkifRequestIndirect>(nameof(BlkifRequestIndirect.IndirectGrefs)),
            ["offsetof_blkif_request_indirect_indirect_grefs[7]"] = Unsafe.ByteOffset(ref Unsafe.As<BlkifRequestIndirect, byte>(ref indirect), ref Unsafe.As<Xen.Gnt.GrantRef, byte>(ref indirect.IndirectGrefs[7])),

            ["sizeof_blkif_response"] = Size<BlkifResponse>(),
            ["offsetof_blkif_response_id"] = Off<BlkifResponse>(nameof(BlkifResponse.Id)),
            ["offsetof_blkif_response_operation"] = Off<BlkifResponse>(nameof(BlkifResponse.Operation)),
            ["offsetof_blkif_response_status"] = Off<BlkifResponse>(nameof(BlkifResponse.Status)),

            ["BLKIF_OP_READ"] = (long)BlkifOperation.Read,
            ["BLKIF_OP_WRITE"] = (long)BlkifOperation.Write,
            ["BLKIF_OP_WRITE_BARRIER"] = (long)BlkifOperation.WriteBarrier,
            ["BLKIF_OP_FLUSH_DISKCACHE"] = (long)BlkifOperation.FlushDiskcache,
            ["BLKIF_OP_RESERVED_1"] = (long)BlkifOperation.Reserved1,
            ["BLKIF_OP_DISCARD"] = (long)BlkifOperation.Discard,
            ["BLKIF_OP_INDIRECT"] = (long)BlkifOperation.Indirect,
            ["BLKIF_RSP_EOPNOTSUPP"] = (long)BlkifStatus.EOpNotSupp,
            ["BLKIF_RSP_ERROR"] = (long)BlkifStatus.Error,
            ["BLKIF_RSP_OKAY"] = (long)BlkifStatus.Okay,
            ["BLKIF_DISCARD_SECURE"] = (long)BlkifDiscardFlags.Secure,
            ["VDISK_CDROM"] = (long)VdiskInfo.Cdrom,
            ["VDISK_REMOVABLE"] = (long)VdiskInfo.Removable,
            ["VDISK_READONLY"] = (long)VdiskInfo.ReadOnly,
            ["BLKIF_MAX_SEGMENTS_PER_REQUEST"] = BlkifConstants.MaxSegmentsPerRequest,
            ["BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST"] = BlkifConstants.MaxIndirectPagesPerRequest,
            ["segments_per_indirect_frame"] = BlkifConstants.SegmentsPerIndirectFrame,

            ["ring_size_blkif_1_page"] = BlkifConstants.RingEntries(1),
            ["ring_size_blkif_2_pages"] = BlkifConstants.RingEntries(2),
            ["ring_size_blkif_16_pages"] = BlkifConstants.RingEntries(16),
        });
    }

    [Fact]
    public void Discard_and_indirect_requests_fit_in_a_request_slot()
    {
        Assert.True(Unsafe.SizeOf<BlkifRequestDiscard>() <= Unsafe.SizeOf<BlkifRequest>());
        Assert.True(Unsafe.SizeOf<BlkifRequestIndirect>() <= Unsafe.SizeOf<BlkifRequest>());
    }

    [Fact]
    public void A_ring_of_a_bad_page_count_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BlkifConstants.RingEntries(0));
    }

    [Fact]
    public void A_request_reads_the_bytes_a_C_frontend_writes()
    {
        var wire = new byte[112];
        wire[0] = 1;                                     // write
        wire[1] = 2;                                     // two segments
        wire[2] = 0x33; wire[3] = 0x01;                  // handle 0x0133
        BitConverter.TryWriteBytes(wire.AsSpan(8), 0x0102030405060708UL);
        BitConverter.TryWriteBytes(wire.AsSpan(16), 2048UL);
        BitConverter.TryWriteBytes(wire.AsSpan(24 + 8), 77u);   // seg[1].gref
        wire[24 + 8 + 4] = 1;                            // seg[1].first_sect
        wire[24 + 8 + 5] = 7;                            // seg[1].last_sect
        var request = MemoryMarshal.Read<BlkifRequest>(wire);
        Assert.Equal(BlkifOperation.Write, request.Operation);
        Assert.Equal(2, request.NrSegments);
        Assert.Equal(0x0133, request.Handle);
        Assert.Equal(0x0102030405060708UL, request.Id);
        Assert.Equal(2048UL, request.SectorNumber);
        Assert.Equal(77u, request.Segments[1].Gref.Value);
        Assert.Equal(1, request.Segments[1].FirstSect);
        Assert.Equal(7, request.Segments[1].LastSect);
    }
}
