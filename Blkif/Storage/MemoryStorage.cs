namespace Blkif.Storage;

/// <summary>
/// A disk held in this process's memory, for tests and examples. Discarded ranges read as zeros.
/// Thread-safe: a lock serialises the calls, so overlapping requests from several rings see whole
/// requests.
/// </summary>
public sealed class MemoryStorage : IBlockStorage
{
    private readonly byte[] _bytes;
    private readonly Lock _gate = new();
    private long _flushes;
    private long _discards;

    /// <summary>Creates a zeroed disk of <paramref name="length"/> bytes.</summary>
    /// <param name="length">The size in bytes, a positive multiple of <paramref name="sectorSize"/>, below 2 GiB.</param>
    /// <param name="sectorSize">The logical sector size: 512 or 4096.</param>
    /// <param name="readOnly">Whether the backend refuses writes and discards.</param>
    /// <param name="canDiscard">Whether to offer discard.</param>
    /// <exception cref="ArgumentException">The sizes are not valid.</exception>
    public MemoryStorage(long length, int sectorSize = 512, bool readOnly = false, bool canDiscard = true)
    {
        StorageChecks.SectorSize(sectorSize);
        if (length <= 0 || length % sectorSize != 0 || length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The disk size must be a positive multiple of {sectorSize} bytes below 2 GiB.");
        _bytes = new byte[length];
        SectorSize = sectorSize;
        IsReadOnly = readOnly;
        CanDiscard = canDiscard;
    }

    /// <inheritdoc />
    public long Length => _bytes.Length;

    /// <inheritdoc />
    public int SectorSize { get; }

    /// <inheritdoc />
    public int PhysicalSectorSize => SectorSize;

    /// <inheritdoc />
    public bool IsReadOnly { get; }

    /// <inheritdoc />
    public bool CanDiscard { get; }

    /// <inheritdoc />
    public int DiscardGranularity => SectorSize;

    /// <summary>The disk's bytes, to fill or inspect in tests. Not synchronised with the backend.</summary>
    public Span<byte> Bytes => _bytes;

    /// <summary>How many times <see cref="Flush"/> ran.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>How many times <see cref="Discard"/> ran.</summary>
    public long Discards => Interlocked.Read(ref _discards);

    /// <inheritdoc />
    public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
    {
        lock (_gate)
        {
            foreach (var buffer in buffers)
            {
                StorageChecks.Range(offset, buffer.Length, Length);
                _bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
                offset += buffer.Length;
            }
        }
    }

    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        StorageChecks.Writable(IsReadOnly);
        lock (_gate)
        {
            foreach (var buffer in buffers)
            {
                StorageChecks.Range(offset, buffer.Length, Length);
                buffer.Span.CopyTo(_bytes.AsSpan((int)offset));
                offset += buffer.Length;
            }
        }
    }

    /// <inheritdoc />
    public void Flush() => Interlocked.Increment(ref _flushes);

    /// <inheritdoc />
    public void Discard(long offset, long length)
    {
        StorageChecks.Writable(IsReadOnly);
        if (!CanDiscard)
            throw new NotSupportedException("This memory disk was created without discard.");
        StorageChecks.Range(offset, length, Length);
        lock (_gate)
            _bytes.AsSpan((int)offset, (int)length).Clear();
        Interlocked.Increment(ref _discards);
    }

    /// <summary>Nothing to release: the bytes belong to the garbage collector.</summary>
    public void Dispose()
    {
    }
}
