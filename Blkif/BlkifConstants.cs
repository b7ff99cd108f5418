namespace Blkif;

/// <summary>Limits of the block device protocol, from <c>blkif.h</c>.</summary>
public static class BlkifConstants
{
    /// <summary><c>BLKIF_MAX_SEGMENTS_PER_REQUEST</c>: segments carried in a direct request.</summary>
    public const int MaxSegmentsPerRequest = 11;

    /// <summary><c>BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST</c>: indirect pages one indirect request may name.</summary>
    public const int MaxIndirectPagesPerRequest = 8;

    /// <summary>Segments in one indirect page: a page of <see cref="BlkifRequestSegment"/>s.</summary>
    public const int SegmentsPerIndirectFrame = 4096 / 8;

    /// <summary>The unit of sector numbers, <c>first_sect</c> and <c>last_sect</c>, whatever the disk's sector size.</summary>
    public const int SectorSize = 512;

    /// <summary>
    /// Entries of a ring of <paramref name="pageCount"/> pages (<c>__CONST_RING_SIZE(blkif, pages * 4096)</c>):
    /// the room after the 64-byte header divided by the 112-byte slot, rounded down to a power of two.
    /// 32 for one page, 64 for two, 512 for sixteen.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The page count is not 1 to 256.</exception>
    public static int RingEntries(int pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageCount, 256);
        var slots = (pageCount * 4096 - 64) / System.Runtime.CompilerServices.Unsafe.SizeOf<BlkifRequest>();
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)slots + 1) / 2;
    }
}
