namespace Blkif;

/// <summary>
/// An asynchronous block device: reads and writes of whole logical sectors at byte offsets, flush
/// and discard, with many requests in flight at once. Thread-safe.
/// </summary>
public interface IBlockDevice
{
    /// <summary>The size of the device in bytes.</summary>
    long Length { get; }

    /// <summary>The logical sector size: offsets and lengths are multiples of it.</summary>
    int SectorSize { get; }

    /// <summary>Whether writes and discards are refused.</summary>
    bool IsReadOnly { get; }

    /// <summary>Whether <see cref="DiscardAsync"/> is offered.</summary>
    bool CanDiscard { get; }

    /// <summary>The size in bytes of the extents a discard frees whole.</summary>
    int DiscardGranularity { get; }

    /// <summary>Reads <c>buffer.Length</c> bytes at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentException">The range is not whole sectors inside the device.</exception>
    /// <exception cref="BlkifIOException">The device failed the read.</exception>
    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentException">The range is not whole sectors inside the device.</exception>
    /// <exception cref="BlkifIOException">The device failed the write, e.g. because it is read-only.</exception>
    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Makes every write that completed before the call durable.</summary>
    /// <exception cref="BlkifIOException">The device failed the flush.</exception>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Discards <paramref name="length"/> bytes at <paramref name="offset"/>; they read as zeros afterwards.</summary>
    /// <exception cref="NotSupportedException">The device does not offer discard.</exception>
    /// <exception cref="BlkifIOException">The device failed the discard.</exception>
    ValueTask DiscardAsync(long offset, long length, CancellationToken cancellationToken = default);
}
