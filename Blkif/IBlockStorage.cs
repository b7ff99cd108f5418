namespace Blkif;

/// <summary>
/// What a blkback serves: a fixed-size run of bytes with a logical sector size. Offsets and lengths
/// the backend passes are whole logical sectors and lie inside <see cref="Length"/>: the backend has
/// validated every request before it calls the storage.
/// </summary>
/// <remarks>
/// The backend calls one storage from one thread per ring, so implementations used with several
/// queues must be safe for concurrent calls on disjoint or overlapping ranges (as <c>pread</c> and
/// <c>pwrite</c> are). Failures are <see cref="IOException"/>s; the backend answers them with
/// <see cref="BlkifStatus.Error"/>.
/// </remarks>
public interface IBlockStorage : IDisposable
{
    /// <summary>The size of the disk in bytes, a whole number of <see cref="SectorSize"/>s.</summary>
    long Length { get; }

    /// <summary>The logical sector size in bytes: 512 or 4096.</summary>
    int SectorSize { get; }

    /// <summary>The physical sector size in bytes, a multiple of <see cref="SectorSize"/>.</summary>
    int PhysicalSectorSize { get; }

    /// <summary>Whether the disk refuses writes and discards.</summary>
    bool IsReadOnly { get; }

    /// <summary>Whether <see cref="Discard"/> frees space.</summary>
    bool CanDiscard { get; }

    /// <summary>The size in bytes of the extents <see cref="Discard"/> frees whole; smaller or unaligned ranges are zeroed.</summary>
    int DiscardGranularity { get; }

    /// <summary>Reads <c>sum(buffers[i].Length)</c> bytes at <paramref name="offset"/> into the buffers, in order.</summary>
    void Read(long offset, ReadOnlySpan<Memory<byte>> buffers);

    /// <summary>Writes the buffers, in order, at <paramref name="offset"/>.</summary>
    void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers);

    /// <summary>Makes every completed write durable.</summary>
    void Flush();

    /// <summary>Discards <paramref name="length"/> bytes at <paramref name="offset"/>: they read as zeros afterwards.</summary>
    void Discard(long offset, long length);
}
