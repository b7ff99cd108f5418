namespace Vchan;

/// <summary>
/// A vchan as a <see cref="Stream"/>: reads return 0 once the peer has closed and everything it wrote
/// has been read; writes complete when every byte is in the ring.
/// </summary>
internal sealed class VchanStream : Stream
{
    private readonly VchanEndpoint _endpoint;
    private readonly bool _ownsEndpoint;
    private readonly bool _endsAtLocalClose;
    private volatile bool _disposed;

    /// <param name="endpoint">The vchan.</param>
    /// <param name="ownsEndpoint">Whether disposing the stream closes the vchan.</param>
    /// <param name="endsAtLocalClose">Whether an async read that this stream's own close cut short
    /// returns 0 (the end) rather than throwing: a pipe's reading loop then ends quietly when the
    /// pipe's output completes and closes the vchan.</param>
    public VchanStream(VchanEndpoint endpoint, bool ownsEndpoint, bool endsAtLocalClose = false)
    {
        _endpoint = endpoint;
        _ownsEndpoint = ownsEndpoint;
        _endsAtLocalClose = endsAtLocalClose;
    }

    public override bool CanRead => !_disposed;

    public override bool CanWrite => !_disposed;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException("A vchan has no length.");

    public override long Position
    {
        get => throw new NotSupportedException("A vchan cannot seek.");
        set => throw new NotSupportedException("A vchan cannot seek.");
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return _endpoint.Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer) => _endpoint.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return _endpoint.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_endsAtLocalClose)
            return _endpoint.ReadAsync(buffer, cancellationToken);
        if (_disposed)
            return new ValueTask<int>(0);
        var read = _endpoint.ReadAsync(buffer, cancellationToken);
        return read.IsCompletedSuccessfully ? read : EndingAtLocalCloseAsync(read);
    }

    private async ValueTask<int> EndingAtLocalCloseAsync(ValueTask<int> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            return 0;
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        _endpoint.Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer) => _endpoint.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return _endpoint.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _endpoint.WriteAsync(buffer, cancellationToken);

    // Bytes are in the ring, where the peer can read them, as soon as a write returns.
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A vchan cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException("A vchan has no length.");

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (_ownsEndpoint)
                _endpoint.Dispose();
        }
        base.Dispose(disposing);
    }
}
