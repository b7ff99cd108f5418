using System.Buffers;

namespace Blkif;

/// <summary>
/// A seekable <see cref="Stream"/> over an <see cref="IBlockDevice"/>, of the device's fixed length.
/// Reads and writes go straight to the device when they cover whole sectors; the partial sectors at
/// either end are read, modified and written back. Not thread-safe, as streams are not.
/// </summary>
public sealed class BlockDeviceStream : Stream
{
    private readonly IBlockDevice _device;
    private long _position;

    /// <summary>Creates a stream over <paramref name="device"/>, starting at offset 0.</summary>
    public BlockDeviceStream(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => true;

    /// <inheritdoc />
    public override bool CanWrite => !_device.IsReadOnly;

    /// <inheritdoc />
    public override long Length => _device.Length;

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A position cannot be negative.");
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) =>
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };

    /// <summary>A block device has a fixed size.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void SetLength(long value) => throw new NotSupportedException("A block device's size is fixed by its backend.");

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var n = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var available = Math.Max(0, Length - _position);
        var count = (int)Math.Min(buffer.Length, available);
        if (count == 0)
            return 0;
        buffer = buffer[..count];
        var sector = _device.SectorSize;
        var position = _position;
        // A partial first sector.
        var head = (int)(position % sector);
        if (head != 0)
        {
            var n = Math.Min(sector - head, buffer.Length);
            var bounce = ArrayPool<byte>.Shared.Rent(sector);
            try
            {
                await _device.ReadAsync(position - head, bounce.AsMemory(0, sector), cancellationToken).ConfigureAwait(false);
                bounce.AsSpan(head, n).CopyTo(buffer.Span);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bounce);
            }
            position += n;
            buffer = buffer[n..];
        }
        // Whole sectors, straight into the caller's buffer.
        var whole = buffer.Length / sector * sector;
        if (whole > 0)
        {
            await _device.ReadAsync(position, buffer[..whole], cancellationToken).ConfigureAwait(false);
            position += whole;
            buffer = buffer[whole..];
        }
        // A partial last sector.
        if (!buffer.IsEmpty)
        {
            var bounce = ArrayPool<byte>.Shared.Rent(sector);
            try
            {
                await _device.ReadAsync(position, bounce.AsMemory(0, sector), cancellationToken).ConfigureAwait(false);
                bounce.AsSpan(0, buffer.Length).CopyTo(buffer.Span);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bounce);
            }
        }
        _position += count;
        return count;
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(rented);
            WriteAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    /// <exception cref="IOException">The write would go past the end of the device.</exception>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_device.IsReadOnly)
            throw new NotSupportedException("The block device is read-only.");
        if (buffer.Length > Length - _position)
            throw new IOException($"Writing {buffer.Length} bytes at {_position} would go past the end of the {Length}-byte device.");
        var sector = _device.SectorSize;
        var position = _position;
        var head = (int)(position % sector);
        if (head != 0)
        {
            var n = Math.Min(sector - head, buffer.Length);
            await Patch(position - head, head, buffer[..n], cancellationToken).ConfigureAwait(false);
            position += n;
            buffer = buffer[n..];
        }
        var whole = buffer.Length / sector * sector;
        if (whole > 0)
        {
            await _device.WriteAsync(position, buffer[..whole], cancellationToken).ConfigureAwait(false);
            position += whole;
            buffer = buffer[whole..];
        }
        if (!buffer.IsEmpty)
        {
            await Patch(position, 0, buffer, cancellationToken).ConfigureAwait(false);
            position += buffer.Length;
        }
        _position = position;
    }

    // Read-modify-write of one sector: the bytes at 'at' within the sector at 'sectorStart' become 'data'.
    private async ValueTask Patch(long sectorStart, int at, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var sector = _device.SectorSize;
        var bounce = ArrayPool<byte>.Shared.Rent(sector);
        try
        {
            var block = bounce.AsMemory(0, sector);
            await _device.ReadAsync(sectorStart, block, cancellationToken).ConfigureAwait(false);
            data.Span.CopyTo(block.Span[at..]);
            await _device.WriteAsync(sectorStart, block, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bounce);
        }
    }

    /// <inheritdoc />
    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _device.IsReadOnly ? Task.CompletedTask : _device.FlushAsync(cancellationToken).AsTask();
}
