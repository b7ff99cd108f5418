using System.Buffers;
using System.Threading.Channels;

namespace Netif.Links;

/// <summary>In-process links for a netback: a connected pair, or a loopback.</summary>
public static class NetworkLink
{
    /// <summary>The default number of frames a link queues per direction.</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>
    /// Two connected endpoints: what one writes, the other reads. Give one to a netback and use the
    /// other in the same process (or give it to a second netback, a wire between two guests).
    /// </summary>
    public static (QueueLink A, QueueLink B) CreatePair(int capacity = DefaultCapacity)
    {
        var ab = NewQueue(capacity);
        var ba = NewQueue(capacity);
        return (new QueueLink(ab, ba), new QueueLink(ba, ab));
    }

    /// <summary>A link that hands every frame written to it back to its reader: a netfront receives what it sends.</summary>
    public static QueueLink CreateLoopback(int capacity = DefaultCapacity)
    {
        var q = NewQueue(capacity);
        return new QueueLink(q, q);
    }

    private static Channel<QueuedFrame> NewQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return Channel.CreateBounded<QueuedFrame>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }
}

/// <summary>A frame in a <see cref="QueueLink"/>, in a pooled array.</summary>
internal readonly record struct QueuedFrame(byte[] Buffer, int Length, FrameOffload Offload);

/// <summary>
/// An in-process link over two bounded queues of frames held in pooled arrays: nothing is allocated
/// per frame once the pool is warm. Thread-safe.
/// </summary>
public sealed class QueueLink : INetworkLink, IDisposable
{
    private readonly Channel<QueuedFrame> _out;
    private readonly Channel<QueuedFrame> _in;

    internal QueueLink(Channel<QueuedFrame> outgoing, Channel<QueuedFrame> incoming)
    {
        _out = outgoing;
        _in = incoming;
    }

    /// <summary>Frames dropped on read because the reader's buffer was too small.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    private long _dropped;

    /// <inheritdoc />
    public bool TryWrite(ReadOnlySpan<byte> frame, FrameOffload offload)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        if (_out.Writer.TryWrite(new QueuedFrame(buffer, frame.Length, offload)))
            return true;
        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    /// <summary>Writes a frame, waiting while the link is full.</summary>
    /// <exception cref="ChannelClosedException">The link was closed.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, FrameOffload offload = default, CancellationToken cancellationToken = default)
    {
        while (!TryWrite(frame.Span, offload))
        {
            if (!await WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
                throw new ChannelClosedException("The link is closed.");
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) =>
        _out.Writer.WaitToWriteAsync(cancellationToken);

    /// <inheritdoc />
    public bool TryRead(Span<byte> destination, out ReceivedFrame frame) => TryReadFrom(_in.Reader, destination, out frame, ref _dropped);

    internal static bool TryReadFrom(ChannelReader<QueuedFrame> reader, Span<byte> destination, out ReceivedFrame frame, ref long dropped)
    {
        while (reader.TryRead(out var queued))
        {
            try
            {
                if (queued.Length <= destination.Length)
                {
                    queued.Buffer.AsSpan(0, queued.Length).CopyTo(destination);
                    frame = new ReceivedFrame(queued.Length, queued.Offload);
                    return true;
                }
                Interlocked.Increment(ref dropped);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(queued.Buffer);
            }
        }
        frame = default;
        return false;
    }

    /// <summary>Reads a frame, waiting until one comes.</summary>
    /// <exception cref="ChannelClosedException">The link was closed and drained.</exception>
    public async ValueTask<ReceivedFrame> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryRead(destination.Span, out var frame))
                return frame;
            if (!await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                throw new ChannelClosedException("The link is closed.");
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _in.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Closes this endpoint's sending direction: the peer's reader drains, then sees the end.</summary>
    public void Dispose() => _out.Writer.TryComplete();
}
